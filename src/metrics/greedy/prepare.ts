/**
 * Preparation of a bounds case: every (image, shift, category) cell is matched once,
 * pycocotools-style (area "all", maxDets 100), and per category all detections of all
 * shifts form one static "universe" in pycocotools' accumulation order. The result is
 * flat typed arrays the engine and the workers share.
 */
import type { CocoGroundTruth, CocoResult, Shift } from '../../core/types.js';
import {
  AREA_RANGES,
  NUM_IOU,
  flattenDetectionColumns,
  flattenDetections,
  flattenGroundTruth,
  indexGroundTruth,
  matchAllCells,
  validateDetections,
  type DetectionColumns,
  type FlatDt,
  type GroupedInput,
} from '../cocoeval.js';
import { gtFor, validateBoundsCase, type BoundsCase } from './case.js';
import { ScoreOrderScratch, sortByScoreDesc } from './scoreOrder.js';

const T = NUM_IOU;

type TypedArrayOf<B> = { new (buffer: SharedArrayBuffer): B; BYTES_PER_ELEMENT: number };

/**
 * A zeroed typed array of `length` elements on a SharedArrayBuffer: worker threads given
 * a prepared case (workerData, postMessage) see this memory instead of a copy of it.
 */
function shared<B>(type: TypedArrayOf<B>, length: number): B {
  return new type(new SharedArrayBuffer(length * type.BYTES_PER_ELEMENT));
}

/**
 * Everything the search needs, in flat typed arrays. The arrays of prepareBounds are on
 * SharedArrayBuffers, so the worker threads of the searches and resamples share one copy;
 * nothing writes them after preparation.
 */
export interface PreparedBounds {
  numImages: number;
  numCats: number;
  numShifts: number;
  imageIds: number[];
  categoryIds: number[];
  /** Per detection (all shifts): score, image index, shift index, status at each IoU threshold (det·T + t). */
  detScore: Float64Array;
  detImg: Int32Array;
  detShift: Int32Array;
  detStatus: Uint8Array;
  /**
   * Cells: category, det range, npig. Cells of (image i, shift s) are cellIds [isStart[i·S+s], isStart[i·S+s+1]), by
   * category.
   */
  cellCat: Int32Array;
  cellStart: Int32Array;
  cellEnd: Int32Array;
  cellNpig: Int32Array;
  isStart: Int32Array;
  /** Per category: its universe (det ids in accumulation order), and each det's position in it. */
  universe: Int32Array[];
  uPos: Int32Array;
}

/**
 * Matches every (image, shift, category) cell once and builds the per-category universes.
 * The preparation is the same for every objective (GreedyOptions apply to the search).
 * @throws ShiftbenchError ERR_METRICS_INPUT on malformed input.
 */
export function prepareBounds(c: BoundsCase): PreparedBounds {
  validateBoundsCase(c, false);
  return prepareBoundsFromSource(c.gt, c.shifts, (s) => c.dets[s]);
}

/**
 * prepareBounds with detections fetched one shift at a time (`detsOfShift(s)`), as objects
 * or as columns (DetectionColumns: a caller holding a column store makes no objects at
 * all; the prepared case is the same). Validates each shift's detections as it fetches
 * them.
 * @throws ShiftbenchError ERR_METRICS_INPUT on malformed input.
 */
export function prepareBoundsFromSource(
  gtArg: CocoGroundTruth | CocoGroundTruth[],
  shifts: Shift[],
  detsOfShift: (shiftIndex: number) => CocoResult[] | DetectionColumns,
): PreparedBounds {
  const c = { gt: gtArg, shifts, dets: [] as CocoResult[][] };
  validateBoundsCase(c, false, true);
  const S = c.shifts.length;
  const idx: GroupedInput = indexGroundTruth(gtFor(c, 0));
  const N = idx.imageIds.length;
  const K = idx.categoryIds.length;
  const sharedGt = Array.isArray(c.gt) ? null : flattenGroundTruth(c.gt, idx);
  const imageIdSet = new Set(idx.imageIds);
  const areaAll = [AREA_RANGES[0]];

  // pass 1 per shift: every cell matched at area "all"; cells by key, detections flat
  interface ShiftCells {
    keys: Float64Array;
    starts: Int32Array;
    ends: Int32Array;
    npig: Int32Array;
  }
  const perShift: ShiftCells[] = [];
  const scoreParts: Float64Array[] = [];
  const statusParts: Uint8Array[] = [];
  let totalDets = 0;
  for (let s = 0; s < S; s++) {
    const flatGt = sharedGt ?? flattenGroundTruth(gtFor(c, s), idx);
    const flatDt = flattenShift(detsOfShift(s), idx, imageIdSet, `detections of shift ${s}`);
    const mc = matchAllCells(flatGt, flatDt, areaAll);
    // status layout with one area range is det·T + t, as detStatus; starts offset by the dets of earlier shifts
    const starts = mc.dtStart;
    const ends = mc.dtEnd;
    for (let j = 0; j < starts.length; j++) {
      starts[j] += totalDets;
      ends[j] += totalDets;
    }
    perShift.push({ keys: mc.keys, starts, ends, npig: mc.npig });
    scoreParts.push(flatDt.scores);
    statusParts.push(mc.status);
    totalDets += flatDt.scores.length;
  }
  const detScore = shared(Float64Array, totalDets);
  const detStatus = shared(Uint8Array, totalDets * T);
  const detImg = shared(Int32Array, totalDets);
  const detShift = shared(Int32Array, totalDets);
  {
    let off = 0;
    for (let s = 0; s < S; s++) {
      detScore.set(scoreParts[s], off);
      detStatus.set(statusParts[s], off * T);
      off += scoreParts[s].length;
    }
  }
  // pass 2: cells ordered by (image, shift, category)
  let numCells = 0;
  for (const sc of perShift) numCells += sc.keys.length;
  const cellCat = shared(Int32Array, numCells);
  const cellStart = shared(Int32Array, numCells);
  const cellEnd = shared(Int32Array, numCells);
  const cellNpig = shared(Int32Array, numCells);
  const isStart = shared(Int32Array, N * S + 1);
  const ptr = new Int32Array(S);
  const catCount = new Int32Array(K);
  let cid = 0;
  for (let i = 0; i < N; i++) {
    for (let s = 0; s < S; s++) {
      isStart[i * S + s] = cid;
      const sc = perShift[s];
      while (ptr[s] < sc.keys.length && Math.floor(sc.keys[ptr[s]] / K) === i) {
        const j = ptr[s]++;
        const cat = sc.keys[j] - i * K;
        cellCat[cid] = cat;
        cellStart[cid] = sc.starts[j];
        cellEnd[cid] = sc.ends[j];
        cellNpig[cid] = sc.npig[j];
        for (let d = sc.starts[j]; d < sc.ends[j]; d++) {
          detImg[d] = i;
          detShift[d] = s;
        }
        catCount[cat] += sc.ends[j] - sc.starts[j];
        cid++;
      }
    }
  }
  isStart[N * S] = cid;
  // universes: per category, dets sorted by (score desc, image, shift, rank in cell) — det ids within a cell are in
  // rank order
  const universe: Int32Array[] = Array.from({ length: K }, (_, k) => shared(Int32Array, catCount[k]));
  const fill = new Int32Array(K);
  for (let cell = 0; cell < numCells; cell++) {
    const cat = cellCat[cell];
    const u = universe[cat];
    for (let d = cellStart[cell]; d < cellEnd[cell]; d++) u[fill[cat]++] = d;
  }
  const uPos = shared(Int32Array, totalDets);
  const scratch = new ScoreOrderScratch();
  for (let k = 0; k < K; k++) {
    const u = universe[k];
    // cells were appended in (image, shift) order with dets in rank order: sort by score, ties by that order
    sortByScoreDesc(u, detScore, scratch);
    for (let p = 0; p < u.length; p++) uPos[u[p]] = p;
  }
  return {
    numImages: N,
    numCats: K,
    numShifts: S,
    imageIds: idx.imageIds,
    categoryIds: idx.categoryIds,
    detScore,
    detImg,
    detShift,
    detStatus,
    cellCat,
    cellStart,
    cellEnd,
    cellNpig,
    isStart,
    universe,
    uPos,
  };
}

/** One shift's detections, objects or columns, validated and grouped by cell. */
function flattenShift(
  dets: CocoResult[] | DetectionColumns,
  idx: GroupedInput,
  imageIdSet: ReadonlySet<number>,
  name: string,
): FlatDt {
  if (!Array.isArray(dets) && typeof dets === 'object' && dets !== null && ArrayBuffer.isView(dets.scores))
    return flattenDetectionColumns(dets, idx, 100, name);
  validateDetections(dets as CocoResult[], imageIdSet, name); // anything else than columns must be results
  return flattenDetections(dets as CocoResult[], idx, 100);
}

/** Whether the assignment with every image at shift s has ground truth to score (some non-ignored box). */
export function hasGroundTruthAt(p: PreparedBounds, s: number): boolean {
  const S = p.numShifts;
  for (let i = 0; i < p.numImages; i++) {
    for (let cell = p.isStart[i * S + s]; cell < p.isStart[i * S + s + 1]; cell++)
      if (p.cellNpig[cell] > 0) return true;
  }
  return false;
}
