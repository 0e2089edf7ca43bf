/**
 * A rescore reads the dataset the run's manifest names, as it is now. Where its labels changed since (or images were
 * removed), the new metrics.json is computed on the dataset as it is now — so the manifest must record that dataset
 * (content hash, image count) as `run` would, not the one the run first read: compare and check --baseline judge
 * whether two runs are of the same dataset from the manifest's hash, and would pair metrics of two datasets.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadDataset } from '../../src/datasets/load.js';
import { rescoreRun, runBenchmark } from '../../src/runner/index.js';
import { fakeEnv, gtDetector, makeDataset, tempDir } from './fixtures.js';

describe('a rescore after the dataset changed', () => {
  it('the manifest records the dataset the new metrics were computed on, with a warning', async () => {
    const root = await tempDir('shiftbench-rescore-dataset-');
    const { file, gt } = await makeDataset(path.join(root, 'ds'), 6, { seed: 51 });
    const out = path.join(root, 'run');
    const direct = path.join(root, 'direct');
    // a detector whose detections depend on the pixels only (a real model): edited labels keep its detections
    const env = fakeEnv({ jitter: () => gtDetector('jitter', gt, { noisePx: 2 }) });
    await runBenchmark({ models: ['jitter'], dataset: file, bootstrapResamples: 20, bootstrapBounds: 0, out }, { env });
    const before = JSON.parse(await readFile(path.join(out, 'manifest.json'), 'utf8'));
    // the labels edited: one box fewer
    await writeFile(file, JSON.stringify({ ...gt, annotations: gt.annotations.slice(1) }));
    const now = await loadDataset({ dataset: file });
    expect(now.hash).not.toBe(before.dataset.hash);
    const warnings: string[] = [];
    const metrics = await rescoreRun(
      out,
      { scoreThreshold: 0.3 },
      { logger: { info: () => undefined, warn: (m) => warnings.push(m) } },
    );
    const after = JSON.parse(await readFile(path.join(out, 'manifest.json'), 'utf8'));
    expect(after.dataset.hash).toBe(now.hash);
    expect(after.dataset.images).toBe(metrics.dataset.images);
    expect(warnings.join('\n')).toContain(`${file} changed since`);
    // as `run` records it (which reuses the stored detections too)
    const run = await runBenchmark(
      {
        models: ['jitter'],
        dataset: file,
        scoreThreshold: 0.3,
        bootstrapResamples: 20,
        bootstrapBounds: 0,
        out: direct,
      },
      { env },
    );
    const ran = JSON.parse(await readFile(path.join(direct, 'manifest.json'), 'utf8'));
    expect(after.dataset).toEqual(ran.dataset);
    expect(metrics.results[0].bounds).toEqual(run.metrics.results[0].bounds);
  });

  it('a rescore refused because the labels made the detections (a fake) says nothing of metrics computed on them', async () => {
    const root = await tempDir('shiftbench-rescore-dataset-');
    const { file, gt } = await makeDataset(path.join(root, 'ds'), 6, { seed: 52 });
    const out = path.join(root, 'run');
    // the built-in fake reports the ground truth: each image's identity holds its labels
    await runBenchmark({ models: ['oracle'], dataset: file, bootstrapResamples: 20, bootstrapBounds: 0, out });
    await writeFile(file, JSON.stringify({ ...gt, annotations: gt.annotations.slice(1) }));
    const warnings: string[] = [];
    const err = await rescoreRun(
      out,
      { scoreThreshold: 0.3 },
      { logger: { info: () => undefined, warn: (m) => warnings.push(m) } },
    ).catch((e: unknown) => e);
    expect((err as { code?: string }).code).toBe('ERR_RUN_STORE');
    // before: "the metrics are computed on it as it is now" came first, then the refusal
    expect(warnings.join('\n')).not.toContain('computed on it as it is now');
  });
});
