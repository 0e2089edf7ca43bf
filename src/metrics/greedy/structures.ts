/**
 * Data structures of the incremental engine: interleaved Fenwick lanes (per-threshold
 * false-positive counters), the true-positive list of one (category, IoU threshold)
 * with its precision suffix maxima and recall-point sums, the OffsetMax suffix-max
 * caches of shifted precision, and the per-category state.
 */
import { EPS, NUM_IOU, NUM_RECALL } from '../cocoeval.js';

/** IoU thresholds (10) and recall points (101) of COCO AP. */
export const T = NUM_IOU;
export const R = NUM_RECALL;
/** Denominator of one category's AP@[.5:.95] from its summed precisions. */
export const AP_DENOM = NUM_IOU * NUM_RECALL;
/** detKind: a TP at some threshold. */
export const KIND_TP = 1;
/** detKind: an FP at every threshold. */
export const KIND_ALL_FP = 2;

/**
 * Suffix maxima of the precision a TP list would have under constant count offsets:
 * sm[k] = max over k ≤ x < K of (x+1+dk) / (fp[x]+dF+x+1+dk+EPS), sm[K] = 0, valid for
 * k ≥ from while version matches the list's. Built lazily from the end by candidate walks.
 */
export class OffsetMax {
  version = -1;
  from = 0;
  sm = new Float64Array(0);
  constructor(
    public dk: number,
    public dF: number,
  ) {}
}

/** Offset pairs cached per TP list (least recently created replaced first). */
export const MAX_OFFSET_CACHES = 8;
/** Segments with offsets shorter than this are walked value by value, without an OffsetMax cache. */
export const MIN_CACHED_SEGMENT = 16;
/** Versions of a TP list whose change index is remembered (a power of two); older caches are rebuilt. */
const CHANGE_LOG = 16;
/**
 * A segment uses its OffsetMax cache only when building / repairing it costs at most this
 * many values per value of the segment (else it is walked value by value). Chosen by A/B
 * at 2,000 images: 1 and 2 were best; always building (moves often invalidate a cache
 * from near the start of the list) was ~10% slower.
 */
export const BUILD_FACTOR = 1;

/**
 * `lanes` Fenwick trees over the same positions, interleaved (node·lanes + lane): the
 * per-threshold FP counters of a node share cache lines, and one walk updates every
 * threshold a detection is a false positive at. lanes = 1 is a plain Fenwick tree.
 */
export class Fenwick {
  readonly tree: Int32Array;
  /** Mask with every lane's bit set. */
  readonly allLanes: number;
  /** @param tree (size + 1) · lanes zeroed Int32 to use (a view into a larger buffer), else allocated. */
  constructor(
    readonly size: number,
    readonly lanes = 1,
    tree?: Int32Array,
  ) {
    this.tree = tree ?? new Int32Array((size + 1) * lanes);
    this.allLanes = (1 << lanes) - 1;
  }
  /**
   * Linear-time build of every lane at once: lane t holds 1 at positions[k] for each k < count
   * whose masks[k] has bit t set, 0 elsewhere (positions distinct). One pass over the tree.
   */
  buildLanes(positions: Int32Array, masks: Uint16Array, count: number): void {
    const tr = this.tree;
    const L = this.lanes;
    const n = this.size;
    tr.fill(0);
    for (let k = 0; k < count; k++) {
      const m = masks[k];
      if (m === 0) continue;
      const b = (positions[k] + 1) * L;
      for (let t = 0; t < L; t++) if (m & (1 << t)) tr[b + t] = 1;
    }
    for (let i = 1; i <= n; i++) {
      const j = i + (i & -i);
      if (j > n) continue;
      const bi = i * L;
      const bj = j * L;
      for (let t = 0; t < L; t++) tr[bj + t] += tr[bi + t];
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
  /** Recall stretches of shifted walks answered from a stretch cache (no value computed). */
  stretchCacheHits: number;
  /** Recall stretches of shifted walks computed and stored in a stretch cache. */
  stretchCacheMisses: number;
}

/** Offsets (dk, dF) with a stretch cache: dk in −1..1, dF in −2..2, except (0, 0). */
const STRETCH_DK = 1;
const STRETCH_DF = 2;
const STRETCH_SLOTS = (2 * STRETCH_DK + 1) * (2 * STRETCH_DF + 1);
/** Recall stretches shorter than this are computed value by value (a cache lookup costs about as much). */
export const MIN_CACHED_STRETCH = 3;

/** Stretch-cache slot of the offsets (dk, dF), or −1 when they have none. */
export function stretchSlot(dk: number, dF: number): number {
  if (dk < -STRETCH_DK || dk > STRETCH_DK || dF < -STRETCH_DF || dF > STRETCH_DF) return -1;
  return (dk + STRETCH_DK) * (2 * STRETCH_DF + 1) + dF + STRETCH_DF;
}

/** Active true positives of one (category, IoU threshold), with precision and interpolation caches. */
export class TpList {
  K = 0;
  /** Bumped by finalize (every change of pos / fp / v), so OffsetMax caches know they are stale. */
  version = 0;
  /** changedFrom[version mod CHANGE_LOG]: first TP index whose pos / fp may differ from the previous version's. */
  private readonly changedFrom = new Int32Array(CHANGE_LOG);
  private readonly offsets: OffsetMax[] = [];
  private nextEvict = 0;
  /**
   * Stretch caches: for offsets (dk, dF) (slot = stretchSlot) and recall index r < R − 1, the maximum of the
   * shifted precision (x+1+dk) / (fp[x]+dF+x+1+dk+EPS) over the old TP indices of recall stretch r,
   * [kr[r]−1−dk, kr[r+1]−1−dk), stored at list version stretchVer; valid while no change touched the stretch
   * since (chgVer[r] ≤ stretchVer). Allocated on first use; read through stretchAt.
   */
  stretchMax: Float64Array | null = null;
  private stretchVer: Int32Array | null = null;
  /** chgVer[r]: version of the last change of pos / fp that touched recall stretch r (for any dk in −1..1). */
  private readonly chgVer = new Int32Array(R);
  /** The recall index table of the last finalize (stretch boundaries). */
  private lastKr: Int32Array | null = null;
  /** K at the last finalize (−1 before the first). */
  private lastK = -1;
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
   * pos / fp / v changed only in [changedFrom, changedTo) (K unchanged when changedTo < K:
   * the suffix maxima from changedTo on are kept); the stretch caches there are marked stale.
   */
  finalize(kr: Int32Array | null, validBelow = 0, changedFrom = 0, changedTo = 0x7fffffff): void {
    this.version++;
    this.changedFrom[this.version & (CHANGE_LOG - 1)] = changedFrom;
    const sameKr = this.markStretches(kr, changedFrom, changedTo);
    const K = this.K;
    const sameK = K === this.lastK;
    this.lastK = K;
    const v = this.v;
    const S = this.S;
    // v and S are unchanged from changedTo on when that is inside the list (K then is unchanged too)
    const top = changedTo < K ? changedTo : K;
    let m = top < K ? S[top] : 0;
    S[K] = 0;
    // S changes only in [low, top)
    let low = 0;
    for (let k = top - 1; k >= 0; k--) {
      if (v[k] > m) m = v[k];
      if (k < validBelow && S[k] === m) {
        low = k + 1;
        break;
      }
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
    // with the same K and recall table, q[r] = S[kr[r] − 1] changes only where kr[r] − 1 is in [low, top): the
    // sums are redone from there only, in the same order as a full pass (so the same floats)
    const whole = !sameKr || !sameK;
    const rHi = whole ? R - 1 : lastBelow(kr, top + 1);
    const rLo = whole ? 0 : lastBelow(kr, low + 1) + 1;
    let sum = qSuf[rHi + 1];
    for (let r = rHi; r >= 0; r--) {
      const q = kr[r] <= K ? S[kr[r] - 1] : 0;
      sum += q;
      qSuf[r] = sum;
    }
    let pre = qPre[rLo];
    for (let r = rLo; r < R; r++) {
      pre += kr[r] <= K ? S[kr[r] - 1] : 0;
      qPre[r + 1] = pre;
    }
    this.psum = sum;
  }

  /**
   * Marks the recall stretches whose old TP indices overlap [from, to) (pos / fp changed there, the same
   * elsewhere) as changed at this version, for every dk a stretch cache has; all of them when the recall
   * table differs from the last one. Returns whether it is the same as the last one.
   */
  private markStretches(kr: Int32Array | null, from: number, to: number): boolean {
    const chg = this.chgVer;
    const ver = this.version;
    const last = this.lastKr;
    let same = kr !== null && last !== null;
    if (same && kr !== last) for (let r = 0; r < R && same; r++) if (kr![r] !== last![r]) same = false;
    this.lastKr = kr;
    if (!same) {
      chg.fill(ver);
      return false;
    }
    if (from >= to) return true;
    // stretch r spans [kr[r]−1−dk, kr[r+1]−1−dk): it overlaps [from, to) for some |dk| ≤ 1 when
    // kr[r] − 2 < to and kr[r+1] > from
    for (let r = 0; r < R - 1; r++) {
      if (kr![r + 1] <= from) continue;
      if (kr![r] - 1 - STRETCH_DK >= to) break;
      chg[r] = ver;
    }
    return true;
  }

  /**
   * Where in stretchMax the maximum of the shifted precision over the old TP indices [lo, hi) of recall stretch r
   * lies, for the offsets of stretch-cache slot `slot` (the caller checked that [lo, hi) is that stretch under the
   * list's own recall table): stored there when no change touched the stretch since, else computed (the same
   * expression as the candidate walk's, so the same floats) and stored first. (An index, not the value: a double
   * returned from a call that is not inlined is a new heap number.)
   */
  stretchAt(slot: number, r: number, lo: number, hi: number, dk: number, dF: number): number {
    if (this.stretchMax === null) {
      this.stretchMax = new Float64Array(STRETCH_SLOTS * R);
      this.stretchVer = new Int32Array(STRETCH_SLOTS * R).fill(-1);
    }
    const at = slot * R + r;
    const ver = this.stretchVer!;
    if (ver[at] >= this.chgVer[r] && ver[at] >= 0) {
      this.stats.stretchCacheHits++;
      return at;
    }
    this.stats.stretchCacheMisses++;
    this.stretchMax[at] = maxShiftedPrecision(this.fp, lo, hi, dk, dF);
    ver[at] = this.version;
    return at;
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

export class CategoryState {
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
  /**
   * Fills tpKindBefore (engine-wide, by detection) for this universe. `arena` (optional): zeroed Int32 of
   * categoryArenaLength(universe.length) elements for the Fenwick trees (one buffer for every category: a
   * few large allocations instead of many, each of which may start a full garbage collection).
   */
  constructor(
    readonly universe: Int32Array,
    detKind: Uint8Array,
    tpKindBefore: Int32Array,
    stats: EngineStats,
    arena?: Int32Array,
  ) {
    let n = 0;
    for (let j = 0; j < universe.length; j++) {
      tpKindBefore[universe[j]] = n;
      if (detKind[universe[j]] === KIND_TP) n++;
    }
    this.tpKindTotal = n;
    const U = universe.length;
    this.fen = new Fenwick(U, T, arena?.subarray(0, (U + 1) * T));
    this.tp = Array.from({ length: T }, () => new TpList(stats));
    this.anyTp = new Fenwick(U, 1, arena?.subarray((U + 1) * T, (U + 1) * (T + 1)));
  }
}

/** Int32 elements of a CategoryState's Fenwick trees for a universe of U detections. */
export function categoryArenaLength(U: number): number {
  return (U + 1) * (T + 1);
}

/** Scratch buffers shared by candidate evaluations. */
export class Scratch {
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
 * Copies TP entries [from, to) of one set of parallel arrays (position, FP count, precision: a TpList's, or the
 * Scratch a list is materialized into) to another from index out on; returns the next index. The arrays, not their
 * owners, are the arguments, so the call sites stay monomorphic; element by element, as a subarray per copy was most
 * of what a move allocated.
 */
export function copyTpEntries(
  sp: Int32Array,
  sf: Int32Array,
  sv: Float64Array,
  from: number,
  to: number,
  dp: Int32Array,
  df: Int32Array,
  dv: Float64Array,
  out: number,
): number {
  for (let k = from; k < to; k++) {
    dp[out] = sp[k];
    df[out] = sf[k];
    dv[out] = sv[k];
    out++;
  }
  return out;
}

/**
 * max over lo ≤ x < hi of the shifted precision (x+1+dk) / (fp[x]+dF+x+1+dk+EPS), 0 when the range is empty: the
 * same float as taking the maximum of those values, with one division instead of one per value. Numerator tp and
 * denominator n = fp[x]+dF+tp are integers (exact), so the fractions compare exactly by tp·n' > tp'·n, and a
 * correctly rounded division is monotone: the largest fraction gives the largest float. The EPS only matters at
 * n = 1 (the fraction 1/1, whose float is just below 1.0, below every other fraction equal to 1): tp falls along
 * the walk and tp = 1 comes last, so on a tie with an earlier fraction equal to 1 the earlier one is kept. (Exact
 * for n below 2^50; lists are far shorter.)
 */
export function maxShiftedPrecision(fp: Int32Array, lo: number, hi: number, dk: number, dF: number): number {
  let bt = 0;
  let bn = 1;
  for (let x = hi - 1; x >= lo; x--) {
    const tp = x + 1 + dk;
    const n = fp[x] + dF + tp;
    if (tp * bn > bt * n) {
      bt = tp;
      bn = n;
    }
  }
  return bt === 0 ? 0 : bt / (bn + EPS);
}

/** Largest r with kr[r] < x (kr nondecreasing, length R), or −1. */
export function lastBelow(kr: Int32Array, x: number): number {
  let lo = 0;
  let hi = R;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (kr[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

/**
 * lowerBound(a, n, x) for x ascending over calls, given the previous call's answer `at` (0 for the first): n past the
 * last element, `at` again when x is still in the same gap, else a search of what lies after it.
 */
export function lowerBoundAfter(a: Int32Array, n: number, x: number, at: number): number {
  if (at >= n || x > a[n - 1]) return n;
  return x <= a[at] ? at : lowerBound(a, n, x, at + 1);
}

/** First index in a[0..n) with a[index] ≥ x (a ascending), given that it is at least `from`. */
export function lowerBound(a: Int32Array, n: number, x: number, from = 0): number {
  let lo = from;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
