/**
 * Audit of protocol §4 "Uncertainty and size" against answers computed independently: the fast resample path against
 * a naive greedy search (mAP of every candidate assignment by evaluateCoco on the resampled dataset built explicitly,
 * copy k of image id as its own image, ordered by (id, k)); percentiles and medians by hand; relRange and resamples
 * without ground truth; paired differences with ties and one-sided gaps; the size curve's sizes, skip rule and medians.
 */
import { describe, expect, it } from 'vitest';
import type { CocoGroundTruth, CocoResult, Shift } from '../../src/core/types.js';
import { evaluateCoco } from '../../src/metrics/cocoeval.js';
import { prepareBounds, type BoundsCase } from '../../src/metrics/greedy/index.js';
import { checkRun } from '../../src/report/check.js';
import type { ReportRun } from '../../src/report/load.js';
import {
  bootstrapDraw,
  resampleIndex,
  runResampleTask,
  subsampleDraw,
  type ResampleBounds,
} from '../../src/metrics/greedy/resample.js';
import {
  MIN_INTERVAL_RESAMPLES,
  boundsUncertainty,
  interval95,
  median,
  pairedDifference,
  percentile,
  sizeCurveSizes,
  summarizeBootstrap,
  type BoundsUncertainty,
} from '../../src/metrics/uncertainty.js';
import { sharedBaseCase } from './sharedBaseCase.js';

/** The resampled dataset written out: copy k of image `id` is image id·10 + k (so id order, then copy order). */
function explicitResample(c: BoundsCase, copies: ArrayLike<number>): BoundsCase {
  const gts = Array.isArray(c.gt) ? c.gt : [c.gt];
  const ids = [...new Set(gts[0].images.map((im) => im.id))].sort((a, b) => a - b);
  const newIds = new Map(ids.map((id, i) => [id, Array.from({ length: copies[i] }, (_, k) => id * 10 + k)]));
  const mapGt = (g: CocoGroundTruth): CocoGroundTruth => ({
    categories: g.categories,
    images: g.images.flatMap((im) => newIds.get(im.id)!.map((id) => ({ ...im, id }))),
    annotations: g.annotations.flatMap((a) =>
      newIds.get(a.image_id)!.map((id, k) => ({ ...a, id: a.id * 10 + k, image_id: id })),
    ),
  });
  return {
    gt: Array.isArray(c.gt) ? c.gt.map(mapGt) : mapGt(c.gt),
    shifts: c.shifts,
    dets: c.dets.map((l) => l.flatMap((d) => newIds.get(d.image_id)!.map((id) => ({ ...d, image_id: id })))),
  };
}

/** mAP of an assignment by evaluateCoco on the whole dataset (null: no ground truth). */
function mapOf(c: BoundsCase, ids: number[], a: number[]): number | null {
  const shiftOf = new Map(ids.map((id, i) => [id, a[i]]));
  const gts = Array.isArray(c.gt) ? c.gt : c.shifts.map(() => c.gt as CocoGroundTruth);
  const anns = gts.flatMap((g, s) => g.annotations.filter((x) => shiftOf.get(x.image_id) === s));
  const dets: CocoResult[] = c.dets.flatMap((l, s) => l.filter((d) => shiftOf.get(d.image_id) === s));
  const v = evaluateCoco({ images: gts[0].images, categories: gts[0].categories, annotations: anns }, dets).stats[0];
  return v < 0 ? null : v;
}

/** Protocol §4's greedy search written plainly: every candidate evaluated from scratch. */
function naiveSearch(c: BoundsCase, dir: 1 | -1, maxPasses = 5): number {
  const gts = Array.isArray(c.gt) ? c.gt : [c.gt];
  const ids = [...new Set(gts[0].images.map((im) => im.id))].sort((x, y) => x - y);
  const a = ids.map(() => 0);
  for (let pass = 1; pass <= maxPasses; pass++) {
    let changed = false;
    for (let i = 0; i < ids.length; i++) {
      const vals = c.shifts.map((_, s) =>
        mapOf(
          c,
          ids,
          a.map((x, j) => (j === i ? s : x)),
        ),
      );
      const best = Math.max(...vals.filter((v): v is number => v !== null).map((v) => dir * v));
      if (dir * vals[a[i]]! >= best - 1e-12) continue;
      a[i] = vals.findIndex((v) => v !== null && dir * v >= best - 1e-12);
      changed = true;
    }
    if (!changed) break;
  }
  return mapOf(c, ids, a)!;
}

/** A small case with an image holding nothing, an image with detections at one shift only, unsorted image list. */
function edgeCase(seed: number): BoundsCase {
  const c = sharedBaseCase(seed, 7, 2, 3);
  const g = c.gt as CocoGroundTruth;
  const empty = { id: 3, file_name: 'empty.png', width: 300, height: 300 };
  const lonely = { id: 500, file_name: 'lonely.png', width: 300, height: 300 };
  const gt: CocoGroundTruth = {
    ...g,
    images: [lonely, ...g.images.slice().reverse(), empty],
    annotations: [
      ...g.annotations,
      { id: 9999, image_id: 500, category_id: 1, bbox: [10, 10, 40, 40], area: 1600, iscrowd: 0 },
    ],
  };
  const dets = c.dets.map((l, s) =>
    s === 1 ? [...l, { image_id: 500, category_id: 1, bbox: [11, 10, 40, 40] as CocoResult['bbox'], score: 0.5 }] : l,
  );
  return { gt, shifts: c.shifts, dets };
}

describe('resamples against a naive search on the resampled dataset written out', () => {
  for (const seed of [1, 4]) {
    it(`edge case ${seed}: every bootstrap resample's bounds equal the naive search's (within float residue)`, () => {
      const c = edgeCase(seed);
      const p = prepareBounds(c);
      const index = resampleIndex(p);
      const settings = { seed: 17, maxPasses: 5, objective: 'ap' as const };
      let duplicates = 0;
      let moved = 0;
      for (let b = 0; b < 3; b++) {
        const copies = bootstrapDraw(p.numImages, settings.seed, b);
        expect(copies.reduce((x, y) => x + y, 0)).toBe(p.numImages);
        duplicates += copies.filter((k) => k > 1).length;
        const fast = runResampleTask(p, index, { kind: 'bootstrap', b }, settings);
        const slow = explicitResample(c, copies);
        const ids = [...new Set((slow.gt as CocoGroundTruth).images.map((im) => im.id))].sort((x, y) => x - y);
        const ref = mapOf(
          slow,
          ids,
          ids.map(() => 0),
        );
        if (ref === null) {
          expect(fast).toBeNull();
          continue;
        }
        expect(fast).not.toBeNull();
        expect(fast!.mapRef).toBeCloseTo(ref, 12);
        expect(fast!.mapLower).toBeCloseTo(naiveSearch(slow, -1), 12);
        expect(fast!.mapUpper).toBeCloseTo(naiveSearch(slow, 1), 12);
        if (fast!.mapUpper - fast!.mapLower > 0.01) moved++;
      }
      expect(duplicates).toBeGreaterThan(0); // some image drawn twice or more
      expect(moved).toBeGreaterThan(0); // the searches found a range: the comparison is not of constants
    });
  }

  it('per-shift ground truth (crop mode: some objects crowd at some shifts) resamples the same way', () => {
    const c = edgeCase(3);
    const g = c.gt as CocoGroundTruth;
    const perShift: BoundsCase = {
      ...c,
      gt: c.shifts.map((_, s) => ({
        ...g,
        annotations: g.annotations.map((a, k) => ({ ...a, iscrowd: ((k + s) % 3 === 0 ? 1 : a.iscrowd) as 0 | 1 })),
      })),
    };
    const p = prepareBounds(perShift);
    const index = resampleIndex(p);
    let checked = 0;
    for (let b = 0; b < 3; b++) {
      const fast = runResampleTask(p, index, { kind: 'bootstrap', b }, { seed: 2, maxPasses: 5, objective: 'ap' });
      const slow = explicitResample(perShift, bootstrapDraw(p.numImages, 2, b));
      if (fast === null) continue;
      checked++;
      expect(fast.mapLower).toBeCloseTo(naiveSearch(slow, -1), 12);
      expect(fast.mapUpper).toBeCloseTo(naiveSearch(slow, 1), 12);
    }
    expect(checked).toBeGreaterThan(0);
  });

  it('a size-curve subsample is the dataset of its drawn images, searched as such', () => {
    const c = edgeCase(2);
    const p = prepareBounds(c);
    const copies = subsampleDraw(p.numImages, 5, 3, 1);
    const fast = runResampleTask(
      p,
      resampleIndex(p),
      { kind: 'subsample', size: 5, j: 1 },
      {
        seed: 3,
        maxPasses: 5,
        objective: 'ap',
      },
    );
    const slow = explicitResample(c, copies);
    expect(fast).not.toBeNull();
    expect(fast!.mapLower).toBeCloseTo(naiveSearch(slow, -1), 12);
    expect(fast!.mapUpper).toBeCloseTo(naiveSearch(slow, 1), 12);
  });

  it('the draws depend on (images, seed, resample) alone: two detectors on the same images get the same draws', async () => {
    const c = sharedBaseCase(21, 12, 2, 2);
    const other: BoundsCase = { ...c, dets: c.dets.map((l) => l.map((d) => ({ ...d, score: 1 - d.score }))) };
    const ua = await boundsUncertainty(prepareBounds(c), 0, { resamples: 20, seed: 5, workers: 0, sizeCurve: false });
    const ub = await boundsUncertainty(prepareBounds(other), 0, {
      resamples: 20,
      seed: 5,
      workers: 0,
      sizeCurve: false,
    });
    // each side's resample b is its own data drawn with bootstrapDraw(N, seed, b)
    for (const [cs, u] of [
      [c, ua],
      [other, ub],
    ] as const) {
      for (const b of [0, 7, 19]) {
        const slow = explicitResample(cs, bootstrapDraw(12, 5, b));
        const r = u.perResample[b];
        if (r === null) continue;
        expect(r.mapUpper).toBeCloseTo(naiveSearch(slow, 1), 12);
      }
    }
    expect(ua.imageIds).toEqual(ub.imageIds);
    expect(bootstrapDraw(12, 5, 3)).toEqual(bootstrapDraw(12, 5, 3));
    expect(bootstrapDraw(12, 5, 3)).not.toEqual(bootstrapDraw(12, 6, 3));
  });
});

describe('percentiles, medians and intervals by hand', () => {
  it('numpy.percentile values (linear), unsorted input to interval95 and median, even-count median', () => {
    // numpy.percentile([1, 2, 3, 4], [2.5, 97.5]) == [1.075, 3.925]
    const iv = interval95([4, 1, 3, 2])!;
    expect(iv.lo).toBeCloseTo(1.075, 14);
    expect(iv.hi).toBeCloseTo(3.925, 14);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([0.3, 0.1])).toBeCloseTo(0.2, 15);
    expect(median([7])).toBe(7);
    expect(median([])).toBeNull();
    // rank (n − 1)·q falling exactly on an order statistic
    expect(percentile(Float64Array.from([0, 10, 20, 30, 40]), 0.25)).toBe(10);
    // negative values sort numerically (not as strings)
    const neg = interval95([-0.5, -0.05, 0.2, -1])!;
    expect(neg.lo).toBeCloseTo(-0.9625, 14);
    expect(neg.hi).toBeCloseTo(0.18125, 14);
  });

  const row = (mapRef: number, lo: number, hi: number): ResampleBounds => ({ mapRef, mapLower: lo, mapUpper: hi });

  it('summarizeBootstrap: each field is the percentile of its own column over resamples with ground truth', () => {
    const rows: (ResampleBounds | null)[] = [];
    for (let k = 0; k < 30; k++)
      rows.push(k % 6 === 5 ? null : row(0.3 + k / 100, 0.2 + k / 200, 0.5 + (k * k) / 2000));
    const valid = rows.filter((r): r is ResampleBounds => r !== null);
    const iv = summarizeBootstrap(rows, 9)!;
    expect(iv.resamples).toBe(30);
    expect(iv.validResamples).toBe(25);
    expect(iv.seed).toBe(9);
    const byHand = (xs: number[], q: number) => {
      const s = [...xs].sort((x, y) => x - y);
      const h = (s.length - 1) * q;
      const f = Math.floor(h);
      return s[f] + (h - f) * (s[Math.min(f + 1, s.length - 1)] - s[f]);
    };
    for (const [k, f] of [
      ['mapRef', (r: ResampleBounds) => r.mapRef],
      ['mapLower', (r: ResampleBounds) => r.mapLower],
      ['mapUpper', (r: ResampleBounds) => r.mapUpper],
      ['mapRange', (r: ResampleBounds) => r.mapUpper - r.mapLower],
      ['relRange', (r: ResampleBounds) => (r.mapUpper - r.mapLower) / r.mapRef],
    ] as const) {
      expect(iv[k]).toEqual({ lo: byHand(valid.map(f), 0.025), hi: byHand(valid.map(f), 0.975) });
    }
  });

  it('relRange leaves out resamples with mapRef 0, and has no interval when fewer than MIN_INTERVAL_RESAMPLES remain', () => {
    // 25 resamples with ground truth, of which only 3 have mapRef > 0
    const rows = Array.from({ length: 25 }, (_, k) => (k < 3 ? row(0.5, 0.4, 0.6 + k / 100) : row(0, 0, 0.1)));
    const iv = summarizeBootstrap(rows, 0)!;
    expect(iv).not.toBeNull(); // mapRange etc. are read from 25 values
    expect(iv.mapRange.lo).toBe(0.1);
    // three values are no 95 % interval (the rule of MIN_INTERVAL_RESAMPLES), whatever the percentile gives
    expect(iv.relRange).toBeNull();
    // with MIN_INTERVAL_RESAMPLES of them it is read from those alone (none is Infinity or NaN)
    const enough = Array.from({ length: 30 }, (_, k) =>
      k < MIN_INTERVAL_RESAMPLES ? row(0.5, 0.4, 0.6) : row(0, 0, 0.1),
    );
    const iv2 = summarizeBootstrap(enough, 0)!;
    expect(iv2.relRange!.lo).toBeCloseTo(0.4, 14);
    expect(iv2.relRange!.hi).toBeCloseTo(0.4, 14);
  });
});

describe('paired differences by hand', () => {
  const side = (key: string, ranges: (number | null)[], refs?: number[]): Parameters<typeof pairedDifference>[0] => {
    const perResample = ranges.map((r, k) =>
      r === null ? null : { mapRef: refs?.[k] ?? 0.5, mapLower: 0.25, mapUpper: 0.25 + r },
    );
    const uncertainty: BoundsUncertainty = {
      interval: summarizeBootstrap(perResample, 4),
      sizeCurve: null,
      perResample,
      imageIds: [1, 2, 3],
    };
    return { key, mapRef: 0.5, mapRange: 0.1, uncertainty };
  };

  it('share: A smaller counts 1, a tie ½; resamples missing on either side are left out of share and interval', () => {
    // 24 resamples: A smaller in 10, tie in 6, A larger in 4; 4 where one side has no ground truth
    const a: (number | null)[] = [];
    const b: (number | null)[] = [];
    for (let k = 0; k < 10; k++) {
      a.push(0.1);
      b.push(0.1 + (k + 1) / 100);
    }
    for (let k = 0; k < 6; k++) {
      a.push(0.2);
      b.push(0.2);
    }
    for (let k = 0; k < 4; k++) {
      a.push(0.3);
      b.push(0.3 - (k + 1) / 100);
    }
    a.push(null, 0.1, null, null);
    b.push(0.2, null, null, 0.1);
    const d = pairedDifference(side('a', a), side('b', b), 'mitigation')!;
    expect(d.resamples).toBe(20);
    expect(d.steadierShare).toBe((10 + 3) / 20);
    const deltas = [
      ...Array.from({ length: 10 }, (_, k) => 0.1 - (0.1 + (k + 1) / 100)),
      0,
      0,
      0,
      0,
      0,
      0,
      ...Array.from({ length: 4 }, (_, k) => 0.3 - (0.3 - (k + 1) / 100)),
    ];
    const iv = interval95(deltas)!;
    expect(d.deltaMapRange.lo).toBeCloseTo(iv.lo, 15);
    expect(d.deltaMapRange.hi).toBeCloseTo(iv.hi, 15);
    expect(d.significant).toBe(false); // the interval holds 0
    expect(d.seed).toBe(4);
    expect(d.kind).toBe('mitigation');
  });

  it('significant only when the interval excludes 0: an interval ending exactly at 0 is not', () => {
    // A smaller in 19 of 20, tie in 1: the upper end is between −0.01·… and 0
    const ranges = Array.from({ length: 20 }, (_, k) => (k === 0 ? 0.2 : 0.2 + 0.01 * k));
    const a = side(
      'a',
      Array.from({ length: 20 }, () => 0.2),
    );
    const d = pairedDifference(a, side('b', ranges), 'twin')!;
    expect(d.steadierShare).toBe(19.5 / 20);
    expect(d.deltaMapRange.hi).toBeLessThan(0);
    expect(d.significant).toBe(true);
    // all 20 a tie but for one larger: lo = 0 exactly → not significant
    const e = pairedDifference(
      side(
        'a',
        Array.from({ length: 20 }, (_, k) => (k === 0 ? 0.5 : 0.2)),
      ),
      side(
        'b',
        Array.from({ length: 20 }, () => 0.2),
      ),
      'twin',
    )!;
    expect(e.deltaMapRange.lo).toBe(0);
    expect(e.significant).toBe(false);
    expect(e.verdict).toBe('no significant difference');
  });
});

describe('size curve', () => {
  it('sizes ⌊N/8⌋, ⌊N/4⌋, ⌊N/2⌋ with those under 10 skipped', () => {
    expect(sizeCurveSizes(79)).toEqual([19, 39]); // ⌊79/8⌋ = 9 skipped
    expect(sizeCurveSizes(80)).toEqual([10, 20, 40]);
    expect(sizeCurveSizes(20)).toEqual([10]);
    expect(sizeCurveSizes(21)).toEqual([10]);
    expect(sizeCurveSizes(0)).toEqual([]);
  });

  it('each size: the median (even count: mean of the middle two) of the subsamples’ ranges, then the full set', async () => {
    const c = edgeCase(6); // 9 images: no sizes; use a larger one
    expect(sizeCurveSizes(prepareBounds(c).numImages)).toEqual([]);
    const big = sharedBaseCase(31, 20, 2, 2);
    const p = prepareBounds(big);
    const u = await boundsUncertainty(p, 0.123, { resamples: 0, sizeCurve: true, subsamples: 4, seed: 8, workers: 0 });
    expect(u.interval).toBeNull();
    expect(u.sizeCurve!.map((x) => [x.images, x.subsamples])).toEqual([
      [10, 4],
      [20, 1],
    ]);
    expect(u.sizeCurve![1].medianMapRange).toBe(0.123);
    const ranges: number[] = [];
    for (let j = 0; j < 4; j++) {
      const copies = subsampleDraw(20, 10, 8, j);
      const slow = explicitResample(big, copies);
      ranges.push(naiveSearch(slow, 1) - naiveSearch(slow, -1));
    }
    const s = ranges.sort((x, y) => x - y);
    expect(u.sizeCurve![0].medianMapRange).toBeCloseTo((s[1] + s[2]) / 2, 12);
  });

  it('subsamples without ground truth are left out of the median; none with it: null', async () => {
    // 20 images, ground truth on one only: most subsamples of 10 hold none
    const shifts: Shift[] = [
      { dx: 0, dy: 0 },
      { dx: 1, dy: 0 },
    ];
    const gt: CocoGroundTruth = {
      images: Array.from({ length: 20 }, (_, k) => ({ id: k + 1, file_name: `${k}.png`, width: 64, height: 64 })),
      categories: [{ id: 1, name: 'a' }],
      annotations: [{ id: 1, image_id: 1, category_id: 1, bbox: [10, 10, 20, 20], area: 400, iscrowd: 0 }],
    };
    const dets: CocoResult[][] = shifts.map((_, s) => [
      { image_id: 1, category_id: 1, bbox: [10 + 8 * s, 10, 20, 20], score: 0.9 },
      { image_id: 2, category_id: 1, bbox: [10, 10, 20, 20], score: 0.95 },
    ]);
    const p = prepareBounds({ gt, shifts, dets });
    const u = await boundsUncertainty(p, 1, { resamples: 0, sizeCurve: true, subsamples: 10, seed: 2, workers: 0 });
    const withGt: number[] = [];
    for (let j = 0; j < 10; j++) {
      const copies = subsampleDraw(20, 10, 2, j);
      if (copies[0] === 0) continue;
      const slow = explicitResample({ gt, shifts, dets }, copies);
      withGt.push(naiveSearch(slow, 1) - naiveSearch(slow, -1));
    }
    expect(withGt.length).toBeGreaterThan(0);
    expect(withGt.length).toBeLessThan(10); // some subsamples hold no ground truth: the case this test is about
    const s = withGt.sort((x, y) => x - y);
    const mid = (s.length - 1) / 2;
    expect(u.sizeCurve![0].medianMapRange).toBeCloseTo((s[Math.floor(mid)] + s[Math.ceil(mid)]) / 2, 12);
    // the count shown is the subsamples the median is over (those with ground truth), not the ten drawn
    expect(u.sizeCurve![0].subsamples).toBe(withGt.length);
    expect(u.sizeCurve![1]).toEqual({ images: 20, subsamples: 1, medianMapRange: 1 });
  });
});

describe('check on a rel. range without interval', () => {
  it('--max-rel-range with a rel. range but too few resamples with mAP at (0,0) > 0: says so, not "mAP at (0,0) is 0"', () => {
    const rows = Array.from({ length: 25 }, (_, k) =>
      k < 3 ? { mapRef: 0.5, mapLower: 0.4, mapUpper: 0.6 } : { mapRef: 0, mapLower: 0, mapUpper: 0.1 },
    );
    const interval = summarizeBootstrap(rows, 0)!;
    expect(interval.relRange).toBeNull();
    const run = {
      runDir: '/runs/x',
      metrics: {
        results: [
          {
            key: 'det',
            imagesEvaluated: 50,
            bounds: { mapRef: 0.02, mapLower: 0.01, mapUpper: 0.03, mapRange: 0.02, relRange: 1 },
            analysis: { boundsInterval: interval, notes: [] },
          },
        ],
      },
    } as unknown as ReportRun;
    let message = '';
    try {
      checkRun(run, { maxRelRange: 0.5 });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain('det: the rel. range has no interval');
    expect(message).not.toContain('mAP at (0,0) is 0');
  });
});
