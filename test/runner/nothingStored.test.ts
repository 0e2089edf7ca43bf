/**
 * A run that failed before it stored any detection (its detector failed on the first image, a mitigation refused at
 * load) leaves a manifest and empty detection logs. The corrected command, with another setting (here the shift
 * set), was refused as "holds detections made differently" — there were none — and only --force or a new --out got
 * past it. With nothing computed in it (no record, no metrics, no kept results) the directory is taken for the new
 * run, saying so; one holding any record is still refused.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runBenchmark } from '../../src/runner/index.js';
import { rejection } from '../helpers/shared.js';
import type { CocoGroundTruth } from '../../src/core/types.js';
import { fakeEnv, gtDetector, makeDataset, tempDir } from './fixtures.js';

describe('a run directory whose first run stored nothing', () => {
  let root: string;
  let dataset: string;
  let gt: CocoGroundTruth;

  beforeAll(async () => {
    root = await tempDir('shiftbench-nothing-stored-');
    ({ file: dataset, gt } = await makeDataset(path.join(root, 'ds'), 4, { seed: 47 }));
  });

  it('is taken by the corrected command with another shift set, with a message', async () => {
    const out = path.join(root, 'run');
    // the detector loads (the manifest records it) and fails on the first image: nothing is stored
    const first = Math.min(...gt.images.map((im) => im.id));
    const failed = await rejection(
      runBenchmark(
        { models: ['plug'], dataset, out, bootstrapBounds: 0 },
        { env: fakeEnv({ plug: () => gtDetector('plug', gt, { throwOnImage: first }) }) },
      ),
    );
    expect(failed.message).toContain(`image ${first}`);
    expect(JSON.parse(await readFile(path.join(out, 'manifest.json'), 'utf8')).shiftSet.spec).toBe('grid:1');
    const infos: string[] = [];
    const logger = { info: (m: string) => infos.push(m), warn: () => undefined };
    await runBenchmark(
      { models: ['plug'], dataset, out, shifts: 'line:2', bootstrapBounds: 0 },
      { logger, env: fakeEnv({ plug: () => gtDetector('plug', gt) }) },
    );
    expect(JSON.parse(await readFile(path.join(out, 'metrics.json'), 'utf8')).shiftSet.spec).toBe('line:2');
    expect(infos.join('\n')).toContain('holds no detection yet');
  });

  it('one that holds detections is still refused without --force', async () => {
    const out = path.join(root, 'run-stored');
    await runBenchmark({ models: ['jitter:96'], dataset, out, bootstrapBounds: 0 });
    const e = await rejection(
      runBenchmark({ models: ['jitter:96'], dataset, out, shifts: 'line:2', bootstrapBounds: 0 }),
    );
    expect(e.code).toBe('ERR_RUN_STORE');
  });
});
