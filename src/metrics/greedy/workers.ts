/**
 * Worker-thread orchestration of the greedy bounds: the lower and upper searches run in
 * two worker threads (node:worker_threads); this thread computes perShift once the first is done. Workers
 * run the built JavaScript (`dist/metrics/greedy/worker.js`); when this module itself
 * runs from TypeScript source (tests, benchmarks) it starts the built file of the same
 * tree, and without a build the searches run on this thread (onWorkerFallback says why).
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ShiftbenchError } from '../../core/errors.js';
import type { BoundsSummary } from '../../core/types.js';
import { validateGreedyOptions, type GreedyOptions } from './case.js';
import { ShiftMapEngine } from './engine.js';
import { hasGroundTruthAt, type PreparedBounds } from './prepare.js';
import {
  resampleIndex,
  runResampleTask,
  type ResampleBounds,
  type ResampleSettings,
  type ResampleTask,
} from './resample.js';
import {
  DEFAULT_MAX_PASSES,
  greedyBoundsPrepared,
  perShiftMaps,
  runSearch,
  summarize,
  type SearchResult,
} from './search.js';
import type { WorkerJob, WorkerMessage } from './worker.js';

/** Options of greedyBoundsParallel. */
export interface ParallelBoundsOptions extends GreedyOptions {
  /**
   * Run the two searches in worker threads (default true); false runs them one after the
   * other here; 'auto' uses workers where they pay (see workersPay).
   */
  workers?: boolean | 'auto';
  /** Called once if the worker threads could not be started and the searches ran on this thread instead. */
  onWorkerFallback?: (reason: string) => void;
  /** Stops the searches: the worker threads are terminated and it rejects with an AbortError. */
  signal?: AbortSignal;
}

/** Fewest images for which greedyBoundsParallel with workers: 'auto' starts worker threads. */
export const WORKERS_MIN_IMAGES = 500;

/**
 * Whether two worker threads pay for a prepared case: from WORKERS_MIN_IMAGES images on
 * with at least two shifts (about a second of search per thread and more; starting a
 * worker and copying the prepared arrays to it costs tens of milliseconds).
 */
export function workersPay(prepared: PreparedBounds): boolean {
  return prepared.numShifts > 1 && prepared.numImages >= WORKERS_MIN_IMAGES;
}

/**
 * The worker entry's URL: `worker.js` beside this module when it is the built JS; from
 * TypeScript source, the built file of the same tree (`dist/metrics/greedy/worker.js`),
 * provided it is newer than the sources it is built from (src/metrics/greedy/ and
 * src/metrics/cocoeval.ts), so a stale build never answers for the code under test.
 * @throws Error naming the missing or stale build.
 */
export function workerEntryUrl(): URL {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) return new URL('./worker.js', here);
  const url = new URL('../../../dist/metrics/greedy/worker.js', here);
  const file = fileURLToPath(url);
  if (!existsSync(file))
    throw new Error(`worker threads run the built JavaScript, and ${file} is missing: run \`npm run build\``);
  const dir = path.dirname(fileURLToPath(here));
  const sources = [
    ...readdirSync(dir)
      .filter((f) => f.endsWith('.ts'))
      .map((f) => path.join(dir, f)),
    path.join(dir, '..', 'cocoeval.ts'),
  ];
  const built = statSync(file).mtimeMs;
  const newer = sources.find((f) => statSync(f).mtimeMs > built);
  if (newer)
    throw new Error(
      `worker threads run the built JavaScript, and ${file} is older than ${newer}: run \`npm run build\``,
    );
  return url;
}

/**
 * Worker threads could not be started here (no build, a stale build, no threads): callers run the work on this thread.
 */
export class WorkerUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'WorkerUnavailableError';
  }
}

/**
 * What an aborted signal rejects with, as `signal.throwIfAborted()` throws it: its reason when that is an Error — an
 * AbortError (Ctrl-C: the CLI's exit 130), or why the work had to stop (the run lease taken over by another process:
 * ERR_RUN_LOCKED, not to be told as a Ctrl-C) — else an AbortError.
 */
function abortReason(signal: AbortSignal): Error {
  const r: unknown = signal.reason;
  if (r instanceof Error) return r;
  return new DOMException('The operation was aborted', 'AbortError');
}

/**
 * Starts one worker on `prepared` and runs `job` there; resolves with the worker's result.
 * Progress messages go to onProgress. When `signal` aborts, the worker is terminated and
 * the promise rejects (after the thread has ended) with an AbortError. Rejects with
 * WorkerUnavailableError when no worker can be started, and with the worker's error when
 * it fails or exits early.
 */
export function runInWorker<R>(
  prepared: PreparedBounds,
  job: WorkerJob,
  onProgress?: (m: Extract<WorkerMessage, { type: 'progress' }>) => void,
  signal?: AbortSignal,
): Promise<R> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortReason(signal));
      return;
    }
    let done = false;
    let worker: Worker;
    try {
      worker = new Worker(workerEntryUrl(), { workerData: { prepared, job, progress: onProgress !== undefined } });
    } catch (e) {
      reject(new WorkerUnavailableError(e instanceof Error ? e.message : String(e), { cause: e }));
      return;
    }
    const onAbort = () => {
      if (done) return;
      done = true;
      void worker.terminate().finally(() => reject(abortReason(signal!)));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const finish = (f: () => void) => {
      signal?.removeEventListener('abort', onAbort);
      if (done) return;
      done = true;
      f();
    };
    worker.on('message', (m: WorkerMessage) => {
      if (m.type === 'progress') onProgress?.(m);
      else if (m.type === 'result') finish(() => resolve(m.result as R));
      else finish(() => reject(new Error(m.message)));
    });
    worker.on('error', (e) => finish(() => reject(e)));
    worker.on('exit', (code) => finish(() => reject(new Error(`it exited with code ${code} before answering`))));
  });
}

/** One job of a worker group, with what an error message calls it. */
export interface GroupJob {
  job: WorkerJob;
  /** e.g. "the upper search", "bootstrap resamples 2, 6, 10, …". */
  label: string;
  onProgress?: (m: Extract<WorkerMessage, { type: 'progress' }>) => void;
  /** Called when this job's result has come back (before the group's other jobs may have ended). */
  onResult?: () => void;
}

/**
 * Runs each job in its own worker thread on `prepared`; resolves with the results in job
 * order. When one fails, the others are terminated and it rejects with ERR_WORKER naming
 * the job and the cause; when `signal` aborts, every worker is terminated and it rejects
 * with an AbortError. Either way no thread is left running when it rejects. Rejects with
 * WorkerUnavailableError when the workers cannot be started.
 */
export async function runWorkerGroup<R>(
  prepared: PreparedBounds,
  jobs: GroupJob[],
  signal?: AbortSignal,
): Promise<R[]> {
  const stop = new AbortController();
  const any = signal ? AbortSignal.any([signal, stop.signal]) : stop.signal;
  let first: { job: GroupJob; error: unknown } | null = null;
  const runs = jobs.map((j) =>
    runInWorker<R>(prepared, j.job, j.onProgress, any).then(
      (r) => {
        j.onResult?.();
        return r;
      },
      (error: unknown) => {
        if (!(error instanceof Error && error.name === 'AbortError') && first === null) {
          first = { job: j, error };
          stop.abort(); // the others are terminated
        }
        throw error;
      },
    ),
  );
  const settled = await Promise.allSettled(runs);
  if (signal?.aborted) throw abortReason(signal);
  const failed = first as { job: GroupJob; error: unknown } | null;
  if (failed) {
    const { job, error } = failed;
    if (error instanceof WorkerUnavailableError) throw error;
    const others = jobs.length - 1;
    throw new ShiftbenchError(
      'ERR_WORKER',
      `The worker thread computing ${job.label} failed: ${error instanceof Error ? error.message : String(error)}` +
        (others > 0 ? `; the other ${others} worker thread${others === 1 ? ' was' : 's were'} stopped` : '') +
        '. Nothing stored was changed: run the same command again to score from the stored detections.',
      { cause: error },
    );
  }
  return settled.map((r) => (r as PromiseFulfilledResult<R>).value);
}

interface SearchJobResult {
  search: SearchResult;
  candidates: number;
  dropped: number;
  moves: number;
}

function searchJob(dir: 1 | -1, maxPasses: number, opts: GreedyOptions): GroupJob {
  const label = dir === 1 ? 'upper' : 'lower';
  const onProgress = opts.onProgress
    ? (m: { pass: number; image: number; images: number }) =>
        opts.onProgress?.({ search: label, pass: m.pass, image: m.image, images: m.images })
    : undefined;
  return {
    job: { kind: 'search', dir, maxPasses, objective: opts.objective ?? 'ap' },
    label: `the ${label} bound search`,
    onProgress,
  };
}

/**
 * greedyBoundsPrepared with the lower and upper searches in two worker threads
 * (node:worker_threads); this thread computes perShift once the first search is done. The answer is
 * bit-identical to greedyBoundsPrepared's: each search starts from the same exactly
 * rebuilt state. If workers cannot be started, the searches run here, one after the
 * other, and `onWorkerFallback` is told why. Null without ground truth (as greedyBounds).
 * @throws ERR_WORKER when a worker fails (the other is terminated first); an AbortError
 * when `opts.signal` aborts (both workers terminated); greedyBoundsPrepared's errors.
 */
export async function greedyBoundsParallel(
  prepared: PreparedBounds,
  maxPasses = DEFAULT_MAX_PASSES,
  opts: ParallelBoundsOptions = {},
): Promise<BoundsSummary | null> {
  validateGreedyOptions(opts, maxPasses, true);
  opts.signal?.throwIfAborted();
  if (opts.workers === false || (opts.workers === 'auto' && !workersPay(prepared)))
    return greedyBoundsPrepared(prepared, maxPasses, opts);
  if (!hasGroundTruthAt(prepared, 0)) return null;
  let oneDone!: () => void;
  const firstResult = new Promise<void>((resolve) => (oneDone = resolve));
  const jobs = [searchJob(-1, maxPasses, opts), searchJob(1, maxPasses, opts)].map((j) => ({
    ...j,
    onResult: oneDone,
  }));
  const settled = runWorkerGroup<SearchJobResult>(prepared, jobs, opts.signal).then(
    (r) => ({ ok: true as const, r }),
    (e: unknown) => ({ ok: false as const, e }),
  );
  // perShift takes the core that the first search to finish leaves (on two cores, run beside both searches it slows
  // them); a failure or Ctrl-C before that skips it
  const early = await Promise.race([firstResult, settled]);
  if (early && !early.ok && !(early.e instanceof WorkerUnavailableError)) throw early.e;
  const perShift = perShiftMaps(prepared, opts);
  const out = await settled;
  if (out.ok) {
    // workers count their own work; added only on success so a fallback does not count twice
    if (opts.counters) {
      for (const r of out.r) {
        opts.counters.candidates += r.candidates;
        opts.counters.dropped += r.dropped;
        opts.counters.moves += r.moves;
      }
    }
    return summarize(perShift, out.r[0].search, out.r[1].search);
  }
  // a worker that failed, or Ctrl-C: the others are stopped already; only threads that could not start fall back
  if (!(out.e instanceof WorkerUnavailableError)) throw out.e;
  opts.onWorkerFallback?.(out.e.message);
  const engine = new ShiftMapEngine(prepared, { objective: opts.objective });
  const lo = runSearch(engine, -1, maxPasses, opts, 'lower');
  const hi = runSearch(engine, 1, maxPasses, opts, 'upper');
  return summarize(perShift, lo, hi);
}

/** Default worker threads of the resample searches: one per core, at least 2, at most 8. */
export const RESAMPLE_WORKERS = Math.max(2, Math.min(8, os.availableParallelism()));

/** Options of runResampleTasks. */
export interface ResampleRunOptions {
  /** Worker threads (default RESAMPLE_WORKERS; 0 runs on this thread). The results do not depend on it. */
  workers?: number;
  /** Called with the tasks done so far and their total. */
  onProgress?: (done: number, total: number) => void;
  /** Called once if the workers could not be started and the tasks ran on this thread instead. */
  onWorkerFallback?: (reason: string) => void;
  /**
   * Stops the tasks: the worker threads are terminated and it rejects with an AbortError (checked between tasks on this
   * thread).
   */
  signal?: AbortSignal;
}

/**
 * Runs resample tasks (bootstrap draws, subsamples) over worker threads, task k on
 * worker k mod W, each worker holding one copy of the prepared case; returns the
 * results in task order. Every task depends only on its own draw, so the answer is the
 * same for any number of workers (and on this thread, the fallback).
 */
export async function runResampleTasks(
  prepared: PreparedBounds,
  tasks: ResampleTask[],
  settings: ResampleSettings,
  opts: ResampleRunOptions = {},
): Promise<(ResampleBounds | null)[]> {
  const W = Math.min(opts.workers ?? RESAMPLE_WORKERS, tasks.length);
  const out: (ResampleBounds | null)[] = new Array(tasks.length).fill(null);
  let done = 0;
  const tick = () => opts.onProgress?.(++done, tasks.length);
  const here = (): (ResampleBounds | null)[] => {
    const index = resampleIndex(prepared);
    done = 0;
    return tasks.map((t) => {
      opts.signal?.throwIfAborted();
      const r = runResampleTask(prepared, index, t, settings);
      tick();
      return r;
    });
  };
  if (W <= 0) return here();
  const parts = Array.from({ length: W }, (_, w) => tasks.map((_t, k) => k).filter((k) => k % W === w));
  const name = (t: ResampleTask) =>
    t.kind === 'bootstrap' ? `bootstrap resample ${t.b}` : `size-curve subsample ${t.size}/${t.j}`;
  const jobs: GroupJob[] = parts.map((ks) => ({
    job: { kind: 'resamples', tasks: ks.map((k) => tasks[k]), settings },
    label: `${ks
      .slice(0, 3)
      .map((k) => name(tasks[k]))
      .join(', ')}${ks.length > 3 ? ', …' : ''}`,
    onProgress: opts.onProgress ? tick : undefined,
  }));
  let results: (ResampleBounds | null)[][];
  try {
    results = await runWorkerGroup<(ResampleBounds | null)[]>(prepared, jobs, opts.signal);
  } catch (e) {
    // a worker that failed, or Ctrl-C: the others are stopped already; only threads that could not start fall back
    if (!(e instanceof WorkerUnavailableError)) throw e;
    opts.onWorkerFallback?.(e.message);
    return here();
  }
  parts.forEach((ks, w) => ks.forEach((k, n) => (out[k] = results[w][n])));
  return out;
}
