/**
 * Decoders for the outputs of the built-in TF.js models, in the shape of the shared
 * decoders (`../decoders`): raw outputs in, candidate boxes in input pixels out.
 *
 * - `centernet-detections`: CenterNet's in-graph decoding already did the max-pool
 *   peak picking and top-100; one output [1, K, 6] = x1, y1, x2, y2 (input pixels),
 *   score, class index. No NMS afterwards (CenterNet has none).
 * - `ssd-boxes`: the TF Object Detection API SSD as converted for coco-ssd: scores
 *   [1, N, C] (already sigmoid, C = 90 columns for COCO ids 1…90, no background
 *   column) and boxes [1, N, 1, 4] = ymin, xmin, ymax, xmax as fractions of the
 *   input. Class-wise NMS at IoU 0.6, as the Object Detection API's COCO configs do.
 *
 * Other names (`nanodet-gfl`, …) come from the shared decoder registry.
 */
import { ShiftbenchError, invalidParameterError } from '../../core/errors.js';
import { is } from '../../core/is.js';
import { Registry } from '../../core/registry.js';
import { ParamReader } from '../decoders/params.js';
import {
  createDecoder,
  emptyCandidates,
  outputMismatch,
  shapeText,
  splitBatch,
  type Candidates,
  type Decoder,
  type DecoderFactory,
} from '../decoders/index.js';

/** A decoder that may name the model outputs it needs (others are not read back from the backend). */
export interface TfjsDecoder extends Decoder {
  /** Output node names to fetch, or undefined for all model outputs. */
  readonly outputNames?: readonly string[];
}

export const createCenternetDecoder = (params: Record<string, unknown>): TfjsDecoder => {
  const p = new ParamReader('centernet-detections', params, ['output']);
  const common = p.common({ iouThreshold: null, preNmsTopK: 100 });
  if (params.output !== undefined && !is.string(params.output)) {
    throw invalidParameterError(
      'decoder.params.output (decoder "centernet-detections")',
      'an output node name',
      params.output,
      'ERR_REGISTRY',
    );
  }
  const output = (params.output as string | undefined) ?? 'tower_0/detections';
  return {
    name: 'centernet-detections',
    nmsIouThreshold: common.iouThreshold,
    preNmsTopK: common.preNmsTopK,
    topK: common.topK,
    params: { ...common, output },
    outputNames: [output],
    decode(outputs, ctx) {
      const out = outputs.find((o) => o.name === output) ?? (outputs.length === 1 ? outputs[0] : undefined);
      const split = out ? splitBatch(out, 2, ctx.batchSize) : null;
      if (!split || split.dims[1] !== 6) {
        throw outputMismatch(
          'centernet-detections',
          `one output "${output}" ${shapeText([ctx.batchSize, 100, 6])} (x1,y1,x2,y2,score,class)`,
          outputs,
        );
      }
      const rows = split.dims[0];
      return split.views.map((d): Candidates => {
        const c = emptyCandidates();
        for (let r = 0; r < rows; r++) {
          const o = r * 6;
          const score = Number(d[o + 4]);
          if (!(score >= ctx.scoreThreshold)) continue;
          const cls = Number(d[o + 5]);
          if (!Number.isInteger(cls) || cls < 0 || cls >= ctx.numClasses) {
            throw new ShiftbenchError(
              'ERR_MODEL_OUTPUT',
              `decoder "centernet-detections": output "${out!.name}" holds class ${cls} at row ${r} (score ` +
                `${score}), not a class index of the detector's ${ctx.numClasses} classes; check that the model ` +
                "emits class indices 0…N−1 in the order of the registry entry's classes (not category ids).",
            );
          }
          c.boxesXYXY.push(Number(d[o]), Number(d[o + 1]), Number(d[o + 2]), Number(d[o + 3]));
          c.scores.push(score);
          c.classIndices.push(cls);
        }
        return c;
      });
    },
  };
};

export const createSsdDecoder = (params: Record<string, unknown>): TfjsDecoder => {
  const p = new ParamReader('ssd-boxes', params, ['firstCategoryId']);
  const common = p.common({ iouThreshold: 0.6, preNmsTopK: 3000 });
  /** Category id of score column 0 (coco-ssd: column j is COCO id j + 1). */
  const firstCategoryId = p.integer('firstCategoryId', 1, 0);
  return {
    name: 'ssd-boxes',
    nmsIouThreshold: common.iouThreshold,
    preNmsTopK: common.preNmsTopK,
    topK: common.topK,
    params: { ...common, firstCategoryId },
    decode(outputs, ctx) {
      // Identify the two outputs by shape: boxes end in 4 with a singleton class dim.
      const boxesOut = outputs.find((o) => o.dims.length === 4 && o.dims[2] === 1 && o.dims[3] === 4);
      const scoresOut = outputs.find((o) => o !== boxesOut && o.dims.length === 3);
      const boxes = boxesOut ? splitBatch(boxesOut, 3, ctx.batchSize) : null;
      const scores = scoresOut ? splitBatch(scoresOut, 2, ctx.batchSize) : null;
      if (!boxes || !scores || boxes.dims[0] !== scores.dims[0]) {
        throw outputMismatch(
          'ssd-boxes',
          `scores ${shapeText([ctx.batchSize, 1917, 90])} and boxes ${shapeText([ctx.batchSize, 1917, 1, 4])} with ` +
            `the same anchor count`,
          outputs,
        );
      }
      const anchors = scores.dims[0];
      const columns = scores.dims[1];
      // score column → class index into the detector's classes (−1: a category it does not predict)
      const indexOfId = new Map(ctx.categoryIds.map((id, i) => [id, i]));
      const columnClass = Array.from({ length: columns }, (_, j) => indexOfId.get(j + firstCategoryId) ?? -1);
      const { width, height } = ctx.inputSizePx;
      return scores.views.map((s, b): Candidates => {
        const bx = boxes.views[b];
        const c = emptyCandidates();
        for (let a = 0; a < anchors; a++) {
          const y1 = Number(bx[4 * a]) * height;
          const x1 = Number(bx[4 * a + 1]) * width;
          const y2 = Number(bx[4 * a + 2]) * height;
          const x2 = Number(bx[4 * a + 3]) * width;
          for (let j = 0; j < columns; j++) {
            const score = Number(s[a * columns + j]);
            if (!(score >= ctx.scoreThreshold) || columnClass[j] < 0) continue;
            c.boxesXYXY.push(x1, y1, x2, y2);
            c.scores.push(score);
            c.classIndices.push(columnClass[j]);
          }
        }
        return c;
      });
    },
  };
};

/** Decoders only the TF.js adapter knows; other names are looked up in the shared registry. */
export const TFJS_DECODERS = new Registry<DecoderFactory>('TF.js decoder', 'ERR_REGISTRY')
  .register('centernet-detections', createCenternetDecoder)
  .register('ssd-boxes', createSsdDecoder);

/** Builds the decoder an entry names: TF.js-specific ones first, then the shared registry (throws ERR_REGISTRY). */
export function createTfjsDecoder(spec: { name: string; params?: Record<string, unknown> }): TfjsDecoder {
  if (TFJS_DECODERS.has(spec.name)) return TFJS_DECODERS.get(spec.name)(spec.params ?? {}) as TfjsDecoder;
  return createDecoder(spec);
}
