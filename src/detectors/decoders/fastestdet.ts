/**
 * FastestDet (dog-qiuqiu): one output [B, 5 + C, H, W] on an H×W grid. Channel 0 is
 * objectness (already a sigmoid), 1–4 are tx, ty, tw, th, then C class scores (already a
 * softmax). Score = obj^0.6 · cls^0.4; centre x = (col + tanh(tx)) / W, width =
 * sigmoid(tw), in fractions of the input.
 */
import { ParamReader } from './params.js';
import { CandidateCollector, outputMismatch, sigmoid, splitBatch, type Decoder, type DecoderFactory } from './types.js';

export const createFastestDetDecoder: DecoderFactory = (params) => {
  const p = new ParamReader('fastestdet', params, ['objExponent', 'clsExponent']);
  const common = p.common({ iouThreshold: 0.6 });
  const objExponent = p.number('objExponent', 0.6, 0, 10);
  const clsExponent = p.number('clsExponent', 0.4, 0, 10);
  const decoder: Decoder = {
    name: 'fastestdet',
    nmsIouThreshold: common.iouThreshold,
    preNmsTopK: common.preNmsTopK,
    topK: common.topK,
    params: { ...common, objExponent, clsExponent },
    decode(outputs, ctx) {
      const classes = ctx.numClasses;
      const expected = `one output [B,${5 + classes},H,W] (objectness, tx, ty, tw, th, ${classes} class scores)`;
      if (outputs.length !== 1) throw outputMismatch('fastestdet', expected, outputs);
      const split = splitBatch(outputs[0], 3, ctx.batchSize);
      if (!split || split.dims[0] !== 5 + ctx.numClasses) throw outputMismatch('fastestdet', expected, outputs);
      const [, gh, gw] = split.dims;
      const plane = gh * gw;
      const { width, height } = ctx.inputSizePx;
      return split.views.map((d) => {
        const out = new CandidateCollector(common.preNmsTopK, ctx.scoreThreshold);
        for (let cell = 0; cell < plane; cell++) {
          const obj = Number(d[cell]);
          const objPart = Math.pow(obj, objExponent);
          if (!(objPart >= out.minScore)) continue; // class part ≤ 1
          const row = Math.floor(cell / gw);
          const col = cell - row * gw;
          const cx = ((col + Math.tanh(Number(d[plane + cell]))) / gw) * width;
          const cy = ((row + Math.tanh(Number(d[2 * plane + cell]))) / gh) * height;
          const w = sigmoid(Number(d[3 * plane + cell])) * width;
          const h = sigmoid(Number(d[4 * plane + cell])) * height;
          pushClasses(
            out,
            cx - w / 2,
            cy - h / 2,
            cx + w / 2,
            cy + h / 2,
            ctx.numClasses,
            common.multiLabel,
            (k) => objPart * Math.pow(Number(d[(5 + k) * plane + cell]), clsExponent),
          );
        }
        return out.finish();
      });
    },
  };
  return decoder;
};

/**
 * Offers one box's candidates to the collector: every class whose score can still
 * enter (multi-label, as COCO evaluation code usually does), or only the best class.
 */
export function pushClasses(
  out: CandidateCollector,
  x1: number,
  y1: number,
  x2: number,
  y2: number,
  numClasses: number,
  multiLabel: boolean,
  scoreOf: (k: number) => number,
): void {
  if (multiLabel) {
    for (let k = 0; k < numClasses; k++) {
      const s = scoreOf(k);
      if (s >= out.minScore) out.add(x1, y1, x2, y2, s, k);
    }
    return;
  }
  let best = -1;
  let bestScore = -Infinity;
  for (let k = 0; k < numClasses; k++) {
    const s = scoreOf(k);
    if (s > bestScore) {
      bestScore = s;
      best = k;
    }
  }
  if (best >= 0) out.add(x1, y1, x2, y2, bestScore, best);
}
