import { describe, expect, it } from 'vitest';
import type { BoxXYWH, CocoAnnotation, CocoGroundTruth, CocoResult } from '../../src/core/types.js';
import { Rng } from '../../src/core/rng.js';
import {
  ShiftEvaluator,
  computeStability,
  imageStability,
  matchObjects,
  objectBootstrapMean,
  populationStd,
} from '../../src/metrics/index.js';
import { boxToInput, boxToOriginal } from '../../src/shifts/project.js';

const det = (bbox: BoxXYWH, score = 0.9, category_id = 1, image_id = 1): CocoResult => ({
  image_id,
  category_id,
  bbox,
  score,
});
const obj = (id: number, bbox: BoxXYWH, extra: Partial<CocoAnnotation> = {}): CocoAnnotation => ({
  id,
  image_id: 1,
  category_id: 1,
  bbox,
  area: bbox[2] * bbox[3],
  iscrowd: 0,
  ...extra,
});
const gtOf = (annotations: CocoAnnotation[], imageIds = [1]): CocoGroundTruth => ({
  images: imageIds.map((id) => ({ id, file_name: `${id}.png`, width: 100, height: 100 })),
  categories: [
    { id: 1, name: 'one' },
    { id: 2, name: 'two' },
  ],
  annotations,
});
/** One image's objects, the same at every shift (shiftbench's modes). */
const same = (objects: CocoAnnotation[], shifts: number) => new Array(shifts).fill(objects);

describe('populationStd', () => {
  it('divides by n', () => {
    // {0, 1, 2}: mean 1, squared deviations 1 + 0 + 1 = 2, σ = sqrt(2/3)
    expect(populationStd([0, 1, 2])).toBeCloseTo(Math.sqrt(2 / 3), 15);
    expect(populationStd([5])).toBe(0);
  });
});

describe('centerError (CPE), hand-computed', () => {
  it('a 10-px box drifting 0, 1, 2 px in x: σ = sqrt(2/3)/10, nothing in y, no scale error', () => {
    const g = obj(1, [0, 0, 10, 10]);
    // IoUs with the object: 1, 9/11, 8/12 — all ≥ 0.5
    const dets = [[det([0, 0, 10, 10])], [det([1, 0, 10, 10])], [det([2, 0, 10, 10])]];
    const [o] = imageStability(1, dets, same([g], 3));
    expect(o.matchedShifts).toBe(3);
    expect(o.centerError).toBeCloseTo(Math.sqrt(2 / 3) / 10, 14);
    expect(o.scaleRatioError).toBeCloseTo(0, 14);
    expect(o.fragmentError).toBe(0);
  });
  it('normalises x by the object width and y by its height, and adds the two σ', () => {
    // 20 × 10 object; detections at (0, 0) and (2, 1): x offsets 0, 2/20 → σ 0.05; y offsets 0, 1/10 → σ 0.05
    // IoU of [2,1,20,10] with [0,0,20,10]: 18·9 = 162 / (400 − 162) = 0.68
    const g = obj(1, [0, 0, 20, 10]);
    const [o] = imageStability(1, [[det([0, 0, 20, 10])], [det([2, 1, 20, 10])]], same([g], 2));
    expect(o.centerError).toBeCloseTo(0.1, 14);
  });
  it('is measured against the object, not between detections: a constant offset has no error', () => {
    const g = obj(1, [0, 0, 10, 10]);
    const [o] = imageStability(1, [[det([2, 0, 10, 10])], [det([2, 0, 10, 10])]], same([g], 2));
    expect(o.centerError).toBe(0);
  });
});

describe('scaleRatioError (SRE), hand-computed', () => {
  it('scale 1, 1.2, 0.8 about a fixed centre: σ = 0.2·sqrt(2/3), ratio constant, no centre error', () => {
    const g = obj(1, [0, 0, 10, 10]);
    // sizes 10, 12, 8 with centre (5, 5): IoUs 1, 100/144, 64/100
    const dets = [[det([0, 0, 10, 10])], [det([-1, -1, 12, 12])], [det([1, 1, 8, 8])]];
    const [o] = imageStability(1, dets, same([g], 3));
    // squared deviations of {1, 1.2, 0.8} from 1: 0 + 0.04 + 0.04 → σ = sqrt(0.08/3)
    expect(o.scaleRatioError).toBeCloseTo(0.2 * Math.sqrt(2 / 3), 14);
    expect(o.centerError).toBeCloseTo(0, 14);
  });
  it('aspect ratio 1 → 1.2 (12 × 10 about the same centre): σ(√area) + σ(ratio) = (√1.2 − 1)/2 + 0.1', () => {
    const g = obj(1, [0, 0, 10, 10]);
    const [o] = imageStability(1, [[det([0, 0, 10, 10])], [det([-1, 0, 12, 10])]], same([g], 2));
    expect(o.scaleRatioError).toBeCloseTo((Math.sqrt(1.2) - 1) / 2 + 0.1, 14);
  });
  it('relative to the object: a detection twice as wide at every shift has no error', () => {
    const g = obj(1, [0, 0, 10, 20]);
    // 10 × 20 object, 15 × 20 detections (IoU 10·20/300 = 0.667) at both shifts
    const [o] = imageStability(1, [[det([0, 0, 15, 20])], [det([0, 0, 15, 20])]], same([g], 2));
    expect(o.scaleRatioError).toBe(0);
  });
});

describe('fragmentError, hand-computed', () => {
  const a = obj(1, [0, 0, 10, 10]);
  const b = obj(2, [50, 50, 10, 10]);
  const c = obj(3, [0, 50, 10, 10]);
  const d = obj(4, [50, 0, 10, 10]);
  const hitA = det([0, 0, 10, 10]);
  const hitB = det([50, 50, 10, 10]);
  const hitC = det([0, 50, 10, 10]);
  const lowC = det([0, 50, 10, 10], 0.4); // below τ = 0.5: a miss
  // shift:      0            1             2            3           4
  // A:        found        missed        found        found       missed   → 3 changes / 4
  // B:        found        found         found        found       found    → 0
  // C:        missed       found         missed(low)  missed      missed   → 2 changes / 4, matched once
  // D:        never found                                                   → not counted
  const dets = [[hitA, hitB], [hitB, hitC], [hitA, hitB, lowC], [hitA, hitB], [hitB]];
  const objs = imageStability(1, dets, same([a, b, c, d], 5));
  it('counts changes of the found state along the shift order ÷ (|S| − 1)', () => {
    expect(objs.map((o) => o.fragmentError)).toEqual([0.75, 0, 0.5, null]);
    expect(objs.map((o) => o.matchedShifts)).toEqual([3, 5, 1, 0]);
  });
  it('CPE/SRE only for objects matched at two shifts or more', () => {
    expect(objs.map((o) => o.centerError)).toEqual([0, 0, null, null]);
    expect(objs[2].scaleRatioError).toBeNull();
  });
  it('in the summary: mean over objects matched at least once, worst object with its ids', () => {
    const r = computeStability([{ imageId: 1, inputScale: { x: 1, y: 1 }, dets }], 5, {
      groundTruth: gtOf([a, b, c, d]),
      bootstrapResamples: 50,
    })!;
    expect(r.objects).toBe(4);
    expect(r.fragmentError!.mean).toBeCloseTo((0.75 + 0 + 0.5) / 3, 15);
    expect(r.fragmentError!.objects).toBe(3);
    expect(r.fragmentError!.worst).toEqual({ value: 0.75, imageId: 1, annotationId: 1 });
    expect(r.centerError!.objects).toBe(2);
    // one image: every resample would be that image, so no interval (fewer than MIN_INTERVAL_IMAGES)
    expect(Number.isNaN(r.fragmentError!.lo) && Number.isNaN(r.fragmentError!.hi)).toBe(true);
  });
});

describe('matching (one to one, greedy by descending IoU, same class, IoU ≥ 0.5)', () => {
  it('takes the larger IoU first, not the larger score', () => {
    const g = [obj(1, [0, 0, 10, 10])];
    // IoU 9/11 (score 0.6) against 8/12 (score 0.95)
    expect(Array.from(matchObjects([det([2, 0, 10, 10], 0.95), det([1, 0, 10, 10], 0.6)], g))).toEqual([1]);
  });
  it('breaks equal IoUs by the higher score, then the lower detection index', () => {
    const g = [obj(1, [10, 0, 10, 10])];
    // both at IoU 9/11 with the object
    expect(Array.from(matchObjects([det([9, 0, 10, 10], 0.6), det([11, 0, 10, 10], 0.8)], g))).toEqual([1]);
    expect(Array.from(matchObjects([det([9, 0, 10, 10], 0.7), det([11, 0, 10, 10], 0.7)], g))).toEqual([0]);
  });
  it('one detection equally close to two objects goes to the first object; the other is missed', () => {
    const g = [obj(7, [0, 0, 10, 10]), obj(3, [2, 0, 10, 10])];
    expect(Array.from(matchObjects([det([1, 0, 10, 10])], g))).toEqual([0, -1]);
    const objs = imageStability(1, [[det([1, 0, 10, 10])], [det([1, 0, 10, 10])]], same(g, 2));
    expect(objs.map((o) => o.matchedShifts)).toEqual([2, 0]);
  });
  it('is one to one: two objects take two detections', () => {
    const g = [obj(1, [0, 0, 10, 10]), obj(2, [2, 0, 10, 10])];
    // det 0 = object 1 exactly (IoU 1), det 1 = object 2 exactly; det 0 also has IoU 8/12 with object 2
    expect(Array.from(matchObjects([det([0, 0, 10, 10]), det([2, 0, 10, 10])], g))).toEqual([0, 1]);
  });
  it('needs the same class and IoU ≥ 0.5 (exactly 0.5 matches)', () => {
    const g = [obj(1, [0, 0, 10, 10])];
    expect(Array.from(matchObjects([det([0, 0, 10, 10], 0.9, 2)], g))).toEqual([-1]);
    expect(Array.from(matchObjects([det([0, 0, 10, 20])], g))).toEqual([0]);
    expect(Array.from(matchObjects([det([0, 0, 10, 20.01])], g))).toEqual([-1]);
  });
});

describe('IoU exactly 0.5 after projecting back (float noise)', () => {
  it('a detector moving exactly with its input, its box at IoU 0.5 with the object, is matched at every shift', () => {
    // pad mode, a 1000-px image in a 640-px input, grid:1: scale 639/1000, the offset is the shift
    const at = (dx: number, dy: number) => ({ scaleX: 0.639, scaleY: 0.639, offsetX: dx, offsetY: dy });
    // the object and the detection 15 px to its right: IoU 30·27 / 60·27 = 0.5 in image (and input) pixels
    const g = [obj(1, [87, 99, 45, 27])];
    const shifts: [number, number][] = [
      [0, 0],
      [1, 0],
      [0, 1],
      [1, 1],
    ];
    const dets = shifts.map(([dx, dy]) => [det(boxToOriginal(boxToInput([102, 99, 45, 27], at(dx, dy)), at(dx, dy)))]);
    const [o] = imageStability(1, dets, same(g, 4));
    expect(o.matchedShifts).toBe(4);
    expect(o.fragmentError).toBe(0);
  });
});

describe('crowd regions are excluded', () => {
  const real = obj(1, [0, 0, 10, 10]);
  const crowd = obj(2, [0, 0, 12, 10], { iscrowd: 1 });
  // the detection overlaps the crowd region better (IoU 1) than the object (10/12 at shift 0)
  const dets = [[det([0, 0, 12, 10])], [det([0, 0, 10, 10])]];
  it('a crowd region is no object and takes no detection', () => {
    const objs = imageStability(1, dets, same([real, crowd], 2));
    expect(objs.map((o) => o.annotationId)).toEqual([1]);
    expect(objs[0].matchedShifts).toBe(2);
    // x offsets 0.1, 0 → σ 0.05; y 0; scale √1.2, 1 and ratio 1.2, 1
    expect(objs[0].centerError).toBeCloseTo(0.05, 14);
    expect(objs[0].scaleRatioError).toBeCloseTo((Math.sqrt(1.2) - 1) / 2 + 0.1, 14);
  });
  it('an object that is a crowd region at one shift (per-shift ground truth) is left out', () => {
    const r = computeStability([{ imageId: 1, inputScale: { x: 1, y: 1 }, dets }], 2, {
      groundTruthPerShift: [gtOf([real]), gtOf([{ ...real, iscrowd: 1 }])],
    })!;
    expect(r.objects).toBe(0);
    expect(r.centerError).toBeNull();
    expect(r.fragmentError).toBeNull();
  });
});

describe('matching at a shift takes every non-crowd object of that shift (per-shift ground truth)', () => {
  // Y is an object at both shifts; X is an object at shift 0 and a crowd region at shift 1, so X's own errors are not
  // reported (not an object at every shift) but at shift 0 X is a ground-truth object and takes part in the matching
  const y = obj(1, [0, 0, 10, 10]);
  const x = obj(2, [2, 0, 10, 10]);
  // shift 0: one detection exactly on X (IoU 1), IoU 8/12 with Y → it goes to X, Y is missed
  // shift 1: one detection exactly on Y (X is a crowd region there)
  const dets = [[det([2, 0, 10, 10])], [det([0, 0, 10, 10])]];
  it('imageStability: the detection of shift 0 is X’s, so Y is matched at one shift only', () => {
    const objs = imageStability(1, dets, [
      [y, x],
      [y, { ...x, iscrowd: 1 }],
    ]);
    expect(objs.map((o) => o.annotationId)).toEqual([1]);
    // found at shift 1 only: one change over one step; CPE/SRE need two matched shifts
    expect(objs[0]).toMatchObject({ matchedShifts: 1, fragmentError: 1, centerError: null, scaleRatioError: null });
  });
  it('computeStability: the same through groundTruthPerShift', () => {
    const r = computeStability([{ imageId: 1, inputScale: { x: 1, y: 1 }, dets }], 2, {
      groundTruthPerShift: [gtOf([y, x]), gtOf([y, { ...x, iscrowd: 1 }])],
    })!;
    expect(r.objects).toBe(1);
    expect(r.centerError).toBeNull();
    expect(r.fragmentError!.mean).toBe(1);
  });
  it('an object missing from one shift’s ground truth still takes its detection at the shifts where it is', () => {
    const objs = imageStability(1, dets, [[y, x], [y]]);
    expect(objs.map((o) => [o.annotationId, o.matchedShifts, o.fragmentError])).toEqual([[1, 1, 1]]);
  });
});

describe('computeStability', () => {
  const g = obj(1, [0, 0, 10, 10]);
  const drift = [[det([0, 0, 10, 10])], [det([1, 0, 10, 10])], [det([2, 0, 10, 10])]];
  it('is null without ground truth (label-free data), never a placeholder', () => {
    expect(computeStability([{ imageId: 1, inputScale: { x: 1, y: 1 }, dets: drift }], 3, {})).toBeNull();
    expect(
      computeStability([{ imageId: 1, inputScale: { x: 1, y: 1 }, dets: drift }], 3, { groundTruth: null }),
    ).toBeNull();
  });
  it('leaves out images not given at every shift', () => {
    const r = computeStability(
      [
        { imageId: 1, inputScale: { x: 1, y: 1 }, dets: drift },
        {
          imageId: 2,
          inputScale: { x: 1, y: 1 },
          dets: [[det([0, 0, 10, 10], 0.9, 1, 2)], undefined, [det([5, 0, 10, 10], 0.9, 1, 2)]],
        },
      ],
      3,
      { groundTruth: gtOf([g, { ...g, id: 2, image_id: 2 }], [1, 2]) },
    )!;
    expect(r.objects).toBe(1);
    expect(r.centerError!.mean).toBeCloseTo(Math.sqrt(2 / 3) / 10, 14);
    expect(r.centerError!.images).toBe(1);
  });
  it('with one shift: no error can be measured, all null', () => {
    const r = computeStability([{ imageId: 1, inputScale: { x: 1, y: 1 }, dets: [drift[0]] }], 1, {
      groundTruth: gtOf([g]),
    })!;
    expect([r.centerError, r.scaleRatioError, r.fragmentError]).toEqual([null, null, null]);
    expect(r.objects).toBe(1);
  });
  it('the worst object: largest value, ties to the smaller image id, then the smaller annotation id', () => {
    const objA = { ...g, id: 9, image_id: 2 };
    const objB = { ...g, id: 5, image_id: 2 };
    const objC = { ...g, id: 1, image_id: 3 };
    const d = (im: number) => drift.map((l) => l.map((x) => ({ ...x, image_id: im })));
    // every object drifts alike; in image 2 two objects at the same place: ties everywhere
    const r = computeStability(
      [
        { imageId: 3, inputScale: { x: 1, y: 1 }, dets: d(3) },
        { imageId: 2, inputScale: { x: 1, y: 1 }, dets: d(2).map((l) => [...l, ...l]) },
      ],
      3,
      { groundTruth: gtOf([objC, objA, objB], [2, 3]) },
    )!;
    expect(r.centerError!.worst.imageId).toBe(2);
    expect(r.centerError!.worst.annotationId).toBe(5);
    expect(r.centerError!.worst.value).toBeCloseTo(Math.sqrt(2 / 3) / 10, 14);
  });
  it('rejects a bad τ or resample count with ERR_METRICS_INPUT', () => {
    expect(() => computeStability([], 2, { groundTruth: gtOf([g]), scoreThreshold: 2 })).toThrow(/--score-threshold/);
    expect(() => computeStability([], 2, { groundTruth: gtOf([g]), bootstrapResamples: 0 })).toThrow(/--bootstrap\b/);
  });
});

/** numpy's default quantile (linear), written out again. */
function npQuantile(sorted: number[], q: number): number {
  const h = (sorted.length - 1) * q;
  const i = Math.floor(h);
  const j = Math.min(i + 1, sorted.length - 1);
  return sorted[i] + (h - i) * (sorted[j] - sorted[i]);
}

describe('bootstrap interval over images (an image drawn carries its objects)', () => {
  it('equals a slow reference that concatenates the drawn images’ objects', () => {
    const rng = new Rng(11);
    const images: { imageId: number; inputScale: { x: number; y: number }; dets: CocoResult[][] }[] = [];
    const annotations: CocoAnnotation[] = [];
    const S = 4;
    let annId = 1;
    for (let im = 1; im <= 23; im++) {
      const nObj = rng.int(0, 4);
      const dets: CocoResult[][] = Array.from({ length: S }, () => []);
      for (let k = 0; k < nObj; k++) {
        const box: BoxXYWH = [30 * k, 10 * im, 10 + rng.int(0, 10), 10 + rng.int(0, 10)];
        annotations.push({ id: annId++, image_id: im, category_id: 1, bbox: box, area: box[2] * box[3], iscrowd: 0 });
        for (let s = 0; s < S; s++) {
          if (rng.next() < 0.25) continue; // missed at this shift
          dets[s].push({
            image_id: im,
            category_id: 1,
            bbox: [box[0] + rng.uniform(-1, 1), box[1] + rng.uniform(-1, 1), box[2] * rng.uniform(0.9, 1.1), box[3]],
            score: 0.9,
          });
        }
      }
      images.push({ imageId: im, inputScale: { x: 1, y: 1 }, dets });
    }
    const gt = gtOf(
      annotations,
      images.map((i) => i.imageId),
    );
    const B = 300;
    const seed = 5;
    const r = computeStability(images, S, { groundTruth: gt, bootstrapResamples: B, seed })!;
    for (const key of ['centerError', 'scaleRatioError', 'fragmentError'] as const) {
      // per image, the values of its objects (images without any left out of the draw)
      const perImage = images
        .map((im) =>
          imageStability(
            im.imageId,
            im.dets,
            same(
              annotations.filter((a) => a.image_id === im.imageId),
              S,
            ),
          )
            .map((o) => o[key])
            .filter((v): v is number => v !== null),
        )
        .filter((vs) => vs.length > 0);
      const all = perImage.flat();
      const draw = new Rng(seed);
      const means: number[] = [];
      for (let b = 0; b < B; b++) {
        const objs: number[] = [];
        for (let i = 0; i < perImage.length; i++) objs.push(...perImage[Math.floor(draw.next() * perImage.length)]);
        means.push(objs.reduce((t, v) => t + v, 0) / objs.length);
      }
      means.sort((x, y) => x - y);
      const got = r[key]!;
      expect(got.objects).toBe(all.length);
      expect(got.images).toBe(perImage.length);
      expect(got.mean).toBeCloseTo(all.reduce((t, v) => t + v, 0) / all.length, 12);
      expect(got.lo).toBeCloseTo(npQuantile(means, 0.025), 12);
      expect(got.hi).toBeCloseTo(npQuantile(means, 0.975), 12);
      expect(got.lo).toBeLessThan(got.hi);
      expect(got.worst.value).toBe(Math.max(...all));
    }
  });
  it('objectBootstrapMean: null for no image; a ratio of sums, not a mean of image means', () => {
    expect(objectBootstrapMean([], 10, 0)).toBeNull();
    // image 1: one object of value 1; image 2: three objects of value 0 → mean over objects 1/4 (not 1/2)
    expect(
      objectBootstrapMean(
        [
          { sum: 1, count: 1 },
          { sum: 0, count: 3 },
        ],
        10,
        0,
      )!.mean,
    ).toBe(0.25);
  });
  it('objectBootstrapMean: no interval over fewer than 10 images (the mean only), an interval from 10 on', () => {
    const images = (n: number) => Array.from({ length: n }, (_, k) => ({ sum: k % 3, count: 1 + (k % 2) }));
    const nine = objectBootstrapMean(images(9), 100, 0)!;
    expect(nine.mean).toBeCloseTo(9 / 13, 15);
    expect(Number.isNaN(nine.lo) && Number.isNaN(nine.hi)).toBe(true);
    const ten = objectBootstrapMean(images(10), 100, 0)!;
    expect(ten.lo).toBeLessThanOrEqual(ten.mean);
    expect(ten.hi).toBeGreaterThanOrEqual(ten.mean);
    expect(ten.lo).toBeLessThan(ten.hi);
  });
});

describe('ShiftEvaluator carries the stability errors (same inputs, τ, resamples and seed as the consistency metrics)', () => {
  const shifts = [
    { dx: 0, dy: 0 },
    { dx: 1, dy: 0 },
    { dx: 2, dy: 0 },
  ];
  const g = obj(1, [0, 0, 10, 10]);
  const drift = [[det([0, 0, 10, 10])], [det([1, 0, 10, 10])], [det([2, 0, 10, 10])]];
  async function evaluate(groundTruth: CocoGroundTruth | null) {
    const ev = new ShiftEvaluator({
      shifts,
      groundTruth,
      bootstrapResamples: 40,
      seed: 9,
      bootstrapBounds: 0,
      scoreThreshold: 0.3,
    });
    drift.forEach((d, s) => ev.process({ imageId: 1, shiftIndex: s, inputScale: { x: 1, y: 1 } }, d));
    return ev.evaluate();
  }
  it('labelled: CPE of the 0, 1, 2 px drift, with the consistency bootstrap settings', async () => {
    const r = await evaluate(gtOf([g]));
    expect(r.stability!.centerError!.mean).toBeCloseTo(Math.sqrt(2 / 3) / 10, 14);
    expect(r.stability!.centerError!.worst).toMatchObject({ imageId: 1, annotationId: 1 });
    expect(r.stability!.fragmentError!.mean).toBe(0);
    expect(r.stability!.bootstrap).toEqual(r.consistency.bootstrap);
    expect(r.stability!.bootstrap).toEqual({ resamples: 40, seed: 9 });
    expect(r.stability!.scoreThreshold).toBe(0.3);
  });
  it('label-free: null', async () => {
    expect((await evaluate(null)).stability).toBeNull();
  });
});
