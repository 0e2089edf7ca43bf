/**
 * Video-stability errors of protocol §5 (after Zhang et al. 2016, "On the Stability of
 * Video Detection and Tracking", with the shifts of the set in place of video frames):
 * centre position error (CPE), scale and ratio error (SRE) and fragment error, per
 * ground-truth object, reported as the mean over objects with a bootstrap interval over
 * images and as the worst object. Pure functions on detections in original-image
 * coordinates and ground truth; they need ground truth.
 */
import type { CocoAnnotation, CocoGroundTruth, CocoResult, StabilityError, StabilitySummary } from '../core/types.js';
import { ShiftbenchError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import {
  thresholdAndBootstrap,
  DEFAULT_BOOTSTRAP_RESAMPLES,
  DEFAULT_BOOTSTRAP_SEED,
  DEFAULT_SCORE_THRESHOLD,
  MATCH_IOU_THRESHOLD,
  iouXYWH,
  reachesIou,
  type ConsistencyImage,
} from './consistency.js';
import { MIN_INTERVAL_IMAGES, percentile } from './uncertainty.js';

/** Options of computeStability (the consistency metrics' τ, resamples and seed). */
export interface StabilityOptions {
  /** Score threshold τ (default 0.5, range 0–1). */
  scoreThreshold?: number;
  /** Bootstrap resamples of the images (default 1000, ≥ 1). */
  bootstrapResamples?: number;
  /** Bootstrap seed (default 0). */
  seed?: number;
  /** Ground truth, the same at every shift (null/absent with no groundTruthPerShift: the result is null). */
  groundTruth?: CocoGroundTruth | null;
  /**
   * One ground truth per shift (a case file's own); objects are followed across shifts by annotation id. Overrides
   * groundTruth.
   */
  groundTruthPerShift?: CocoGroundTruth[];
}

/** One ground-truth object's errors; null where it is not matched at enough shifts. */
export interface ObjectStability {
  imageId: number;
  annotationId: number;
  /** Shifts at which the object is matched. */
  matchedShifts: number;
  centerError: number | null;
  scaleRatioError: number | null;
  fragmentError: number | null;
}

/**
 * One shift's one-to-one matching of detections to ground-truth objects (protocol §5):
 * pairs of the same class with IoU ≥ 0.5 (up to MATCH_IOU_TOLERANCE), taken greedily by descending IoU. Equal IoUs
 * are taken by descending detection score, then ascending detection index, then
 * ascending object index, so the result is deterministic. Give only the detections with
 * score ≥ τ and only non-crowd objects. Returns, per object, the index of its detection
 * or −1.
 */
export function matchObjects(
  dets: readonly CocoResult[],
  objects: readonly CocoAnnotation[],
  iouThreshold = MATCH_IOU_THRESHOLD,
): Int32Array {
  const cand: { d: number; g: number; iou: number }[] = [];
  for (let d = 0; d < dets.length; d++) {
    for (let g = 0; g < objects.length; g++) {
      if (dets[d].category_id !== objects[g].category_id) continue;
      const iou = iouXYWH(dets[d].bbox, objects[g].bbox);
      if (reachesIou(iou, iouThreshold)) cand.push({ d, g, iou });
    }
  }
  cand.sort((p, q) => q.iou - p.iou || dets[q.d].score - dets[p.d].score || p.d - q.d || p.g - q.g);
  const detUsed = new Uint8Array(dets.length);
  const match = new Int32Array(objects.length).fill(-1);
  for (const p of cand) {
    if (detUsed[p.d] || match[p.g] !== -1) continue;
    detUsed[p.d] = 1;
    match[p.g] = p.d;
  }
  return match;
}

/** Population standard deviation (divide by n) of values; 0 for one value. Throws on an empty list. */
export function populationStd(values: readonly number[]): number {
  const n = values.length;
  if (n === 0)
    throw new ShiftbenchError(
      'ERR_METRICS_INPUT',
      'Expected at least one value for a standard deviation but received none',
    );
  let s = 0;
  for (const v of values) s += v;
  const mean = s / n;
  let ss = 0;
  for (const v of values) ss += (v - mean) * (v - mean);
  return Math.sqrt(ss / n);
}

/**
 * The errors of each object of one image. `dets[s]` are the image's detections at shift
 * s (all shifts, in the shift-set order; filtered here by score ≥ τ); `objectsPerShift[s]`
 * its ground truth at shift s. An object is followed across shifts by annotation id and
 * is a candidate when it is present and not a crowd region at every shift (as for
 * flipRate); at each shift the matching takes every non-crowd object of that shift, candidate
 * or not. Per object, over the shifts where it is matched (matchObjects):
 * - centerError = σ((xp − xg)/wg) + σ((yp − yg)/hg) with (x, y) box centres, when matched at ≥ 2 shifts;
 * - scaleRatioError = σ(√(wp·hp / (wg·hg))) + σ((wp/hp) / (wg/hg)), when matched at ≥ 2 shifts;
 * - fragmentError = changes of the matched state between consecutive shifts ÷ (|S| − 1),
 *   when matched at ≥ 1 shift and |S| ≥ 2.
 * σ is the population standard deviation. Objects never matched are listed with all three null.
 */
export function imageStability(
  imageId: number,
  dets: readonly (readonly CocoResult[])[],
  objectsPerShift: readonly (readonly CocoAnnotation[])[],
  scoreThreshold = DEFAULT_SCORE_THRESHOLD,
): ObjectStability[] {
  const S = dets.length;
  if (objectsPerShift.length !== S) {
    throw new ShiftbenchError(
      'ERR_METRICS_INPUT',
      `Expected ground truth at each of ${S} shifts for image ${imageId} but received ${objectsPerShift.length}`,
    );
  }
  if (S === 0) return [];
  // candidates: the objects of shift 0 present and not crowd at every shift, in annotation order
  const byIdPerShift = objectsPerShift.map((list) => new Map(list.map((a) => [a.id, a])));
  const candidates = objectsPerShift[0].filter((a0) =>
    byIdPerShift.every((m) => {
      const a = m.get(a0.id);
      return a !== undefined && !a.iscrowd;
    }),
  );
  const cx: number[][] = candidates.map(() => []);
  const cy: number[][] = candidates.map(() => []);
  const scale: number[][] = candidates.map(() => []);
  const ratio: number[][] = candidates.map(() => []);
  const found: boolean[][] = candidates.map(() => []);
  for (let s = 0; s < S; s++) {
    // every non-crowd object of this shift takes part in the matching (protocol §5), also one that is not a candidate
    // (absent or a crowd region at another shift): its detection is not another object's
    const objects = objectsPerShift[s].filter((a) => !a.iscrowd);
    const at = new Map(objects.map((a, i) => [a.id, i]));
    const kept = dets[s].filter((d) => d.score >= scoreThreshold);
    const match = matchObjects(kept, objects);
    candidates.forEach((a0, k) => {
      const g = byIdPerShift[s].get(a0.id)!;
      const m = match[at.get(a0.id)!];
      found[k].push(m !== -1);
      if (m === -1) return;
      const [xg, yg, wg, hg] = g.bbox;
      const [xp, yp, wp, hp] = kept[m].bbox;
      cx[k].push((xp + wp / 2 - (xg + wg / 2)) / wg);
      cy[k].push((yp + hp / 2 - (yg + hg / 2)) / hg);
      scale[k].push(Math.sqrt((wp * hp) / (wg * hg)));
      ratio[k].push(wp / hp / (wg / hg));
    });
  }
  return candidates.map((a0, k) => {
    const n = cx[k].length;
    let changes = 0;
    for (let s = 1; s < S; s++) if (found[k][s] !== found[k][s - 1]) changes++;
    return {
      imageId,
      annotationId: a0.id,
      matchedShifts: n,
      centerError: n >= 2 ? populationStd(cx[k]) + populationStd(cy[k]) : null,
      scaleRatioError: n >= 2 ? populationStd(scale[k]) + populationStd(ratio[k]) : null,
      fragmentError: n >= 1 && S >= 2 ? changes / (S - 1) : null,
    };
  });
}

/** Per image: the sum and count of one error over its objects (images with no qualifying object left out). */
export interface ImageSums {
  sum: number;
  count: number;
}

/**
 * Mean over objects with a seeded 95 % percentile bootstrap interval over images: each
 * resample draws the images with replacement (an image drawn carries all its objects)
 * and takes the mean over the objects drawn; the interval is the 2.5th and 97.5th
 * percentiles of the resample means (linear interpolation). The draws are those of
 * bootstrapMean (the same Rng, one index per image). Null for no image; no interval (NaN) below MIN_INTERVAL_IMAGES
 * images.
 */
export function objectBootstrapMean(
  images: readonly ImageSums[],
  resamples = DEFAULT_BOOTSTRAP_RESAMPLES,
  seed = DEFAULT_BOOTSTRAP_SEED,
): { mean: number; lo: number; hi: number } | null {
  const n = images.length;
  if (n === 0) return null;
  let sum = 0;
  let count = 0;
  for (const im of images) {
    sum += im.sum;
    count += im.count;
  }
  // as bootstrapMean: fewer images give no 95 % interval, only the mean
  if (n < MIN_INTERVAL_IMAGES) return { mean: sum / count, lo: NaN, hi: NaN };
  const rng = new Rng(seed);
  const means = new Float64Array(resamples);
  for (let b = 0; b < resamples; b++) {
    let s = 0;
    let c = 0;
    for (let i = 0; i < n; i++) {
      const im = images[Math.floor(rng.next() * n)];
      s += im.sum;
      c += im.count;
    }
    means[b] = s / c;
  }
  means.sort();
  return { mean: sum / count, lo: percentile(means, 0.025), hi: percentile(means, 0.975) };
}

type ErrorKey = 'centerError' | 'scaleRatioError' | 'fragmentError';

/**
 * Protocol §5 video-stability errors over images (any iterable, consumed once; the same
 * inputs as computeConsistency). Images not given at every shift are left out (the
 * found-state order needs them all). Each error is the mean over its objects
 * (imageStability) with objectBootstrapMean's interval, resampling the images that carry
 * at least one such object, and the worst object (largest value; ties: smaller image id,
 * then smaller annotation id). Null without ground truth. Throws ERR_METRICS_INPUT for a
 * score threshold outside [0, 1] or a resample count below 1.
 */
export function computeStability(
  images: Iterable<ConsistencyImage>,
  numShifts: number,
  opts: StabilityOptions = {},
): StabilitySummary | null {
  const { tau, resamples, seed } = thresholdAndBootstrap(opts);
  const gtPerShift =
    opts.groundTruthPerShift ??
    (opts.groundTruth ? new Array<CocoGroundTruth>(numShifts).fill(opts.groundTruth) : null);
  if (!gtPerShift) return null;
  if (gtPerShift.length !== numShifts) {
    throw new ShiftbenchError(
      'ERR_METRICS_INPUT',
      `Expected one ground truth per shift (${numShifts}) for groundTruthPerShift but received ${gtPerShift.length}`,
    );
  }
  const index = gtPerShift.map(annotationsByImage);
  const keys: ErrorKey[] = ['centerError', 'scaleRatioError', 'fragmentError'];
  const perImage: Record<ErrorKey, ImageSums[]> = { centerError: [], scaleRatioError: [], fragmentError: [] };
  const worst: Record<ErrorKey, ObjectStability | null> = {
    centerError: null,
    scaleRatioError: null,
    fragmentError: null,
  };
  let objects = 0;
  for (const img of images) {
    if (img.dets.length < numShifts || img.dets.some((d) => d === undefined)) continue;
    const objs = imageStability(
      img.imageId,
      img.dets as CocoResult[][],
      index.map((ix) => ix.get(img.imageId) ?? []),
      tau,
    );
    objects += objs.length;
    for (const key of keys) {
      let sum = 0;
      let count = 0;
      for (const o of objs) {
        const v = o[key];
        if (v === null) continue;
        sum += v;
        count++;
        if (worse(o, worst[key], key)) worst[key] = o;
      }
      if (count > 0) perImage[key].push({ sum, count });
    }
  }
  const summarise = (key: ErrorKey): StabilityError | null => {
    const iv = objectBootstrapMean(perImage[key], resamples, seed);
    const w = worst[key];
    if (!iv || !w) return null;
    const counted = perImage[key].reduce((t, im) => t + im.count, 0);
    return {
      ...iv,
      objects: counted,
      images: perImage[key].length,
      worst: { value: w[key]!, imageId: w.imageId, annotationId: w.annotationId },
    };
  };
  return {
    scoreThreshold: tau,
    centerError: summarise('centerError'),
    scaleRatioError: summarise('scaleRatioError'),
    fragmentError: summarise('fragmentError'),
    objects,
    bootstrap: { resamples, seed },
  };
}

/** Whether object o has a larger error than the current worst (ties: smaller image id, then smaller annotation id). */
function worse(o: ObjectStability, cur: ObjectStability | null, key: ErrorKey): boolean {
  if (cur === null) return true;
  const a = o[key]!;
  const b = cur[key]!;
  if (a !== b) return a > b;
  return o.imageId !== cur.imageId ? o.imageId < cur.imageId : o.annotationId < cur.annotationId;
}

function annotationsByImage(gt: CocoGroundTruth): Map<number, CocoAnnotation[]> {
  const m = new Map<number, CocoAnnotation[]>();
  for (const a of gt.annotations) {
    let l = m.get(a.image_id);
    if (!l) m.set(a.image_id, (l = []));
    l.push(a);
  }
  return m;
}
