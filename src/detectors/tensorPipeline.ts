/**
 * The path every tensor-in, tensors-out detector shares, whatever runs the model (ONNX
 * Runtime here, a KServe/Triton server over HTTP): RGB8 inputs → the entry's input
 * tensor (colour order, layout, normalisation) → the model → raw outputs → the entry's
 * decoder, top-k, NMS and clipping → detections in input pixels.
 */
import { ShiftbenchError } from '../core/errors.js';
import type { CocoCategory, Detection, ModelEntry, RgbImage } from '../core/types.js';
import { createDecoder, decodeDetections, type Decoder, type RawOutput } from './decoders/index.js';
import { fillFloatInput, fillUint8Input, inputDims, inputFormatOf } from './onnx/preprocess.js';
import { entryClasses, isRawNormalize } from './registry.js';

/** Default score threshold of every real detector (COCO evaluation wants a low one). */
export const DEFAULT_SCORE_THRESHOLD = 0.001;

/** Element types of the input tensors shiftbench feeds. */
export type InputElementType = 'float32' | 'uint8';

/** One input tensor: flat data and its dims ([n, 3, H, W] or [n, H, W, 3]). */
export interface InputTensor {
  data: Float32Array | Uint8Array;
  dims: number[];
}

/** The entry's preprocessing and decoding, ready to run (see createTensorPipeline). */
export interface TensorPipeline {
  readonly decoder: Decoder;
  readonly classes: CocoCategory[];
  readonly inputType: InputElementType;
  readonly scoreThreshold: number;
  /** The per-image input dims the entry implies, with the batch as 'B' ([B,3,H,W] for NCHW). */
  readonly expectedDims: (number | 'B')[];
  /**
   * The input tensor of `images`; written into `out` when given (length n·3·W·H, of the input type), else a new array.
   */
  toTensor(images: readonly RgbImage[], out?: Float32Array | Uint8Array): InputTensor;
  /**
   * Raw outputs of a batch of `batchSize` inputs → detections per input (throws ERR_MODEL_OUTPUT when they do not fit).
   */
  decode(outputs: RawOutput[], batchSize: number): Detection[][];
}

/**
 * Builds the pipeline of a registry entry: its decoder (validated: ERR_REGISTRY), classes,
 * and input format. `inputType` is what the model takes; `scoreThreshold` drops candidates
 * before NMS.
 */
export function createTensorPipeline(
  entry: ModelEntry,
  inputType: InputElementType,
  scoreThreshold: number,
): TensorPipeline {
  // a uint8 input takes the pixels as they are: a mean/std would be recorded in the run identity but never applied
  if (inputType === 'uint8' && !isRawNormalize(entry.normalize))
    throw new ShiftbenchError(
      'ERR_REGISTRY',
      `Model "${entry.name}" takes uint8 input (raw 0–255 pixels; the model normalises inside), so its entry's ` +
        `normalize (mean [${entry.normalize.mean.join(', ')}], std [${entry.normalize.std.join(', ')}]) cannot be ` +
        `applied. Write "normalize": { "mean": [0, 0, 0], "std": [1, 1, 1] } in its registry entry, or use a ` +
        `float32-input export of the model.`,
    );
  const decoder = createDecoder(entry.decoder);
  const classes = entryClasses(entry);
  const categoryIds = classes.map((c) => c.id);
  const { width, height } = entry.inputSizePx;
  const fmt = inputFormatOf(entry);
  return {
    decoder,
    classes,
    inputType,
    scoreThreshold,
    expectedDims: inputDims(fmt, 'B'),
    toTensor(images, out) {
      const size = images.length * 3 * width * height;
      const data = out ?? (inputType === 'uint8' ? new Uint8Array(size) : new Float32Array(size));
      if (data instanceof Float32Array) fillFloatInput(images, fmt, data);
      else fillUint8Input(images, fmt, data);
      return { data, dims: inputDims(fmt, images.length) };
    },
    decode(outputs, batchSize) {
      return decodeDetections(decoder, outputs, {
        inputSizePx: entry.inputSizePx,
        batchSize,
        numClasses: classes.length,
        scoreThreshold,
        categoryIds,
        classes,
      });
    },
  };
}
