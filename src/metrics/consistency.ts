/**
 * Consistency metrics of protocol §5: how much the detections of one image change
 * between the reference shift s0 and each other shift, without (and for flipRate,
 * with) ground truth. Pure functions on detections in original-image coordinates.
 */
import type { BoxXYWH, CocoGroundTruth, CocoResult, ConsistencySummary, Interval } from '../core/types.js';
import { ShiftbenchError, refuseUnknownFields } from '../core/errors.js';
import { OPTION_FLAGS } from '../core/messages.js';
import { Rng } from '../core/rng.js';
import { MIN_INTERVAL_IMAGES } from './uncertainty.js';

/** Default score threshold τ of protocol §5. */
export const DEFAULT_SCORE_THRESHOLD = 0.5;
export const DEFAULT_BOOTSTRAP_RESAMPLES = 1000;
export const DEFAULT_BOOTSTRAP_SEED = 0;
/** IoU at which two detections (or a detection and a gt box) match. */
export const MATCH_IOU_THRESHOLD = 0.5;
/**
 * An IoU this little below the threshold reaches it. Boxes are compared in original-image coordinates, projected back
 * from each shift's input with rounding of its own, so an IoU of exactly 0.5 (in input and image pixels alike) comes
 * out 0.5 at one shift and 0.49999999999999956 at another; without the tolerance float noise decided the match.
 */
export const MATCH_IOU_TOLERANCE = 1e-9;

/** Whether an IoU reaches a match threshold (protocol §2: IoU ≥ threshold), up to MATCH_IOU_TOLERANCE. */
export function reachesIou(iou: number, threshold = MATCH_IOU_THRESHOLD): boolean {
  return iou >= threshold - MATCH_IOU_TOLERANCE;
}

/** One image's detections at every shift (index = shift index; undefined = not evaluated at that shift). */
export interface ConsistencyImage {
  imageId: number;
  /** Model-input pixels per original pixel, per axis (converts centre distances to input px). */
  inputScale: { x: number; y: number };
  dets: (readonly CocoResult[] | undefined)[];
}

export interface ConsistencyOptions {
  /** Score threshold τ (default 0.5, range 0–1). */
  scoreThreshold?: number;
  /** Bootstrap resamples (default 1000, ≥ 1). */
  bootstrapResamples?: number;
  /** Bootstrap seed (default 0). */
  seed?: number;
  /** Ground truth for flipRate (null/absent: flipRate is null). */
  groundTruth?: CocoGroundTruth | null;
  /**
   * One ground truth per shift (a case file's own; shiftbench's modes score one ground truth); overrides groundTruth.
   */
  groundTruthPerShift?: CocoGroundTruth[];
}

/** Every field of ConsistencyOptions (the compiler checks the list is complete and has no other). */
const CONSISTENCY_OPTION_FIELDS: Record<keyof ConsistencyOptions, true> = {
  scoreThreshold: true,
  bootstrapResamples: true,
  seed: true,
  groundTruth: true,
  groundTruthPerShift: true,
};

/** ConsistencySummary plus the per-shift grid of detConsistency (index 0 = s0, always 1). */
export interface ConsistencyResult extends ConsistencySummary {
  /** Mean over images of detConsistency between s0 and each shift; NaN where no image has that shift. */
  perShiftDetConsistency: number[];
  /** Images that contributed to each metric. */
  imagesUsed: NonNullable<ConsistencySummary['imagesUsed']>;
}

/** Plain IoU of two xywh boxes (0 when they do not overlap; at most 1, which float rounding can pass by 2e−16). */
export function iouXYWH(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const w = Math.min(a[0] + a[2], b[0] + b[2]) - Math.max(a[0], b[0]);
  if (w <= 0) return 0;
  const h = Math.min(a[1] + a[3], b[1] + b[3]) - Math.max(a[1], b[1]);
  if (h <= 0) return 0;
  const inter = w * h;
  return Math.min(1, inter / (a[2] * a[3] + b[2] * b[3] - inter));
}

/** A matched pair: indices into the two lists and their IoU. */
export interface DetectionPair {
  a: number;
  b: number;
  iou: number;
}

/**
 * Protocol §2 matching: same class, IoU ≥ 0.5 (up to MATCH_IOU_TOLERANCE), greedy by descending IoU, one-to-one.
 * Equal IoUs are taken in order of (index in `a`, index in `b`), so the result is deterministic.
 */
export function matchDetections(
  a: readonly CocoResult[],
  b: readonly CocoResult[],
  iouThreshold = MATCH_IOU_THRESHOLD,
): DetectionPair[] {
  const cand: DetectionPair[] = [];
  for (let i = 0; i < a.length; i++) {
    for (let j = 0; j < b.length; j++) {
      if (a[i].category_id !== b[j].category_id) continue;
      const iou = iouXYWH(a[i].bbox, b[j].bbox);
      if (reachesIou(iou, iouThreshold)) cand.push({ a: i, b: j, iou });
    }
  }
  cand.sort((p, q) => q.iou - p.iou || p.a - q.a || p.b - q.b);
  const usedA = new Uint8Array(a.length);
  const usedB = new Uint8Array(b.length);
  const out: DetectionPair[] = [];
  for (const p of cand) {
    if (usedA[p.a] || usedB[p.b]) continue;
    usedA[p.a] = 1;
    usedB[p.b] = 1;
    out.push(p);
  }
  return out;
}

/**
 * Mean with a seeded percentile bootstrap 95% interval: `resamples` draws of n values
 * with replacement, interval = 2.5th and 97.5th percentiles of the draw means
 * (linear interpolation between order statistics, as numpy's default).
 * Empty input gives NaN for all three (serialised as null in JSON); fewer than MIN_INTERVAL_IMAGES values give the
 * mean with NaN (no) interval.
 */
export function bootstrapMean(
  values: ArrayLike<number>,
  resamples = DEFAULT_BOOTSTRAP_RESAMPLES,
  seed = DEFAULT_BOOTSTRAP_SEED,
): Interval {
  const n = values.length;
  if (n === 0) return { mean: NaN, lo: NaN, hi: NaN };
  let s = 0;
  for (let i = 0; i < n; i++) s += values[i];
  const mean = s / n;
  // a bootstrap of fewer images is no 95 % interval (of one image every resample is that image: a point `check` would
  // judge as certain), as for the bounds
  if (n < MIN_INTERVAL_IMAGES) return { mean, lo: NaN, hi: NaN };
  const rng = new Rng(seed);
  const means = new Float64Array(resamples);
  for (let b = 0; b < resamples; b++) {
    let t = 0;
    for (let i = 0; i < n; i++) t += values[Math.floor(rng.next() * n)];
    means[b] = t / n;
  }
  means.sort();
  return { mean, lo: quantile(means, 0.025), hi: quantile(means, 0.975) };
}

function quantile(sorted: Float64Array, q: number): number {
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

const center = (b: BoxXYWH): [number, number] => [b[0] + b[2] / 2, b[1] + b[3] / 2];

/**
 * Consistency metrics of protocol §5 over images (any iterable, consumed once, so a
 * caller can make each image's lists on the fly), each a mean over images with a seeded
 * bootstrap 95% interval. Per image, for every shift s ≠ s0 present for that image,
 * detections with score ≥ τ at s0 and at s are matched (same class, IoU ≥ 0.5, greedy
 * by descending IoU, one-to-one):
 * - detConsistency(image) = mean over s of 2·|matches| / (|D(s0)| + |D(s)|) (1 when both are empty);
 *   every image that has s0 and at least one other shift contributes.
 * - boxJitterIou(image) = mean of 1 − IoU over all matched pairs of the image (pooled over s);
 *   boxJitterCenterPx(image) = mean distance between the pair's box centres in model-input
 *   pixels (Δx·scale.x, Δy·scale.y); scoreJitter(image) = mean |score(s) − score(s0)|.
 *   An image with no matched pair has no jitter and is left out of these three means
 *   (it is not counted as zero jitter).
 * - flipRate(image) = share of the image's ground-truth objects whose found state (a
 *   detection of its class, IoU ≥ 0.5 with the object's box at that shift, score ≥ τ;
 *   not one-to-one) differs between the image's shifts. Crowd regions (at any
 *   shift) are left out (they are neither misses nor matches in
 *   COCO AP either); images without such objects are left out of the mean. Needs all
 *   shifts of the image; null when no ground truth is given.
 * Throws ERR_METRICS_INPUT for a non-finite score threshold, a bad resample count or a groundTruthPerShift that is not
 * one per shift.
 */
export function computeConsistency(
  images: Iterable<ConsistencyImage>,
  numShifts: number,
  opts: ConsistencyOptions = {},
): ConsistencyResult {
  refuseUnknownFields(opts, CONSISTENCY_OPTION_FIELDS, 'consistency options');
  const { tau, resamples, seed } = thresholdAndBootstrap(opts);
  const gtPerShift =
    opts.groundTruthPerShift ?? (opts.groundTruth ? new Array(numShifts).fill(opts.groundTruth) : null);
  if (gtPerShift && gtPerShift.length !== numShifts) {
    throw new ShiftbenchError(
      'ERR_METRICS_INPUT',
      `Expected one ground truth per shift (${numShifts}) for groundTruthPerShift but received ${gtPerShift.length}`,
    );
  }
  const gtIndex = gtPerShift ? gtPerShift.map(indexGtByImage) : null;

  const detCons: number[] = [];
  const jitIou: number[] = [];
  const jitCenter: number[] = [];
  const jitScore: number[] = [];
  const flips: number[] = [];
  const shiftSum = new Float64Array(numShifts);
  const shiftCount = new Float64Array(numShifts);

  for (const img of images) {
    const kept = img.dets.map((d) => (d ? d.filter((x) => x.score >= tau) : undefined));
    const d0 = kept[0];
    if (d0) {
      let consSum = 0;
      let consN = 0;
      let iouSum = 0;
      let cSum = 0;
      let sSum = 0;
      let pairs = 0;
      for (let s = 1; s < numShifts; s++) {
        const ds = kept[s];
        if (!ds) continue;
        const m = matchDetections(d0, ds);
        const total = d0.length + ds.length;
        const c = total === 0 ? 1 : (2 * m.length) / total;
        consSum += c;
        consN++;
        shiftSum[s] += c;
        shiftCount[s]++;
        for (const p of m) {
          const a = d0[p.a],
            b = ds[p.b];
          iouSum += 1 - p.iou;
          const [ax, ay] = center(a.bbox);
          const [bx, by] = center(b.bbox);
          cSum += Math.hypot((bx - ax) * img.inputScale.x, (by - ay) * img.inputScale.y);
          sSum += Math.abs(b.score - a.score);
          pairs++;
        }
      }
      if (consN > 0) {
        detCons.push(consSum / consN);
        shiftSum[0] += 1;
        shiftCount[0]++;
      }
      if (pairs > 0) {
        jitIou.push(iouSum / pairs);
        jitCenter.push(cSum / pairs);
        jitScore.push(sSum / pairs);
      }
    }
    if (gtIndex && kept.length >= numShifts && kept.every((d) => d !== undefined)) {
      const f = imageFlipRate(img.imageId, kept as CocoResult[][], gtIndex);
      if (f !== null) flips.push(f);
    }
  }
  return {
    scoreThreshold: tau,
    detConsistency: bootstrapMean(detCons, resamples, seed),
    boxJitterIou: bootstrapMean(jitIou, resamples, seed),
    boxJitterCenterPx: bootstrapMean(jitCenter, resamples, seed),
    scoreJitter: bootstrapMean(jitScore, resamples, seed),
    flipRate: gtIndex ? bootstrapMean(flips, resamples, seed) : null,
    bootstrap: { resamples, seed },
    perShiftDetConsistency: Array.from(shiftSum, (v, s) => (shiftCount[s] > 0 ? v / shiftCount[s] : NaN)),
    imagesUsed: {
      detConsistency: detCons.length,
      boxJitter: jitIou.length,
      scoreJitter: jitScore.length,
      flipRate: flips.length,
    },
  };
}

type GtByImage = Map<number, CocoGroundTruth['annotations']>;

function indexGtByImage(gt: CocoGroundTruth): GtByImage {
  const m: GtByImage = new Map();
  for (const a of gt.annotations) {
    let l = m.get(a.image_id);
    if (!l) m.set(a.image_id, (l = []));
    l.push(a);
  }
  return m;
}

/**
 * Share of eligible gt objects of one image whose found state is not the same at every shift; null if none is eligible.
 */
function imageFlipRate(imageId: number, dets: CocoResult[][], gtIndex: GtByImage[]): number | null {
  const ref = gtIndex[0].get(imageId) ?? [];
  let eligible = 0;
  let flipped = 0;
  for (const g0 of ref) {
    // the same object at every shift (matched by annotation id), never crowd or ignored
    const perShift = gtIndex.map((ix) =>
      ix === gtIndex[0] ? g0 : (ix.get(imageId) ?? []).find((a) => a.id === g0.id),
    );
    if (perShift.some((g) => !g || g.iscrowd)) continue;
    eligible++;
    let first: boolean | null = null;
    let differs = false;
    for (let s = 0; s < dets.length; s++) {
      const g = perShift[s]!;
      const found = dets[s].some((d) => d.category_id === g.category_id && reachesIou(iouXYWH(d.bbox, g.bbox)));
      if (first === null) first = found;
      else if (found !== first) differs = true;
    }
    if (differs) flipped++;
  }
  return eligible === 0 ? null : flipped / eligible;
}

/**
 * τ, bootstrap resamples and seed of the per-object/per-image metrics with their defaults
 * (0.5, 1000, 0). Throws ERR_METRICS_INPUT for τ outside [0, 1] or a resample count below 1.
 */
export function thresholdAndBootstrap(
  opts: Pick<ConsistencyOptions, 'scoreThreshold' | 'bootstrapResamples' | 'seed'>,
): {
  tau: number;
  resamples: number;
  seed: number;
} {
  const tau = opts.scoreThreshold ?? DEFAULT_SCORE_THRESHOLD;
  const resamples = opts.bootstrapResamples ?? DEFAULT_BOOTSTRAP_RESAMPLES;
  const seed = opts.seed ?? DEFAULT_BOOTSTRAP_SEED;
  if (!Number.isFinite(tau) || tau < 0 || tau > 1) {
    throw new ShiftbenchError(
      'ERR_METRICS_INPUT',
      `Expected a number in [0, 1] for ${OPTION_FLAGS.scoreThreshold} but received ${tau}`,
    );
  }
  if (!Number.isInteger(resamples) || resamples < 1) {
    throw new ShiftbenchError(
      'ERR_METRICS_INPUT',
      `Expected an integer ≥ 1 for ${OPTION_FLAGS.bootstrapResamples} but received ${resamples}`,
    );
  }
  return { tau, resamples, seed };
}
