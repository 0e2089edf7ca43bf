/**
 * The hot loop of a run: for one detector, every image not yet stored is decoded once,
 * resampled once, turned into its shifted inputs, detected in batches and appended to
 * the detection log. Images are decoded and their inputs made ahead of the detector, in
 * prepare worker threads (prepare.ts), and taken in image order.
 */
import { performance } from 'node:perf_hooks';
import { ShiftbenchError } from '../core/errors.js';
import { is } from '../core/is.js';
import type {
  DatasetImage,
  DetectContext,
  Detection,
  Detector,
  InputTransform,
  RgbImage,
  ShiftMode,
  ShiftSet,
} from '../core/types.js';
import { decodeDatasetImage } from '../datasets/decode.js';
import {
  InputBufferPool,
  inputBufferCapacity,
  projectBack,
  type ResampleKernel,
  type SubpixelKernel,
} from '../shifts/index.js';
import { openPreparedImages, type PreparePool } from './prepare.js';
import type { PreparedImage } from './prepareImage.js';
import type { DetectionLog, ImageRecord, StoredDetection } from './store.js';

export interface DetectLoopOptions {
  detector: Detector;
  /** Images to compute, in order. */
  images: DatasetImage[];
  shiftSet: ShiftSet;
  mode: ShiftMode;
  kernel: ResampleKernel;
  /** Kernel of fractional pad/crop shifts (used only by sets holding fractions). */
  subpixelKernel?: SubpixelKernel;
  /** Inputs per detect call (≤ info.maxBatch). */
  batchSize: number;
  /** Detections kept per input (the highest-scoring); more is counted in `truncatedInputs`. */
  maxDetections?: number;
  decode: (image: DatasetImage) => Promise<RgbImage>;
  log: DetectionLog;
  /** Awaited before each record is appended (the run checks it still holds its lease); throws to stop. */
  beforeWrite?: () => Promise<void>;
  /** Content hash of each image file, by id, stored in its record (the per-image identity). */
  imageSha256?: ReadonlyMap<number, string>;
  /**
   * Prepare workers to use (shared, left open; openPreparePool). Only the built-in decoder (decodeDatasetImage) runs
   * there.
   */
  preparePool?: PreparePool | null;
  /**
   * Without a pool: prepare worker threads to start for this loop (default DEFAULT_PREPARE_WORKERS; 0: this thread).
   */
  prepareWorkers?: number;
  /** Called once when images are prepared on this thread although workers were asked for, with the reason. */
  onPrepareFallback?: (reason: string) => void;
  /** Called after each image record is stored. */
  onRecord: (record: ImageRecord) => void;
  signal?: AbortSignal;
}

type Prepared = PreparedImage;

/** An AbortError as fetch and timers throw it. */
export function abortError(signal: AbortSignal): Error {
  const reason = signal.reason;
  if (reason instanceof Error && (reason.name === 'AbortError' || reason instanceof ShiftbenchError)) return reason;
  const err = new Error(typeof reason === 'string' ? reason : 'The run was stopped');
  err.name = 'AbortError';
  return err;
}

/** A detection as JSON, with non-finite numbers as they are (Infinity, NaN) rather than JSON's null; 120 chars at most. */
function detectionText(d: unknown): string {
  const marked = JSON.stringify(d, (_k, v: unknown) =>
    typeof v === 'number' && !Number.isFinite(v) ? `\u0000${v}\u0000` : v,
  );
  return (marked ?? String(d)).replace(/"\\u0000(-?Infinity|NaN)\\u0000"/g, '$1').slice(0, 120);
}

function checkDetections(out: unknown, expected: number, name: string): Detection[][] {
  if (!Array.isArray(out) || out.length !== expected) {
    throw new ShiftbenchError(
      'ERR_MODEL_OUTPUT',
      `Detector "${name}" returned ${Array.isArray(out) ? `${out.length} result lists` : typeof out} for a batch of ` +
        `${expected} inputs; detect() must return one list per input.`,
    );
  }
  for (const list of out) {
    if (!Array.isArray(list))
      throw new ShiftbenchError(
        'ERR_MODEL_OUTPUT',
        `Detector "${name}" returned a result that is not a list of detections.`,
      );
    for (const d of list as Detection[]) {
      const b = d?.bbox;
      if (
        !Array.isArray(b) ||
        b.length !== 4 ||
        !b.every(Number.isFinite) ||
        !Number.isFinite(d.score) ||
        !is.int32(d.categoryId)
      ) {
        throw new ShiftbenchError(
          'ERR_MODEL_OUTPUT',
          `Detector "${name}" returned a malformed detection ${detectionText(d)}; expected { bbox: ` +
            `[x, y, w, h], score, categoryId } with finite numbers (categoryId a 32-bit integer).`,
        );
      }
    }
  }
  return out as Detection[][];
}

/** The `max` highest-scoring detections (ties keep the detector's order). */
function topByScore(list: Detection[], max: number): Detection[] {
  return list
    .map((d, i) => ({ d, i }))
    .sort((a, b) => b.d.score - a.d.score || a.i - b.i)
    .slice(0, max)
    .map((x) => x.d);
}

/**
 * What the run stores of one input's detections (in that input's pixels): the
 * `maxDetections` highest-scoring (default all; `truncated` says whether more were
 * given), projected back to the original image by the input's transform. The one path
 * from a detector's output to a stored record, shared by the detect loop and `score`.
 * Throws ERR_MODEL_OUTPUT (naming `detectorName`) for a box that is not finite once projected back.
 */
export function storedDetectionsOf(
  dets: Detection[],
  transform: InputTransform,
  imageId: number,
  maxDetections = Infinity,
  detectorName?: string,
): { stored: StoredDetection[]; truncated: boolean } {
  const truncated = dets.length > maxDetections;
  const kept = truncated ? topByScore(dets, maxDetections) : dets;
  const coco = projectBack(kept, transform, imageId);
  // a box finite in the input may not be once scaled back to a larger photo: JSON would store null for it
  const bad = coco.findIndex((c) => !c.bbox.every(Number.isFinite));
  if (bad >= 0) {
    throw new ShiftbenchError(
      'ERR_MODEL_OUTPUT',
      `${detectorName === undefined ? 'The detector' : `Detector "${detectorName}"`} returned a detection ` +
        `${detectionText(kept[bad])} for image ${imageId} whose box is beyond the range of numbers once projected ` +
        `back to the original image (÷ ${transform.scaleX}, ${transform.scaleY}); boxes must be in the input's pixels.`,
    );
  }
  return { stored: coco.map((c) => [c.bbox[0], c.bbox[1], c.bbox[2], c.bbox[3], c.score, c.category_id]), truncated };
}

/** Image records waiting to be appended at most, while the detector goes on. */
const WRITES_IN_FLIGHT = 8;

/**
 * Runs `store` on each pushed item in push order, one at a time, without making the pusher
 * wait unless `maxPending` items are not written yet. After a failed write nothing more is
 * written and push/drain throw its error.
 */
export class OrderedWriter<T> {
  private chain: Promise<void> = Promise.resolve();
  private pending = 0;
  private failure: { error: unknown } | null = null;

  constructor(
    private readonly store: (item: T) => Promise<void>,
    private readonly maxPending: number,
  ) {}

  /** Queues `item`; waits only while `maxPending` items are queued. Throws the error of a failed write. */
  async push(item: T): Promise<void> {
    if (this.failure) throw this.failure.error;
    this.pending++;
    this.chain = this.chain.then(async () => {
      await this.store(item);
      this.pending--;
    });
    this.chain.catch((error: unknown) => {
      this.failure ??= { error };
    });
    if (this.pending >= this.maxPending) await this.drain();
  }

  /** Waits until every queued item is written; throws the error of a failed write. */
  async drain(): Promise<void> {
    await this.chain;
  }
}

/**
 * Runs `detector` over `images` and appends one record per image to the log.
 * Images that fail to decode are stored as skipped. Errors of the detector propagate
 * after everything already computed is stored and synced; an abort signal stops
 * between batches with an AbortError.
 */
export async function runDetectLoop(
  o: DetectLoopOptions,
): Promise<{ inferenceSeconds: number; computed: number; truncatedInputs: number }> {
  const { detector, shiftSet, images } = o;
  const info = detector.info;
  const nShifts = shiftSet.shifts.length;
  const batch = Math.max(1, o.batchSize);
  // images per group: fill a batch with whole images when the shift set is small
  const groupSize = Math.max(1, Math.floor(batch / nShifts));
  const inputOpts = {
    inputSizePx: info.inputSizePx,
    fit: info.fit,
    padValue: info.padValue,
    mode: o.mode,
    shiftSet,
    kernel: o.kernel,
    subpixelKernel: o.subpixelKernel,
  };

  // a detector that keeps no input once it has answered gets the same few buffers again (inputBuffers.ts)
  const { width: wm, height: hm } = info.inputSizePx;
  // (at most one batch is out at once on this thread; with prepare workers a group's buffers go back to them)
  const inputBuffers =
    detector.releasesInputs === true
      ? new InputBufferPool(wm * hm * 3, Math.max(batch, inputBufferCapacity(wm * hm * 3, 2 * nShifts)))
      : undefined;
  const source = openPreparedImages({
    images,
    inputOpts,
    decode: o.decode,
    builtInDecode: o.decode === decodeDatasetImage,
    pool: o.preparePool,
    workers: o.prepareWorkers,
    minDepth: groupSize,
    onFallback: o.onPrepareFallback,
    inputBuffers,
  });
  const prepareGroup = (start: number): Promise<Prepared[]> | null => {
    if (start >= images.length) return null;
    const group = Promise.all(images.slice(start, start + groupSize).map(() => source.next()));
    group.catch(() => undefined); // a failure there is seen when it is awaited
    return group;
  };

  let inferenceSeconds = 0;
  let computed = 0;
  let truncatedInputs = 0;
  const maxDetections = o.maxDetections ?? Infinity;
  // records are appended in order while the detector works on the next batch (a write
  // waits for a thread of libuv's pool, which sharp also uses): at most WRITES_IN_FLIGHT behind
  const writer = new OrderedWriter(async (record: ImageRecord) => {
    await o.beforeWrite?.();
    await o.log.append(record);
    computed++;
    o.onRecord(record);
  }, WRITES_IN_FLIGHT);
  let next = prepareGroup(0);
  try {
    for (let start = 0; next !== null; start += groupSize) {
      if (o.signal?.aborted) throw abortError(o.signal);
      const group = await next;
      next = prepareGroup(start + groupSize); // taken from the queue, which prepares ahead of the detector

      // flatten the group's (image, shift) inputs and detect them in batches; an image's
      // record is stored as soon as all its shifts are done (in image order)
      const work: { p: Prepared; shiftIndex: number }[] = [];
      for (const p of group) if (p.inputs) for (let s = 0; s < nShifts; s++) work.push({ p, shiftIndex: s });
      const results = new Map<Prepared, { shifts: StoredDetection[][]; done: number; seconds: number }>();
      for (const p of group) if (p.inputs) results.set(p, { shifts: new Array(nShifts), done: 0, seconds: 0 });
      let written = 0;
      const flush = async () => {
        while (written < group.length) {
          const p = group[written];
          const r = results.get(p);
          if (r && r.done < nShifts) break;
          const sha256 = o.imageSha256?.get(p.image.id);
          const record: ImageRecord = r
            ? { imageId: p.image.id, ...(sha256 ? { sha256 } : {}), seconds: r.seconds, size: p.size, shifts: r.shifts }
            : { imageId: p.image.id, ...(sha256 ? { sha256 } : {}), skipped: p.skipped ?? 'could not decode' };
          written++;
          await writer.push(record);
        }
      };
      await flush(); // skipped images at the head of the group
      for (let b = 0; b < work.length; b += batch) {
        if (o.signal?.aborted) throw abortError(o.signal);
        const chunk = work.slice(b, b + batch);
        const inputs = chunk.map((w) => w.p.inputs!.input(w.shiftIndex));
        const contexts: DetectContext[] = chunk.map((w) => ({
          imageId: w.p.image.id,
          shift: shiftSet.shifts[w.shiftIndex],
          transform: w.p.inputs!.transforms[w.shiftIndex],
        }));
        const t0 = performance.now();
        const out = checkDetections(await detector.detect(inputs, contexts), inputs.length, info.name);
        const seconds = (performance.now() - t0) / 1000;
        inferenceSeconds += seconds;
        chunk.forEach((w, i) => {
          const r = results.get(w.p)!;
          const { stored, truncated } = storedDetectionsOf(
            out[i],
            w.p.inputs!.transforms[w.shiftIndex],
            w.p.image.id,
            maxDetections,
            info.name,
          );
          if (truncated) truncatedInputs++;
          r.shifts[w.shiftIndex] = stored;
          r.done++;
          r.seconds += seconds / chunk.length;
        });
        if (inputBuffers) for (const input of inputs) inputBuffers.give(input.data);
        await flush();
      }
      await flush();
    }
    await writer.drain(); // a failed append is this loop's error
  } finally {
    await source.close(); // stops the prepare workers, also on an error or an abort
    await writer.drain().catch(() => undefined); // what was computed is stored before an error propagates
    await o.log.sync();
  }
  return { inferenceSeconds, computed, truncatedInputs };
}
