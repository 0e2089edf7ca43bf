/**
 * How numbers are shown to people (issue 15.5). Metrics are fractions 0–1 in metrics.json,
 * CSV and every `--json` output. Terminal tables show them as percentages (%) and ranges
 * and differences as percentage points (pp), with the unit in the column header
 * (HEADINGS in messages.ts), never a bare fraction; HTML and Markdown write the unit in
 * the cell. A value that does not exist is "—", never a placeholder.
 */

/** The cell of a value that does not exist (no ground truth, no interval, plain detector's cost). */
export const MISSING = '—';

function finite(v: number | null | undefined): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

/** A count with its noun, singular for one: `countOf(1, 'image')` → "1 image", `countOf(3, 'image')` → "3 images". */
export function countOf(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/**
 * Digits of a metric in % (mAP, relRange, flip rate, consistency) and of a range or difference in pp, as every report
 * shows them (report/format.ts), so a text table and the reports state one rounding of a number.
 */
export const PERCENT_DIGITS = 1;
export const POINTS_DIGITS = 2;
/**
 * Digits of a mean video-stability error in % (protocol §5: centre, scale-and-ratio and fragment errors are a few
 * percent of a box or of the steps); its worst object takes PERCENT_DIGITS.
 */
export const STABILITY_DIGITS = 2;

/** A 0–1 fraction in % for a table whose header says "%": `percentCell(0.41234)` → "41.2". */
export function percentCell(fraction: number | null | undefined, digits = PERCENT_DIGITS): string {
  return finite(fraction) ? (fraction * 100).toFixed(digits) : MISSING;
}

/** A 0–1 fraction in pp (a range) for a table whose header says "pp": `pointsCell(0.12345)` → "12.35". */
export function pointsCell(fraction: number | null | undefined): string {
  return percentCell(fraction, POINTS_DIGITS);
}

/**
 * A signed difference of fractions in percentage points: −0.05 → "−5.00", 0.012 → "+1.20", 0 → "±0.00". A value that
 * rounds to 0.00 keeps its sign (−0.00004 → "−0.00"), so an interval's end shows which side of 0 it lies on.
 */
export function signedPointsCell(fraction: number | null | undefined, digits = 2): string {
  if (!finite(fraction)) return MISSING;
  const abs = Math.abs(fraction * 100).toFixed(digits);
  if (fraction === 0) return `±${abs}`;
  return `${fraction < 0 ? '−' : '+'}${abs}`;
}

/** A 95 % interval of fractions in % or pp: "[15.00, 25.00]"; "—" without both ends. */
export function intervalCell(
  lo: number | null | undefined,
  hi: number | null | undefined,
  digits = POINTS_DIGITS,
): string {
  return finite(lo) && finite(hi) ? `[${percentCell(lo, digits)}, ${percentCell(hi, digits)}]` : MISSING;
}

/** A plain number (a ratio, pixels): fixed digits, "—" when absent. */
export function numberCell(value: number | null | undefined, digits = 2): string {
  return finite(value) ? value.toFixed(digits) : MISSING;
}

/**
 * A plain-text table: the header, a rule, the rows; columns from `rightAlignFrom` on are
 * right-aligned (numbers), the others left-aligned; trailing spaces trimmed.
 */
export function textTable(header: string[], rows: string[][], rightAlignFrom = 1): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i >= rightAlignFrom ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}
