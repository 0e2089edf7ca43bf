/** Greedy mAP bounds over shifts (protocol §4): the public part of src/metrics/greedy/. */
export {
  validateBoundsCase,
  parseBoundsCase,
  mapForAssignment,
  type BoundsCase,
  type GreedyOptions,
  type GreedyProgress,
} from './case.js';
export { prepareBounds, prepareBoundsFromSource, type PreparedBounds } from './prepare.js';
export { ShiftMapEngine } from './engine.js';
export type { EngineStats } from './structures.js';
export {
  greedyBounds,
  greedyBoundsPrepared,
  runSearch,
  TIE_TOLERANCE,
  DEFAULT_MAX_PASSES,
  type SearchResult,
} from './search.js';
export { greedyBoundsParallel, workersPay, WORKERS_MIN_IMAGES, type ParallelBoundsOptions } from './workers.js';
