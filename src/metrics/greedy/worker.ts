/**
 * Worker-thread entry of the greedy bounds (built to dist/metrics/greedy/worker.js): runs
 * one job on its copy of the prepared bounds and posts progress and one result back.
 * Internal: started by workers.ts.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { BoundsObjective } from './case.js';
import { ShiftMapEngine } from './engine.js';
import type { PreparedBounds } from './prepare.js';
import { resampleIndex, runResampleTask, type ResampleSettings, type ResampleTask } from './resample.js';
import { runSearch } from './search.js';

/** One job of a worker. */
export type WorkerJob =
  | { kind: 'search'; dir: 1 | -1; maxPasses: number; objective: BoundsObjective }
  | { kind: 'resamples'; tasks: ResampleTask[]; settings: ResampleSettings };

/** What the worker posts: progress now and then, then one result (or an error message). */
export type WorkerMessage =
  | { type: 'progress'; pass: number; image: number; images: number }
  | { type: 'result'; result: unknown }
  | { type: 'error'; message: string };

interface WorkerInput {
  prepared: PreparedBounds;
  job: WorkerJob;
  progress: boolean;
}

function runJob(input: WorkerInput, post: (m: WorkerMessage) => void): unknown {
  const job = input.job;
  if (job.kind === 'search') {
    const counters = { candidates: 0, dropped: 0, moves: 0 };
    const engine = new ShiftMapEngine(input.prepared, { objective: job.objective });
    const onProgress = input.progress
      ? (p: { pass: number; image: number; images: number }) =>
          post({ type: 'progress', pass: p.pass, image: p.image, images: p.images })
      : undefined;
    const search = runSearch(
      engine,
      job.dir,
      job.maxPasses,
      { counters, onProgress },
      job.dir === 1 ? 'upper' : 'lower',
    );
    return { search, candidates: counters.candidates, dropped: counters.dropped, moves: counters.moves };
  }
  if (job.kind === 'resamples') {
    const index = resampleIndex(input.prepared);
    return job.tasks.map((task, n) => {
      const r = runResampleTask(input.prepared, index, task, job.settings);
      if (input.progress) post({ type: 'progress', pass: 0, image: n + 1, images: job.tasks.length });
      return r;
    });
  }
  throw new Error(`unknown worker job ${JSON.stringify(job)}`);
}

if (parentPort) {
  const port = parentPort;
  const post = (m: WorkerMessage) => port.postMessage(m);
  try {
    post({ type: 'result', result: runJob(workerData as WorkerInput, post) });
  } catch (e) {
    post({ type: 'error', message: e instanceof Error ? e.message : String(e) });
  }
}
