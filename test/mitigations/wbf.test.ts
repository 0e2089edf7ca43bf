import { describe, expect, it } from 'vitest';
import type { Detection } from '../../src/core/types.js';
import { weightedBoxFusion } from '../../src/mitigations/index.js';

const det = (bbox: [number, number, number, number], score: number, categoryId = 1): Detection => ({
  bbox,
  score,
  categoryId,
});

describe('weightedBoxFusion', () => {
  it('fuses two overlapping boxes by score-weighted corners; a box seen by one run of two keeps half its score', () => {
    const out = weightedBoxFusion([
      [det([0, 0, 10, 10], 0.9)],
      [det([1, 0, 10, 10], 0.6), det([50, 50, 10, 10], 0.8, 2)],
    ]);
    expect(out).toHaveLength(2);
    // class 1: IoU 90/110 ≥ 0.55; x1 = (0.9·0 + 0.6·1)/1.5 = 0.4, x2 = (0.9·10 + 0.6·11)/1.5 = 10.4; score mean 0.75 × 2/2
    expect(out[0].categoryId).toBe(1);
    expect(out[0].score).toBeCloseTo(0.75, 12);
    expect(out[0].bbox[0]).toBeCloseTo(0.4, 12);
    expect(out[0].bbox[1]).toBeCloseTo(0, 12);
    expect(out[0].bbox[2]).toBeCloseTo(10, 12);
    expect(out[0].bbox[3]).toBeCloseTo(10, 12);
    // class 2: 0.8 × 1/2
    expect(out[1]).toEqual(det([50, 50, 10, 10], 0.4, 2));
  });

  it('matches against the running fused box, not the first member', () => {
    // A and B fuse to x ∈ [1, 11]; C (x ∈ [3.5, 13.5]) has IoU 65/135 < 0.55 with A but 75/125 = 0.6 with the fused box.
    const out = weightedBoxFusion([
      [det([0, 0, 10, 10], 0.8)],
      [det([2, 0, 10, 10], 0.8)],
      [det([3.5, 0, 10, 10], 0.4)],
    ]);
    expect(out).toHaveLength(1);
    expect(out[0].bbox[0]).toBeCloseTo(1.5, 12); // (0.8·0 + 0.8·2 + 0.4·3.5) / 2
    expect(out[0].bbox[0] + out[0].bbox[2]).toBeCloseTo(11.5, 12); // (0.8·10 + 0.8·12 + 0.4·13.5) / 2
    expect(out[0].score).toBeCloseTo(2 / 3, 12);
  });

  it('keeps clusters apart below the IoU threshold and never mixes classes', () => {
    const out = weightedBoxFusion([
      [det([0, 0, 10, 10], 0.9), det([0, 0, 10, 10], 0.5, 3)],
      [det([4, 0, 10, 10], 0.7)],
    ]);
    // IoU([0,10],[4,14]) = 60/140 < 0.55 → two class-1 clusters, each from one run of two
    expect(out.map((d) => [d.categoryId, d.bbox[0], d.score])).toEqual([
      [1, 0, 0.45],
      [1, 4, 0.35],
      [3, 0, 0.25],
    ]);
    const loose = weightedBoxFusion([[det([0, 0, 10, 10], 0.9)], [det([4, 0, 10, 10], 0.7)]], { iouThreshold: 0.4 });
    expect(loose).toHaveLength(1);
  });

  it('caps the damping at runCount: more members than runs still give the mean score', () => {
    const out = weightedBoxFusion([[det([0, 0, 10, 10], 0.5), det([0, 0, 10, 10], 0.7)]], {}, 1);
    expect(out[0].score).toBeCloseTo(0.6, 12);
  });
});
