/**
 * Worker-thread orchestration of the greedy bounds: the lower and upper searches run in
 * two worker threads (node:worker_threads) while this thread computes perShift. Workers
 * run the built JavaScript (`dist/metrics/greedy/worker.js`); when this module itself
 * runs from TypeScript source (tests, benchmarks) it starts the built file of the same
 * tree, and without a build the searches run on this thread (onWorkerFallback says why).
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { BoundsSummary } from '../../core/types.js';
import type { GreedyOptions } from './case.js';
import { ShiftMapEngine } from './engine.js';
import { hasGroundTruthAt, type PreparedBounds } from './prepare.js';
import { resampleIndex, runResampleTask, type ResampleBounds, type ResampleSettings, type ResampleTask } from './resample.js';
import { DEFAULT_MAX_PASSES, greedyBoundsPrepared, perShiftMaps, runSearch, summarize, type SearchResult } from './search.js';
import type { WorkerJob, WorkerMessage } from './worker.js';

/** Options of greedyBoundsParallel. */
export interface ParallelBoundsOptions extends GreedyOptions {
  /**
   * Run the two searches in worker threads (default true); false runs them one after the
   * other here; 'auto' uses workers where they pay (see workersPay).
   */
  workers?: boolean | 'auto';
  /** Called once if the worker threads could not be used and the searches ran on this thread instead. */
  onWorkerFallback?: (reason: string) => void;
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
  if (!existsSync(file)) throw new Error(`worker threads run the built JavaScript, and ${file} is missing: run \`npm run build\``);
  const dir = path.dirname(fileURLToPath(here));
  const sources = [...readdirSync(dir).filter((f) => f.endsWith('.ts')).map((f) => path.join(dir, f)), path.join(dir, '..', 'cocoeval.ts')];
  const built = statSync(file).mtimeMs;
  const newer = sources.find((f) => statSync(f).mtimeMs > built);
  if (newer) throw new Error(`worker threads run the built JavaScript, and ${file} is older than ${newer}: run \`npm run build\``);
  return url;
}

/**
 * Starts one worker on `prepared` and runs `job` there; resolves with the worker's result.
 * Progress messages go to onProgress. Rejects on a worker error or an early exit.
 */
export function runInWorker<R>(prepared: PreparedBounds, job: WorkerJob, onProgress?: (m: Extract<WorkerMessage, { type: 'progress' }>) => void): Promise<R> {
  return new Promise((resolve, reject) => {
    let done = false;
    let worker: Worker;
    try {
      worker = new Worker(workerEntryUrl(), { workerData: { prepared, job, progress: onProgress !== undefined } });
    } catch (e) {
      reject(e);
      return;
    }
    worker.on('message', (m: WorkerMessage) => {
      if (m.type === 'progress') onProgress?.(m);
      else if (m.type === 'result') {
        done = true;
        resolve(m.result as R);
      } else {
        done = true;
        reject(new Error(m.message));
      }
    });
    worker.on('error', (e) => {
      done = true;
      reject(e);
    });
    worker.on('exit', (code) => {
      if (!done) reject(new Error(`bounds worker exited with code ${code} before answering`));
    });
  });
}

interface SearchJobResult {
  search: SearchResult;
  candidates: number;
  moves: number;
}

function searchInWorker(prepared: PreparedBounds, dir: 1 | -1, maxPasses: number, opts: GreedyOptions): Promise<SearchJobResult> {
  const label = dir === 1 ? 'upper' : 'lower';
  const onProgress = opts.onProgress ? (m: { pass: number; image: number; images: number }) => opts.onProgress?.({ search: label, pass: m.pass, image: m.image, images: m.images }) : undefined;
  return runInWorker<SearchJobResult>(prepared, { kind: 'search', dir, maxPasses, objective: opts.objective ?? 'ap' }, onProgress);
}

/**
 * greedyBoundsPrepared with the lower and upper searches in two worker threads
 * (node:worker_threads), while this thread computes perShift. The answer is
 * bit-identical to greedyBoundsPrepared's: each search starts from the same exactly
 * rebuilt state. If workers cannot be started (or fail), the searches run here, one
 * after the other, and `onWorkerFallback` is told why. Null without ground truth (as greedyBounds).
 * @throws nothing beyond greedyBoundsPrepared's errors.
 */
export async function greedyBoundsParallel(
  prepared: PreparedBounds,
  maxPasses = DEFAULT_MAX_PASSES,
  opts: ParallelBoundsOptions = {},
): Promise<BoundsSummary | null> {
  if (opts.workers === false || (opts.workers === 'auto' && !workersPay(prepared))) return greedyBoundsPrepared(prepared, maxPasses, opts);
  if (!hasGroundTruthAt(prepared, 0)) return null;
  const searches = Promise.all([searchInWorker(prepared, -1, maxPasses, opts), searchInWorker(prepared, 1, maxPasses, opts)]);
  // keep the rejection handled while perShift runs
  const settled = searches.then(
    (r) => ({ ok: true as const, r }),
    (e: unknown) => ({ ok: false as const, e }),
  );
  const engine = new ShiftMapEngine(prepared, { objective: opts.objective });
  const perShift = perShiftMaps(engine, opts);
  const out = await settled;
  if (out.ok) {
    // workers count their own work; added only on success so a fallback does not count twice
    if (opts.counters) {
      for (const r of out.r) {
        opts.counters.candidates += r.candidates;
        opts.counters.moves += r.moves;
      }
    }
    return summarize(perShift, out.r[0].search, out.r[1].search);
  }
  opts.onWorkerFallback?.(out.e instanceof Error ? out.e.message : String(out.e));
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
  /** Called once if the workers could not be used and the tasks ran on this thread instead. */
  onWorkerFallback?: (reason: string) => void;
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
      const r = runResampleTask(prepared, index, t, settings);
      tick();
      return r;
    });
  };
  if (W <= 0) return here();
  try {
    const parts = Array.from({ length: W }, (_, w) => tasks.map((_t, k) => k).filter((k) => k % W === w));
    const results = await Promise.all(
      parts.map((ks) =>
        runInWorker<(ResampleBounds | null)[]>(prepared, { kind: 'resamples', tasks: ks.map((k) => tasks[k]), settings }, opts.onProgress ? tick : undefined),
      ),
    );
    parts.forEach((ks, w) => ks.forEach((k, n) => (out[k] = results[w][n])));
    return out;
  } catch (e) {
    opts.onWorkerFallback?.(e instanceof Error ? e.message : String(e));
    return here();
  }
}
