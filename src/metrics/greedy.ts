/**
 * Greedy lower / upper bounds of mAP over per-image shift assignments (protocol §4).
 * (Temporary from-scratch implementation; the incremental engine replaces it.)
 */
import type { BoundsSummary, CocoGroundTruth, CocoResult, Shift } from '../core/types.js';
import { ShiftbenchError } from '../core/errors.js';
import { evaluateCoco } from './cocoeval.js';

/** One bounds problem: ground truth (one per shift in crop mode), shifts, one detection list per shift (original-image coordinates). */
export interface BoundsCase {
  gt: CocoGroundTruth | CocoGroundTruth[];
  shifts: Shift[];
  dets: CocoResult[][];
  /** Default 5. */
  maxPasses?: number;
}

export interface GreedyOptions {
  honorIgnoreFlag?: boolean;
}

/** Tie tolerance of protocol §4. */
export const TIE_TOLERANCE = 1e-12;

function gtFor(c: BoundsCase, s: number): CocoGroundTruth {
  return Array.isArray(c.gt) ? c.gt[s] : c.gt;
}

/** mAP (AP@[.5:.95], stats[0]) of an assignment, from scratch with evaluateCoco. */
export function mapForAssignment(c: BoundsCase, assignment: number[], opts: GreedyOptions = {}): number {
  const gt0 = gtFor(c, 0);
  const ids = [...new Set(gt0.images.map((im) => im.id))].sort((a, b) => a - b);
  const anns: CocoGroundTruth['annotations'] = [];
  const dets: CocoResult[] = [];
  ids.forEach((id, i) => {
    const s = assignment[i];
    for (const a of gtFor(c, s).annotations) if (a.image_id === id) anns.push(a);
    for (const d of c.dets[s]) if (d.image_id === id) dets.push(d);
  });
  return evaluateCoco({ images: gt0.images, categories: gt0.categories, annotations: anns }, dets, opts).stats[0];
}

/**
 * Greedy lower and upper mAP bounds over shifts, exactly protocol §4.
 * @throws ShiftbenchError ERR_METRICS_INPUT on malformed input.
 */
export function greedyBounds(c: BoundsCase, opts: GreedyOptions = {}): BoundsSummary {
  if (c.dets.length !== c.shifts.length) {
    throw new ShiftbenchError('ERR_METRICS_INPUT', `Expected one detection list per shift (${c.shifts.length}) but received ${c.dets.length}`);
  }
  const n = gtFor(c, 0).images.length;
  const S = c.shifts.length;
  const maxPasses = c.maxPasses ?? 5;
  const perShift = c.shifts.map((_, s) => mapForAssignment(c, new Array(n).fill(s), opts));
  const search = (dir: 1 | -1): { value: number; passes: number; assign: number[] } => {
    const a = new Array(n).fill(0);
    let cur = perShift[0];
    let passes = 0;
    for (let p = 0; p < maxPasses; p++) {
      passes++;
      let changed = false;
      for (let i = 0; i < n; i++) {
        const vals = Array.from({ length: S }, (_, s) => (s === a[i] ? cur : mapForAssignment(c, a.map((x, j) => (j === i ? s : x)), opts)));
        const best = dir * Math.max(...vals.map((v) => dir * v));
        if (dir * (vals[a[i]] - best) >= -TIE_TOLERANCE) continue;
        const s = vals.findIndex((v) => dir * (v - best) >= -TIE_TOLERANCE);
        a[i] = s;
        cur = vals[s];
        changed = true;
      }
      if (!changed) break;
    }
    return { value: cur, passes, assign: a };
  };
  const lo = search(-1);
  const hi = search(1);
  const mapRef = perShift[0];
  return {
    mapRef,
    mapLower: lo.value,
    mapUpper: hi.value,
    mapRange: hi.value - lo.value,
    relRange: mapRef > 0 ? (hi.value - lo.value) / mapRef : 0,
    perShift,
    passes: { lower: lo.passes, upper: hi.passes },
    assignLower: lo.assign,
    assignUpper: hi.assign,
  };
}
