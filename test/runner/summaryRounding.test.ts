/**
 * The run's stdout summary rounds each number the way every report does (report/format.ts: mAP and rates in % with
 * one decimal, ranges in pp with two). Before, the summary printed % with two decimals, so a real run showed
 * fastestdet+input-blur:1's relative range 0.129451 as 12.95 on stdout and 12.9% in report.md/.html and `compare`: the
 * same number rounded two ways, one of them reading as if it rounds to 13.0.
 */
import { describe, expect, it } from 'vitest';
import type { DetectorRunSummary, RunMetrics } from '../../src/core/types.js';
import { pct, pp } from '../../src/report/format.js';
import { formatFamilyTable, formatRunSummary } from '../../src/runner/summary.js';

const r = {
  key: 'fastestdet+input-blur:1',
  model: 'fastestdet',
  mitigation: 'input-blur:1',
  family: { stages: 'one-stage', anchors: 'anchor-free' },
  runtime: 'fake',
  bounds: { mapRef: 0.37934279, mapLower: 0.3583, mapUpper: 0.4074, mapRange: 0.04910630789, relRange: 0.129451011 },
  consistency: { detConsistency: { mean: 0.85556344, lo: 0.8, hi: 0.9 }, flipRate: { mean: 0.0625, lo: 0, hi: 0.14 } },
  timing: { inferenceSeconds: 1, imagesPerSecond: 1, costRatio: 1.78 },
  imagesEvaluated: 16,
  skippedImages: [],
  analysis: { boundsInterval: { mapRange: { lo: 0.02926964, hi: 0.07352869 } }, paired: [], notes: [] },
} as unknown as DetectorRunSummary;
const metrics = { mode: 'pad', shiftSet: { spec: 'grid:1', shifts: [] }, results: [r] } as unknown as RunMetrics;

const bare = (s: string) => s.replace(/%$/, '').replace(/ pp$/, '');

describe('run summary: the same rounding as the reports', () => {
  for (const [name, format] of [
    ['formatRunSummary', formatRunSummary],
    ['formatFamilyTable', formatFamilyTable],
  ] as const) {
    it(`${name}: % with one decimal and pp with two, as pct()/pp() of the reports`, () => {
      const row = format(metrics)
        .split('\n')
        .find((l) => l.includes('fastestdet+input-blur:1'))!;
      const cells = row.trim().split(/\s{2,}/);
      const expected = [
        bare(pct(0.37934279)),
        bare(pp(0.04910630789)),
        `[${bare(pp(0.02926964))}, ${bare(pp(0.07352869))}]`,
        bare(pct(0.129451011)),
        bare(pct(0.0625)),
        bare(pct(0.85556344)),
        '1.78',
      ];
      expect(cells.slice(-7)).toEqual(expected);
      expect(expected[3]).toBe('12.9');
      expect(row).not.toContain('12.95');
    });
  }
});
