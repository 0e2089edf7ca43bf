/**
 * A `Detector` around a loaded TF.js GraphModel: the entry's preprocessing (colour
 * order, layout, normalisation), batching where the input batch dimension is dynamic,
 * a warm-up run inside `create` so first-call latency never pollutes timings, and a
 * decoder + the shared NMS/clipping (`finalizeCandidates`).
 *
 * Tensor discipline: the input tensor and the model call live inside `tf.tidy`
 * (sync models) or are disposed in `finally` (models with control flow, which need
 * `executeAsync`); outputs are read with `await t.data()` and disposed in `finally`.
 * No tensor outlives a `detect` call; `dispose` frees the weights.
 */
import * as tf from '@tensorflow/tfjs';
import { ShiftbenchError } from '../../core/errors.js';
import type {
  DetectContext,
  Detection,
  Detector,
  DetectorInfo,
  LoadDetectorOptions,
  ModelEntry,
  RgbImage,
} from '../../core/types.js';
import { markReleasesInputs } from '../../core/releasesInputs.js';
import { batchProbe, blankInput, decodeDetections, detectInChunks, type RawOutput } from '../decoders/index.js';
import { fillFloatInput, fillUint8Input, inputDims, inputFormatOf } from '../onnx/preprocess.js';
import { entryClasses, entryInfoBase, entryOrigin } from '../registry.js';
import { assertBackend, type BackendInfo } from './backend.js';
import type { TfjsDecoder } from './decoders.js';

/** Largest batch handed to a TF.js model whose input batch dimension is dynamic. */
export const TFJS_DYNAMIC_MAX_BATCH = 8;

/** Default score threshold of every real detector (COCO evaluation wants a low one). */
export const DEFAULT_SCORE_THRESHOLD = 0.001;

export interface GraphDetectorSpec {
  entry: ModelEntry;
  model: tf.GraphModel;
  decoder: TfjsDecoder;
  backend: BackendInfo;
  /** Files the model was read from, with their sha256 (for the manifest). */
  files: { path: string; sha256: string }[];
  /** Input dtype the graph wants: float32 (normalised) or int32 (raw 0–255, e.g. coco-ssd). */
  inputDtype: 'float32' | 'int32';
  /** Where the model came from, for error messages. */
  where: string;
  opts: LoadDetectorOptions;
  /** Extra manifest facts. */
  details?: Record<string, unknown>;
}

const isDynamic = (d: number | undefined): boolean => d === undefined || d === null || d < 0;

/** Error text of TF.js when a graph has control flow or dynamic shapes and needs executeAsync. */
const NEEDS_ASYNC = /executeAsync/;

/**
 * Builds the detector and runs one warm-up inference (which also checks that the
 * outputs fit the decoder).
 * @throws ShiftbenchError ERR_MODEL_LOAD (input shape disagrees with the entry), ERR_MODEL_OUTPUT
 *   (outputs do not fit the decoder).
 */
export async function createGraphDetector(spec: GraphDetectorSpec): Promise<Detector> {
  const { entry, model, decoder, backend, opts } = spec;
  const { width, height } = entry.inputSizePx;
  const origin = entryOrigin(entry) ?? 'the model entry';

  const inputs = model.inputs;
  const inputName = entry.inputName ?? inputs[0]?.name;
  const input = inputs.find((i) => i.name === inputName);
  if (!input) {
    throw new ShiftbenchError(
      'ERR_MODEL_LOAD',
      `TF.js model "${entry.name}" has no input "${inputName}" (inputName in ${origin}); ` +
        `its inputs are ${inputs.map((i) => i.name).join(', ')}`,
    );
  }
  const shape = input.shape ?? [];
  const fmt = inputFormatOf(entry);
  const expected = inputDims(fmt, -1);
  if (
    shape.length > 0 &&
    (shape.length !== 4 || !shape.every((d, i) => i === 0 || isDynamic(d) || d === expected[i]))
  ) {
    throw new ShiftbenchError(
      'ERR_MODEL_LOAD',
      `TF.js model "${entry.name}" input "${inputName}" has shape [${shape.join(',')}] but ${origin} says ` +
        `${entry.layout} ${width}×${height}, ` +
        `i.e. [B,${expected.slice(1).join(',')}]. Fix inputSizePx or layout in the entry.`,
    );
  }
  let maxBatch = entry.dynamicBatch === false || !isDynamic(shape[0]) ? 1 : TFJS_DYNAMIC_MAX_BATCH;
  const outputNames = decoder.outputNames ? [...decoder.outputNames] : model.outputs.map((o) => o.name);
  const classes = entryClasses(entry);
  const categoryIds = classes.map((c) => c.id);
  const scoreThreshold = opts.scoreThreshold ?? DEFAULT_SCORE_THRESHOLD;
  const padValue = entry.padValue ?? [0, 0, 0];
  let useAsync = false;

  const makeInput = (images: readonly RgbImage[]): tf.Tensor => {
    const n = images.length;
    const dims = inputDims(fmt, n);
    if (spec.inputDtype === 'int32') {
      const bytes = new Uint8Array(n * 3 * width * height);
      fillUint8Input(images, fmt, bytes);
      return tf.tensor(Int32Array.from(bytes), dims, 'int32');
    }
    const buf = new Float32Array(n * 3 * width * height);
    fillFloatInput(images, fmt, buf);
    return tf.tensor(buf, dims, 'float32');
  };

  const execute = async (images: readonly RgbImage[]): Promise<tf.Tensor[]> => {
    if (!useAsync) {
      try {
        return tf.tidy(() => {
          const r = model.execute({ [inputName!]: makeInput(images) }, outputNames);
          return Array.isArray(r) ? r : [r];
        });
      } catch (err) {
        if (!(err instanceof Error && NEEDS_ASYNC.test(err.message))) throw err;
        useAsync = true; // the graph has control flow: switch once, for good
      }
    }
    const x = makeInput(images);
    try {
      const r = await model.executeAsync({ [inputName!]: x }, outputNames);
      return Array.isArray(r) ? r : [r];
    } finally {
      x.dispose();
    }
  };

  const runBatch = async (images: readonly RgbImage[]): Promise<Detection[][]> => {
    let outs: tf.Tensor[];
    try {
      outs = await execute(images);
    } catch (err) {
      throw new ShiftbenchError(
        'ERR_MODEL_OUTPUT',
        `Inference failed for TF.js model "${entry.name}": ${(err as Error).message}`,
        { cause: err },
      );
    }
    let raw: RawOutput[];
    try {
      const data = await Promise.all(outs.map((t) => t.data()));
      raw = outs.map((t, i) => ({ name: outputNames[i], dims: t.shape, data: data[i] as RawOutput['data'] }));
    } finally {
      tf.dispose(outs);
    }
    return decodeDetections(decoder, raw, {
      inputSizePx: entry.inputSizePx,
      batchSize: images.length,
      numClasses: classes.length,
      scoreThreshold,
      categoryIds,
      classes,
    });
  };

  // Warm-up: compiles kernels (wasm, native), keeps first-call latency out of timings,
  // and checks that the outputs fit the decoder.
  const blank = blankInput(width, height, padValue);
  let blankDetections: Detection[][];
  try {
    blankDetections = await runBatch([blank]);
  } catch (err) {
    if (err instanceof ShiftbenchError)
      throw new ShiftbenchError(err.code, `TF.js model "${entry.name}" (${spec.where}): ${err.message}`, {
        cause: err.cause ?? err,
      });
    throw err;
  }
  if (maxBatch > 1) {
    const why = await batchProbe(runBatch, blank, blankDetections);
    if (why) {
      maxBatch = 1;
      opts.logger?.info(
        `TF.js model "${entry.name}" declares a dynamic batch size but ${why}; running one image per call`,
      );
    }
  }

  const info: DetectorInfo = {
    ...entryInfoBase(entry, classes),
    maxBatch,
    runtime: `tfjs ${backend.backend}`,
    files: spec.files.map((f) => ({ ...f })),
    details: {
      format: entry.format,
      backend: backend.backend,
      threads: backend.threads,
      versions: backend.version,
      decoder: { name: decoder.name, params: decoder.params },
      scoreThreshold,
      inputName,
      inputDtype: spec.inputDtype,
      executeAsync: useAsync,
      ...spec.details,
    },
  };

  let disposed = false;
  // releasesInputs: read into tensors that are disposed before detect() settles
  return markReleasesInputs(
    {
      info,
      async detect(batch: RgbImage[], _contexts?: DetectContext[]): Promise<Detection[][]> {
        if (disposed)
          throw new ShiftbenchError('ERR_INVALID_OPTION', `Detector "${entry.name}" was disposed; load it again`);
        assertBackend(backend.backend);
        return detectInChunks(entry.name, { width, height }, maxBatch, batch, (chunk) => runBatch(chunk));
      },
      async dispose(): Promise<void> {
        if (disposed) return;
        disposed = true;
        model.dispose();
      },
    },
    true,
  );
}
