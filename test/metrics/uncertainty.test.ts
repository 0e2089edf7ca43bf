/**
 * Issue 11.1–11.3: resamples reuse the prepared case (bit for bit equal to preparing the
 * resampled data from scratch), percentile intervals equal a slow bootstrap done by hand,
 * 1 and 2 workers give identical numbers, paired differences against an oracle, size curve.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { BoundsSummary, CocoGroundTruth, CocoResult } from '../../src/core/types.js';
import { greedyBounds, greedyBoundsPrepared, prepareBounds, type BoundsCase } from '../../src/metrics/greedy/index.js';
import { bootstrapDraw, resampleIndex, resamplePrepared, subsampleDraw } from '../../src/metrics/greedy/resample.js';
import {
  boundsUncertainty,
  defaultBootstrapBounds,
  interval95,
  pairedDifference,
  percentile,
  sizeCurveSizes,
} from '../../src/metrics/uncertainty.js';
import { buildWorkers } from '../helpers/workerBuild.js';
import { sharedBaseCase } from './sharedBaseCase.js';

beforeAll(() => buildWorkers());

/** The resampled case built the slow way: copy k of image id becomes image id·100 + k, its gt and detections copied. */
function resampledCase(c: BoundsCase, copies: ArrayLike<number>): BoundsCase {
  const gts = Array.isArray(c.gt) ? c.gt : [c.gt];
  const ids = [...new Set(gts[0].images.map((im) => im.id))].sort((a, b) => a - b);
  const newIds = new Map<number, number[]>(
    ids.map((id, i) => [id, Array.from({ length: copies[i] }, (_, k) => id * 100 + k)]),
  );
  const mapGt = (g: CocoGroundTruth): CocoGroundTruth => ({
    categories: g.categories,
    images: g.images.flatMap((im) => newIds.get(im.id)!.map((id) => ({ ...im, id }))),
    annotations: g.annotations.flatMap((a) =>
      newIds.get(a.image_id)!.map((id, k) => ({ ...a, id: a.id * 100 + k, image_id: id })),
    ),
  });
  const dets = c.dets.map((l) => l.flatMap((d) => newIds.get(d.image_id)!.map((id) => ({ ...d, image_id: id }))));
  return { gt: Array.isArray(c.gt) ? c.gt.map(mapGt) : mapGt(c.gt), shifts: c.shifts, dets, maxPasses: c.maxPasses };
}

/** A case with many tied scores (ties across images, shifts and within cells). */
function tiedCase(seed: number): BoundsCase {
  const c = sharedBaseCase(seed, 24, 3, 4);
  const q = (s: number) => Math.round(s * 4) / 4;
  return { ...c, dets: c.dets.map((l) => l.map((d) => ({ ...d, score: q(d.score) }))) };
}

describe('resamples reuse the prepared case', () => {
  for (const [name, make] of [
    ['shared-base case', (s: number) => sharedBaseCase(s, 30, 4, 4)],
    ['tied scores', tiedCase],
  ] as const) {
    for (const seed of [1, 2]) {
      it(`${name}, seed ${seed}: bounds of resamplePrepared == bounds of the resampled data prepared from scratch`, () => {
        const c = make(seed);
        const base = prepareBounds(c);
        const index = resampleIndex(base);
        for (const copies of [
          bootstrapDraw(base.numImages, 7, seed),
          bootstrapDraw(base.numImages, 8, seed),
          subsampleDraw(base.numImages, 12, 3, seed),
        ]) {
          expect(copies.some((k) => k > 1) || copies.some((k) => k === 0)).toBe(true);
          const fast = greedyBoundsPrepared(resamplePrepared(base, index, copies), 5);
          const slow = greedyBounds(resampledCase(c, copies));
          expect(fast).toEqual(slow);
        }
      });
    }
  }

  it('per-shift ground truth (crop mode) resamples the same way', () => {
    const c = sharedBaseCase(5, 20, 3, 3);
    const g = c.gt as CocoGroundTruth;
    const perShift: BoundsCase = {
      ...c,
      gt: c.shifts.map((_, s) => ({
        ...g,
        annotations: g.annotations.map((a, k) => ({ ...a, iscrowd: ((k + s) % 5 === 0 ? 1 : a.iscrowd) as 0 | 1 })),
      })),
    };
    const base = prepareBounds(perShift);
    const copies = bootstrapDraw(base.numImages, 3, 4);
    expect(greedyBoundsPrepared(resamplePrepared(base, resampleIndex(base), copies), 5)).toEqual(
      greedyBounds(resampledCase(perShift, copies)),
    );
  });
});

describe('percentile intervals', () => {
  it('percentile interpolates linearly between order statistics (numpy default)', () => {
    const v = Float64Array.from([1, 2, 3, 4, 10]);
    expect(percentile(v, 0)).toBe(1);
    expect(percentile(v, 1)).toBe(10);
    expect(percentile(v, 0.5)).toBe(3);
    expect(percentile(v, 0.025)).toBeCloseTo(1.1, 15); // rank 0.1
    expect(percentile(v, 0.975)).toBeCloseTo(4 + 0.9 * 6, 13); // rank 3.9
    expect(interval95([5])).toEqual({ lo: 5, hi: 5 });
    expect(interval95([])).toBeNull();
  });

  it('the bootstrap intervals equal a small bootstrap done the slow way', async () => {
    const c = sharedBaseCase(11, 16, 3, 4);
    const base = prepareBounds(c);
    const full = greedyBoundsPrepared(base, 5)!;
    const B = 20; // the fewest an interval is read from (MIN_INTERVAL_RESAMPLES)
    const u = await boundsUncertainty(base, full.mapRange, { resamples: B, seed: 42, workers: 0, sizeCurve: false });
    // slow: draw, build the resampled case from scratch, run greedyBounds, sort, interpolate by hand
    const slow: BoundsSummary[] = [];
    for (let b = 0; b < B; b++) slow.push(greedyBounds(resampledCase(c, bootstrapDraw(base.numImages, 42, b)))!);
    const byHand = (xs: number[], q: number) => {
      const s = [...xs].sort((x, y) => x - y);
      const h = (s.length - 1) * q;
      const f = Math.floor(h);
      return s[f] + (h - f) * (s[Math.min(f + 1, s.length - 1)] - s[f]);
    };
    const ranges = slow.map((r) => r.mapUpper - r.mapLower);
    expect(u.interval!.validResamples).toBe(B);
    expect(u.interval!.mapRange.lo).toBe(byHand(ranges, 0.025));
    expect(u.interval!.mapRange.hi).toBe(byHand(ranges, 0.975));
    expect(u.interval!.mapLower.lo).toBe(
      byHand(
        slow.map((r) => r.mapLower),
        0.025,
      ),
    );
    expect(u.interval!.mapUpper.hi).toBe(
      byHand(
        slow.map((r) => r.mapUpper),
        0.975,
      ),
    );
    expect(u.interval!.relRange!.hi).toBe(
      byHand(
        slow.map((r) => (r.mapUpper - r.mapLower) / r.mapRef),
        0.975,
      ),
    );
    expect(u.interval!.mapRange.lo).toBeLessThan(u.interval!.mapRange.hi);
  });

  it('identical results for the same seed on this thread, 1 worker and 2 workers; another seed differs', async () => {
    const base = prepareBounds(sharedBaseCase(12, 40, 4, 4));
    const full = greedyBoundsPrepared(base, 5)!;
    const fallback = (m: string) => {
      throw new Error(`fell back: ${m}`);
    };
    const run = (workers: number, seed = 9) =>
      boundsUncertainty(base, full.mapRange, {
        resamples: 20,
        seed,
        workers,
        subsamples: 3,
        onWorkerFallback: fallback,
      });
    const [w0, w1, w2, other] = await Promise.all([run(0), run(1), run(2), run(2, 10)]);
    expect(w1).toEqual(w0);
    expect(w2).toEqual(w0);
    expect(other.interval).not.toEqual(w0.interval);
    expect(w0.sizeCurve!.map((p) => p.images)).toEqual([10, 20, 40]);
    expect(w0.sizeCurve![2].medianMapRange).toBe(full.mapRange);
  });
});

describe('paired differences and the size curve', () => {
  it('a detector against the oracle (exact boxes at every shift): steadier in nearly every resample, significant', async () => {
    const c = sharedBaseCase(13, 40, 3, 4);
    const gt = c.gt as CocoGroundTruth;
    const oracleDets: CocoResult[][] = c.shifts.map(() =>
      gt.annotations
        .filter((a) => !a.iscrowd)
        .map((a) => ({ image_id: a.image_id, category_id: a.category_id, bbox: a.bbox, score: 0.9 })),
    );
    const noisy = prepareBounds(c);
    const oracle = prepareBounds({ ...c, dets: oracleDets });
    const fullN = greedyBoundsPrepared(noisy, 5)!;
    const fullO = greedyBoundsPrepared(oracle, 5)!;
    expect(fullO.mapRange).toBe(0);
    expect(fullO.mapRef).toBe(1);
    const opts = { resamples: 30, seed: 3, workers: 2, sizeCurve: false };
    const uN = await boundsUncertainty(noisy, fullN.mapRange, opts);
    const uO = await boundsUncertainty(oracle, fullO.mapRange, opts);
    const d = pairedDifference(
      { key: 'oracle', mapRef: fullO.mapRef, mapRange: fullO.mapRange, uncertainty: uO },
      { key: 'noisy', mapRef: fullN.mapRef, mapRange: fullN.mapRange, uncertainty: uN },
      'mitigation',
    )!;
    // by hand: the oracle's range is 0 in every resample, so Δ = −range(noisy) per resample
    const ranges = uN.perResample.map((r) => r!.mapUpper - r!.mapLower);
    expect(d.deltaMapRange.lo).toBe(interval95(ranges.map((x) => -x))!.lo);
    expect(d.deltaMapRange.value).toBe(-fullN.mapRange);
    expect(d.deltaMapRef.value).toBe(1 - fullN.mapRef);
    expect(d.steadierShare).toBe(ranges.filter((x) => x > 0).length / 30 + ranges.filter((x) => x === 0).length / 60);
    expect(d.steadierShare).toBeGreaterThan(0.9);
    expect(d.significant).toBe(true);
    expect(d.verdict).toBe('steadier (significant)');
    // the other way round: less steady; and a detector against itself: ties, not significant
    const back = pairedDifference(
      { key: 'noisy', mapRef: fullN.mapRef, mapRange: fullN.mapRange, uncertainty: uN },
      { key: 'oracle', mapRef: 1, mapRange: 0, uncertainty: uO },
      'mitigation',
    )!;
    expect(back.verdict).toBe('less steady (significant)');
    const self = pairedDifference(
      { key: 'a', mapRef: fullN.mapRef, mapRange: fullN.mapRange, uncertainty: uN },
      { key: 'b', mapRef: fullN.mapRef, mapRange: fullN.mapRange, uncertainty: uN },
      'twin',
    )!;
    expect(self.steadierShare).toBe(0.5);
    expect(self.significant).toBe(false);
    expect(self.verdict).toBe('no significant difference');
  });

  it("a tie computed with float residue (the same range as (u − l) − (u' − l') ≈ 1e−16) is a tie: share ½, not significant", () => {
    // 0.3 − 0.1 and 0.7 − 0.5 are the same range, 2.8e−17 apart in floats
    expect(0.3 - 0.1 - (0.7 - 0.5)).not.toBe(0);
    const side = (key: string, lower: number, upper: number) => {
      const perResample = Array.from({ length: 20 }, () => ({ mapRef: 0.4, mapLower: lower, mapUpper: upper }));
      const interval = {
        resamples: 20,
        seed: 0,
        ...Object.fromEntries(['mapLower', 'mapUpper', 'mapRange', 'relRange'].map((k) => [k, { lo: 0, hi: 0 }])),
      };
      return {
        key,
        mapRef: 0.4,
        mapRange: upper - lower,
        uncertainty: { interval, sizeCurve: null, perResample, imageIds: [1, 2] } as never,
      };
    };
    const d = pairedDifference(side('a', 0.1, 0.3), side('b', 0.5, 0.7), 'mitigation')!;
    expect(d.deltaMapRange).toEqual({ value: 0, lo: 0, hi: 0 });
    expect(d.steadierShare).toBe(0.5);
    expect(d.significant).toBe(false);
    expect(d.verdict).toBe('no significant difference');
  });

  it('pairing refuses resamples of different images', async () => {
    const a = prepareBounds(sharedBaseCase(14, 20, 3, 2));
    const b = prepareBounds(sharedBaseCase(14, 21, 3, 2));
    const ua = await boundsUncertainty(a, 0, { resamples: 20, seed: 1, workers: 0 });
    const ub = await boundsUncertainty(b, 0, { resamples: 20, seed: 1, workers: 0 });
    expect(() =>
      pairedDifference(
        { key: 'a', mapRef: 0, mapRange: 0, uncertainty: ua },
        { key: 'b', mapRef: 0, mapRange: 0, uncertainty: ub },
        'mitigation',
      ),
    ).toThrow(/cannot be paired/);
  });

  it('size curve: ⌊N/8⌋, ⌊N/4⌋, ⌊N/2⌋ without sizes under 10; default B by images × shifts', () => {
    expect(sizeCurveSizes(128)).toEqual([16, 32, 64]);
    expect(sizeCurveSizes(40)).toEqual([10, 20]);
    expect(sizeCurveSizes(19)).toEqual([]);
    expect(defaultBootstrapBounds(5001, 4)).toEqual({
      resamples: 0,
      note: expect.stringContaining('--bootstrap-bounds'),
    });
    expect(defaultBootstrapBounds(128, 4).resamples).toBe(200);
    expect(defaultBootstrapBounds(5000, 4).resamples).toBe(200);
    expect(defaultBootstrapBounds(5001, 4).note).toMatch(/5001 images × 4 shifts > 20,000/);
  });

  it('subsamples are without replacement and of the asked size', () => {
    for (let j = 0; j < 5; j++) {
      const d = subsampleDraw(50, 12, 3, j);
      expect(d.reduce((a, b) => a + b, 0)).toBe(12);
      expect(Math.max(...d)).toBe(1);
    }
  });
});
