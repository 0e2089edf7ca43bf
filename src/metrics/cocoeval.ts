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
 * One deliberate difference: pycocotools overwrites an annotation's `ignore` flag
 * with its `iscrowd` flag (`_prepare`), so `ignore: 1` has no effect there. Here a
 * ground-truth `ignore: 1` is honoured (ignored like a crowd region without the
 * crowd IoU), as protocol §1 needs for crop mode; pass `honorIgnoreFlag: false` for
 * the literal pycocotools behaviour. Without `ignore: 1` flags both are the same.
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

export interface EvaluateCocoOptions {
  /** Honour `ignore: 1` on ground truth (default true; pycocotools itself drops the flag, see module doc). */
  honorIgnoreFlag?: boolean;
}

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
  const shown = all.slice(0, max).map((v) => describeValue(v)).join(', ');
  return all.length > max ? `${shown} (and ${all.length - max} more)` : shown;
}

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isBox = (v: unknown): boolean => Array.isArray(v) && v.length === 4 && v.every(finite);

/** Checks the shape of a ground truth; throws ERR_METRICS_INPUT naming the first bad field. */
export function validateGroundTruth(gt: CocoGroundTruth, name = 'ground truth'): void {
  if (typeof gt !== 'object' || gt === null || !Array.isArray(gt.images) || !Array.isArray(gt.annotations) || !Array.isArray(gt.categories)) {
    throw metricsError(`Expected an object with "images", "annotations" and "categories" arrays for ${name} but received ${describeValue(gt)}`);
  }
  gt.images.forEach((im, i) => {
    if (typeof im !== 'object' || im === null || !finite(im.id)) {
      throw metricsError(`Expected a finite number for ${name}.images[${i}].id but received ${describeValue(im?.id)}`);
    }
  });
  gt.categories.forEach((c, i) => {
    if (typeof c !== 'object' || c === null || !finite(c.id)) {
      throw metricsError(`Expected a finite number for ${name}.categories[${i}].id but received ${describeValue(c?.id)}`);
    }
  });
  gt.annotations.forEach((a, i) => {
    const where = `${name}.annotations[${i}]`;
    if (typeof a !== 'object' || a === null) throw metricsError(`Expected an object for ${where} but received ${describeValue(a)}`);
    if (!finite(a.id)) throw metricsError(`Expected a finite number for ${where}.id but received ${describeValue(a.id)}`);
    if (!finite(a.image_id)) throw metricsError(`Expected a finite number for ${where}.image_id but received ${describeValue(a.image_id)}`);
    if (!finite(a.category_id)) throw metricsError(`Expected a finite number for ${where}.category_id but received ${describeValue(a.category_id)}`);
    if (!isBox(a.bbox)) throw metricsError(`Expected [x, y, width, height] of finite numbers for ${where}.bbox but received ${describeValue(a.bbox)}`);
    if (!finite(a.area)) throw metricsError(`Expected a finite number for ${where}.area but received ${describeValue(a.area)}`);
  });
}

/**
 * Checks detections against a ground truth: finite boxes and scores, known image and
 * category ids. Throws ERR_METRICS_INPUT listing the first few offenders.
 */
export function validateDetections(dets: CocoResult[], imageIds: ReadonlySet<number>, categoryIds: ReadonlySet<number>, name = 'detections'): void {
  if (!Array.isArray(dets)) throw metricsError(`Expected an array of COCO results for ${name} but received ${describeValue(dets)}`);
  const badImages = new Set<unknown>();
  const badCats = new Set<unknown>();
  for (let i = 0; i < dets.length; i++) {
    const d = dets[i];
    const where = `${name}[${i}]`;
    if (typeof d !== 'object' || d === null) throw metricsError(`Expected an object for ${where} but received ${describeValue(d)}`);
    if (!isBox(d.bbox)) throw metricsError(`Expected [x, y, width, height] of finite numbers for ${where}.bbox but received ${describeValue(d.bbox)}`);
    if (!finite(d.score)) throw metricsError(`Expected a finite number for ${where}.score but received ${describeValue(d.score)}`);
    if (!imageIds.has(d.image_id)) badImages.add(d.image_id);
    if (!categoryIds.has(d.category_id)) badCats.add(d.category_id);
  }
  if (badImages.size > 0) {
    throw metricsError(`${cap(name)} name image ids that are not in the ground truth: ${listFew(badImages)}. Every image_id must be one of the ground truth's images.`);
  }
  if (badCats.size > 0) {
    throw metricsError(`${cap(name)} name category ids that are not in the ground truth: ${listFew(badCats)}. Every category_id must be one of the ground truth's categories.`);
  }
}

const cap = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

// ------------------------------------------------------------------ per (image, category) cell

/** Ground truth of one (image, category) cell, in annotation order. */
export interface GtCell {
  boxes: Float64Array; // 4·G, xywh
  areas: Float64Array;
  crowd: Uint8Array;
  ignore: Uint8Array; // the ignore flag (crowd included)
  ids: Float64Array;
}

/** Detections of one cell, already sorted by descending score (stable) and cut to maxDets. */
export interface DtCell {
  boxes: Float64Array; // 4·D
  scores: Float64Array;
  areas: Float64Array; // w·h as pycocotools loadRes
}

/** pycocotools bbox IoU matrix (D×G, detection-major); crowd gt: intersection / detection area. */
export function bboxIou(dt: DtCell, gt: GtCell): Float64Array {
  const D = dt.scores.length;
  const G = gt.areas.length;
  const out = new Float64Array(D * G);
  const db = dt.boxes, gb = gt.boxes;
  for (let g = 0; g < G; g++) {
    const gx = gb[4 * g], gy = gb[4 * g + 1], gw = gb[4 * g + 2], gh = gb[4 * g + 3];
    const ga = gw * gh;
    const crowd = gt.crowd[g] === 1;
    for (let d = 0; d < D; d++) {
      const dx = db[4 * d], dy = db[4 * d + 1], dw = db[4 * d + 2], dh = db[4 * d + 3];
      const w = Math.min(dw + dx, gw + gx) - Math.max(dx, gx);
      if (w <= 0) continue;
      const h = Math.min(dh + dy, gh + gy) - Math.max(dy, gy);
      if (h <= 0) continue;
      const da = dw * dh;
      const i = w * h;
      const u = crowd ? da : da + ga - i;
      out[d * G + g] = i / u;
    }
  }
  return out;
}

/**
 * pycocotools evaluateImg for one cell and one area range: writes each detection's
 * status per IoU threshold into `status[t·D + d]` (ST_TP / ST_FP / ST_IGNORED) and
 * returns the number of non-ignored gt (npig).
 */
export function matchCell(dt: DtCell, gt: GtCell, ious: Float64Array, areaLo: number, areaHi: number, status: Uint8Array, statusOffset = 0): number {
  const D = dt.scores.length;
  const G = gt.areas.length;
  // gt order: non-ignored first, stable (numpy mergesort on _ignore)
  const order = new Int32Array(G);
  const gtIg = new Uint8Array(G); // by sorted position
  let p = 0;
  let npig = 0;
  for (let g = 0; g < G; g++) {
    const a = gt.areas[g];
    if (!(gt.ignore[g] || a < areaLo || a > areaHi)) order[p++] = g;
  }
  npig = p;
  for (let g = 0; g < G; g++) {
    const a = gt.areas[g];
    if (gt.ignore[g] || a < areaLo || a > areaHi) {
      gtIg[p] = 1;
      order[p++] = g;
    }
  }
  const matched = new Uint8Array(G);
  for (let t = 0; t < NUM_IOU; t++) {
    matched.fill(0);
    const thr = Math.min(IOU_THRESHOLDS[t], IOU_CAP);
    const base = statusOffset + t * D;
    for (let d = 0; d < D; d++) {
      let iou = thr;
      let m = -1;
      const row = d * G;
      for (let gi = 0; gi < G; gi++) {
        const g = order[gi];
        if (matched[gi] && !gt.crowd[g]) continue;
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
        unmatched = gt.ids[order[m]] === 0; // pycocotools tests the stored gt id against 0
        matched[m] = 1;
      }
      if (unmatched && !ignored) {
        const a = dt.areas[d];
        if (a < areaLo || a > areaHi) ignored = true;
      }
      status[base + d] = ignored ? ST_IGNORED : unmatched ? ST_FP : ST_TP;
    }
  }
  return npig;
}

// ------------------------------------------------------------------ grouping

/** Ground truth and detections grouped by (image, category), in pycocotools order. */
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

/** Builds the gt cells of one ground truth: key = imageIndex·K + categoryIndex. Annotations of unknown images/categories are skipped (as pycocotools). */
export function buildGtCells(gt: CocoGroundTruth, idx: GroupedInput, honorIgnoreFlag = true): Map<number, GtCell> {
  const K = idx.categoryIds.length;
  const lists = new Map<number, CocoGroundTruth['annotations']>();
  for (const a of gt.annotations) {
    const i = idx.imageIndex.get(a.image_id);
    const c = idx.categoryIndex.get(a.category_id);
    if (i === undefined || c === undefined) continue;
    const key = i * K + c;
    let l = lists.get(key);
    if (!l) lists.set(key, (l = []));
    l.push(a);
  }
  const cells = new Map<number, GtCell>();
  for (const [key, anns] of lists) {
    const G = anns.length;
    const cell: GtCell = {
      boxes: new Float64Array(4 * G),
      areas: new Float64Array(G),
      crowd: new Uint8Array(G),
      ignore: new Uint8Array(G),
      ids: new Float64Array(G),
    };
    anns.forEach((a, g) => {
      cell.boxes.set(a.bbox, 4 * g);
      cell.areas[g] = a.area;
      cell.crowd[g] = a.iscrowd ? 1 : 0;
      cell.ignore[g] = a.iscrowd || (honorIgnoreFlag && a.ignore) ? 1 : 0;
      cell.ids[g] = a.id;
    });
    cells.set(key, cell);
  }
  return cells;
}

/** Groups detections into cells (key = imageIndex·K + categoryIndex), each sorted by descending score (stable) and cut to maxDet. */
export function buildDtCells(dets: CocoResult[], idx: GroupedInput, maxDet = 100): Map<number, DtCell> {
  const K = idx.categoryIds.length;
  const lists = new Map<number, number[]>();
  for (let n = 0; n < dets.length; n++) {
    const d = dets[n];
    const i = idx.imageIndex.get(d.image_id);
    const c = idx.categoryIndex.get(d.category_id);
    if (i === undefined || c === undefined) continue;
    const key = i * K + c;
    let l = lists.get(key);
    if (!l) lists.set(key, (l = []));
    l.push(n);
  }
  const cells = new Map<number, DtCell>();
  for (const [key, list] of lists) {
    // stable descending sort by score (Array.prototype.sort is stable)
    list.sort((a, b) => dets[b].score - dets[a].score);
    const D = Math.min(list.length, maxDet);
    const cell: DtCell = { boxes: new Float64Array(4 * D), scores: new Float64Array(D), areas: new Float64Array(D) };
    for (let k = 0; k < D; k++) {
      const d = dets[list[k]];
      cell.boxes.set(d.bbox, 4 * k);
      cell.scores[k] = d.score;
      cell.areas[k] = d.bbox[2] * d.bbox[3];
    }
    cells.set(key, cell);
  }
  return cells;
}

export const EMPTY_DT: DtCell = { boxes: new Float64Array(0), scores: new Float64Array(0), areas: new Float64Array(0) };
export const EMPTY_GT: GtCell = { boxes: new Float64Array(0), areas: new Float64Array(0), crowd: new Uint8Array(0), ignore: new Uint8Array(0), ids: new Float64Array(0) };

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
 * @throws ShiftbenchError ERR_METRICS_INPUT for malformed ground truth, non-finite
 *   numbers, or detections naming unknown image / category ids.
 */
export function evaluateCoco(gt: CocoGroundTruth, dets: CocoResult[], opts: EvaluateCocoOptions = {}): CocoEvalResult {
  validateGroundTruth(gt);
  const idx = indexGroundTruth(gt);
  validateDetections(dets, new Set(idx.imageIds), new Set(idx.categoryIds));
  const K = idx.categoryIds.length;
  const gtCells = buildGtCells(gt, idx, opts.honorIgnoreFlag ?? true);
  const dtCells = buildDtCells(dets, idx, MAX_DETS[MAX_DETS.length - 1]);
  const A = AREA_RANGES.length;

  // evaluate: per cell, status per (area, t, d) and npig per area
  interface Evaluated { img: number; dt: DtCell; status: Uint8Array; npig: Int32Array }
  const perCat: Evaluated[][] = Array.from({ length: K }, () => []);
  const keys = new Set<number>([...gtCells.keys(), ...dtCells.keys()]);
  const sortedKeys = [...keys].sort((a, b) => a - b); // image-major: image order within each category
  for (const key of sortedKeys) {
    const img = Math.floor(key / K);
    const c = key - img * K;
    const g = gtCells.get(key) ?? EMPTY_GT;
    const d = dtCells.get(key) ?? EMPTY_DT;
    const D = d.scores.length;
    const ious = bboxIou(d, g);
    const status = new Uint8Array(A * NUM_IOU * D);
    const npig = new Int32Array(A);
    for (let a = 0; a < A; a++) npig[a] = matchCell(d, g, ious, AREA_RANGES[a][0], AREA_RANGES[a][1], status, a * NUM_IOU * D);
    perCat[c].push({ img, dt: d, status, npig });
  }

  // accumulate
  const M = MAX_DETS.length;
  // precisionSum[c][a][m] summed over t (−1 = undefined), recall sums likewise; plus per-t for AP50/AP75.
  // Only what summarize reads is computed: precision at maxDets 100, recall at every maxDets for area all.
  const precAll = new Float64Array(K * A * M).fill(-1);
  const precT = new Float64Array(K * NUM_IOU).fill(-1); // area all, maxDet 100
  const recall = new Float64Array(K * A * M).fill(-1);
  const prTp = new Float64Array(1024);
  let prBuf = prTp;
  for (let c = 0; c < K; c++) {
    const E = perCat[c];
    if (E.length === 0) continue;
    // merged order: (score desc, image order, within-cell rank) == stable mergesort on the concatenation
    let total = 0;
    for (const e of E) total += e.dt.scores.length;
    const cellOf = new Int32Array(total);
    const rankOf = new Int32Array(total);
    const scoreOf = new Float64Array(total);
    let n = 0;
    E.forEach((e, ei) => {
      for (let k = 0; k < e.dt.scores.length; k++) {
        cellOf[n] = ei;
        rankOf[n] = k;
        scoreOf[n] = e.dt.scores[k];
        n++;
      }
    });
    // (score desc, concatenation index) is a total order, so any sort gives the stable mergesort's order
    const order = new Int32Array(total);
    for (let j = 0; j < total; j++) order[j] = j;
    order.sort((x, y) => scoreOf[y] - scoreOf[x] || x - y);
    if (prBuf.length < total) prBuf = new Float64Array(total);
    // statuses gathered once in sorted order: sorted[(a·T + t)·total + j]
    const sorted = new Uint8Array(A * NUM_IOU * total);
    for (let j = 0; j < total; j++) {
      const o = order[j];
      const e = E[cellOf[o]];
      const D = e.dt.scores.length;
      const rank = rankOf[o];
      for (let at = 0; at < A * NUM_IOU; at++) sorted[at * total + j] = e.status[at * D + rank];
    }
    for (let a = 0; a < A; a++) {
      let npig = 0;
      for (const e of E) npig += e.npig[a];
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
        if (a === 0) precT[c * NUM_IOU + t] = ps;
      }
      precAll[(c * A + a) * M + M - 1] = pSum;
      recall[(c * A + a) * M + M - 1] = rSum;
      // smaller maxDets: the summary uses only their recall (area all), which needs no order
      if (a === 0) {
        for (let m = 0; m < M - 1; m++) {
          const maxDet = MAX_DETS[m];
          let r = 0;
          for (let t = 0; t < NUM_IOU; t++) {
            let tp = 0;
            for (const e of E) {
              const D = e.dt.scores.length;
              const lim = Math.min(D, maxDet);
              const off = t * D;
              for (let k = 0; k < lim; k++) if (e.status[off + k] === ST_TP) tp++;
            }
            r += tp / npig;
          }
          recall[(c * A + a) * M + m] = r;
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
