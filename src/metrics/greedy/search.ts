/**
 * The greedy search policy of protocol §4 (start at s0, images in ascending id order,
 * ties within 1e−12 keep the current shift, else the earliest; passes until nothing
 * changes or maxPasses) and the one-thread bounds.
 */
import type { BoundsSummary } from '../../core/types.js';
import { EPS, NUM_IOU, NUM_RECALL, ST_FP, ST_TP, precisionSumFromTp, recallTpIndex } from '../cocoeval.js';
import { OBJECTIVE_THRESHOLDS, validateGreedyOptions, type BoundsCase, type GreedyOptions } from './case.js';
import { ShiftMapEngine } from './engine.js';
import { hasGroundTruthAt, prepareBounds, type PreparedBounds } from './prepare.js';

/** Tie tolerance of protocol §4. */
export const TIE_TOLERANCE = 1e-12;
/**
 * How far below (best − TIE_TOLERANCE) a candidate's bound must lie to be dropped unwalked: covers the rounding of
 * the bound's sum (mAP values are ≤ 1, their sums round at ~1e−16), so a dropped candidate's exact value is below
 * best − TIE_TOLERANCE: never the best, never picked — the search's results are those of walking every candidate.
 */
export const PRUNE_MARGIN = 1e-13;
/** Passes per search unless the case says otherwise. */
export const DEFAULT_MAX_PASSES = 5;

/** What the engine gives for an assignment in which no category has ground truth: no mAP. */
export const NO_MAP = -1;

/** Result of one greedy search. */
export interface SearchResult {
  value: number;
  passes: number;
  assign: number[];
}

/**
 * One greedy search (dir 1: upper, −1: lower) from s0 on the engine; internal, exported
 * for the worker entry. s0 must have ground truth (greedyBoundsPrepared checks); a
 * candidate without any (NO_MAP) is never taken.
 */
export function runSearch(
  engine: ShiftMapEngine,
  dir: 1 | -1,
  maxPasses: number,
  opts: GreedyOptions,
  label: 'lower' | 'upper',
): SearchResult {
  const p = engine.p;
  const N = p.numImages;
  const S = p.numShifts;
  // start at s0 (a fresh engine already is there: its state was built for all zeros)
  if (engine.assignment.some((x) => x !== 0)) engine.setAssignment(new Int32Array(N));
  const vals = new Float64Array(S);
  // images whose cells are the same at every shift can never move
  const movable: number[] = [];
  for (let i = 0; i < N; i++) {
    let any = false;
    for (let s = 0; s < S && !any; s++) if (p.isStart[i * S + s] !== p.isStart[i * S + s + 1]) any = true;
    if (any) movable.push(i);
  }
  let passes = 0;
  for (let pass = 1; pass <= maxPasses; pass++) {
    passes = pass;
    let changed = false;
    for (let n = 0; n < movable.length; n++) {
      const i = movable[n];
      if (opts.onProgress && (n & 255) === 0)
        opts.onProgress({ search: label, pass, image: n, images: movable.length });
      const cur = engine.assignment[i];
      const curVal = dir * engine.map;
      let best = -Infinity;
      engine.beginVisit(i, dir);
      for (let s = 0; s < S; s++) {
        if (s === cur) vals[s] = engine.map;
        else {
          // only a candidate within the tie tolerance of the best so far (at least the current shift) can be picked
          const floor = (best > curVal ? best : curVal) - TIE_TOLERANCE - PRUNE_MARGIN;
          vals[s] = engine.visitCandidate(s, floor);
          if (opts.counters) {
            opts.counters.candidates++;
            if (vals[s] === -dir * Infinity) opts.counters.dropped++;
          }
        }
        // an assignment without ground truth has no mAP (NO_MAP): never a candidate
        if (vals[s] !== NO_MAP && dir * vals[s] > best) best = dir * vals[s];
      }
      if (dir * vals[cur] >= best - TIE_TOLERANCE) continue;
      let pick = 0;
      while (vals[pick] === NO_MAP || dir * vals[pick] < best - TIE_TOLERANCE) pick++;
      engine.move(i, pick);
      if (opts.counters) opts.counters.moves++;
      changed = true;
    }
    if (!changed) break;
  }
  return { value: engine.map, passes, assign: Array.from(engine.assignment) };
}

/**
 * Greedy lower and upper mAP bounds over shifts, exactly protocol §4: start at s0,
 * visit images in ascending id order, take the best shift (ties within 1e−12: the
 * current one, else the earliest), repeat until a pass changes nothing or maxPasses
 * (default 5); `passes` counts the last, unchanged pass too. Assignments are shift
 * indices per image in ascending image-id order.
 * No ground truth → no mAP: null when the reference assignment has no category with
 * ground truth; a perShift entry is null where that shift has none; an assignment
 * without ground truth never enters the search; relRange is null when mapRef is 0.
 * @throws ShiftbenchError ERR_METRICS_INPUT on malformed input (see validateBoundsCase).
 */
export function greedyBounds(c: BoundsCase, opts: GreedyOptions = {}): BoundsSummary | null {
  const prepared = prepareBounds(c);
  validateGreedyOptions(opts, c.maxPasses ?? DEFAULT_MAX_PASSES);
  return greedyBoundsPrepared(prepared, c.maxPasses ?? DEFAULT_MAX_PASSES, opts);
}

/**
 * greedyBounds on an already prepared case (one thread: lower search, then upper search); null without ground truth.
 */
export function greedyBoundsPrepared(
  prepared: PreparedBounds,
  maxPasses = DEFAULT_MAX_PASSES,
  opts: GreedyOptions = {},
): BoundsSummary | null {
  if (!hasGroundTruthAt(prepared, 0)) return null;
  const perShift = perShiftMaps(prepared, opts);
  const engine = new ShiftMapEngine(prepared, { objective: opts.objective });
  const lo = runSearch(engine, -1, maxPasses, opts, 'lower');
  const hi = runSearch(engine, 1, maxPasses, opts, 'upper');
  return summarize(perShift, lo, hi);
}

/**
 * mAP with every image at the same shift, for each shift (NO_MAP where it has no ground truth), straight from the
 * prepared cells — no engine: one pass over each category's universe splits it by shift (every shift's detections in
 * their accumulation order, as an engine set to that shift holds them), then each (shift, IoU threshold) list is
 * summed by precisionSumFromTp. The same floats as the engine's state for that assignment (the same precision
 * expression, the same order of every sum), so perShift[0] is mapRef bit for bit.
 */
export function perShiftMaps(p: PreparedBounds, opts: GreedyOptions): number[] {
  const S = p.numShifts;
  const K = p.numCats;
  const [t0, t1] = OBJECTIVE_THRESHOLDS[opts.objective ?? 'ap'];
  const apDenom = (t1 - t0) * NUM_RECALL;
  const npig = new Int32Array(S * K);
  for (let i = 0; i < p.numImages; i++)
    for (let s = 0; s < S; s++)
      for (let cell = p.isStart[i * S + s]; cell < p.isStart[i * S + s + 1]; cell++)
        npig[s * K + p.cellCat[cell]] += p.cellNpig[cell];
  // per (shift, threshold): TPs so far, FPs so far, precision at each TP
  const tp = new Int32Array(S * NUM_IOU);
  const fp = new Int32Array(S * NUM_IOU);
  const prec: Float64Array[] = Array.from({ length: S * NUM_IOU }, () => new Float64Array(64));
  const sum = new Float64Array(S);
  const denom = new Float64Array(S);
  for (let c = 0; c < K; c++) {
    opts.onProgress?.({ search: 'perShift', pass: 0, image: c, images: K });
    tp.fill(0);
    fp.fill(0);
    for (const d of p.universe[c]) {
      const s = p.detShift[d];
      if (npig[s * K + c] === 0) continue;
      for (let t = t0; t < t1; t++) {
        const st = p.detStatus[d * NUM_IOU + t];
        const x = s * NUM_IOU + t;
        if (st === ST_FP) fp[x]++;
        else if (st === ST_TP) {
          const k = ++tp[x];
          if (prec[x].length < k) {
            const grown = new Float64Array(2 * prec[x].length);
            grown.set(prec[x]);
            prec[x] = grown;
          }
          prec[x][k - 1] = k / (fp[x] + k + EPS);
        }
      }
    }
    for (let s = 0; s < S; s++) {
      const g = npig[s * K + c];
      if (g === 0) continue;
      const kr = recallTpIndex(g);
      let pSum = 0;
      for (let t = t0; t < t1; t++) pSum += precisionSumFromTp(prec[s * NUM_IOU + t], tp[s * NUM_IOU + t], kr);
      sum[s] += pSum;
      denom[s] += apDenom;
    }
  }
  return Array.from(sum, (v, s) => (denom[s] === 0 ? NO_MAP : v / denom[s]));
}

/** The protocol §4 summary of perShift (perShift[0] has ground truth) and the two searches. */
export function summarize(perShift: number[], lo: SearchResult, hi: SearchResult): BoundsSummary {
  const mapRef = perShift[0];
  const mapRange = hi.value - lo.value;
  return {
    mapRef,
    mapLower: lo.value,
    mapUpper: hi.value,
    mapRange,
    relRange: mapRef > 0 ? mapRange / mapRef : null,
    perShift: perShift.map((v) => (v === NO_MAP ? null : v)),
    passes: { lower: lo.passes, upper: hi.passes },
    assignLower: lo.assign,
    assignUpper: hi.assign,
  };
}
