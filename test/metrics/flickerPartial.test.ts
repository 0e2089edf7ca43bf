import { describe, expect, it } from 'vitest';
import type { CocoResult } from '../../src/core/types.js';
import { flickerSummary, imageFlicker } from '../../src/metrics/breakdown.js';

const det = (x: number): CocoResult => ({ image_id: 1, category_id: 1, bbox: [x, 10, 40, 40], score: 0.9 });

describe('imageFlicker: "matched at every shift" needs the image at every shift', () => {
  it('an image missing at a shift has no flicker (not one over fewer shifts counted steady)', () => {
    // matched at s0 and s1; s2 never ran for this image: whether it is matched there is unknown
    const im = { imageId: 1, inputScale: { x: 1, y: 1 }, dets: [[det(10)], [det(11)], undefined] };
    expect(imageFlicker(im)).toBeNull();
    const s = flickerSummary([im, { imageId: 2, inputScale: { x: 1, y: 1 }, dets: [[det(10)], [det(11)], []] }]);
    expect(s.images).toBe(1);
    expect(s.meanFlicker).toBe(1);
  });
  it('an image at every shift keeps its flicker', () => {
    const im = { imageId: 1, inputScale: { x: 1, y: 1 }, dets: [[det(10)], [det(11)], [det(10)]] };
    expect(imageFlicker(im)).toEqual({ imageId: 1, flicker: 0, detections: 3 });
  });
});
