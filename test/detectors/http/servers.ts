/**
 * Real HTTP servers on loopback for the served-detector tests: an Open Inference
 * Protocol (KServe v2) server running an ONNX model with onnxruntime-node (JSON tensors
 * and Triton's binary tensor extension, written from the specification), and a plain
 * HTTP detector server running shiftbench's own ONNX detector. Both take faults.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import type { Detector } from '../../../src/core/types.js';

/** What the server does with one POST (the n-th, from 0): answer normally, or a fault. */
export type Fault =
  | null
  | { kind: 'status'; status: number }
  | { kind: 'slow'; ms: number }
  | { kind: 'close' }
  | { kind: 'malformed' }
  | { kind: 'wrongShape' };

export interface TestServer {
  url: string;
  /** POST requests received so far. */
  posts: number;
  /** Most POSTs in flight at once. */
  maxInFlight: number;
  /**
   * When > 0: each POST is held until this many are in flight together (then they all go on and holding ends) or
   * HOLD_MS passes — so maxInFlight shows the client's concurrency however fast the server answers.
   */
  holdUntil: number;
  /** Decides each POST's fault (default: none). */
  fault: (postIndex: number) => Fault;
  close(): Promise<void>;
}

type Handler = (req: http.IncomingMessage, body: Buffer, res: http.ServerResponse, fault: Fault) => Promise<void>;

function json(res: http.ServerResponse, status: number, value: unknown): void {
  const body = Buffer.from(JSON.stringify(value));
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': body.length });
  res.end(body);
}

/** Longest a POST is held for TestServer.holdUntil (a lone request, e.g. the load's canary, waits this long). */
const HOLD_MS = 1500;

/** Starts a server on 127.0.0.1 (`port` 0: any free one) that routes to `handler`, applying faults to POSTs. */
async function start(handler: Handler, port = 0): Promise<TestServer> {
  const sockets = new Set<import('node:net').Socket>();
  let inFlight = 0;
  let held: (() => void)[] = [];
  const hold = (): Promise<void> =>
    new Promise((resolve) => {
      if (inFlight >= state.holdUntil) {
        state.holdUntil = 0;
        for (const go of held.splice(0)) go();
        resolve();
        return;
      }
      const go = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        held = held.filter((g) => g !== go);
        resolve();
      }, HOLD_MS);
      held.push(go);
    });
  const state: TestServer = {
    url: '',
    posts: 0,
    maxInFlight: 0,
    holdUntil: 0,
    fault: () => null,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks);
      let fault: Fault = null;
      if (req.method === 'POST') {
        fault = state.fault(state.posts++);
        state.maxInFlight = Math.max(state.maxInFlight, ++inFlight);
        if (state.holdUntil > 0) await hold();
      }
      try {
        if (fault?.kind === 'status') return json(res, fault.status, { error: `injected ${fault.status}` });
        if (fault?.kind === 'slow') await new Promise((r) => setTimeout(r, fault.ms));
        if (fault?.kind === 'close') {
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': 1000 });
          res.write('{"outputs": [');
          setTimeout(() => res.socket?.destroy(), 10);
          return;
        }
        if (fault?.kind === 'malformed') {
          res.writeHead(200, { 'content-type': 'application/json' });
          return void res.end('{"outputs": [{"name": "boxes", "shape": [1, 4');
        }
        await handler(req, body, res, fault);
      } catch (err) {
        if (!res.headersSent) json(res, 500, { error: (err as Error).message });
      } finally {
        if (req.method === 'POST') inFlight--;
      }
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return state;
}

const KSERVE_TYPES: Record<string, string> = {
  float32: 'FP32',
  float64: 'FP64',
  int64: 'INT64',
  int32: 'INT32',
  uint8: 'UINT8',
  int8: 'INT8',
};
const ORT_TYPES: Record<
  string,
  { ort: string; bytes: number; make: (b: ArrayBuffer) => ArrayLike<number | bigint>; from: (v: number[]) => unknown }
> = {
  FP32: { ort: 'float32', bytes: 4, make: (b) => new Float32Array(b), from: (v) => Float32Array.from(v) },
  UINT8: { ort: 'uint8', bytes: 1, make: (b) => new Uint8Array(b), from: (v) => Uint8Array.from(v) },
};

function flat(v: unknown, out: number[]): number[] {
  if (Array.isArray(v)) for (const x of v) flat(x, out);
  else out.push(v as number);
  return out;
}

/** The model behind a KServe test server (replaceable, to test a model replaced behind the URL). */
export interface ServedModel {
  session: ort.InferenceSession;
  name: string;
  version: string;
}

/** Loads an ONNX file as a served model, with the session options shiftbench's ONNX adapter uses. */
export async function servedModel(file: string, name: string, version = '1'): Promise<ServedModel> {
  const session = await ort.InferenceSession.create(file, {
    intraOpNumThreads: os.availableParallelism(),
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    logSeverityLevel: 3,
    executionProviders: ['cpu'],
  });
  return { session, name, version };
}

function tensorMeta(m: ort.InferenceSession.ValueMetadata) {
  if (!m.isTensor) throw new Error(`${m.name} is not a tensor`);
  return {
    name: m.name,
    datatype: KSERVE_TYPES[m.type] ?? m.type,
    shape: m.shape.map((d) => (typeof d === 'number' && d > 0 ? d : -1)),
  };
}

/**
 * An Open Inference Protocol (KServe v2) server for `model.current`: health, model
 * metadata (with and without /versions/V) and inference with JSON or binary tensors,
 * answering binary outputs where the request asks for them.
 */
export async function startKserveServer(model: { current: ServedModel }, port = 0): Promise<TestServer> {
  return start(async (req, body, res, fault) => {
    const m = model.current;
    const url = new URL(req.url ?? '/', 'http://x');
    const paths = [`/v2/models/${m.name}`, `/v2/models/${m.name}/versions/${m.version}`];
    if (req.method === 'GET' && url.pathname === '/v2/health/ready') return void res.writeHead(200).end();
    if (req.method === 'GET' && paths.includes(url.pathname)) {
      return json(res, 200, {
        name: m.name,
        versions: [m.version],
        platform: 'onnxruntime_onnx',
        inputs: m.session.inputMetadata.map(tensorMeta),
        outputs: m.session.outputMetadata.map(tensorMeta),
      });
    }
    if (req.method !== 'POST' || !paths.map((p) => `${p}/infer`).includes(url.pathname))
      return json(res, 404, { error: `no route ${req.method} ${url.pathname}` });
    const headerLength = req.headers['inference-header-content-length'];
    const jsonEnd = headerLength === undefined ? body.length : Number(headerLength);
    const request = JSON.parse(body.subarray(0, jsonEnd).toString('utf8')) as {
      inputs: {
        name: string;
        shape: number[];
        datatype: string;
        data?: unknown;
        parameters?: { binary_data_size?: number };
      }[];
      outputs?: { name: string; parameters?: { binary_data?: boolean } }[];
      parameters?: { binary_data_output?: boolean };
    };
    const feeds: Record<string, ort.Tensor> = {};
    let offset = jsonEnd;
    for (const input of request.inputs) {
      const type = ORT_TYPES[input.datatype];
      if (!type) return json(res, 400, { error: `datatype ${input.datatype} not supported` });
      let data: unknown;
      if (input.parameters?.binary_data_size !== undefined) {
        const size = input.parameters.binary_data_size;
        const copy = new ArrayBuffer(size);
        new Uint8Array(copy).set(body.subarray(offset, offset + size));
        offset += size;
        data = type.make(copy);
      } else data = type.from(flat(input.data, []));
      feeds[input.name] = new ort.Tensor(type.ort as 'float32', data as Float32Array, input.shape);
    }
    const results = await m.session.run(feeds);
    const asked: { name: string; parameters?: { binary_data?: boolean } }[] =
      request.outputs ?? m.session.outputNames.map((name) => ({ name }));
    const binaryParts: Buffer[] = [];
    const outputs = asked.map(({ name, parameters }) => {
      const t = results[name] as ort.Tensor;
      let shape = [...t.dims];
      if (fault?.kind === 'wrongShape' && name === 'boxes') shape = [shape[0], 2, 2];
      const meta = { name, shape, datatype: KSERVE_TYPES[t.type] };
      if (parameters?.binary_data ?? request.parameters?.binary_data_output) {
        const d = t.data as Float32Array;
        const bytes = Buffer.from(d.buffer, d.byteOffset, d.byteLength);
        binaryParts.push(Buffer.from(bytes));
        return { ...meta, parameters: { binary_data_size: bytes.length } };
      }
      return { ...meta, data: Array.from(t.data as ArrayLike<number | bigint>, Number) };
    });
    const head = Buffer.from(JSON.stringify({ model_name: m.name, model_version: m.version, outputs }));
    if (binaryParts.length === 0) {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': head.length });
      return void res.end(head);
    }
    const all = Buffer.concat([head, ...binaryParts]);
    res.writeHead(200, {
      'content-type': 'application/octet-stream',
      'inference-header-content-length': head.length,
      'content-length': all.length,
    });
    res.end(all);
  }, port);
}

/**
 * A plain HTTP detector server at `/detect` for `detector.current` (a shiftbench Detector,
 * e.g. the direct ONNX zoo model): GET → its info, POST a PNG → its detections.
 */
export async function startPlainServer(detector: { current: Detector }, port = 0): Promise<TestServer> {
  // a Detector's detect is not re-entrant (the ONNX adapter reuses its input buffer): one call at a time
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = queue.then(fn, fn);
    queue = next.catch(() => undefined);
    return next;
  };
  const server = await start(async (req, body, res, fault) => {
    const d = detector.current;
    if (new URL(req.url ?? '/', 'http://x').pathname !== '/detect') return json(res, 404, { error: 'no such path' });
    if (req.method === 'GET') {
      const { family, inputSizePx, classes, fit, padValue, totalStridePx } = d.info;
      return json(res, 200, { name: d.info.name, family, inputSizePx, classes, fit, padValue, totalStridePx });
    }
    const { data, info } = await sharp(body).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const [dets] = await serial(() =>
      d.detect([
        { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height },
      ]),
    );
    const detections = dets.map((x) => ({
      bbox: fault?.kind === 'wrongShape' ? x.bbox.slice(0, 3) : x.bbox,
      score: x.score,
      category_id: x.categoryId,
    }));
    json(res, 200, { detections });
  }, port);
  server.url += '/detect';
  return server;
}
