/**
 * `shiftbench compare RUN_A RUN_B …`: runs side by side. Every run after the first is
 * paired with the first (Δ = run − RUN_A) from both runs' stored detections when the two
 * share dataset, images, shift set, mode and preprocessing (runCompatibility); otherwise
 * the comparison says why and shows them unpaired. A terminal table and one
 * self-contained HTML page (no network), both from the same Comparison.
 */
import { ShiftbenchError, invalidParameterError } from '../core/errors.js';
import { countOf, signedPointsCell } from '../core/units.js';
import { labelDifference, ownResamplesOffReason, rescoreToPair, runCompatibility } from './compatible.js';
import { MISSING, escapeHtml as h, firstBoundsOffNote } from './format.js';
import { MIN_INTERVAL_IMAGES } from '../metrics/uncertainty.js';
import { headlineRows, type HeadlineRow, type ValueWithInterval } from './headline.js';
import { headHtml } from './html.js';
import { loadReportRun, type ReportRun } from './load.js';

/** A paired difference of one detector key, run − RUN_A, as pairRuns gives it. */
export interface RunDelta {
  key: string;
  resamples: number;
  seed: number;
  deltaMapRange: { value: number; lo: number; hi: number };
  deltaMapRef: { value: number; lo: number; hi: number };
  steadierShare: number;
  significant: boolean;
  verdict: string;
}

/** Pairs two run directories for the given keys (the runner's pairRuns). */
export type PairRunsFn = (runDir: string, referenceDir: string, keys: string[]) => Promise<RunDelta[]>;

/** One run of a comparison with its letter (A, B, …). */
export interface ComparedRun {
  label: string;
  run: ReportRun;
  rows: HeadlineRow[];
}

/** A run against RUN_A: paired (with deltas) or not (with the reasons). */
export interface ComparePair {
  label: string;
  paired: boolean;
  /** Why they are not paired (empty when paired). */
  differences: string[];
  /** Settings that made the detections and differ from A's (runCompatibility's madeDifferently, labelled). */
  madeDifferently: string[];
  deltas: RunDelta[];
}

/** The content of a comparison. */
export interface Comparison {
  runs: ComparedRun[];
  /** One per run after the first, in order. */
  pairs: ComparePair[];
  /** Detector keys of all runs, in first-seen order. */
  keys: string[];
}

const letter = (i: number) => (i < 26 ? String.fromCharCode(65 + i) : `R${i + 1}`);

/**
 * Loads the runs and pairs each later run with the first where they can be paired.
 * Throws ERR_INVALID_OPTION for fewer than two runs or a run given twice, and whatever
 * loadReportRun and `pair` throw.
 */
export async function compareRuns(runDirs: string[], pair: PairRunsFn): Promise<Comparison> {
  if (runDirs.length < 2)
    throw invalidParameterError(
      '<runDirs...>',
      'at least two run directories',
      runDirs.length === 1 ? runDirs[0] : runDirs,
    );
  const runs: ComparedRun[] = [];
  for (const [i, dir] of runDirs.entries()) {
    const run = await loadReportRun(dir);
    const twice = runs.find((r) => r.run.runDir === run.runDir);
    if (twice)
      throw new ShiftbenchError(
        'ERR_INVALID_OPTION',
        `Expected different run directories for <runDirs...> but received ${dir} twice (as ${twice.label} and ` +
          `${letter(i)})`,
      );
    runs.push({ label: letter(i), run, rows: headlineRows(run.metrics) });
  }
  const ref = runs[0];
  const pairs: ComparePair[] = [];
  for (const r of runs.slice(1)) {
    const compat = runCompatibility(r.run, ref.run);
    const labelled = (d: string) => labelDifference(d, r.label, ref.label);
    const differences = compat.differences.map(labelled);
    const madeDifferently = compat.madeDifferently.map(labelled);
    const rescore = rescoreToPair(r.run, ref.run, compat.differences);
    if (compat.commonKeys.length === 0) differences.push(`no detector in common with ${ref.label}`);
    else if (rescore !== null) differences.push(rescore);
    if (differences.length) pairs.push({ label: r.label, paired: false, differences, madeDifferently, deltas: [] });
    else
      pairs.push({
        label: r.label,
        paired: true,
        differences: [],
        madeDifferently,
        deltas: await pair(r.run.runDir, ref.run.runDir, compat.commonKeys),
      });
  }
  const keys = [...new Set(runs.flatMap((r) => r.rows.map((x) => x.key)))];
  return { runs, pairs, keys };
}

const ok = (v: number | null | undefined): v is number => typeof v === 'number' && Number.isFinite(v);

function text(x: ValueWithInterval, unit: '%' | 'pp'): string {
  if (!ok(x.value)) return MISSING;
  const d = unit === '%' ? 1 : 2;
  const f = (v: number) => (v * 100).toFixed(d);
  const head = unit === '%' ? `${f(x.value)}%` : `${f(x.value)} pp`;
  return ok(x.lo) && ok(x.hi) ? `${head} [${f(x.lo)}–${f(x.hi)}]` : head;
}

// a Δ in pp as every format writes it (±0.00 for a value that rounds to 0): core/units.ts
const signed = (v: number) => signedPointsCell(v);

/** "Δ mAP range +1.20 pp [+0.40, +2.10], Δ mAP at (0,0) … over N paired resamples — mAP range: less steady (significant)": the verdict is on the range alone. */
export function deltaText(d: RunDelta): string {
  return (
    `Δ mAP range ${signed(d.deltaMapRange.value)} pp [${signed(d.deltaMapRange.lo)}, ` +
    `${signed(d.deltaMapRange.hi)}], Δ mAP at (0,0) ${signed(d.deltaMapRef.value)} pp [${signed(d.deltaMapRef.lo)}, ` +
    `${signed(d.deltaMapRef.hi)}] over ${d.resamples} paired resamples — mAP range: ${d.verdict}`
  );
}

function describeRun(r: ComparedRun): string {
  const m = r.run.metrics;
  return (
    `${m.runId} — ${m.dataset.name} (${countOf(m.dataset.images, 'image')}${m.dataset.labelFree ? ', no labels' : ''}) · ` +
    `${m.shiftSet.spec} · ${m.mode} — ${r.run.runDir}`
  );
}

const COLUMNS: { head: string; cell: (x: HeadlineRow) => string }[] = [
  { head: 'mAP at (0,0)', cell: (x) => text({ value: x.mapRef.value, lo: null, hi: null }, '%') },
  { head: 'mAP range [95%]', cell: (x) => text(x.mapRange, 'pp') },
  { head: 'rel. range', cell: (x) => text({ value: x.relRange.value, lo: null, hi: null }, '%') },
  { head: 'flip rate [95%]', cell: (x) => text(x.flipRate, '%') },
  { head: 'det. consistency [95%]', cell: (x) => text(x.detConsistency, '%') },
  { head: 'images', cell: (x) => String(x.imagesEvaluated) },
];

/**
 * Why paired runs (same dataset and images) have no paired difference, as a sentence: no labels, no ground truth
 * (no detector with mAP in both), or fewer images than an interval needs.
 */
function noPairedDifference(c: Comparison): string {
  const m = c.runs[0].run.metrics;
  const images = Math.min(...m.results.map((r) => r.imagesEvaluated));
  if (!m.dataset.labelFree && m.results.some((r) => r.bounds) && images < MIN_INTERVAL_IMAGES)
    return `no paired difference: ${countOf(images, 'image')} (fewer than ${MIN_INTERVAL_IMAGES} images give no interval)`;
  // A had no bounds resamples and none were asked for: nothing was paired on a B (and a cost) chosen here
  const own = ownResamplesOffReason(c.runs[0].run);
  if (!m.dataset.labelFree && m.results.some((r) => r.bounds) && own !== null)
    return `no paired difference: ${c.runs[0].label} ${own}; compare --bootstrap-bounds B pairs on B resamples`;
  // the run's own scoring noted why it gave no interval (too few resamples with ground truth): the pairing has none too
  const off = firstBoundsOffNote(m.results);
  if (!m.dataset.labelFree && m.results.some((r) => r.bounds) && off !== null) return `no paired difference: ${off}`;
  return `no detector with mAP in both (${m.dataset.labelFree ? 'label-free' : 'no ground truth'}): no paired difference`;
}

/**
 * The detectors of a paired run and A that have no paired difference while others do, each with why: in one run only,
 * or without a bounds interval in one of them. Empty when nothing was paired (noPairedDifference says why).
 */
function unpairedKeys(c: Comparison, p: ComparePair): { key: string; why: string }[] {
  if (!p.paired || p.deltas.length === 0) return [];
  const has = (label: string) => new Set(c.runs.find((r) => r.label === label)!.rows.map((x) => x.key));
  const inA = has(c.runs[0].label);
  const inP = has(p.label);
  const done = new Set(p.deltas.map((d) => d.key));
  return c.keys
    .filter((key) => !done.has(key) && (inA.has(key) || inP.has(key)))
    .map((key) => ({
      key,
      why: !inP.has(key)
        ? `only in ${c.runs[0].label}`
        : !inA.has(key)
          ? `only in ${p.label}`
          : 'no mAP range with its interval in both runs',
    }));
}

/**
 * Why a rel. range cell is "—" where the rest of its row has numbers: mAP at (0,0) is 0 (e.g. a detector that finds
 * nothing), so the range relative to it is undefined. Null when no row is so.
 */
function relRangeAbsentNote(c: Comparison): string | null {
  const keys = c.keys.filter((key) =>
    c.runs.some((r) => {
      const row = r.rows.find((x) => x.key === key);
      return row !== undefined && row.mapRef.value === 0 && row.relRange.value === null;
    }),
  );
  return keys.length === 0
    ? null
    : `rel. range —: mAP at (0,0) is 0 for ${keys.join(', ')} (a range relative to 0 is undefined)`;
}

/** What a paired Δ measures besides the detectors, as one sentence after "made differently: "; null when nothing. */
function madeDifferentlyText(p: ComparePair): string | null {
  return p.madeDifferently.length === 0
    ? null
    : `${p.madeDifferently.join('; ')} — each Δ includes the effect of ${p.madeDifferently.length === 1 ? 'that setting' : 'those settings'}, not only the detectors'`;
}

/** The terminal table: one line per run, one row per detector and run, then each pairing. Pure. */
export function renderComparisonText(c: Comparison): string {
  const lines: string[] = ['Runs:'];
  for (const r of c.runs) lines.push(`  ${r.label}  ${describeRun(r)}`);
  lines.push('');
  const table: string[][] = [['detector', 'run', ...COLUMNS.map((col) => col.head)]];
  for (const key of c.keys) {
    c.runs.forEach((r, i) => {
      const row = r.rows.find((x) => x.key === key);
      table.push([i === 0 ? key : '', r.label, ...COLUMNS.map((col) => (row ? col.cell(row) : MISSING))]);
    });
  }
  const widths = table[0].map((_, j) => Math.max(...table.map((t) => t[j].length)));
  for (const t of table)
    lines.push(
      t
        .map((cell, j) => (j < 2 ? cell.padEnd(widths[j]) : cell.padStart(widths[j])))
        .join('  ')
        .trimEnd(),
    );
  const relNote = relRangeAbsentNote(c);
  if (relNote !== null) lines.push(relNote);
  lines.push('');
  for (const p of c.pairs) {
    if (!p.paired) {
      lines.push(`${p.label} vs A: not paired, shown side by side only — ${p.differences.join('; ')}`);
      continue;
    }
    lines.push(
      `${p.label} vs A: paired on the same images (Δ = ${p.label} − A; "significant" only when the 95% interval ` +
        `excludes 0)`,
    );
    const made = madeDifferentlyText(p);
    if (made !== null) lines.push(`  made differently: ${made}`);
    if (p.deltas.length === 0) lines.push(`  ${noPairedDifference(c)}`);
    for (const d of p.deltas) lines.push(`  ${d.key}: ${deltaText(d)}`);
    for (const u of unpairedKeys(c, p)) lines.push(`  ${u.key}: no paired difference — ${u.why}`);
  }
  return lines.join('\n') + '\n';
}

/** The comparison as one self-contained HTML page (inline CSS, no script, the report's CSP). Pure. */
export function renderComparisonHtml(c: Comparison): string {
  const runsHtml = c.runs.map((r) => `<li><b>${h(r.label)}</b> ${h(describeRun(r))}</li>`).join('');
  const body = c.keys
    .map((key) =>
      c.runs
        .map((r, i) => {
          const row = r.rows.find((x) => x.key === key);
          const first = i === 0 ? `<th scope="rowgroup" rowspan="${c.runs.length}"><code>${h(key)}</code></th>` : '';
          return `<tr>${first}<td class="label">${h(r.label)}</td>${COLUMNS.map(
            (col) => `<td>${h(row ? col.cell(row) : MISSING)}</td>`,
          ).join('')}</tr>`;
        })
        .join('\n'),
    )
    .join('\n');
  const relNote = relRangeAbsentNote(c);
  const pairsHtml = c.pairs
    .map((p) => {
      if (!p.paired)
        return (
          `<h3>${h(p.label)} vs A: not paired</h3><p>These runs differ, so they are shown side by side only, ` +
          `without a paired difference:</p><ul>${p.differences.map((d) => `<li>${h(d)}</li>`).join('')}</ul>`
        );
      const rows = p.deltas
        .map(
          (d) =>
            `<tr><th scope="row"><code>${h(d.key)}</code></th><td class="key-metric">` +
            `${h(signed(d.deltaMapRange.value))} <span class="ci">[${h(signed(d.deltaMapRange.lo))}, ` +
            `${h(signed(d.deltaMapRange.hi))}]</span></td><td>${h(signed(d.deltaMapRef.value))} <span ` +
            `class="ci">[${h(signed(d.deltaMapRef.lo))}, ${h(signed(d.deltaMapRef.hi))}]</span></td><td>` +
            `${h((d.steadierShare * 100).toFixed(1))}% of ${h(d.resamples)}</td><td>${h(d.verdict)}</td></tr>`,
        )
        .join('');
      const unpaired = unpairedKeys(c, p)
        .map((u) => `<li><code>${h(u.key)}</code>: no paired difference — ${h(u.why)}</li>`)
        .join('');
      const made =
        p.madeDifferently.length === 0
          ? ''
          : `<p>The detections were made differently, so each Δ includes the effect of ` +
            `${p.madeDifferently.length === 1 ? 'this setting' : 'these settings'}, not only the detectors':</p><ul>` +
            `${p.madeDifferently.map((d) => `<li>${h(d)}</li>`).join('')}</ul>`;
      return `<h3>${h(p.label)} vs A: paired on the same images</h3>${made}${
        p.deltas.length
          ? `<div class="table-wrap"><table class="details paired"><caption>Δ = ${h(p.label)} − A per detector, ` +
            `on the same bootstrap resamples of the images, from both runs' stored detections. ` +
            `"Significant" only when the 95% interval excludes 0.</caption><thead><tr><th ` +
            `scope="col">Detector</th><th scope="col">Δ mAP range (pp) [95%]</th><th scope="col">Δ mAP at (0,0) ` +
            `(pp) [95%]</th><th scope="col">${h(p.label)} steadier in</th><th ` +
            `scope="col">Verdict on the mAP range</th></tr></thead><tbody>${rows}</tbody></table></div>`
          : `<p>${h(noPairedDifference(c).replace(/^n/, 'N'))}.</p>`
      }${unpaired ? `<ul>${unpaired}</ul>` : ''}`;
    })
    .join('\n');
  return (
    `<!doctype html>
<html lang="en">
<head>
${headHtml(`shiftbench compare: ${c.runs.map((r) => r.run.metrics.runId).join(' · ')}`)}
</head>
<body>
<header><h1>shiftbench compare</h1><ol class="runs">${runsHtml}</ol></header>
<main>
<section id="side-by-side"><h2>Side by side</h2>
<div class="table-wrap"><table class="headline"><caption>Each run's own numbers (mAP in %, range in pp, ` +
    `95% bootstrap intervals over that run's images). Ranges of runs on different images are not comparable.</caption>
<thead><tr><th scope="col">Detector</th><th scope="col">Run</th>${COLUMNS.map(
      (col) => `<th scope="col">${h(col.head)}</th>`,
    ).join('')}</tr></thead>
<tbody>
${body}
</tbody></table></div>${relNote === null ? '' : `<p class="na">${h(relNote)}</p>`}</section>
<section id="paired"><h2>Paired differences against A</h2>
${pairsHtml}
</section>
</main>
</body>
</html>
`
  );
}
