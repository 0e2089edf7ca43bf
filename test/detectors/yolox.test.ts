/**
 * The `yolox` decoder on hand-made output tensors whose detections are known: grid
 * order (stride 8, 16, 32; y outer, x inner), centre = (v + cell)·stride, size =
 * exp(v)·stride, score = objectness · class probability, class-wise NMS at IoU 0.65.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { COCO_CATEGORIES } from '../../src/core/coco.js';
import { ShiftbenchError } from '../../src/core/errors.js';
import { decodeDetections } from '../../src/detectors/decoders/index.js';
import { createDecoder, readRegistry, type DecodeContext, type RawOutput } from '../../src/detectors/index.js';
import { makeShiftedInputs, parseShiftSet, projectBack } from '../../src/shifts/index.js';
import { REPO_ROOT } from '../helpers/shared.js';

// 64×64 input, strides 8/16/32 → grids 8×8, 4×4, 2×2 = 84 rows; 2 classes → 7 columns
const ROWS = 64 + 16 + 4;
const COLS = 7;
const ctx: DecodeContext = {
  inputSizePx: { width: 64, height: 64 },
  batchSize: 1,
  numClasses: 2,
  scoreThreshold: 0.001,
  categoryIds: [1, 2],
};
const classes = COCO_CATEGORIES.slice(0, 2);

/** Writes one cell's row: offsets, log sizes, objectness, class probabilities. */
function setRow(data: Float32Array, row: number, v: number[]): void {
  data.set(v, row * COLS);
}

/**
 * Three boxes, each 32×16 px centred at y = 20:
 * A (stride 16, cell x 2, y 1): centre x 40 → [24, 12, 56, 28], obj 0.9, classes 0.2 / 0.8;
 * B (stride 8, cell x 5, y 2): centre x 47.5 → [31.5, 12, 63.5, 28], IoU with A 24.5/39.5 = 0.620, obj 0.5, classes 0.1 / 0.9;
 * C (stride 32, cell x 1, y 0): centre x 41 → [25, 12, 57, 28], IoU with A 31/33 = 0.939, obj 0.6, classes 0.01 / 0.5.
 */
function output(batch = 1): RawOutput {
  const data = new Float32Array(batch * ROWS * COLS);
  for (let b = 0; b < batch; b++) {
    const view = data.subarray(b * ROWS * COLS);
    setRow(view, 64 + 1 * 4 + 2, [0.5, 0.25, Math.log(2), 0, 0.9, 0.2, 0.8]);
    setRow(view, 2 * 8 + 5, [0.9375, 0.5, Math.log(4), Math.log(2), 0.5, 0.1, 0.9]);
    setRow(view, 80 + 0 * 2 + 1, [0.28125, 0.625, 0, Math.log(0.5), 0.6, 0.01, 0.5]);
  }
  return { name: 'output', dims: [batch, ROWS, COLS], data };
}

function caught(fn: () => unknown): ShiftbenchError {
  try {
    fn();
  } catch (err) {
    return err as ShiftbenchError;
  }
  throw new Error('expected a throw');
}

describe('yolox decoder', () => {
  it('decodes (v + cell)·stride and exp(v)·stride on each grid, score obj·cls, multi-label', () => {
    const [c] = createDecoder({ name: 'yolox' }).decode([output()], ctx);
    // candidates in grid order: B (stride 8) first, then A (16), then C (32); two classes each
    expect(c.classIndices).toEqual([0, 1, 0, 1, 0, 1]);
    const expectScores = [0.05, 0.45, 0.18, 0.72, 0.006, 0.3];
    expectScores.forEach((s, i) => expect(c.scores[i]).toBeCloseTo(s, 6));
    const boxes = [
      [31.5, 12, 63.5, 28],
      [24, 12, 56, 28],
      [25, 12, 57, 28],
    ];
    boxes.forEach((box, k) => box.forEach((v, j) => expect(c.boxesXYXY[8 * k + j]).toBeCloseTo(v, 4)));
  });

  it('keeps B (IoU 0.620 < 0.65) and suppresses C (IoU 0.939) under the default class-wise NMS', () => {
    const dets = decodeDetections(createDecoder({ name: 'yolox' }), [output()], { ...ctx, classes });
    expect(dets).toHaveLength(1);
    const got = dets[0].map((d) => ({
      cat: d.categoryId,
      score: Number(d.score.toFixed(6)),
      bbox: d.bbox.map((v) => Number(v.toFixed(4))),
    }));
    expect(got).toEqual([
      { cat: 2, score: 0.72, bbox: [24, 12, 32, 16] },
      { cat: 2, score: 0.45, bbox: [31.5, 12, 32, 16] },
      { cat: 1, score: 0.18, bbox: [24, 12, 32, 16] },
      { cat: 1, score: 0.05, bbox: [31.5, 12, 32, 16] },
    ]);
  });

  it('suppresses B too at iouThreshold 0.6, and keeps only the best class with multiLabel false', () => {
    const strict = decodeDetections(createDecoder({ name: 'yolox', params: { iouThreshold: 0.6 } }), [output()], {
      ...ctx,
      classes,
    });
    expect(strict[0].map((d) => [d.categoryId, Number(d.score.toFixed(6))])).toEqual([
      [2, 0.72],
      [1, 0.18],
    ]);
    const single = createDecoder({ name: 'yolox', params: { multiLabel: false } }).decode([output(2)], {
      ...ctx,
      batchSize: 2,
    });
    expect(single).toHaveLength(2);
    for (const c of single) expect(c.classIndices).toEqual([1, 1, 1]);
  });

  it('drops cells whose objectness is below the score threshold before decoding them', () => {
    const [c] = createDecoder({ name: 'yolox' }).decode([output()], { ...ctx, scoreThreshold: 0.55 });
    expect(c.classIndices).toEqual([1]);
    expect(c.scores[0]).toBeCloseTo(0.72, 6);
  });

  it('reads a batch-less [cells, 5 + C] output for one image', () => {
    const o = output();
    const [c] = createDecoder({ name: 'yolox' }).decode([{ ...o, dims: [ROWS, COLS] }], ctx);
    expect(c.scores).toHaveLength(6);
  });

  it('rejects outputs of another shape with expected vs found (YOLOX-nano at 416: [1,3549,85])', () => {
    const wrong: RawOutput = { name: 'output', dims: [1, 3549, 84], data: new Float32Array(3549 * 84) };
    const err = caught(() =>
      createDecoder({ name: 'yolox' }).decode([wrong], {
        ...ctx,
        inputSizePx: { width: 416, height: 416 },
        numClasses: 80,
      }),
    );
    expect(err.code).toBe('ERR_MODEL_OUTPUT');
    expect(err.message).toContain('expected one output [B,3549,85]');
    expect(err.message).toContain('but found "output" [1,3549,84]');
    const two = caught(() => createDecoder({ name: 'yolox' }).decode([output(), output()], ctx));
    expect(two.code).toBe('ERR_MODEL_OUTPUT');
  });

  it('rejects bad strides and unknown params naming them', () => {
    const bad = caught(() => createDecoder({ name: 'yolox', params: { strides: [8, 0.5] } }));
    expect(bad.code).toBe('ERR_REGISTRY');
    expect(bad.message).toContain('decoder.params.strides (decoder "yolox")');
    const unknown = caught(() => createDecoder({ name: 'yolox', params: { anchors: [1, 2] } }));
    expect(unknown.code).toBe('ERR_REGISTRY');
    expect(unknown.message).toContain('Unknown parameter decoder.params.anchors for decoder "yolox"');
  });
});

describe("yolox-nano fixture entry: YOLOX preprocessing through the runner's fit", () => {
  const entry = readRegistry([path.join(REPO_ROOT, 'test/fixtures/registry-shared.json')]).find(
    (e) => e.name === 'yolox-nano',
  )!;
  // a 640×426 photo (COCO 139's size), every pixel (10, 20, 30)
  const photo = { width: 640, height: 426, data: new Uint8Array(640 * 426 * 3).map((_, i) => [10, 20, 30][i % 3]) };

  it('is BGR 0–255, letterbox at the top-left with pad 114, decoder yolox', () => {
    expect(entry).toMatchObject({
      inputSizePx: { width: 416, height: 416 },
      colorOrder: 'BGR',
      normalize: { mean: [0, 0, 0], std: [1, 1, 1] },
      fit: 'letterbox',
      padValue: [114, 114, 114],
      decoder: { name: 'yolox' },
    });
  });

  it('unshifted (circular, (0,0)): the photo resized by r = 416/640 at the top-left, 114 below; boxes come back ÷ r, no offset', async () => {
    const opts = {
      inputSizePx: entry.inputSizePx,
      fit: entry.fit,
      padValue: entry.padValue!,
      mode: 'circular' as const,
    };
    const si = await makeShiftedInputs(photo, { ...opts, shiftSet: parseShiftSet('grid:1') });
    expect(si.fittedSizePx).toEqual({ width: 416, height: 277 }); // round(426 · 0.65) = 277
    const input = si.input(0);
    const at = (x: number, y: number) => Array.from(input.data.subarray((y * 416 + x) * 3, (y * 416 + x) * 3 + 3));
    expect(at(0, 0)).toEqual([10, 20, 30]);
    expect(at(415, 276)).toEqual([10, 20, 30]);
    expect(at(0, 277)).toEqual([114, 114, 114]);
    expect(at(415, 415)).toEqual([114, 114, 114]);
    const [back] = projectBack([{ bbox: [65, 13, 130, 26], score: 0.9, categoryId: 1 }], si.transforms[0], 139);
    expect(back.bbox[0]).toBeCloseTo(65 / 0.65, 9);
    expect(back.bbox[1]).toBeCloseTo(13 / (277 / 426), 9);
    expect(back.bbox[2]).toBeCloseTo(130 / 0.65, 9);
    expect(back.bbox[3]).toBeCloseTo(26 / (277 / 426), 9);
  });

  it('pad mode, shift (1, 1): the fit into 415×415 moves by one pixel; a box comes back as (b − 1) ÷ r', async () => {
    const si = await makeShiftedInputs(photo, {
      inputSizePx: entry.inputSizePx,
      fit: entry.fit,
      padValue: entry.padValue!,
      mode: 'pad',
      shiftSet: parseShiftSet('grid:1'),
    });
    const r = 415 / 640;
    expect(si.fittedSizePx).toEqual({ width: 415, height: Math.round(426 * r) });
    const input = si.input(3);
    const at = (x: number, y: number) => Array.from(input.data.subarray((y * 416 + x) * 3, (y * 416 + x) * 3 + 3));
    expect(at(0, 0)).toEqual([114, 114, 114]);
    expect(at(1, 1)).toEqual([10, 20, 30]);
    const [back] = projectBack([{ bbox: [66, 14, 130, 26], score: 0.9, categoryId: 1 }], si.transforms[3], 139);
    expect(back.bbox[0]).toBeCloseTo(65 / r, 9);
    expect(back.bbox[2]).toBeCloseTo(130 / r, 9);
  });
});
