/**
 * Yolo-FastestV2: one output [cells, 5A + C] (optionally with a batch dim): rows are the
 * cells of each stride's grid, row-major, stride by stride (16 then 32 by default);
 * columns are A anchors × (x, y, w, h), then A objectness values, then C class scores
 * shared by the anchors of a cell, all already squashed to 0–1. Centre =
 * (2v − 0.5 + cell) · stride, size = (2v)² · anchor, score = obj · cls (upstream's
 * `conf = obj_conf * cls_conf`).
 */
import { pushClasses } from './fastestdet.js';
import { ParamReader } from './params.js';
import { CandidateCollector, outputMismatch, splitBatch, type Decoder, type DecoderFactory } from './types.js';

/** Upstream COCO anchors (w, h in input pixels), three per stride: stride 16, then 32. */
export const YOLO_FASTESTV2_ANCHORS = [
  12.64, 19.39, 37.88, 51.48, 55.71, 138.31, 126.91, 78.23, 131.57, 214.55, 279.92, 258.87,
];

export const createYoloFastestV2Decoder: DecoderFactory = (params) => {
  const p = new ParamReader('yolo-fastestv2', params, [
    'strides',
    'anchors',
    'anchorsPerCell',
    'objExponent',
    'clsExponent',
  ]);
  const common = p.common({ iouThreshold: 0.6 });
  const strides = p.strides([16, 32]);
  const anchorsPerCell = p.integer('anchorsPerCell', 3, 1, 16);
  const anchors = p.numbers('anchors', YOLO_FASTESTV2_ANCHORS, strides.length * anchorsPerCell * 2, true);
  const objExponent = p.number('objExponent', 1, 0, 10);
  const clsExponent = p.number('clsExponent', 1, 0, 10);
  const A = anchorsPerCell;
  const decoder: Decoder = {
    name: 'yolo-fastestv2',
    nmsIouThreshold: common.iouThreshold,
    preNmsTopK: common.preNmsTopK,
    topK: common.topK,
    params: { ...common, strides, anchorsPerCell, anchors, objExponent, clsExponent },
    decode(outputs, ctx) {
      const { width, height } = ctx.inputSizePx;
      const grids = strides.map((s) => ({ stride: s, gw: Math.ceil(width / s), gh: Math.ceil(height / s) }));
      const rows = grids.reduce((n, g) => n + g.gw * g.gh, 0);
      const cols = 5 * A + ctx.numClasses;
      const expected =
        `one output [${rows},${cols}] (cells of strides ${strides.join('/')} × ${A} anchors × ` +
        `(x,y,w,h) + ${A} objectness + ${ctx.numClasses} classes)`;
      if (outputs.length !== 1) throw outputMismatch('yolo-fastestv2', expected, outputs);
      const split = splitBatch(outputs[0], 2, ctx.batchSize);
      if (!split || split.dims[0] !== rows || split.dims[1] !== cols)
        throw outputMismatch('yolo-fastestv2', expected, outputs);
      return split.views.map((d) => {
        const out = new CandidateCollector(common.preNmsTopK, ctx.scoreThreshold);
        let row = 0;
        grids.forEach((g, level) => {
          for (let cy = 0; cy < g.gh; cy++) {
            for (let cx = 0; cx < g.gw; cx++, row++) {
              const base = row * cols;
              for (let a = 0; a < A; a++) {
                const objPart = Math.pow(Number(d[base + 4 * A + a]), objExponent);
                if (!(objPart >= out.minScore)) continue;
                const bx = (Number(d[base + 4 * a]) * 2 - 0.5 + cx) * g.stride;
                const by = (Number(d[base + 4 * a + 1]) * 2 - 0.5 + cy) * g.stride;
                const bw = (Number(d[base + 4 * a + 2]) * 2) ** 2 * anchors[2 * (level * A + a)];
                const bh = (Number(d[base + 4 * a + 3]) * 2) ** 2 * anchors[2 * (level * A + a) + 1];
                pushClasses(
                  out,
                  bx - bw / 2,
                  by - bh / 2,
                  bx + bw / 2,
                  by + bh / 2,
                  ctx.numClasses,
                  common.multiLabel,
                  (k) => objPart * Math.pow(Number(d[base + 5 * A + k]), clsExponent),
                );
              }
            }
          }
        });
        return out.finish();
      });
    },
  };
  return decoder;
};
