import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { EPS } from '../../src/metrics/cocoeval.js';
import { maxShiftedPrecision } from '../../src/metrics/greedy/structures.js';

/** The walk's plain loop: one division per value, the running maximum of the floats. */
function plainMax(fp: Int32Array, lo: number, hi: number, dk: number, dF: number): number {
  let m = 0;
  for (let x = hi - 1; x >= lo; x--) {
    const tp = x + 1 + dk;
    const v = tp / (fp[x] + dF + tp + EPS);
    if (v > m) m = v;
  }
  return m;
}

describe('maxShiftedPrecision (one division per range)', () => {
  it('is the plain maximum, bit for bit, on random lists with offsets', () => {
    const rng = new Rng(7);
    for (let trial = 0; trial < 2000; trial++) {
      const K = rng.int(1, 60);
      // false positives before each TP: nondecreasing, often flat (runs of precision 1 and exact ties)
      const fp = new Int32Array(K);
      for (let k = 1; k < K; k++) fp[k] = fp[k - 1] + (rng.next() < 0.5 ? 0 : rng.int(0, 3));
      const dk = rng.int(-1, 1);
      const dF = rng.int(0, 2) - (fp[0] > 0 ? 1 : 0);
      const lo = Math.max(0, rng.int(0, K - 1), -dk);
      const hi = rng.int(lo, K);
      expect(maxShiftedPrecision(fp, lo, hi, dk, dF)).toBe(plainMax(fp, lo, hi, dk, dF));
    }
  });
  it('the first TP with no false positive (1/1, just below 1.0) loses a tie with a later precision of 1', () => {
    const fp = new Int32Array([0, 0, 0, 2]);
    // 1/(1+EPS) < 1.0 = 2/2 = 3/3
    expect(maxShiftedPrecision(fp, 0, 3, 0, 0)).toBe(1);
    expect(maxShiftedPrecision(fp, 0, 1, 0, 0)).toBe(1 / (1 + EPS));
    expect(maxShiftedPrecision(fp, 0, 1, 0, 0)).toBeLessThan(1);
    expect(maxShiftedPrecision(fp, 2, 2, 0, 0)).toBe(0);
  });
});
