import { describe, expect, it } from 'vitest';
import {
  createDecoder,
  decodeGflLevels,
  DECODERS,
  type DecodeContext,
  type RawOutput,
} from '../../src/detectors/index.js';
import { decodeDetections } from '../../src/detectors/decoders/index.js';
import { COCO_CATEGORIES } from '../../src/core/coco.js';
import { ShiftbenchError } from '../../src/core/errors.js';

const logit = (p: number) => Math.log(p / (1 - p));
const ctx = (over: Partial<DecodeContext> = {}): DecodeContext => ({
  inputSizePx: { width: 64, height: 64 },
  batchSize: 1,
  numClasses: 2,
  scoreThreshold: 0.001,
  categoryIds: [1, 2],
  ...over,
});
function caught(fn: () => unknown): ShiftbenchError {
  try {
    fn();
  } catch (err) {
    return err as ShiftbenchError;
  }
  throw new Error('expected a throw');
}

describe('fastestdet decoder', () => {
  // grid 4×4 on a 64×64 input, 2 classes: channels obj, tx, ty, tw, th, cls0, cls1
  function output(batch = 1): RawOutput {
    const plane = 16;
    const data = new Float32Array(batch * 7 * plane);
    for (let b = 0; b < batch; b++) {
      const cell = 1 * 4 + 2; // row 1, col 2
      const o = b * 7 * plane;
      data[o + cell] = 0.9;
      data[o + plane + cell] = Math.atanh(0.25); // cx = (2 + 0.25)/4
      data[o + 2 * plane + cell] = 0; // cy = (1 + 0)/4
      data[o + 3 * plane + cell] = 0; // w = 0.5
      data[o + 4 * plane + cell] = logit(0.25); // h = 0.25
      data[o + 5 * plane + cell] = 0.2;
      data[o + 6 * plane + cell] = 0.8;
    }
    return { name: 'out', dims: [batch, 7, 4, 4], data };
  }
  it('decodes centre (col + tanh tx)/W, size sigmoid, score obj^0.6·cls^0.4, multi-label', () => {
    const [c] = createDecoder({ name: 'fastestdet' }).decode([output()], ctx());
    const cx = (2.25 / 4) * 64,
      cy = 16,
      w = 32,
      h = 16;
    expect(c.scores).toHaveLength(2);
    expect(c.classIndices).toEqual([0, 1]);
    expect(c.scores[0]).toBeCloseTo(0.9 ** 0.6 * 0.2 ** 0.4, 6);
    expect(c.scores[1]).toBeCloseTo(0.9 ** 0.6 * 0.8 ** 0.4, 6);
    const box = c.boxesXYXY.slice(0, 4);
    [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2].forEach((v, i) => expect(box[i]).toBeCloseTo(v, 4));
  });
  it('keeps only the best class with multiLabel false, and handles a batch', () => {
    const out = createDecoder({ name: 'fastestdet', params: { multiLabel: false } }).decode(
      [output(2)],
      ctx({ batchSize: 2 }),
    );
    expect(out).toHaveLength(2);
    for (const c of out) expect(c.classIndices).toEqual([1]);
  });
  it('rejects outputs of another shape with expected vs found', () => {
    const bad: RawOutput = { name: '758', dims: [1, 84, 22, 22], data: new Float32Array(84 * 484) };
    const err = caught(() => createDecoder({ name: 'fastestdet' }).decode([bad], ctx({ numClasses: 80 })));
    expect(err.code).toBe('ERR_MODEL_OUTPUT');
    expect(err.message).toBe(
      'Model outputs do not fit decoder "fastestdet": expected one output [B,85,H,W] (objectness, tx, ty, tw, th, 80 class scores) but found "758" [1,84,22,22]. ' +
        "Check the entry's decoder name and params (see docs/models.md).",
    );
  });
});

describe('yolo-fastestv2 decoder', () => {
  const anchors = [10, 10, 20, 20, 30, 30, 40, 40, 50, 50, 60, 60];
  it('decodes (2v − 0.5 + cell)·stride and (2v)²·anchor on the stride-32 grid', () => {
    // 64×64 input: 4×4 cells (stride 16) then 2×2 (stride 32) → 20 rows; 2 classes → 17 columns
    const cols = 17;
    const data = new Float32Array(20 * cols);
    const row = 16 + 1 * 2 + 0; // stride 32, cell row 1, col 0
    const a = 1;
    data[row * cols + 4 * a] = 0.5;
    data[row * cols + 4 * a + 1] = 0.5;
    data[row * cols + 4 * a + 2] = 0.5;
    data[row * cols + 4 * a + 3] = 0.25;
    data[row * cols + 12 + a] = 0.8;
    data[row * cols + 15] = 0.25;
    data[row * cols + 16] = 0.75;
    const [c] = createDecoder({ name: 'yolo-fastestv2', params: { anchors } }).decode(
      [{ name: 'o', dims: [20, cols], data }],
      ctx(),
    );
    expect(c.classIndices).toEqual([0, 1]);
    expect(c.scores[1]).toBeCloseTo(0.8 * 0.75, 6);
    // centre (16, 48); w = 1² · 50, h = 0.5² · 50
    expect(c.boxesXYXY.slice(4, 8)).toEqual([16 - 25, 48 - 6.25, 16 + 25, 48 + 6.25]);
  });
  it('rejects a wrong column count', () => {
    const err = caught(() =>
      createDecoder({ name: 'yolo-fastestv2' }).decode(
        [{ name: '845', dims: [605, 94], data: new Float32Array(605 * 94) }],
        ctx({ inputSizePx: { width: 352, height: 352 }, numClasses: 80 }),
      ),
    );
    expect(err.code).toBe('ERR_MODEL_OUTPUT');
    expect(err.message).toContain('expected one output [605,95]');
    expect(err.message).toContain('but found "845" [605,94]');
  });
});

describe('nanodet-gfl', () => {
  function distribution(bins: number, targets: number[]): number[] {
    const out: number[] = [];
    for (const t of targets) for (let b = 0; b < bins; b++) out.push(b === t ? 60 : 0);
    return out;
  }
  it('decodeGflLevels: softmax expectation × stride from the cell centre, for 8 and 11 bins', () => {
    for (const bins of [8, 11]) {
      // 32×32 input, stride 16 → 2×2 cells; the cell at row 1, col 0 has centre (8, 24)
      const scores = new Float32Array(4 * 2);
      scores[2 * 2 + 1] = 0.7;
      const dist = new Float32Array(4 * 4 * bins);
      dist.set(distribution(bins, [2, 1, 0, 3]), 2 * 4 * bins);
      const c = decodeGflLevels([{ stride: 16, scores, distributions: dist }], {
        inputSizePx: { width: 32, height: 32 },
        numClasses: 2,
        bins,
        scoreThreshold: 0.01,
      });
      expect(c.classIndices).toEqual([1]);
      expect(c.scores[0]).toBeCloseTo(0.7, 6);
      const expected = [8 - 32, 24 - 16, 8 + 0, 24 + 48];
      c.boxesXYXY.forEach((v, i) => expect(v).toBeCloseTo(expected[i], 6));
    }
  });
  it('pairs outputs by shape even when their names and order mislead (batch-less [N, C])', () => {
    const bins = 8;
    const input = { width: 32, height: 32 };
    // strides 8/16/32 → 16, 4, 1 cells
    const cells = [16, 4, 1];
    const outputs: RawOutput[] = [];
    cells.forEach((n, i) => outputs.push({ name: `bbox_pred${i}`, dims: [n, 2], data: new Float32Array(n * 2) }));
    cells.forEach((n, i) =>
      outputs.push({ name: `cls_score${i}`, dims: [n, 4 * bins], data: new Float32Array(n * 4 * bins) }),
    );
    outputs[1].data[2 * 2 + 0] = 0.5; // stride-16 scores, cell 2, class 0
    (outputs[4].data as Float32Array).set(distribution(bins, [1, 1, 1, 1]), 2 * 4 * bins);
    const [c] = createDecoder({ name: 'nanodet-gfl' }).decode(outputs, ctx({ inputSizePx: input }));
    expect(c.classIndices).toEqual([0]);
    expect(c.boxesXYXY).toEqual([8 - 16, 24 - 16, 8 + 16, 24 + 16].map((v) => expect.closeTo(v, 6)));
  });
  it('names the expected shapes when outputs do not fit', () => {
    const err = caught(() =>
      createDecoder({ name: 'nanodet-gfl' }).decode(
        [{ name: 'x', dims: [1, 100, 80], data: new Float32Array(8000) }],
        ctx({ inputSizePx: { width: 416, height: 416 }, numClasses: 80 }),
      ),
    );
    expect(err.code).toBe('ERR_MODEL_OUTPUT');
    expect(err.message).toContain(
      'expected 6 outputs: per stride 8/16/32 class scores [1,2704,80] [1,676,80] [1,169,80] and distributions [1,2704,32] [1,676,32] [1,169,32] (4 sides × 8 bins)',
    );
    expect(err.message).toContain('but found "x" [1,100,80]');
  });
});

describe('torchvision decoder', () => {
  const outputs = (labels: bigint[]): RawOutput[] => [
    { name: 'boxes', dims: [3, 4], data: new Float32Array([0, 0, 10, 10, 5, 5, 20, 20, 1, 2, 3, 4]) },
    { name: 'labels', dims: [3], data: new BigInt64Array(labels) },
    { name: 'scores', dims: [3], data: new Float32Array([0.9, 0.8, 0.0005]) },
  ];
  const coco = ctx({ numClasses: 80, categoryIds: COCO_CATEGORIES.map((c) => c.id) });
  it('maps category ids to class indices, drops ids outside the classes and scores below the threshold', () => {
    const [c] = createDecoder({ name: 'torchvision' }).decode(outputs([1n, 12n, 3n]), coco);
    expect(c.classIndices).toEqual([0]); // 12 is not a COCO category; the third is below 0.001
    expect(c.boxesXYXY).toEqual([0, 0, 10, 10]);
    const d = createDecoder({ name: 'torchvision', params: { labels: 'class-index' } });
    expect(d.decode(outputs([1n, 12n, 3n]), coco)[0].classIndices).toEqual([1, 12]);
    expect(d.nmsIouThreshold).toBeNull();
  });
  it('clips boxes to the input unless params.clipBoxes is false (a circularly equivariant model reports wrapped boxes whole)', () => {
    const raw: RawOutput[] = [
      { name: 'boxes', dims: [1, 4], data: new Float32Array([-6, 50, 10, 70]) },
      { name: 'labels', dims: [1], data: new BigInt64Array([2n]) },
      { name: 'scores', dims: [1], data: new Float32Array([0.5]) },
    ];
    const classes = [
      { id: 1, name: 'a' },
      { id: 2, name: 'b' },
    ];
    const run = (params: Record<string, unknown>) =>
      decodeDetections(createDecoder({ name: 'torchvision', params }), raw, { ...ctx(), classes })[0];
    expect(run({}).map((d) => d.bbox)).toEqual([[0, 50, 10, 14]]);
    expect(run({ clipBoxes: false }).map((d) => d.bbox)).toEqual([[-6, 50, 16, 20]]);
    expect(createDecoder({ name: 'torchvision', params: { clipBoxes: false } }).params).toMatchObject({
      clipBoxes: false,
    });
    expect(caught(() => createDecoder({ name: 'torchvision', params: { clipBoxes: 'no' } })).code).toBe('ERR_REGISTRY');
  });
  it('a labels output holding a fraction (float labels, or the wrong output taken as labels) is ERR_MODEL_OUTPUT, not a TypeError', () => {
    const raw: RawOutput[] = [
      { name: 'boxes', dims: [2, 4], data: new Float32Array([0, 0, 10, 10, 5, 5, 20, 20]) },
      { name: 'labels', dims: [2], data: new Float32Array([2, 1.5]) },
      { name: 'scores', dims: [2], data: new Float32Array([0.9, 0.8]) },
    ];
    const classes = [
      { id: 1, name: 'a' },
      { id: 2, name: 'b' },
      { id: 3, name: 'c' },
    ];
    for (const labels of ['class-index', 'category-id']) {
      const err = caught(() =>
        decodeDetections(createDecoder({ name: 'torchvision', params: { labels } }), raw, {
          ...ctx({ numClasses: 3, categoryIds: [1, 2, 3] }),
          classes,
        }),
      );
      expect(err, labels).toBeInstanceOf(ShiftbenchError);
      expect(err.code).toBe('ERR_MODEL_OUTPUT');
      expect(err.message).toContain('decoder "torchvision": output "labels" holds 1.5 at index 1, not an integer');
    }
    // whole numbers in a float output are read as they are: label 2 is class index 2 (id 3), or category id 2
    const whole: RawOutput[] = [raw[0], { ...raw[1], data: new Float32Array([2, 1]) }, raw[2]];
    const ids = (labels: string) =>
      decodeDetections(createDecoder({ name: 'torchvision', params: { labels } }), whole, {
        ...ctx({ numClasses: 3, categoryIds: [1, 2, 3] }),
        classes,
      })[0].map((d) => d.categoryId);
    expect(ids('class-index')).toEqual([3, 2]);
    expect(ids('category-id')).toEqual([2, 1]);
  });
  it('accepts a leading batch dim of 1', () => {
    const o = outputs([1n, 2n, 3n]).map((x) => ({ ...x, dims: [1, ...x.dims] }));
    expect(createDecoder({ name: 'torchvision' }).decode(o, coco)[0].scores).toEqual([
      expect.closeTo(0.9, 6),
      expect.closeTo(0.8, 6),
    ]);
  });
});

describe('decoder registry', () => {
  it('lists the decoders on an unknown name', () => {
    const err = caught(() => createDecoder({ name: 'yolov99' }));
    expect(err.code).toBe('ERR_REGISTRY');
    expect(err.message).toBe(
      'Unknown decoder "yolov99". Available: fastestdet, nanodet-gfl, torchvision, yolo-fastestv2, yolox',
    );
    expect(DECODERS.keys().sort()).toEqual(['fastestdet', 'nanodet-gfl', 'torchvision', 'yolo-fastestv2', 'yolox']);
  });
  it('rejects bad and unknown params naming them', () => {
    const bad = caught(() => createDecoder({ name: 'nanodet-gfl', params: { bins: 1 } }));
    expect(bad.code).toBe('ERR_REGISTRY');
    expect(bad.message).toBe(
      'Expected an integer in [2, 64] for decoder.params.bins (decoder "nanodet-gfl") but received 1',
    );
    // a stride that is not a positive whole number would still give the expected cell counts (ceil(416 / 32.5) = 13)
    // and decode every box at the wrong scale
    for (const name of ['nanodet-gfl', 'yolo-fastestv2', 'yolox']) {
      for (const strides of [
        [8, 16, 32.5],
        [8, 0, 32],
        [8, 16, -32],
      ]) {
        const err = caught(() => createDecoder({ name, params: { strides } }));
        expect(err.code, `${name} ${strides}`).toBe('ERR_REGISTRY');
        expect(err.message).toMatch(
          new RegExp(`^Expected positive integers for decoder\\.params\\.strides \\(decoder "${name}"\\)`),
        );
      }
    }
    const anchors = caught(() =>
      createDecoder({ name: 'yolo-fastestv2', params: { anchors: [10, 10, 20, 20, 30, 30, 40, 40, 50, 50, 60, -60] } }),
    );
    expect(anchors.code).toBe('ERR_REGISTRY');
    expect(anchors.message).toMatch(
      /^Expected an array of 12 positive numbers for decoder\.params\.anchors \(decoder "yolo-fastestv2"\)/,
    );
    const unknown = caught(() => createDecoder({ name: 'fastestdet', params: { iou: 0.5 } }));
    expect(unknown.message).toBe(
      'Unknown parameter decoder.params.iou for decoder "fastestdet". Known: clsExponent, iouThreshold, multiLabel, objExponent, preNmsTopK, topK',
    );
  });
});

describe('non-finite model outputs', () => {
  // 64×64 input, yolox strides 8/16/32 → 84 rows × 7 columns; one good box in row 0
  const good = (): Float32Array => {
    const data = new Float32Array(84 * 7);
    data.set([0.5, 0.5, Math.log(2), Math.log(2), 0.9, 0.8, 0.1], 0);
    return data;
  };
  const classes = [
    { id: 1, name: 'a' },
    { id: 2, name: 'b' },
  ];
  const run = (data: Float32Array) =>
    decodeDetections(createDecoder({ name: 'yolox' }), [{ name: 'output', dims: [1, 84, 7], data }], {
      ...ctx(),
      classes,
    });
  it('decodes finite outputs (control)', () => {
    expect(run(good())[0].map((d) => d.categoryId)).toEqual([1, 2]);
  });
  it('a NaN or an infinity anywhere in an output is ERR_MODEL_OUTPUT naming the output and the index, never dropped or clipped silently', () => {
    const cases: [number, number, string][] = [
      [4, NaN, 'NaN'], // objectness of the good box: it would vanish
      [2, NaN, 'NaN'], // its log width: the box would be dropped as empty
      [7 * 10 + 4, Infinity, 'Infinity'], // another cell's objectness: a whole-canvas box
      [7 * 20 + 3, -Infinity, '-Infinity'],
    ];
    for (const [index, value, text] of cases) {
      const data = good();
      data[index] = value;
      const err = caught(() => run(data));
      expect(err, text).toBeInstanceOf(ShiftbenchError);
      expect(err.code).toBe('ERR_MODEL_OUTPUT');
      expect(err.message).toContain(`Model output "output" [1,84,7] holds ${text} at index ${index}`);
    }
  });
});
