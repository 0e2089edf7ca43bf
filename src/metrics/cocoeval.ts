/**
 * COCO bbox AP exactly as pycocotools' COCOeval computes it (protocol §3).
 *
 * The pieces mirror pycocotools step by step, because exactness depends on them:
 * - per (image, category) the detections are sorted by descending score with a
 *   stable sort (numpy mergesort on −score) and cut to the last maxDets (100);
 * - IoU is pycocotools' bbox IoU (`crowd` ground truth: intersection / detection area);
 * - matching walks detections in score order, gt with `_ignore` last, keeps the best
 *   IoU ≥ min(t, 1 − 1e−10) (a later gt wins a tie), and stops at the first ignored
 *   gt once a regular one is matched; crowd gt can be matched many times;
 * - unmatched detections outside the area range are ignored;
 * - accumulation concatenates the per-image lists in ascending image id order and
 *   sorts them by −score with a stable sort; precision is tp / (tp + fp + eps)
 *   made monotone from the right and read at 101 recall thresholds.
 *
 * Ignore regions are crowd regions only: pycocotools overwrites an annotation's
 * `ignore` with its `iscrowd` (`_prepare`), so an `ignore` field has no effect, here as
 * there (protocol §3). Detections of categories the ground truth does not have are
 * left out, as pycocotools evaluates only the ground truth's categories; detections of
 * images it does not have are an error, as in pycocotools' `loadRes`.
 *
 * A second pycocotools quirk is kept: a detection matched to a ground truth whose
 * `id` is 0 counts as unmatched in accumulation (pycocotools stores the matched gt id
 * and tests it against 0).
 */
import type { CocoGroundTruth, CocoResult } from '../core/types.js';
import { ShiftbenchError, describeValue } from '../core/errors.js';

/** numpy.linspace(start, stop, num) exactly as numpy computes it: i·step + start, last = stop. */
function linspace(start: number, stop: number, num: number): number[] {
  const step = (stop - start) / (num - 1);
  const out: number[] = [];
  for (let i = 0; i < num; i++) out.push(i * step + start);
  out[num - 1] = stop;
  return out;
}

/** COCOeval's 10 IoU thresholds .50:.05:.95, bit-identical to numpy's linspace. */
export const IOU_THRESHOLDS: readonly number[] = Object.freeze(linspace(0.5, 0.95, 10));
/** COCOeval's 101 recall thresholds 0:.01:1, bit-identical to numpy's linspace. */
export const RECALL_THRESHOLDS: readonly number[] = Object.freeze(linspace(0, 1, 101));
/** Area ranges all / small / medium / large, in px² (bounds inclusive, as pycocotools). */
export const AREA_RANGES: readonly (readonly [number, number])[] = Object.freeze([
  [0, 1e10],
  [0, 32 ** 2],
  [32 ** 2, 96 ** 2],
  [96 ** 2, 1e10],
] as const);
export const AREA_LABELS = ['all', 'small', 'medium', 'large'] as const;
/** maxDets of the 12 summary numbers. */
export const MAX_DETS: readonly number[] = Object.freeze([1, 10, 100]);

export const NUM_IOU = 10;
export const NUM_RECALL = 101;
/** numpy.spacing(1): the eps in pycocotools' precision tp / (tp + fp + eps). */
export const EPS = 2.220446049250313e-16;
const IOU_CAP = 1 - 1e-10;

/** Detection status codes per IoU threshold. */
export const ST_FP = 0;
export const ST_TP = 1;
export const ST_IGNORED = 2;

/** The 12 COCO summary numbers plus AP@[.5:.95] (area all, maxDets 100) per category id (−1 without gt). */
export interface CocoEvalResult {
  /** pycocotools `stats`: AP, AP50, AP75, APs, APm, APl, AR1, AR10, AR100, ARs, ARm, ARl (−1 where undefined). */
  stats: number[];
  perCategoryAP: Record<string, number>;
}

// ------------------------------------------------------------------ validation

function metricsError(message: string): ShiftbenchError {
  return new ShiftbenchError('ERR_METRICS_INPUT', message);
}

function listFew(values: Iterable<unknown>, max = 5): string {
  const all = [...values];
  const shown = all
    .slice(0, max)
    .map((v) => describeValue(v))
    .join(', ');
  return all.length > max ? `${shown} (and ${all.length - max} more)` : shown;
}

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isBox = (v: unknown): boolean => Array.isArray(v) && v.length === 4 && v.every(finite);
/** Width and height ≥ 0 (of a box isBox accepted): a negative one is malformed, e.g. x1, y1, x2, y2 given as xywh. */
const sizeNonNegative = (b: readonly number[]): boolean => b[2] >= 0 && b[3] >= 0;

function negativeBoxError(where: string, bbox: unknown): ShiftbenchError {
  return metricsError(
    `Expected [x, y, width, height] with width and height ≥ 0 for ${where} but received ${describeValue(bbox)} ` +
      '(COCO boxes are x, y, width, height — not x1, y1, x2, y2)',
  );
}

/** Checks the shape of a ground truth (image and annotation ids unique); throws ERR_METRICS_INPUT naming the first bad field. */
export function validateGroundTruth(gt: CocoGroundTruth, name = 'ground truth'): void {
  if (
    typeof gt !== 'object' ||
    gt === null ||
    !Array.isArray(gt.images) ||
    !Array.isArray(gt.annotations) ||
    !Array.isArray(gt.categories)
  ) {
    throw metricsError(
      `Expected an object with "images", "annotations" and "categories" arrays for ${name} but received ` +
        `${describeValue(gt)}`,
    );
  }
  const imageAt = new Map<number, number>();
  gt.images.forEach((im, i) => {
    if (typeof im !== 'object' || im === null || !finite(im.id)) {
      throw metricsError(`Expected a finite number for ${name}.images[${i}].id but received ${describeValue(im?.id)}`);
    }
    if (imageAt.has(im.id))
      throw metricsError(`Expected each image id once in ${name}.images but images[${i}] repeats id ${im.id}`);
    imageAt.set(im.id, i);
  });
  gt.categories.forEach((c, i) => {
    if (typeof c !== 'object' || c === null || !finite(c.id)) {
      throw metricsError(
        `Expected a finite number for ${name}.categories[${i}].id but received ${describeValue(c?.id)}`,
      );
    }
  });
  const annotationIds = new Set<number>();
  gt.annotations.forEach((a, i) => {
    const where = `${name}.annotations[${i}]`;
    if (typeof a !== 'object' || a === null)
      throw metricsError(`Expected an object for ${where} but received ${describeValue(a)}`);
    if (!finite(a.id))
      throw metricsError(`Expected a finite number for ${where}.id but received ${describeValue(a.id)}`);
    // pycocotools keys annotations by id: two of one id both load as the last one
    if (annotationIds.has(a.id))
      throw metricsError(
        `Expected each annotation id once in ${name}.annotations but annotations[${i}] repeats id ${a.id}`,
      );
    annotationIds.add(a.id);
    if (!finite(a.image_id))
      throw metricsError(`Expected a finite number for ${where}.image_id but received ${describeValue(a.image_id)}`);
    if (!finite(a.category_id))
      throw metricsError(
        `Expected a finite number for ${where}.category_id but received ${describeValue(a.category_id)}`,
      );
    if (!isBox(a.bbox))
      throw metricsError(
        `Expected [x, y, width, height] of finite numbers for ${where}.bbox but received ${describeValue(a.bbox)}`,
      );
    if (!sizeNonNegative(a.bbox)) throw negativeBoxError(`${where}.bbox`, a.bbox);
    if (!finite(a.area))
      throw metricsError(`Expected a finite number for ${where}.area but received ${describeValue(a.area)}`);
  });
}

/**
 * Checks detections against a ground truth: finite boxes, scores and category ids, known image ids
 * (category ids the ground truth does not have are allowed: evaluation leaves them out,
 * as pycocotools does). Throws ERR_METRICS_INPUT listing the first few offenders.
 */
export function validateDetections(dets: CocoResult[], imageIds: ReadonlySet<number>, name = 'detections'): void {
  if (!Array.isArray(dets))
    throw metricsError(`Expected an array of COCO results for ${name} but received ${describeValue(dets)}`);
  const badImages = new Set<unknown>();
  for (let i = 0; i < dets.length; i++) {
    const d = dets[i];
    const where = `${name}[${i}]`;
    if (typeof d !== 'object' || d === null)
      throw metricsError(`Expected an object for ${where} but received ${describeValue(d)}`);
    if (!isBox(d.bbox))
      throw metricsError(
        `Expected [x, y, width, height] of finite numbers for ${where}.bbox but received ${describeValue(d.bbox)}`,
      );
    if (!sizeNonNegative(d.bbox)) throw negativeBoxError(`${where}.bbox`, d.bbox);
    if (!finite(d.score))
      throw metricsError(`Expected a finite number for ${where}.score but received ${describeValue(d.score)}`);
    // a missing or non-numeric category is malformed (pycocotools fails on it), not a category the gt lacks
    if (!finite(d.category_id))
      throw metricsError(
        `Expected a finite number for ${where}.category_id but received ${describeValue(d.category_id)}`,
      );
    if (!imageIds.has(d.image_id)) badImages.add(d.image_id);
  }
  if (badImages.size > 0) throw unknownImagesError(name, badImages);
}

const cap = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

/** The error for detections (`name`) of images the ground truth does not have. */
function unknownImagesError(name: string, badImages: ReadonlySet<unknown>): ShiftbenchError {
  return metricsError(
    `${cap(name)} name image ids that are not in the ground truth: ${listFew(badImages)}. ` +
      `Every image_id must be one of the ground truth's images.`,
  );
}

// ------------------------------------------------------------------ grouping into (image, category) cells

/** Image and category indices of one ground truth, in pycocotools order. */
export interface GroupedInput {
  /** Image ids ascending (pycocotools sorts params.imgIds). */
  imageIds: number[];
  /** Category ids ascending. */
  categoryIds: number[];
  imageIndex: Map<number, number>;
  categoryIndex: Map<number, number>;
}

export function indexGroundTruth(gt: CocoGroundTruth): GroupedInput {
  const imageIds = [...new Set(gt.images.map((im) => im.id))].sort((a, b) => a - b);
  const categoryIds = [...new Set(gt.categories.map((c) => c.id))].sort((a, b) => a - b);
  return {
    imageIds,
    categoryIds,
    imageIndex: new Map(imageIds.map((id, i) => [id, i])),
    categoryIndex: new Map(categoryIds.map((id, i) => [id, i])),
  };
}

/**
 * Ground truth grouped by cell, in flat arrays. Cell keys are imageIndex·K + categoryIndex,
 * ascending (image-major); cell c holds entries [start[c], start[c+1]) in annotation order.
 */
export interface FlatGt {
  keys: Float64Array;
  start: Int32Array;
  boxes: Float64Array; // 4 per entry, xywh
  areas: Float64Array;
  crowd: Uint8Array;
  ignore: Uint8Array; // the ignore flag (crowd included)
  ids: Float64Array;
}

/** Detections grouped by cell like FlatGt, each cell by descending score (stable) and cut to maxDet. */
export interface FlatDt {
  keys: Float64Array;
  start: Int32Array;
  boxes: Float64Array; // 4 per entry
  scores: Float64Array;
  areas: Float64Array; // w·h as pycocotools loadRes
}

/** Largest key space that is grouped with a counting sort (else a comparison sort). */
const COUNTING_SORT_MAX_KEYS = 1 << 23;

/**
 * Permutation of items 0..n−1 sorted by (cell key ascending, then — when `score` is
 * given — score descending, then item index ascending): a stable grouping.
 * Keys of skipped items are −1 and they are left out.
 */
function groupOrder(cellKey: Float64Array, numKeys: number, score: Float64Array | null): Int32Array {
  const n = cellKey.length;
  let kept = 0;
  for (let j = 0; j < n; j++) if (cellKey[j] >= 0) kept++;
  const perm = new Int32Array(kept);
  if (numKeys <= COUNTING_SORT_MAX_KEYS) {
    const count = new Int32Array(numKeys + 1);
    for (let j = 0; j < n; j++) if (cellKey[j] >= 0) count[cellKey[j] + 1]++;
    for (let k = 0; k < numKeys; k++) count[k + 1] += count[k];
    for (let j = 0; j < n; j++) if (cellKey[j] >= 0) perm[count[cellKey[j]]++] = j;
  } else {
    let p = 0;
    for (let j = 0; j < n; j++) if (cellKey[j] >= 0) perm[p++] = j;
    perm.sort((a, b) => cellKey[a] - cellKey[b] || a - b);
  }
  if (!score) return perm;
  // within each cell: score descending, ties by item index (the counting sort kept index order)
  const byScore = (a: number, b: number): number => score[b] - score[a] || a - b;
  let lo = 0;
  while (lo < kept) {
    const key = cellKey[perm[lo]];
    let hi = lo + 1;
    while (hi < kept && cellKey[perm[hi]] === key) hi++;
    if (hi - lo <= 24) {
      for (let x = lo + 1; x < hi; x++) {
        const v = perm[x];
        const sv = score[v];
        let y = x - 1;
        while (y >= lo && (score[perm[y]] < sv || (score[perm[y]] === sv && perm[y] > v))) {
          perm[y + 1] = perm[y];
          y--;
        }
        perm[y + 1] = v;
      }
    } else perm.subarray(lo, hi).sort(byScore);
    lo = hi;
  }
  return perm;
}

/**
 * Cell keys and starts of runs of equal keys in `perm` order, each run cut to `maxPerCell`. Returns the kept item order
 * too.
 */
function runs(
  perm: Int32Array,
  cellKey: Float64Array,
  maxPerCell: number,
): { keys: Float64Array; start: Int32Array; items: Int32Array } {
  const n = perm.length;
  const keys: number[] = [];
  const start: number[] = [];
  const items = new Int32Array(n);
  let out = 0;
  let lo = 0;
  while (lo < n) {
    const key = cellKey[perm[lo]];
    let hi = lo + 1;
    while (hi < n && cellKey[perm[hi]] === key) hi++;
    keys.push(key);
    start.push(out);
    const end = Math.min(hi, lo + maxPerCell);
    for (let x = lo; x < end; x++) items[out++] = perm[x];
    lo = hi;
  }
  start.push(out);
  return { keys: Float64Array.from(keys), start: Int32Array.from(start), items: items.subarray(0, out) };
}

/**
 * Groups a ground truth's annotations into cells. Annotations of unknown images/categories are skipped (as
 * pycocotools).
 */
export function flattenGroundTruth(gt: CocoGroundTruth, idx: GroupedInput): FlatGt {
  const K = idx.categoryIds.length;
  const anns = gt.annotations;
  const cellKey = new Float64Array(anns.length);
  for (let j = 0; j < anns.length; j++) {
    const i = idx.imageIndex.get(anns[j].image_id);
    const c = idx.categoryIndex.get(anns[j].category_id);
    cellKey[j] = i === undefined || c === undefined ? -1 : i * K + c;
  }
  const { keys, start, items } = runs(groupOrder(cellKey, idx.imageIds.length * K, null), cellKey, Infinity);
  const G = items.length;
  const out: FlatGt = {
    keys,
    start,
    boxes: new Float64Array(4 * G),
    areas: new Float64Array(G),
    crowd: new Uint8Array(G),
    ignore: new Uint8Array(G),
    ids: new Float64Array(G),
  };
  for (let g = 0; g < G; g++) {
    const a = anns[items[g]];
    const b = a.bbox;
    out.boxes[4 * g] = b[0];
    out.boxes[4 * g + 1] = b[1];
    out.boxes[4 * g + 2] = b[2];
    out.boxes[4 * g + 3] = b[3];
    out.areas[g] = a.area;
    out.crowd[g] = a.iscrowd ? 1 : 0;
    out.ignore[g] = a.iscrowd ? 1 : 0;
    out.ids[g] = a.id;
  }
  return out;
}

/**
 * Groups detections into cells, each sorted by descending score (stable) and cut to maxDet. Detections of unknown
 * images/categories are skipped.
 */
export function flattenDetections(dets: CocoResult[], idx: GroupedInput, maxDet = 100): FlatDt {
  const K = idx.categoryIds.length;
  const n = dets.length;
  const cellKey = new Float64Array(n);
  const score = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    const d = dets[j];
    const i = idx.imageIndex.get(d.image_id);
    const c = idx.categoryIndex.get(d.category_id);
    cellKey[j] = i === undefined || c === undefined ? -1 : i * K + c;
    score[j] = d.score;
  }
  const { keys, start, items } = runs(groupOrder(cellKey, idx.imageIds.length * K, score), cellKey, maxDet);
  const D = items.length;
  const out = emptyFlatDt(keys, start, D);
  for (let k = 0; k < D; k++) {
    const d = dets[items[k]];
    const b = d.bbox;
    out.boxes[4 * k] = b[0];
    out.boxes[4 * k + 1] = b[1];
    out.boxes[4 * k + 2] = b[2];
    out.boxes[4 * k + 3] = b[3];
    out.scores[k] = d.score;
    out.areas[k] = b[2] * b[3];
  }
  return out;
}

/**
 * Detections held in columns instead of objects (the evaluator's DetectionStore): image `imageIds[r]`'s detections are
 * entries [starts[r], ends[r]) of `categoryIds`, `scores` and `boxes` (4 per entry, xywh), in the order the detector
 * gave them. flattenDetectionColumns groups them exactly as flattenDetections groups the same detections as objects.
 */
export interface DetectionColumns {
  imageIds: ArrayLike<number>;
  starts: ArrayLike<number>;
  ends: ArrayLike<number>;
  categoryIds: Int32Array;
  scores: Float64Array;
  boxes: Float64Array;
}

/**
 * flattenDetections of detections held in columns: the same FlatDt as flattenDetections of the same detections as
 * objects (each image's in the same order), with no object made. Checks what validateDetections checks.
 * @throws ShiftbenchError ERR_METRICS_INPUT naming `name`, the image and the detection, for an image id that is not in
 *   the ground truth or a score or box value that is not a finite number.
 */
export function flattenDetectionColumns(
  cols: DetectionColumns,
  idx: GroupedInput,
  maxDet = 100,
  name = 'detections',
): FlatDt {
  const K = idx.categoryIds.length;
  const badImages = new Set<number>();
  let n = 0;
  for (let r = 0; r < cols.imageIds.length; r++) {
    if (!idx.imageIndex.has(cols.imageIds[r])) badImages.add(cols.imageIds[r]);
    n += cols.ends[r] - cols.starts[r];
  }
  if (badImages.size > 0) throw unknownImagesError(name, badImages);
  const cellKey = new Float64Array(n);
  const score = new Float64Array(n);
  const entry = new Int32Array(n);
  const { boxes, scores, categoryIds } = cols;
  let j = 0;
  for (let r = 0; r < cols.imageIds.length; r++) {
    const i = idx.imageIndex.get(cols.imageIds[r])!;
    for (let e = cols.starts[r]; e < cols.ends[r]; e++, j++) {
      const sc = scores[e];
      if (
        !Number.isFinite(sc) ||
        !Number.isFinite(boxes[4 * e]) ||
        !Number.isFinite(boxes[4 * e + 1]) ||
        !Number.isFinite(boxes[4 * e + 2]) ||
        !Number.isFinite(boxes[4 * e + 3])
      ) {
        throw metricsError(
          `Expected a finite score and [x, y, width, height] of finite numbers for detection ${e - cols.starts[r]} ` +
            `of image ${cols.imageIds[r]} in ${name} but received score ${sc}, bbox ` +
            `[${Array.from(boxes.subarray(4 * e, 4 * e + 4)).join(', ')}]`,
        );
      }
      const c = idx.categoryIndex.get(categoryIds[e]);
      cellKey[j] = c === undefined ? -1 : i * K + c;
      score[j] = sc;
      entry[j] = e;
    }
  }
  const { keys, start, items } = runs(groupOrder(cellKey, idx.imageIds.length * K, score), cellKey, maxDet);
  const out = emptyFlatDt(keys, start, items.length);
  for (let k = 0; k < items.length; k++) {
    const e = entry[items[k]];
    const w = boxes[4 * e + 2];
    const h = boxes[4 * e + 3];
    out.boxes[4 * k] = boxes[4 * e];
    out.boxes[4 * k + 1] = boxes[4 * e + 1];
    out.boxes[4 * k + 2] = w;
    out.boxes[4 * k + 3] = h;
    out.scores[k] = scores[e];
    out.areas[k] = w * h;
  }
  return out;
}

function emptyFlatDt(keys: Float64Array, start: Int32Array, D: number): FlatDt {
  return { keys, start, boxes: new Float64Array(4 * D), scores: new Float64Array(D), areas: new Float64Array(D) };
}

// ------------------------------------------------------------------ matching every cell

/** Every cell (union of gt and dt cells) matched pycocotools-style for each area range. */
export interface MatchedCells {
  /** Union cell keys, ascending. */
  keys: Float64Array;
  /** Detections of cell c: FlatDt entries [dtStart[c], dtEnd[c]). */
  dtStart: Int32Array;
  dtEnd: Int32Array;
  /** Non-ignored gt per cell and area range: npig[c·A + a]. */
  npig: Int32Array;
  /** Status per detection, area range and IoU threshold: status[d·A·T + a·T + t] (ST_TP / ST_FP / ST_IGNORED). */
  status: Uint8Array;
}

/** Reusable buffers of the matcher. */
class MatchScratch {
  ious = new Float64Array(256);
  order = new Int32Array(64);
  gtIg = new Uint8Array(64);
  matched = new Uint8Array(64);
  ensure(D: number, G: number): void {
    if (this.ious.length < D * G) this.ious = new Float64Array(Math.max(D * G, 2 * this.ious.length));
    if (this.order.length < G) {
      const n = Math.max(G, 2 * this.order.length);
      this.order = new Int32Array(n);
      this.gtIg = new Uint8Array(n);
      this.matched = new Uint8Array(n);
    }
  }
}

/**
 * Matches every cell for every area range. Per cell: pycocotools bbox IoU (crowd gt:
 * intersection / detection area), then evaluateImg per area range — gt with `_ignore`
 * last (stable), detections in score order keep the best IoU ≥ min(t, 1 − 1e−10) (a
 * later gt wins a tie), stop at the first ignored gt once a regular one is matched,
 * crowd gt can be matched many times, unmatched detections outside the area range are
 * ignored, and a match to gt id 0 counts as unmatched (pycocotools quirk).
 */
export function matchAllCells(
  gt: FlatGt,
  dt: FlatDt,
  areaRanges: readonly (readonly [number, number])[],
): MatchedCells {
  const A = areaRanges.length;
  const AT = A * NUM_IOU;
  // union of keys
  const gk = gt.keys,
    dk = dt.keys;
  const union: number[] = [];
  {
    let x = 0,
      y = 0;
    while (x < gk.length || y < dk.length) {
      const a = x < gk.length ? gk[x] : Infinity;
      const b = y < dk.length ? dk[y] : Infinity;
      if (a === b) {
        union.push(a);
        x++;
        y++;
      } else if (a < b) {
        union.push(a);
        x++;
      } else {
        union.push(b);
        y++;
      }
    }
  }
  const C = union.length;
  const keys = Float64Array.from(union);
  const dtStart = new Int32Array(C);
  const dtEnd = new Int32Array(C);
  const npigOut = new Int32Array(C * A);
  const status = new Uint8Array(dt.scores.length * AT);
  const sc = new MatchScratch();
  const thr = new Float64Array(NUM_IOU);
  for (let t = 0; t < NUM_IOU; t++) thr[t] = Math.min(IOU_THRESHOLDS[t], IOU_CAP);
  let x = 0,
    y = 0;
  for (let c = 0; c < C; c++) {
    const key = keys[c];
    let g0 = 0,
      g1 = 0,
      d0 = 0,
      d1 = 0;
    if (x < gk.length && gk[x] === key) {
      g0 = gt.start[x];
      g1 = gt.start[x + 1];
      x++;
    }
    if (y < dk.length && dk[y] === key) {
      d0 = dt.start[y];
      d1 = dt.start[y + 1];
      y++;
    }
    dtStart[c] = d0;
    dtEnd[c] = d1;
    const G = g1 - g0;
    const D = d1 - d0;
    if (G === 0) {
      // no gt: every detection is an FP unless outside the area range
      for (let a = 0; a < A; a++) {
        const lo = areaRanges[a][0],
          hi = areaRanges[a][1];
        for (let d = d0; d < d1; d++) {
          const ar = dt.areas[d];
          const st = ar < lo || ar > hi ? ST_IGNORED : ST_FP;
          const base = d * AT + a * NUM_IOU;
          for (let t = 0; t < NUM_IOU; t++) status[base + t] = st;
        }
      }
      continue;
    }
    sc.ensure(D, G);
    const ious = sc.ious;
    // IoU matrix, detection-major (D × G)
    const db = dt.boxes,
      gb = gt.boxes;
    for (let g = 0; g < G; g++) {
      const gg = g0 + g;
      const gx = gb[4 * gg],
        gy = gb[4 * gg + 1],
        gw = gb[4 * gg + 2],
        gh = gb[4 * gg + 3];
      const ga = gw * gh;
      const crowd = gt.crowd[gg] === 1;
      for (let d = 0; d < D; d++) {
        const dd = d0 + d;
        const dx = db[4 * dd],
          dy = db[4 * dd + 1],
          dw = db[4 * dd + 2],
          dh = db[4 * dd + 3];
        let v = 0;
        const w = Math.min(dw + dx, gw + gx) - Math.max(dx, gx);
        if (w > 0) {
          const h = Math.min(dh + dy, gh + gy) - Math.max(dy, gy);
          if (h > 0) {
            const da = dw * dh;
            const i = w * h;
            v = i / (crowd ? da : da + ga - i);
          }
        }
        ious[d * G + g] = v;
      }
    }
    const order = sc.order,
      gtIg = sc.gtIg,
      matched = sc.matched;
    for (let a = 0; a < A; a++) {
      const areaLo = areaRanges[a][0],
        areaHi = areaRanges[a][1];
      // gt order: non-ignored first, stable (numpy mergesort on _ignore)
      let p = 0;
      for (let g = 0; g < G; g++) {
        const ar = gt.areas[g0 + g];
        if (!(gt.ignore[g0 + g] || ar < areaLo || ar > areaHi)) {
          gtIg[p] = 0;
          order[p++] = g;
        }
      }
      npigOut[c * A + a] = p;
      for (let g = 0; g < G; g++) {
        const ar = gt.areas[g0 + g];
        if (gt.ignore[g0 + g] || ar < areaLo || ar > areaHi) {
          gtIg[p] = 1;
          order[p++] = g;
        }
      }
      for (let t = 0; t < NUM_IOU; t++) {
        matched.fill(0, 0, G);
        const th = thr[t];
        for (let d = 0; d < D; d++) {
          let iou = th;
          let m = -1;
          const row = d * G;
          for (let gi = 0; gi < G; gi++) {
            const g = order[gi];
            if (matched[gi] && !gt.crowd[g0 + g]) continue;
            if (m > -1 && gtIg[m] === 0 && gtIg[gi] === 1) break;
            const v = ious[row + g];
            if (v < iou) continue;
            iou = v;
            m = gi;
          }
          let ignored = false;
          let unmatched = true;
          if (m > -1) {
            ignored = gtIg[m] === 1;
            unmatched = gt.ids[g0 + order[m]] === 0; // pycocotools tests the stored gt id against 0
            matched[m] = 1;
          }
          if (unmatched && !ignored) {
            const ar = dt.areas[d0 + d];
            if (ar < areaLo || ar > areaHi) ignored = true;
          }
          status[(d0 + d) * AT + a * NUM_IOU + t] = ignored ? ST_IGNORED : unmatched ? ST_FP : ST_TP;
        }
      }
    }
  }
  return { keys, dtStart, dtEnd, npig: npigOut, status };
}

// ------------------------------------------------------------------ precision / recall

const recallIndexCache = new Map<number, Int32Array>();

/**
 * For a number of non-ignored gt `npig`, the smallest TP count k (≥ 1) whose recall
 * k / npig reaches each of the 101 recall thresholds (numpy searchsorted 'left' on the
 * recall curve lands on that TP). Cached per npig.
 */
export function recallTpIndex(npig: number): Int32Array {
  let kr = recallIndexCache.get(npig);
  if (kr) return kr;
  kr = new Int32Array(NUM_RECALL);
  for (let r = 0; r < NUM_RECALL; r++) {
    const thr = RECALL_THRESHOLDS[r];
    let k = Math.max(1, Math.ceil(thr * npig));
    while (k > 1 && (k - 1) / npig >= thr) k--;
    while (k / npig < thr) k++;
    kr[r] = k;
  }
  if (recallIndexCache.size < 100_000) recallIndexCache.set(npig, kr);
  return kr;
}

/**
 * Sum over the 101 recall thresholds of the interpolated precision, given the
 * precision at each TP of a score-ordered list (`prTp[k-1]` at the k-th TP, k = 1..K):
 * q_r = max of prTp over TPs k ≥ kr[r], 0 when kr[r] > K. Summed from r = 100 down.
 */
export function precisionSumFromTp(prTp: Float64Array, K: number, kr: Int32Array): number {
  let r = NUM_RECALL - 1;
  while (r >= 0 && kr[r] > K) r--;
  let m = 0;
  let sum = 0;
  for (let k = K; k >= 1 && r >= 0; k--) {
    const v = prTp[k - 1];
    if (v > m) m = v;
    while (r >= 0 && kr[r] === k) {
      sum += m;
      r--;
    }
  }
  return sum;
}

// ------------------------------------------------------------------ evaluateCoco

/**
 * COCO bbox evaluation exactly as pycocotools COCOeval (evaluate + accumulate +
 * summarize): 12 summary stats and AP@[.5:.95] per category (area all, maxDets 100;
 * −1 for categories without non-ignored gt). No detections at all gives AP 0 for
 * categories with gt. Pure: no I/O.
 * Detections of categories the ground truth does not have are left out (pycocotools).
 * @throws ShiftbenchError ERR_METRICS_INPUT for malformed ground truth, non-finite
 *   numbers, or detections naming image ids the ground truth does not have.
 */
export function evaluateCoco(gt: CocoGroundTruth, dets: CocoResult[]): CocoEvalResult {
  validateGroundTruth(gt);
  const idx = indexGroundTruth(gt);
  validateDetections(dets, new Set(idx.imageIds));
  const K = idx.categoryIds.length;
  const A = AREA_RANGES.length;
  const AT = A * NUM_IOU;
  const flatGt = flattenGroundTruth(gt, idx);
  const flatDt = flattenDetections(dets, idx, MAX_DETS[MAX_DETS.length - 1]);
  // evaluate: status per (detection, area, t) and npig per (cell, area)
  const mc = matchAllCells(flatGt, flatDt, AREA_RANGES);
  const C = mc.keys.length;
  const cellCat = new Int32Array(C);
  for (let c = 0; c < C; c++) cellCat[c] = mc.keys[c] - Math.floor(mc.keys[c] / K) * K;

  // accumulate
  const M = MAX_DETS.length;
  // Only what summarize reads is computed: precision at maxDets 100, recall at every maxDets for area all.
  const precAll = new Float64Array(K * A * M).fill(-1);
  const precT = new Float64Array(K * NUM_IOU).fill(-1); // area all, maxDet 100
  const recall = new Float64Array(K * A * M).fill(-1);
  // cells of each category in image order (keys are image-major), and their detections
  const catCells = new Int32Array(K + 1);
  const catDets = new Int32Array(K + 1);
  for (let c = 0; c < C; c++) {
    catCells[cellCat[c] + 1]++;
    catDets[cellCat[c] + 1] += mc.dtEnd[c] - mc.dtStart[c];
  }
  for (let k = 0; k < K; k++) {
    catCells[k + 1] += catCells[k];
    catDets[k + 1] += catDets[k];
  }
  const cellsByCat = new Int32Array(C);
  const detsByCat = new Int32Array(catDets[K]);
  {
    const cf = catCells.slice(0, K);
    const df = catDets.slice(0, K);
    for (let c = 0; c < C; c++) {
      const k = cellCat[c];
      cellsByCat[cf[k]++] = c;
      for (let d = mc.dtStart[c]; d < mc.dtEnd[c]; d++) detsByCat[df[k]++] = d;
    }
  }
  const scores = flatDt.scores;
  // (score desc, concatenation index) is a total order, so any sort gives the stable mergesort's order;
  // detection indices grow along the concatenation (image order, then rank), so they are the tie-break
  const byScore = (x: number, y: number): number => scores[y] - scores[x] || x - y;
  let prBuf = new Float64Array(1024);
  let sorted = new Uint8Array(1024);
  for (let k = 0; k < K; k++) {
    const c0 = catCells[k],
      c1 = catCells[k + 1];
    if (c0 === c1) continue;
    const order = detsByCat.subarray(catDets[k], catDets[k + 1]);
    order.sort(byScore);
    const total = order.length;
    if (prBuf.length < total) prBuf = new Float64Array(total);
    if (sorted.length < AT * total) sorted = new Uint8Array(AT * total);
    // statuses gathered once in sorted order: sorted[(a·T + t)·total + j]
    const status = mc.status;
    for (let j = 0; j < total; j++) {
      const base = order[j] * AT;
      for (let at = 0; at < AT; at++) sorted[at * total + j] = status[base + at];
    }
    for (let a = 0; a < A; a++) {
      let npig = 0;
      for (let x = c0; x < c1; x++) npig += mc.npig[cellsByCat[x] * A + a];
      if (npig === 0) continue;
      const kr = recallTpIndex(npig);
      // maxDets 100 (every kept detection): precision and recall
      let pSum = 0;
      let rSum = 0;
      for (let t = 0; t < NUM_IOU; t++) {
        const base = (a * NUM_IOU + t) * total;
        let tp = 0;
        let fp = 0;
        for (let j = 0; j < total; j++) {
          const st = sorted[base + j];
          if (st === ST_TP) {
            tp++;
            prBuf[tp - 1] = tp / (fp + tp + EPS);
          } else if (st === ST_FP) fp++;
        }
        const ps = precisionSumFromTp(prBuf, tp, kr);
        pSum += ps;
        rSum += tp / npig;
        if (a === 0) precT[k * NUM_IOU + t] = ps;
      }
      precAll[(k * A + a) * M + M - 1] = pSum;
      recall[(k * A + a) * M + M - 1] = rSum;
      // smaller maxDets: the summary uses only their recall (area all), which needs no order
      if (a === 0) {
        for (let m = 0; m < M - 1; m++) {
          const maxDet = MAX_DETS[m];
          let r = 0;
          for (let t = 0; t < NUM_IOU; t++) {
            let tp = 0;
            for (let x = c0; x < c1; x++) {
              const cell = cellsByCat[x];
              const d0 = mc.dtStart[cell];
              const lim = Math.min(mc.dtEnd[cell], d0 + maxDet);
              for (let d = d0; d < lim; d++) if (status[d * AT + t] === ST_TP) tp++;
            }
            r += tp / npig;
          }
          recall[(k * A + a) * M + m] = r;
        }
      }
    }
  }

  // summarize
  const apMean = (a: number, m: number): number => {
    let s = 0;
    let n = 0;
    for (let c = 0; c < K; c++) {
      const v = precAll[(c * A + a) * M + m];
      if (v > -1) {
        s += v;
        n += NUM_IOU * NUM_RECALL;
      }
    }
    return n === 0 ? -1 : s / n;
  };
  const apAtT = (t: number): number => {
    let s = 0;
    let n = 0;
    for (let c = 0; c < K; c++) {
      const v = precT[c * NUM_IOU + t];
      if (v > -1) {
        s += v;
        n += NUM_RECALL;
      }
    }
    return n === 0 ? -1 : s / n;
  };
  const arMean = (a: number, m: number): number => {
    let s = 0;
    let n = 0;
    for (let c = 0; c < K; c++) {
      const v = recall[(c * A + a) * M + m];
      if (v > -1) {
        s += v;
        n += NUM_IOU;
      }
    }
    return n === 0 ? -1 : s / n;
  };
  const t50 = IOU_THRESHOLDS.indexOf(0.5);
  const t75 = IOU_THRESHOLDS.indexOf(0.75);
  const last = M - 1;
  const stats = [
    apMean(0, last),
    apAtT(t50),
    apAtT(t75),
    apMean(1, last),
    apMean(2, last),
    apMean(3, last),
    arMean(0, 0),
    arMean(0, 1),
    arMean(0, last),
    arMean(1, last),
    arMean(2, last),
    arMean(3, last),
  ];
  const perCategoryAP: Record<string, number> = {};
  for (let c = 0; c < K; c++) {
    const v = precAll[(c * A + 0) * M + last];
    perCategoryAP[String(idx.categoryIds[c])] = v > -1 ? v / (NUM_IOU * NUM_RECALL) : -1;
  }
  return { stats, perCategoryAP };
}
