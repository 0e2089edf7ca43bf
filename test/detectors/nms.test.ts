import { describe, expect, it } from 'vitest';
import { CandidateCollector, finalizeCandidates, iouXYXY, nms, topKCandidates } from '../../src/detectors/index.js';
import { Rng } from '../../src/core/rng.js';
import { COCO_CATEGORIES } from '../../src/core/coco.js';

describe('iouXYXY', () => {
  it('computes IoU of continuous boxes (no +1)', () => {
    const boxes = [0, 0, 10, 10, 5, 0, 15, 10, 20, 20, 30, 30];
    expect(iouXYXY(boxes, 0, 1)).toBeCloseTo(50 / 150, 12);
    expect(iouXYXY(boxes, 0, 2)).toBe(0);
    expect(iouXYXY(boxes, 0, 0)).toBe(1);
  });
});

describe('nms', () => {
  it('suppresses overlaps above the threshold within a class only', () => {
    // 0 and 1 overlap with IoU 0.818; 2 overlaps 0 the same but is another class
    const boxes = [0, 0, 10, 10, 1, 0, 11, 10, 0, 0, 10, 10, 50, 50, 60, 60];
    const scores = [0.9, 0.8, 0.7, 0.6];
    expect(nms(boxes, scores, [0, 0, 1, 0], { iouThreshold: 0.6 })).toEqual([0, 2, 3]);
    // class-agnostic: 2 is suppressed by 0 as well
    expect(nms(boxes, scores, null, { iouThreshold: 0.6 })).toEqual([0, 3]);
    // a threshold above the overlap keeps both
    expect(nms(boxes, scores, [0, 0, 1, 0], { iouThreshold: 0.9 })).toEqual([0, 1, 2, 3]);
  });

  it('visits candidates by descending score and keeps at most topK', () => {
    const boxes = [0, 0, 1, 1, 10, 10, 11, 11, 20, 20, 21, 21];
    expect(nms(boxes, [0.1, 0.9, 0.5], null, { topK: 2 })).toEqual([1, 2]);
  });

  it('suppresses only IoU strictly above the threshold', () => {
    // IoU exactly 0.5: [0,0,2,1] vs [0,0,1,1] → inter 1, union 2
    const boxes = [0, 0, 2, 1, 0, 0, 1, 1];
    expect(nms(boxes, [0.9, 0.8], null, { iouThreshold: 0.5 })).toEqual([0, 1]);
    expect(nms(boxes, [0.9, 0.8], null, { iouThreshold: 0.49 })).toEqual([0]);
  });
});

describe('CandidateCollector', () => {
  it('keeps exactly the top-k by score (earlier wins ties), in insertion order', () => {
    const rng = new Rng(7);
    const capacity = 50;
    const c = new CandidateCollector(capacity, 0.2);
    const all: { s: number; i: number }[] = [];
    for (let i = 0; i < 2000; i++) {
      const s = Math.round(rng.next() * 100) / 100; // many ties
      all.push({ s, i });
      c.add(i, 0, i + 1, 1, s, i % 3);
    }
    const expected = all
      .filter((a) => a.s >= 0.2)
      .sort((a, b) => b.s - a.s || a.i - b.i)
      .slice(0, capacity)
      .sort((a, b) => a.i - b.i);
    const got = c.finish();
    expect(got.boxesXYXY.filter((_, k) => k % 4 === 0)).toEqual(expected.map((e) => e.i));
    expect(got.scores).toEqual(expected.map((e) => e.s));
    expect(got.classIndices).toEqual(expected.map((e) => e.i % 3));
  });

  it('reports the lowest score that can still enter', () => {
    const c = new CandidateCollector(2, 0.1);
    expect(c.minScore).toBe(0.1);
    c.add(0, 0, 1, 1, 0.5, 0);
    c.add(0, 0, 1, 1, 0.3, 0);
    expect(c.minScore).toBe(0.3);
    c.add(0, 0, 1, 1, 0.05, 0); // below threshold: ignored
    c.add(0, 0, 1, 1, 0.4, 0);
    expect(c.minScore).toBe(0.4);
    expect(c.finish().scores).toEqual([0.5, 0.4]);
  });
});

describe('finalizeCandidates', () => {
  const classes = COCO_CATEGORIES.slice(0, 3);
  it('applies NMS, clips to the input, maps class index → category id, converts to XYWH sorted by score', () => {
    const dets = finalizeCandidates(
      {
        boxesXYXY: [-5, 10, 20, 30, -4, 10, 20, 30, 90, 90, 120, 95, 50, 50, 50, 60],
        scores: [0.5, 0.4, 0.9, 0.8],
        classIndices: [0, 0, 2, 1],
      },
      { nmsIouThreshold: 0.6, preNmsTopK: 100, topK: 100, inputSizePx: { width: 100, height: 100 }, classes },
    );
    // box 1 suppressed by box 0; box 3 is empty (zero width) and dropped
    expect(dets).toEqual([
      { bbox: [90, 90, 10, 5], score: 0.9, categoryId: classes[2].id },
      { bbox: [0, 10, 20, 20], score: 0.5, categoryId: classes[0].id },
    ]);
  });
  it('without NMS keeps the top-k by score', () => {
    const c = { boxesXYXY: [0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1], scores: [0.1, 0.3, 0.2], classIndices: [0, 0, 0] };
    const dets = finalizeCandidates(c, {
      nmsIouThreshold: null,
      preNmsTopK: 100,
      topK: 2,
      inputSizePx: { width: 10, height: 10 },
      classes,
    });
    expect(dets.map((d) => d.score)).toEqual([0.3, 0.2]);
    expect(topKCandidates(c, 5)).toBe(c);
  });
});
