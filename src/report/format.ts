/**
 * Formatting helpers for the HTML report: HTML escaping and number formatting.
 * Metrics are fractions (0–1) everywhere else; only this file turns them into
 * percentages for people to read.
 */
import type { DetectorRunSummary, Interval, PeriodFit } from '../core/types.js';
import { MIN_INTERVAL_IMAGES } from '../metrics/uncertainty.js';
import { POINTS_DIGITS, PERCENT_DIGITS, countOf, percentCell, signedPointsCell } from '../core/units.js';

/** The dash shown for a value that does not exist (label-free run, plain detector's cost…). */
export const MISSING = '—';

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  '`': '&#96;',
};

/** Escapes any value for HTML text and quoted attribute values. `null`/`undefined` become ''. */
export function escapeHtml(value: unknown): string {
  if (value === null || value === undefined) return '';
  return String(value).replace(/[&<>"'`]/g, (c) => HTML_ESCAPES[c]);
}

/**
 * Serialises data for a `<script type="application/json">` block: `<`, `>`, `&` and
 * the JS line separators are written as \u escapes, so no string in the data can
 * close the script element or start a comment.
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

function finite(v: number | null | undefined): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

/**
 * Why a run has no mAP (nor flip rate): its dataset has no labels, or it has labels but the evaluated images carry no
 * annotation (metrics.json `labelFree: false` and no bounds). For text in parentheses: "no mAP (…)".
 */
export function noMapReason(labelFree: boolean): string {
  return labelFree ? 'label-free dataset' : 'no ground truth in the evaluated images';
}

/**
 * Why mAP bounds have no interval (and a mitigation no paired verdict): what scoring noted when it gave none
 * (`offNote`, boundsOffNote: too few images, too few resamples with ground truth, the default off at this size), else
 * too few images, or the bounds bootstrap was off — with the flag that turns it on only where it would help.
 */
export function noBoundsIntervalReason(images: number, offNote: string | null = null): string {
  if (offNote !== null) return offNote;
  return images < MIN_INTERVAL_IMAGES
    ? `${countOf(images, 'image')} — fewer than ${MIN_INTERVAL_IMAGES} give no bounds interval and no paired verdict`
    : 'the bounds bootstrap was off: --bootstrap-bounds B turns it on';
}

/** What the scoring notes say of a bounds interval it did not give (the text after "bounds intervals off: "), or null. */
export function boundsOffNote(notes: readonly string[] | undefined): string | null {
  const note = notes?.find((n) => n.startsWith(BOUNDS_OFF));
  return note === undefined ? null : note.slice(BOUNDS_OFF.length);
}
const BOUNDS_OFF = 'bounds intervals off: ';

/** The first of `results` whose scoring noted why its bounds have no interval: that reason (boundsOffNote), or null. */
export function firstBoundsOffNote(results: readonly DetectorRunSummary[]): string | null {
  for (const r of results) {
    const off = boundsOffNote(r.analysis?.notes);
    if (off !== null) return off;
  }
  return null;
}

/** noBoundsIntervalReason of a run's results with bounds: the fewest images any of them evaluated, and what scoring noted. */
export function resultsNoIntervalReason(results: readonly DetectorRunSummary[]): string {
  return noBoundsIntervalReason(Math.min(...results.map((r) => r.imagesEvaluated)), firstBoundsOffNote(results));
}

/** The notes of one detector's result: its analysis notes, and why it has no cost ratio where it has none. */
export function detectorNotes(r: DetectorRunSummary): string[] {
  return [...(r.analysis?.notes ?? []), ...(r.timing.costRatioNote ? [r.timing.costRatioNote] : [])];
}

/**
 * The notes of every detector of a run, each once, for a list that holds them all: a note every detector has as it
 * is, one only some have after their keys (`ssd-mobilenet: …`), so that it is not read as the whole run's.
 */
export function runNotes(results: readonly DetectorRunSummary[]): string[] {
  const keysOf = new Map<string, string[]>();
  for (const r of results) for (const n of new Set(detectorNotes(r))) keysOf.set(n, [...(keysOf.get(n) ?? []), r.key]);
  return [...keysOf].map(([n, keys]) => (keys.length === results.length ? n : `${keys.join(', ')}: ${n}`));
}

/** A 0–1 fraction as a percentage: `pct(0.4123)` → "41.2%". Missing → "—". */
export function pct(fraction: number | null | undefined, digits = PERCENT_DIGITS): string {
  return finite(fraction) ? `${percentCell(fraction, digits)}%` : MISSING;
}

/** A difference of two 0–1 fractions in percentage points: `pp(0.029)` → "2.90 pp". */
export function pp(fraction: number | null | undefined, digits = POINTS_DIGITS): string {
  return finite(fraction) ? `${percentCell(fraction, digits)} pp` : MISSING;
}

/** A signed difference in percentage points: `signedPp(-0.008)` → "−0.80 pp" (signs as signedPointsCell). */
export function signedPp(fraction: number | null | undefined, digits = 2): string {
  return finite(fraction) ? `${signedPointsCell(fraction, digits)} pp` : MISSING;
}

/** A plain number with fixed digits, e.g. pixels: `num(0.4567, 2)` → "0.46"; never "-0.00". Missing → "—". */
export function num(value: number | null | undefined, digits = 2): string {
  if (!finite(value)) return MISSING;
  const text = value.toFixed(digits);
  return Number(text) === 0 ? text.replace(/^-/, '') : text;
}

/**
 * HTML for a mean with its 95% interval, already escaped:
 * `{mean: .912, lo: .89, hi: .931}` → `91.2% <span class="ci">[89.0–93.1]</span>`.
 * `unit` 'pct' formats fractions as percentages, 'px' as pixels.
 */
export function intervalHtml(iv: Interval | null | undefined, unit: 'pct' | 'px' = 'pct', digits = 1): string {
  if (!iv || !finite(iv.mean)) return MISSING;
  const f = (v: number) => (unit === 'pct' ? (v * 100).toFixed(digits) : v.toFixed(digits));
  const mean = unit === 'pct' ? pct(iv.mean, digits) : `${iv.mean.toFixed(digits)} px`;
  if (!finite(iv.lo) || !finite(iv.hi)) return escapeHtml(mean);
  return `${escapeHtml(mean)} <span class="ci" title="95% bootstrap interval">[${f(iv.lo)}–${f(iv.hi)}]</span>`;
}

/** A cost ratio: `cost(1.85)` → "×1.85"; null (the plain detector itself) → "—". */
export function cost(ratio: number | null | undefined): string {
  return finite(ratio) ? `×${ratio.toFixed(2)}` : MISSING;
}

/** A value of a periodicity series in the report's units: mAP and det. consistency in %, the mean score 0–1. */
export function periodValue(unit: 'pct' | 'score'): (v: number) => string {
  return (v) => (unit === 'pct' ? num(v * 100, 2) : num(v, 3));
}

/**
 * What a series' fit says, as every report writes it: the F-test's period, and protocol §8's literal one (the largest
 * R²adj, with its R²adj) where it is a multiple of it ("4 px (largest R²adj 0.650 at 8 px)"); none where even the best grouping explains no
 * more than chance ("none beyond chance (best fit 2 px)"); without a fit, "none: constant (value)" for a series that
 * never varies (a steady detector) and — for one with a missing value.
 */
export function periodVerdict(
  f: PeriodFit | null,
  series: readonly (number | null)[] | null,
  value: (v: number) => string,
): string {
  if (!f) {
    const first = series?.[0];
    const constant = typeof first === 'number' && Number.isFinite(first) && series!.every((v) => v === first);
    return constant ? `none: constant (${value(first)})` : MISSING;
  }
  if (!periodBeyondChance(f)) return `none beyond chance (best fit ${f.period} px)`;
  if (f.maxR2adjPeriod === f.period) return `${f.period} px`;
  const r2adj = f.maxR2adjFit ? ` ${num(f.maxR2adjFit.r2adj, 3)}` : ''; // a metrics.json of before 2026-12-04 has none
  return `${f.period} px (largest R²adj${r2adj} at ${f.maxR2adjPeriod} px)`;
}

/**
 * Whether a fit names a period: the R²adj of its period above 0, i.e. its phase means explain more of the series than
 * chance does. At or below 0 (a trend, noise) §8's argmax still picks some p, but no period is there to report.
 */
export function periodBeyondChance(f: PeriodFit): boolean {
  return f.r2adj > 0;
}
