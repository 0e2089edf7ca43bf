import { describe, expect, it } from 'vitest';
import { COCO_CATEGORIES } from '../../../src/core/coco.js';
import { finalizeCandidates, type DecodeContext, type RawOutput } from '../../../src/detectors/decoders/index.js';
import { createTfjsDecoder } from '../../../src/detectors/tfjs/index.js';

const ids = COCO_CATEGORIES.map((c) => c.id);
const ctx = (over: Partial<DecodeContext> = {}): DecodeContext => ({
  inputSizePx: { width: 512, height: 512 },
  batchSize: 1,
  numClasses: 80,
  scoreThreshold: 0.05,
  categoryIds: ids,
  ...over,
});

describe('centernet-detections decoder', () => {
  const decoder = createTfjsDecoder({ name: 'centernet-detections' });
  const out = (rows: number[][], name = 'tower_0/detections'): RawOutput => ({
    name,
    dims: [1, rows.length, 6],
    data: Float32Array.from(rows.flat()),
  });

  it('reads x1,y1,x2,y2,score,class rows in input pixels, drops rows under the threshold, no NMS', () => {
    expect(decoder.outputNames).toEqual(['tower_0/detections']);
    expect(decoder.nmsIouThreshold).toBeNull();
    const [c] = decoder.decode(
      [
        out([
          [10, 20, 110, 220, 0.9, 0],
          [12, 20, 110, 220, 0.8, 0], // overlaps the first: CenterNet keeps both (its peak picking is its NMS)
          [0, 0, 5, 5, 0.01, 3], // under 0.05
          [300, 310, 400, 420, 0.5, 79],
        ]),
      ],
      ctx(),
    );
    expect(c.classIndices).toEqual([0, 0, 79]);
    expect(c.scores).toEqual([expect.closeTo(0.9, 6), expect.closeTo(0.8, 6), expect.closeTo(0.5, 6)]);
    const dets = finalizeCandidates(c, {
      nmsIouThreshold: decoder.nmsIouThreshold,
      preNmsTopK: decoder.preNmsTopK,
      topK: decoder.topK,
      inputSizePx: { width: 512, height: 512 },
      classes: COCO_CATEGORIES,
    });
    expect(dets.map((d) => d.categoryId)).toEqual([1, 1, 90]);
    expect(dets[0].bbox).toEqual([10, 20, 100, 200]);
  });

  it('splits a batch of outputs per image', () => {
    const data = Float32Array.from([1, 1, 9, 9, 0.7, 2, 2, 2, 8, 8, 0.6, 5]);
    const per = decoder.decode([{ name: 'tower_0/detections', dims: [2, 1, 6], data }], ctx({ batchSize: 2 }));
    expect(per.map((c) => c.classIndices)).toEqual([[2], [5]]);
  });

  it('a class index outside the class list or not an integer → ERR_MODEL_OUTPUT naming the row (never dropped)', () => {
    // 80 classes: index 80 (e.g. a model that emits COCO ids 1…90, not indices) must not vanish from the results
    expect(() => decoder.decode([out([[10, 20, 110, 220, 0.9, 80]])], ctx())).toThrow(
      expect.objectContaining({
        code: 'ERR_MODEL_OUTPUT',
        message: expect.stringMatching(/class 80 at row 0 .*80 classes/),
      }),
    );
    expect(() => decoder.decode([out([[10, 20, 110, 220, 0.9, -1]])], ctx())).toThrow(
      expect.objectContaining({ code: 'ERR_MODEL_OUTPUT' }),
    );
    expect(() => decoder.decode([out([[10, 20, 110, 220, 0.9, 2.5]])], ctx())).toThrow(
      expect.objectContaining({ code: 'ERR_MODEL_OUTPUT', message: expect.stringContaining('class 2.5') }),
    );
    // rows under the score threshold are not read at all (padding rows may hold anything)
    expect(decoder.decode([out([[0, 0, 0, 0, 0, 99]])], ctx())[0].scores).toEqual([]);
  });

  it('wrong output shape → ERR_MODEL_OUTPUT naming what was expected and found', () => {
    expect(() =>
      decoder.decode([{ name: 'tower_0/detections', dims: [1, 100, 5], data: new Float32Array(500) }], ctx()),
    ).toThrow(
      expect.objectContaining({
        code: 'ERR_MODEL_OUTPUT',
        message: expect.stringContaining('expected one output "tower_0/detections" [1,100,6]'),
      }),
    );
  });
});

describe('ssd-boxes decoder (coco-ssd layout)', () => {
  const decoder = createTfjsDecoder({ name: 'ssd-boxes' });
  it('maps score column j to COCO id j + 1, boxes from [ymin,xmin,ymax,xmax] fractions, class-wise NMS at 0.6', () => {
    const anchors = 2;
    const scores = new Float32Array(anchors * 90);
    scores[0 * 90 + 0] = 0.9; // anchor 0: person
    scores[1 * 90 + 0] = 0.8; // anchor 1: person, same place → suppressed
    scores[1 * 90 + 17] = 0.6; // anchor 1: column 17 → id 18 dog
    scores[1 * 90 + 25] = 0.99; // column 25 → id 26, not a COCO category → dropped
    const boxes = Float32Array.from([0.1, 0.2, 0.5, 0.6, 0.1, 0.2, 0.5, 0.61]);
    const outputs: RawOutput[] = [
      { name: 'Postprocessor/ExpandDims_1', dims: [1, anchors, 1, 4], data: boxes },
      { name: 'Postprocessor/convert_scores', dims: [1, anchors, 90], data: scores },
    ];
    const [c] = decoder.decode(outputs, ctx({ inputSizePx: { width: 300, height: 200 } }));
    expect(c.scores.length).toBe(3);
    const dets = finalizeCandidates(c, {
      nmsIouThreshold: decoder.nmsIouThreshold,
      preNmsTopK: decoder.preNmsTopK,
      topK: decoder.topK,
      inputSizePx: { width: 300, height: 200 },
      classes: COCO_CATEGORIES,
    });
    expect(dets.map((d) => [d.categoryId, Number(d.score.toFixed(2))])).toEqual([
      [1, 0.9],
      [18, 0.6],
    ]);
    dets[0].bbox.forEach((v, i) => expect(v).toBeCloseTo([60, 20, 120, 80][i], 4));
  });

  it('outputs without the two SSD tensors → ERR_MODEL_OUTPUT', () => {
    expect(() => decoder.decode([{ name: 'x', dims: [1, 10, 90], data: new Float32Array(900) }], ctx())).toThrow(
      expect.objectContaining({ code: 'ERR_MODEL_OUTPUT' }),
    );
  });
});

describe('createTfjsDecoder', () => {
  it('falls back to the shared decoders (nanodet-gfl with 11 bins) and rejects unknown names', () => {
    const d = createTfjsDecoder({ name: 'nanodet-gfl', params: { bins: 11 } });
    expect(d.name).toBe('nanodet-gfl');
    expect(d.params.bins).toBe(11);
    expect(() => createTfjsDecoder({ name: 'nope' })).toThrow(
      expect.objectContaining({ code: 'ERR_REGISTRY', message: expect.stringContaining('Unknown decoder "nope"') }),
    );
    expect(() => createTfjsDecoder({ name: 'centernet-detections', params: { output: 3 } })).toThrow(
      expect.objectContaining({ code: 'ERR_REGISTRY' }),
    );
  });
});
