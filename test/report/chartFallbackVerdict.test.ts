/**
 * A verdict appears only with its interval: the paired-difference chart's text fallback (shown where the canvas is
 * not drawn: no script, a text browser, a screen reader) listed "key − plain: steadier (significant)" alone, without
 * the Δ mAP range and its 95% interval that every other format gives beside the verdict.
 */
import { describe, expect, it } from 'vitest';
import type { DetectorAnalysis, PairedDifference, RunMetrics } from '../../src/core/types.js';
import { signedPointsCell as s } from '../../src/core/units.js';
import { analysisChartsSection } from '../../src/report/charts.js';
import { reportManifestEssentials, type ReportRun } from '../../src/report/load.js';
import { labelledMetrics, manifest } from './fixture.js';

const P: PairedDifference = {
  key: 'centernet+input-blur:1',
  against: 'centernet',
  kind: 'mitigation',
  resamples: 200,
  seed: 7,
  deltaMapRange: { value: -0.0099, lo: -0.016, hi: -0.004 },
  deltaMapRef: { value: -0.0112, lo: -0.02, hi: -0.003 },
  steadierShare: 0.985,
  significant: true,
  verdict: 'steadier (significant)',
};

function run(): ReportRun {
  const m: RunMetrics = labelledMetrics();
  const a: DetectorAnalysis = {
    boundsInterval: null,
    sizeCurve: null,
    boundsByObjective: {},
    breakdown: null,
    flicker: { scoreThreshold: 0.5, images: 0, meanFlicker: 0, top: [] },
    periodicity: [],
    paired: [P],
    notes: [],
  };
  m.results[2].analysis = a;
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
