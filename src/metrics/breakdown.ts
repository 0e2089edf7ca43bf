/**
 * Breakdowns (protocol §9): AP by category and object size at a given shift assignment
 * (evaluateCoco on that assignment's ground truth and detections), and per-image flicker
 * — the share of an image's detections (score ≥ τ) not matched at every shift. Pure.
 */
import type {
  AssignmentBreakdown,
  CocoAnnotation,
  CocoGroundTruth,
  CocoResult,
  FlickerSummary,
  ImageFlicker,
} from '../core/types.js';
import { evaluateCoco } from './cocoeval.js';
import { DEFAULT_SCORE_THRESHOLD, matchDetections, type ConsistencyImage } from './consistency.js';

/** Images listed in FlickerSummary.top. */
export const FLICKER_TOP_IMAGES = 10;

const orNull = (v: number): number | null => (v < 0 ? null : v);

/**
 * AP, AP50, AP75, AP small / medium / large and per-category AP (pycocotools; null where
 * there is no ground truth) of one assignment: image `imageIds[i]` at shift
 * `assignment[i]`, with that shift's ground truth (one per shift, or one for all) and
 * detections (`detsOf(imageId, shiftIndex)`).
 */
export function breakdownAtAssignment(
  gt: CocoGroundTruth | CocoGroundTruth[],
  imageIds: readonly number[],
  assignment: ArrayLike<number>,
  detsOf: (imageId: number, shiftIndex: number) => readonly CocoResult[],
): AssignmentBreakdown {
  const gts = Array.isArray(gt) ? gt : [gt];
  const shiftOf = new Map(imageIds.map((id, i) => [id, assignment[i]]));
  const annotations: CocoAnnotation[] = Array.isArray(gt)
    ? gts.flatMap((g, s) => g.annotations.filter((a) => shiftOf.get(a.image_id) === s))
    : gts[0].annotations.filter((a) => shiftOf.has(a.image_id));
  const dets: CocoResult[] = [];
  imageIds.forEach((id, i) => {
    for (const d of detsOf(id, assignment[i])) dets.push(d);
  });
  const images = gts[0].images.filter((im) => shiftOf.has(im.id));
  const r = evaluateCoco({ images, categories: gts[0].categories, annotations }, dets);
  const perCategoryAP: Record<string, number | null> = {};
  for (const [id, ap] of Object.entries(r.perCategoryAP)) perCategoryAP[id] = orNull(ap);
  return {
    ap: orNull(r.stats[0]),
    ap50: orNull(r.stats[1]),
    ap75: orNull(r.stats[2]),
    apSmall: orNull(r.stats[3]),
    apMedium: orNull(r.stats[4]),
    apLarge: orNull(r.stats[5]),
    perCategoryAP,
  };
}

/**
 * Flicker of one image: detections ≥ τ at every shift; a detection of s0 is steady when
 * protocol §2 matching (s0 against s) pairs it at every other shift, a detection of
 * another shift when it is paired with a steady s0 detection; flicker = unsteady / all.
 * Null when the image has no detection ≥ τ or lacks a shift.
 */
export function imageFlicker(image: ConsistencyImage, scoreThreshold = DEFAULT_SCORE_THRESHOLD): ImageFlicker | null {
  const kept = image.dets.map((l) => (l ? l.filter((d) => d.score >= scoreThreshold) : undefined));
  // an image missing at a shift (a shard's or a skipped input) cannot be "matched at every shift": no flicker
  if (kept.length === 0 || kept.some((l) => l === undefined)) return null;
  const ref = kept[0]!;
  let total = ref.length;
  const steadyRef = new Uint8Array(ref.length).fill(1);
  const pairs: { s: number; partnerOfRef: Int32Array }[] = [];
  for (let s = 1; s < kept.length; s++) {
    const other = kept[s]!;
    total += other.length;
    const partnerOfRef = new Int32Array(ref.length).fill(-1);
    for (const p of matchDetections(ref, other)) partnerOfRef[p.a] = p.b;
    for (let k = 0; k < ref.length; k++) if (partnerOfRef[k] < 0) steadyRef[k] = 0;
    pairs.push({ s, partnerOfRef });
  }
  if (total === 0) return null;
  let steady = 0;
  // itself and its partner at each other shift
  for (let k = 0; k < ref.length; k++) if (steadyRef[k]) steady += 1 + pairs.length;
  return { imageId: image.imageId, flicker: (total - steady) / total, detections: total };
}

/**
 * Per-image flicker over a dataset: the mean over images with detections ≥ τ and the FLICKER_TOP_IMAGES with the most.
 */
export function flickerSummary(
  images: Iterable<ConsistencyImage>,
  scoreThreshold = DEFAULT_SCORE_THRESHOLD,
): FlickerSummary {
  const all: ImageFlicker[] = [];
  for (const im of images) {
    const f = imageFlicker(im, scoreThreshold);
    if (f) all.push(f);
  }
  const mean = all.length > 0 ? all.reduce((a, f) => a + f.flicker, 0) / all.length : null;
  const top = [...all]
    .sort((a, b) => b.flicker - a.flicker || b.detections - a.detections || a.imageId - b.imageId)
    .slice(0, FLICKER_TOP_IMAGES);
  return { scoreThreshold, images: all.length, meanFlicker: mean, top };
}
