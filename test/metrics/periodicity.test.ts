/** Issue 11.4 / protocol §8: the dominant period of per-shift series along line:K sets. */
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import type { CocoGroundTruth, CocoResult, Shift } from '../../src/core/types.js';
import { ShiftEvaluator, axisLines, dominantPeriod } from '../../src/metrics/index.js';
import { fSurvival } from '../../src/metrics/periodicity.js';

/** line:K as protocol §1 lists it. */
function lineShifts(K: number): Shift[] {
  const out: Shift[] = [{ dx: 0, dy: 0 }];
  for (let d = 1; d <= K; d++) out.push({ dx: d, dy: 0 });
  for (let d = 1; d <= K; d++) out.push({ dx: 0, dy: d });
  return out;
}

/** A random, non-sinusoidal pattern of period P (values in [0, 1)). */
function pattern(rng: Rng, P: number): number[] {
  return Array.from({ length: P }, () => rng.next());
}

describe('dominantPeriod', () => {
  it('by hand: an alternating series has period 2 with R²adj 1 and its phase means', () => {
    const f = dominantPeriod([1, 0, 1, 0, 1, 0])!;
    expect(f.period).toBe(2);
    expect(f.r2adj).toBe(1);
    expect(f.phaseMeans).toEqual([1, 0]);
    // n = 6: p = 3 explains 1 − SSwithin/SStotal of [3, 1, 2, 3, 1, 2]: exactly 1 → R²adj 1 at p = 3 but p = 2 explains less
    const g = dominantPeriod([3, 1, 2, 3, 1, 2])!;
    expect(g.period).toBe(3);
    expect(g.phaseMeans).toEqual([3, 1, 2]);
    // p = 2 for the same series: group means 2, 2 → R² = 0 → R²adj = 1 − 5/4 < 0
  });

  it('the F-test tail matches tabulated critical values', () => {
    expect(fSurvival(4.965, 1, 10)).toBeCloseTo(0.05, 4); // F(1, 10) at 5 %
    expect(fSurvival(3.699, 5, 30)).toBeCloseTo(0.01, 4); // F(5, 30) at 1 %
    expect(fSurvival(1, 20, 20)).toBeCloseTo(0.5, 10); // the median of F(n, n) is 1
    expect(fSurvival(0, 3, 7)).toBe(1);
  });

  it('constant, too short or non-finite series have no period', () => {
    expect(dominantPeriod([0.5, 0.5, 0.5, 0.5, 0.5])).toBeNull();
    // an exactly constant series whose float mean is not exactly its value (zoo-fcos-aps's
    // line:32 mAP) has no variance to explain either: no period from rounding noise
    const value = 0.5379155355927624;
    expect(new Array(33).fill(value).reduce((a: number, b: number) => a + b, 0) / 33).not.toBe(value);
    expect(dominantPeriod(new Array(33).fill(value))).toBeNull();
    expect(dominantPeriod([1, 0, 1])).toBeNull();
    expect(dominantPeriod([1, 0, NaN, 0, 1, 0])).toBeNull();
  });

  for (const P of [2, 3, 5, 7, 8, 13, 16, 32]) {
    it(`finds P = ${P} in random non-sinusoidal patterns plus noise (n = 2P and n = 65)`, () => {
      for (let trial = 0; trial < 5; trial++) {
        const rng = new Rng(1000 * P + trial);
        const pat = pattern(rng, P);
        for (const n of [2 * P, 65].filter((m) => m >= 2 * P)) {
          const series = Array.from({ length: n }, (_, d) => pat[d % P] + rng.normal(0, 0.03));
          expect(dominantPeriod(series)!.period, `trial ${trial}, n ${n}`).toBe(P);
        }
      }
    });
  }

  it('axisLines finds the x and y lines of line:K (and none in grid:1)', () => {
    const lines = axisLines(lineShifts(5));
    expect(lines.map((l) => l.axis)).toEqual(['x', 'y']);
    expect(lines[0].indices).toEqual([0, 1, 2, 3, 4, 5]);
    expect(lines[1].indices).toEqual([0, 6, 7, 8, 9, 10]);
    expect(
      axisLines([
        { dx: 0, dy: 0 },
        { dx: 1, dy: 0 },
        { dx: 0, dy: 1 },
        { dx: 1, dy: 1 },
      ]),
    ).toEqual([]);
  });
});

describe('the evaluator reports the period of a fake whose output depends on d mod P', () => {
  for (const P of [4, 6, 9]) {
    it(`P = ${P}, line:${3 * P}`, async () => {
      const K = 3 * P;
      const shifts = lineShifts(K);
      const rng = new Rng(77 + P);
      const scorePat = pattern(rng, P).map((v) => 0.55 + 0.4 * v);
      const offsetPat = pattern(rng, P).map((v) => 30 * v);
      const images = Array.from({ length: 12 }, (_, i) => ({
        id: i + 1,
        file_name: `${i}.png`,
        width: 200,
        height: 200,
      }));
      const annotations = images.flatMap((im, i) =>
        [0, 1].map((k) => ({
          id: 2 * i + k + 1,
          image_id: im.id,
          category_id: 1,
          bbox: [20 + 80 * k, 30, 40, 40] as [number, number, number, number],
          area: 1600,
          iscrowd: 0 as const,
        })),
      );
      const gt: CocoGroundTruth = { images, categories: [{ id: 1, name: 'a' }], annotations };
      const ev = new ShiftEvaluator({ shifts, groundTruth: gt, bootstrapResamples: 10, bootstrapBounds: 0 });
      shifts.forEach((s, si) => {
        const d = s.dx + s.dy; // one of them is 0
        for (const im of images) {
          const dets: CocoResult[] = annotations
            .filter((a) => a.image_id === im.id)
            .map((a) => ({
              image_id: im.id,
              category_id: 1,
              bbox: [a.bbox[0] + offsetPat[d % P] + rng.normal(0, 0.2), a.bbox[1], 40, 40],
              score: Math.min(1, scorePat[d % P] + rng.normal(0, 0.01)),
            }));
          ev.process({ imageId: im.id, shiftIndex: si, inputScale: { x: 1, y: 1 } }, dets);
        }
      });
      const r = await ev.evaluate();
      expect(r.analysis.periodicity.map((a) => a.axis)).toEqual(['x', 'y']);
      for (const axis of r.analysis.periodicity) {
        expect(axis.n).toBe(K + 1);
        expect(axis.meanScore?.period, `${axis.axis} meanScore`).toBe(P);
        // mAP and detConsistency take few distinct values per phase: their period is P or a divisor of P
        // (e.g. matched at even phases only gives 2), explaining most of the variance
        for (const fit of [axis.map, axis.detConsistency]) {
          expect(fit).not.toBeNull();
          expect(P % fit!.period).toBe(0);
          expect(fit!.r2adj).toBeGreaterThan(0.8);
        }
        expect(axis.meanScore!.r2adj).toBeGreaterThan(0.9);
        expect(axis.meanScore!.phaseMeans[1]).toBeCloseTo(scorePat[1], 1);
      }
    });
  }
});

describe('the mean-score series of a detector whose output moves exactly with its input', () => {
  it('is constant when the detector lists the same detections in another order at each shift (no period from rounding)', async () => {
    // e.g. a plug-in that lists cells in grid order, which rolls with the input: the same scores, summed in another
    // order, differ in the last bit (0.41125 vs 0.41124999999999995), which gave period 2 with R²adj 0.22
    const K = 7;
    const shifts = lineShifts(K);
    const scores = [0.1, 0.7, 0.2, 0.9, 0.3, 0.11, 0.61, 0.37];
    const ev = new ShiftEvaluator({ shifts, groundTruth: null, bootstrapResamples: 10, bootstrapBounds: 0 });
    shifts.forEach((s, si) => {
      const d = s.dx + s.dy;
      const dets: CocoResult[] = scores.map((_, k) => {
        const j = (k + d) % scores.length;
        return { image_id: 1, category_id: 1, bbox: [10 + 30 * j, 10, 20, 20], score: scores[j] };
      });
      ev.process({ imageId: 1, shiftIndex: si, inputScale: { x: 1, y: 1 } }, dets);
    });
    const r = await ev.evaluate();
    expect(r.analysis.periodicity).toHaveLength(2);
    for (const ax of r.analysis.periodicity) {
      expect(new Set(ax.series.meanScore).size, ax.axis).toBe(1);
      expect(ax.series.meanScore[0]).toBeCloseTo(3.29 / 8, 15);
      expect(ax.meanScore, ax.axis).toBeNull();
      expect(ax.detConsistency, ax.axis).toBeNull();
    }
  });
});

describe('a line of shifts where one shift has no detections', () => {
  it('holds null for its mean score, in memory as in metrics.json (not NaN typed as a number), and finds no period', async () => {
    const K = 7;
    const shifts = lineShifts(K);
    const ev = new ShiftEvaluator({ shifts, groundTruth: null, bootstrapResamples: 10, bootstrapBounds: 0 });
    shifts.forEach((s, si) => {
      const d = s.dx + s.dy;
      const dets: CocoResult[] =
        s.dx === 3 ? [] : [{ image_id: 1, category_id: 1, bbox: [10 + d, 10, 20, 20], score: 0.5 + 0.05 * (d % 2) }];
      ev.process({ imageId: 1, shiftIndex: si, inputScale: { x: 1, y: 1 } }, dets);
    });
    const r = await ev.evaluate();
    const x = r.analysis.periodicity.find((a) => a.axis === 'x')!;
    expect(x.series.meanScore[3]).toBeNull();
    expect(x.series.meanScore.filter((v) => v === null)).toHaveLength(1);
    expect(JSON.parse(JSON.stringify(x.series))).toEqual(x.series);
    expect(x.meanScore).toBeNull();
    // the y line has every value: its alternating score has period 2
    const y = r.analysis.periodicity.find((a) => a.axis === 'y')!;
    expect(y.series.meanScore.every((v) => typeof v === 'number')).toBe(true);
    expect(y.meanScore?.period).toBe(2);
  });
});
