/**
 * relRange's bounds interval is read from the resamples with mAP at (0,0) > 0 alone (protocol-choices: a ratio to 0 has
 * no value). When some resamples with ground truth have mAP at (0,0) = 0, the interval shown is over fewer resamples
 * than the other intervals, and the output must say so: a reader who sees "rel. range [lo–hi]" beside "200 resamples"
 * must not take it for an interval over all of them.
 */
import { describe, expect, it } from 'vitest';
import type { CocoGroundTruth, CocoResult, Shift } from '../../src/core/types.js';
import { ShiftEvaluator } from '../../src/metrics/index.js';
import { MIN_INTERVAL_RESAMPLES, interval95, relRangeIntervalNote } from '../../src/metrics/uncertainty.js';

const shifts: Shift[] = [
  { dx: 0, dy: 0 },
  { dx: 1, dy: 0 },
];
/** 10 labelled images; only image 1 has a detection that finds its object at (0,0) (the others: a far-off box). */
const N = 10;
const gt: CocoGroundTruth = {
  images: Array.from({ length: N }, (_, k) => ({ id: k + 1, file_name: `${k + 1}.png`, width: 64, height: 64 })),
  categories: [{ id: 1, name: 'thing' }],
  annotations: Array.from({ length: N }, (_, k) => ({
    id: k + 1,
    image_id: k + 1,
    category_id: 1,
    bbox: [10, 10, 20, 20] as [number, number, number, number],
    area: 400,
    iscrowd: 0,
  })),
};
const detsAt = (imageId: number, s: number): CocoResult[] => [
  {
    image_id: imageId,
    category_id: 1,
    // image 1: exact at both shifts; image 2: exact at shift 1 only (so ranges are not all 0); others: a miss
    bbox: imageId === 1 || (imageId === 2 && s === 1) ? [10, 10, 20, 20] : [40, 40, 10, 10],
    score: 0.9 - 0.01 * imageId,
  },
];

describe('relRange interval over the resamples with mAP at (0,0) > 0', () => {
  it('the pure note: none when every resample has mAP at (0,0) > 0; the counts when some have 0', () => {
    const row = (ref: number) => ({ mapRef: ref, mapLower: 0, mapUpper: 0.1 });
    const all = Array.from({ length: 30 }, () => row(0.5));
    expect(relRangeIntervalNote(all)).toBeNull();
    const some = [...Array.from({ length: 25 }, () => row(0.5)), ...Array.from({ length: 5 }, () => row(0)), null];
    expect(relRangeIntervalNote(some)).toBe(
      'rel. range interval over the 25 of 30 resamples with mAP at (0,0) > 0 (in the other 5 mAP at (0,0) is 0: ' +
        'the ratio has no value)',
    );
    // fewer than MIN_INTERVAL_RESAMPLES: no relRange interval at all, so nothing to qualify
    const few = [...Array.from({ length: 5 }, () => row(0.5)), ...Array.from({ length: 25 }, () => row(0))];
    expect(relRangeIntervalNote(few)).toBeNull();
  });

  it('a run where some resamples have mAP at (0,0) = 0: the interval is over the rest, and a note says how many', async () => {
    const ev = new ShiftEvaluator({ shifts, groundTruth: gt, bootstrapResamples: 20, bootstrapBounds: 60, seed: 0 });
    for (let s = 0; s < shifts.length; s++)
      for (const im of gt.images)
        ev.process({ imageId: im.id, shiftIndex: s, inputScale: { x: 1, y: 1 } }, detsAt(im.id, s));
    const { bounds, analysis, notes, uncertainty } = await ev.evaluate();
    expect(bounds!.relRange).not.toBeNull();
    const valid = uncertainty!.perResample.filter((r) => r !== null);
    const positive = valid.filter((r) => r.mapRef > 0);
    // the case this test is about: some, but not too many, resamples miss image 1
    expect(valid.length).toBe(60);
    expect(positive.length).toBeLessThan(valid.length);
    expect(positive.length).toBeGreaterThanOrEqual(MIN_INTERVAL_RESAMPLES);
    // independent: the interval of the ratios over those resamples alone
    expect(analysis.boundsInterval!.relRange).toEqual(
      interval95(positive.map((r) => (r.mapUpper - r.mapLower) / r.mapRef)),
    );
    expect(notes).toContain(
      `rel. range interval over the ${positive.length} of 60 resamples with mAP at (0,0) > 0 (in the other ` +
        `${60 - positive.length} mAP at (0,0) is 0: the ratio has no value)`,
    );
  });
});
