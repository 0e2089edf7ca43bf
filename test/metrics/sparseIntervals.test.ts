/**
 * A 95 % interval needs at least MIN_INTERVAL_RESAMPLES resamples (the rule `--bootstrap-bounds` enforces). Resamples
 * without ground truth at (0,0) have no mAP and are left out, so with sparse labels fewer may remain than were asked
 * for: then there is no interval and no paired verdict, and the notes say why — not an "interval" of 13 values.
 */
import { describe, expect, it } from 'vitest';
import type { CocoGroundTruth, CocoResult, Shift } from '../../src/core/types.js';
import { ShiftEvaluator, pairedDifference, type BoundsUncertainty } from '../../src/metrics/index.js';
import { summarizeBootstrap } from '../../src/metrics/uncertainty.js';
import { MIN_INTERVAL_RESAMPLES } from '../../src/runner/options.js';
import { noBoundsIntervalReason } from '../../src/report/format.js';

const shifts: Shift[] = [
  { dx: 0, dy: 0 },
  { dx: 1, dy: 0 },
];
/** 12 images, ground truth on image 1 only; every image has a detection near (10, 10) whose box moves per shift. */
const N = 12;
const gt: CocoGroundTruth = {
  images: Array.from({ length: N }, (_, k) => ({ id: k + 1, file_name: `${k + 1}.png`, width: 64, height: 64 })),
  categories: [{ id: 1, name: 'thing' }],
  annotations: [{ id: 1, image_id: 1, category_id: 1, bbox: [10, 10, 20, 20], area: 400, iscrowd: 0 }],
};
const detsAt = (imageId: number, s: number): CocoResult[] => [
  { image_id: imageId, category_id: 1, bbox: [10 + 3 * s * (imageId % 3), 10, 20, 20], score: 0.9 - 0.01 * imageId },
];

describe('bounds intervals need enough resamples with ground truth', () => {
  it('with fewer than MIN_INTERVAL_RESAMPLES resamples holding ground truth: no interval, a note saying why', async () => {
    const ev = new ShiftEvaluator({ shifts, groundTruth: gt, bootstrapResamples: 20, bootstrapBounds: 20, seed: 3 });
    for (let s = 0; s < shifts.length; s++)
      for (const im of gt.images)
        ev.process({ imageId: im.id, shiftIndex: s, inputScale: { x: 1, y: 1 } }, detsAt(im.id, s));
    const { bounds, analysis, notes, uncertainty } = await ev.evaluate();
    expect(bounds).not.toBeNull();
    const valid = uncertainty!.perResample.filter((r) => r !== null).length;
    expect(valid).toBeGreaterThan(0);
    expect(valid).toBeLessThan(MIN_INTERVAL_RESAMPLES); // the case this test is about
    expect(analysis.boundsInterval).toBeNull();
    expect(notes.join(' ')).toContain(
      `bounds intervals off: only ${valid} of 20 resamples hold ground truth at (0,0) — fewer than ` +
        `${MIN_INTERVAL_RESAMPLES} give no 95 % interval and no paired verdict`,
    );
  });

  it('flip rate and video-stability errors over fewer than MIN_INTERVAL_IMAGES labelled images: no interval, a note why', async () => {
    // 12 images (so the bounds and detConsistency have intervals), but only image 1 holds a ground-truth object: the
    // metrics over ground-truth objects are means over 1 image, without interval — every output must say why
    const ev = new ShiftEvaluator({ shifts, groundTruth: gt, bootstrapResamples: 20, bootstrapBounds: 0, seed: 3 });
    for (let s = 0; s < shifts.length; s++)
      for (const im of gt.images)
        ev.process({ imageId: im.id, shiftIndex: s, inputScale: { x: 1, y: 1 } }, detsAt(im.id, s));
    const { consistency, stability, notes } = await ev.evaluate();
    expect(Number.isFinite(consistency.detConsistency.lo)).toBe(true);
    expect(consistency.imagesUsed?.flipRate).toBe(1);
    expect(Number.isFinite(consistency.flipRate?.mean)).toBe(true);
    expect(Number.isFinite(consistency.flipRate?.lo)).toBe(false);
    expect(stability?.fragmentError?.images).toBe(1);
    expect(notes).toContain(
      'flip rate without interval: only 1 image holds a ground-truth object — fewer than 10 give no 95 % interval',
    );
    expect(notes).toContain(
      'video-stability errors (CPE, SRE, fragment) without intervals: only 1 image holds an object they are ' +
        'computed over — fewer than 10 give no 95 % interval',
    );
  });

  it('box and score jitter over fewer than MIN_INTERVAL_IMAGES images with matched detections: a note why', async () => {
    // 12 images, detections on images 1–3 only: the jitters are means over 3 images, without interval
    const ev = new ShiftEvaluator({ shifts, groundTruth: gt, bootstrapResamples: 20, bootstrapBounds: 0, seed: 3 });
    for (let s = 0; s < shifts.length; s++)
      for (const im of gt.images)
        ev.process({ imageId: im.id, shiftIndex: s, inputScale: { x: 1, y: 1 } }, im.id <= 3 ? detsAt(im.id, 0) : []);
    const { consistency, notes } = await ev.evaluate();
    expect(consistency.imagesUsed?.boxJitter).toBe(3);
    expect(Number.isFinite(consistency.boxJitterIou.mean)).toBe(true);
    expect(Number.isFinite(consistency.boxJitterIou.lo)).toBe(false);
    expect(notes).toContain(
      'box and score jitter without intervals: only 3 images have detections matched across shifts — fewer than 10 ' +
        'give no 95 % interval',
    );
  });

  it('summarizeBootstrap gives an interval from MIN_INTERVAL_RESAMPLES valid resamples on, not below', () => {
    const r = (x: number) => ({ mapRef: 0.5, mapLower: 0.4 - x / 1000, mapUpper: 0.6 + x / 1000 });
    const rows = (valid: number, total: number) => Array.from({ length: total }, (_, k) => (k < valid ? r(k) : null));
    expect(summarizeBootstrap(rows(MIN_INTERVAL_RESAMPLES - 1, 40), 0)).toBeNull();
    const iv = summarizeBootstrap(rows(MIN_INTERVAL_RESAMPLES, 40), 0);
    expect(iv).not.toBeNull();
    expect(iv!.validResamples).toBe(MIN_INTERVAL_RESAMPLES);
  });

  it('a paired difference needs MIN_INTERVAL_RESAMPLES resamples where both sides have ground truth', () => {
    const B = 40;
    const side = (key: string, validFrom: number, validTo: number, range: number) => {
      const perResample = Array.from({ length: B }, (_, k) =>
        k >= validFrom && k < validTo
          ? { mapRef: 0.5, mapLower: 0.5 - range / 2, mapUpper: 0.5 + range / 2 + k / 1e4 }
          : null,
      );
      const uncertainty = {
        interval: summarizeBootstrap(perResample, 0),
        sizeCurve: null,
        perResample,
        imageIds: [1, 2, 3],
      } as unknown as BoundsUncertainty;
      return { key, mapRef: 0.5, mapRange: range, uncertainty };
    };
    // each side alone has 25 valid resamples, but only 10 in common
    const a = side('a', 0, 25, 0.01);
    const b = side('b', 15, 40, 0.2);
    expect(a.uncertainty.interval).not.toBeNull();
    expect(b.uncertainty.interval).not.toBeNull();
    expect(pairedDifference(a, b, 'mitigation')).toBeNull();
    // with 20 in common the verdict is given (A far steadier)
    const c = side('c', 5, 40, 0.2);
    expect(pairedDifference(a, c, 'mitigation')?.verdict).toBe('steadier (significant)');
  });
});

describe('a run of one image: the notes count it as one image', () => {
  it('"1 image", not "1 images", in the scoring note and in the reasons check, compare and the reports give', async () => {
    const ev = new ShiftEvaluator({
      shifts,
      groundTruth: { ...gt, images: gt.images.slice(0, 1) },
      bootstrapResamples: 20,
      bootstrapBounds: 20,
      seed: 3,
    });
    for (let s = 0; s < shifts.length; s++)
      ev.process({ imageId: 1, shiftIndex: s, inputScale: { x: 1, y: 1 } }, detsAt(1, s));
    const { notes } = await ev.evaluate();
    expect(notes).toContain(
      'bounds intervals off: 1 image — fewer than 10 give no bounds interval and no paired verdict (nor the ' +
        'consistency metrics: their means are given without intervals)',
    );
    expect(noBoundsIntervalReason(1)).toBe('1 image — fewer than 10 give no bounds interval and no paired verdict');
    expect(noBoundsIntervalReason(3)).toBe('3 images — fewer than 10 give no bounds interval and no paired verdict');
  });
});
