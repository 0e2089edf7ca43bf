/**
 * A rescore after the dataset's labels changed rewrites each detector's detections/<key>/ground_truth.json (the ground
 * truth its per-shift files are scored against). It wrote it as soon as that detector was scored — before the new
 * metrics.json and manifest were put in place — so a rescore stopped while scoring a later detector left
 * ground_truth.json of the new labels beside metrics.json and manifest.json of the old ones (`shiftbench eval --gt
 * ground_truth.json` then disagrees with metrics.json). Stopped, it must leave ground_truth.json as it was; run to the
 * end, it holds the new labels.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { rescoreRun, runBenchmark } from '../../src/runner/index.js';
import { rejection } from '../helpers/shared.js';
import { fakeEnv, gtDetector, makeDataset, runDirFiles, tempDir } from './fixtures.js';

describe('a rescore on changed labels, stopped while scoring its second detector', () => {
  it('leaves every ground_truth.json with metrics.json and the manifest as they were', async () => {
    const root = await tempDir('shiftbench-rescore-gt-');
    const { file, gt } = await makeDataset(path.join(root, 'ds'), 6, { seed: 61 });
    const out = path.join(root, 'run');
    const env = fakeEnv({
      a: () => gtDetector('a', gt, { noisePx: 2 }),
      b: () => gtDetector('b', gt, { noisePx: 3 }),
    });
    await runBenchmark({ models: ['a', 'b'], dataset: file, bootstrapResamples: 20, bootstrapBounds: 0, out }, { env });
    const gtFile = path.join(out, 'detections', 'a', 'ground_truth.json');
    const gtBefore = await readFile(gtFile, 'utf8');
    const before = await runDirFiles(out);
    // the labels edited: one box fewer
    await writeFile(file, JSON.stringify({ ...gt, annotations: gt.annotations.slice(1) }));
    const stop = new AbortController();
    const logger = {
      info: (m: string) => {
        if (m === 'b: scoring') stop.abort();
      },
      warn: () => undefined,
    };
    const e = await rejection<Error>(rescoreRun(out, { scoreThreshold: 0.3 }, { logger, signal: stop.signal }));
    expect(e.name).toBe('AbortError');
    expect(await runDirFiles(out)).toEqual(before);
    expect(await readFile(gtFile, 'utf8')).toBe(gtBefore);
    // the same rescore to the end: the ground truth of the labels as they are now
    await rescoreRun(out, { scoreThreshold: 0.3 });
    const after = JSON.parse(await readFile(gtFile, 'utf8'));
    expect(after.annotations).toHaveLength(gt.annotations.length - 1);
  });
});
