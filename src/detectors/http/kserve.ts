/**
 * Detectors served over the Open Inference Protocol (KServe v2: Triton, KServe, MLServer,
 * TorchServe). A registry entry with `"format": "kserve"` and
 * `"source": { "kind": "kserve", "url", "model", "version"? }` names the server; its
 * preprocessing and decoder fields work as for an ONNX entry (tensorPipeline.ts), only
 * the model runs on the server, one `POST …/infer` per request batch.
 */
import { ShiftbenchError } from '../../core/errors.js';
import type {
  Detection,
  Detector,
  DetectorInfo,
  LoadDetectorOptions,
  Logger,
  ModelEntry,
  RgbImage,
} from '../../core/types.js';
import { batchProbe, detectInChunks, sameDetections, type RawOutput } from '../decoders/index.js';
import { inputDims, inputFormatOf } from '../onnx/preprocess.js';
import { entryInfoBase, entryOrigin } from '../registry.js';
import { createTensorPipeline, DEFAULT_SCORE_THRESHOLD, type TensorPipeline } from '../tensorPipeline.js';
import { canaryInput, hashRawOutputs } from './canary.js';
import {
  decodeInferResponse,
  encodeInferRequest,
  parseModelMetadata,
  type KserveModelMetadata,
  type KserveTensorMeta,
} from './kserveProtocol.js';
import { HttpTransport, refuseGraphRewrite } from './transport.js';

/** Inputs per request when the served model's batch dimension is variable (-1). */
export const KSERVE_MAX_BATCH_PER_REQUEST = 8;

type KserveSource = Extract<ModelEntry['source'], { kind: 'kserve' }>;

/** A connection to one served model: its metadata, checked against the entry, and `infer`. */
export interface KserveConnection {
  /** The model's URL: `<url>/v2/models/<model>[/versions/<v>]`. */
  modelUrl: string;
  metadata: KserveModelMetadata;
  input: KserveTensorMeta;
  pipeline: TensorPipeline;
  /**
   * Inputs per request: 1 for a fixed batch of 1 (or `dynamicBatch: false`, or a model that fails on a batch of 2
   * or whose answer for two different images is not what each gets alone), else KSERVE_MAX_BATCH_PER_REQUEST.
   */
  perRequest: number;
  transport: HttpTransport;
  /** Raw outputs of one request for `images` (at most `perRequest`), and the model version the answer names. */
  infer(images: readonly RgbImage[]): Promise<{ outputs: RawOutput[]; modelVersion: string | null }>;
  /** Detections of n images from one request's outputs; a decoder error names the served model and its URL. */
  decode(outputs: RawOutput[], n: number): Detection[][];
  /** sha256 of the raw outputs on the canary input (canary.ts). */
  canarySha256: string;
  /** The `model_version` the canary's answer named (null: none named); every later answer must name the same. */
  answeredVersion: string | null;
  /** The version that answered the canary (`model_version`), else the one asked for, else null. */
  modelVersion: string | null;
}

function kserveSource(entry: ModelEntry): KserveSource {
  if (entry.source.kind !== 'kserve')
    throw new ShiftbenchError('ERR_INTERNAL', `entry "${entry.name}" has no kserve source`);
  return entry.source;
}

/** ERR_MODEL_LOAD showing what the server says beside what the entry says. */
function mismatch(
  entry: ModelEntry,
  modelUrl: string,
  what: string,
  server: string,
  expected: string,
): ShiftbenchError {
  return new ShiftbenchError(
    'ERR_MODEL_LOAD',
    `Served model "${entry.name}" at ${modelUrl}: ${what} does not fit the entry. The server says ${server}; ` +
      `the entry (${entryOrigin(entry) ?? 'model entry'}) says ${expected}. ` +
      `Fix the entry or the model's name/version in source.`,
  );
}

/**
 * The outputs of an answer in the order they were asked for (the model metadata's). ERR_MODEL_OUTPUT naming the served
 * model and its URL when the answer lacks one, holds one twice or one not asked for: decoders that find outputs by
 * shape would take such an output for another (a float "logits" as torchvision's scores) or blame the entry's decoder.
 */
function askedOutputs(entry: ModelEntry, inferUrl: string, asked: readonly string[], got: RawOutput[]): RawOutput[] {
  const problem = (what: string) =>
    new ShiftbenchError(
      'ERR_MODEL_OUTPUT',
      `Served model "${entry.name}" (POST ${inferUrl}): the answer ${what}; it was asked for the outputs ` +
        `${asked.map((n) => `"${n}"`).join(', ')} that the model's metadata lists, and answered ` +
        `${got.map((o) => `"${o.name}"`).join(', ') || 'none'}. Check that the server answers the model of its ` +
        `metadata (a proxy or model version in between), or fix the model's outputs in its configuration.`,
    );
  const byName = new Map<string, RawOutput>();
  for (const o of got) {
    if (!asked.includes(o.name)) throw problem(`holds output "${o.name}", which it was not asked for`);
    if (byName.has(o.name)) throw problem(`holds output "${o.name}" twice`);
    byName.set(o.name, o);
  }
  const missing = asked.find((n) => !byName.has(n));
  if (missing !== undefined) throw problem(`lacks output "${missing}"`);
  return asked.map((n) => byName.get(n)!);
}

/**
 * Connects to the served model of `entry`: `GET /v2/health/ready`, the model metadata
 * (input name, datatype FP32 or UINT8, and shape checked against the entry: a mismatch is
 * ERR_MODEL_LOAD showing both), then one inference on the canary input, decoded, which
 * checks the outputs fit the decoder; with a variable batch dimension a second one on two
 * different inputs (batchProbe), and one image per request when that fails or either image's
 * detections differ from what it gets alone (logged). Throws ERR_NETWORK
 * (unreachable, not ready, HTTP errors), ERR_MODEL_LOAD, ERR_MODEL_OUTPUT, ERR_REGISTRY (decoder).
 */
export async function connectKserve(entry: ModelEntry, opts: LoadDetectorOptions = {}): Promise<KserveConnection> {
  const source = kserveSource(entry);
  const base = source.url.replace(/\/+$/, '');
  const modelUrl = `${base}/v2/models/${encodeURIComponent(source.model)}${
    source.version ? `/versions/${encodeURIComponent(source.version)}` : ''
  }`;
  const transport = new HttpTransport(opts.http);
  try {
    await transport.request('GET', `${base}/v2/health/ready`);
    const metadata = parseModelMetadata(await transport.getJson(modelUrl), `GET ${modelUrl}`);
    const { width, height } = entry.inputSizePx;
    const input = entry.inputName ? metadata.inputs.find((t) => t.name === entry.inputName) : metadata.inputs[0];
    if (!input) {
      throw mismatch(
        entry,
        modelUrl,
        'the input',
        `inputs ${metadata.inputs.map((t) => `"${t.name}"`).join(', ') || '(none)'}`,
        `inputName "${entry.inputName}"`,
      );
    }
    const expectedDims = inputDims(inputFormatOf(entry), 'B');
    const shapeFits =
      input.shape.length === 4 &&
      input.shape.every((d, i) => i === 0 || d === -1 || d === expectedDims[i]) &&
      (input.shape[0] === -1 || input.shape[0] === 1);
    if ((input.datatype !== 'FP32' && input.datatype !== 'UINT8') || !shapeFits) {
      throw mismatch(
        entry,
        modelUrl,
        `input "${input.name}"`,
        `${input.datatype} [${input.shape.join(',')}]`,
        `FP32 or UINT8 [${expectedDims.join(',')}] (${entry.layout} ${width}×${height}; B, the batch, variable (-1) ` +
          `or 1)`,
      );
    }
    const pipeline = createTensorPipeline(
      entry,
      input.datatype === 'UINT8' ? 'uint8' : 'float32',
      opts.scoreThreshold ?? DEFAULT_SCORE_THRESHOLD,
    );
    let perRequest = entry.dynamicBatch === false || input.shape[0] === 1 ? 1 : KSERVE_MAX_BATCH_PER_REQUEST;
    const outputNames = metadata.outputs.map((t) => t.name);
    const inferUrl = `${modelUrl}/infer`;
    const infer = async (images: readonly RgbImage[]) => {
      const tensor = pipeline.toTensor(images);
      const { body, headers } = encodeInferRequest(
        { name: input.name, datatype: input.datatype as 'FP32' | 'UINT8', shape: tensor.dims, data: tensor.data },
        outputNames,
        entry.binary === true,
      );
      const answer = await transport.request('POST', inferUrl, { headers, body });
      const outputs = askedOutputs(entry, inferUrl, outputNames, decodeInferResponse(answer, `POST ${inferUrl}`));
      let modelVersion: string | null = null;
      try {
        const head = JSON.parse(
          answer.body
            .subarray(0, Number(answer.headers['inference-header-content-length'] ?? answer.body.length))
            .toString('utf8'),
        ) as { model_version?: unknown };
        modelVersion = typeof head.model_version === 'string' ? head.model_version : null;
      } catch {
        // decodeInferResponse has read it already
      }
      return { outputs, modelVersion };
    };
    const canary = canaryInput(width, height);
    const first = await infer([canary]);
    const decodeFor = (outputs: RawOutput[], n: number) => {
      try {
        return pipeline.decode(outputs, n);
      } catch (err) {
        if (err instanceof ShiftbenchError)
          throw new ShiftbenchError(err.code, `Served model "${entry.name}" (POST ${inferUrl}): ${err.message}`, {
            cause: err,
          });
        throw err;
      }
    };
    const canaryDetections = decodeFor(first.outputs, 1);
    if (perRequest > 1) {
      // a variable batch dim (Triton reports -1 for any max_batch_size > 0) does not promise that the model and its
      // decoder take several images per request (torchvision's takes one), nor that each image's outputs are its own:
      // checked with two different images, as for ONNX
      const why = await batchProbe(
        async (images) => decodeFor((await infer(images)).outputs, images.length),
        canary,
        canaryDetections,
      );
      if (why !== null) {
        perRequest = 1;
        opts.logger?.info(
          `Served model "${entry.name}" declares a variable batch size but ${why}; sending one image per request`,
        );
      } else
        perRequest = await largestBatchTaken(
          entry.name,
          perRequest,
          canary,
          canaryDetections,
          async (images) => decodeFor((await infer(images)).outputs, images.length),
          opts.logger,
        );
    }
    const modelVersion = first.modelVersion ?? source.version ?? null;
    return {
      answeredVersion: first.modelVersion,
      modelUrl,
      metadata,
      input,
      pipeline,
      perRequest,
      transport,
      infer,
      decode: decodeFor,
      canarySha256: hashRawOutputs(first.outputs),
      modelVersion,
    };
  } catch (err) {
    transport.close();
    throw err;
  }
}

/**
 * The largest request, from `most` images down by halves to 2 (which the batch probe took), that the server answers
 * with every image's detections as alone: Triton reports a batch dimension of -1 for any max_batch_size > 0 and
 * refuses a request over it (HTTP 400), so a model of max_batch_size 4 would fail the run's first request of 8.
 * Copies of the canary input, whose detections alone are `alone`.
 */
async function largestBatchTaken(
  name: string,
  most: number,
  canary: RgbImage,
  alone: readonly Detection[][],
  run: (images: RgbImage[]) => Promise<Detection[][]>,
  logger: Logger | undefined,
): Promise<number> {
  let refused: string | null = null;
  let n = most;
  for (; n > 2; n /= 2) {
    try {
      const answers = await run(new Array<RgbImage>(n).fill(canary));
      if (answers.length === n && answers.every((d) => sameDetections([d], alone))) break;
      refused ??= `a request of ${n} answered other detections than one input alone`;
    } catch (err) {
      if (!(err instanceof ShiftbenchError)) throw err;
      refused ??= `a request of ${n} failed: ${err.message.split('\n')[0].slice(0, 200)}`;
    }
  }
  if (refused !== null) logger?.info(`Served model "${name}" takes at most ${n} images per request (${refused})`);
  return n;
}

/**
 * What identifies a served model's detections (for describeDetector): the served model's
 * name and version asked for, the input it takes and the sha256 of its outputs on the
 * canary input (`served.canaryOutputsSha256`), so a model replaced behind the URL is
 * refused on resume. The URL itself is not part of it (a server may move).
 */
export async function describeKserve(
  entry: ModelEntry,
  opts: LoadDetectorOptions = {},
): Promise<Record<string, unknown>> {
  const source = kserveSource(entry);
  const conn = await connectKserve(entry, opts);
  conn.transport.close();
  const { description: _d, meta: _m, source: _s, files: _f, ...rest } = entry;
  return {
    kind: 'model',
    ...rest,
    runtime: 'kserve-v2 http',
    served: {
      model: source.model,
      version: source.version ?? null,
      input: conn.input,
      outputs: conn.metadata.outputs,
      canaryOutputsSha256: conn.canarySha256,
    },
  };
}

/**
 * Loads a served model as a Detector (connectKserve, see there). `detect` splits a batch
 * into requests of `perRequest` inputs sent concurrently (at most `--http-concurrency` in
 * flight); `info.maxBatch` is `perRequest × concurrency`, so the runner keeps every slot busy.
 * The manifest's details record the URL, the metadata returned and the model version.
 */
export async function loadKserveDetector(entry: ModelEntry, opts: LoadDetectorOptions = {}): Promise<Detector> {
  const source = kserveSource(entry);
  refuseGraphRewrite(entry.name, opts);
  const conn = await connectKserve(entry, opts);
  const { pipeline, perRequest, transport } = conn;
  const info: DetectorInfo = {
    ...entryInfoBase(entry, pipeline.classes),
    maxBatch: perRequest * transport.options.concurrency,
    runtime: 'kserve-v2 http',
    files: [],
    details: {
      format: 'kserve',
      url: source.url,
      modelUrl: conn.modelUrl,
      model: source.model,
      version: source.version ?? null,
      modelVersion: conn.modelVersion,
      metadata: conn.metadata,
      binary: entry.binary === true,
      decoder: { name: pipeline.decoder.name, params: pipeline.decoder.params },
      scoreThreshold: pipeline.scoreThreshold,
      inputName: conn.input.name,
      inputType: pipeline.inputType,
      canaryOutputsSha256: conn.canarySha256,
    },
  };
  let disposed = false;
  const runRequest = async (chunk: RgbImage[]): Promise<Detection[][]> => {
    const { outputs, modelVersion } = await conn.infer(chunk);
    // a model replaced behind the URL mid-run (an unpinned rolling update) would mix two models' detections in one run
    if (conn.answeredVersion !== null && modelVersion !== null && modelVersion !== conn.answeredVersion)
      throw new ShiftbenchError(
        'ERR_MODEL_OUTPUT',
        `Served model "${entry.name}" (POST ${conn.modelUrl}/infer) answered as version ${modelVersion}, but as ` +
          `version ${conn.answeredVersion} when it was loaded: the model behind the URL changed during the run, so ` +
          `its detections would mix two models. Stored detections are kept; pin the version (source.version in the ` +
          `registry entry) or run again once the server serves one model (a resumed run checks the model again).`,
      );
    return conn.decode(outputs, chunk.length);
  };
  return {
    info,
    async detect(batch: RgbImage[]): Promise<Detection[][]> {
      if (disposed)
        throw new ShiftbenchError('ERR_INVALID_OPTION', `Detector "${entry.name}" was disposed; load it again`);
      // checks every input's size, then sends requests of perRequest inputs concurrently
      return detectInChunks(entry.name, entry.inputSizePx, Math.max(1, batch.length), batch, async (all) => {
        const chunks: RgbImage[][] = [];
        for (let i = 0; i < all.length; i += perRequest) chunks.push(all.slice(i, i + perRequest));
        return (await Promise.all(chunks.map(runRequest))).flat();
      });
    },
    async dispose(): Promise<void> {
      disposed = true;
      transport.close();
    },
  };
}
