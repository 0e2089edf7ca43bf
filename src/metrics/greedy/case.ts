/**
 * The bounds case (protocol §4): its type, options, validation, the JSON reader, and a
 * from-scratch reference mAP of one assignment (evaluateCoco), used by tests.
 */
import type { CocoGroundTruth, CocoResult, Shift } from '../../core/types.js';
import { ShiftbenchError, describeValue, invalidParameterError, refuseUnknownFields } from '../../core/errors.js';
import type { ParallelBoundsOptions } from './workers.js';
import { is } from '../../core/is.js';
import { evaluateCoco, validateDetections, validateGroundTruth } from '../cocoeval.js';

/** What the bounds search maximises / minimises: COCO AP@[.50:.95] (stats[0]), AP50 (stats[1]) or AP75 (stats[2]). */
export type BoundsObjective = 'ap' | 'ap50' | 'ap75';

/** The IoU threshold indices [from, to) of each objective (thresholds .50, .55, …, .95). */
export const OBJECTIVE_THRESHOLDS: Record<BoundsObjective, [number, number]> = {
  ap: [0, 10],
  ap50: [0, 1],
  ap75: [5, 6],
};

/**
 * One bounds problem: ground truth (one per shift in crop mode), shifts, one detection list per shift (original-image
 * coordinates).
 */
export interface BoundsCase {
  gt: CocoGroundTruth | CocoGroundTruth[];
  shifts: Shift[];
  dets: CocoResult[][];
  /** Passes per search, default 5 (≥ 1). */
  maxPasses?: number;
}

/** Progress of a search, reported now and then. */
export interface GreedyProgress {
  search: 'perShift' | 'lower' | 'upper';
  pass: number;
  /** Images visited in this pass so far. */
  image: number;
  images: number;
}

/** Options of the greedy bounds. */
export interface GreedyOptions {
  /** What "mAP" means for the search (default 'ap'). */
  objective?: BoundsObjective;
  /** Called now and then during the search. */
  onProgress?: (p: GreedyProgress) => void;
  /**
   * If given, incremented with the work done (for benchmarks): candidates evaluated, of those the ones dropped
   * unwalked as provably below the best (ShiftMapEngine.candidateAbove), and moves.
   */
  counters?: { candidates: number; dropped: number; moves: number };
}

/** Every field of GreedyOptions, and of ParallelBoundsOptions (the compiler checks the lists). */
const GREEDY_OPTION_FIELDS: Record<keyof GreedyOptions, true> = { objective: true, onProgress: true, counters: true };
const PARALLEL_OPTION_FIELDS: Record<keyof ParallelBoundsOptions, true> = {
  ...GREEDY_OPTION_FIELDS,
  workers: true,
  onWorkerFallback: true,
  signal: true,
};

/**
 * Checks greedy options from a library caller (ERR_INVALID_OPTION naming the field): a bad objective would otherwise
 * fail deep in the engine with a TypeError, a bad onProgress only once the search reports.
 */
export function validateGreedyOptions(opts: unknown, maxPasses: unknown, parallel = false): void {
  if (!is.object(opts)) throw invalidParameterError('options', 'an object of greedy options', opts);
  refuseUnknownFields(opts, parallel ? PARALLEL_OPTION_FIELDS : GREEDY_OPTION_FIELDS, 'greedy options');
  if (opts.objective !== undefined && !is.inArray(opts.objective, Object.keys(OBJECTIVE_THRESHOLDS)))
    throw invalidParameterError('objective', `one of ${Object.keys(OBJECTIVE_THRESHOLDS).join(', ')}`, opts.objective);
  const fns = parallel ? ['onProgress', 'onWorkerFallback'] : ['onProgress'];
  for (const name of fns)
    if (opts[name] !== undefined && !is.fn(opts[name])) throw invalidParameterError(name, 'a function', opts[name]);
  if (parallel && opts.workers !== undefined && !is.bool(opts.workers) && opts.workers !== 'auto')
    throw invalidParameterError('workers', 'true, false or "auto"', opts.workers);
  if (!is.integer(maxPasses) || (maxPasses as number) < 1)
    throw invalidParameterError('maxPasses', 'an integer ≥ 1', maxPasses);
}

/** The error every malformed bounds input throws. */
export function metricsError(message: string): ShiftbenchError {
  return new ShiftbenchError('ERR_METRICS_INPUT', message);
}

/** The ground truth of shift s (the shared one, or the per-shift entry). */
export function gtFor(c: BoundsCase, s: number): CocoGroundTruth {
  return Array.isArray(c.gt) ? c.gt[s] : c.gt;
}

/**
 * Checks a bounds case (detections too unless `checkDetections` is false); throws ERR_METRICS_INPUT naming what is
 * wrong.
 */
export function validateBoundsCase(c: BoundsCase, checkDetections = true, skipDetsList = false): void {
  if (typeof c !== 'object' || c === null)
    throw metricsError(`Expected a bounds case object but received ${describeValue(c)}`);
  if (!Array.isArray(c.shifts) || c.shifts.length === 0)
    throw metricsError(`Expected a non-empty list of shifts for "shifts" but received ${describeValue(c.shifts)}`);
  c.shifts.forEach((s, i) => {
    if (typeof s !== 'object' || s === null || !Number.isFinite(s.dx) || !Number.isFinite(s.dy)) {
      throw metricsError(`Expected {dx, dy} of finite numbers for shifts[${i}] but received ${describeValue(s)}`);
    }
  });
  const { dx: dx0, dy: dy0 } = c.shifts[0];
  if (dx0 !== 0 || dy0 !== 0) {
    throw metricsError(
      `Expected the reference shift {dx: 0, dy: 0} for shifts[0] but received {dx: ${dx0}, dy: ${dy0}}`,
    );
  }
  const firstIndex = new Map<string, number>();
  c.shifts.forEach(({ dx, dy }, i) => {
    const key = `${dx},${dy}`;
    const j = firstIndex.get(key);
    if (j !== undefined)
      throw metricsError(
        `Expected each shift once for shifts but shifts[${i}] repeats shifts[${j}] {dx: ${dx}, dy: ${dy}}`,
      );
    firstIndex.set(key, i);
  });
  if (!skipDetsList && (!Array.isArray(c.dets) || c.dets.length !== c.shifts.length)) {
    throw metricsError(
      `Expected one detection list per shift (${c.shifts.length}) for dets but received ` +
        `${Array.isArray(c.dets) ? c.dets.length : describeValue(c.dets)}`,
    );
  }
  if (Array.isArray(c.gt) && c.gt.length !== c.shifts.length) {
    throw metricsError(`Expected one ground truth per shift (${c.shifts.length}) for gt but received ${c.gt.length}`);
  }
  if (c.maxPasses !== undefined && (!Number.isInteger(c.maxPasses) || c.maxPasses < 1)) {
    throw metricsError(`Expected an integer ≥ 1 for maxPasses but received ${describeValue(c.maxPasses)}`);
  }
  const gts = Array.isArray(c.gt) ? c.gt : [c.gt];
  gts.forEach((g, s) => validateGroundTruth(g, Array.isArray(c.gt) ? `gt[${s}]` : 'gt'));
  const key = (g: CocoGroundTruth) => [...new Set(g.images.map((im) => im.id))].sort((a, b) => a - b).join(',');
  const ckey = (g: CocoGroundTruth) => [...new Set(g.categories.map((x) => x.id))].sort((a, b) => a - b).join(',');
  for (let s = 1; s < gts.length; s++) {
    if (key(gts[s]) !== key(gts[0]) || ckey(gts[s]) !== ckey(gts[0])) {
      throw metricsError(
        `Expected the same images and categories in every per-shift ground truth but gt[${s}] differs from gt[0]`,
      );
    }
  }
  const imageIds = new Set(gts[0].images.map((im) => im.id));
  if (checkDetections) c.dets.forEach((d, s) => validateDetections(d, imageIds, `detections of shift ${s}`));
}

/**
 * mAP (AP@[.5:.95], stats[0]) of an assignment (shift index per image, ascending image id), from scratch with
 * evaluateCoco.
 */
export function mapForAssignment(c: BoundsCase, assignment: ArrayLike<number>): number {
  const gt0 = gtFor(c, 0);
  const ids = [...new Set(gt0.images.map((im) => im.id))].sort((a, b) => a - b);
  const shiftOf = new Map(ids.map((id, i) => [id, assignment[i]]));
  const anns: CocoGroundTruth['annotations'] = Array.isArray(c.gt)
    ? c.gt.flatMap((g, s) => g.annotations.filter((a) => shiftOf.get(a.image_id) === s))
    : c.gt.annotations;
  const dets: CocoResult[] = [];
  for (let s = 0; s < c.shifts.length; s++) for (const d of c.dets[s]) if (shiftOf.get(d.image_id) === s) dets.push(d);
  return evaluateCoco({ images: gt0.images, categories: gt0.categories, annotations: anns }, dets).stats[0];
}

/**
 * Reads a bounds case from parsed JSON (the golden format or the library's): shifts as
 * `[dx, dy]` pairs or `{dx, dy}`, `gt` one ground truth or one per shift, `dets` one
 * COCO-results list per shift, optional `maxPasses`; other fields (e.g. `expected`)
 * are ignored. Pure. Throws ERR_METRICS_INPUT naming what is malformed.
 */
export function parseBoundsCase(json: unknown): BoundsCase {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw metricsError(
      `Expected a JSON object with "gt", "shifts" and "dets" for the bounds case but received ${describeValue(json)}`,
    );
  }
  const o = json as Record<string, unknown>;
  if (!Array.isArray(o.shifts))
    throw metricsError(
      `Expected a list of shifts ([dx, dy] or {dx, dy}) for "shifts" but received ${describeValue(o.shifts)}`,
    );
  const shifts: Shift[] = o.shifts.map((s, i) => {
    if (Array.isArray(s) && s.length === 2) return { dx: s[0] as number, dy: s[1] as number };
    if (typeof s === 'object' && s !== null && 'dx' in s && 'dy' in s)
      return { dx: (s as Shift).dx, dy: (s as Shift).dy };
    throw metricsError(`Expected [dx, dy] or {dx, dy} for shifts[${i}] but received ${describeValue(s)}`);
  });
  if (o.gt === undefined)
    throw metricsError('Expected a ground truth (or one per shift) for gt but received undefined');
  if (!Array.isArray(o.dets) || !o.dets.every(Array.isArray)) {
    throw metricsError(`Expected one COCO-results list per shift for dets but received ${describeValue(o.dets)}`);
  }
  const c: BoundsCase = { gt: o.gt as BoundsCase['gt'], shifts, dets: o.dets as CocoResult[][] };
  if (o.maxPasses !== undefined) c.maxPasses = o.maxPasses as number;
  validateBoundsCase(c);
  return c;
}
