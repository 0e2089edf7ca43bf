/** Issue 11.5 / protocol §9: objectives AP50 / AP75, per-category and per-size AP at the searched assignments, per-image flicker. */
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import type { CocoGroundTruth, CocoResult, Shift } from '../../src/core/types.js';
import { ShiftMapEngine, greedyBounds, prepareBounds } from '../../src/metrics/greedy/index.js';
import {
  ShiftEvaluator,
  type BoundsCase,
  type ShiftEvaluatorOptions,
  boundsUncertainty,
  evaluateCoco,
  flickerSummary,
  imageFlicker,
} from '../../src/metrics/index.js';
import { sharedBaseCase } from './sharedBaseCase.js';

function detsAt(dets: CocoResult[][], ids: number[], a: ArrayLike<number>): CocoResult[] {
  const shiftOf = new Map(ids.map((id, i) => [id, a[i]]));
  return dets.flatMap((l, s) => l.filter((d) => shiftOf.get(d.image_id) === s));
}

/** A ShiftEvaluator given every shift of every image of `c` (unit input scale), evaluated. */
async function evaluateCase(c: BoundsCase, opts: Omit<ShiftEvaluatorOptions, 'shifts' | 'groundTruth'>) {
  const gt = c.gt as CocoGroundTruth;
  const ev = new ShiftEvaluator({ shifts: c.shifts, groundTruth: gt, ...opts });
  c.shifts.forEach((_, s) =>
    gt.images.forEach((im) =>
      ev.process(
        { imageId: im.id, shiftIndex: s, inputScale: { x: 1, y: 1 } },
        c.dets[s].filter((d) => d.image_id === im.id),
      ),
    ),
  );
  return ev.evaluate();
}

describe('bounds with AP50 / AP75 as the objective', () => {
  for (const [objective, stat] of [
    ['ap50', 1],
    ['ap75', 2],
  ] as const) {
    it(`${objective}: engine values and candidates equal evaluateCoco stats[${stat}] from scratch`, () => {
      const c = sharedBaseCase(21, 14, 3, 3);
      const gt = c.gt as CocoGroundTruth;
      const ids = gt.images.map((im) => im.id).sort((a, b) => a - b);
      const engine = new ShiftMapEngine(prepareBounds(c), { objective });
      const rng = new Rng(5);
      const a = new Int32Array(ids.length);
      for (let step = 0; step < 25; step++) {
        expect(Math.abs(engine.map - evaluateCoco(gt, detsAt(c.dets, ids, a)).stats[stat])).toBeLessThanOrEqual(1e-12);
        const i = rng.int(0, ids.length - 1);
        const s = rng.int(0, 2);
        const b = Int32Array.from(a);
        b[i] = s;
        expect(
          Math.abs(engine.candidate(i, s) - evaluateCoco(gt, detsAt(c.dets, ids, b)).stats[stat]),
        ).toBeLessThanOrEqual(1e-12);
        engine.move(i, s);
        a[i] = s;
      }
      const r = greedyBounds({ ...c }, { objective })!;
      expect(
        Math.abs(r.mapLower - evaluateCoco(gt, detsAt(c.dets, ids, r.assignLower)).stats[stat]),
      ).toBeLessThanOrEqual(1e-12);
      expect(
        Math.abs(r.mapUpper - evaluateCoco(gt, detsAt(c.dets, ids, r.assignUpper)).stats[stat]),
      ).toBeLessThanOrEqual(1e-12);
      expect(r.mapRef).toBeCloseTo(evaluateCoco(gt, c.dets[0]).stats[stat], 12);
    });
  }
});

describe('the evaluator’s breakdowns', () => {
  it('per-category and per-size AP at the lower / upper assignments equal evaluateCoco on those detections; --objective ap50 ap75', async () => {
    const c = sharedBaseCase(22, 25, 4, 4);
    const gt = c.gt as CocoGroundTruth;
    const ids = gt.images.map((im) => im.id).sort((a, b) => a - b);
    const r = await evaluateCase(c, { bootstrapResamples: 10, bootstrapBounds: 0, objectives: ['ap', 'ap50', 'ap75'] });
    const bd = r.analysis.breakdown!;
    for (const [name, a] of [
      ['lower', r.bounds!.assignLower],
      ['upper', r.bounds!.assignUpper],
      ['ref', ids.map(() => 0)],
    ] as const) {
      const ref = evaluateCoco(gt, detsAt(c.dets, ids, a));
      const got = bd[name];
      for (const [id, ap] of Object.entries(ref.perCategoryAP))
        expect(got.perCategoryAP[id], `${name} category ${id}`).toBe(ap < 0 ? null : ap);
      expect([got.ap, got.ap50, got.ap75, got.apSmall, got.apMedium, got.apLarge]).toEqual(
        ref.stats.slice(0, 6).map((v) => (v < 0 ? null : v)),
      );
    }
    expect(bd.lower.ap).toBeCloseTo(r.bounds!.mapLower, 12);
    expect(bd.upper.ap).toBeCloseTo(r.bounds!.mapUpper, 12);
    const by = r.analysis.boundsByObjective;
    expect(by.ap50).toEqual(expect.objectContaining({ mapRef: expect.any(Number), mapRange: expect.any(Number) }));
    expect(by.ap50!.mapRef).toBeCloseTo(evaluateCoco(gt, c.dets[0]).stats[1], 12);
    expect(by.ap75!.mapRef).toBeCloseTo(evaluateCoco(gt, c.dets[0]).stats[2], 12);
    expect(by.ap50!.mapUpper).toBeGreaterThanOrEqual(by.ap50!.mapLower);
    expect(r.analysis.boundsInterval).toBeNull();
    // §9 at the two assignments each search finds: the AP50 / AP75 searches have their own breakdowns, equal to
    // evaluateCoco at those searches' assignments (found again with greedyBounds: the search is deterministic)
    for (const [objective, stat] of [
      ['ap50', 1],
      ['ap75', 2],
    ] as const) {
      const own = greedyBounds({ ...c }, { objective })!;
      const b = by[objective]!.breakdown!;
      for (const [name, a] of [
        ['lower', own.assignLower],
        ['upper', own.assignUpper],
      ] as const) {
        const ref = evaluateCoco(gt, detsAt(c.dets, ids, a));
        expect(b[name]!.perCategoryAP).toEqual(
          Object.fromEntries(Object.entries(ref.perCategoryAP).map(([id, ap]) => [id, ap < 0 ? null : ap])),
        );
        expect([b[name]!.ap, b[name]!.ap50, b[name]!.ap75, b[name]!.apSmall]).toEqual(
          ref.stats.slice(0, 4).map((v) => (v < 0 ? null : v)),
        );
      }
      // the objective at its own search's assignments is that search's result
      expect([b.lower.ap50, b.lower.ap75][stat - 1]).toBeCloseTo(by[objective]!.mapLower, 12);
      expect([b.upper.ap50, b.upper.ap75][stat - 1]).toBeCloseTo(by[objective]!.mapUpper, 12);
    }
  });
});

describe('bounds of another objective have their bootstrap interval', () => {
  it('--objective ap50 with --bootstrap-bounds: the AP50 search’s interval from the headline’s resamples (same B and seed)', async () => {
    const c = sharedBaseCase(23, 24, 3, 3);
    const r = await evaluateCase(c, {
      bootstrapResamples: 10,
      bootstrapBounds: 24,
      bootstrapSeed: 5,
      sizeCurve: false,
      workers: 0,
      objectives: ['ap', 'ap50'],
    });
    const ap50 = r.analysis.boundsByObjective.ap50!;
    const own = await boundsUncertainty(prepareBounds(c), ap50.mapRange, {
      resamples: 24,
      seed: 5,
      objective: 'ap50',
      sizeCurve: false,
      workers: 0,
    });
    expect(own.interval).not.toBeNull();
    expect(ap50.interval).toEqual(own.interval);
    // the AP50 search's own resamples, not the headline's (AP) interval
    expect(ap50.interval!.mapRef).not.toEqual(r.analysis.boundsInterval!.mapRef);
  });

  it('without bootstrap of the bounds: no interval (null), never a made-up one', async () => {
    const c = sharedBaseCase(23, 24, 3, 3);
    const r = await evaluateCase(c, { bootstrapResamples: 10, bootstrapBounds: 0, objectives: ['ap75'] });
    expect(r.analysis.boundsByObjective.ap75!.interval).toBeNull();
  });
});

describe('per-image flicker', () => {
  const shifts: Shift[] = [
    { dx: 0, dy: 0 },
    { dx: 1, dy: 0 },
    { dx: 0, dy: 1 },
  ];
  const d = (image_id: number, x: number, score = 0.9, category_id = 1): CocoResult => ({
    image_id,
    category_id,
    bbox: [x, 10, 20, 20],
    score,
  });
  it('by hand: steady detections count at every shift, the rest flicker', () => {
    // s0: A (steady at both other shifts), B (missing at shift 2); shift 1 adds C (unmatched); below τ ignored
    const im = {
      imageId: 7,
      inputScale: { x: 1, y: 1 },
      dets: [
        [d(7, 10), d(7, 60)],
        [d(7, 11), d(7, 61), d(7, 120)],
        [d(7, 10), d(7, 200, 0.2)],
      ],
    };
    // detections ≥ τ: 2 + 3 + 1 = 6; steady: A and its two partners = 3 → flicker 3/6
    expect(imageFlicker(im, 0.5)).toEqual({ imageId: 7, flicker: 0.5, detections: 6 });
    expect(imageFlicker({ ...im, dets: [[], [], []] }, 0.5)).toBeNull();
    expect(shifts.length).toBe(3);
  });

  it('the ten images with the most flicker, by id', () => {
    const images = Array.from({ length: 14 }, (_, k) => {
      const id = 100 + k;
      // image k keeps k of 13 extra detections steady at shift 1
      const ref = Array.from({ length: 13 }, (_, j) => d(id, 30 * j));
      const other = ref.map((x, j) => (j < k ? x : d(id, 30 * j + 15)));
      return { imageId: id, inputScale: { x: 1, y: 1 }, dets: [ref, other] };
    });
    const f = flickerSummary(images, 0.5);
    expect(f.images).toBe(14);
    expect(f.top).toHaveLength(10);
    expect(f.top.map((x) => x.imageId)).toEqual([100, 101, 102, 103, 104, 105, 106, 107, 108, 109]);
    expect(f.top[0].flicker).toBe(1);
    expect(f.top[3].flicker).toBeCloseTo(20 / 26, 15);
    expect(f.meanFlicker).toBeCloseTo(images.reduce((a, _, k) => a + (26 - 2 * k) / 26, 0) / 14, 12);
  });
});
