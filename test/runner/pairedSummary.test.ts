/**
 * The CLI summary's paired differences (formatPairedAndNotes): each pair's own count of paired resamples. Pairs of
 * different models can be over different counts (a model that skipped other images, sparse labels: only resamples with
 * ground truth on both sides count), so one count in the heading taken from the first pair would misstate the others.
 */
import { describe, expect, it } from 'vitest';
import type { DetectorRunSummary, PairedDifference, RunMetrics } from '../../src/core/types.js';
import { formatPairedAndNotes } from '../../src/runner/summary.js';

function paired(key: string, against: string, resamples: number): PairedDifference {
  return {
    key,
    against,
    kind: 'mitigation',
    resamples,
    seed: 3,
    deltaMapRange: { value: -0.05, lo: -0.08, hi: -0.01 },
    deltaMapRef: { value: 0, lo: -0.01, hi: 0.01 },
    steadierShare: 0.975,
    significant: true,
    verdict: 'steadier (significant)',
  };
}

function result(key: string, p: PairedDifference[]): DetectorRunSummary {
  return { key, timing: { costRatio: null }, analysis: { paired: p, notes: [] } } as unknown as DetectorRunSummary;
}

const metricsOf = (results: DetectorRunSummary[]) =>
  ({ mode: 'pad', shiftSet: { spec: 'grid:1', shifts: [] }, results }) as unknown as RunMetrics;

describe('CLI summary: paired differences', () => {
  it('states each pair over its own paired resamples when the counts differ, not the first pair’s count for all', () => {
    const text = formatPairedAndNotes(
      metricsOf([result('m1+fix', [paired('m1+fix', 'm1', 200)]), result('m2+fix', [paired('m2+fix', 'm2', 180)])]),
    ).join('\n');
    expect(text).not.toContain('same 200 bootstrap resamples');
    expect(text).toMatch(/m1\+fix vs m1: .*200 paired resamples/);
    expect(text).toMatch(/m2\+fix vs m2: .*180 paired resamples/);
  });
  it('one count in the heading when every pair has it', () => {
    const text = formatPairedAndNotes(
      metricsOf([result('m1+fix', [paired('m1+fix', 'm1', 200)]), result('m2+fix', [paired('m2+fix', 'm2', 200)])]),
    ).join('\n');
    expect(text).toContain('same 200 bootstrap resamples of the images, seed 3');
  });
});
