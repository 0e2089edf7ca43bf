/**
 * report.csv: the headline table of a run, one row per detector, values as in
 * metrics.json (fractions 0–1, pixels, ratios — the unit is in each column name),
 * full precision; an absent number is an empty cell, never a placeholder.
 */
import { headlineRows, type HeadlineRow, type ValueWithInterval } from './headline.js';
import type { ReportRun } from './load.js';

type Column = [name: string, get: (r: HeadlineRow) => string | number | null];

const triple = (name: string, unit: string, get: (r: HeadlineRow) => ValueWithInterval): Column[] => [
  [`${name}_${unit}`, (r) => get(r).value],
  [`${name}_lo95_${unit}`, (r) => get(r).lo],
  [`${name}_hi95_${unit}`, (r) => get(r).hi],
];

/** The CSV columns, in order: name (with unit) and getter. */
export const CSV_COLUMNS: readonly Column[] = [
  ['key', (r) => r.key],
  ['model', (r) => r.model],
  ['mitigation', (r) => r.mitigation],
  ...triple('map_ref', 'fraction', (r) => r.mapRef),
  ['map_lower_fraction', (r) => r.mapLower],
  ['map_upper_fraction', (r) => r.mapUpper],
  ...triple('map_range', 'fraction', (r) => r.mapRange),
  ...triple('rel_range', 'fraction', (r) => r.relRange),
  ...triple('flip_rate', 'fraction', (r) => r.flipRate),
  ...triple('det_consistency', 'fraction', (r) => r.detConsistency),
  ...triple('box_jitter_center', 'px', (r) => r.boxJitterCenterPx),
  ['score_threshold', (r) => r.scoreThreshold],
  ['cost_ratio', (r) => r.costRatio],
  ['images_evaluated', (r) => r.imagesEvaluated],
  ['bounds_resamples', (r) => r.boundsResamples],
  // protocol §1: what crop and circular modes leave out of scoring (zeros in pad mode; empty for older runs)
  ['gt_boxes', (r) => r.scoredContent?.groundTruthTotal ?? null],
  ['gt_boxes_crowd_outside_stable_area', (r) => r.scoredContent?.groundTruthIgnored ?? null],
  ['detections', (r) => r.scoredContent?.detectionsTotal ?? null],
  ['detections_dropped_outside_stable_area', (r) => r.scoredContent?.detectionsDropped ?? null],
];

/**
 * One CSV field (RFC 4180): quoted when it holds a comma, quote or line break; null/NaN → empty. A text (a model,
 * key or mitigation name) starting with = + - @, a tab or a carriage return is written with a leading `'`, so a
 * spreadsheet shows it as text instead of running it as a formula; numbers are written as they are.
 */
export function csvField(v: string | number | null): string {
  if (v === null) return '';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '';
  const text = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Renders the headline table of a loaded run as CSV (header line first, CRLF-free, ends with a newline). Pure. */
export function renderReportCsv(run: ReportRun): string {
  const rows = headlineRows(run.metrics);
  const lines = [CSV_COLUMNS.map(([n]) => n).join(',')];
  for (const r of rows) lines.push(CSV_COLUMNS.map(([, get]) => csvField(get(r))).join(','));
  return lines.join('\n') + '\n';
}
