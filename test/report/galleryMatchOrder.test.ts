/**
 * The gallery's kept / vanished / appeared states come from the matching per-image flicker counts (protocol §2, equal
 * IoUs in the order of the stored lists, docs/protocol-choices.md), not from one made on the lists sorted by score: an
 * image whose detections all match at a shift must show no change there.
 */
import { describe, expect, it } from 'vitest';
import type { CocoResult } from '../../src/core/types.js';
import { matchStates } from '../../src/report/index.js';
import { imageFlicker, matchDetections } from '../../src/metrics/index.js';

const det = (x: number, score: number): CocoResult => ({ image_id: 1, category_id: 1, bbox: [x, 0, 10, 10], score });

describe('matchStates with equal IoUs', () => {
  it('breaks ties as the metric does (stored order), so a fully matched shift shows every box kept', () => {
    // stored order at (0,0): A (x 0, score 0.6), B (x 2, score 0.9); at the shift: X (x 1), Y (x 5).
    // IoU(A, X) = IoU(B, X) = 90/110; IoU(B, Y) = 70/130; IoU(A, Y) = 50/150 < 0.5.
    // §2 with ties in stored order: A–X, then B–Y: two matches, flicker 0. Taking B first (by score) leaves A and Y.
    const ref = [det(0, 0.6), det(2, 0.9)];
    const sh = [det(1, 0.8), det(5, 0.7)];
    expect(matchDetections(ref, sh)).toHaveLength(2);
    expect(imageFlicker({ imageId: 1, inputScale: { x: 1, y: 1 }, dets: [ref, sh] }, 0.5)?.flicker).toBe(0);
    const m = matchStates(ref, sh);
    expect(m.reference.map((b) => b.state)).toEqual(['kept', 'kept']);
    expect(m.shifted.map((b) => b.state)).toEqual(['kept', 'kept']);
    // each list is still drawn by score, highest first
    expect(m.reference.map((b) => b.score)).toEqual([0.9, 0.6]);
  });
});
