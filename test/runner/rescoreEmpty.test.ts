/**
 * A run directory whose run stopped before any detector ran holds a manifest (written first) and no detections. A
 * rescore of it (`shiftbench report RUN --score-threshold …`) must say so, not write a metrics.json of no detector —
 * which every reader then refuses as "from another tool or damaged".
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { rescoreRun, runBenchmark } from '../../src/runner/index.js';
import { rejection } from '../helpers/shared.js';
import { makeDataset, tempDir } from './fixtures.js';

describe('rescoring a run that stopped before any detector ran', () => {
  it('is refused naming the directory and the fix, and writes no metrics.json', async () => {
    const root = await tempDir('shiftbench-rescore-empty-');
    const { file } = await makeDataset(path.join(root, 'ds'), 4, { seed: 24 });
    const dir = path.join(root, 'run');
    // jitter needs ground truth: on the image folder alone (label-free) it fails as it loads, after the manifest
    const images = path.join(path.dirname(file), 'images');
    const failed = await rejection(runBenchmark({ models: ['jitter:96'], dataset: images, out: dir }));
    expect(failed.message).toContain('needs a dataset with labels');
    const e = await rejection(rescoreRun(dir, { scoreThreshold: 0.3 }));
    expect(e.code).toBe('ERR_RUN_STORE');
    expect(e.message).toContain(`${dir} holds no detections`);
    expect(e.message).toContain('shiftbench run');
    expect(await readFile(path.join(dir, 'metrics.json'), 'utf8').catch(() => null)).toBeNull();
  });
});
