/**
 * The real module wiring of the runner: datasets, detectors, mitigations, metrics.
 */
import { refuseUnknownFields } from '../core/errors.js';
import type { Logger } from '../core/types.js';
import { decodeDatasetImage, loadDataset } from '../datasets/index.js';
import {
  describeDetector,
  guardPluginMitigation,
  listModels,
  loadDetector,
  loadPlugins,
  pluginCodeHashes,
} from '../detectors/index.js';
import { ShiftEvaluator } from '../metrics/index.js';
import { MITIGATIONS, parseMitigation, registerMitigation } from '../mitigations/index.js';
import { computeBuildId } from './identity.js';
import type { RunnerEnv } from './types.js';

/** The runner's default wiring of the other modules. */
export function defaultEnv(): RunnerEnv {
  return {
    loadDataset: ({ dataset, images, classes, limit }, logger) =>
      loadDataset(
        { dataset, images, classes, limit },
        logger && { info: () => undefined, warn: (m) => logger.warn(m) },
      ),
    decodeImage: decodeDatasetImage,
    loadDetector,
    listModels: async (opts) => listModels(opts),
    registerPluginMitigations,
    parseMitigation,
    createEvaluator: (args) =>
      new ShiftEvaluator({
        shifts: args.shiftSet.shifts,
        groundTruth: args.groundTruth,
        groundTruthPerShift: args.groundTruthPerShift,
        scoreThreshold: args.scoreThreshold,
        bootstrapResamples: args.bootstrapResamples,
        seed: args.bootstrapSeed,
        bootstrapSeed: args.bootstrapSeed,
        ...(args.objectives ? { objectives: args.objectives } : {}),
        ...(args.bootstrapBounds !== undefined ? { bootstrapBounds: args.bootstrapBounds } : {}),
        ...(args.detectionCapacity !== undefined ? { detectionCapacity: args.detectionCapacity } : {}),
        ...(args.sizeCurve !== undefined ? { sizeCurve: args.sizeCurve } : {}),
      }),
    describeDetector,
    describeMitigation: async (m) => {
      const file = pluginOfMitigation.get(m.name);
      return file ? { plugin: file.name, code: await pluginCodeHashes(file.file) } : {};
    },
    buildId: () => (buildId ??= computeBuildId()),
  };
}
let buildId: Promise<string> | undefined;

const ENV_FIELDS: Record<keyof RunnerEnv, true> = {
  loadDataset: true,
  decodeImage: true,
  loadDetector: true,
  listModels: true,
  parseMitigation: true,
  registerPluginMitigations: true,
  createEvaluator: true,
  describeDetector: true,
  describeMitigation: true,
  buildId: true,
};

/**
 * The default wiring with a caller's replacements (`hooks.env`). A key that names no part of the wiring (a
 * misspelt replacement, which would otherwise be ignored for the default) is refused: ERR_INVALID_OPTION.
 */
export function withDefaultEnv(env: Partial<RunnerEnv> | undefined): RunnerEnv {
  refuseUnknownFields(env ?? {}, ENV_FIELDS, 'replacements of the runner wiring', 'env');
  return { ...defaultEnv(), ...env };
}

/**
 * Imports the plug-ins and registers the mitigations they define, so `--mitigation` can
 * name them. A name already registered (a built-in, or the same plug-in in an earlier run
 * of this process) is kept, with a warning when it came from elsewhere.
 */
async function registerPluginMitigations(files: string[], logger?: Logger): Promise<void> {
  if (files.length === 0) return;
  for (const plugin of await loadPlugins(files)) {
    for (const name of Object.keys(plugin.definition.mitigations ?? {})) {
      if (MITIGATIONS.has(name)) {
        if (!registeredFromPlugin.has(`${plugin.file}:${name}`))
          logger?.warn(`plug-in ${plugin.name}: a mitigation named "${name}" already exists; keeping the existing one`);
        continue;
      }
      registerMitigation(name, guardPluginMitigation(plugin, name), {
        syntax: `${name}[:arg]`,
        summary: `from plug-in ${plugin.name}`,
      });
      registeredFromPlugin.add(`${plugin.file}:${name}`);
      pluginOfMitigation.set(name, { name: plugin.name, file: plugin.file });
    }
  }
}
const registeredFromPlugin = new Set<string>();
/** Mitigation name → the plug-in that registered it. */
const pluginOfMitigation = new Map<string, { name: string; file: string }>();
