/**
 * NanoDet (GFL head): per stride, class scores [N, C] (already a sigmoid) and box
 * distributions [N, 4·bins] (logits; sides left, top, right, bottom). The distance of a
 * side is the softmax expectation over the bins × stride, measured from the cell centre
 * ((col + 0.5)·stride, (row + 0.5)·stride). The ONNX NanoDet-m has 8 bins, the TF.js
 * NanoDet 11; `decodeGflLevels` is the pure function both adapters share.
 */
import { ParamReader } from './params.js';
import {
  CandidateCollector,
  type Candidates,
  outputMismatch,
  shapeText,
  splitBatch,
  type Decoder,
  type DecoderFactory,
  type RawOutput,
} from './types.js';
import { pushClasses } from './fastestdet.js';

/** One feature level of a GFL head, for one image. */
export interface GflLevel {
  stride: number;
  /** Row-major [cells, numClasses] class scores, already 0–1. */
  scores: ArrayLike<number>;
  /** Row-major [cells, 4·bins] distribution logits, sides in order left, top, right, bottom. */
  distributions: ArrayLike<number>;
}

export interface GflOptions {
  inputSizePx: { width: number; height: number };
  numClasses: number;
  /** Bins per side (reg_max + 1): 8 for NanoDet-m ONNX, 11 for the TF.js NanoDet. */
  bins: number;
  /** Candidates below this score are dropped (0–1). */
  scoreThreshold: number;
  /** Offset of the cell centre in cells (default 0.5: centre = (col + 0.5)·stride). */
  centerOffset?: number;
  /** Emit every class above the threshold (default true) or only the best one. */
  multiLabel?: boolean;
  /** Keep at most this many candidates, the highest scores (default 3000). */
  maxCandidates?: number;
}

/**
 * Decodes the levels of one image into candidates (xyxy in input pixels, scores, class
 * indices). The level's grid is ceil(width/stride) × ceil(height/stride), row-major;
 * throws RangeError when the arrays do not fit that grid.
 */
export function decodeGflLevels(levels: GflLevel[], opts: GflOptions): Candidates {
  const out = new CandidateCollector(opts.maxCandidates ?? 3000, opts.scoreThreshold);
  const { width, height } = opts.inputSizePx;
  const C = opts.numClasses;
  const bins = opts.bins;
  const offset = opts.centerOffset ?? 0.5;
  const multiLabel = opts.multiLabel ?? true;
  const probs = new Float64Array(bins);
  const dist = [0, 0, 0, 0];
  for (const level of levels) {
    const gw = Math.ceil(width / level.stride);
    const gh = Math.ceil(height / level.stride);
    const cells = gw * gh;
    if (level.scores.length !== cells * C || level.distributions.length !== cells * 4 * bins) {
      throw new RangeError(
        `GFL level of stride ${level.stride} needs ${cells}×${C} scores and ${cells}×${4 * bins} distribution values`,
      );
    }
    for (let cell = 0; cell < cells; cell++) {
      const sBase = cell * C;
      let maxScore = 0;
      for (let k = 0; k < C; k++) if (level.scores[sBase + k] > maxScore) maxScore = level.scores[sBase + k];
      if (!(maxScore >= out.minScore)) continue;
      const dBase = cell * 4 * bins;
      for (let side = 0; side < 4; side++) {
        const o = dBase + side * bins;
        let m = -Infinity;
        for (let b = 0; b < bins; b++) m = Math.max(m, level.distributions[o + b]);
        let sum = 0;
        for (let b = 0; b < bins; b++) sum += probs[b] = Math.exp(level.distributions[o + b] - m);
        let e = 0;
        for (let b = 0; b < bins; b++) e += (probs[b] / sum) * b;
        dist[side] = e * level.stride;
      }
      const row = Math.floor(cell / gw);
      const col = cell - row * gw;
      const cx = (col + offset) * level.stride;
      const cy = (row + offset) * level.stride;
      pushClasses(
        out,
        cx - dist[0],
        cy - dist[1],
        cx + dist[2],
        cy + dist[3],
        C,
        multiLabel,
        (k) => level.scores[sBase + k],
      );
    }
  }
  return out.finish();
}

/**
 * Pairs the raw outputs into levels by shape: an output whose last dim is numClasses holds
 * scores, one whose last dim is 4·bins holds distributions; the cell count gives the
 * stride. When numClasses equals 4·bins the output order (scores of every level, then
 * distributions) decides. Returns one level list per image or null when they do not fit.
 */
export function matchGflOutputs(
  outputs: RawOutput[],
  opts: {
    strides: number[];
    bins: number;
    numClasses: number;
    inputSizePx: { width: number; height: number };
    batchSize: number;
  },
): GflLevel[][] | null {
  const { strides, bins, numClasses, inputSizePx, batchSize } = opts;
  if (outputs.length !== 2 * strides.length) return null;
  const cellsOf = (s: number) => Math.ceil(inputSizePx.width / s) * Math.ceil(inputSizePx.height / s);
  const split = outputs.map((o) => splitBatch(o, 2, batchSize));
  if (split.some((s) => s === null)) return null;
  const parts = split as NonNullable<(typeof split)[number]>[];
  const levels: { scores?: RawOutput['data'][]; distributions?: RawOutput['data'][] }[] = strides.map(() => ({}));
  const ambiguous = numClasses === 4 * bins;
  for (let i = 0; i < parts.length; i++) {
    const [cells, last] = parts[i].dims;
    const level = strides.findIndex((s) => cellsOf(s) === cells);
    if (level < 0) return null;
    let kind: 'scores' | 'distributions';
    if (ambiguous) kind = i < strides.length ? 'scores' : 'distributions';
    else if (last === numClasses) kind = 'scores';
    else if (last === 4 * bins) kind = 'distributions';
    else return null;
    if (levels[level][kind]) return null;
    levels[level][kind] = parts[i].views;
  }
  if (levels.some((l) => !l.scores || !l.distributions)) return null;
  const perImage: GflLevel[][] = [];
  for (let b = 0; b < batchSize; b++) {
    perImage.push(
      strides.map((stride, i) => ({
        stride,
        scores: levels[i].scores![b] as ArrayLike<number>,
        distributions: levels[i].distributions![b] as ArrayLike<number>,
      })),
    );
  }
  return perImage;
}

export const createNanodetGflDecoder: DecoderFactory = (params) => {
  const p = new ParamReader('nanodet-gfl', params, ['strides', 'bins', 'centerOffset']);
  const common = p.common({ iouThreshold: 0.6, preNmsTopK: 3000 });
  const strides = p.strides([8, 16, 32]);
  const bins = p.integer('bins', 8, 2, 64);
  const centerOffset = p.number('centerOffset', 0.5, 0, 1);
  const decoder: Decoder = {
    name: 'nanodet-gfl',
    nmsIouThreshold: common.iouThreshold,
    preNmsTopK: common.preNmsTopK,
    topK: common.topK,
    params: { ...common, strides, bins, centerOffset },
    decode(outputs, ctx) {
      const levels = matchGflOutputs(outputs, {
        strides,
        bins,
        numClasses: ctx.numClasses,
        inputSizePx: ctx.inputSizePx,
        batchSize: ctx.batchSize,
      });
      if (!levels) {
        const cells = strides.map((s) => Math.ceil(ctx.inputSizePx.width / s) * Math.ceil(ctx.inputSizePx.height / s));
        const expected =
          `${2 * strides.length} outputs: per stride ${strides.join('/')} class scores ` +
          `${cells.map((n) => shapeText([1, n, ctx.numClasses])).join(' ')} ` +
          `and distributions ${cells.map((n) => shapeText([1, n, 4 * bins])).join(' ')} (4 sides × ${bins} bins)`;
        throw outputMismatch('nanodet-gfl', expected, outputs);
      }
      return levels.map((lv) =>
        decodeGflLevels(lv, {
          inputSizePx: ctx.inputSizePx,
          numClasses: ctx.numClasses,
          bins,
          scoreThreshold: ctx.scoreThreshold,
          centerOffset,
          multiLabel: common.multiLabel,
          maxCandidates: common.preNmsTopK,
        }),
      );
    },
  };
  return decoder;
};
