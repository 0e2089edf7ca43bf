/**
 * What makes a detector's detections (its files, plug-in or served model: the run identity) is described again after
 * its detect loop: one that changed while the run detected (a model file replaced, a served model updated) would mix
 * two setups in one run's detections, so the run stops before scoring, naming what changed, and keeps its records.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runBenchmark } from '../../src/runner/index.js';
import { rejection } from '../helpers/shared.js';
import { fakeEnv, gtDetector, makeDataset, tempDir } from './fixtures.js';

describe('a detector whose identity changes during its detect loop', () => {
  it('stops the run before scoring (no metrics.json), naming the changed field; its records are kept', async () => {
    const root = await tempDir('shiftbench-midrun-');
    const { file, gt } = await makeDataset(path.join(root, 'ds'), 4, { seed: 21 });
    let weights = 'v1';
    const inner = gtDetector('swapped', gt);
    const env = fakeEnv(
      {
        swapped: () => ({
          info: inner.info,
          // the model file is replaced once the first batch has run
          detect: async (batch, ctx) => {
            const out = await inner.detect(batch, ctx);
            weights = 'v2';
            return out;
          },
          dispose: async () => undefined,
        }),
      },
      { describeDetector: async (spec) => ({ kind: 'test fake', spec, weights }) },
    );
    const out = path.join(root, 'run');
    const e = await rejection(
      runBenchmark({ models: ['swapped'], dataset: file, out, batchSize: 1, bootstrapResamples: 20 }, { env }),
    );
    expect(e.code).toBe('ERR_RUN_STORE');
    expect(e.message).toContain('swapped: what makes its detections changed while this run detected');
    expect(e.message).toContain('weights: "v1" → "v2"');
    await expect(readFile(path.join(out, 'metrics.json'))).rejects.toThrow();
    const log = await readFile(path.join(out, 'detections', 'swapped.jsonl'), 'utf8');
    expect(log.trim().split('\n').length).toBe(4); // every record written is kept
  });

  it('an unchanged one scores as before', async () => {
    const root = await tempDir('shiftbench-midrun-');
    const { file, gt } = await makeDataset(path.join(root, 'ds'), 4, { seed: 21 });
    const env = fakeEnv({ same: () => gtDetector('same', gt) });
    const { metrics } = await runBenchmark(
      { models: ['same'], dataset: file, out: path.join(root, 'run'), batchSize: 1, bootstrapResamples: 20 },
      { env },
    );
    expect(metrics.results[0].imagesEvaluated).toBe(4);
  });
});
