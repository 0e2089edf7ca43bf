/**
 * Uncertainty and size of the greedy bounds (protocol §4, "Uncertainty and size"):
 * bootstrap percentile intervals of mapRef, mapLower, mapUpper, mapRange and relRange,
 * paired differences of two detectors on the same resamples, and the size curve. Pure
 * functions on a prepared case; the searches of the resamples run in worker threads
 * (see greedy/workers.ts), with the same numbers for any number of workers.
 */
import type { BoundsInterval, Interval95, PairedDelta, PairedDifference, SizeCurvePoint } from '../core/types.js';
import { ShiftbenchError } from '../core/errors.js';
import type { BoundsObjective } from './greedy/case.js';
import type { PreparedBounds } from './greedy/prepare.js';
import type { ResampleBounds, ResampleTask } from './greedy/resample.js';
import { DEFAULT_MAX_PASSES, TIE_TOLERANCE } from './greedy/search.js';
import { runResampleTasks } from './greedy/workers.js';

/**
 * Bootstrap resamples of the bounds when --bootstrap-bounds is not given and images × shifts ≤
 * BOOTSTRAP_BOUNDS_MAX_CELLS.
 */
export const DEFAULT_BOOTSTRAP_BOUNDS = 200;
/** Above this many images × shifts the bounds bootstrap is off unless asked for (each resample costs one search). */
export const BOOTSTRAP_BOUNDS_MAX_CELLS = 20_000;
/** BOOTSTRAP_BOUNDS_MAX_CELLS as the notes write it (20,000). */
export const BOUNDS_OFF_MAX_CELLS_TEXT = BOOTSTRAP_BOUNDS_MAX_CELLS.toLocaleString('en-US');
/**
 * Fewest images for a bounds interval and a paired difference's verdict: a bootstrap of fewer is no 95 % interval (of
 * one image every resample is that image, so the "interval" is a point and any difference would be "significant").
 */
export const MIN_INTERVAL_IMAGES = 10;
/**
 * Fewest resamples a 95 % percentile interval is read from (`--bootstrap`, `--bootstrap-bounds`), counted where they
 * have a value: resamples without ground truth at (0,0) have no mAP and do not count.
 */
export const MIN_INTERVAL_RESAMPLES = 20;
/** Subsamples per size of the size curve. */
export const SIZE_CURVE_SUBSAMPLES = 50;
/** Subsample sizes below this are left out of the size curve. */
export const SIZE_CURVE_MIN_IMAGES = 10;

/**
 * The bounds bootstrap's B when the user gave none: DEFAULT_BOOTSTRAP_BOUNDS up to
 * BOOTSTRAP_BOUNDS_MAX_CELLS images × shifts, else 0 with a one-line note naming the flag.
 */
export function defaultBootstrapBounds(images: number, shifts: number): { resamples: number; note: string | null } {
  if (images * shifts <= BOOTSTRAP_BOUNDS_MAX_CELLS) return { resamples: DEFAULT_BOOTSTRAP_BOUNDS, note: null };
  return {
    resamples: 0,
    note:
      `bounds intervals off: ${images} images × ${shifts} shifts > ${BOUNDS_OFF_MAX_CELLS_TEXT} ` +
      `(each resample costs one search); --bootstrap-bounds ${DEFAULT_BOOTSTRAP_BOUNDS} turns them on`,
  };
}

/**
 * The bounds resamples a run was scored with (what pairing with it defaults to): `saved` when the run was given
 * --bootstrap-bounds (0: off), else its default for the images it evaluated and its shifts (0 above
 * BOOTSTRAP_BOUNDS_MAX_CELLS).
 */
export function ownBoundsResamples(saved: number | null | undefined, images: number, shifts: number): number {
  return typeof saved === 'number' ? saved : defaultBootstrapBounds(images, shifts).resamples;
}

/**
 * The q-quantile (0 ≤ q ≤ 1) of ascending values, interpolating linearly between order
 * statistics at rank (n − 1)·q (numpy's default). Throws on an empty list.
 */
export function percentile(sortedAsc: ArrayLike<number>, q: number): number {
  const n = sortedAsc.length;
  if (n === 0)
    throw new ShiftbenchError('ERR_METRICS_INPUT', 'Expected at least one value for a percentile but received none');
  const h = (n - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, n - 1);
  return sortedAsc[lo] + (h - lo) * (sortedAsc[hi] - sortedAsc[lo]);
}

/** The 95 % percentile interval (2.5 %, 97.5 %) of values, or null when there are none. */
export function interval95(values: readonly number[]): Interval95 | null {
  if (values.length === 0) return null;
  const s = Float64Array.from(values).sort();
  return { lo: percentile(s, 0.025), hi: percentile(s, 0.975) };
}

/** The median of values (linear interpolation), or null when there are none. */
export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  return percentile(Float64Array.from(values).sort(), 0.5);
}

/** Options of boundsUncertainty. */
export interface BoundsUncertaintyOptions {
  /** Bootstrap resamples B (0: no intervals). */
  resamples: number;
  /** The bootstrap seed (--bootstrap-seed). */
  seed: number;
  /** Also compute the size curve (default true when resamples > 0). */
  sizeCurve?: boolean;
  /** Subsamples per size (default SIZE_CURVE_SUBSAMPLES). */
  subsamples?: number;
  maxPasses?: number;
  objective?: BoundsObjective;
  /** Worker threads (default one per core, 2–8; 0: this thread). The numbers do not depend on it. */
  workers?: number;
  onProgress?: (done: number, total: number) => void;
  onWorkerFallback?: (reason: string) => void;
  /** Stops it: the worker threads are terminated and it rejects with an AbortError. */
  signal?: AbortSignal;
}

/** What boundsUncertainty returns: the JSON parts and, for paired differences, each resample's bounds. */
export interface BoundsUncertainty {
  interval: BoundsInterval | null;
  sizeCurve: SizeCurvePoint[] | null;
  /** Per bootstrap resample b (null: no ground truth at s0 in it); pair two detectors with pairedDifference. */
  perResample: (ResampleBounds | null)[];
  /** The image ids the resamples index (ascending), so pairing can check two detectors saw the same images. */
  imageIds: number[];
}

/** Sizes of the size curve for N images: ⌊N/8⌋, ⌊N/4⌋, ⌊N/2⌋ (those ≥ SIZE_CURVE_MIN_IMAGES and < N). */
export function sizeCurveSizes(numImages: number): number[] {
  const sizes = [Math.floor(numImages / 8), Math.floor(numImages / 4), Math.floor(numImages / 2)];
  return [...new Set(sizes)].filter((m) => m >= SIZE_CURVE_MIN_IMAGES && m < numImages);
}

/**
 * Bootstrap intervals of the bounds (B resamples of the images with replacement, an
 * image drawn twice counting as two independent images) and the size curve (median
 * mapRange of subsamples without replacement), from one prepared case. `fullMapRange`
 * is the full set's mapRange (the size curve's last point).
 */
export async function boundsUncertainty(
  prepared: PreparedBounds,
  fullMapRange: number,
  opts: BoundsUncertaintyOptions,
): Promise<BoundsUncertainty> {
  const B = opts.resamples;
  if (!Number.isInteger(B) || B < 0)
    throw new ShiftbenchError('ERR_INVALID_OPTION', `Expected an integer ≥ 0 for --bootstrap-bounds but received ${B}`);
  const N = prepared.numImages;
  const tasks: ResampleTask[] = [];
  for (let b = 0; b < B; b++) tasks.push({ kind: 'bootstrap', b });
  const withCurve = (opts.sizeCurve ?? B > 0) && N > 0;
  const subsamples = opts.subsamples ?? SIZE_CURVE_SUBSAMPLES;
  const sizes = withCurve ? sizeCurveSizes(N) : [];
  for (const size of sizes) for (let j = 0; j < subsamples; j++) tasks.push({ kind: 'subsample', size, j });
  const results =
    tasks.length === 0
      ? []
      : await runResampleTasks(
          prepared,
          tasks,
          { seed: opts.seed, maxPasses: opts.maxPasses ?? DEFAULT_MAX_PASSES, objective: opts.objective ?? 'ap' },
          {
            workers: opts.workers,
            onProgress: opts.onProgress,
            onWorkerFallback: opts.onWorkerFallback,
            signal: opts.signal,
          },
        );
  const perResample = results.slice(0, B);
  const interval = B > 0 ? summarizeBootstrap(perResample, opts.seed) : null;
  let sizeCurve: SizeCurvePoint[] | null = null;
  if (withCurve) {
    sizeCurve = sizes.map((size, si) => {
      const ranges = results
        .slice(B + si * subsamples, B + (si + 1) * subsamples)
        .filter((r): r is ResampleBounds => r !== null)
        .map((r) => r.mapUpper - r.mapLower);
      // the median is over the subsamples with ground truth: that is the count shown
      return { images: size, subsamples: ranges.length, medianMapRange: median(ranges) };
    });
    sizeCurve.push({ images: N, subsamples: 1, medianMapRange: fullMapRange });
  }
  return { interval, sizeCurve, perResample, imageIds: [...prepared.imageIds] };
}

/** What a paired Δ mAP range interval says: significant only when it excludes 0 (one ending exactly at 0 does not). */
export function pairedVerdict(iv: { lo: number; hi: number }): PairedDifference['verdict'] {
  return iv.hi < 0 ? 'steadier (significant)' : iv.lo > 0 ? 'less steady (significant)' : 'no significant difference';
}

/**
 * Percentile intervals over the resamples that have ground truth; null when fewer than MIN_INTERVAL_RESAMPLES have
 * (sparse labels: a resample drawing only unlabelled images has no mAP). relRange's is over the resamples with
 * mapRef > 0, null when fewer than MIN_INTERVAL_RESAMPLES have.
 */
export function summarizeBootstrap(
  perResample: readonly (ResampleBounds | null)[],
  seed: number,
): BoundsInterval | null {
  const valid = perResample.filter((r): r is ResampleBounds => r !== null);
  if (valid.length < MIN_INTERVAL_RESAMPLES) return null;
  const iv = (f: (r: ResampleBounds) => number) => interval95(valid.map(f))!;
  // relRange has a value only where mapRef > 0: the same rule of MIN_INTERVAL_RESAMPLES applies to those
  const rel = valid.filter((r) => r.mapRef > 0).map((r) => (r.mapUpper - r.mapLower) / r.mapRef);
  return {
    resamples: perResample.length,
    validResamples: valid.length,
    seed,
    mapRef: iv((r) => r.mapRef),
    mapLower: iv((r) => r.mapLower),
    mapUpper: iv((r) => r.mapUpper),
    mapRange: iv((r) => r.mapUpper - r.mapLower),
    relRange: rel.length >= MIN_INTERVAL_RESAMPLES ? interval95(rel) : null,
  };
}

/**
 * What the output says of relRange's interval when it is read from fewer resamples than the others: those with mAP at
 * (0,0) > 0 (a ratio to 0 has no value; summarizeBootstrap). Null when every resample with ground truth has mAP at
 * (0,0) > 0, or when too few have it for an interval (then there is none to qualify).
 */
export function relRangeIntervalNote(perResample: readonly (ResampleBounds | null)[]): string | null {
  const valid = perResample.filter((r): r is ResampleBounds => r !== null);
  const positive = valid.filter((r) => r.mapRef > 0).length;
  if (positive === valid.length || positive < MIN_INTERVAL_RESAMPLES) return null;
  return (
    `rel. range interval over the ${positive} of ${valid.length} resamples with mAP at (0,0) > 0 (in the other ` +
    `${valid.length - positive} mAP at (0,0) is 0: the ratio has no value)`
  );
}

/** One side of a paired comparison: its key, full-data bounds and per-resample bounds. */
export interface PairSide {
  key: string;
  mapRef: number;
  mapRange: number;
  uncertainty: BoundsUncertainty;
}

/**
 * A difference of mAP values within protocol §4's tie tolerance (1e−12) of 0 is 0: two equal ranges computed as
 * (u − l) − (u' − l') differ by float residue (~1e−16), which must count as a tie, not as a difference whose
 * interval excludes 0.
 */
function tieAsZero(d: number): number {
  return Math.abs(d) <= TIE_TOLERANCE ? 0 : d;
}

/**
 * Paired difference A − B (A: a mitigation or twin, B: its plain detector) on the same
 * bootstrap resamples: intervals of Δ mapRange and Δ mapRef, the share of resamples in
 * which A's range is smaller (ties ½), significant when the Δ mapRange interval excludes 0.
 * Returns null when either has no interval or fewer than MIN_INTERVAL_RESAMPLES resamples have ground truth on both
 * sides; throws ERR_METRICS_INPUT when the two were
 * resampled from different images or with different seeds (not paired).
 */
export function pairedDifference(a: PairSide, b: PairSide, kind: 'mitigation' | 'twin'): PairedDifference | null {
  const ua = a.uncertainty;
  const ub = b.uncertainty;
  if (!ua.interval || !ub.interval) return null;
  if (
    ua.interval.seed !== ub.interval.seed ||
    ua.perResample.length !== ub.perResample.length ||
    ua.imageIds.join(',') !== ub.imageIds.join(',')
  ) {
    throw new ShiftbenchError(
      'ERR_METRICS_INPUT',
      `Expected ${a.key} and ${b.key} to be resampled from the same images with the same seed and count, ` +
        `but they differ: they cannot be paired`,
    );
  }
  const dRange: number[] = [];
  const dRef: number[] = [];
  let steadier = 0;
  for (let k = 0; k < ua.perResample.length; k++) {
    const x = ua.perResample[k];
    const y = ub.perResample[k];
    if (!x || !y) continue;
    const d = tieAsZero(x.mapUpper - x.mapLower - (y.mapUpper - y.mapLower));
    dRange.push(d);
    dRef.push(tieAsZero(x.mapRef - y.mapRef));
    steadier += d < 0 ? 1 : d === 0 ? 0.5 : 0;
  }
  // both sides' intervals hold enough resamples, but the ones they share with ground truth may not
  if (dRange.length < MIN_INTERVAL_RESAMPLES) return null;
  const ir = interval95(dRange)!;
  const if0 = interval95(dRef)!;
  const deltaMapRange: PairedDelta = { value: tieAsZero(a.mapRange - b.mapRange), lo: ir.lo, hi: ir.hi };
  const verdict = pairedVerdict(ir);
  const significant = verdict !== 'no significant difference';
  return {
    key: a.key,
    against: b.key,
    kind,
    resamples: dRange.length,
    seed: ua.interval.seed,
    deltaMapRange,
    deltaMapRef: { value: tieAsZero(a.mapRef - b.mapRef), lo: if0.lo, hi: if0.hi },
    steadierShare: steadier / dRange.length,
    significant,
    verdict,
  };
}
