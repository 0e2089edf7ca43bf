/**
 * Resamples of a prepared case without preparing again (protocol §4, Uncertainty and
 * size): an image drawn k times becomes k independent images ordered by (image id,
 * copy), each with its own copy of the image's matched cells. The per-category
 * universes are mapped from the base ones in linear time (no matching, no sort), so a
 * resample costs a copy of the arrays, not a preparation.
 */
import { Rng } from '../../core/rng.js';
import type { BoundsObjective } from './case.js';
import { ShiftMapEngine } from './engine.js';
import { hasGroundTruthAt, type PreparedBounds } from './prepare.js';
import { runSearch } from './search.js';
import { T } from './structures.js';

/** What resamplePrepared needs of a base case beyond PreparedBounds, computed once per base. */
export interface ResampleIndex {
  /** Per detection: its index within its image's detections in (shift, cell, rank) order. */
  offsetInImage: Int32Array;
  /** Per image: its detections (all shifts) and its cells (all shifts). */
  detsOfImage: Int32Array;
  cellsOfImage: Int32Array;
}

/** Builds the ResampleIndex of a prepared case. */
export function resampleIndex(p: PreparedBounds): ResampleIndex {
  const S = p.numShifts;
  const offsetInImage = new Int32Array(p.detScore.length);
  const detsOfImage = new Int32Array(p.numImages);
  const cellsOfImage = new Int32Array(p.numImages);
  for (let i = 0; i < p.numImages; i++) {
    let n = 0;
    for (let cell = p.isStart[i * S]; cell < p.isStart[(i + 1) * S]; cell++) {
      for (let d = p.cellStart[cell]; d < p.cellEnd[cell]; d++) offsetInImage[d] = n++;
    }
    detsOfImage[i] = n;
    cellsOfImage[i] = p.isStart[(i + 1) * S] - p.isStart[i * S];
  }
  return { offsetInImage, detsOfImage, cellsOfImage };
}

/**
 * The prepared case of a resample: `copies[i]` copies of base image i (0 leaves it out),
 * images ordered by (base image, copy). Same floats as preparing the resampled data
 * from scratch: cells are copied, and each universe keeps pycocotools' accumulation
 * order (score descending, then image order — now (image, copy) — then shift and rank).
 */
export function resamplePrepared(p: PreparedBounds, index: ResampleIndex, copies: ArrayLike<number>): PreparedBounds {
  const S = p.numShifts;
  const N0 = p.numImages;
  let N = 0;
  let D = 0;
  let C = 0;
  for (let i = 0; i < N0; i++) {
    N += copies[i];
    D += copies[i] * index.detsOfImage[i];
    C += copies[i] * index.cellsOfImage[i];
  }
  // first new image and first new detection of each base image's copy 0
  const firstImage = new Int32Array(N0);
  const firstDet = new Int32Array(N0);
  const imageIds: number[] = new Array(N);
  const detScore = new Float64Array(D);
  const detImg = new Int32Array(D);
  const detShift = new Int32Array(D);
  const detStatus = new Uint8Array(D * T);
  const cellCat = new Int32Array(C);
  const cellStart = new Int32Array(C);
  const cellEnd = new Int32Array(C);
  const cellNpig = new Int32Array(C);
  const isStart = new Int32Array(N * S + 1);
  let n = 0;
  let d = 0;
  let c = 0;
  for (let i = 0; i < N0; i++) {
    firstImage[i] = n;
    firstDet[i] = d;
    for (let k = 0; k < copies[i]; k++, n++) {
      imageIds[n] = p.imageIds[i];
      for (let s = 0; s < S; s++) {
        isStart[n * S + s] = c;
        for (let cell = p.isStart[i * S + s]; cell < p.isStart[i * S + s + 1]; cell++, c++) {
          cellCat[c] = p.cellCat[cell];
          cellNpig[c] = p.cellNpig[cell];
          cellStart[c] = d;
          const from = p.cellStart[cell];
          const to = p.cellEnd[cell];
          detScore.set(p.detScore.subarray(from, to), d);
          detStatus.set(p.detStatus.subarray(from * T, to * T), d * T);
          detImg.fill(n, d, d + to - from);
          detShift.fill(s, d, d + to - from);
          d += to - from;
          cellEnd[c] = d;
        }
      }
    }
  }
  isStart[N * S] = c;
  // universes: within each run of equal scores the base order is (image, shift, rank);
  // the resample's is (image, copy, shift, rank): each image's block once per copy
  const uPos = new Int32Array(D);
  const universe = p.universe.map((u) => {
    let len = 0;
    for (let j = 0; j < u.length; j++) len += copies[p.detImg[u[j]]];
    const out = new Int32Array(len);
    let o = 0;
    let j = 0;
    while (j < u.length) {
      // a block: same score, same image
      const img = p.detImg[u[j]];
      const score = p.detScore[u[j]];
      let e = j + 1;
      while (e < u.length && p.detImg[u[e]] === img && p.detScore[u[e]] === score) e++;
      const cp = copies[img];
      const perCopy = index.detsOfImage[img];
      for (let k = 0; k < cp; k++) {
        const base = firstDet[img] + k * perCopy;
        for (let x = j; x < e; x++) {
          const nd = base + index.offsetInImage[u[x]];
          uPos[nd] = o;
          out[o++] = nd;
        }
      }
      j = e;
    }
    return out;
  });
  return {
    numImages: N,
    numCats: p.numCats,
    numShifts: S,
    imageIds,
    categoryIds: p.categoryIds,
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

/** Copies per image of bootstrap resample `b` (N draws with replacement), from the bootstrap seed alone. */
export function bootstrapDraw(numImages: number, seed: number, b: number): Int32Array {
  const rng = new Rng(seed).fork(b);
  const copies = new Int32Array(numImages);
  for (let k = 0; k < numImages; k++) copies[rng.int(0, numImages - 1)]++;
  return copies;
}

/** 0/1 per image: subsample `j` of `size` images drawn without replacement (size curve), from the seed alone. */
export function subsampleDraw(numImages: number, size: number, seed: number, j: number): Int32Array {
  const rng = new Rng(seed ^ 0x5bd1e995).fork(size * 1009 + j);
  const order = Int32Array.from({ length: numImages }, (_, i) => i);
  const copies = new Int32Array(numImages);
  for (let k = 0; k < size; k++) {
    const x = rng.int(k, numImages - 1);
    const t = order[k];
    order[k] = order[x];
    order[x] = t;
    copies[order[k]] = 1;
  }
  return copies;
}

/** One resample to search: a bootstrap draw or a size-curve subsample. */
export type ResampleTask = { kind: 'bootstrap'; b: number } | { kind: 'subsample'; size: number; j: number };

/** The bounds of one resample (null when it has no ground truth at s0: no mAP). */
export interface ResampleBounds {
  mapRef: number;
  mapLower: number;
  mapUpper: number;
}

/** Settings every resample task of one batch shares. */
export interface ResampleSettings {
  seed: number;
  maxPasses: number;
  objective: BoundsObjective;
}

/**
 * Runs both greedy searches on one resample (protocol §4 searches, from s0).
 * Deterministic in (base case, task, settings) alone, so any split of the tasks over
 * workers gives the same numbers.
 */
export function runResampleTask(
  p: PreparedBounds,
  index: ResampleIndex,
  task: ResampleTask,
  settings: ResampleSettings,
): ResampleBounds | null {
  const copies =
    task.kind === 'bootstrap'
      ? bootstrapDraw(p.numImages, settings.seed, task.b)
      : subsampleDraw(p.numImages, task.size, settings.seed, task.j);
  const r = resamplePrepared(p, index, copies);
  if (!hasGroundTruthAt(r, 0)) return null;
  const engine = new ShiftMapEngine(r, { objective: settings.objective });
  const mapRef = engine.map;
  const lo = runSearch(engine, -1, settings.maxPasses, {}, 'lower');
  const hi = runSearch(engine, 1, settings.maxPasses, {}, 'upper');
  return { mapRef, mapLower: lo.value, mapUpper: hi.value };
}
