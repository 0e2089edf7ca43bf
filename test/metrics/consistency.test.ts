import { describe, expect, it } from 'vitest';
import type { BoxXYWH, CocoGroundTruth, CocoResult } from '../../src/core/types.js';
import { MIN_INTERVAL_IMAGES, bootstrapMean, computeConsistency, matchDetections } from '../../src/metrics/index.js';
import { iouXYWH } from '../../src/metrics/consistency.js';
import { boxToInput, boxToOriginal } from '../../src/shifts/project.js';

const det = (
  image_id: number,
  category_id: number,
  bbox: [number, number, number, number],
  score: number,
): CocoResult => ({ image_id, category_id, bbox, score });

describe('matchDetections (protocol §2)', () => {
  it('is greedy by descending IoU, one-to-one, same class only', () => {
    const a = [det(1, 1, [0, 0, 10, 10], 0.9), det(1, 1, [2, 0, 10, 10], 0.9)];
    // b0 overlaps a0 with IoU 1 and a1 with IoU 8/12; b1 overlaps a1 with IoU 9/11 and a0 with IoU 7/13
    const b = [det(1, 1, [0, 0, 10, 10], 0.9), det(1, 1, [3, 0, 10, 10], 0.9), det(1, 2, [2, 0, 10, 10], 0.9)];
    const m = matchDetections(a, b);
    expect(m.map((p) => [p.a, p.b])).toEqual([
      [0, 0],
      [1, 1],
    ]);
    expect(m[1].iou).toBeCloseTo(9 / 11, 15);
  });
  it('takes equal IoUs in the order of (index at s0, index at s), as docs/protocol-choices.md says', () => {
    // b0 lies midway between a0 and a1: IoU 90/110 with each, exactly equal in floating point
    const a = [det(1, 1, [0, 0, 10, 10], 0.6), det(1, 1, [2, 0, 10, 10], 0.9)];
    const b = [det(1, 1, [1, 0, 10, 10], 0.8)];
    expect(iouXYWH(a[0].bbox, b[0].bbox)).toBe(iouXYWH(a[1].bbox, b[0].bbox));
    expect(matchDetections(a, b).map((p) => [p.a, p.b])).toEqual([[0, 0]]);
    expect(matchDetections([a[1], a[0]], b).map((p) => [p.a, p.b])).toEqual([[0, 0]]);
  });
  it('needs IoU ≥ 0.5', () => {
    // IoU exactly 0.5: [0,0,10,10] vs [0,0,10,20]... area 100 vs 200, inter 100 → 0.5
    expect(matchDetections([det(1, 1, [0, 0, 10, 10], 1)], [det(1, 1, [0, 0, 10, 20], 1)])).toHaveLength(1);
    expect(matchDetections([det(1, 1, [0, 0, 10, 10], 1)], [det(1, 1, [0, 0, 10, 20.01], 1)])).toHaveLength(0);
  });
});

describe('bootstrapMean', () => {
  it('gives the mean and a degenerate interval for constant values', () => {
    expect(bootstrapMean(new Array(10).fill(0.25), 200, 1)).toEqual({ mean: 0.25, lo: 0.25, hi: 0.25 });
  });
  it('gives no interval below MIN_INTERVAL_IMAGES values (of one image every resample is that image): the mean only', () => {
    expect(MIN_INTERVAL_IMAGES).toBe(10);
    const nine = bootstrapMean([0, 0.1, 0.5, 0.9, 1, 0.3, 0.2, 0.4, 0.6], 200, 1);
    expect(nine.mean).toBeCloseTo(4 / 9, 15);
    expect(Number.isNaN(nine.lo) && Number.isNaN(nine.hi)).toBe(true);
    const one = bootstrapMean([0.5], 200, 1);
    expect(one.mean).toBe(0.5);
    expect(Number.isNaN(one.lo) && Number.isNaN(one.hi)).toBe(true);
  });
  it('is deterministic per seed, inside the data range, and NaN when empty', () => {
    const v = [0, 0.1, 0.5, 0.9, 1, 0.3, 0.2, 0.4, 0.6, 0.8, 0.7, 0.05];
    const a = bootstrapMean(v, 1000, 7);
    expect(bootstrapMean(v, 1000, 7)).toEqual(a);
    expect(a.mean).toBeCloseTo(5.55 / 12, 15);
    expect(a.lo).toBeLessThan(a.mean);
    expect(a.hi).toBeGreaterThan(a.mean);
    expect(a.lo).toBeGreaterThanOrEqual(0);
    expect(a.hi).toBeLessThanOrEqual(1);
    expect(bootstrapMean(v, 1000, 8)).not.toEqual(a);
    expect(Number.isNaN(bootstrapMean([], 10, 1).mean)).toBe(true);
  });
});

describe('computeConsistency (protocol §5), hand-computed', () => {
  // image 1: s0 has A (cat 1) and B (cat 2), plus C below τ; s1 has A moved by 1 px and B with the wrong class
  const s0 = [det(1, 1, [0, 0, 10, 10], 0.9), det(1, 2, [20, 20, 10, 10], 0.8), det(1, 1, [50, 50, 10, 10], 0.3)];
  const s1 = [det(1, 1, [1, 0, 10, 10], 0.7), det(1, 1, [20, 20, 10, 10], 0.9)];
  const images = [
    { imageId: 1, inputScale: { x: 2, y: 1 }, dets: [s0, s1] },
    { imageId: 2, inputScale: { x: 1, y: 1 }, dets: [[], [det(2, 1, [0, 0, 5, 5], 0.2)]] },
  ];
  const gt: CocoGroundTruth = {
    images: [
      { id: 1, file_name: 'a', width: 100, height: 100 },
      { id: 2, file_name: 'b', width: 100, height: 100 },
    ],
    categories: [
      { id: 1, name: 'one' },
      { id: 2, name: 'two' },
    ],
    annotations: [
      { id: 1, image_id: 1, category_id: 1, bbox: [0, 0, 10, 10], area: 100, iscrowd: 0 },
      { id: 2, image_id: 1, category_id: 2, bbox: [20, 20, 10, 10], area: 100, iscrowd: 0 },
      { id: 3, image_id: 1, category_id: 1, bbox: [60, 60, 30, 30], area: 900, iscrowd: 1 },
      { id: 4, image_id: 1, category_id: 2, bbox: [70, 0, 10, 10], area: 100, iscrowd: 1 },
    ],
  };
  const r = computeConsistency(images, 2, { groundTruth: gt, bootstrapResamples: 100, seed: 3 });

  it('detConsistency: 2·1/(2+2) for image 1, 1 for two empty sets (image 2)', () => {
    expect(r.detConsistency.mean).toBeCloseTo((0.5 + 1) / 2, 15);
    expect(r.perShiftDetConsistency).toEqual([1, 0.75]);
    expect(r.imagesUsed.detConsistency).toBe(2);
  });
  it('jitter: one pair (A, A′); images without pairs are left out', () => {
    expect(r.imagesUsed.boxJitter).toBe(1);
    // one image: the mean, and no interval (fewer than MIN_INTERVAL_IMAGES)
    expect(r.boxJitterIou.mean).toBe(1 - 90 / 110);
    expect(Number.isNaN(r.boxJitterIou.lo) && Number.isNaN(r.boxJitterIou.hi)).toBe(true);
    // centre moved 1 original px in x; 2 input px per original px
    expect(r.boxJitterCenterPx.mean).toBeCloseTo(2, 15);
    expect(r.scoreJitter.mean).toBeCloseTo(0.2, 15);
  });
  it('flipRate: object 2 blinks out at s1; crowd regions are left out; images without objects too', () => {
    expect(r.flipRate?.mean).toBeCloseTo(0.5, 15);
    expect(r.imagesUsed.flipRate).toBe(1);
  });
  it('τ is applied: lowering it lets image 2 take part', () => {
    const low = computeConsistency(images, 2, { scoreThreshold: 0.1, bootstrapResamples: 10 });
    // image 2: D(s0) = {}, D(s1) = {one det} → 0; image 1: C joins s0 → 2·1/(3+2)
    expect(low.detConsistency.mean).toBeCloseTo((0.4 + 0) / 2, 15);
    expect(low.flipRate).toBeNull();
  });
  it('rejects a bad threshold', () => {
    expect(() => computeConsistency(images, 2, { scoreThreshold: 2 })).toThrowError(
      'Expected a number in [0, 1] for --score-threshold but received 2',
    );
  });
  it('rejects a per-shift ground truth that is not one per shift (as computeStability does), not a TypeError', () => {
    for (const list of [[gt], [gt, gt, gt]]) {
      expect(() => computeConsistency(images, 2, { groundTruthPerShift: list })).toThrowError(
        `Expected one ground truth per shift (2) for groundTruthPerShift but received ${list.length}`,
      );
    }
  });
});

describe('1 − IoU of a box against itself after float rounding', () => {
  it('IoU is at most 1, so box jitter is never a negative number shown as "-0.00%"', () => {
    // the same box, its height rounded once differently (as a projection back to image pixels can): IoU 1 + 2e−16
    const a = [210.56409017182887, 54.170697927474976, 298.15684950351715, 84.30354690551758];
    const b = [210.56409017182887, 54.170697927474976, 298.15684950351715, 84.30354690551756];
    expect(iouXYWH(a, b)).toBeLessThanOrEqual(1);
    expect(1 - iouXYWH(a, b)).toBeGreaterThanOrEqual(0);
  });
});

describe('IoU exactly 0.5: projecting back to the image does not decide the match', () => {
  // pad mode, a 1000-px image in a 640-px input with grid:1: scale 639/1000, the offset is the shift
  const r = 639 / 1000;
  const at = (dx: number, dy: number) => ({ scaleX: r, scaleY: r, offsetX: dx, offsetY: dy });
  const GRID1: [number, number][] = [
    [0, 0],
    [1, 0],
    [0, 1],
    [1, 1],
  ];
  it('two detections at IoU 0.5 in input pixels match (protocol §2: IoU ≥ 0.5), at every shift', () => {
    // input px: [38, 92, 42, 8] at (0,0); at (1,1) the box of content 14 px further right: IoU 28·8 / 56·8 = 0.5
    const a = [det(1, 1, boxToOriginal([38, 92, 42, 8], at(0, 0)), 0.9)];
    const b = [det(1, 1, boxToOriginal([53, 93, 42, 8], at(1, 1)), 0.9)];
    expect(Math.abs(iouXYWH(a[0].bbox, b[0].bbox) - 0.5)).toBeLessThan(1e-12);
    expect(matchDetections(a, b)).toHaveLength(1);
    const c = computeConsistency([{ imageId: 1, inputScale: { x: r, y: r }, dets: [a, b] }], 2, {
      bootstrapResamples: 10,
    });
    expect(c.detConsistency.mean).toBe(1);
  });
  it('flipRate: a detector that moves exactly with its input, its box at IoU 0.5 with the object, flips nothing', () => {
    // the object [87, 99, 45, 27] and the detection 15 px to its right (IoU 30·27 / 60·27 = 0.5), in image pixels
    const g = {
      id: 1,
      image_id: 1,
      category_id: 1,
      bbox: [87, 99, 45, 27] as BoxXYWH,
      area: 1215,
      iscrowd: 0 as const,
    };
    const gt: CocoGroundTruth = {
      images: [{ id: 1, file_name: 'a', width: 1000, height: 1000 }],
      categories: [{ id: 1, name: 'one' }],
      annotations: [g],
    };
    const dets = GRID1.map(([dx, dy]) => [
      det(1, 1, boxToOriginal(boxToInput([102, 99, 45, 27], at(dx, dy)), at(dx, dy)), 0.9),
    ]);
    const c = computeConsistency([{ imageId: 1, inputScale: { x: r, y: r }, dets }], 4, {
      groundTruth: gt,
      bootstrapResamples: 10,
    });
    expect(c.detConsistency.mean).toBe(1);
    expect(c.imagesUsed.flipRate).toBe(1);
    expect(c.flipRate!.mean).toBe(0);
  });
});
