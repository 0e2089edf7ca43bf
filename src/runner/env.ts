/**
 * The real module wiring of the runner: datasets, detectors, mitigations, metrics.
 */
import { ShiftbenchError } from '../core/errors.js';
import { decodeImage, loadDataset } from '../datasets/index.js';
import { ShiftEvaluator } from '../metrics/index.js';
import { parseMitigation } from '../mitigations/index.js';
import type { RunnerEnv } from './types.js';

type AnyModule = Record<string, unknown>;
// modules that are still landing are imported by a computed specifier (TEMPORARY until they exist)
const importModule = (specifier: string): Promise<AnyModule> => import(specifier) as Promise<AnyModule>;

async function fn<T>(specifier: string, name: string): Promise<T> {
  const mod = await importModule(specifier);
  const f = mod[name];
  if (typeof f !== 'function') throw new ShiftbenchError('ERR_INTERNAL', `module ${specifier} has no function ${name}`);
  return f as T;
}

/** The runner's default wiring of the other modules. */
export function defaultEnv(): RunnerEnv {
  return {
    loadDataset: ({ dataset, images, limit }) => loadDataset({ dataset, images, limit }),
    decodeImage: (image) => decodeImage(image.path, { width: image.width, height: image.height }),
    loadDetector: async (spec, opts) => (await fn<RunnerEnv['loadDetector']>('../detectors/index.js', 'loadDetector'))(spec, opts),
    listModels: async (opts) => (await fn<RunnerEnv['listModels']>('../detectors/index.js', 'listModels'))(opts),
    parseMitigation,
    createEvaluator: (args) =>
      new ShiftEvaluator({
        shifts: args.shiftSet.shifts,
        groundTruth: args.groundTruth,
        groundTruthPerShift: args.groundTruthPerShift,
        scoreThreshold: args.scoreThreshold,
        bootstrapResamples: args.bootstrapResamples,
        seed: args.seed,
      }),
  };
}
