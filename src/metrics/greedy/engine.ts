/**
 * ShiftMapEngine: incremental mAP over per-image shift assignments (protocol §4).
 *
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
import { EPS, ST_FP, ST_TP, precisionSumFromTp, recallTpIndex } from '../cocoeval.js';
import type { PreparedBounds } from './prepare.js';
import { OBJECTIVE_THRESHOLDS, type BoundsObjective } from './case.js';
import {
  BUILD_FACTOR,
  CategoryState,
  KIND_ALL_FP,
  KIND_TP,
  MIN_CACHED_SEGMENT,
  MIN_CACHED_STRETCH,
  R,
  Scratch,
  T,
  categoryArenaLength,
  copyTpEntries,
  lastBelow,
  lowerBoundAfter,
  maxShiftedPrecision,
  stretchSlot,
  type EngineStats,
  type TpList,
} from './structures.js';

/**
 * Incremental mAP over shift assignments. `setAssignment` builds the state from
 * scratch; `candidate(i, s)` returns mAP with image i moved to shift s without
 * changing the state; `move(i, s)` applies it.
 */
export class ShiftMapEngine {
  readonly assignment: Int32Array;
  private readonly cats: CategoryState[];
  private readonly scratch = new Scratch();
  /**
   * The touched categories of a visit's candidates, shift s's in slots [s·numCats, s·numCats + visitCount[s]): the
   * category, its old and new cell, its candidate precision sum, and 1 where its walk was left for after the bound.
   */
  private readonly touchedCat: Int32Array;
  private readonly touchedOld: Int32Array;
  private readonly touchedNew: Int32Array;
  private readonly candPSum: Float64Array;
  private readonly touchedDeferred: Uint8Array;
  /** candidateSum's result (see categoryCandidate). */
  private readonly sumOut = new Float64Array(1);
  /** The visit beginVisit prepared: image, direction, touched categories and deferred walks per shift. */
  private visitImage = -1;
  private visitDir: -1 | 0 | 1 = 0;
  private readonly visitCount: Int32Array;
  private readonly visitDeferred: Int32Array;
  /** beginVisit's per-category chains of slots (−1 ends a chain; catHead is all −1 between visits). */
  private readonly catHead: Int32Array;
  private readonly catNext: Int32Array;
  private readonly catOrder: Int32Array;
  /** Whether candidateAbove may prove a candidate below its floor without walking every category. */
  private readonly pruning: boolean;
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
  /** Start of each category's universe in activeFlags (prefix sums of the universe sizes). */
  private readonly catOffset: Int32Array;
  /** setAssignment's scratch: 1 at each active detection's universe position (catOffset[c] + uPos[d]). */
  private readonly activeFlags: Uint8Array;
  /** rebuildCategory's scratch: the active detections' universe positions, and Fenwick lane masks. */
  private actJ = new Int32Array(0);
  private actMask = new Uint16Array(0);
  private readonly laneMask: number;
  /** State of rangeWalk: running max, sum, recall index, recall table. */
  private wMx = 0;
  private wSum = 0;
  private wR = -1;
  private wKr: Int32Array = new Int32Array(0);
  /** Whether rangeWalk may use the list's stretch caches (wKr is the list's own recall table). */
  private wStretch = false;
  /** First TP index materialize() wrote (the list is unchanged before it). */
  private matStart = 0;
  /** End of what materialize() changed: from this index on the new list equals the old one. */
  private matEnd = 0;

  /** Work counters (for tests and benchmarks). */
  readonly stats: EngineStats = {
    offsetCacheSegments: 0,
    offsetCacheRepairs: 0,
    stretchCacheHits: 0,
    stretchCacheMisses: 0,
  };
  private readonly offsetCaches: boolean;
  /** The IoU thresholds [t0, t1) the objective averages, and its denominator (thresholds × recall points). */
  private readonly t0: number;
  private readonly t1: number;
  private readonly apDenom: number;

  /**
   * @param p the prepared case (prepareBounds).
   * @param opts.objective what "mAP" is: 'ap' (AP@[.50:.95], default), 'ap50' or 'ap75'.
   * @param opts.pruning let candidateAbove prove candidates below its floor early (default true; false walks every
   *   touched category of every candidate — the same search results, for tests).
   * @param opts.offsetCaches use OffsetMax and stretch caches in candidate walks (default true; false
   *   walks every shifted segment value by value — same results, for tests).
   */
  constructor(
    readonly p: PreparedBounds,
    opts: { offsetCaches?: boolean; objective?: BoundsObjective; pruning?: boolean } = {},
  ) {
    this.offsetCaches = opts.offsetCaches ?? true;
    const objective = opts.objective ?? 'ap';
    [this.t0, this.t1] = OBJECTIVE_THRESHOLDS[objective];
    this.apDenom = (this.t1 - this.t0) * R;
    this.assignment = new Int32Array(p.numImages);
    const slots = p.numShifts * p.numCats;
    this.touchedCat = new Int32Array(slots);
    this.touchedOld = new Int32Array(slots);
    this.touchedNew = new Int32Array(slots);
    this.candPSum = new Float64Array(slots);
    this.touchedDeferred = new Uint8Array(slots);
    this.visitCount = new Int32Array(p.numShifts);
    this.visitDeferred = new Int32Array(p.numShifts);
    this.catHead = new Int32Array(p.numCats).fill(-1);
    this.catNext = new Int32Array(slots);
    this.catOrder = new Int32Array(p.numCats);
    this.pruning = opts.pruning ?? true;
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
    // every category's Fenwick trees in one buffer
    let arenaLength = 0;
    for (const u of p.universe) arenaLength += categoryArenaLength(u.length);
    const arena = new Int32Array(arenaLength);
    let at = 0;
    this.cats = p.universe.map((u) => {
      const n = categoryArenaLength(u.length);
      const st = new CategoryState(u, this.detKind, this.tpKindBefore, this.stats, arena.subarray(at, at + n));
      at += n;
      return st;
    });
    this.catOffset = new Int32Array(p.numCats + 1);
    for (let c = 0; c < p.numCats; c++) this.catOffset[c + 1] = this.catOffset[c] + p.universe[c].length;
    this.activeFlags = new Uint8Array(this.catOffset[p.numCats]);
    this.laneMask = ((1 << this.t1) - 1) & ~((1 << this.t0) - 1);
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
    // npig per category, and the active detections' universe positions
    const npig = new Int32Array(p.numCats);
    const active = this.activeFlags;
    active.fill(0);
    for (let i = 0; i < p.numImages; i++) {
      const s = this.assignment[i];
      for (let cell = p.isStart[i * p.numShifts + s]; cell < p.isStart[i * p.numShifts + s + 1]; cell++) {
        const c = p.cellCat[cell];
        npig[c] += p.cellNpig[cell];
        const off = this.catOffset[c];
        for (let d = p.cellStart[cell]; d < p.cellEnd[cell]; d++) active[off + p.uPos[d]] = 1;
      }
    }
    for (let c = 0; c < p.numCats; c++) this.rebuildCategory(c, npig[c]);
    this.visitImage = -1;
    this.currentMap = this.mapFromPSums(0, 0);
  }

  private rebuildCategory(c: number, npig: number): void {
    const p = this.p;
    const st = this.cats[c];
    const u = st.universe;
    const U = u.length;
    st.npig = npig;
    const kr = npig > 0 ? recallTpIndex(npig) : null;
    st.kr = kr;
    if (this.actJ.length < U) {
      this.actJ = new Int32Array(U);
      this.actMask = new Uint16Array(U);
    }
    // the active detections (universe order) once, then each threshold walks only those
    const actJ = this.actJ;
    const mask = this.actMask;
    const active = this.activeFlags;
    const off = this.catOffset[c];
    let nAct = 0;
    let anyTp = 0;
    for (let j = 0; j < U; j++) {
      if (active[off + j] === 0) continue;
      const isTp = this.detKind[u[j]] === KIND_TP;
      mask[nAct] = isTp ? 1 : 0;
      actJ[nAct++] = j;
      if (isTp) anyTp++;
    }
    st.anyTp.buildLanes(actJ, mask, nAct);
    st.anyTpTotal = anyTp;
    // FP counters of every threshold at once
    for (let a = 0; a < nAct; a++) mask[a] = this.fpMask[u[actJ[a]]] & this.laneMask;
    st.fen.buildLanes(actJ, mask, nAct);
    const status = p.detStatus;
    for (let t = this.t0; t < this.t1; t++) {
      const list = st.tp[t];
      list.K = 0;
      let tp = 0;
      let fp = 0;
      for (let a = 0; a < nAct; a++) {
        const j = actJ[a];
        const s = status[u[j] * T + t];
        if (s === ST_TP) {
          tp++;
          list.ensure(tp);
          list.pos[tp - 1] = j;
          list.fp[tp - 1] = fp;
          list.v[tp - 1] = tp / (fp + tp + EPS);
        } else if (s === ST_FP) fp++;
      }
      list.K = tp;
      list.finalize(kr);
    }
    st.pSum = this.sumPsum(st);
  }

  private sumPsum(st: CategoryState): number {
    if (st.npig <= 0) return -1;
    let s = 0;
    for (let t = this.t0; t < this.t1; t++) s += st.tp[t].psum;
    return s;
  }

  /** mAP from per-category pSums, the touchedCount touched categories in slots from base on at their candidate sums. */
  private mapFromPSums(touchedCount: number, base: number): number {
    const K = this.p.numCats;
    let s = 0;
    let n = 0;
    let ti = base;
    const end = base + touchedCount;
    for (let c = 0; c < K; c++) {
      let v = this.cats[c].pSum;
      if (ti < end && this.touchedCat[ti] === c) v = this.candPSum[ti++];
      if (v > -1) {
        s += v;
        n += this.apDenom;
      }
    }
    return n === 0 ? -1 : s / n;
  }

  /**
   * Collects the categories whose cells differ between shifts a and b of image i into the slots from base on, in
   * ascending category order. Returns the count.
   */
  private collectTouched(i: number, a: number, b: number, base: number): number {
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
      this.touchedCat[base + n] = cat;
      this.touchedOld[base + n] = oldCell;
      this.touchedNew[base + n] = newCell;
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
    if (m > 0 && !this.allFalsePositives(m)) return false;
    if (st.anyTpTotal === 0) return true;
    const fen = st.anyTp;
    const kindBefore = this.tpKindBefore;
    let d = 0;
    for (let e = 0; e < m; e++) {
      d += sc.evNew[e] ? 1 : -1;
      if (d === 0) continue;
      // no detection that is a TP anywhere lies between this event and the next (the events are FPs): then certainly no
      // active one
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
   * Writes the TP list of (category state, threshold t) after the m scratch events into
   * the scratch arrays (pos, fp, precision), from the first event's TP index on (the
   * prefix is unchanged; matStart says where) up to matEnd (from there on the list is
   * unchanged, and not written), and returns its new length; −1, writing nothing, when the
   * events leave the list as it is.
   */
  private materialize(st: CategoryState, t: number, m: number): number {
    const p = this.p;
    const sc = this.scratch;
    const list = st.tp[t];
    const fen = st.fen;
    const K = list.K;
    // events that matter at this threshold (TP or FP; ignored detections change nothing), with their old TP index
    let me = 0;
    const eJ = sc.evJ;
    const eP = sc.evP;
    let at = 0;
    for (let j = 0; j < m; j++) {
      const s = p.detStatus[sc.evDet[j] * T + t];
      if (s !== ST_TP && s !== ST_FP) continue;
      eJ[me] = j;
      eP[me] = at = lowerBoundAfter(list.pos, K, sc.evPos[j], at);
      me++;
    }
    // false positives after the last TP (old and new) change nothing either
    while (me > 0 && eP[me - 1] === K && p.detStatus[sc.evDet[eJ[me - 1]] * T + t] === ST_FP) me--;
    if (me === 0 || this.fpOnlyNoopAt(t, me, K)) return -1;
    const start = eP[0];
    this.matStart = start;
    sc.ensureV(K + m + 1);
    const vOut = sc.v;
    const posOut = sc.pos;
    const fpOut = sc.fp;
    let out = start; // next new TP index
    let oldK = start; // next old TP index to emit
    let dk = 0;
    let dF = 0;
    for (let e = 0; e < me; e++) {
      const j = eJ[e];
      const Pj = eP[e];
      // old TPs before this event, at their offsets (none: the same index, count and precision)
      out = this.emitOld(list, oldK, Pj, out, dk, dF);
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
        posOut[out] = x;
        fpOut[out] = f;
        out++;
        dk++;
      } else dF++;
    }
    // with no net offsets the old TPs after the last event keep their index, position and count: not written
    if (dk === 0 && dF === 0) {
      this.matEnd = out;
      return K;
    }
    this.matEnd = Math.max(K, out + K - oldK);
    return this.emitOld(list, oldK, K, out, dk, dF);
  }

  /**
   * Writes the old TPs [from, to) of a list, which after the events sit at offsets (dk, dF), into the scratch
   * arrays from index out on; returns the next index. Without offsets the old precision is copied (the same float).
   */
  private emitOld(list: TpList, from: number, to: number, out: number, dk: number, dF: number): number {
    const sc = this.scratch;
    if (dk === 0 && dF === 0) return copyTpEntries(list.pos, list.fp, list.v, from, to, sc.pos, sc.fp, sc.v, out);
    const vOut = sc.v;
    const posOut = sc.pos;
    const fpOut = sc.fp;
    const lpos = list.pos;
    const lfp = list.fp;
    for (let k = from; k < to; k++) {
      const tp = k + 1 + dk;
      const f = lfp[k] + dF;
      vOut[out] = tp / (f + tp + EPS);
      posOut[out] = lpos[k];
      fpOut[out] = f;
      out++;
    }
    return out;
  }

  /**
   * One stretch of the backward candidate walk: old TPs k = hi−1 down to lo, which
   * after the events sit at new index k + dk with precision
   * (k+1+dk) / (fp[k]+dF+k+1+dk+EPS); keeps the running maximum (wMx) and adds it
   * (wSum) at every recall target reached (wR, over wKr). (A variant that skipped
   * blocks by a precision bound was exact but measured slower at 1,000–2,000 images.)
   */
  private rangeWalk(list: TpList, lo: number, hi: number, dk: number, dF: number): void {
    const lfp = list.fp;
    const kr = this.wKr;
    let mx = this.wMx;
    let sum = this.wSum;
    let r = this.wR;
    const slot = this.wStretch ? stretchSlot(dk, dF) : -1;
    // stretch by stretch: the maximum down to the next recall point's TP, then the sums there; a whole recall
    // stretch [kr[r]−1−dk, kr[r+1]−1−dk) inside [lo, hi) may come from the list's stretch cache (the same maximum)
    let k = hi;
    while (r >= 0) {
      const kt = kr[r] - 1 - dk;
      const stop = kt > lo ? kt : lo;
      if (slot >= 0 && stop === kt && k - kt >= MIN_CACHED_STRETCH && r < R - 1 && k === kr[r + 1] - 1 - dk) {
        const at = list.stretchAt(slot, r, kt, k, dk, dF); // first: it may allocate stretchMax
        const m = list.stretchMax![at];
        if (m > mx) mx = m;
      } else {
        const m = maxShiftedPrecision(lfp, stop, k, dk, dF);
        if (m > mx) mx = m;
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
    if (
      !unchanged &&
      (!this.offsetCaches ||
        hi - lo < MIN_CACHED_SEGMENT ||
        list.offsetBuildCost(dk, dF, lo) > BUILD_FACTOR * (hi - lo))
    ) {
      this.rangeWalk(list, lo, hi, dk, dF);
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
  private candidateSum(st: CategoryState, t: number, m: number, npigNew: number): void {
    const p = this.p;
    const sc = this.scratch;
    const list = st.tp[t];
    const K = list.K;
    const lpos = list.pos;
    const sameKr = npigNew === st.npig;
    const status = p.detStatus;
    let me = 0;
    const eJ = sc.evJ;
    const eP = sc.evP;
    // the events ascend by position, so their old TP indices do too: each search starts at the last one's
    let at = 0;
    for (let j = 0; j < m; j++) {
      const s = status[sc.evDet[j] * T + t];
      if (s !== ST_TP && s !== ST_FP) continue;
      eJ[me] = j;
      eP[me] = at = lowerBoundAfter(lpos, K, sc.evPos[j], at);
      me++;
    }
    while (me > 0 && eP[me - 1] === K && status[sc.evDet[eJ[me - 1]] * T + t] === ST_FP) me--;
    if (sameKr && (me === 0 || this.fpOnlyNoopAt(t, me, K))) {
      this.sumOut[0] = list.psum;
      return;
    }
    const kr = sameKr ? st.kr! : recallTpIndex(npigNew);
    this.wStretch = sameKr && this.offsetCaches;
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
      this.rangeWalk(list, oldK, K, dk, dF);
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
          break;
        }
        while (k === target) {
          sum += run > mx ? run : mx;
          r--;
          target = r >= 0 ? kr[r] - 1 : -1;
        }
      }
    }
    this.sumOut[0] = sum;
  }

  /**
   * True when the me classified events of candidateSum (evJ, evP: event, old TP index) leave the TP list of
   * threshold t unchanged: every event is a false positive at t and the count of false positives before every TP
   * is the same (between two events, and after the last one, where TPs lie the events so far add up to none).
   * Same TPs, same counts: the precision sum is exactly the list's.
   */
  private fpOnlyNoopAt(t: number, me: number, K: number): boolean {
    const sc = this.scratch;
    const status = this.p.detStatus;
    let d = 0;
    for (let e = 0; e < me; e++) {
      const j = sc.evJ[e];
      if (status[sc.evDet[j] * T + t] !== ST_FP) return false;
      d += sc.evNew[j] ? 1 : -1;
      if (d !== 0 && (e + 1 < me ? sc.evP[e + 1] : K) > sc.evP[e]) return false;
    }
    return true;
  }

  /** mAP with image i at shift s; the state is unchanged. */
  candidate(i: number, s: number): number {
    return this.candidateAbove(i, s, 0, -Infinity);
  }

  /**
   * candidate(i, s) for a search in direction dir (1: highest mAP wanted, −1: lowest), which only needs candidates
   * with dir · mAP ≥ floor: returns the exact mAP, or −dir · Infinity when dir · mAP < floor is proven (see
   * visitCandidate). dir 0: always exact.
   */
  candidateAbove(i: number, s: number, dir: -1 | 0 | 1, floor: number): number {
    this.beginVisit(i, dir, s);
    return this.visitCandidate(s, floor);
  }

  /**
   * First half of a visit of image i by a search in direction dir: for every shift other than the image's own (only
   * shift `only` when it is ≥ 0) collects the touched categories and walks those that visitCandidate's bound needs
   * exactly — category by category, all shifts of a category one after the other, so that the lists a category's
   * walks read are still in the processor's caches for the next shift (the first candidate of a visit cost ~1.7× the
   * later ones when each walked all its categories before the next began). The values do not depend on that order:
   * each category's sum is the same floats whichever walk comes first. The state is unchanged.
   */
  beginVisit(i: number, dir: -1 | 0 | 1, only = -1): void {
    const p = this.p;
    const S = p.numShifts;
    const K = p.numCats;
    const a = this.assignment[i];
    const prune = dir !== 0 && this.pruning;
    this.visitImage = i;
    this.visitDir = dir;
    const head = this.catHead;
    const next = this.catNext;
    const order = this.catOrder;
    let cats = 0;
    // chains of slots per category, each in ascending shift order (built from the last shift down)
    for (let s = S - 1; s >= 0; s--) {
      this.visitCount[s] = 0;
      this.visitDeferred[s] = 0;
      if (s === a || (only >= 0 && s !== only)) continue;
      const base = s * K;
      const n = this.collectTouched(i, a, s, base);
      this.visitCount[s] = n;
      for (let j = base; j < base + n; j++) {
        const c = this.touchedCat[j];
        if (head[c] === -1) order[cats++] = c;
        next[j] = head[c];
        head[c] = j;
      }
    }
    for (let q = 0; q < cats; q++) {
      const c = order[q];
      const st = this.cats[c];
      for (let j = head[c]; j !== -1; j = next[j]) {
        const oc = this.touchedOld[j];
        const nc = this.touchedNew[j];
        const npigNew = st.npig - (oc < 0 ? 0 : p.cellNpig[oc]) + (nc < 0 ? 0 : p.cellNpig[nc]);
        this.touchedDeferred[j] = 0;
        if (npigNew <= 0) {
          this.candPSum[j] = -1;
          continue;
        }
        const m = this.buildEvents(oc, nc);
        if (prune && npigNew === st.npig && this.fpOnlyAgainst(m, dir)) {
          this.candPSum[j] = st.pSum;
          this.touchedDeferred[j] = 1;
          this.visitDeferred[(j / K) | 0]++;
          continue;
        }
        this.categoryCandidate(j, st, m, npigNew);
      }
      head[c] = -1;
    }
  }

  /**
   * Second half: the visited image at shift s, for the visit's direction dir, when only candidates with
   * dir · mAP ≥ floor matter: the exact mAP, or −dir · Infinity when dir · mAP < floor is proven. The proof leaves out
   * the touched categories whose change can only move mAP against dir — only false positives at every threshold move,
   * ground truth stays, and the count of false positives before every position only rises (dir 1) or only falls
   * (dir −1), so every precision, hence every interpolated precision, only falls or only rises — and bounds the rest
   * exactly: with those categories at their current precision sums, dir · mAP is at least the true one. The caller's
   * floor leaves a margin for the rounding of that sum (TIE_TOLERANCE + PRUNE_MARGIN below the best, search.ts).
   * Call after beginVisit of that image, before any move; the state is unchanged.
   */
  visitCandidate(s: number, floor: number): number {
    const i = this.visitImage;
    if (i < 0) throw new Error('visitCandidate without beginVisit');
    if (s === this.assignment[i]) return this.currentMap;
    const n = this.visitCount[s];
    if (n === 0) return this.currentMap;
    const base = s * this.p.numCats;
    const dir = this.visitDir;
    if (this.visitDeferred[s] > 0) {
      const bound = this.mapFromPSums(n, base);
      if (bound !== -1 && dir * bound < floor) return -dir * Infinity;
      for (let j = base; j < base + n; j++) {
        if (this.touchedDeferred[j] === 0) continue;
        const st = this.cats[this.touchedCat[j]];
        this.categoryCandidate(j, st, this.buildEvents(this.touchedOld[j], this.touchedNew[j]), st.npig);
      }
      this.visitDeferred[s] = 0;
    }
    return this.mapFromPSums(n, base);
  }

  /**
   * True when the m scratch events are false positives at every threshold and the count of false positives before
   * every universe position only rises (dir 1: mAP can only fall) or only falls (dir −1: mAP can only rise).
   */
  private fpOnlyAgainst(m: number, dir: -1 | 1): boolean {
    const sc = this.scratch;
    const kind = this.detKind;
    let d = 0;
    for (let e = 0; e < m; e++) {
      if (kind[sc.evDet[e]] !== KIND_ALL_FP) return false;
      d += sc.evNew[e] ? 1 : -1;
      if (dir * d < 0) return false;
    }
    return m > 0;
  }

  /**
   * Writes candPSum[j]: the precision sum (over the objective's thresholds) of touched category j after the m scratch
   * events. (Results go to typed arrays, not return values: a double returned from a call that is not inlined is a
   * new heap number, and the search made tens of MB of them a second.)
   */
  private categoryCandidate(j: number, st: CategoryState, m: number, npigNew: number): void {
    if (npigNew === st.npig && this.fpOnlyNoop(st, m)) {
      this.candPSum[j] = st.pSum;
      return;
    }
    let ps = 0;
    for (let t = this.t0; t < this.t1; t++) {
      if (m === 0 && npigNew === st.npig) ps += st.tp[t].psum;
      else if (m === 0) ps += this.walkNoEvents(st, t, npigNew);
      else {
        this.candidateSum(st, t, m, npigNew);
        ps += this.sumOut[0];
      }
    }
    this.candPSum[j] = ps;
  }

  /** Precision sum of an unchanged TP list under a different npig (no detections moved, gt changed). */
  private walkNoEvents(st: CategoryState, t: number, npigNew: number): number {
    const list = st.tp[t];
    return precisionSumFromTp(list.v, list.K, recallTpIndex(npigNew));
  }

  /** Whether every one of the m scratch events is a false positive at every threshold. */
  private allFalsePositives(m: number): boolean {
    const sc = this.scratch;
    for (let e = 0; e < m; e++) if (this.detKind[sc.evDet[e]] !== KIND_ALL_FP) return false;
    return m > 0;
  }

  /**
   * Applies m scratch events that are false positives at every threshold to one TP list in place: the TPs keep their
   * index and position, those after k of the events get k more (or fewer) false positives before them, and their
   * precision is recomputed (the expression of materialize, so the same floats); the rest is not touched. Returns
   * false when no TP's count changes, else true with [matStart, matEnd) the TPs changed.
   */
  private shiftFpCounts(list: TpList, m: number): boolean {
    const sc = this.scratch;
    const K = list.K;
    const lpos = list.pos;
    const fp = list.fp;
    const v = list.v;
    let at = 0;
    for (let e = 0; e < m; e++) sc.evP[e] = at = lowerBoundAfter(lpos, K, sc.evPos[e], at);
    let d = 0;
    let from = K;
    let to = 0;
    for (let e = 0; e < m; e++) {
      d += sc.evNew[e] ? 1 : -1;
      const lo = sc.evP[e];
      const hi = e + 1 < m ? sc.evP[e + 1] : K;
      if (d === 0 || hi <= lo) continue;
      if (lo < from) from = lo;
      to = hi;
      for (let k = lo; k < hi; k++) {
        const tp = k + 1;
        const f = fp[k] + d;
        fp[k] = f;
        v[k] = tp / (f + tp + EPS);
      }
    }
    if (to === 0) return false;
    this.matStart = from;
    this.matEnd = to;
    return true;
  }

  /** Moves image i to shift s and updates the state exactly. */
  move(i: number, s: number): void {
    this.visitImage = -1; // any move ends a visit
    const a = this.assignment[i];
    if (s === a) return;
    const p = this.p;
    const n = this.collectTouched(i, a, s, 0);
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
      const sameNpig = npigNew === st.npig;
      const fpOnly = sameNpig && this.allFalsePositives(m);
      for (let t = this.t0; t < this.t1; t++) {
        const list = st.tp[t];
        let validBelow = 0;
        let changedFrom = list.K;
        let changedTo = list.K;
        if (fpOnly) {
          if (!this.shiftFpCounts(list, m)) continue; // unchanged: no new version, its caches stay valid
          validBelow = changedFrom = this.matStart;
          changedTo = this.matEnd;
        } else if (m > 0) {
          const K2 = this.materialize(st, t, m);
          if (K2 >= 0) {
            const from = this.matStart;
            const end = Math.min(this.matEnd, K2);
            list.ensure(K2);
            copyTpEntries(sc.pos, sc.fp, sc.v, from, end, list.pos, list.fp, list.v, from);
            list.K = K2;
            validBelow = from;
            changedFrom = from;
            changedTo = this.matEnd;
          } else if (sameNpig) continue; // the list stays as it is: no new version, its caches stay valid
        }
        list.finalize(kr, validBelow, changedFrom, changedTo);
      }
      for (let e = 0; e < m; e++) {
        if (this.detKind[sc.evDet[e]] !== KIND_TP) continue;
        st.anyTp.add(sc.evPos[e], sc.evNew[e] ? 1 : -1);
        st.anyTpTotal += sc.evNew[e] ? 1 : -1;
      }
      // FP counters after every threshold's walk (each walk reads the old counts)
      for (let e = 0; e < m; e++) st.fen.add(sc.evPos[e], sc.evNew[e] ? 1 : -1, this.fpMask[sc.evDet[e]]);
      st.npig = npigNew;
      st.kr = kr;
      st.pSum = this.sumPsum(st);
    }
    this.assignment[i] = s;
    this.currentMap = this.mapFromPSums(0, 0);
  }
}
