/**
 * Issue 10 item 4: no ground truth → no mAP (absent, never −1); categories without ground
 * truth never enter a mean; an assignment with no ground truth (e.g. an all-ignored image
 * set at some shift) never enters the greedy search.
 */
import { describe, expect, it } from 'vitest';
import type { CocoGroundTruth, CocoResult, Shift } from '../../src/core/types.js';
import { ShiftEvaluator, evaluateCoco, greedyBounds } from '../../src/metrics/index.js';
import { mapForAssignment } from '../../src/metrics/greedy/index.js';

const shifts: Shift[] = [
  { dx: 0, dy: 0 },
  { dx: 1, dy: 0 },
];
const images = [1, 2, 3].map((id) => ({ id, file_name: `${id}.png`, width: 100, height: 100 }));
const categories = [
  { id: 1, name: 'a' },
  { id: 2, name: 'b' },
];
const box = (x: number): [number, number, number, number] => [x, 10, 30, 30];
const ann = (id: number, image_id: number, x: number, extra: Partial<{ iscrowd: 0 | 1; ignore: 0 | 1 }> = {}) => ({
  id,
  image_id,
  category_id: 1,
  bbox: box(x),
  area: 900,
  iscrowd: 0 as 0 | 1,
  ...extra,
});
const det = (image_id: number, x: number, score: number, category_id = 1): CocoResult => ({
  image_id,
  category_id,
  bbox: box(x),
  score,
});

describe('no ground truth → no mAP', () => {
  it('greedyBounds gives null (not mapRef −1) when the dataset has no ground truth', () => {
    const gt: CocoGroundTruth = { images, categories, annotations: [] };
    const dets = [[det(1, 10, 0.9)], [det(1, 11, 0.8)]];
    expect(evaluateCoco(gt, dets[0]).stats[0]).toBe(-1); // pycocotools' own convention stays in eval
    expect(greedyBounds({ gt, shifts, dets })).toBeNull();
  });

  it('the evaluator reports no bounds and says why when there is no ground truth', async () => {
    const ev = new ShiftEvaluator({
      shifts,
      groundTruth: { images, categories, annotations: [] },
      bootstrapResamples: 20,
    });
    for (const im of images)
      for (let s = 0; s < 2; s++)
        ev.process({ imageId: im.id, shiftIndex: s, inputScale: { x: 1, y: 1 } }, [det(im.id, 10 + s, 0.9)]);
    const r = await ev.evaluate();
    expect(r.bounds).toBeNull();
    expect(r.notes.join(' ')).toMatch(/no ground truth.*consistency metrics only/i);
    expect(r.consistency.detConsistency.mean).toBeGreaterThan(0);
  });

  it('an assignment without ground truth (every box ignored at one shift) never enters the search', () => {
    // shift 0: two scorable objects; shift 1: every object an ignore region (crowd), as an all-ignored image set
    const gt0: CocoGroundTruth = { images, categories, annotations: [ann(1, 1, 10), ann(2, 2, 10), ann(3, 3, 10)] };
    const gt1: CocoGroundTruth = {
      images,
      categories,
      annotations: gt0.annotations.map((a) => ({ ...a, iscrowd: 1 as const })),
    };
    const dets = [
      [det(1, 10, 0.9), det(2, 60, 0.8), det(3, 10, 0.7)],
      [det(1, 10, 0.9), det(2, 10, 0.8), det(3, 10, 0.7)],
    ];
    const b = greedyBounds({ gt: [gt0, gt1], shifts, dets })!;
    expect(b).not.toBeNull();
    expect(b.perShift[1]).toBeNull();
    expect(b.mapLower).toBeGreaterThanOrEqual(0);
    // every image at shift 1 has no scorable gt; the searched assignments all keep some gt
    for (const a of [b.assignLower, b.assignUpper])
      expect(mapForAssignment({ gt: [gt0, gt1], shifts, dets }, a)).toBeGreaterThanOrEqual(0);
    // exhaustive check over the 8 assignments that have ground truth
    const values: number[] = [];
    for (let m = 0; m < 8; m++)
      values.push(mapForAssignment({ gt: [gt0, gt1], shifts, dets }, [m & 1, (m >> 1) & 1, (m >> 2) & 1]));
    expect(b.mapLower).toBe(Math.min(...values.filter((v) => v >= 0)));
    expect(b.mapUpper).toBe(Math.max(...values));
    expect(b.relRange).not.toBeNull();
  });

  it('relRange is absent (null), not 0, when mapRef is 0', () => {
    const gt: CocoGroundTruth = { images, categories, annotations: [ann(1, 1, 10)] };
    const dets = [[det(1, 60, 0.9)], [det(1, 10, 0.9)]];
    const b = greedyBounds({ gt, shifts, dets })!;
    expect(b.mapRef).toBe(0);
    expect(b.mapUpper).toBeGreaterThan(0);
    expect(b.relRange).toBeNull();
  });

  it('with mapRef 0 the evaluator notes why relRange is absent (every output shows the notes under its "—")', async () => {
    const gt: CocoGroundTruth = { images, categories, annotations: [ann(1, 1, 10)] };
    const ev = new ShiftEvaluator({ shifts, groundTruth: gt, bootstrapResamples: 20, bootstrapBounds: 0 });
    for (let s = 0; s < shifts.length; s++)
      for (const im of images) ev.process({ imageId: im.id, shiftIndex: s, inputScale: { x: 1, y: 1 } }, []);
    const { bounds, notes } = await ev.evaluate();
    expect(bounds!.mapRef).toBe(0);
    expect(bounds!.relRange).toBeNull();
    expect(notes).toContain('no rel. range: mAP at (0,0) is 0, and a range relative to 0 is undefined');
  });

  it('a category without ground truth does not enter the mean, whatever its detections', () => {
    const gt: CocoGroundTruth = { images, categories, annotations: [ann(1, 1, 10), ann(2, 2, 10)] };
    const base = [
      [det(1, 10, 0.9), det(2, 60, 0.8)],
      [det(1, 10, 0.9), det(2, 10, 0.8)],
    ];
    const withB = base.map((l, s) => [...l, det(3, 40 + s, 0.95, 2), det(1, 50, 0.99, 2)]);
    const a = greedyBounds({ gt, shifts, dets: base })!;
    const b = greedyBounds({ gt, shifts, dets: withB })!;
    expect(b.mapRef).toBe(a.mapRef);
    expect(b.mapLower).toBe(a.mapLower);
    expect(b.mapUpper).toBe(a.mapUpper);
    expect(b.perShift).toEqual(a.perShift);
  });
});
