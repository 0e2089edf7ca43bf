/**
 * Periodicity along a line of shifts (protocol §8): for each candidate period p in
 * [2, ⌊n/2⌋] the share of a series' variance explained by its means per phase d mod p,
 * corrected for chance (R²adj = 1 − (1 − R²)·(n − 1)/(n − p)); the dominant period is the p
 * with the largest R²adj, ties to the smaller p. Pure.
 */
import type { AxisPeriodicity, PeriodFit, Shift } from '../core/types.js';

/** Two R²adj within this are a tie (the smaller period wins). */
const R2_TIE = 1e-12;

/** Means of series values at each phase d mod p. */
function phaseMeans(series: readonly number[], p: number): number[] {
  const sum = new Array<number>(p).fill(0);
  const count = new Array<number>(p).fill(0);
  series.forEach((v, d) => {
    sum[d % p] += v;
    count[d % p]++;
  });
  return sum.map((s, k) => s / count[k]);
}

/** Significance level of the nested F-test that decides between a period and its multiples. */
export const PERIOD_F_TEST_ALPHA = 0.001;

/** Within-phase sum of squares of the series for period p, and the phase means. */
function withinSS(series: readonly number[], p: number): { ss: number; means: number[] } {
  const means = phaseMeans(series, p);
  let ss = 0;
  series.forEach((v, d) => (ss += (v - means[d % p]) ** 2));
  return { ss, means };
}

/**
 * The dominant period of a series over d = 0…n−1 (protocol §8), or null when n < 4,
 * a value is not finite, or the series is constant (no variance to explain).
 *
 * The p with the largest R²adj is found first (ties to the smaller p). A multiple kP of a
 * true period P explains the same signal plus a little more noise, and in expectation
 * R²adj(P) = R²adj(2P) = …, so with noise the largest R²adj falls on a multiple about as
 * often as on P. The reported period is therefore the smallest divisor q of that p whose
 * R²adj is above 0 (a q that explains no more than chance is no period, and would hide
 * an argmax above 0) and whose refinement to p is not significant (nested F-test at
 * PERIOD_F_TEST_ALPHA = 0.1 %, strict because the p tested is the maximum of many:
 * grouping by d mod p refines grouping by d mod q); `maxR2adjPeriod` keeps the argmax, and `maxR2adjFit` its R²adj
 * and phase means where it differs from the period.
 */
export function dominantPeriod(values: readonly (number | null)[]): PeriodFit | null {
  const n = values.length;
  if (n < 4 || !values.every((v) => typeof v === 'number' && Number.isFinite(v))) return null;
  const series = values as readonly number[];
  // exactly constant: nothing to explain (tested on the values, since a float mean can differ from them by rounding)
  if (series.every((v) => v === series[0])) return null;
  const mean = series.reduce((a, b) => a + b, 0) / n;
  let ssTotal = 0;
  for (const v of series) ssTotal += (v - mean) ** 2;
  if (!(ssTotal > 0)) return null;
  const fits = new Map<number, { ss: number; means: number[]; r2adj: number }>();
  let best = 0;
  for (let p = 2; p <= Math.floor(n / 2); p++) {
    const { ss, means } = withinSS(series, p);
    const r2adj = 1 - ((ss / ssTotal) * (n - 1)) / (n - p);
    fits.set(p, { ss, means, r2adj });
    if (best === 0 || r2adj > fits.get(best)!.r2adj + R2_TIE) best = p;
  }
  const top = fits.get(best)!;
  let period = best;
  for (let q = 2; q < best; q++) {
    if (best % q !== 0) continue;
    const fq = fits.get(q)!;
    // a divisor that explains no more than chance is no period to reduce to (nor a "best fit": p is)
    if (fq.r2adj <= 0) continue;
    if (!refinementSignificant(fq.ss, top.ss, q, best, n)) {
      period = q;
      break;
    }
  }
  const f = fits.get(period)!;
  const fit: PeriodFit = { period, r2adj: f.r2adj, phaseMeans: f.means, maxR2adjPeriod: best };
  if (best !== period) fit.maxR2adjFit = { r2adj: top.r2adj, phaseMeans: top.means };
  return fit;
}

/** Nested F-test: does grouping by p (refining q) explain significantly more than grouping by q? */
function refinementSignificant(ssQ: number, ssP: number, q: number, p: number, n: number): boolean {
  const df1 = p - q;
  const df2 = n - p;
  const gain = ssQ - ssP;
  if (!(gain > 1e-12 * ssQ)) return false;
  if (ssP <= 0) return true;
  const F = gain / df1 / (ssP / df2);
  return fSurvival(F, df1, df2) < PERIOD_F_TEST_ALPHA;
}

/** P(X > F) for X ~ F(df1, df2): the regularized incomplete beta I_{df2/(df2+df1·F)}(df2/2, df1/2). */
export function fSurvival(F: number, df1: number, df2: number): number {
  if (!(F > 0)) return 1;
  return incompleteBeta(df2 / (df2 + df1 * F), df2 / 2, df1 / 2);
}

/** ln Γ(x), x > 0 (Lanczos, g = 7, 9 terms). */
function lnGamma(x: number): number {
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - lnGamma(1 - x);
  const y = x - 1;
  let a = c[0];
  const t = y + 7.5;
  for (let i = 1; i < 9; i++) a += c[i] / (y + i);
  return 0.5 * Math.log(2 * Math.PI) + (y + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Regularized incomplete beta I_x(a, b) by its continued fraction (modified Lentz). */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(lnGamma(a + b) - lnGamma(a) - lnGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  // the fraction converges fast for x < (a + 1) / (a + b + 2); otherwise use the symmetry I_x(a, b) = 1 − I_{1−x}(b, a)
  if (x > (a + 1) / (a + b + 2)) return 1 - incompleteBeta(1 - x, b, a);
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    let num = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + num * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + num / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    num = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + num * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + num / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-14) break;
  }
  return (front * h) / a;
}

/**
 * For each axis, the shift indices of (d, 0) (or (0, d)) for d = 0…K when the set holds
 * that whole line with K + 1 ≥ 4 (line:K sets; also grid:K with K ≥ 3).
 */
export function axisLines(shifts: readonly Shift[]): { axis: 'x' | 'y'; indices: number[] }[] {
  const at = new Map(shifts.map((s, i) => [`${s.dx},${s.dy}`, i]));
  const out: { axis: 'x' | 'y'; indices: number[] }[] = [];
  for (const axis of ['x', 'y'] as const) {
    const indices: number[] = [];
    for (let d = 0; ; d++) {
      const i = at.get(axis === 'x' ? `${d},0` : `0,${d}`);
      if (i === undefined) break;
      indices.push(i);
    }
    if (indices.length >= 4) out.push({ axis, indices });
  }
  return out;
}

/**
 * Protocol §8 per axis: the series of per-shift mAP (null entries or no ground truth: no
 * map series), mean detection score and detConsistency against (0,0), with their
 * dominant periods. Empty when the set holds no line of ≥ 4 shifts.
 */
export function periodicity(
  shifts: readonly Shift[],
  perShift: {
    map: readonly (number | null)[] | null;
    meanScore: readonly (number | null)[];
    detConsistency: readonly number[];
  },
): AxisPeriodicity[] {
  return axisLines(shifts).map(({ axis, indices }) => {
    const pick = <V>(xs: readonly V[]) => indices.map((i) => xs[i]);
    const mapSeries =
      perShift.map && indices.every((i) => typeof perShift.map![i] === 'number')
        ? (pick(perShift.map) as number[])
        : null;
    const meanScore = pick(perShift.meanScore);
    // NaN (no image at a shift) is stored as null, as metrics.json holds it
    const detConsistency = pick(perShift.detConsistency).map((v) => (Number.isNaN(v) ? null : v));
    return {
      axis,
      n: indices.length,
      series: { map: mapSeries, meanScore, detConsistency },
      map: mapSeries ? dominantPeriod(mapSeries) : null,
      meanScore: dominantPeriod(meanScore),
      detConsistency: dominantPeriod(detConsistency),
    };
  });
}
