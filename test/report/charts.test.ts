/**
 * Issue 12 item 2: the analysis charts' data come from metrics.json unchanged (each range
 * with its interval, each paired difference with its significance), figures appear only
 * where their data exist, and the ✱ of "significant" follows the paired interval.
 */
import { rm } from 'node:fs/promises';
import vm from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunMetrics } from '../../src/core/types.js';
import {
  ANALYSIS_CANVAS_IDS,
  ANALYSIS_CHARTS_SCRIPT,
  analysisChartData,
  analysisChartsSection,
} from '../../src/report/charts.js';
import { loadReportRun } from '../../src/report/index.js';
import { labelledMetrics, writeRunDir } from './fixture.js';
import { makeRun, makeRunFixture, type RunFixture } from './runs.js';

describe('analysis charts (real run with fakes)', () => {
  let fx: RunFixture;
  let dir: string;
  let metrics: RunMetrics;
  beforeAll(async () => {
    fx = await makeRunFixture(16);
    ({ dir, metrics } = await makeRun(fx, 'run'));
  });
  afterAll(async () => {
    await rm(fx.root, { recursive: true, force: true });
  });

  it('carries each range with its interval and each paired difference with its significance, from metrics.json', async () => {
    const run = await loadReportRun(dir);
    const d = analysisChartData(run) as {
      range: { key: string; value: number; lo: number; hi: number }[];
      paired: { label: string; lo: number; hi: number; significant: boolean }[];
    };
    expect(d.range).toEqual(
      metrics.results.map((r) => ({
        key: r.key,
        value: r.bounds!.mapRange,
        lo: r.analysis!.boundsInterval!.mapRange.lo,
        hi: r.analysis!.boundsInterval!.mapRange.hi,
      })),
    );
    const paired = metrics.results.flatMap((r) => r.analysis!.paired);
    expect(d.paired.map((p) => [p.label, p.lo, p.hi, p.significant])).toEqual(
      paired.map((p) => [
        `${p.key} − ${p.against}`,
        p.deltaMapRange.lo,
        p.deltaMapRange.hi,
        p.deltaMapRange.lo > 0 || p.deltaMapRange.hi < 0,
      ]),
    );
    const html = analysisChartsSection(run);
    for (const id of ['sb-range-iv', 'sb-paired', 'sb-size-curve', 'sb-size-range'])
      expect(html).toContain(`<canvas id="${id}"`);
    expect(html).not.toContain('sb-period-'); // grid:1 has no line
  });

  it('an older run without analysis has no analysis charts', async () => {
    const old = await writeRunDir(labelledMetrics());
    const html = analysisChartsSection(await loadReportRun(old));
    expect(html).toBe('');
    for (const id of ANALYSIS_CANVAS_IDS) expect(html).not.toContain(id);
    await rm(old, { recursive: true, force: true });
  });
});

/** Runs the analysis charts' browser script on `data` (the #sb-analysis block) against a recording stub Chart. */
function runAnalysisScript(data: unknown, canvasIds: string[]): { id: string; config: any }[] {
  const made: { id: string; config: any }[] = [];
  const els = new Map(canvasIds.map((id) => [id, { id, closest: () => ({ appendChild() {} }) }]));
  const document = {
    getElementById: (id: string) =>
      id === 'sb-analysis' ? { textContent: JSON.stringify(data) } : (els.get(id) ?? null),
    createElement: () => ({ className: '', textContent: '' }),
  };
  function Chart(this: unknown, canvas: { id: string }, config: unknown) {
    made.push({ id: canvas.id, config });
  }
  vm.runInNewContext(ANALYSIS_CHARTS_SCRIPT, { document, Chart });
  return made;
}

describe('analysis charts script (stub Chart)', () => {
  it('the periodicity legend names a period only where it is beyond chance, as the caption and table do', () => {
    const series = (key: string, r2adj: number) => ({
      key,
      map: [0.3, 0.31, 0.3, 0.31, 0.3, 0.31],
      period: 2,
      r2adj,
      beyondChance: r2adj > 0,
    });
    const made = runAnalysisScript(
      { range: [], paired: [], sizeCurve: [], sizeRange: [], period: { x: [series('a', 0.8), series('b', -0.2)] } },
      ['sb-period-x'],
    );
    expect(made.map((m) => m.id)).toEqual(['sb-period-x']);
    const labels = made[0].config.data.datasets.map((d: { label: string }) => d.label);
    expect(labels[0]).toBe('a (period 2)');
    expect(labels[1]).not.toMatch(/period 2\)/);
    expect(labels[1]).toBe('b (no period beyond chance)');
  });
});
