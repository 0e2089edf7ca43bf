/**
 * Plain HTTP detectors: `--model http://HOST:PORT/PATH`. `GET PATH` answers the
 * detector's info as JSON ({ family, inputSizePx, classes, fit, padValue }, optionally
 * name, totalStridePx, version); `POST PATH` with one shifted input as a PNG
 * (`Content-Type: image/png`) answers `{ "detections": [{ "bbox": [x, y, w, h], "score",
 * "category_id" }] }` in input pixels. The request does not say which shift it is.
 */
import sharp from 'sharp';
import { COCO_CATEGORIES } from '../../core/coco.js';
import { ShiftbenchError } from '../../core/errors.js';
import { is } from '../../core/is.js';
import type {
  CocoCategory,
  Detection,
  Detector,
  DetectorInfo,
  LoadDetectorOptions,
  RgbImage,
} from '../../core/types.js';
import { detectInChunks } from '../decoders/index.js';
import { canaryInput, hashDetections } from './canary.js';
import { HttpTransport, parseJsonBody, refuseGraphRewrite } from './transport.js';

/** Whether a model spec is a plain HTTP detector's URL. */
export function isHttpSpec(spec: string): boolean {
  return /^https?:\/\//i.test(spec);
}

/** Inputs per detect call, per request slot: enough for the runner to keep every slot busy. */
export const PLAIN_HTTP_INPUTS_PER_SLOT = 4;

/** What `GET PATH` answers, validated. */
export interface PlainHttpInfo {
  name: string;
  family: DetectorInfo['family'];
  inputSizePx: { width: number; height: number };
  classes: CocoCategory[];
  fit: DetectorInfo['fit'];
  padValue: [number, number, number];
  totalStridePx?: number;
  version?: string;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const positiveInt = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 1;

/** Validates the info JSON of `GET url`; throws ERR_MODEL_LOAD "GET <url>: expected … for <field> but received …". */
export function parsePlainHttpInfo(json: unknown, url: string): PlainHttpInfo {
  const fail = (field: string, expected: string, actual: unknown): never => {
    throw new ShiftbenchError(
      'ERR_MODEL_LOAD',
      `GET ${url}: expected ${expected} for ${field} but received ` +
        `${JSON.stringify(actual)?.slice(0, 80) ?? 'nothing'}. ` +
        'A plain HTTP detector answers { family, inputSizePx, classes, fit, padValue } (see README, ' +
        '"Plain HTTP detectors").',
    );
  };
  if (!isObject(json)) fail('the info', 'a JSON object', json);
  const j = json as Record<string, unknown>;
  const family = j.family as Record<string, unknown>;
  if (
    !isObject(family) ||
    !['one-stage', 'two-stage'].includes(family.stages as string) ||
    !['anchor-based', 'anchor-free'].includes(family.anchors as string)
  ) {
    fail('family', '{ "stages": "one-stage"|"two-stage", "anchors": "anchor-based"|"anchor-free" }', j.family);
  }
  const size = j.inputSizePx as Record<string, unknown>;
  if (!isObject(size) || !positiveInt(size.width) || !positiveInt(size.height))
    fail('inputSizePx', '{ "width": W, "height": H } (positive integers)', j.inputSizePx);
  let classes: CocoCategory[];
  if (j.classes === 'coco80') classes = COCO_CATEGORIES.map((c) => ({ ...c }));
  else if (
    Array.isArray(j.classes) &&
    j.classes.length > 0 &&
    j.classes.every((c) => isObject(c) && is.int32(c.id) && typeof c.name === 'string') &&
    new Set(j.classes.map((c) => (c as { id: number }).id)).size === j.classes.length
  ) {
    classes = (j.classes as { id: number; name: string }[]).map((c) => ({ id: c.id, name: c.name }));
  } else {
    classes = fail(
      'classes',
      '"coco80" or a non-empty array of { "id": 32-bit integer, "name": string } with distinct ids',
      j.classes,
    );
  }
  if (j.fit !== 'letterbox' && j.fit !== 'stretch') fail('fit', '"letterbox" or "stretch"', j.fit);
  const pad = j.padValue;
  if (!Array.isArray(pad) || pad.length !== 3 || !pad.every((v) => Number.isInteger(v) && v >= 0 && v <= 255))
    fail('padValue', 'an array of 3 integers 0–255', pad);
  if (j.totalStridePx !== undefined && !positiveInt(j.totalStridePx))
    fail('totalStridePx', 'a positive integer', j.totalStridePx);
  return {
    name: typeof j.name === 'string' && j.name ? j.name : url,
    family: { stages: family.stages, anchors: family.anchors } as DetectorInfo['family'],
    inputSizePx: { width: size.width as number, height: size.height as number },
    classes,
    fit: j.fit as DetectorInfo['fit'],
    padValue: [...(pad as number[])] as [number, number, number],
    ...(j.totalStridePx !== undefined ? { totalStridePx: j.totalStridePx as number } : {}),
    ...(typeof j.version === 'string' ? { version: j.version } : {}),
  };
}

/**
 * Validates a `POST` answer `{ detections: [...] }` → detections; throws ERR_MODEL_OUTPUT naming `what` for an answer
 * without detections (showing the server's message of an `{ "error": "…" }` body), a box that is not 4 finite numbers
 * or has a negative width or height, a score that is not a number in [0, 1], a class not listed.
 */
export function parsePlainHttpDetections(json: unknown, classIds: ReadonlySet<number>, what: string): Detection[] {
  const fail = (problem: string): never => {
    throw new ShiftbenchError(
      'ERR_MODEL_OUTPUT',
      `${what}: ${problem}; expected { "detections": [{ "bbox": [x, y, w, h], "score": s, "category_id": ` +
        `c }] } in input pixels.`,
    );
  };
  // an HTTP 200 carrying the server's error (KServe's { "error": "…" } form): say what it said
  if (isObject(json) && !Array.isArray(json.detections) && typeof json.error === 'string')
    return fail(`the server answered with an error instead of detections: ${json.error.slice(0, 300)}`);
  if (!isObject(json) || !Array.isArray(json.detections)) return fail('the answer has no "detections" array');
  return (json.detections as unknown[]).map((d, i) => {
    if (!isObject(d)) return fail(`detections[${i}] is not an object`);
    const b = d.bbox;
    if (!Array.isArray(b) || b.length !== 4 || !b.every((v) => typeof v === 'number' && Number.isFinite(v)))
      return fail(`detections[${i}].bbox is not 4 finite numbers`);
    if (b[2] < 0 || b[3] < 0) return fail(`detections[${i}].bbox [${b.join(', ')}] has a negative width or height`);
    if (typeof d.score !== 'number' || !Number.isFinite(d.score))
      return fail(`detections[${i}].score is not a finite number`);
    // a logit or a percentage would pass the score threshold of the consistency metrics (τ in [0, 1]) wrongly
    if (d.score < 0 || d.score > 1)
      return fail(`detections[${i}].score ${d.score} is not a number in [0, 1] (a confidence, not a logit)`);
    if (!Number.isInteger(d.category_id) || !classIds.has(d.category_id as number))
      return fail(`detections[${i}].category_id ${JSON.stringify(d.category_id)} is not one of the detector's classes`);
    return { bbox: [b[0], b[1], b[2], b[3]], score: d.score, categoryId: d.category_id as number };
  });
}

/** An input as a lossless PNG (fast compression). */
export async function encodePng(img: RgbImage): Promise<Buffer> {
  const raw = Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength);
  return sharp(raw, { raw: { width: img.width, height: img.height, channels: 3 } })
    .png({ compressionLevel: 1 })
    .toBuffer();
}

interface PlainConnection {
  info: PlainHttpInfo;
  transport: HttpTransport;
  detectOne(img: RgbImage): Promise<Detection[]>;
  canarySha256: string;
}

async function connectPlainHttp(url: string, opts: LoadDetectorOptions): Promise<PlainConnection> {
  const transport = new HttpTransport(opts.http);
  try {
    const info = parsePlainHttpInfo(await transport.getJson(url), url);
    const classIds = new Set(info.classes.map((c) => c.id));
    const detectOne = async (img: RgbImage): Promise<Detection[]> => {
      const answer = await transport.request('POST', url, {
        headers: { 'content-type': 'image/png', accept: 'application/json' },
        body: await encodePng(img),
      });
      return parsePlainHttpDetections(parseJsonBody(answer.body, `POST ${url}`), classIds, `POST ${url}`);
    };
    const canary = await detectOne(canaryInput(info.inputSizePx.width, info.inputSizePx.height));
    return { info, transport, detectOne, canarySha256: hashDetections(canary) };
  } catch (err) {
    transport.close();
    throw err;
  }
}

/**
 * What identifies a plain HTTP detector's detections (for describeDetector): the info it
 * answers and the sha256 of its detections on the canary input
 * (`canaryDetectionsSha256`), so a detector replaced behind the URL is refused on resume.
 */
export async function describePlainHttp(url: string, opts: LoadDetectorOptions = {}): Promise<Record<string, unknown>> {
  const conn = await connectPlainHttp(url, opts);
  conn.transport.close();
  return { kind: 'http', info: conn.info, runtime: 'http', canaryDetectionsSha256: conn.canarySha256 };
}

/**
 * Loads a plain HTTP detector: `GET url` (the info), one canary `POST`. `detect` posts
 * every input of the batch as its own request, at most `--http-concurrency` in flight.
 * Throws ERR_NETWORK (unreachable, HTTP errors after retries), ERR_MODEL_LOAD (bad info),
 * ERR_MODEL_OUTPUT (bad answers), each naming the URL.
 */
export async function loadPlainHttpDetector(url: string, opts: LoadDetectorOptions = {}): Promise<Detector> {
  refuseGraphRewrite(url, opts);
  const conn = await connectPlainHttp(url, opts);
  const { info: served, transport } = conn;
  const info: DetectorInfo = {
    name: served.name,
    family: served.family,
    inputSizePx: served.inputSizePx,
    classes: served.classes,
    fit: served.fit,
    padValue: served.padValue,
    ...(served.totalStridePx !== undefined ? { totalStridePx: served.totalStridePx } : {}),
    maxBatch: PLAIN_HTTP_INPUTS_PER_SLOT * transport.options.concurrency,
    runtime: 'http',
    files: [],
    details: {
      format: 'http',
      url,
      info: served,
      version: served.version ?? null,
      canaryDetectionsSha256: conn.canarySha256,
    },
  };
  let disposed = false;
  return {
    info,
    async detect(batch: RgbImage[]): Promise<Detection[][]> {
      if (disposed) throw new ShiftbenchError('ERR_INVALID_OPTION', `Detector "${url}" was disposed; load it again`);
      return detectInChunks(url, served.inputSizePx, Math.max(1, batch.length), batch, (all) =>
        Promise.all(all.map((img) => conn.detectOne(img))),
      );
    },
    async dispose(): Promise<void> {
      disposed = true;
      transport.close();
    },
  };
}
