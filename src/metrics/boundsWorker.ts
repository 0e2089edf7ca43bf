/**
 * Worker-thread entry of greedyBoundsParallel: runs one greedy search (lower or upper)
 * on a copy of the prepared bounds and posts progress and the result back. Not part of
 * the public API.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { ShiftMapEngine, runSearch, type PreparedBounds, type SearchResult } from './greedy.js';

interface WorkerInput {
  prepared: PreparedBounds;
  dir: 1 | -1;
  maxPasses: number;
  progress: boolean;
}

/** What the worker posts: progress now and then, then one result (or an error message). */
export type BoundsWorkerMessage =
  | { type: 'progress'; pass: number; image: number; images: number }
  | { type: 'result'; result: SearchResult; candidates: number; moves: number }
  | { type: 'error'; message: string };

const input = workerData as WorkerInput;
const port = parentPort!;
try {
  const counters = { candidates: 0, moves: 0 };
  const engine = new ShiftMapEngine(input.prepared);
  const result = runSearch(engine, input.dir, input.maxPasses, {
    counters,
    onProgress: input.progress ? (p) => port.postMessage({ type: 'progress', pass: p.pass, image: p.image, images: p.images } satisfies BoundsWorkerMessage) : undefined,
  }, input.dir === 1 ? 'upper' : 'lower');
  port.postMessage({ type: 'result', result, candidates: counters.candidates, moves: counters.moves } satisfies BoundsWorkerMessage);
} catch (e) {
  port.postMessage({ type: 'error', message: e instanceof Error ? e.message : String(e) } satisfies BoundsWorkerMessage);
}
