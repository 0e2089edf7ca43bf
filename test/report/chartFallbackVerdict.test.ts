/**
 * A verdict appears only with its interval: the paired-difference chart's text fallback (shown where the canvas is
 * not drawn: no script, a text browser, a screen reader) listed "key − plain: steadier (significant)" alone, without
 * the Δ mAP range and its 95% interval that every other format gives beside the verdict.
 */
import { describe, expect, it } from 'vitest';
import type { RunMetrics } from '../../src/core/types.js';
import { signedPointsCell as s } from '../../src/core/units.js';
import { analysisChartsSection } from '../../src/report/charts.js';
import { reportManifestEssentials, type ReportRun } from '../../src/report/load.js';
import { blurPaired, manifest, metricsWithPaired } from './fixture.js';

const P = blurPaired();

function run(): ReportRun {
  const m: RunMetrics = metricsWithPaired([P]);
  return { runDir: '/runs/x', manifest: manifest(), essentials: reportManifestEssentials(manifest()), metrics: m };
}

describe('the paired chart fallback', () => {
  it('gives the verdict with its Δ mAP range and 95% interval', () => {
    const html = analysisChartsSection(run());
    const at = html.indexOf('<canvas id="sb-paired"');
    expect(at).toBeGreaterThan(-1);
    const fallback = html.slice(at, html.indexOf('</canvas>', at));
    expect(fallback).toContain('steadier (significant)');
    const d = P.deltaMapRange;
    expect(fallback).toContain(`${s(d.value)} pp [${s(d.lo)}, ${s(d.hi)}]`);
  });
});
