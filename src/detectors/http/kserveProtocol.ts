/**
 * The Open Inference Protocol (KServe v2) over HTTP/REST, as pure functions: model
 * metadata validation, inference requests (JSON tensors, or Triton's binary tensor data
 * extension: a JSON header of `Inference-Header-Content-Length` bytes followed by the raw
 * little-endian tensors, sized by `binary_data_size` parameters) and inference responses
 * → raw output tensors for the decoders.
 */
import { ShiftbenchError } from '../../core/errors.js';
import type { RawOutput } from '../decoders/index.js';
import { parseJsonBody, type HttpAnswer } from './transport.js';

/** `$metadata_tensor`: a tensor's name, datatype and shape (-1 for a variable dimension). */
export interface KserveTensorMeta {
  name: string;
  datatype: string;
  shape: number[];
}

/** `$metadata_model_response`. */
export interface KserveModelMetadata {
  name: string;
  versions?: string[];
  platform: string;
  inputs: KserveTensorMeta[];
  outputs: KserveTensorMeta[];
}

/** The header that gives the JSON part's length in a binary-data body. */
export const INFERENCE_HEADER = 'inference-header-content-length';

type Typed = RawOutput['data'];

/** Datatypes shiftbench reads, with their typed arrays (BOOL, BYTES, FP16, BF16 and unsigned ≥ 16 bits are refused). */
const DATATYPES: Record<
  string,
  {
    bytes: number;
    fromBytes: (b: ArrayBuffer) => Typed;
    fromNumbers: (v: number[]) => Typed;
    /** Integer types: the values JSON data may hold (a typed array would truncate or wrap anything else). */
    range?: [number, number];
  }
> = {
  FP32: { bytes: 4, fromBytes: (b) => new Float32Array(b), fromNumbers: (v) => Float32Array.from(v) },
  FP64: { bytes: 8, fromBytes: (b) => new Float64Array(b), fromNumbers: (v) => Float64Array.from(v) },
  INT64: {
    bytes: 8,
    fromBytes: (b) => new BigInt64Array(b),
    fromNumbers: (v) => BigInt64Array.from(v, (x) => BigInt(x)),
    range: [-(2 ** 63), 2 ** 63 - 1024], // the largest double below 2^63 (2^63 − 1 rounds up to 2^63, which wraps)
  },
  INT32: {
    bytes: 4,
    fromBytes: (b) => new Int32Array(b),
    fromNumbers: (v) => Int32Array.from(v),
    range: [-(2 ** 31), 2 ** 31 - 1],
  },
  INT16: {
    bytes: 2,
    fromBytes: (b) => Int32Array.from(new Int16Array(b)),
    fromNumbers: (v) => Int32Array.from(v),
    range: [-(2 ** 15), 2 ** 15 - 1],
  },
  INT8: { bytes: 1, fromBytes: (b) => new Int8Array(b), fromNumbers: (v) => Int8Array.from(v), range: [-128, 127] },
  UINT8: { bytes: 1, fromBytes: (b) => new Uint8Array(b), fromNumbers: (v) => Uint8Array.from(v), range: [0, 255] },
};

function outputError(what: string, problem: string): ShiftbenchError {
  return new ShiftbenchError('ERR_MODEL_OUTPUT', `${what}: ${problem} (Open Inference Protocol, KServe v2)`);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isShape = (v: unknown): v is number[] => Array.isArray(v) && v.every((d) => Number.isInteger(d) && d >= -1);

function tensorMeta(v: unknown, what: string, where: string): KserveTensorMeta {
  if (!isObject(v) || typeof v.name !== 'string' || typeof v.datatype !== 'string' || !isShape(v.shape)) {
    throw outputError(
      what,
      `${where} is not a tensor description { name, datatype, shape }: ${JSON.stringify(v)?.slice(0, 120)}`,
    );
  }
  return { name: v.name, datatype: v.datatype, shape: v.shape };
}

/** Validates a model metadata answer (`GET v2/models/NAME[/versions/V]`); throws ERR_MODEL_OUTPUT naming `what`. */
export function parseModelMetadata(json: unknown, what: string): KserveModelMetadata {
  if (!isObject(json) || typeof json.name !== 'string' || !Array.isArray(json.inputs) || !Array.isArray(json.outputs)) {
    throw outputError(what, 'the model metadata is not { name, platform, inputs: [...], outputs: [...] }');
  }
  const versions = Array.isArray(json.versions) ? json.versions.map(String) : undefined;
  return {
    name: json.name,
    ...(versions ? { versions } : {}),
    platform: typeof json.platform === 'string' ? json.platform : '',
    inputs: json.inputs.map((t, i) => tensorMeta(t, what, `inputs[${i}]`)),
    outputs: json.outputs.map((t, i) => tensorMeta(t, what, `outputs[${i}]`)),
  };
}

/** One input tensor of a request. */
export interface KserveInput {
  name: string;
  datatype: 'FP32' | 'UINT8';
  shape: number[];
  data: Float32Array | Uint8Array;
}

/**
 * The HTTP body and headers of `POST …/infer` for one input, asking for `outputs` by
 * name. JSON: the data as a flat array of numbers (exact for FP32: each float32 is a
 * double JSON prints exactly). Binary: the raw little-endian bytes after the JSON header,
 * every output asked for as binary.
 */
export function encodeInferRequest(
  input: KserveInput,
  outputs: string[],
  binary: boolean,
): { body: Buffer; headers: Record<string, string> } {
  if (!binary) {
    const json = {
      inputs: [{ name: input.name, shape: input.shape, datatype: input.datatype, data: Array.from(input.data) }],
      outputs: outputs.map((name) => ({ name })),
    };
    return { body: Buffer.from(JSON.stringify(json)), headers: { 'content-type': 'application/json' } };
  }
  const bytes = Buffer.from(input.data.buffer, input.data.byteOffset, input.data.byteLength);
  const header = Buffer.from(
    JSON.stringify({
      inputs: [
        {
          name: input.name,
          shape: input.shape,
          datatype: input.datatype,
          parameters: { binary_data_size: bytes.length },
        },
      ],
      outputs: outputs.map((name) => ({ name, parameters: { binary_data: true } })),
    }),
  );
  return {
    body: Buffer.concat([header, bytes]),
    headers: { 'content-type': 'application/octet-stream', [INFERENCE_HEADER]: String(header.length) },
  };
}

function flatNumbers(v: unknown, out: number[]): boolean {
  if (Array.isArray(v)) return v.every((x) => flatNumbers(x, out));
  if (typeof v === 'number') out.push(v);
  else if (typeof v === 'boolean') out.push(v ? 1 : 0);
  else return false;
  return true;
}

/**
 * Raw outputs of an inference answer, JSON or binary (an `Inference-Header-Content-Length`
 * header, outputs with `binary_data_size` read in order from the bytes after the JSON).
 * Throws ERR_MODEL_OUTPUT naming `what` for a body that is not JSON, an `error` answer, an
 * unknown datatype, data whose size does not fit its shape, bytes after the JSON that no output
 * declares, or JSON data of an integer datatype that is not an integer in that type's range
 * (never truncated or wrapped).
 */
export function decodeInferResponse(answer: Pick<HttpAnswer, 'headers' | 'body'>, what: string): RawOutput[] {
  const headerLength = answer.headers[INFERENCE_HEADER];
  const jsonLength = headerLength === undefined ? answer.body.length : Number(headerLength);
  if (!Number.isInteger(jsonLength) || jsonLength < 0 || jsonLength > answer.body.length) {
    throw outputError(
      what,
      `Inference-Header-Content-Length ${String(headerLength)} does not fit a body of ${answer.body.length} bytes`,
    );
  }
  const json = parseJsonBody(answer.body.subarray(0, jsonLength), what);
  if (isObject(json) && typeof json.error === 'string')
    throw outputError(what, `the server answered with an error: ${json.error}`);
  if (!isObject(json) || !Array.isArray(json.outputs)) throw outputError(what, 'the answer has no "outputs" array');
  let offset = jsonLength;
  const outputs = json.outputs.map((raw, i) => {
    const t = tensorMeta(raw, what, `outputs[${i}]`);
    const type = DATATYPES[t.datatype];
    if (!type)
      throw outputError(
        what,
        `output "${t.name}" has datatype ${t.datatype}; shiftbench reads ${Object.keys(DATATYPES).join(', ')}`,
      );
    if (t.shape.some((d) => d < 0))
      throw outputError(what, `output "${t.name}" has shape [${t.shape.join(',')}] with a -1 in an answer`);
    const count = t.shape.reduce((a, b) => a * b, 1);
    const params = isObject((raw as Record<string, unknown>).parameters)
      ? ((raw as Record<string, unknown>).parameters as Record<string, unknown>)
      : {};
    let data: Typed;
    if (params.binary_data_size !== undefined) {
      const size = Number(params.binary_data_size);
      if (!Number.isInteger(size) || size < 0 || offset + size > answer.body.length) {
        throw outputError(
          what,
          `output "${t.name}" says binary_data_size ${String(params.binary_data_size)} but only ` +
            `${answer.body.length - offset} bytes are left`,
        );
      }
      if (size !== count * type.bytes)
        throw outputError(
          what,
          `output "${t.name}" has ${size} bytes for shape [${t.shape.join(',')}] of ${t.datatype}`,
        );
      const copy = new ArrayBuffer(size); // aligned for the typed array
      new Uint8Array(copy).set(answer.body.subarray(offset, offset + size));
      offset += size;
      data = type.fromBytes(copy);
    } else {
      const numbers: number[] = [];
      if (!flatNumbers((raw as Record<string, unknown>).data, numbers))
        throw outputError(what, `output "${t.name}" has no numeric "data" array`);
      if (numbers.length !== count)
        throw outputError(what, `output "${t.name}" has ${numbers.length} values for shape [${t.shape.join(',')}]`);
      if (type.range) {
        const [min, max] = type.range;
        const bad = numbers.findIndex((v) => !Number.isInteger(v) || v < min || v > max);
        if (bad !== -1)
          throw outputError(
            what,
            `output "${t.name}" holds ${numbers[bad]} at index ${bad}, not a valid ${t.datatype} value (an integer from ` +
              `${min} to ${max}); check the output's datatype in the model's configuration`,
          );
      }
      data = type.fromNumbers(numbers);
    }
    return { name: t.name, dims: t.shape, data };
  });
  // bytes no output declares: the binary_data_size values do not describe the body, so none of its outputs is trusted
  if (offset !== answer.body.length)
    throw outputError(
      what,
      `${answer.body.length - offset} bytes after the last binary output are not declared by any output's ` +
        `binary_data_size (Inference-Header-Content-Length ${jsonLength}, body ${answer.body.length} bytes)`,
    );
  return outputs;
}
