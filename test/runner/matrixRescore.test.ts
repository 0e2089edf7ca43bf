/**
 * An experiment matrix (`run --config`) writes `<out>/summary.json` with the headline numbers of each sub-run. A sub-run
 * rescored later (`shiftbench report <out>/<cell> --score-threshold τ`) must not leave summary.json showing that
 * cell's numbers of the earlier setting beside a metrics.json of the new one: its row says what metrics.json says, and
 * the analysis settings it was scored with.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunMetrics } from '../../src/core/types.js';
import { DEFAULT_BOOTSTRAP_BOUNDS } from '../../src/metrics/uncertainty.js';
import { rescoreRun, runExperiment } from '../../src/runner/index.js';
import { makeDataset, tempDir } from './fixtures.js';

describe('a sub-run of an experiment matrix rescored', () => {
  it("updates its row of the matrix's summary.json; the other rows stay", async () => {
    const root = await tempDir('shiftbench-matrix-rescore-');
    const { file: dataset } = await makeDataset(path.join(root, 'ds'), 12, { seed: 41 });
    const out = path.join(root, 'exp');
    const res = await runExperiment(
      { models: ['jitter:96'], shifts: ['grid:1', 'line:2'], datasets: [dataset] },
      { out, bootstrapResamples: 20, bootstrapBounds: 0 },
    );
    const read = async () => JSON.parse(await readFile(res.summaryFile, 'utf8'));
    const before = await read();
    const cell = path.join(out, before.runs[0].runDir);
    const metrics = await rescoreRun(cell, { scoreThreshold: 0.05, bootstrapSeed: 9 });
    const after = await read();
    const row = after.runs[0].results[0];
    expect(row.flipRate).toBe(metrics.results[0].consistency.flipRate!.mean);
    expect(row.detConsistency).toBe(metrics.results[0].consistency.detConsistency.mean);
    expect(row.detConsistency).not.toBe(before.runs[0].results[0].detConsistency);
    expect(before.runs[0].analysis).toMatchObject({ scoreThreshold: 0.5, bootstrapResamples: 20 });
    expect(after.runs[0].analysis).toMatchObject({ scoreThreshold: 0.05, bootstrapResamples: 20, bootstrapSeed: 9 });
    expect(after.runs[1]).toEqual(before.runs[1]);
    expect(after.config).toEqual(before.config);
  });

  it('states the bounds resamples each cell was scored with, the default resolved (not null)', async () => {
    const root = await tempDir('shiftbench-matrix-bounds-b-');
    const { file: dataset } = await makeDataset(path.join(root, 'ds'), 12, { seed: 43 });
    const out = path.join(root, 'exp');
    // no --bootstrap-bounds: 12 images get the default B; --limit 6 leaves too few images for any interval
    const res = await runExperiment(
      { models: ['jitter:96'], shifts: ['grid:1'], datasets: [dataset] },
      { out, bootstrapResamples: 20 },
    );
    const small = await runExperiment(
      { models: ['jitter:96'], shifts: ['grid:1'], datasets: [dataset], limit: 6 },
      { out: path.join(root, 'exp-small'), bootstrapResamples: 20 },
    );
    for (const [r, expected] of [
      [res, DEFAULT_BOOTSTRAP_BOUNDS],
      [small, 0],
    ] as const) {
      const summary = JSON.parse(await readFile(r.summaryFile, 'utf8'));
      const cell = path.join(path.dirname(r.summaryFile), summary.runs[0].runDir);
      const metrics = JSON.parse(await readFile(path.join(cell, 'metrics.json'), 'utf8')) as RunMetrics;
      const computed = metrics.results[0].analysis!.boundsInterval?.resamples ?? 0;
      expect(computed).toBe(expected);
      expect(summary.runs[0].analysis.bootstrapBounds).toBe(expected);
    }
  });
});
