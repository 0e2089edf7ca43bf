/**
 * Decoders turn raw model outputs into detections. `DECODERS` is the registry by
 * name; `finalizeCandidates` applies pre-NMS top-k, class-wise NMS, top-k, clipping to
 * the input and the class → category id mapping, the same way for every decoder.
 */
import { invalidParameterError, ShiftbenchError } from '../../core/errors.js';
import { Registry } from '../../core/registry.js';
import type { CocoCategory, Detection, RgbImage } from '../../core/types.js';
import { createFastestDetDecoder } from './fastestdet.js';
import { createNanodetGflDecoder } from './nanodet-gfl.js';
import { nms } from './nms.js';
import { createTorchvisionDecoder } from './torchvision.js';
import {
  shapeText,
  type Candidates,
  type DecodeContext,
  type Decoder,
  type DecoderFactory,
  type RawOutput,
} from './types.js';
import { createYoloFastestV2Decoder } from './yolo-fastestv2.js';
import { createYoloxDecoder } from './yolox.js';

export * from './types.js';
export { nms, iouXYXY, NMS_DEFAULTS, type NmsOptions } from './nms.js';
export { decodeGflLevels, matchGflOutputs, type GflLevel, type GflOptions } from './nanodet-gfl.js';
export { YOLO_FASTESTV2_ANCHORS } from './yolo-fastestv2.js';
export { YOLOX_NMS_IOU, YOLOX_STRIDES } from './yolox.js';
export { ParamReader } from './params.js';

/** Decoders by name, as a registry entry's `decoder.name` refers to them (unknown name → ERR_REGISTRY listing them). */
export const DECODERS = new Registry<DecoderFactory>('decoder', 'ERR_REGISTRY')
  .register('fastestdet', createFastestDetDecoder)
  .register('yolo-fastestv2', createYoloFastestV2Decoder)
  .register('nanodet-gfl', createNanodetGflDecoder)
  .register('yolox', createYoloxDecoder)
  .register('torchvision', createTorchvisionDecoder);

/** Builds the decoder a registry entry names, validating its params (throws ERR_REGISTRY). */
export function createDecoder(spec: { name: string; params?: Record<string, unknown> }): Decoder {
  return DECODERS.get(spec.name)(spec.params ?? {});
}

/** Keeps the `k` highest-scoring candidates (ties: earlier first); returns the input when it has ≤ k. */
export function topKCandidates(c: Candidates, k: number): Candidates {
  const n = c.scores.length;
  if (n <= k) return c;
  const order = Array.from({ length: n }, (_, i) => i)
    .sort((a, b) => c.scores[b] - c.scores[a] || a - b)
    .slice(0, k);
  const out: Candidates = { boxesXYXY: [], scores: [], classIndices: [] };
  for (const i of order) {
    out.boxesXYXY.push(c.boxesXYXY[4 * i], c.boxesXYXY[4 * i + 1], c.boxesXYXY[4 * i + 2], c.boxesXYXY[4 * i + 3]);
    out.scores.push(c.scores[i]);
    out.classIndices.push(c.classIndices[i]);
  }
  return out;
}

export interface FinalizeOptions {
  /** Class-wise NMS IoU threshold, or null for none. */
  nmsIouThreshold: number | null;
  /** Candidates kept before NMS (highest scores). */
  preNmsTopK: number;
  /** Detections kept after NMS. */
  topK: number;
  /** Boxes are clipped to [0, width] × [0, height] (unless clipBoxes is false). */
  inputSizePx: { width: number; height: number };
  /** False: boxes are not clipped (default true). */
  clipBoxes?: boolean;
  classes: readonly CocoCategory[];
}

/**
 * Candidates of one image → detections in input pixels (bbox XYWH, categoryId from
 * `classes`), sorted by descending score. Boxes that are empty after clipping are dropped.
 */
export function finalizeCandidates(c: Candidates, opts: FinalizeOptions): Detection[] {
  const pre = topKCandidates(c, opts.preNmsTopK);
  let src = pre;
  let keep: number[];
  if (opts.nmsIouThreshold === null) {
    src = topKCandidates(pre, opts.topK);
    keep = src.scores.map((_, i) => i);
  } else {
    keep = nms(pre.boxesXYXY, pre.scores, pre.classIndices, { iouThreshold: opts.nmsIouThreshold, topK: opts.topK });
  }
  const { width, height } = opts.clipBoxes === false ? { width: Infinity, height: Infinity } : opts.inputSizePx;
  const lo = opts.clipBoxes === false ? -Infinity : 0;
  const out: Detection[] = [];
  for (const i of keep) {
    const x1 = Math.min(Math.max(src.boxesXYXY[4 * i], lo), width);
    const y1 = Math.min(Math.max(src.boxesXYXY[4 * i + 1], lo), height);
    const x2 = Math.min(Math.max(src.boxesXYXY[4 * i + 2], lo), width);
    const y2 = Math.min(Math.max(src.boxesXYXY[4 * i + 3], lo), height);
    if (!(x2 > x1 && y2 > y1)) continue;
    out.push({
      bbox: [x1, y1, x2 - x1, y2 - y1],
      score: src.scores[i],
      categoryId: opts.classes[src.classIndices[i]].id,
    });
  }
  out.sort((a, b) => b.score - a.score);
  return out;
}

/**
 * Throws ERR_MODEL_OUTPUT at the first NaN or ±Infinity in a floating-point output: decoders
 * would otherwise drop such a candidate (NaN fails every score and size test) or clip an
 * infinite box to the whole input, silently.
 */
export function assertFiniteOutputs(outputs: readonly RawOutput[]): void {
  for (const o of outputs) {
    const d = o.data;
    if (!(d instanceof Float32Array || d instanceof Float64Array)) continue;
    for (let i = 0; i < d.length; i++) {
      const v = d[i];
      if (v - v !== 0) {
        throw new ShiftbenchError(
          'ERR_MODEL_OUTPUT',
          `Model output "${o.name}" ${shapeText(o.dims)} holds ${v} at index ${i}: the model produced a non-finite ` +
            `value, so its detections would be garbage. Check the entry's normalize and colorOrder (the input the ` +
            `model expects), the model file, and the execution provider or backend (a reduced-precision kernel can ` +
            `overflow).`,
        );
      }
    }
  }
}

/**
 * Raw model outputs of a batch → detections per image: the decoder, then its top-k, NMS
 * and clipping (`finalizeCandidates`). The one path every runtime adapter takes.
 * Throws ERR_MODEL_OUTPUT when the outputs do not fit the decoder or hold a NaN or an infinity.
 */
export function decodeDetections(
  decoder: Decoder,
  outputs: RawOutput[],
  ctx: DecodeContext & { classes: readonly CocoCategory[] },
): Detection[][] {
  const candidates = decoder.decode(outputs, ctx);
  assertFiniteOutputs(outputs);
  return candidates.map((c) =>
    finalizeCandidates(c, {
      nmsIouThreshold: decoder.nmsIouThreshold,
      preNmsTopK: decoder.preNmsTopK,
      topK: decoder.topK,
      inputSizePx: ctx.inputSizePx,
      clipBoxes: decoder.clipBoxes,
      classes: ctx.classes,
    }),
  );
}

/** An input filled with the pad colour: what adapters warm up on (compiles kernels, checks outputs). */
export function blankInput(width: number, height: number, padValue: readonly [number, number, number]): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i += 3) data.set(padValue, i);
  return { width, height, data };
}

/**
 * A deterministic textured input (pseudo-random pixels), so that a batch probe holds two
 * different images: a graph that mixes the images of a batch cannot hide behind identical ones.
 */
function probeInput(width: number, height: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i++) data[i] = Math.imul(i + 1, 2654435761) >>> 24;
  return { width, height, data };
}

/**
 * Whether a model whose batch dim is declared dynamic may batch: a batch of two different images (the warm-up's
 * blank and a textured probe) must run and give what each gives alone, bit for bit. A dynamic dim does not promise
 * either (fixed reshapes; outputs that mix the batch, e.g. BatchNorm exported in training mode). Returns null when
 * it may, else why not, as the end of "declares a dynamic batch size but …" for the adapter's log line.
 */
export async function batchProbe(
  run: (images: RgbImage[]) => Promise<Detection[][]>,
  blank: RgbImage,
  blankDetections: readonly Detection[][],
): Promise<string | null> {
  const probe = probeInput(blank.width, blank.height);
  try {
    const batched = await run([blank, probe]);
    const single = [...blankDetections, ...(await run([probe]))];
    return sameDetections(batched, single) ? null : 'a batch of 2 gives other detections than one input per call';
  } catch (err) {
    return `fails on a batch of 2 (${(err as Error).message.split('\n')[0].slice(0, 160)})`;
  }
}

/** Whether two detection lists are identical (boxes, scores and categories, bit for bit, in order). */
export function sameDetections(a: readonly Detection[][], b: readonly Detection[][]): boolean {
  return (
    a.length === b.length &&
    a.every(
      (list, i) =>
        list.length === b[i].length &&
        list.every((d, j) => {
          const e = b[i][j];
          return (
            d.score === e.score && d.categoryId === e.categoryId && d.bbox.every((v, k) => Object.is(v, e.bbox[k]))
          );
        }),
    )
  );
}

/**
 * Checks that every input has the model input size (fitting is the runner's job; throws
 * ERR_INVALID_OPTION naming the detector and the input), then runs the batch in chunks
 * of at most `maxBatch` inputs. Shared by the runtime adapters.
 */
export async function detectInChunks(
  detectorName: string,
  inputSizePx: { width: number; height: number },
  maxBatch: number,
  batch: RgbImage[],
  runBatch: (chunk: RgbImage[]) => Promise<Detection[][]>,
): Promise<Detection[][]> {
  const { width, height } = inputSizePx;
  batch.forEach((img, i) => {
    if (img.width !== width || img.height !== height || img.data.length !== width * height * 3) {
      throw invalidParameterError(
        `batch[${i}] of detector "${detectorName}"`,
        `an RGB image of ${width}×${height} (the model input size; fitting is the runner's job)`,
        `${img.width}×${img.height} with ${img.data.length} bytes`,
      );
    }
  });
  const out: Detection[][] = [];
  for (let i = 0; i < batch.length; i += maxBatch) out.push(...(await runBatch(batch.slice(i, i + maxBatch))));
  return out;
}
