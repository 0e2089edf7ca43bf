/**
 * Stable ordering of detections by descending score in linear time: an LSD radix sort on
 * the scores' IEEE-754 bits, giving exactly the order of a comparison sort with
 * `score[b] − score[a] || (earlier first)` — the universes of the bounds setup.
 */

/** Reusable buffers of sortByScoreDesc (grown as needed). */
export class ScoreOrderScratch {
  ids = new Int32Array(0);
  lo = new Uint32Array(0);
  hi = new Uint32Array(0);
  ids2 = new Int32Array(0);
  lo2 = new Uint32Array(0);
  hi2 = new Uint32Array(0);
  readonly count = new Int32Array(257);
  ensure(n: number): void {
    if (this.ids.length >= n) return;
    this.ids = new Int32Array(n);
    this.lo = new Uint32Array(n);
    this.hi = new Uint32Array(n);
    this.ids2 = new Int32Array(n);
    this.lo2 = new Uint32Array(n);
    this.hi2 = new Uint32Array(n);
  }
}

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
/** Index of the high word of a float64 in u32 (the platform's byte order). */
const HI = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;

/**
 * Sorts the ids in `items` in place by descending score[id], ids with equal scores keeping
 * their order in `items` (−0 and +0 are equal). Scores must not be NaN.
 */
export function sortByScoreDesc(items: Int32Array, score: Float64Array, scratch = new ScoreOrderScratch()): void {
  const n = items.length;
  if (n < 2) return;
  scratch.ensure(n);
  let ids = scratch.ids;
  let lo = scratch.lo;
  let hi = scratch.hi;
  let ids2 = scratch.ids2;
  let lo2 = scratch.lo2;
  let hi2 = scratch.hi2;
  // a 64-bit key whose unsigned ascending order is the scores' descending order
  for (let p = 0; p < n; p++) {
    f64[0] = score[items[p]] + 0; // −0 → +0
    let h = u32[HI];
    let l = u32[1 - HI];
    if (h & 0x80000000) {
      // negative: ascending order of the value is descending order of the bits, which is what we want
    } else {
      // non-negative: set the sign bit for the value's ascending order, then invert for descending
      h = ~(h | 0x80000000);
      l = ~l;
    }
    ids[p] = items[p];
    lo[p] = l >>> 0;
    hi[p] = h >>> 0;
  }
  const count = scratch.count;
  for (let pass = 0; pass < 8; pass++) {
    const word = pass < 4 ? lo : hi;
    const shift = (pass & 3) * 8;
    count.fill(0);
    for (let p = 0; p < n; p++) count[((word[p] >>> shift) & 0xff) + 1]++;
    // every key has the same byte here: the order stays
    if (count[((word[0] >>> shift) & 0xff) + 1] === n) continue;
    for (let b = 0; b < 256; b++) count[b + 1] += count[b];
    for (let p = 0; p < n; p++) {
      const at = count[(word[p] >>> shift) & 0xff]++;
      ids2[at] = ids[p];
      lo2[at] = lo[p];
      hi2[at] = hi[p];
    }
    [ids, ids2] = [ids2, ids];
    [lo, lo2] = [lo2, lo];
    [hi, hi2] = [hi2, hi];
  }
  items.set(ids.subarray(0, n));
}
