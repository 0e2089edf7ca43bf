/**
 * report.md: a Markdown summary of a run that renders on GitHub (a pull request, a
 * job summary): the headline table with 95 % intervals, one verdict line per detector and
 * the video-stability errors. Absent numbers are "—", never a placeholder value.
 */
import { stableAreaNote } from '../core/messages.js';
import { STABILITY_DIGITS, countOf, signedPointsCell } from '../core/units.js';
import type { PairedDifference } from '../core/types.js';
import {
  MISSING,
  runNotes,
  noBoundsIntervalReason,
  noMapReason,
  num,
  periodBeyondChance,
  periodValue,
  periodVerdict,
} from './format.js';
import { STABILITY_COLUMNS } from './stability.js';
import { headlineRows, type HeadlineRow, type ValueWithInterval } from './headline.js';
import type { ReportRun } from './load.js';

/** Escapes text for a Markdown table cell or line: `|`, backslash, backticks, angle brackets and newlines. */
export function escapeMarkdown(text: string): string {
  return text.replace(/[\\|`*_[\]<>]/g, (c) => `\\${c}`).replace(/\r?\n/g, ' ');
}

/**
 * A code span for a key or spec: GitHub splits table cells at `|` even inside code, so it is
 * written `\|`; a backtick (never in a shiftbench key) becomes a plain quote.
 */
export function mdCode(text: string): string {
  return `\`${text.replace(/\r?\n/g, ' ').replace(/`/g, "'").replace(/\|/g, '\\|')}\``;
}

const ok = (v: number | null | undefined): v is number => typeof v === 'number' && Number.isFinite(v);

/**
 * A 0–1 value with its interval as "41.2% [39.0–43.1]" (unit %) or "2.90 pp [2.10–3.40]" (unit pp); "—" when absent.
 */
export function mdValue(x: ValueWithInterval, unit: '%' | 'pp' | 'px', digits = unit === '%' ? 1 : 2): string {
  if (!ok(x.value)) return MISSING;
  const f = (v: number) => (unit === 'px' ? v : v * 100).toFixed(digits);
  const head = unit === '%' ? `${f(x.value)}%` : `${f(x.value)} ${unit}`;
  return ok(x.lo) && ok(x.hi) ? `${head} [${f(x.lo)}–${f(x.hi)}]` : head;
}

// a Δ in pp as every format writes it (±0.00 for a value that rounds to 0): core/units.ts
const signed = (v: number) => signedPointsCell(v);

/** One paired difference as a sentence: Δ with its interval, the share of resamples and the verdict. */
export function pairedSentence(p: PairedDifference): string {
  return (
    `Δ mAP range ${signed(p.deltaMapRange.value)} pp [${signed(p.deltaMapRange.lo)}, ${signed(p.deltaMapRange.hi)}], ` +
    `Δ mAP at (0,0) ${signed(p.deltaMapRef.value)} pp [${signed(p.deltaMapRef.lo)}, ${signed(p.deltaMapRef.hi)}] ` +
    `vs ${mdCode(p.against)}` +
    ` (steadier in ${(p.steadierShare * 100).toFixed(1)}% of ${p.resamples} paired resamples): **${p.verdict}**`
  );
}

/** The resamples a bounds interval is over: B, or those of B with ground truth where some drew none (sparse labels). */
function resamplesText(row: HeadlineRow): string {
  const valid = row.boundsValidResamples;
  return valid !== null && valid !== row.boundsResamples
    ? `the ${valid} of ${row.boundsResamples} resamples with ground truth`
    : `${row.boundsResamples} resamples`;
}

/** The verdict line of one detector: its range with the interval, or its paired differences. */
export function verdictLine(row: HeadlineRow, labelFree: boolean): string {
  const name = mdCode(row.key);
  if (labelFree || !ok(row.mapRange.value))
    return `${name}: no mAP (${noMapReason(labelFree)}): consistency metrics only.`;
  const range = `mAP range ${mdValue(row.mapRange, 'pp')}`;
  const ivNote = ok(row.mapRange.lo)
    ? ` (95% interval over ${resamplesText(row)})`
    : ` (no interval: ${noBoundsIntervalReason(row.imagesEvaluated, row.boundsOffNote)})`;
  if (row.mitigation === null) return `${name}: ${range}${ivNote}.`;
  if (row.paired.length === 0)
    return `${name}: ${range}${ivNote}; no paired difference against its plain detector, so no verdict.`;
  return `${name}: ${row.paired.map(pairedSentence).join('; ')}.`;
}

/**
 * The video-stability errors (protocol §5) as report.html gives them, without the worst objects: per detector the mean
 * over objects with its 95 % interval in %, and the objects followed; — where no object qualifies, or for a detector of
 * a run made before the errors existed. No lines when no detector has them (label-free data, older runs).
 */
function stabilityLines(m: ReportRun['metrics']): string[] {
  const first = m.results.find((r) => r.stability)?.stability;
  if (!first) return [];
  const head = ['Detector', ...STABILITY_COLUMNS.map(([, t]) => `${t} [95%]`), 'ground-truth objects'];
  const rows = m.results.map((r) => {
    const s = r.stability;
    const cells = s
      ? [
          ...STABILITY_COLUMNS.map(([k]) =>
            s[k]
              ? `${mdValue({ value: s[k].mean, lo: s[k].lo, hi: s[k].hi }, '%', STABILITY_DIGITS)} (${s[k].objects})`
              : MISSING,
          ),
          String(s.objects),
        ]
      : [...STABILITY_COLUMNS.map(() => MISSING), MISSING];
    return `| ${[mdCode(r.key), ...cells].join(' | ')} |`;
  });
  return [
    '**Video-stability errors**',
    '',
    `Ground-truth objects followed across the shifts (detections with score ≥ τ = ${first.scoreThreshold}); lower is ` +
      'steadier. Means over objects with 95% bootstrap intervals over images; the worst objects are in report.html. ' +
      'In parentheses the objects each mean is over: for CPE and SRE those matched at 2 shifts or more, for the ' +
      'fragment error those found at least once.',
    '',
    `| ${head.join(' | ')} |`,
    `|${head.map((_, i) => (i < 1 ? ' --- ' : ' ---: ')).join('|')}|`,
    ...rows,
    '',
  ];
}

/**
 * Protocol §8 along line:K sets, as report.html names it (periodVerdict): per detector one line with each axis' period
 * of per-shift mAP, its R²adj and, for a period beyond chance, the phase means in %. No lines without a line of shifts.
 */
function periodicityLines(m: ReportRun['metrics']): string[] {
  const value = periodValue('pct');
  const lines = m.results.flatMap((r) => {
    const axes = (r.analysis?.periodicity ?? []).map((ax) => {
      const f = ax.map;
      const verdict = periodVerdict(f, ax.series.map, value);
      if (!f) return `${ax.axis}: ${verdict}`;
      const phases = periodBeyondChance(f) ? `, phase means ${f.phaseMeans.map(value).join(', ')} (%)` : '';
      return `${ax.axis}: ${verdict}, R²adj ${num(f.r2adj, 3)}${phases}`;
    });
    return axes.length > 0 ? [`- ${mdCode(r.key)}: ${escapeMarkdown(axes.join('; '))}`] : [];
  });
  return lines.length > 0 ? ['**Periodicity of mAP along the line of shifts** (protocol §8)', '', ...lines, ''] : [];
}

/** Renders the Markdown summary of a loaded run. Pure and deterministic. */
export function renderReportMarkdown(run: ReportRun): string {
  const m = run.metrics;
  const rows = headlineRows(m);
  // no mAP at all: the dataset has no labels, or the evaluated images no annotation (a labelled run without ground truth)
  const noMap = m.dataset.labelFree || rows.every((r) => !ok(r.mapRef.value));
  const taus = [...new Set(rows.map((r) => r.scoreThreshold))];
  const lines: string[] = [];
  lines.push(`## shiftbench: ${escapeMarkdown(m.runId)}`, '');
  lines.push(
    `Dataset **${escapeMarkdown(m.dataset.name)}** (${countOf(m.dataset.images, 'image')}) · shifts ${mdCode(m.shiftSet.spec)} ` +
      `(${m.shiftSet.shifts.length}) · mode ${mdCode(m.mode)} · score threshold τ = ${taus.join(', ')}`,
    '',
  );
  const stable = stableAreaNote(m);
  if (stable) lines.push(`Note: ${escapeMarkdown(stable)}.`, '');
  const head = noMap
    ? ['Detector', 'Mitigation', 'det. consistency [95%]', 'centre jitter [95%]', 'cost', 'images']
    : [
        'Detector',
        'Mitigation',
        'mAP at (0,0) [95%]',
        'mAP lower',
        'mAP upper',
        'mAP range [95%]',
        'rel. range [95%]',
        'flip rate [95%]',
        'det. consistency [95%]',
        'cost',
        'images',
      ];
  lines.push(`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i < 2 ? ' --- ' : ' ---: ')).join('|')}|`);
  for (const r of rows) {
    // as report.html: a plain detector without a ratio is its own baseline (a twin with a ratio shows it); a mitigation
    // without one shows — and the notes say why (no cost ratio: …)
    const cost = ok(r.costRatio) ? `×${r.costRatio.toFixed(2)}` : r.mitigation === null ? 'baseline' : MISSING;
    const cells = [
      mdCode(r.key),
      r.mitigation === null ? MISSING : mdCode(r.mitigation),
      ...(noMap
        ? []
        : [
            mdValue(r.mapRef, '%'),
            mdValue({ value: r.mapLower, lo: null, hi: null }, '%'),
            mdValue({ value: r.mapUpper, lo: null, hi: null }, '%'),
            `**${mdValue(r.mapRange, 'pp')}**`.replace(`**${MISSING}**`, MISSING),
            mdValue(r.relRange, '%'),
            mdValue(r.flipRate, '%'),
          ]),
      mdValue(r.detConsistency, '%'),
      ...(noMap ? [mdValue(r.boxJitterCenterPx, 'px')] : []),
      cost,
      String(r.imagesEvaluated),
    ];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  lines.push('');
  lines.push(
    noMap
      ? `${
          m.dataset.labelFree
            ? 'No labels: only consistency metrics.'
            : 'No ground truth in the evaluated images: no mAP, only consistency metrics.'
        } Intervals are 95% bootstrap intervals over images.`
      : 'mAP is COCO AP@[.50:.95] in %; the mAP range (upper − lower bound over shifts) in percentage points (pp). ' +
          'Intervals are 95% bootstrap intervals over images; a range depends on the number of images, ' +
          'so ranges from ' +
          'datasets of different sizes are not comparable.',
    '',
  );
  lines.push('**Verdicts**', '');
  for (const r of rows) lines.push(`- ${verdictLine(r, m.dataset.labelFree)}`);
  lines.push('');
  lines.push(...stabilityLines(m), ...periodicityLines(m));
  const notes = runNotes(m.results);
  // a note can name detector keys (no cost ratio: …): escaped as every other text of the page
  if (notes.length > 0) lines.push('**Notes**', '', ...notes.map((n) => `- ${escapeMarkdown(n)}`), '');
  // skipped images: the images column alone would show a smaller count with no reason (the HTML report lists them)
  const skipped = m.results.filter((r) => r.skippedImages.length > 0);
  if (skipped.length > 0) {
    lines.push('**Skipped images**', '');
    for (const r of skipped) {
      const n = r.skippedImages.length;
      lines.push(
        `- ${mdCode(r.key)}: ${countOf(n, 'image')} skipped (id${n === 1 ? '' : 's'} ` +
          `${r.skippedImages.map((s) => s.imageId).join(', ')}), left out of every number of this detector ` +
          '(reasons in skipped.json)',
      );
    }
    lines.push('');
  }
  return lines.join('\n');
}
