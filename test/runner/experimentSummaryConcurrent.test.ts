/**
 * Two sub-runs of one experiment rescored at the same time (`shiftbench report <cell> --score-threshold τ &` for each
 * cell) each update their entry of the shared summary.json: neither update may be lost, or the summary would show a
 * cell's old numbers beside its new metrics.json.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RunMetrics } from '../../src/core/types.js';
import { updateExperimentSummary, withdrawExperimentEntry } from '../../src/runner/experimentSummary.js';
import { runExperiment } from '../../src/runner/index.js';
import { makeDataset, tempDir } from './fixtures.js';

const quiet = { info: () => {}, warn: () => {}, debug: () => {} };

describe("concurrent updates of an experiment's summary.json", () => {
  let exp: string;
  let cells: string[];

  beforeAll(async () => {
    const root = await tempDir('shiftbench-summary-concurrent-');
    const { file: dataset } = await makeDataset(path.join(root, 'ds'), 6, { seed: 5 });
    exp = path.join(root, 'exp');
    const res = await runExperiment(
      { models: ['jitter:96'], shifts: ['grid:1', '0,0;1,0'], datasets: [dataset] },
      { out: exp, bootstrapResamples: 20, bootstrapBounds: 0 },
    );
    cells = res.runs.map((r) => r.runDir);
    expect(cells).toHaveLength(2);
  });

  const summaryRuns = async () =>
    (
      JSON.parse(await readFile(path.join(exp, 'summary.json'), 'utf8')) as {
        runs: { runId: string; results: unknown }[];
      }
    ).runs;

  it('both cells updated at once: each entry holds its own new run id (no lost update)', async () => {
    for (let round = 0; round < 5; round++) {
      const metrics = await Promise.all(
        cells.map(async (c, k) => ({
          ...(JSON.parse(await readFile(path.join(c, 'metrics.json'), 'utf8')) as RunMetrics),
          runId: `round-${round}-cell-${k}`,
        })),
      );
      await Promise.all(cells.map((c) => withdrawExperimentEntry(c, quiet)));
      await Promise.all(cells.map((c, k) => updateExperimentSummary(c, metrics[k], quiet)));
      const runs = await summaryRuns();
      expect(runs.map((r) => r.runId)).toEqual([`round-${round}-cell-0`, `round-${round}-cell-1`]);
      expect(runs.every((r) => r.results !== null)).toBe(true);
    }
  });
});
