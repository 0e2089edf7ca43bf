/**
 * Real small runs for the report, check and compare tests: runBenchmark on a hand-made
 * COCO dataset with fake detectors of known behaviour (test/runner/fixtures.ts), so
 * every number the formats show comes from the real scoring path, not from a file
 * written by hand.
 *   - `shaky` moves its boxes by up to `noisePx` at every shift but (0,0): mapRange > 0;
 *   - `steady` moves them by 0.3 px: a small range;
 *   - the mitigation `fix` replaces its detector by an exact one: range 0, so
 *     `shaky+fix` is steadier than `shaky` on every resample (significant).
 */
import { appendFile, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { CocoGroundTruth, Detector, RunMetrics } from '../../src/core/types.js';
import type { Mitigation } from '../../src/mitigations/types.js';
import { runBenchmark, type RunOptions, type RunnerEnv } from '../../src/runner/index.js';
import { fakeEnv as fakeDetectors, gtDetector, makeDataset, tempDir } from '../runner/fixtures.js';

export interface RunFixture {
  root: string;
  /** instances.json of the dataset. */
  dataset: string;
  gt: CocoGroundTruth;
  images: number;
}

/** A dataset of `images` images under a new temp folder. */
export async function makeRunFixture(images = 16): Promise<RunFixture> {
  const root = await tempDir('shiftbench-report-runs-');
  const { file, gt } = await makeDataset(path.join(root, 'ds'), images);
  return { root, dataset: file, gt, images };
}

function fixMitigation(gt: CocoGroundTruth): Mitigation {
  return {
    name: 'fix',
    spec: 'fix',
    wrap(inner: Detector): Detector {
      const exact = gtDetector('exact', gt);
      return {
        info: { ...inner.info, name: `${inner.info.name}+fix` },
        detect: (b, c) => exact.detect(b, c),
        dispose: () => inner.dispose(),
      };
    },
  };
}

/** The test env: `shaky` (noise `shakyNoisePx`, default 3) and `steady` (0.3 px) fakes, mitigation `fix`. */
export function fakeEnv(gt: CocoGroundTruth, shakyNoisePx = 3): Partial<RunnerEnv> {
  return fakeDetectors(
    {
      shaky: () => gtDetector('shaky', gt, { noisePx: shakyNoisePx }),
      steady: () => gtDetector('steady', gt, { noisePx: 0.3 }),
    },
    {
      describeDetector: async (spec) => ({ kind: 'test fake', spec, shakyNoisePx }),
      parseMitigation: (spec) => {
        if (spec === 'fix') return fixMitigation(gt);
        throw new Error(`unknown mitigation ${spec}`);
      },
    },
  );
}

/**
 * Runs the benchmark into `<root>/<name>` with the fakes (`env` replaces parts of fakeEnv); returns the run directory
 * and its metrics.
 */
export async function makeRun(
  fx: RunFixture,
  name: string,
  options: Partial<RunOptions> = {},
  shakyNoisePx = 3,
  env: Partial<RunnerEnv> = {},
): Promise<{ dir: string; metrics: RunMetrics }> {
  const out = path.join(fx.root, name);
  const { metrics } = await runBenchmark(
    {
      models: ['shaky', 'steady'],
      mitigations: ['fix'],
      dataset: fx.dataset,
      out,
      bootstrapResamples: 20,
      bootstrapBounds: 40,
      ...options,
    },
    { env: { ...fakeEnv(fx.gt, shakyNoisePx), ...env } },
  );
  return { dir: out, metrics };
}

/** Marks `imageId` as skipped in every detector log of the run (a later record of an image replaces an earlier one). */
export async function skipInRun(dir: string, imageId: number, reason = 'could not decode (test)'): Promise<void> {
  const manifest = JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8')) as {
    detectors: { key: string }[];
  };
  for (const { key } of manifest.detectors)
    await appendFile(path.join(dir, 'detections', `${key}.jsonl`), `${JSON.stringify({ imageId, skipped: reason })}\n`);
}
