/**
 * YOLOX (Megvii), exported without in-graph decoding: one output [B, cells, 5 + C].
 * Rows are the cells of each stride's grid (8, 16, 32 by default), row by row (y outer,
 * x inner), stride after stride. Columns 0–1 are centre offsets, centre = (v + col) ·
 * stride (likewise y with the row); columns 2–3 log sizes, width = exp(v) · stride;
 * column 4 objectness and then C class probabilities, both already sigmoid-activated.
 * Score = objectness · class probability. Boxes come out in input pixels.
 */
import { pushClasses } from './fastestdet.js';
import { ParamReader } from './params.js';
import { CandidateCollector, outputMismatch, splitBatch, type Decoder, type DecoderFactory } from './types.js';

/** YOLOX's strides: its three feature maps (P3, P4, P5). */
export const YOLOX_STRIDES = [8, 16, 32];

/** YOLOX's class-wise NMS IoU threshold in its COCO evaluation (the demo uses 0.45). */
export const YOLOX_NMS_IOU = 0.65;

export const createYoloxDecoder: DecoderFactory = (params) => {
  const p = new ParamReader('yolox', params, ['strides']);
  const common = p.common({ iouThreshold: YOLOX_NMS_IOU });
  const strides = p.strides(YOLOX_STRIDES);
  const decoder: Decoder = {
    name: 'yolox',
    nmsIouThreshold: common.iouThreshold,
    preNmsTopK: common.preNmsTopK,
    topK: common.topK,
    params: { ...common, strides },
    decode(outputs, ctx) {
      const { width, height } = ctx.inputSizePx;
      const grids = strides.map((s) => ({ stride: s, gw: Math.ceil(width / s), gh: Math.ceil(height / s) }));
      const rows = grids.reduce((n, g) => n + g.gw * g.gh, 0);
      const cols = 5 + ctx.numClasses;
      const expected =
        `one output [B,${rows},${cols}] (cells of strides ${strides.join('/')} on a ${width}×${height} input × ` +
        `(cx, cy, log w, log h, objectness, ${ctx.numClasses} class probabilities))`;
      if (outputs.length !== 1) throw outputMismatch('yolox', expected, outputs);
      const split = splitBatch(outputs[0], 2, ctx.batchSize);
      if (!split || split.dims[0] !== rows || split.dims[1] !== cols) throw outputMismatch('yolox', expected, outputs);
      return split.views.map((d) => {
        const out = new CandidateCollector(common.preNmsTopK, ctx.scoreThreshold);
        let row = 0;
        for (const g of grids) {
          for (let gy = 0; gy < g.gh; gy++) {
            for (let gx = 0; gx < g.gw; gx++, row++) {
              const base = row * cols;
              const obj = Number(d[base + 4]);
              if (!(obj >= out.minScore)) continue; // class probability ≤ 1
              const cx = (Number(d[base]) + gx) * g.stride;
              const cy = (Number(d[base + 1]) + gy) * g.stride;
              const w = Math.exp(Number(d[base + 2])) * g.stride;
              const h = Math.exp(Number(d[base + 3])) * g.stride;
              pushClasses(
                out,
                cx - w / 2,
                cy - h / 2,
                cx + w / 2,
                cy + h / 2,
                ctx.numClasses,
                common.multiLabel,
                (k) => obj * Number(d[base + 5 + k]),
              );
            }
          }
        }
        return out.finish();
      });
    },
  };
  return decoder;
};
