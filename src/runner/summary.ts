/**
 * Plain-text summary tables of a run's metrics: mAP and rates in %, ranges in percentage
 * points, the unit in each header (core/units.ts; metrics.json keeps fractions 0–1).
 * Pure functions: the CLI prints what they return.
 */
import { HEADINGS, stableAreaNote } from '../core/messages.js';
import type { DetectorRunSummary, RunMetrics, StabilityError } from '../core/types.js';
import {
  MISSING as DASH,
  STABILITY_DIGITS,
  intervalCell,
  numberCell,
  percentCell,
  pointsCell,
  signedPointsCell,
  textTable as table,
} from '../core/units.js';
import { num, periodValue, periodVerdict, runNotes } from '../report/format.js';

function familyText(r: DetectorRunSummary): string {
  return `${r.family.stages}, ${r.family.anchors}`;
}

const HEADLINE = [
  HEADINGS.mapRef,
  HEADINGS.mapRange,
  HEADINGS.mapRangeInterval,
  HEADINGS.relRange,
  HEADINGS.flipRate,
  HEADINGS.detConsistency,
  HEADINGS.cost,
];

/**
 * One row per detector: model, family, mapRef (%), mapRange (pp) with its bootstrap 95 %
 * interval, relRange, flipRate, detConsistency (%), cost (× plain); then each mitigation's
 * and twin's paired difference against its plain detector, and the notes.
 */
export function formatRunSummary(metrics: RunMetrics): string {
  const header = ['model', 'family', ...HEADLINE];
  const rows = metrics.results.map((r) => [r.key, familyText(r), ...headlineCells(r)]);
  return [
    table(header, rows, 2),
    ...formatStability(metrics),
    ...formatPeriodicity(metrics),
    ...formatPairedAndNotes(metrics),
  ].join('\n');
}

/** Phase means shown in a terminal row; a longer period's are cut with "…" (the HTML report has all of them). */
const PHASES_SHOWN = 8;

/**
 * Protocol §8 along line:K sets: per detector and axis, the dominant period of per-shift mAP as report.html names it
 * (periodVerdict), its R²adj and the phase means in %. No lines when no detector has a line of shifts.
 */
export function formatPeriodicity(metrics: RunMetrics): string[] {
  const value = periodValue('pct');
  const rows: string[][] = [];
  for (const r of metrics.results) {
    (r.analysis?.periodicity ?? []).forEach((ax, i) => {
      const f = ax.map;
      const phases = f?.phaseMeans.slice(0, PHASES_SHOWN).map(value).join(', ');
      rows.push([
        i === 0 ? r.key : '',
        ax.axis,
        String(ax.n),
        periodVerdict(f, ax.series.map, value),
        f ? num(f.r2adj, 3) : DASH,
        f ? `${phases}${f.phaseMeans.length > PHASES_SHOWN ? ', …' : ''}` : DASH,
      ]);
    });
  }
  if (rows.length === 0) return [];
  return [
    '',
    'Periodicity of mAP along the line of shifts (protocol §8; R²adj > 0 names a period):',
    table(['model', 'axis', 'n', 'period of mAP', 'R²adj', 'phase means %'], rows, 6),
  ];
}

const STABILITY_ROWS = [
  ['centerError', 'CPE'],
  ['scaleRatioError', 'SRE'],
  ['fragmentError', 'fragment'],
] as const;

/**
 * Protocol §5 video-stability errors, a group of three rows per detector with ground truth
 * (CPE, SRE, fragment): the mean over objects, its 95 % bootstrap interval over images (— over
 * fewer than MIN_INTERVAL_IMAGES images),
 * the objects counted and the worst object (value, image id, annotation id); — where no
 * object qualifies. No lines when no detector has them (label-free data, older runs).
 */
export function formatStability(metrics: RunMetrics): string[] {
  const withStability = metrics.results.filter((r) => r.stability);
  if (withStability.length === 0) return [];
  const rows: string[][] = [];
  for (const r of withStability) {
    for (const [field, label] of STABILITY_ROWS) {
      const e: StabilityError | null = r.stability![field];
      rows.push([
        rows.length % 3 === 0 ? r.key : '',
        label,
        percentCell(e?.mean, STABILITY_DIGITS),
        // no interval (NaN in memory, null in metrics.json) over fewer than MIN_INTERVAL_IMAGES images
        intervalCell(e?.lo, e?.hi, STABILITY_DIGITS),
        e ? String(e.objects) : '0',
        percentCell(e?.worst.value),
        e ? String(e.worst.imageId) : DASH,
        e ? String(e.worst.annotationId) : DASH,
      ]);
    }
  }
  const tau = withStability[0].stability!.scoreThreshold;
  return [
    '',
    `Video-stability errors over ground-truth objects (protocol §5, score ≥ ${tau}; 95% bootstrap intervals over ` +
      `images):`,
    table(['model', 'error', 'mean %', '95% CI %', 'objects', 'worst %', 'image', 'annotation'], rows, 2),
  ];
}

/** The interval of mapRange in pp, "[lo, hi]", or — when there is none. */
function rangeInterval(r: DetectorRunSummary): string {
  const iv = r.analysis?.boundsInterval?.mapRange;
  return intervalCell(iv?.lo, iv?.hi);
}

/** A signed difference with its interval in pp: "−5.00 pp [−8.00, −1.00]". */
const signedPp = (iv: { value: number; lo: number; hi: number }) =>
  `${signedPointsCell(iv.value)} pp [${signedPointsCell(iv.lo)}, ${signedPointsCell(iv.hi)}]`;

/**
 * Lines under the table: each paired difference (Δ mapRange and Δ mapRef with their
 * intervals, the share of resamples in which the mitigation is steadier, the verdict —
 * "steadier (significant)" only when the interval excludes 0) and each detector's notes.
 */
export function formatPairedAndNotes(metrics: RunMetrics): string[] {
  const lines: string[] = [];
  const paired = metrics.results.flatMap((r) => r.analysis?.paired ?? []);
  if (paired.length > 0) {
    const p0 = paired[0];
    // pairs of different models can be over different counts (other skipped images, sparse labels: only resamples with
    // ground truth on both sides count): one count in the heading only when every pair has it, else each its own
    const shared = paired.every((p) => p.resamples === p0.resamples && p.seed === p0.seed);
    lines.push(
      '',
      shared
        ? `Paired differences vs the plain detector (same ${p0.resamples} bootstrap resamples of the images, ` +
            `seed ${p0.seed}; 95% intervals):`
        : 'Paired differences vs the plain detector (each on the same bootstrap resamples of the images for both ' +
            'sides; 95% intervals):',
    );
    for (const p of paired) {
      lines.push(
        `  ${p.key} vs ${p.against}${p.kind === 'twin' ? ' (anti-aliased twin)' : ''}: ` +
          `Δ mapRange ${signedPp(p.deltaMapRange)}, Δ mapRef ${signedPp(p.deltaMapRef)}, ` +
          `steadier in ${(100 * p.steadierShare).toFixed(1)}% of ` +
          `${shared ? 'resamples' : `${p.resamples} paired resamples (seed ${p.seed})`} — mAP range: ${p.verdict}`,
      );
    }
  }
  const stable = stableAreaNote(metrics);
  const notes = [...(stable ? [stable] : []), ...runNotes(metrics.results)];
  if (notes.length > 0) lines.push('', ...notes.map((n) => `note: ${n}`));
  return lines;
}

/** mapRef, mapRange, its interval, relRange, flipRate, detConsistency, cost — the cells every summary row shows. */
function headlineCells(r: DetectorRunSummary): string[] {
  return [
    percentCell(r.bounds?.mapRef),
    pointsCell(r.bounds?.mapRange),
    rangeInterval(r),
    percentCell(r.bounds?.relRange),
    percentCell(r.consistency.flipRate?.mean),
    percentCell(r.consistency.detConsistency.mean),
    // as report.md/.html: a plain detector without a ratio is the baseline; a mitigation without one (no plain
    // detector in the run) is —, and the notes say why
    r.timing.costRatio == null && r.mitigation === null ? 'baseline' : numberCell(r.timing.costRatio),
  ];
}

/** mapRange per detector, grouped under a heading per family (the paper's grouping). */
export function formatFamilyTable(metrics: RunMetrics): string {
  const groups = new Map<string, DetectorRunSummary[]>();
  for (const r of metrics.results) {
    const f = familyText(r);
    groups.set(f, [...(groups.get(f) ?? []), r]);
  }
  const blocks: string[] = [];
  for (const [family, rs] of [...groups.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    const rows = rs.map((r) => [`  ${r.key}`, ...headlineCells(r)]);
    blocks.push(`${family}\n${table(['  model', ...HEADLINE], rows, 1)}`);
  }
  return [blocks.join('\n\n'), ...formatStability(metrics), ...formatPairedAndNotes(metrics)].join('\n');
}
