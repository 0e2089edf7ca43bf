/**
 * The ONNX adapter: onnxruntime-node session + the entry's preprocessing + a decoder
 * from the registry + the shared NMS. Inputs arrive already fitted to the model input
 * size (the runner does that); this file does colour order, layout, normalisation and
 * batching.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { invalidParameterError, loadError, ShiftbenchError } from '../../core/errors.js';
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
import { batchProbe, blankInput, createDecoder, detectInChunks, type RawOutput } from '../decoders/index.js';
import { DEFAULT_EXECUTION_PROVIDER, EXECUTION_PROVIDERS, type ExecutionProvider } from '../executionProviders.js';
import { sha256File } from '../pull.js';
import { entryInfoBase, entryOrigin } from '../registry.js';
import { createTensorPipeline, DEFAULT_SCORE_THRESHOLD } from '../tensorPipeline.js';

/** Largest batch handed to a model whose input batch dimension is dynamic. */
export const ONNX_DYNAMIC_MAX_BATCH = 8;

export { DEFAULT_SCORE_THRESHOLD };

function isDynamicDim(d: number | string | undefined): boolean {
  return typeof d !== 'number' || d <= 0;
}

/**
 * The `--ep` providers that this onnxruntime-node can start here: those it ships (bundled),
 * and those whose provider libraries are installed beside it (a session starts).
 */
function providersKnownHere(): { bundled: string[]; needLibraries: string[] } {
  const known = ort.listSupportedBackends();
  const ours = (name: string) => (EXECUTION_PROVIDERS as readonly string[]).includes(name);
  return {
    bundled: known.filter((b) => b.bundled && ours(b.name)).map((b) => b.name),
    needLibraries: known.filter((b) => !b.bundled && ours(b.name)).map((b) => b.name),
  };
}

/** ERR_EXECUTION_PROVIDER: the provider asked for cannot run this model here; lists what can. */
function providerError(ep: ExecutionProvider, entry: ModelEntry, reason: string, cause?: unknown): ShiftbenchError {
  const { bundled, needLibraries } = providersKnownHere();
  const version = ort.env.versions.common ?? '';
  const extra = needLibraries.filter((n) => n !== ep);
  return new ShiftbenchError(
    'ERR_EXECUTION_PROVIDER',
    `ONNX Runtime execution provider "${ep}" is not available for model "${entry.name}" (onnxruntime-node ${version}` +
      `, ` +
      `${process.platform} ${process.arch}): ${reason}. Execution providers available here: ${bundled.join(', ')}` +
      (extra.length
        ? ` (this onnxruntime-node also knows ${extra.join(', ')}, whose provider libraries are not installed)`
        : '') +
      `. Use --ep cpu, or install onnxruntime-node with the provider's files ` +
      `(CUDA/TensorRT on Linux: npm install onnxruntime-node --onnxruntime-node-install=cuda12, plus the CUDA ` +
      `libraries).`,
    { cause },
  );
}

async function createSession(bytes: Uint8Array, entry: ModelEntry, file: string, opts: LoadDetectorOptions) {
  const threads = opts.threads ?? os.availableParallelism();
  const spin = opts.onnxSpinWait === true ? '1' : '0';
  const base: ort.InferenceSession.SessionOptions = {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    logSeverityLevel: 3,
    // session.intra_op.allow_spinning / inter_op: threads sleep between operators unless asked to spin
    extra: { session: { intra_op: { allow_spinning: spin }, inter_op: { allow_spinning: spin } } },
  };
  const provider: ExecutionProvider = opts.executionProvider ?? DEFAULT_EXECUTION_PROVIDER;
  if (!(EXECUTION_PROVIDERS as readonly string[]).includes(provider)) {
    throw invalidParameterError('--ep', `one of ${EXECUTION_PROVIDERS.join(', ')}`, provider);
  }
  if (provider !== 'cpu') {
    // exactly the provider asked for: no silent fall-back to the CPU (ONNX Runtime still runs
    // the operators the provider lacks on its CPU kernels, as it always does)
    if (!ort.listSupportedBackends().some((b) => b.name === provider)) {
      throw providerError(provider, entry, 'this onnxruntime-node build does not include it');
    }
    try {
      return {
        session: await ort.InferenceSession.create(bytes, { ...base, executionProviders: [provider] }),
        provider,
      };
    } catch (err) {
      const reason = (err as Error).message.split('\n')[0].slice(0, 300);
      throw providerError(provider, entry, `starting it failed (${reason})`, err);
    }
  }
  try {
    return { session: await ort.InferenceSession.create(bytes, { ...base, executionProviders: ['cpu'] }), provider };
  } catch (err) {
    throw loadError(
      'ERR_MODEL_LOAD',
      `ONNX model "${entry.name}" from ${file}`,
      [
        `check that ${file} is an ONNX model (a protobuf ModelProto, usually *.onnx) and not truncated (compare its ` +
          `sha256 with the entry)`,
        `check that the entry's format is right in ${entryOrigin(entry) ?? 'the model entry'} (TF.js models use ` +
          `"tfjs-graph")`,
        'models using operators newer than this onnxruntime-node need re-exporting with a lower opset',
      ],
      err,
    );
  }
}

/**
 * Loads an ONNX detector from `dir` (holding `entry.files`, the first being the .onnx).
 * Applies `opts.graphRewrite.onnx` to the model bytes before creating the session; runs
 * one warm-up inference, which also checks the outputs against the decoder.
 * Throws ERR_MODEL_LOAD (not a model, wrong input), ERR_MODEL_OUTPUT (outputs do not
 * fit the decoder), ERR_REGISTRY (unknown decoder or bad params).
 */
export async function loadOnnxDetector(
  entry: ModelEntry,
  dir: string,
  opts: LoadDetectorOptions = {},
): Promise<Detector> {
  createDecoder(entry.decoder); // a bad decoder name or params fails (ERR_REGISTRY) before the model is read
  const file = path.join(dir, entry.files[0].name);
  let bytes: Uint8Array = new Uint8Array(await readFile(file));
  const rewrite = opts.graphRewrite?.onnx;
  if (rewrite) bytes = rewrite(bytes);
  const { session, provider } = await createSession(bytes, entry, file, opts);
  try {
    const inputName = entry.inputName ?? session.inputNames[0];
    if (!session.inputNames.includes(inputName)) {
      throw new ShiftbenchError(
        'ERR_MODEL_LOAD',
        `ONNX model "${entry.name}" has no input "${inputName}" (inputName in ${entryOrigin(entry) ?? 'the entry'}` +
          `); its inputs are ${session.inputNames.join(', ')}`,
      );
    }
    const meta = session.inputMetadata.find((m) => m.name === inputName);
    const inputType = meta && meta.isTensor ? meta.type : 'float32';
    if (inputType !== 'float32' && inputType !== 'uint8') {
      throw new ShiftbenchError(
        'ERR_MODEL_LOAD',
        `ONNX model "${entry.name}" input "${inputName}" is ${inputType}; shiftbench feeds float32 or uint8 images`,
      );
    }
    const shape = meta && meta.isTensor ? meta.shape : [];
    const { width, height } = entry.inputSizePx;
    const scoreThreshold = opts.scoreThreshold ?? DEFAULT_SCORE_THRESHOLD;
    const pipeline = createTensorPipeline(entry, inputType, scoreThreshold);
    const expectedDims = pipeline.expectedDims;
    if (shape.length > 0) {
      const fits = shape.length === 4 && shape.every((d, i) => i === 0 || isDynamicDim(d) || d === expectedDims[i]);
      if (!fits) {
        throw new ShiftbenchError(
          'ERR_MODEL_LOAD',
          `ONNX model "${entry.name}" input "${inputName}" has shape [${shape.join(',')}] but the entry (` +
            `${entryOrigin(entry) ?? 'model entry'}) says ` +
            `${entry.layout} ${width}×${height}, i.e. [${expectedDims.join(',')}]. Fix inputSizePx or layout in the ` +
            `entry.`,
        );
      }
    }
    const dynamic = shape.length === 0 || isDynamicDim(shape[0]);
    let maxBatch = entry.dynamicBatch === false || !dynamic ? 1 : ONNX_DYNAMIC_MAX_BATCH;
    const classes = pipeline.classes;
    const buffers = new Map<number, Float32Array | Uint8Array>();
    const padValue = entry.padValue ?? [0, 0, 0];
    let disposed = false;

    const runBatch = async (
      images: readonly RgbImage[],
      runOptions?: ort.InferenceSession.RunOptions,
    ): Promise<Detection[][]> => {
      const n = images.length;
      const size = n * 3 * width * height;
      // the tensor wraps the buffer without a copy and the session reads it only when the run starts (a later
      // tick): a buffer is taken out of the pool while in use, so calls that overlap never share one
      let buf = buffers.get(n);
      if (buf) buffers.delete(n);
      else buf = inputType === 'uint8' ? new Uint8Array(size) : new Float32Array(size);
      const input = pipeline.toTensor(images, buf);
      const tensor = new ort.Tensor(inputType, input.data, input.dims);
      let results: ort.InferenceSession.OnnxValueMapType;
      try {
        results = await session.run({ [inputName]: tensor }, runOptions ?? {});
      } catch (err) {
        throw new ShiftbenchError(
          'ERR_MODEL_OUTPUT',
          `Inference failed for ONNX model "${entry.name}": ${(err as Error).message}`,
          { cause: err },
        );
      } finally {
        if (!disposed) buffers.set(n, buf);
      }
      const outputs: RawOutput[] = session.outputNames.map((name) => {
        const t = results[name] as ort.Tensor;
        return { name, dims: t.dims, data: t.data as RawOutput['data'] };
      });
      try {
        return pipeline.decode(outputs, n);
      } finally {
        for (const name of session.outputNames) (results[name] as ort.Tensor).dispose?.();
      }
    };

    // warm-up: keeps first-call latency out of timings and checks the outputs fit the decoder
    const blank = blankInput(width, height, padValue);
    let blankDetections: Detection[][];
    try {
      blankDetections = await runBatch([blank]);
    } catch (err) {
      if (err instanceof ShiftbenchError) {
        throw new ShiftbenchError(err.code, `ONNX model "${entry.name}" (${file}): ${err.message}`, {
          cause: err.cause ?? err,
        });
      }
      throw err;
    }
    if (maxBatch > 1) {
      const why = await batchProbe(
        (images) => runBatch(images, images.length > 1 ? { logSeverityLevel: 4 } : undefined),
        blank,
        blankDetections,
      );
      if (why) {
        maxBatch = 1;
        buffers.delete(2);
        opts.logger?.info(
          `ONNX model "${entry.name}" declares a dynamic batch size but ${why}; running one image per call`,
        );
      }
    }

    const rewrittenSha = rewrite ? createHash('sha256').update(bytes).digest('hex') : undefined;
    const info: DetectorInfo = {
      ...entryInfoBase(entry, classes),
      maxBatch,
      runtime: `onnxruntime-node ${ort.env.versions.common ?? ''} ${provider}`.replace(/\s+/g, ' ').trim(),
      files: await Promise.all(
        entry.files.map(async (f) => ({
          path: path.join(dir, f.name),
          sha256: f.sha256 ?? (await sha256File(path.join(dir, f.name))),
        })),
      ),
      details: {
        format: 'onnx',
        decoder: { name: pipeline.decoder.name, params: pipeline.decoder.params },
        scoreThreshold,
        inputName,
        inputType,
        executionProvider: provider,
        threads: opts.threads ?? os.availableParallelism(),
        ...(rewrittenSha ? { graphRewritten: true, rewrittenModelSha256: rewrittenSha } : {}),
      },
    };
    // releasesInputs: copied into the input tensor's own buffer before the session runs
    return markReleasesInputs(
      {
        info,
        async detect(batch: RgbImage[], _contexts?: DetectContext[]): Promise<Detection[][]> {
          if (disposed)
            throw new ShiftbenchError('ERR_INVALID_OPTION', `Detector "${entry.name}" was disposed; load it again`);
          return detectInChunks(entry.name, { width, height }, maxBatch, batch, (chunk) => runBatch(chunk));
        },
        async dispose(): Promise<void> {
          if (disposed) return;
          disposed = true;
          buffers.clear();
          await session.release();
        },
      },
      true,
    );
  } catch (err) {
    await session.release();
    throw err;
  }
}
