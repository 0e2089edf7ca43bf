import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import type { CocoGroundTruth, CocoResult, Shift } from '../../src/core/types.js';
import { ShiftEvaluator, computeConsistency, greedyBounds } from '../../src/metrics/index.js';
import { describeShared, sharedPath } from '../helpers/shared.js';

// a pycocotools golden case from ../shared/golden (not copied into the repository); the suite skips without it
const GOLDEN_FILE = sharedPath('golden/greedy/greedy_5.json');
const golden = GOLDEN_FILE
  ? JSON.parse(readFileSync(GOLDEN_FILE, 'utf8'))
  : { shifts: [], gt: null, dets: [], expected: {} };
const shifts: Shift[] = golden.shifts.map(([dx, dy]: [number, number]) => ({ dx, dy }));
const gt: CocoGroundTruth = golden.gt;
const dets: CocoResult[][] = golden.dets;

function feed(ev: ShiftEvaluator, skip?: { imageId: number; shiftIndex: number }): void {
  // images in a scrambled order, shifts interleaved, as a runner with batches might
  const ids = gt.images.map((im) => im.id).reverse();
  for (let s = shifts.length - 1; s >= 0; s--) {
    for (const id of ids) {
      if (skip && skip.imageId === id && skip.shiftIndex === s) continue;
      ev.process(
        { imageId: id, shiftIndex: s, inputScale: { x: 0.5, y: 0.5 } },
        dets[s].filter((d) => d.image_id === id),
      );
    }
  }
}

describeShared('ShiftEvaluator', ['golden/greedy/greedy_5.json'], () => {
  it('gives the golden bounds and the same consistency as computeConsistency', async () => {
    const ev = new ShiftEvaluator({ shifts, groundTruth: gt, bootstrapResamples: 200, seed: 1 });
    feed(ev);
    const { bounds, consistency } = await ev.evaluate();
    expect(bounds).not.toBeNull();
    expect(bounds!.mapLower).toBeCloseTo(golden.expected.mapLower, 12);
    expect(bounds!.mapUpper).toBeCloseTo(golden.expected.mapUpper, 12);
    expect(bounds).toEqual(greedyBounds({ gt, shifts, dets }));
    const images = gt.images.map((im) => ({
      imageId: im.id,
      inputScale: { x: 0.5, y: 0.5 },
      dets: dets.map((l) => l.filter((d) => d.image_id === im.id)),
    }));
    expect(consistency).toEqual(
      computeConsistency(images, shifts.length, { groundTruth: gt, bootstrapResamples: 200, seed: 1 }),
    );
    expect(consistency.bootstrap).toEqual({ resamples: 200, seed: 1 });
  });

  it('reset forgets everything; label-free datasets give no bounds and no flipRate', async () => {
    const ev = new ShiftEvaluator({ shifts, groundTruth: null, bootstrapResamples: 50 });
    feed(ev);
    ev.reset();
    feed(ev);
    const r = await ev.evaluate();
    expect(r.bounds).toBeNull();
    expect(r.consistency.flipRate).toBeNull();
    expect(r.consistency.detConsistency.mean).toBeGreaterThan(0);
  });

  it('leaves images without every shift out of the bounds', async () => {
    const ev = new ShiftEvaluator({ shifts, groundTruth: gt, bootstrapResamples: 50 });
    const missing = gt.images[2].id;
    feed(ev, { imageId: missing, shiftIndex: 1 });
    const { bounds } = await ev.evaluate();
    const keep = (g: CocoGroundTruth): CocoGroundTruth => ({
      ...g,
      images: g.images.filter((im) => im.id !== missing),
      annotations: g.annotations.filter((a) => a.image_id !== missing),
    });
    expect(bounds).toEqual(
      greedyBounds({ gt: keep(gt), shifts, dets: dets.map((l) => l.filter((d) => d.image_id !== missing)) }),
    );
    expect(bounds!.assignLower).toHaveLength(gt.images.length - 1);
  });
});
