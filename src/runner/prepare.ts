/**
 * Keeps the detector fed: images are decoded and their shifted inputs made ahead of the
 * detect loop, in prepare worker threads (node:worker_threads) or on this thread, and
 * handed to the loop in image order. At most `depth` images are prepared and not yet
 * taken, so memory stays bounded; a decoding error is a skipped image, as on this thread.
 *
 * Workers run the built JavaScript (`dist/runner/prepareWorker.js`); when this module
 * runs from TypeScript source (tests, benchmarks) it starts the built file of the same
 * tree if it is newer than the sources it is built from, else it prepares on this thread
 * and says why (onFallback). A custom decoder (RunHooks.env.decodeImage) cannot move to
 * a worker, so it always runs here.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ShiftbenchError, type ErrorCode } from '../core/errors.js';
import type { DatasetImage, RgbImage } from '../core/types.js';
import type { InputBufferPool } from '../shifts/inputBuffers.js';
import { shiftedInputsFromMade, type ShiftedInputOptions } from '../shifts/inputs.js';
import { prepareImage, type PreparedImage, type PrepareReply, type PrepareRequest } from './prepareImage.js';

/**
 * Default prepare workers: from 4 cores on, one per core beyond two (the detector's thread
 * and sharp's), at most 4; below 4 cores none. On 2 cores sharp already decodes in its own
 * threads while the main thread waits for the detector, and a worker only adds its overhead
 * (bench/runner.bench.ts, 2 cores: harness CPU per image 2.3× decoding's with one worker,
 * 1.8× without; zoo-fcos loop/model-alone 0.98 and 1.01).
 */
export const DEFAULT_PREPARE_WORKERS = defaultPrepareWorkers(os.availableParallelism());

/** DEFAULT_PREPARE_WORKERS for a machine with `cores` cores. */
export function defaultPrepareWorkers(cores: number): number {
  return cores >= 4 ? Math.min(4, cores - 2) : 0;
}

/**
 * Bytes of prepared inputs that may wait for the detector: the images prepared ahead (`depth`) and the group the loop
 * has taken (prepareDepth). Exceeded only by one image ahead, where a group and one image are larger.
 */
export const PREPARE_QUEUE_BYTES = 256 * 1024 * 1024;

/**
 * Fewest images for which workers are started by default (starting one and loading sharp
 * there costs 0.1–0.5 s of a core; an explicit worker count always starts them).
 */
export const PREPARE_WORKERS_MIN_IMAGES = 16;

/**
 * Hands out `count` results in index order, starting `start(i)` at most `depth()` indices
 * ahead of the last one taken. Results may settle in any order; `next()` returns them in
 * order. A rejected start is seen by the `next()` that takes it.
 */
export class OrderedPrefetch<T> {
  private readonly slots = new Map<number, Promise<T>>();
  private started = 0;
  private taken = 0;

  /** `depth()` ≥ 1 (may grow, e.g. once workers are ready; call fill() then): results started and not yet taken. */
  constructor(
    private readonly count: number,
    private readonly depth: () => number,
    private readonly start: (index: number) => Promise<T>,
  ) {
    this.fill();
  }

  /** The next result in order. Throws ERR_INTERNAL after the last. */
  next(): Promise<T> {
    if (this.taken >= this.count)
      throw new ShiftbenchError('ERR_INTERNAL', `prefetch: all ${this.count} results were taken`);
    const p = this.slots.get(this.taken)!;
    this.slots.delete(this.taken);
    this.taken++;
    this.fill();
    return p;
  }

  /** Waits until every started result has settled (errors ignored); starts nothing more. */
  async settle(): Promise<void> {
    this.taken = this.count; // nothing more is started
    await Promise.all([...this.slots.values()].map((p) => p.catch(() => undefined)));
    this.slots.clear();
  }

  /** Starts what the depth allows now. */
  fill(): void {
    const depth = this.depth();
    if (!(Number.isInteger(depth) && depth >= 1))
      throw new ShiftbenchError('ERR_INTERNAL', `prefetch depth must be a positive integer, got ${depth}`);
    while (this.started < this.count && this.started - this.taken < depth) {
      const i = this.started++;
      let p: Promise<T>;
      try {
        p = this.start(i);
      } catch (err) {
        p = Promise.reject(err);
      }
      p.catch(() => undefined); // seen when taken
      this.slots.set(i, p);
    }
  }
}

/**
 * Starts `workers` prepare worker threads (default DEFAULT_PREPARE_WORKERS) to be shared
 * by the detect loops of a run: starting them early lets their start-up overlap model
 * loading. Null when `workers` is 0 or they cannot be started; then `onFallback` says why.
 * The caller terminates the pool.
 */
export function openPreparePool(
  workers: number = DEFAULT_PREPARE_WORKERS,
  onFallback?: (reason: string) => void,
): PreparePool | null {
  const n = Math.max(0, Math.floor(workers));
  if (n === 0) return null;
  try {
    return new PreparePool(prepareWorkerUrl(), n);
  } catch (err) {
    onFallback?.((err as Error).message);
    return null;
  }
}

/**
 * Images prepared ahead by default: 32, or twice a group when that is more, but never so many that they and the group
 * the loop has taken (it takes the next group while the detector works on the current one) hold more than
 * PREPARE_QUEUE_BYTES of inputs; at least 1 (when one image more than a group does not fit, that one image is still
 * prepared, or the detector would wait for every image).
 */
export function prepareDepth(bytesPerImage: number, group: number): number {
  const fit = Math.floor(PREPARE_QUEUE_BYTES / Math.max(1, bytesPerImage));
  return Math.max(1, Math.min(Math.max(2 * group, 32), fit - group));
}

/** Options of openPreparedImages. */
export interface PrepareOptions {
  images: DatasetImage[];
  inputOpts: ShiftedInputOptions;
  decode: (image: DatasetImage) => Promise<RgbImage>;
  /** Whether `decode` is the built-in dataset decoder (decodeDatasetImage), which workers can run. */
  builtInDecode: boolean;
  /** A pool of the caller's (openPreparePool) to use instead of starting workers; it stays open on close(). */
  pool?: PreparePool | null;
  /** Without `pool`: prepare worker threads to start (default DEFAULT_PREPARE_WORKERS; 0 prepares on this thread). */
  workers?: number;
  /** Images prepared ahead at most; at least 1 (default: prepareDepth, from PREPARE_QUEUE_BYTES and minDepth). */
  depth?: number;
  /** The loop takes this many images at once (a group): the queue holds twice that where PREPARE_QUEUE_BYTES allows. */
  minDepth?: number;
  /** Called once when images are prepared on this thread although workers were asked for, with the reason. */
  onFallback?: (reason: string) => void;
  /** Buffers for the inputs made on this thread (see inputBuffers.ts); workers make their own. */
  inputBuffers?: InputBufferPool;
}

/** The images of a run, prepared ahead, in order. */
export interface PreparedImages {
  /** Worker threads in use (0: this thread). */
  readonly workers: number;
  /** Most images prepared ahead and not yet taken (once workers are ready; on this thread, one group). */
  readonly depth: number;
  /** The next image in order (rejects with the error of its preparation or of a failed worker). */
  next(): Promise<PreparedImage>;
  /**
   * Stops preparing: a pool started here is terminated (nothing left running, no hanging
   * thread), a caller's pool is left open; waits for started work. Idempotent.
   */
  close(): Promise<void>;
}

/**
 * Starts preparing `images` ahead of the loop; see the module doc. Never throws: workers
 * that cannot be started mean preparing on this thread (onFallback says why).
 */
export function openPreparedImages(o: PrepareOptions): PreparedImages {
  const { images, inputOpts } = o;
  const bytesPerImage =
    inputOpts.inputSizePx.width * inputOpts.inputSizePx.height * 3 * inputOpts.shiftSet.shifts.length;
  const group = Math.max(1, o.minDepth ?? 1);
  const depth = o.depth ?? prepareDepth(bytesPerImage, group);
  let pool: PreparePool | null = null;
  let owned = false;
  const wanted =
    o.pool !== undefined && o.pool !== null
      ? o.pool.size
      : Math.max(0, Math.floor(o.workers ?? DEFAULT_PREPARE_WORKERS));
  if (wanted > 0 && !o.builtInDecode) o.onFallback?.('a custom decoder runs on the main thread');
  else if (o.pool) pool = o.pool;
  else if (wanted > 0 && (o.workers !== undefined || images.length >= PREPARE_WORKERS_MIN_IMAGES)) {
    pool = openPreparePool(Math.min(wanted, images.length), o.onFallback);
    owned = pool !== null;
  }
  const here = (i: number) => prepareImage(images[i], o.decode, inputOpts, o.inputBuffers);
  // On this thread (as before workers, and while the workers start: loading sharp there
  // takes 0.1–0.5 s) about the next group is prepared while the detector works.
  const ready = () => pool !== null && pool.ready;
  const queue = new OrderedPrefetch<PreparedImage>(
    images.length,
    () => (ready() ? depth : Math.min(depth, group)),
    (i) =>
      ready()
        ? pool!.prepare(images[i], inputOpts, o.inputBuffers?.takeGiven(inputOpts.shiftSet.shifts.length) ?? [])
        : here(i),
  );
  const stopListening = pool && !pool.ready ? pool.onReady(() => queue.fill()) : () => undefined;
  let closed: Promise<void> | null = null;
  return {
    workers: pool ? pool.size : 0,
    depth,
    next: () => queue.next(),
    close: () =>
      (closed ??= (async () => {
        stopListening();
        if (owned) pool?.terminate();
        await queue.settle();
      })()),
  };
}

/**
 * The prepare worker's entry: `prepareWorker.js` beside this module when it is the built
 * JS; from TypeScript source, `dist/runner/prepareWorker.js` of the same tree, provided it
 * is newer than every source it is built from (src/runner/prepareImage.ts and prepareWorker.ts, src/shifts,
 * src/datasets, src/core). @throws Error naming the missing or stale build.
 */
export function prepareWorkerUrl(): URL {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) return new URL('./prepareWorker.js', here);
  const url = new URL('../../dist/runner/prepareWorker.js', here);
  const file = fileURLToPath(url);
  if (!existsSync(file))
    throw new Error(`prepare workers run the built JavaScript, and ${file} is missing: run \`npm run build\``);
  const src = path.dirname(path.dirname(fileURLToPath(here)));
  const sources = [
    ...['prepareImage.ts', 'prepareWorker.ts'].map((f) => path.join(src, 'runner', f)),
    ...['shifts', 'datasets', 'core'].flatMap((d) =>
      readdirSync(path.join(src, d))
        .filter((f) => f.endsWith('.ts'))
        .map((f) => path.join(src, d, f)),
    ),
  ];
  const built = statSync(file).mtimeMs;
  const newer = sources.find((f) => statSync(f).mtimeMs > built);
  if (newer)
    throw new Error(
      `prepare workers run the built JavaScript, and ${file} is older than ${newer}: run \`npm run build\``,
    );
  return url;
}

interface Slot {
  worker: Worker;
  jobs: Map<number, Job>;
  /** The worker has loaded its code (sharp included) and takes jobs. */
  ready: boolean;
}

interface Job {
  image: DatasetImage;
  resolve: (p: PreparedImage) => void;
  reject: (e: Error) => void;
}

/**
 * Prepare worker threads (openPreparePool); each job goes to the worker with the fewest
 * jobs. A worker that fails or exits rejects its jobs and every later one (the run stops
 * with that error). Workers are referenced only while they have jobs, so an idle pool
 * never keeps the process alive; terminate() stops them.
 */
export class PreparePool {
  private readonly workers: Slot[] = [];
  private nextJobId = 0;
  private failure: Error | null = null;
  private terminated = false;
  private readyListeners = new Set<() => void>();

  /** Starts `count` workers on the entry `url` (prepareWorkerUrl). */
  constructor(url: URL, count: number) {
    for (let w = 0; w < count; w++) {
      const worker = new Worker(url);
      const slot = { worker, jobs: new Map<number, Job>(), ready: false };
      worker.unref();
      worker.on('message', (m: PrepareReply | { kind: 'ready' }) => {
        if (m.kind !== 'ready') return this.answer(slot, m);
        slot.ready = true;
        for (const f of [...this.readyListeners]) f();
      });
      worker.on('error', (e) =>
        this.fail(
          new ShiftbenchError(
            'ERR_INTERNAL',
            `a prepare worker failed: ${e.message}. --prepare-workers 0 prepares images on the main thread.`,
            { cause: e },
          ),
        ),
      );
      worker.on('exit', (code) => {
        if (!this.terminated)
          this.fail(new ShiftbenchError('ERR_INTERNAL', `a prepare worker exited (code ${code}) before answering`));
      });
      this.workers.push(slot);
    }
  }

  /** Number of worker threads. */
  get size(): number {
    return this.workers.length;
  }

  /** Whether a worker has started and takes jobs (before that, jobs wait for one). */
  get ready(): boolean {
    return this.workers.some((w) => w.ready);
  }

  /** Calls `f` whenever a worker becomes ready; returns the function that stops that. */
  onReady(f: () => void): () => void {
    this.readyListeners.add(f);
    return () => this.readyListeners.delete(f);
  }

  /**
   * Decodes `image` and makes its inputs in a worker (prepareImage there), the ready one
   * with the fewest jobs (any worker before one is ready); rejects once the pool failed or was terminated.
   * `buffers` (released input buffers) are transferred to that worker, which may write inputs in them.
   */
  prepare(image: DatasetImage, inputOpts: ShiftedInputOptions, buffers: Uint8Array[] = []): Promise<PreparedImage> {
    return new Promise((resolve, reject) => {
      if (this.failure) return reject(this.failure);
      if (this.terminated) return reject(stoppedError());
      const ready = this.workers.filter((w) => w.ready);
      const slot = (ready.length > 0 ? ready : this.workers).reduce((a, b) => (b.jobs.size < a.jobs.size ? b : a));
      const jobId = this.nextJobId++;
      if (slot.jobs.size === 0) slot.worker.ref();
      slot.jobs.set(jobId, { image, resolve, reject });
      slot.worker.postMessage(
        { jobId, image: { ...image }, inputOpts, buffers } satisfies PrepareRequest,
        buffers.map((b) => b.buffer as ArrayBuffer),
      );
    });
  }

  /** Stops every worker now; pending jobs are rejected (AbortError). Idempotent. */
  terminate(): void {
    if (this.terminated) return;
    this.terminated = true;
    for (const slot of this.workers) {
      for (const job of slot.jobs.values()) job.reject(stoppedError());
      slot.jobs.clear();
      void slot.worker.terminate();
    }
  }

  private answer(slot: Slot, m: PrepareReply): void {
    const job = slot.jobs.get(m.jobId);
    if (!job) return;
    slot.jobs.delete(m.jobId);
    if (slot.jobs.size === 0) slot.worker.unref();
    if (m.kind === 'made') {
      const inputs = m.inputs.map((r) => ({
        data: new Uint8Array(r.data.buffer, r.data.byteOffset, r.data.byteLength),
        width: r.width,
        height: r.height,
      }));
      job.resolve({
        image: job.image,
        inputs: shiftedInputsFromMade(inputs, m.geometry, m.kernel),
        size: m.size,
        skipped: null,
      });
    } else if (m.kind === 'skipped') {
      job.resolve({ image: job.image, inputs: null, size: [0, 0], skipped: m.message });
    } else {
      const err = m.code ? new ShiftbenchError(m.code as ErrorCode, m.message) : new Error(m.message);
      if (!m.code) err.name = m.name;
      if (m.stack) err.stack = m.stack;
      job.reject(err);
    }
  }

  private fail(err: Error): void {
    if (this.failure || this.terminated) return;
    this.failure = err;
    for (const slot of this.workers) {
      for (const job of slot.jobs.values()) job.reject(err);
      slot.jobs.clear();
    }
    this.terminate();
  }
}

function stoppedError(): Error {
  const err = new Error('preparing images was stopped');
  err.name = 'AbortError';
  return err;
}
