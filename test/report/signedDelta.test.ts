/**
 * A paired difference reads the same in every format: the terminal summary, the HTML headline, the HTML uncertainty
 * table, report.md and `shiftbench compare` all write a Δ (and its interval ends) with one rule — core/units.ts
 * signedPointsCell: "−" or "+" by the sign, also where the value rounds to 0.00 pp, and "±" for exactly 0 only (so a
 * significant interval never seems to touch 0). Before, report.md, compare and the HTML uncertainty table signed a value
 * by its raw sign while the terminal and the HTML headline wrote "±0.00" for any value that rounds to 0.00.
 */
import { describe, expect, it } from 'vitest';
import type { PairedDifference, RunMetrics } from '../../src/core/types.js';
import { signedPointsCell } from '../../src/core/units.js';
import { uncertaintySection } from '../../src/report/analysis.js';
import { judge } from '../../src/report/check.js';
import { deltaText } from '../../src/report/compare.js';
import { signedPp } from '../../src/report/format.js';
import { reportManifestEssentials, type ReportRun } from '../../src/report/load.js';
import { pairedSentence } from '../../src/report/markdown.js';
import { formatPairedAndNotes } from '../../src/runner/summary.js';
import { manifest, metricsWithPaired } from './fixture.js';

// values that round to 0.00 pp but are not 0, of both signs, beside ordinary ones
const P: PairedDifference = {
  key: 'centernet+input-blur:1',
  against: 'centernet',
  kind: 'mitigation',
  resamples: 200,
  seed: 7,
  deltaMapRange: { value: -0.00004, lo: -0.0123, hi: 0.00003 },
  deltaMapRef: { value: 0.00002, lo: -0.00001, hi: 0.0071 },
  steadierShare: 0.6,
  significant: false,
  verdict: 'no significant difference',
};

const s = signedPointsCell;
const RANGE = `${s(P.deltaMapRange.value)} pp [${s(P.deltaMapRange.lo)}, ${s(P.deltaMapRange.hi)}]`;
const REF = `${s(P.deltaMapRef.value)} pp [${s(P.deltaMapRef.lo)}, ${s(P.deltaMapRef.hi)}]`;

function metrics(): RunMetrics {
  return metricsWithPaired([P]);
}

const strip = (html: string) =>
  html
    .replace(/<[^>]+>/g, '')
    .replace(/\s+/g, ' ')
    .trim();

describe('a paired Δ reads the same in every format', () => {
  it('the rule: the sign of a value that rounds to zero is kept; ±0.00 is exactly 0', () => {
    expect(RANGE).toBe('−0.00 pp [−1.23, +0.00]');
    expect(REF).toBe('+0.00 pp [−0.00, +0.71]');
  });

  it('terminal summary', () => {
    const text = formatPairedAndNotes(metrics()).join('\n');
    expect(text).toContain(`Δ mapRange ${RANGE}, Δ mapRef ${REF}`);
  });

  it('report.md', () => {
    // the accuracy it costs beside the steadiness it buys, as the terminal and compare write it
    expect(pairedSentence(P)).toContain(`Δ mAP range ${RANGE}, Δ mAP at (0,0) ${REF} vs`);
  });

  it('compare', () => {
    expect(
      deltaText({ ...P, deltaMapRange: P.deltaMapRange, deltaMapRef: P.deltaMapRef, significant: P.significant }),
    ).toContain(`Δ mAP range ${RANGE}, Δ mAP at (0,0) ${REF} over`);
  });

  it('HTML: the uncertainty table as the headline cell', () => {
    const run: ReportRun = {
      runDir: '/runs/x',
      manifest: manifest(),
      essentials: reportManifestEssentials(manifest()),
      metrics: metrics(),
    };
    const text = strip(uncertaintySection(run));
    const strip0 = (x: string) => x.replace(/ pp/g, '');
    expect(text).toContain(strip0(RANGE));
    expect(text).toContain(strip0(REF));
    // the headline's cell helper follows the same rule
    expect(signedPp(P.deltaMapRange.value)).toBe(`${s(P.deltaMapRange.value)} pp`);
    expect(signedPp(P.deltaMapRef.hi)).toBe(`${s(P.deltaMapRef.hi)} pp`);
  });

  it('check --max-increase: the paired Δ signed, the limit not', () => {
    const limit = {
      name: 'max-increase',
      field: 'maxIncrease',
      flag: '--max-increase',
      what: 'mAP range increase over the baseline',
      unit: 'pp',
    } as const;
    const pp = (v: number) => `${s(v)} pp`;
    const { value, lo, hi } = P.deltaMapRange;
    expect(judge('k', limit, 0.005, value, lo, hi).message).toBe(
      `pass k: mAP range increase over the baseline ${pp(value)} [${pp(lo)}, ${pp(hi)}] ≤ --max-increase 0.50 pp`,
    );
    // a positive increase reads "+"; exactly 0 "±0.00"
    expect(judge('k', limit, 0.005, 0.012, 0.009, 0.02).message).toMatch(
      /^FAIL k: mAP range increase over the baseline \+1\.20 pp \[\+0\.90 pp, \+2\.00 pp\] exceeds --max-increase 0\.50 pp/,
    );
    expect(judge('k', limit, 0.005, 0, 0, 0).message).toBe(
      'pass k: mAP range increase over the baseline ±0.00 pp [±0.00 pp, ±0.00 pp] ≤ --max-increase 0.50 pp',
    );
  });
});
