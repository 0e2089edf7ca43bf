/**
 * An experiment matrix's summary.json (`run --config`) lists each sub-run's headline numbers. When a sub-run's
 * metrics.json is replaced — a rescore (`shiftbench report <cell> --score-threshold τ`) or a run into the cell with
 * other analysis settings — and the process dies at any moment (here: at each rename in turn, as in
 * rescoreKill.test.ts), summary.json must never show numbers that the cell's metrics.json does not hold: its entry
 * either says what metrics.json says, with the analysis settings of the cell's manifest, or holds no numbers (null).
 */
import { cp, readFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { RunMetrics } from '../../src/core/types.js';
import { experimentAnalysis, experimentResults } from '../../src/runner/experimentSummary.js';
import { rescoreRun, runBenchmark, runExperiment } from '../../src/runner/index.js';
import { makeDataset, tempDir } from './fixtures.js';

/** While armed: renames under `under` left before the process "dies" (the next rename throws instead). */
const kill = vi.hoisted(() => ({ under: '', left: Infinity, seen: 0 }));

vi.mock('node:fs/promises', async (importOriginal) =>
  (await import('../helpers/dyingRename.js')).fsWithDyingRename(importOriginal, kill, 'while replacing metrics'),
);

const SETTINGS = { bootstrapResamples: 20, bootstrapBounds: 0 };

/** The summary's entry of the experiment's only cell agrees with the cell's metrics.json, or holds no numbers. */
async function expectSummaryTrue(exp: string, cell: string, k: number): Promise<'numbers' | 'none'> {
  const summary = JSON.parse(await readFile(path.join(exp, 'summary.json'), 'utf8'));
  const entry = summary.runs[0];
  const metrics = JSON.parse(
    await readFile(path.join(cell, 'metrics.json'), 'utf8').catch(() => 'null'),
  ) as RunMetrics | null;
  if (entry.results === null) return 'none';
  expect({ k, metrics: metrics !== null }).toEqual({ k, metrics: true });
  expect({ k, results: entry.results }).toEqual({ k, results: experimentResults(metrics!) });
  expect({ k, analysis: entry.analysis }).toEqual({ k, analysis: await experimentAnalysis(cell, metrics!) });
  return 'numbers';
}

describe("an experiment's summary.json when a sub-run's metrics are replaced and the process dies", () => {
  let root: string;
  let dataset: string;
  let template: string;

  beforeAll(async () => {
    root = await tempDir('shiftbench-summary-kill-');
    ({ file: dataset } = await makeDataset(path.join(root, 'ds'), 8, { seed: 31 }));
    template = path.join(root, 'exp');
    await runExperiment(
      { models: ['jitter:96'], shifts: ['grid:1'], datasets: [dataset] },
      { out: template, ...SETTINGS },
    );
  });

  const cellOf = async (exp: string) =>
    path.join(exp, JSON.parse(await readFile(path.join(exp, 'summary.json'), 'utf8')).runs[0].runDir as string);

  it.each([
    ['a rescore (report --score-threshold)', (cell: string) => rescoreRun(cell, { scoreThreshold: 0.3 })],
    [
      'a run into the cell with another --score-threshold',
      (cell: string) =>
        runBenchmark({ models: ['jitter:96'], dataset, shifts: 'grid:1', out: cell, scoreThreshold: 0.3, ...SETTINGS }),
    ],
  ])('%s: never numbers that metrics.json does not hold', async (_, replace) => {
    let renames = Infinity;
    let finished: 'numbers' | 'none' | null = null;
    for (let k = 0; k <= renames; k++) {
      const exp = path.join(root, `copy-${k}-${Math.random().toString(36).slice(2)}`);
      await cp(template, exp, { recursive: true });
      const cell = await cellOf(exp);
      Object.assign(kill, { under: exp, left: k, seen: 0 });
      const done = await replace(cell).then(
        () => true,
        () => false,
      );
      kill.under = '';
      if (done) renames = Math.min(renames, kill.seen); // every rename of a whole replacement was tried
      const state = await expectSummaryTrue(exp, cell, k);
      if (k === renames) finished = state;
    }
    expect(renames).toBeGreaterThan(2);
    expect(finished).toBe('numbers'); // uninterrupted, the entry has the new numbers
  });
});
