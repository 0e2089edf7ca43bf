/**
 * Greedy lower / upper bounds of mAP over per-image shift assignments (protocol §4),
 * with an incremental evaluator so that one candidate costs far less than a
 * from-scratch COCO evaluation.
 *
 * How it stays exact and fast:
 * - Every (image, shift, category) cell is matched once, pycocotools-style (area
 *   "all", maxDets 100): each detection gets its TP / FP / ignored status at each of
 *   the 10 IoU thresholds. Those depend only on the cell.
 * - Per category, all detections of all shifts form one static "universe" sorted in
 *   pycocotools' accumulation order (score descending, then image order, then rank in
 *   the cell); the current assignment is a subset of it. Per IoU threshold a Fenwick
 *   tree (the ten interleaved in one array) counts the active false positives before
 *   any position, and an explicit list
 *   holds the active true positives with their precision tp / (tp + fp + eps), its
 *   suffix maxima and the interpolated precision at the 101 recall points.
 * - A candidate that moves image i from shift a to b only touches the categories of
 *   i's two cells. For each, the new true-positive list differs from the old one
 *   only from the first of i's detections on: the unchanged prefix and (when i's
 *   TP/FP counts are the same at both shifts) the unchanged tail are reused, and the
 *   interpolated precision of the prefix is recomputed only until it provably equals
 *   the old one. Accepting a move rebuilds the touched categories exactly.
 * - Between events the old TPs keep constant index / FP offsets (dk, dF). Such a segment
 *   is walked value by value only until the running maximum reaches the suffix maximum
 *   at its end (list.S for (0, 0), an OffsetMax cache of the shifted precision otherwise,
 *   repaired after moves); from there on each recall point costs O(1). The floats and
 *   the order of the sums are those of the plain walk (a test compares both bit for bit).
 * mAP is the mean over categories with non-ignored gt of AP@[.5:.95], i.e. COCO stats[0].
 */
import type { BoundsSummary, CocoGroundTruth, CocoResult, Shift } from '../core/types.js';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ShiftbenchError, describeValue } from '../core/errors.js';
import type { BoundsWorkerMessage } from './boundsWorker.js';
import {
  AREA_RANGES,
  EPS,
  NUM_IOU,
  NUM_RECALL,
  ST_FP,
  ST_TP,
  evaluateCoco,
  flattenDetections,
  flattenGroundTruth,
  indexGroundTruth,
  matchAllCells,
  precisionSumFromTp,
  recallTpIndex,
  validateDetections,
  validateGroundTruth,
  type GroupedInput,
} from './cocoeval.js';

/** One bounds problem: ground truth (one per shift in crop mode), shifts, one detection list per shift (original-image coordinates). */
export interface BoundsCase {
  gt: CocoGroundTruth | CocoGroundTruth[];
  shifts: Shift[];
  dets: CocoResult[][];
  /** Passes per search, default 5 (≥ 1). */
  maxPasses?: number;
}

export interface GreedyProgress {
  search: 'perShift' | 'lower' | 'upper';
  pass: number;
  /** Images visited in this pass so far. */
  image: number;
  images: number;
}

export interface GreedyOptions {
  /** Honour `ignore: 1` on ground truth (default true, see evaluateCoco). */
  honorIgnoreFlag?: boolean;
  /** Called now and then during the search. */
  onProgress?: (p: GreedyProgress) => void;
  /** If given, incremented with the work done (for benchmarks). */
  counters?: { candidates: number; moves: number };
}

/** Tie tolerance of protocol §4. */
export const TIE_TOLERANCE = 1e-12;
export const DEFAULT_MAX_PASSES = 5;

const T = NUM_IOU;
const R = NUM_RECALL;
const AP_DENOM = NUM_IOU * NUM_RECALL;
const KIND_TP = 1;
const KIND_ALL_FP = 2;

function metricsError(message: string): ShiftbenchError {
  return new ShiftbenchError('ERR_METRICS_INPUT', message);
}

function gtFor(c: BoundsCase, s: number): CocoGroundTruth {
  return Array.isArray(c.gt) ? c.gt[s] : c.gt;
}

/** Checks a bounds case (detections too unless `checkDetections` is false); throws ERR_METRICS_INPUT naming what is wrong. */
export function validateBoundsCase(c: BoundsCase, checkDetections = true, skipDetsList = false): void {
  if (typeof c !== 'object' || c === null) throw metricsError(`Expected a bounds case object but received ${describeValue(c)}`);
  if (!Array.isArray(c.shifts) || c.shifts.length === 0) throw metricsError(`Expected a non-empty list of shifts for shifts but received ${describeValue(c.shifts)}`);
  c.shifts.forEach((s, i) => {
    if (typeof s !== 'object' || s === null || !Number.isFinite(s.dx) || !Number.isFinite(s.dy)) {
      throw metricsError(`Expected {dx, dy} of finite numbers for shifts[${i}] but received ${describeValue(s)}`);
    }
  });
  if (!skipDetsList && (!Array.isArray(c.dets) || c.dets.length !== c.shifts.length)) {
    throw metricsError(
      `Expected one detection list per shift (${c.shifts.length}) for dets but received ${Array.isArray(c.dets) ? c.dets.length : describeValue(c.dets)}`,
    );
  }
  if (Array.isArray(c.gt) && c.gt.length !== c.shifts.length) {
    throw metricsError(`Expected one ground truth per shift (${c.shifts.length}) for gt but received ${c.gt.length}`);
  }
  if (c.maxPasses !== undefined && (!Number.isInteger(c.maxPasses) || c.maxPasses < 1)) {
    throw metricsError(`Expected an integer ≥ 1 for maxPasses but received ${describeValue(c.maxPasses)}`);
  }
  const gts = Array.isArray(c.gt) ? c.gt : [c.gt];
  gts.forEach((g, s) => validateGroundTruth(g, Array.isArray(c.gt) ? `gt[${s}]` : 'gt'));
  const key = (g: CocoGroundTruth) => [...new Set(g.images.map((im) => im.id))].sort((a, b) => a - b).join(',');
  const ckey = (g: CocoGroundTruth) => [...new Set(g.categories.map((x) => x.id))].sort((a, b) => a - b).join(',');
  for (let s = 1; s < gts.length; s++) {
    if (key(gts[s]) !== key(gts[0]) || ckey(gts[s]) !== ckey(gts[0])) {
      throw metricsError(`Expected the same images and categories in every per-shift ground truth but gt[${s}] differs from gt[0]`);
    }
  }
  const imageIds = new Set(gts[0].images.map((im) => im.id));
  const catIds = new Set(gts[0].categories.map((x) => x.id));
  if (checkDetections) c.dets.forEach((d, s) => validateDetections(d, imageIds, catIds, `detections of shift ${s}`));
}

// ------------------------------------------------------------------ preparation

/** Everything the search needs, in flat typed arrays. */
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
  /** Cells: category, det range, npig. Cells of (image i, shift s) are cellIds [isStart[i·S+s], isStart[i·S+s+1]), by category. */
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
 * @throws ShiftbenchError ERR_METRICS_INPUT on malformed input.
 */
export function prepareBounds(c: BoundsCase, opts: GreedyOptions = {}): PreparedBounds {
  validateBoundsCase(c, false);
  return prepareBoundsFromSource(c.gt, c.shifts, (s) => c.dets[s], opts);
}

/**
 * prepareBounds with detections fetched one shift at a time (`detsOfShift(s)`), so a
 * caller holding compact arrays never needs every shift's objects at once. Validates
 * each shift's detections as it fetches them.
 * @throws ShiftbenchError ERR_METRICS_INPUT on malformed input.
 */
export function prepareBoundsFromSource(
  gtArg: CocoGroundTruth | CocoGroundTruth[],
  shifts: Shift[],
  detsOfShift: (shiftIndex: number) => CocoResult[],
  opts: GreedyOptions = {},
): PreparedBounds {
  const c = { gt: gtArg, shifts, dets: [] as CocoResult[][] };
  validateBoundsCase(c, false, true);
  const S = c.shifts.length;
  const idx: GroupedInput = indexGroundTruth(gtFor(c, 0));
  const N = idx.imageIds.length;
  const K = idx.categoryIds.length;
  const honor = opts.honorIgnoreFlag ?? true;
  const sharedGt = Array.isArray(c.gt) ? null : flattenGroundTruth(c.gt, idx, honor);
  const imageIdSet = new Set(idx.imageIds);
  const categoryIdSet = new Set(idx.categoryIds);
  const areaAll = [AREA_RANGES[0]];

  // pass 1 per shift: every cell matched at area "all"; cells by key, detections flat
  interface ShiftCells { keys: Float64Array; starts: Int32Array; ends: Int32Array; npig: Int32Array }
  const perShift: ShiftCells[] = [];
  const scoreParts: Float64Array[] = [];
  const statusParts: Uint8Array[] = [];
  let totalDets = 0;
  for (let s = 0; s < S; s++) {
    const flatGt = sharedGt ?? flattenGroundTruth(gtFor(c, s), idx, honor);
    const shiftDets = detsOfShift(s);
    validateDetections(shiftDets, imageIdSet, categoryIdSet, `detections of shift ${s}`);
    const flatDt = flattenDetections(shiftDets, idx, 100);
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
  const detScore = new Float64Array(totalDets);
  const detStatus = new Uint8Array(totalDets * T);
  const detImg = new Int32Array(totalDets);
  const detShift = new Int32Array(totalDets);
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
  const cellCat = new Int32Array(numCells);
  const cellStart = new Int32Array(numCells);
  const cellEnd = new Int32Array(numCells);
  const cellNpig = new Int32Array(numCells);
  const isStart = new Int32Array(N * S + 1);
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
  // universes: per category, dets sorted by (score desc, image, shift, rank in cell) — det ids within a cell are in rank order
  const universe: Int32Array[] = Array.from({ length: K }, (_, k) => new Int32Array(catCount[k]));
  const fill = new Int32Array(K);
  for (let cell = 0; cell < numCells; cell++) {
    const cat = cellCat[cell];
    const u = universe[cat];
    for (let d = cellStart[cell]; d < cellEnd[cell]; d++) u[fill[cat]++] = d;
  }
  const uPos = new Int32Array(totalDets);
  let rank = new Int32Array(0);
  for (let k = 0; k < K; k++) {
    const u = universe[k];
    // cells were appended in (image, shift) order with dets in rank order: sort by score, ties by that order
    if (rank.length < u.length) rank = new Int32Array(u.length);
    const ord = rank.subarray(0, u.length);
    for (let p = 0; p < u.length; p++) ord[p] = p;
    ord.sort((a, b) => detScore[u[b]] - detScore[u[a]] || a - b);
    const sorted = Int32Array.from(ord, (j) => u[j]);
    u.set(sorted);
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

// ------------------------------------------------------------------ per-category state

/**
 * Suffix maxima of the precision a TP list would have under constant count offsets:
 * sm[k] = max over k ≤ x < K of (x+1+dk) / (fp[x]+dF+x+1+dk+EPS), sm[K] = 0, valid for
 * k ≥ from while version matches the list's. Built lazily from the end by candidate walks.
 */
class OffsetMax {
  version = -1;
  from = 0;
  sm = new Float64Array(0);
  constructor(
    public dk: number,
    public dF: number,
  ) {}
}

/** Offset pairs cached per TP list (least recently created replaced first). */
const MAX_OFFSET_CACHES = 8;
/** Segments with offsets shorter than this are walked value by value, without an OffsetMax cache. */
const MIN_CACHED_SEGMENT = 16;
/** Versions of a TP list whose change index is remembered (a power of two); older caches are rebuilt. */
const CHANGE_LOG = 16;
/**
 * A segment uses its OffsetMax cache only when building / repairing it costs at most this
 * many values per value of the segment (else it is walked value by value). Chosen by A/B
 * at 2,000 images: 1 and 2 were best; always building (moves often invalidate a cache
 * from near the start of the list) was ~10% slower.
 */
const BUILD_FACTOR = 1;

/**
 * `lanes` Fenwick trees over the same positions, interleaved (node·lanes + lane): the
 * per-threshold FP counters of a node share cache lines, and one walk updates every
 * threshold a detection is a false positive at. lanes = 1 is a plain Fenwick tree.
 */
class Fenwick {
  readonly tree: Int32Array;
  /** Mask with every lane's bit set. */
  readonly allLanes: number;
  constructor(
    readonly size: number,
    readonly lanes = 1,
  ) {
    this.tree = new Int32Array((size + 1) * lanes);
    this.allLanes = (1 << lanes) - 1;
  }
  /** Linear-time build of one lane from 0/1 flags. */
  build(flags: Uint8Array, lane = 0): void {
    const tr = this.tree;
    const L = this.lanes;
    for (let i = 0; i <= this.size; i++) tr[i * L + lane] = 0;
    for (let i = 1; i <= this.size; i++) {
      tr[i * L + lane] += flags[i - 1];
      const j = i + (i & -i);
      if (j <= this.size) tr[j * L + lane] += tr[i * L + lane];
    }
  }
  /** Adds delta at pos in every lane whose bit is set in mask (default: all lanes). */
  add(pos: number, delta: number, mask = this.allLanes): void {
    if (mask === 0) return;
    const tr = this.tree;
    const L = this.lanes;
    if (mask === this.allLanes) {
      for (let i = pos + 1; i <= this.size; i += i & -i) {
        const b = i * L;
        for (let t = 0; t < L; t++) tr[b + t] += delta;
      }
      return;
    }
    for (let i = pos + 1; i <= this.size; i += i & -i) {
      const b = i * L;
      for (let t = 0; t < L; t++) if (mask & (1 << t)) tr[b + t] += delta;
    }
  }
  /** Sum of one lane's flags at positions < pos. */
  prefix(pos: number, lane = 0): number {
    const tr = this.tree;
    const L = this.lanes;
    let s = 0;
    for (let i = pos; i > 0; i -= i & -i) s += tr[i * L + lane];
    return s;
  }
}

/** Work counters of a ShiftMapEngine (for tests and benchmarks). */
export interface EngineStats {
  /** Candidate-walk segments with shifted counts answered from an OffsetMax cache. */
  offsetCacheSegments: number;
  /** OffsetMax caches repaired after their TP list changed (instead of rebuilt). */
  offsetCacheRepairs: number;
}

/** Active true positives of one (category, IoU threshold), with precision and interpolation caches. */
class TpList {
  K = 0;
  /** Bumped by finalize (every change of pos / fp / v), so OffsetMax caches know they are stale. */
  version = 0;
  /** changedFrom[version mod CHANGE_LOG]: first TP index whose pos / fp may differ from the previous version's. */
  private readonly changedFrom = new Int32Array(CHANGE_LOG);
  private readonly offsets: OffsetMax[] = [];
  private nextEvict = 0;
  constructor(private readonly stats: EngineStats) {}
  pos = new Int32Array(16); // universe positions, ascending
  fp = new Int32Array(16); // active FPs before each TP
  v = new Float64Array(16); // precision at each TP
  S = new Float64Array(17); // suffix max of v: S[k] = max v[k..K), S[K] = 0
  qPre = new Float64Array(R + 1); // Σ q[0..r)
  qSuf = new Float64Array(R + 1); // Σ q[r..R), summed from r = R−1 down (as precisionSumFromTp)
  psum = 0;
  ensure(n: number): void {
    if (this.pos.length >= n) return;
    let cap = this.pos.length;
    while (cap < n) cap *= 2;
    const grow = <A extends Int32Array | Float64Array>(a: A, len: number): A => {
      const b = new (a.constructor as { new (n: number): A })(len);
      b.set(a.subarray(0, Math.min(a.length, len)));
      return b;
    };
    this.pos = grow(this.pos, cap);
    this.fp = grow(this.fp, cap);
    this.v = grow(this.v, cap);
    this.S = grow(this.S, cap + 1);
  }
  /**
   * Recomputes S, q sums and psum from v for a given recall index table. `validBelow`:
   * v[k] and S[k] for k < validBelow are unchanged since the last finalize, so the
   * suffix maxima stop as soon as one equals its old value (0: recompute all).
   */
  finalize(kr: Int32Array | null, validBelow = 0, changedFrom = 0): void {
    this.version++;
    this.changedFrom[this.version & (CHANGE_LOG - 1)] = changedFrom;
    const K = this.K;
    const v = this.v;
    const S = this.S;
    let m = 0;
    S[K] = 0;
    for (let k = K - 1; k >= 0; k--) {
      if (v[k] > m) m = v[k];
      if (k < validBelow && S[k] === m) break;
      S[k] = m;
    }
    const qSuf = this.qSuf;
    const qPre = this.qPre;
    qSuf[R] = 0;
    if (!kr) {
      qSuf.fill(0);
      qPre.fill(0);
      this.psum = 0;
      return;
    }
    let sum = 0;
    for (let r = R - 1; r >= 0; r--) {
      const q = kr[r] <= K ? S[kr[r] - 1] : 0;
      sum += q;
      qSuf[r] = sum;
    }
    let pre = 0;
    qPre[0] = 0;
    for (let r = 0; r < R; r++) {
      pre += kr[r] <= K ? S[kr[r] - 1] : 0;
      qPre[r + 1] = pre;
    }
    this.psum = sum;
  }

  /**
   * First TP index that may differ from what the list was at `version` (0 when unknown:
   * too many versions ago, or never), K when nothing changed.
   */
  private dirtyFrom(version: number): number {
    if (version < 0 || this.version - version >= CHANGE_LOG) return 0;
    let d = this.K;
    for (let x = version + 1; x <= this.version; x++) {
      const c = this.changedFrom[x & (CHANGE_LOG - 1)];
      if (c < d) d = c;
    }
    return d;
  }

  private findOffset(dk: number, dF: number): OffsetMax | null {
    const offs = this.offsets;
    for (let j = 0; j < offs.length; j++) if (offs[j].dk === dk && offs[j].dF === dF) return offs[j];
    return null;
  }

  /** About how many values offsetMax(dk, dF, lo) would compute now. */
  offsetBuildCost(dk: number, dF: number, lo: number): number {
    const c = this.findOffset(dk, dF);
    if (c === null) return this.K - lo;
    if (c.version === this.version) return c.from > lo ? c.from - lo : 0;
    const d = this.dirtyFrom(c.version);
    return this.K - Math.min(d, c.from > lo ? lo : d);
  }

  /**
   * Suffix maxima of the precision under count offsets (dk, dF) ≠ (0, 0) (see OffsetMax),
   * valid at least for k in [lo, K]. A cache from an earlier version is repaired: values
   * from the first changed TP on are recomputed, those before it only until one equals its
   * old value (before the change the offset precisions are the same, so from there on
   * the suffix maxima are too). The values are computed with the same expression as the
   * candidate walk's, so they are the same floats.
   */
  offsetMax(dk: number, dF: number, lo: number): Float64Array {
    let c = this.findOffset(dk, dF);
    const offs = this.offsets;
    if (c === null) {
      if (offs.length < MAX_OFFSET_CACHES) offs.push((c = new OffsetMax(dk, dF)));
      else {
        c = offs[this.nextEvict];
        this.nextEvict = (this.nextEvict + 1) % MAX_OFFSET_CACHES;
        c.dk = dk;
        c.dF = dF;
        c.version = -1;
      }
    }
    const K = this.K;
    const fp = this.fp;
    if (c.version !== this.version) {
      const d = this.dirtyFrom(c.version);
      if (c.from < d) this.stats.offsetCacheRepairs++;
      if (c.sm.length < K + 1) {
        const grown = new Float64Array(Math.max(K + 1, 2 * c.sm.length));
        grown.set(c.sm);
        c.sm = grown;
      }
      const sm = c.sm;
      // [d, K] afresh
      let m = 0;
      sm[K] = 0;
      for (let k = K - 1; k >= d; k--) {
        const tp = k + 1 + dk;
        const v = tp / (fp[k] + dF + tp + EPS);
        if (v > m) m = v;
        sm[k] = m;
      }
      // [c.from, d): old values, stale only until one is unchanged
      let from = d;
      if (c.from < d) {
        for (let k = d - 1; k >= c.from; k--) {
          const tp = k + 1 + dk;
          const v = tp / (fp[k] + dF + tp + EPS);
          if (v > m) m = v;
          if (sm[k] === m) break;
          sm[k] = m;
        }
        from = c.from;
      }
      c.from = from;
      c.version = this.version;
    }
    if (c.from > lo) {
      const sm = c.sm;
      let m = sm[c.from];
      for (let k = c.from - 1; k >= lo; k--) {
        const tp = k + 1 + dk;
        const v = tp / (fp[k] + dF + tp + EPS);
        if (v > m) m = v;
        sm[k] = m;
      }
      c.from = lo;
    }
    return c.sm;
  }
}

class CategoryState {
  /** Active false positives per threshold. */
  readonly fen: Fenwick;
  readonly tp: TpList[];
  /** Active detections that are a TP at some IoU threshold, by universe position. */
  readonly anyTp: Fenwick;
  /** Detections of the universe, active or not, that are a TP at some threshold. */
  readonly tpKindTotal: number;
  anyTpTotal = 0;
  npig = 0;
  /** recallTpIndex(npig), or null when npig is 0. */
  kr: Int32Array | null = null;
  /** Σ_t precision sums (AP·1010), or −1 when the category has no non-ignored gt. */
  pSum = -1;
  /** Fills tpKindBefore (engine-wide, by detection) for this universe. */
  constructor(
    readonly universe: Int32Array,
    detKind: Uint8Array,
    tpKindBefore: Int32Array,
    stats: EngineStats,
  ) {
    let n = 0;
    for (let j = 0; j < universe.length; j++) {
      tpKindBefore[universe[j]] = n;
      if (detKind[universe[j]] === KIND_TP) n++;
    }
    this.tpKindTotal = n;
    this.fen = new Fenwick(universe.length, T);
    this.tp = Array.from({ length: T }, () => new TpList(stats));
    this.anyTp = new Fenwick(universe.length);
  }
}

// ------------------------------------------------------------------ the engine

/** Scratch buffers shared by candidate evaluations. */
class Scratch {
  v = new Float64Array(1024);
  pos = new Int32Array(1024);
  fp = new Int32Array(1024);
  evDet = new Int32Array(256);
  evPos = new Int32Array(256);
  evNew = new Uint8Array(256);
  evJ = new Int32Array(256);
  evP = new Int32Array(256);
  segLo = new Int32Array(256);
  segDk = new Int32Array(256);
  segDf = new Int32Array(256);
  newIdx = new Int32Array(256);
  newV = new Float64Array(256);
  ensureV(n: number): void {
    if (this.v.length >= n) return;
    let cap = this.v.length;
    while (cap < n) cap *= 2;
    this.v = new Float64Array(cap);
    this.pos = new Int32Array(cap);
    this.fp = new Int32Array(cap);
  }
  ensureEv(n: number): void {
    if (this.evDet.length >= n) return;
    let cap = this.evDet.length;
    while (cap < n) cap *= 2;
    this.evDet = new Int32Array(cap);
    this.evPos = new Int32Array(cap);
    this.evNew = new Uint8Array(cap);
    this.evJ = new Int32Array(cap);
    this.evP = new Int32Array(cap);
    this.segLo = new Int32Array(cap);
    this.segDk = new Int32Array(cap);
    this.segDf = new Int32Array(cap);
    this.newIdx = new Int32Array(cap);
    this.newV = new Float64Array(cap);
  }
}

/**
 * Incremental mAP over shift assignments. `setAssignment` builds the state from
 * scratch; `candidate(i, s)` returns mAP with image i moved to shift s without
 * changing the state; `move(i, s)` applies it.
 */
export class ShiftMapEngine {
  readonly assignment: Int32Array;
  private readonly cats: CategoryState[];
  private readonly scratch = new Scratch();
  private readonly touchedCat: Int32Array;
  private readonly touchedOld: Int32Array;
  private readonly touchedNew: Int32Array;
  private readonly candPSum: Float64Array;
  /** Per detection: 1 if it is a TP at some threshold, 2 if it is an FP at every threshold, else 0. */
  private readonly detKind: Uint8Array;
  /** Per detection: bit t set if it is a false positive at threshold t. */
  private readonly fpMask: Uint16Array;
  /**
   * Per detection: detections before it in its category's universe, active or not, that are
   * a TP at some threshold (static; indexed by detection so that a cell's are contiguous).
   */
  private readonly tpKindBefore: Int32Array;
  private currentMap = -1;
  /** State of rangeWalk: running max, sum, recall index, recall table. */
  private wMx = 0;
  private wSum = 0;
  private wR = -1;
  private wKr: Int32Array = new Int32Array(0);
  /** First TP index walk(…, materialize) wrote (the list is unchanged before it). */
  private matStart = 0;

  /** Work counters (for tests and benchmarks). */
  readonly stats: EngineStats = { offsetCacheSegments: 0, offsetCacheRepairs: 0 };
  private readonly offsetCaches: boolean;

  /**
   * @param p the prepared case (prepareBounds).
   * @param opts.offsetCaches use OffsetMax caches in candidate walks (default true; false
   *   walks every shifted segment value by value — same results, for tests).
   */
  constructor(
    readonly p: PreparedBounds,
    opts: { offsetCaches?: boolean } = {},
  ) {
    this.offsetCaches = opts.offsetCaches ?? true;
    this.assignment = new Int32Array(p.numImages);
    this.touchedCat = new Int32Array(p.numCats);
    this.touchedOld = new Int32Array(p.numCats);
    this.touchedNew = new Int32Array(p.numCats);
    this.candPSum = new Float64Array(p.numCats);
    this.detKind = new Uint8Array(p.detScore.length);
    this.fpMask = new Uint16Array(p.detScore.length);
    this.tpKindBefore = new Int32Array(p.detScore.length);
    for (let d = 0; d < this.detKind.length; d++) {
      let tp = false;
      let allFp = true;
      for (let t = 0; t < T; t++) {
        const s = p.detStatus[d * T + t];
        if (s === ST_TP) tp = true;
        if (s !== ST_FP) allFp = false;
        else this.fpMask[d] |= 1 << t;
      }
      this.detKind[d] = tp ? KIND_TP : allFp ? KIND_ALL_FP : 0;
    }
    this.cats = p.universe.map((u) => new CategoryState(u, this.detKind, this.tpKindBefore, this.stats));
    this.setAssignment(this.assignment);
  }

  /** mAP of the current assignment (−1 if no category has gt). */
  get map(): number {
    return this.currentMap;
  }

  /** Sets every image's shift and rebuilds all state from scratch. */
  setAssignment(a: ArrayLike<number>): void {
    const p = this.p;
    for (let i = 0; i < p.numImages; i++) this.assignment[i] = a[i];
    // npig per category
    const npig = new Int32Array(p.numCats);
    for (let i = 0; i < p.numImages; i++) {
      const s = this.assignment[i];
      for (let cell = p.isStart[i * p.numShifts + s]; cell < p.isStart[i * p.numShifts + s + 1]; cell++) npig[p.cellCat[cell]] += p.cellNpig[cell];
    }
    for (let c = 0; c < p.numCats; c++) this.rebuildCategory(c, npig[c]);
    this.currentMap = this.mapFromPSums(null);
  }

  private rebuildCategory(c: number, npig: number): void {
    const p = this.p;
    const st = this.cats[c];
    const u = st.universe;
    const U = u.length;
    st.npig = npig;
    const kr = npig > 0 ? recallTpIndex(npig) : null;
    st.kr = kr;
    const flags = new Uint8Array(U);
    // the active detections (universe order) once, then each threshold walks only those
    const actJ = new Int32Array(U);
    let nAct = 0;
    let anyTp = 0;
    for (let j = 0; j < U; j++) {
      const d = u[j];
      if (this.assignment[p.detImg[d]] !== p.detShift[d]) continue;
      actJ[nAct++] = j;
      if (this.detKind[d] === KIND_TP) {
        flags[j] = 1;
        anyTp++;
      }
    }
    st.anyTp.build(flags);
    st.anyTpTotal = anyTp;
    const status = p.detStatus;
    for (let t = 0; t < T; t++) {
      const list = st.tp[t];
      list.K = 0;
      let tp = 0;
      let fp = 0;
      flags.fill(0);
      for (let a = 0; a < nAct; a++) {
        const j = actJ[a];
        const s = status[u[j] * T + t];
        if (s === ST_FP) flags[j] = 1;
        if (s === ST_TP) {
          tp++;
          list.ensure(tp);
          list.pos[tp - 1] = j;
          list.fp[tp - 1] = fp;
          list.v[tp - 1] = tp / (fp + tp + EPS);
        } else if (s === ST_FP) fp++;
      }
      list.K = tp;
      st.fen.build(flags, t);
      list.finalize(kr);
    }
    st.pSum = this.sumPsum(st);
  }

  private sumPsum(st: CategoryState): number {
    if (st.npig <= 0) return -1;
    let s = 0;
    for (let t = 0; t < T; t++) s += st.tp[t].psum;
    return s;
  }

  /** mAP from per-category pSums, with optional candidate overrides (touched categories). */
  private mapFromPSums(touchedCount: number | null): number {
    const K = this.p.numCats;
    let s = 0;
    let n = 0;
    let ti = 0;
    for (let c = 0; c < K; c++) {
      let v = this.cats[c].pSum;
      if (touchedCount !== null && ti < touchedCount && this.touchedCat[ti] === c) v = this.candPSum[ti++];
      if (v > -1) {
        s += v;
        n += AP_DENOM;
      }
    }
    return n === 0 ? -1 : s / n;
  }

  /** Collects the categories whose cells differ between shifts a and b of image i. Returns the count. */
  private collectTouched(i: number, a: number, b: number): number {
    const p = this.p;
    const S = p.numShifts;
    let x = p.isStart[i * S + a];
    const xe = p.isStart[i * S + a + 1];
    let y = p.isStart[i * S + b];
    const ye = p.isStart[i * S + b + 1];
    let n = 0;
    while (x < xe || y < ye) {
      const cx = x < xe ? p.cellCat[x] : 0x7fffffff;
      const cy = y < ye ? p.cellCat[y] : 0x7fffffff;
      let oldCell = -1;
      let newCell = -1;
      let cat: number;
      if (cx === cy) {
        cat = cx;
        oldCell = x++;
        newCell = y++;
      } else if (cx < cy) {
        cat = cx;
        oldCell = x++;
      } else {
        cat = cy;
        newCell = y++;
      }
      if (this.cellsEquivalent(oldCell, newCell)) continue;
      this.touchedCat[n] = cat;
      this.touchedOld[n] = oldCell;
      this.touchedNew[n] = newCell;
      n++;
    }
    return n;
  }

  /** Two cells of the same image and category give the same AP if they have the same npig, scores and statuses. */
  private cellsEquivalent(a: number, b: number): boolean {
    const p = this.p;
    const na = a < 0 ? 0 : p.cellEnd[a] - p.cellStart[a];
    const nb = b < 0 ? 0 : p.cellEnd[b] - p.cellStart[b];
    const ga = a < 0 ? 0 : p.cellNpig[a];
    const gb = b < 0 ? 0 : p.cellNpig[b];
    if (na !== nb || ga !== gb) return false;
    if (na === 0) return true;
    const sa = p.cellStart[a];
    const sb = p.cellStart[b];
    for (let k = 0; k < na; k++) {
      if (p.detScore[sa + k] !== p.detScore[sb + k]) return false;
      for (let t = 0; t < T; t++) if (p.detStatus[(sa + k) * T + t] !== p.detStatus[(sb + k) * T + t]) return false;
    }
    return true;
  }

  /**
   * True when the m scratch events provably leave every TP list of the category unchanged:
   * every moved detection is an FP at every threshold and no active detection that is a
   * TP at any threshold lies where the count of FPs before it differs. The precision sums
   * are then exactly the current ones (same TPs, same FP counts, same npig).
   */
  private fpOnlyNoop(st: CategoryState, m: number): boolean {
    const sc = this.scratch;
    const kind = this.detKind;
    for (let e = 0; e < m; e++) if (kind[sc.evDet[e]] !== KIND_ALL_FP) return false;
    if (st.anyTpTotal === 0) return true;
    const fen = st.anyTp;
    const kindBefore = this.tpKindBefore;
    let d = 0;
    for (let e = 0; e < m; e++) {
      d += sc.evNew[e] ? 1 : -1;
      if (d === 0) continue;
      // no detection that is a TP anywhere lies between this event and the next (the events are FPs): then certainly no active one
      const kindTo = e + 1 < m ? kindBefore[sc.evDet[e + 1]] : st.tpKindTotal;
      if (kindTo === kindBefore[sc.evDet[e]]) continue;
      const from = sc.evPos[e] + 1;
      const to = e + 1 < m ? fen.prefix(sc.evPos[e + 1]) : st.anyTpTotal;
      if (to - fen.prefix(from) !== 0) return false;
    }
    return true;
  }

  /** Merges the dets of the old and new cell by universe position into the scratch event list. */
  private buildEvents(oldCell: number, newCell: number): number {
    const p = this.p;
    const sc = this.scratch;
    const o0 = oldCell < 0 ? 0 : p.cellStart[oldCell];
    const o1 = oldCell < 0 ? 0 : p.cellEnd[oldCell];
    const n0 = newCell < 0 ? 0 : p.cellStart[newCell];
    const n1 = newCell < 0 ? 0 : p.cellEnd[newCell];
    sc.ensureEv(o1 - o0 + n1 - n0);
    let x = o0;
    let y = n0;
    let m = 0;
    while (x < o1 || y < n1) {
      const px = x < o1 ? p.uPos[x] : 0x7fffffff;
      const py = y < n1 ? p.uPos[y] : 0x7fffffff;
      if (px < py) {
        sc.evDet[m] = x++;
        sc.evPos[m] = px;
        sc.evNew[m] = 0;
      } else {
        sc.evDet[m] = y++;
        sc.evPos[m] = py;
        sc.evNew[m] = 1;
      }
      m++;
    }
    return m;
  }

  /**
   * New precision sum of (category state, threshold t) after the events. With
   * `materialize`, writes the full new TP list into the scratch arrays and returns
   * its length instead.
   */
  private walk(st: CategoryState, t: number, m: number, npigNew: number, materialize: boolean): number {
    const p = this.p;
    const sc = this.scratch;
    const list = st.tp[t];
    const fen = st.fen;
    const K = list.K;
    const sameKr = npigNew === st.npig;
    // events that matter at this threshold (TP or FP; ignored detections change nothing), with their old TP index
    let me = 0;
    const eJ = sc.evJ;
    const eP = sc.evP;
    for (let j = 0; j < m; j++) {
      const s = p.detStatus[sc.evDet[j] * T + t];
      if (s !== ST_TP && s !== ST_FP) continue;
      eJ[me] = j;
      eP[me] = lowerBound(list.pos, K, sc.evPos[j]);
      me++;
    }
    // false positives after the last TP (old and new) change nothing either
    while (me > 0 && eP[me - 1] === K && p.detStatus[sc.evDet[eJ[me - 1]] * T + t] === ST_FP) me--;
    if (!materialize && sameKr && me === 0) return list.psum;
    const kr = npigNew > 0 ? (sameKr && st.kr ? st.kr : recallTpIndex(npigNew)) : null;
    // materialized lists are written from the first event on (the prefix is unchanged)
    const start = materialize ? (me === 0 ? K : eP[0]) : !sameKr || me === 0 ? 0 : eP[0];
    this.matStart = start;
    sc.ensureV(K + m + 1);
    const vOut = sc.v;
    const posOut = sc.pos;
    const fpOut = sc.fp;
    const lpos = list.pos;
    const lfp = list.fp;
    let out = start; // next new TP index
    let oldK = start; // next old TP index to emit
    let dk = 0;
    let dF = 0;
    for (let e = 0; e < me; e++) {
      const j = eJ[e];
      const Pj = eP[e];
      for (let k = oldK; k < Pj; k++) {
        const tp = k + 1 + dk;
        const f = lfp[k] + dF;
        vOut[out] = tp / (f + tp + EPS);
        if (materialize) {
          posOut[out] = lpos[k];
          fpOut[out] = f;
        }
        out++;
      }
      if (Pj > oldK) oldK = Pj;
      const s = p.detStatus[sc.evDet[j] * T + t];
      if (sc.evNew[j] === 0) {
        if (s === ST_TP) {
          oldK = Pj + 1;
          dk--;
        } else dF--;
      } else if (s === ST_TP) {
        const x = sc.evPos[j];
        const tp = Pj + dk + 1;
        const f = fen.prefix(x, t) + dF;
        vOut[out] = tp / (f + tp + EPS);
        if (materialize) {
          posOut[out] = x;
          fpOut[out] = f;
        }
        out++;
        dk++;
      } else dF++;
    }
    const reuseTail = !materialize && sameKr && dk === 0 && dF === 0;
    const tailStart = oldK;
    if (!reuseTail) {
      for (let k = oldK; k < K; k++) {
        const tp = k + 1 + dk;
        const f = lfp[k] + dF;
        vOut[out] = tp / (f + tp + EPS);
        if (materialize) {
          posOut[out] = lpos[k];
          fpOut[out] = f;
        }
        out++;
      }
    }
    if (materialize) return out;
    if (!kr) return 0;
    // backward: tail (reused), middle (explicit), prefix (old values, stop when unchanged)
    let r: number;
    let mx = 0;
    let sum = 0;
    if (reuseTail) {
      // q_r with kr[r] − 1 ≥ tailStart are unchanged
      r = lastBelow(kr, tailStart + 1);
      sum = list.qSuf[r + 1];
      mx = list.S[tailStart];
    } else {
      r = lastBelow(kr, out + 1);
    }
    for (let k = out - 1; k >= start && r >= 0; k--) {
      const v = vOut[k];
      if (v > mx) mx = v;
      while (r >= 0 && kr[r] - 1 === k) {
        sum += mx;
        r--;
      }
    }
    if (r >= 0 && start > 0) {
      // prefix: old values at the same indices; new q = max(max old v[k..start), mx)
      const mOld = list.S[start];
      const v = list.v;
      let run = 0;
      for (let k = start - 1; k >= 0 && r >= 0; k--) {
        if (v[k] > run) run = v[k];
        if (run >= mx && run >= mOld) {
          sum += list.qPre[r + 1];
          r = -1;
          break;
        }
        while (r >= 0 && kr[r] - 1 === k) {
          sum += run > mx ? run : mx;
          r--;
        }
      }
    }
    return sum;
  }

  /**
   * One stretch of the backward candidate walk: old TPs k = hi−1 down to lo, which
   * after the events sit at new index k + dk with precision
   * (k+1+dk) / (fp[k]+dF+k+1+dk+EPS); keeps the running maximum (wMx) and adds it
   * (wSum) at every recall target reached (wR, over wKr). (A variant that skipped
   * blocks by a precision bound was exact but measured slower at 1,000–2,000 images.)
   */
  private rangeWalk(lfp: Int32Array, lo: number, hi: number, dk: number, dF: number): void {
    const kr = this.wKr;
    let mx = this.wMx;
    let sum = this.wSum;
    let r = this.wR;
    // stretch by stretch: the maximum down to the next recall point's TP, then the sums there
    let k = hi;
    while (r >= 0) {
      const kt = kr[r] - 1 - dk;
      const stop = kt > lo ? kt : lo;
      for (let x = k - 1; x >= stop; x--) {
        const tp = x + 1 + dk;
        const v = tp / (lfp[x] + dF + tp + EPS);
        if (v > mx) mx = v;
      }
      k = stop;
      if (kt < lo) break;
      do {
        sum += mx;
        r--;
      } while (r >= 0 && kr[r] - 1 - dk === kt);
    }
    this.wMx = mx;
    this.wSum = sum;
    this.wR = r;
  }

  /**
   * rangeWalk over old TPs [lo, hi) with offsets (dk, dF), using suffix maxima sm of the
   * offset precision (list.S for (0, 0), else a lazily built OffsetMax cache): values are
   * computed one by one only until the running maximum reaches sm[hi]; from there on
   * max(running max, max v'[x..hi)) = max(running max, sm[x]) for every x further left,
   * so each remaining recall point costs O(1). Same floats as rangeWalk: the maxima are
   * of the same values and the sums are added in the same order.
   */
  private segmentWalk(list: TpList, lo: number, hi: number, dk: number, dF: number): void {
    const unchanged = dk === 0 && dF === 0;
    if (!unchanged && (!this.offsetCaches || hi - lo < MIN_CACHED_SEGMENT || list.offsetBuildCost(dk, dF, lo) > BUILD_FACTOR * (hi - lo))) {
      this.rangeWalk(list.fp, lo, hi, dk, dF);
      return;
    }
    if (!unchanged) this.stats.offsetCacheSegments++;
    const sm = unchanged ? list.S : list.offsetMax(dk, dF, lo);
    const lfp = list.fp;
    const kr = this.wKr;
    const bound = sm[hi];
    let mx = this.wMx;
    let sum = this.wSum;
    let r = this.wR;
    let target = r >= 0 ? kr[r] - 1 : -1;
    let k = hi - 1;
    for (; k >= lo && r >= 0 && mx < bound; k--) {
      const tp = k + 1 + dk;
      const v = tp / (lfp[k] + dF + tp + EPS);
      if (v > mx) mx = v;
      while (tp - 1 === target) {
        sum += mx;
        r--;
        target = r >= 0 ? kr[r] - 1 : -1;
      }
    }
    if (k >= lo && r >= 0) {
      // mx ≥ sm[hi] and mx covers (k, hi): the rest [lo, k] by suffix maxima
      while (r >= 0 && target - dk >= lo) {
        const sv = sm[target - dk];
        sum += sv > mx ? sv : mx;
        r--;
        target = r >= 0 ? kr[r] - 1 : -1;
      }
      if (sm[lo] > mx) mx = sm[lo];
    }
    this.wMx = mx;
    this.wSum = sum;
    this.wR = r;
  }

  /**
   * Precision sum of (category, threshold t) if the events were applied, without
   * changing the state. Walks backward once: the tail after the last event (reused
   * when the events leave the TP and FP counts unchanged), the segments between
   * events (old TPs with a constant index / FP offset) and the new TPs, then the
   * untouched prefix only until its interpolated precision provably equals the old one.
   */
  private candidateSum(st: CategoryState, t: number, m: number, npigNew: number): number {
    const p = this.p;
    const sc = this.scratch;
    const list = st.tp[t];
    const K = list.K;
    const lpos = list.pos;
    const lfp = list.fp;
    const sameKr = npigNew === st.npig;
    const status = p.detStatus;
    let me = 0;
    const eJ = sc.evJ;
    const eP = sc.evP;
    const lastPos = K > 0 ? lpos[K - 1] : -1;
    for (let j = 0; j < m; j++) {
      const s = status[sc.evDet[j] * T + t];
      if (s !== ST_TP && s !== ST_FP) continue;
      const x = sc.evPos[j];
      eJ[me] = j;
      eP[me] = x > lastPos ? K : x <= lpos[0] ? 0 : lowerBound(lpos, K, x);
      me++;
    }
    while (me > 0 && eP[me - 1] === K && status[sc.evDet[eJ[me - 1]] * T + t] === ST_FP) me--;
    if (sameKr && me === 0) return list.psum;
    const kr = sameKr ? st.kr! : recallTpIndex(npigNew);
    const start = !sameKr || me === 0 ? 0 : eP[0];
    // forward over the events: segment bounds and offsets, values of new TPs
    const segLo = sc.segLo;
    const segDk = sc.segDk;
    const segDf = sc.segDf;
    const newV = sc.newV;
    const newIdx = sc.newIdx;
    const fen = st.fen;
    let oldK = start;
    let dk = 0;
    let dF = 0;
    for (let e = 0; e < me; e++) {
      const j = eJ[e];
      const Pj = eP[e];
      segLo[e] = oldK;
      segDk[e] = dk;
      segDf[e] = dF;
      if (Pj > oldK) oldK = Pj;
      newV[e] = -1;
      const s = status[sc.evDet[j] * T + t];
      if (sc.evNew[j] === 0) {
        if (s === ST_TP) {
          oldK = Pj + 1;
          dk--;
        } else dF--;
      } else if (s === ST_TP) {
        const tp = Pj + dk + 1;
        newV[e] = tp / (fen.prefix(sc.evPos[j], t) + dF + tp + EPS);
        newIdx[e] = Pj + dk;
        dk++;
      } else dF++;
    }
    const reuseTail = sameKr && dk === 0 && dF === 0;
    let r: number;
    let mx = 0;
    let sum = 0;
    if (reuseTail) {
      r = lastBelow(kr, oldK + 1);
      sum = list.qSuf[r + 1];
      mx = list.S[oldK];
    } else {
      r = lastBelow(kr, K + dk + 1);
    }
    let target = r >= 0 ? kr[r] - 1 : -1;
    if (!reuseTail) {
      this.wMx = mx;
      this.wSum = sum;
      this.wR = r;
      this.wKr = kr;
      this.rangeWalk(lfp, oldK, K, dk, dF);
      mx = this.wMx;
      sum = this.wSum;
      r = this.wR;
      target = r >= 0 ? kr[r] - 1 : -1;
    }
    for (let e = me - 1; e >= 0 && r >= 0; e--) {
      const nv = newV[e];
      if (nv >= 0) {
        if (nv > mx) mx = nv;
        while (newIdx[e] === target) {
          sum += mx;
          r--;
          target = r >= 0 ? kr[r] - 1 : -1;
        }
      }
      if (eP[e] <= segLo[e]) continue;
      this.wMx = mx;
      this.wSum = sum;
      this.wR = r;
      this.wKr = kr;
      this.segmentWalk(list, segLo[e], eP[e], segDk[e], segDf[e]);
      mx = this.wMx;
      sum = this.wSum;
      r = this.wR;
      target = r >= 0 ? kr[r] - 1 : -1;
    }
    if (r >= 0 && start > 0) {
      // prefix: old values at the same indices; new q = max(max old v[k..start), mx)
      const mOld = list.S[start];
      const v = list.v;
      let run = 0;
      for (let k = start - 1; k >= 0 && r >= 0; k--) {
        if (v[k] > run) run = v[k];
        if (run >= mx && run >= mOld) {
          sum += list.qPre[r + 1];
          r = -1;
          break;
        }
        while (k === target) {
          sum += run > mx ? run : mx;
          r--;
          target = r >= 0 ? kr[r] - 1 : -1;
        }
      }
    }
    return sum;
  }

  /** mAP with image i at shift s; the state is unchanged. */
  candidate(i: number, s: number): number {
    const a = this.assignment[i];
    if (s === a) return this.currentMap;
    const n = this.collectTouched(i, a, s);
    if (n === 0) return this.currentMap;
    const p = this.p;
    for (let j = 0; j < n; j++) {
      const st = this.cats[this.touchedCat[j]];
      const oc = this.touchedOld[j];
      const nc = this.touchedNew[j];
      const npigNew = st.npig - (oc < 0 ? 0 : p.cellNpig[oc]) + (nc < 0 ? 0 : p.cellNpig[nc]);
      if (npigNew <= 0) {
        this.candPSum[j] = -1;
        continue;
      }
      const m = this.buildEvents(oc, nc);
      if (npigNew === st.npig && this.fpOnlyNoop(st, m)) {
        this.candPSum[j] = st.pSum;
        continue;
      }
      let ps = 0;
      for (let t = 0; t < T; t++) {
        ps += m === 0 && npigNew === st.npig ? st.tp[t].psum : m === 0 ? this.walkNoEvents(st, t, npigNew) : this.candidateSum(st, t, m, npigNew);
      }
      this.candPSum[j] = ps;
    }
    return this.mapFromPSums(n);
  }

  /** Precision sum of an unchanged TP list under a different npig (no detections moved, gt changed). */
  private walkNoEvents(st: CategoryState, t: number, npigNew: number): number {
    const list = st.tp[t];
    return precisionSumFromTp(list.v, list.K, recallTpIndex(npigNew));
  }

  /** Moves image i to shift s and updates the state exactly. */
  move(i: number, s: number): void {
    const a = this.assignment[i];
    if (s === a) return;
    const p = this.p;
    const n = this.collectTouched(i, a, s);
    const sc = this.scratch;
    for (let j = 0; j < n; j++) {
      const st = this.cats[this.touchedCat[j]];
      const oc = this.touchedOld[j];
      const nc = this.touchedNew[j];
      const npigNew = st.npig - (oc < 0 ? 0 : p.cellNpig[oc]) + (nc < 0 ? 0 : p.cellNpig[nc]);
      const m = this.buildEvents(oc, nc);
      if (npigNew === st.npig && this.fpOnlyNoop(st, m)) {
        // TP lists unchanged: only the FP counters move
        for (let e = 0; e < m; e++) st.fen.add(sc.evPos[e], sc.evNew[e] ? 1 : -1);
        continue;
      }
      const kr = npigNew > 0 ? recallTpIndex(npigNew) : null;
      for (let t = 0; t < T; t++) {
        const list = st.tp[t];
        let validBelow = 0;
        let changedFrom = list.K;
        if (m > 0) {
          const K2 = this.walk(st, t, m, npigNew, true);
          const from = this.matStart;
          list.ensure(K2);
          list.pos.set(sc.pos.subarray(from, K2), from);
          list.fp.set(sc.fp.subarray(from, K2), from);
          list.v.set(sc.v.subarray(from, K2), from);
          list.K = K2;
          validBelow = from;
          changedFrom = from;
          if (t === 0) {
            for (let e = 0; e < m; e++) {
              if (this.detKind[sc.evDet[e]] !== KIND_TP) continue;
              st.anyTp.add(sc.evPos[e], sc.evNew[e] ? 1 : -1);
              st.anyTpTotal += sc.evNew[e] ? 1 : -1;
            }
          }
        }
        list.finalize(kr, validBelow, changedFrom);
      }
      // FP counters after every threshold's walk (each walk reads the old counts)
      for (let e = 0; e < m; e++) st.fen.add(sc.evPos[e], sc.evNew[e] ? 1 : -1, this.fpMask[sc.evDet[e]]);
      st.npig = npigNew;
      st.kr = kr;
      st.pSum = this.sumPsum(st);
    }
    this.assignment[i] = s;
    this.currentMap = this.mapFromPSums(null);
  }
}

/** Largest r with kr[r] < x (kr nondecreasing, length R), or −1. */
function lastBelow(kr: Int32Array, x: number): number {
  let lo = 0;
  let hi = R;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (kr[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

/** First index in a[0..n) with a[index] ≥ x (a ascending). */
function lowerBound(a: Int32Array, n: number, x: number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

// ------------------------------------------------------------------ search

/** mAP (AP@[.5:.95], stats[0]) of an assignment (shift index per image, ascending image id), from scratch with evaluateCoco. */
export function mapForAssignment(c: BoundsCase, assignment: ArrayLike<number>, opts: GreedyOptions = {}): number {
  const gt0 = gtFor(c, 0);
  const ids = [...new Set(gt0.images.map((im) => im.id))].sort((a, b) => a - b);
  const shiftOf = new Map(ids.map((id, i) => [id, assignment[i]]));
  const anns: CocoGroundTruth['annotations'] = Array.isArray(c.gt)
    ? c.gt.flatMap((g, s) => g.annotations.filter((a) => shiftOf.get(a.image_id) === s))
    : c.gt.annotations;
  const dets: CocoResult[] = [];
  for (let s = 0; s < c.shifts.length; s++) for (const d of c.dets[s]) if (shiftOf.get(d.image_id) === s) dets.push(d);
  return evaluateCoco({ images: gt0.images, categories: gt0.categories, annotations: anns }, dets, opts).stats[0];
}

/** Result of one greedy search. */
export interface SearchResult {
  value: number;
  passes: number;
  assign: number[];
}

/** One greedy search (dir 1: upper, −1: lower) from s0 on the engine; internal, exported for the worker entry. */
export function runSearch(engine: ShiftMapEngine, dir: 1 | -1, maxPasses: number, opts: GreedyOptions, label: 'lower' | 'upper'): SearchResult {
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
      if (opts.onProgress && (n & 255) === 0) opts.onProgress({ search: label, pass, image: n, images: movable.length });
      const cur = engine.assignment[i];
      let best = -Infinity;
      for (let s = 0; s < S; s++) {
        if (s === cur) vals[s] = engine.map;
        else {
          vals[s] = engine.candidate(i, s);
          if (opts.counters) opts.counters.candidates++;
        }
        if (dir * vals[s] > best) best = dir * vals[s];
      }
      if (dir * vals[cur] >= best - TIE_TOLERANCE) continue;
      let pick = 0;
      while (dir * vals[pick] < best - TIE_TOLERANCE) pick++;
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
 * (default 5); `passes` counts the last, unchanged pass too. relRange is 0 when mapRef ≤ 0.
 * Assignments are shift indices per image in ascending image-id order.
 * @throws ShiftbenchError ERR_METRICS_INPUT on malformed input (see validateBoundsCase).
 */
export function greedyBounds(c: BoundsCase, opts: GreedyOptions = {}): BoundsSummary {
  const prepared = prepareBounds(c, opts);
  return greedyBoundsPrepared(prepared, c.maxPasses ?? DEFAULT_MAX_PASSES, opts);
}

/** greedyBounds on an already prepared case (one thread: lower search, then upper search). */
export function greedyBoundsPrepared(prepared: PreparedBounds, maxPasses = DEFAULT_MAX_PASSES, opts: GreedyOptions = {}): BoundsSummary {
  const engine = new ShiftMapEngine(prepared);
  const perShift = perShiftMaps(engine, opts);
  const lo = runSearch(engine, -1, maxPasses, opts, 'lower');
  const hi = runSearch(engine, 1, maxPasses, opts, 'upper');
  return summarize(perShift, lo, hi);
}

function perShiftMaps(engine: ShiftMapEngine, opts: GreedyOptions): number[] {
  const p = engine.p;
  const perShift: number[] = [];
  for (let s = 0; s < p.numShifts; s++) {
    opts.onProgress?.({ search: 'perShift', pass: 0, image: s, images: p.numShifts });
    engine.setAssignment(new Int32Array(p.numImages).fill(s));
    perShift.push(engine.map);
  }
  return perShift;
}

function summarize(perShift: number[], lo: SearchResult, hi: SearchResult): BoundsSummary {
  const mapRef = perShift[0];
  const mapRange = hi.value - lo.value;
  return {
    mapRef,
    mapLower: lo.value,
    mapUpper: hi.value,
    mapRange,
    relRange: mapRef > 0 ? mapRange / mapRef : 0,
    perShift,
    passes: { lower: lo.passes, upper: hi.passes },
    assignLower: lo.assign,
    assignUpper: hi.assign,
  };
}

export interface ParallelBoundsOptions extends GreedyOptions {
  /**
   * Run the two searches in worker threads (default true); false runs them one after the
   * other here; 'auto' uses workers where they pay (see workersPay).
   */
  workers?: boolean | 'auto';
  /** Called once if the worker threads could not be used and the searches ran on this thread instead. */
  onWorkerFallback?: (reason: string) => void;
}

/** Fewest images for which greedyBoundsParallel with workers: 'auto' starts worker threads. */
export const WORKERS_MIN_IMAGES = 500;

/**
 * Whether two worker threads pay for a prepared case: from WORKERS_MIN_IMAGES images on
 * with at least two shifts (about a second of search per thread and more; starting a
 * worker and copying the prepared arrays to it costs tens of milliseconds).
 */
export function workersPay(prepared: PreparedBounds): boolean {
  return prepared.numShifts > 1 && prepared.numImages >= WORKERS_MIN_IMAGES;
}

/**
 * A worker running the entry next to this module: the compiled .js directly, or —
 * running from TypeScript source (tsx, vitest) — a bootstrap that registers tsx in the
 * worker first (worker threads do not inherit the loader on Node 20).
 */
function startWorker(workerData: unknown): Worker {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) return new Worker(new URL('./boundsWorker.js', here), { workerData });
  // tsx's ESM API (package export "tsx/esm/api", import condition), found from the require-condition file beside it
  const tsxApi = pathToFileURL(createRequire(here).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href;
  const target = new URL('./boundsWorker.ts', here).href;
  const boot =
    `import(${JSON.stringify(tsxApi)}).then((api) => { api.register(); return import(${JSON.stringify(target)}); })` +
    `.catch((e) => { require('node:worker_threads').parentPort.postMessage({ type: 'error', message: String((e && e.message) || e) }); });`;
  return new Worker(boot, { eval: true, workerData });
}

function searchInWorker(prepared: PreparedBounds, dir: 1 | -1, maxPasses: number, opts: GreedyOptions): Promise<SearchResult> {
  return new Promise((resolve, reject) => {
    const label = dir === 1 ? 'upper' : 'lower';
    let done = false;
    const worker = startWorker({ prepared, dir, maxPasses, progress: opts.onProgress !== undefined });
    worker.on('message', (m: BoundsWorkerMessage) => {
      if (m.type === 'progress') opts.onProgress?.({ search: label, pass: m.pass, image: m.image, images: m.images });
      else if (m.type === 'result') {
        done = true;
        if (opts.counters) {
          opts.counters.candidates += m.candidates;
          opts.counters.moves += m.moves;
        }
        resolve(m.result);
      } else {
        done = true;
        reject(new Error(m.message));
      }
    });
    worker.on('error', (e) => {
      done = true;
      reject(e);
    });
    worker.on('exit', (code) => {
      if (!done) reject(new Error(`bounds worker exited with code ${code} before answering`));
    });
  });
}

/**
 * greedyBoundsPrepared with the lower and upper searches in two worker threads
 * (node:worker_threads), while this thread computes perShift. The answer is
 * bit-identical to greedyBoundsPrepared's: each search starts from the same exactly
 * rebuilt state. If workers cannot be started (or fail), the searches run here, one
 * after the other, and `onWorkerFallback` is told why.
 * @throws nothing beyond greedyBoundsPrepared's errors.
 */
export async function greedyBoundsParallel(prepared: PreparedBounds, maxPasses = DEFAULT_MAX_PASSES, opts: ParallelBoundsOptions = {}): Promise<BoundsSummary> {
  if (opts.workers === false || (opts.workers === 'auto' && !workersPay(prepared))) return greedyBoundsPrepared(prepared, maxPasses, opts);
  // workers count their own work; add it only on success so a fallback does not count twice
  const counters = { candidates: 0, moves: 0 };
  const wopts: GreedyOptions = { ...opts, counters };
  let searches: Promise<[SearchResult, SearchResult]>;
  try {
    searches = Promise.all([searchInWorker(prepared, -1, maxPasses, wopts), searchInWorker(prepared, 1, maxPasses, wopts)]);
  } catch (e) {
    searches = Promise.reject(e);
  }
  // keep the rejection handled while perShift runs
  const settled = searches.then(
    (r) => ({ ok: true as const, r }),
    (e: unknown) => ({ ok: false as const, e }),
  );
  const engine = new ShiftMapEngine(prepared);
  const perShift = perShiftMaps(engine, opts);
  const out = await settled;
  if (out.ok) {
    if (opts.counters) {
      opts.counters.candidates += counters.candidates;
      opts.counters.moves += counters.moves;
    }
    return summarize(perShift, out.r[0], out.r[1]);
  }
  opts.onWorkerFallback?.(out.e instanceof Error ? out.e.message : String(out.e));
  const lo = runSearch(engine, -1, maxPasses, opts, 'lower');
  const hi = runSearch(engine, 1, maxPasses, opts, 'upper');
  return summarize(perShift, lo, hi);
}

/**
 * Reads a bounds case from parsed JSON (the golden format or the library's): shifts as
 * `[dx, dy]` pairs or `{dx, dy}`, `gt` one ground truth or one per shift, `dets` one
 * COCO-results list per shift, optional `maxPasses`; other fields (e.g. `expected`)
 * are ignored. Pure. Throws ERR_METRICS_INPUT naming what is malformed.
 */
export function parseBoundsCase(json: unknown): BoundsCase {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw metricsError(`Expected a JSON object with "gt", "shifts" and "dets" for the bounds case but received ${describeValue(json)}`);
  }
  const o = json as Record<string, unknown>;
  if (!Array.isArray(o.shifts)) throw metricsError(`Expected a list of shifts ([dx, dy] or {dx, dy}) for shifts but received ${describeValue(o.shifts)}`);
  const shifts: Shift[] = o.shifts.map((s, i) => {
    if (Array.isArray(s) && s.length === 2) return { dx: s[0] as number, dy: s[1] as number };
    if (typeof s === 'object' && s !== null && 'dx' in s && 'dy' in s) return { dx: (s as Shift).dx, dy: (s as Shift).dy };
    throw metricsError(`Expected [dx, dy] or {dx, dy} for shifts[${i}] but received ${describeValue(s)}`);
  });
  if (o.gt === undefined) throw metricsError('Expected a ground truth (or one per shift) for gt but received undefined');
  if (!Array.isArray(o.dets) || !o.dets.every(Array.isArray)) {
    throw metricsError(`Expected one COCO-results list per shift for dets but received ${describeValue(o.dets)}`);
  }
  const c: BoundsCase = { gt: o.gt as BoundsCase['gt'], shifts, dets: o.dets as CocoResult[][] };
  if (o.maxPasses !== undefined) c.maxPasses = o.maxPasses as number;
  validateBoundsCase(c);
  return c;
}
