/**
 * The HTML report: one self-contained file (inline CSS, inline Chart.js, inline data,
 * no network). Every string that comes from the run's files is escaped.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { plainKeyOf } from '../core/variantKey.js';
import type { DetectorRunSummary, RunMetrics, Shift } from '../core/types.js';
import { stableAreaWithoutGroundTruth } from '../core/messages.js';
import { loadError } from '../core/errors.js';
import { isFractionalSet, offsetLabel, shiftOffsetsLabel } from '../shifts/shiftSet.js';
import { VERSION } from '../version.js';
import { CLIENT_SCRIPT } from './client.js';
import {
  MISSING,
  cost,
  escapeHtml as h,
  intervalHtml,
  jsonForScript,
  resultsNoIntervalReason,
  num,
  pct,
  pp,
  signedPp,
} from './format.js';
import { breakdownSection, periodicitySection, ppInterval, uncertaintySection } from './analysis.js';
import { manifestDetectorFacts, type ReportRun } from './load.js';
import { gallerySection, type Gallery } from './gallery.js';
import { ANALYSIS_CHARTS_SCRIPT, analysisChartData, analysisChartsSection } from './charts.js';
import { stabilitySection } from './stability.js';

/**
 * The report's Content-Security-Policy: everything is inline (data, charts, script,
 * style), so nothing may be loaded from anywhere — no network, no other files. Shared by
 * every HTML page shiftbench writes (see headHtml).
 */
export const REPORT_CSP = [
  "default-src 'none'",
  "script-src 'unsafe-inline'",
  "style-src 'unsafe-inline'",
  'img-src data:',
  'font-src data:',
  "connect-src 'none'",
  "form-action 'none'",
  "base-uri 'none'",
].join('; ');

/**
 * The <head> content every page shiftbench writes shares: charset, the CSP that forbids network loads, viewport,
 * generator, title, style.
 */
export function headHtml(title: string): string {
  return `<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${REPORT_CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="shiftbench ${h(VERSION)}">
<title>${h(title)}</title>
<style>${CSS}</style>`;
}

let chartJsCache: string | null = null;

/**
 * The Chart.js UMD bundle from node_modules, ready to inline: licence banner kept,
 * source-map comment dropped (it would point outside the file), `</script` made harmless.
 * Throws ERR_OUTPUT (load error with fixes) when chart.js is not installed.
 */
export async function chartJsSource(): Promise<string> {
  if (chartJsCache !== null) return chartJsCache;
  let lastErr: unknown;
  try {
    const require = createRequire(import.meta.url);
    const distDir = path.dirname(require.resolve('chart.js'));
    for (const name of ['chart.umd.min.js', 'chart.umd.js']) {
      try {
        const text = await readFile(path.join(distDir, name), 'utf8');
        chartJsCache = text
          .replace(/\n\/\/# sourceMappingURL=\S*\s*$/, '\n')
          .replace(/<\/(script)/gi, '<\\/$1')
          .replace(/<!--/g, '<\\!--');
        return chartJsCache;
      } catch (err) {
        lastErr = err;
      }
    }
  } catch (err) {
    lastErr = err;
  }
  throw loadError(
    'ERR_OUTPUT',
    'chart.js (needed to draw the report charts)',
    ["reinstall shiftbench's dependencies: `npm install`"],
    lastErr,
  );
}

// ---------------------------------------------------------------- ordering and grouping

const FAMILY_ORDER = [
  'one-stage/anchor-based',
  'one-stage/anchor-free',
  'two-stage/anchor-based',
  'two-stage/anchor-free',
];

function familyKey(r: DetectorRunSummary): string {
  return `${r.family.stages}/${r.family.anchors}`;
}

/**
 * Results grouped by family (stages × anchors) in the paper's order; inside a group, each model's plain run first, then
 * its mitigations.
 */
export function groupByFamily(
  results: DetectorRunSummary[],
): { family: string; label: string; rows: DetectorRunSummary[] }[] {
  const modelOrder = new Map<string, number>();
  results.forEach((r) => {
    if (!modelOrder.has(r.model)) modelOrder.set(r.model, modelOrder.size);
  });
  const sorted = results
    .map((r, i) => ({ r, i }))
    .sort((a, b) => {
      const ma = modelOrder.get(a.r.model)!,
        mb = modelOrder.get(b.r.model)!;
      if (ma !== mb) return ma - mb;
      const pa = a.r.mitigation === null ? 0 : 1,
        pb = b.r.mitigation === null ? 0 : 1;
      return pa - pb || a.i - b.i;
    })
    .map((x) => x.r);
  const groups = new Map<string, DetectorRunSummary[]>();
  for (const r of sorted) {
    const k = familyKey(r);
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k)!.push(r);
  }
  const rank = (k: string) => {
    const i = FAMILY_ORDER.indexOf(k);
    return i < 0 ? FAMILY_ORDER.length : i;
  };
  return [...groups.keys()]
    .sort((a, b) => rank(a) - rank(b) || a.localeCompare(b))
    .map((family) => ({ family, label: family.replace('/', ' · '), rows: groups.get(family)! }));
}

/** A mitigated row's own plain detector, by key (plainKeyOf), or null. */
function plainOf(r: DetectorRunSummary, all: DetectorRunSummary[]): DetectorRunSummary | null {
  if (r.mitigation === null) return null;
  const key = plainKeyOf(r);
  return all.find((x) => x.key === key && x.mitigation === null) ?? null;
}

/** True when the shifts are exactly every (dx, dy) with 0 ≤ dx, dy ≤ K (a grid:K set); returns K, else null. */
export function gridSize(shifts: Shift[]): number | null {
  if (shifts.length === 0) return null;
  const k = Math.max(...shifts.map((s) => Math.max(s.dx, s.dy)));
  if (!Number.isInteger(k) || k < 1 || shifts.length !== (k + 1) * (k + 1)) return null;
  const seen = new Set<string>();
  for (const s of shifts) {
    if (!Number.isInteger(s.dx) || !Number.isInteger(s.dy) || s.dx < 0 || s.dy < 0 || s.dx > k || s.dy > k) return null;
    seen.add(`${s.dx},${s.dy}`);
  }
  return seen.size === shifts.length ? k : null;
}

// ---------------------------------------------------------------- sections

const MODE_HOW: Record<string, string> = {
  pad:
    'pad — the image is fitted once into an area K px smaller than the input (K = the largest offset) and pasted ' +
    'at (dx, dy) on a constant canvas: every shifted input is an exact translate and shows all of the image.',
  crop:
    'crop — the image is fitted once into a larger area and a model-size window is cut at the offset: ' +
    'content enters and leaves at the borders, as when a camera moves.',
  circular:
    'circular — the fitted image is rolled with wrap-around: unnatural for photos, but the setting in which exactly ' +
    'equivariant networks give identical outputs.',
};
const STABLE_AREA: Record<string, string> = {
  crop: 'the content shown whole at every shift',
  circular: 'the content never wrapped at any shift',
};

/** The mode, how its inputs are made and (crop, circular) what of them is scored (protocol §1). */
function modeText(metrics: RunMetrics): string {
  const how = MODE_HOW[metrics.mode] ?? metrics.mode;
  const area = STABLE_AREA[metrics.mode];
  if (!area) return how;
  return stableAreaWithoutGroundTruth(metrics)
    ? `${how} Only the stable area (${area}) is scored: detections centred outside it are dropped from the ` +
        'consistency metrics.'
    : `${how} Only the stable area (${area}) is scored: ground truth outside it is a crowd region at every shift, ` +
        'detections centred outside it are dropped, so this mAP is not the standard COCO mAP of the whole image.';
}

function row(label: string, valueHtml: string): string {
  return `<div><dt>${h(label)}</dt><dd>${valueHtml}</dd></div>`;
}

/** For sets holding fractional offsets: how their inputs were made, and that resampling is part of what is measured. */
function fractionalNote(run: ReportRun): string {
  if (!isFractionalSet(run.metrics.shiftSet)) return '';
  const sub = run.manifest.resample as { subpixel?: { padCrop?: unknown } } | undefined;
  const how =
    run.metrics.mode === 'circular'
      ? 'the ideal (Fourier) shift'
      : `the ${h(String(sub?.subpixel?.padCrop ?? 'recorded'))} kernel`;
  return (
    `. <strong>Fractional offsets</strong> (axis labels in pixels as fractions): every input of the set was made on ` +
    `the floating-point path, ` +
    `translated by the exact offset with ${how} and rounded once; fractional shifts include resampling effects, ` +
    `which integer shifts do not`
  );
}

/** Who computed the metrics after a rescore: the detections above came from the run's own build. */
function rescoredText(r: NonNullable<ReportRun['essentials']['rescored']>): string {
  return (
    `${h(r.at)} from the stored detections by shiftbench ${h(r.toolVersion)}, Node ${h(r.nodeVersion)} ` +
    `(build <code>${h(r.buildId.slice(0, 12))}</code>); the detectors ran with the tool version above`
  );
}

/**
 * The TF.js backend the run's TF.js detectors ran on (their runtime "tfjs <backend>"), with the one asked for
 * (`--backend`, e.g. auto) where that differs; no row where no TF.js detector ran, since the flag did nothing there.
 */
function tfjsBackendRow(runtimes: string[], asked: string | null): string {
  const ran = runtimes.filter((r) => r.startsWith('tfjs ')).map((r) => r.slice('tfjs '.length));
  if (!ran.length) return '';
  const text = ran.join(', ');
  return row('TF.js backend', h(asked && asked !== text ? `${text} (asked for: ${asked})` : text));
}

function headerSection(run: ReportRun): string {
  const { metrics, essentials: e } = run;
  const shifts = metrics.shiftSet.shifts;
  const maxOffsetPx = shifts.length ? Math.max(...shifts.map((s) => Math.max(Math.abs(s.dx), Math.abs(s.dy)))) : 0;
  const runtimes = [...new Set(metrics.results.map((r) => r.runtime).filter((x) => typeof x === 'string' && x))];
  const hashes = e.hashes.length
    ? `<table class="hashes"><thead><tr><th scope="col">field</th><th scope="col">value</th></tr></thead><tbody>` +
      `${e.hashes
        .map((x) => `<tr><td><code>${h(x.path)}</code></td><td><code>${h(x.value)}</code></td></tr>`)
        .join('')}</tbody></table>`
    : '<p>The manifest records no hashes.</p>';
  return (
    `<header>
<h1>Shift-equivariance report: <span class="ds">${h(metrics.dataset.name)}</span></h1>
<p class="lede">How much do the detections change when the model input moves by one pixel? ` +
    `Run <code>${h(metrics.runId)}</code>.</p>
<dl class="facts">
${row(
  'Dataset',
  `${h(metrics.dataset.name)}${metrics.dataset.labelFree ? ' <span class="badge">label-free</span>' : ''}`,
)}
${row('Images', h(metrics.dataset.images))}
${row(
  'Shift set',
  `<code>${h(metrics.shiftSet.spec)}</code> — ${h(shifts.length)} shifts, ` +
    `up to ${h(offsetLabel(maxOffsetPx))} px${fractionalNote(run)}`,
)}
${row('Mode', `<span title="${h(modeText(metrics))}">${h(metrics.mode)}</span>`)}
${tfjsBackendRow(runtimes, e.backend)}
${row('Runtime', h(runtimes.join(', ') || MISSING))}
${row('Machine', h(e.machine ?? MISSING))}
${row('Date', h(e.createdAt ?? MISSING))}
${row('Tool version', `shiftbench ${h(e.toolVersion ?? MISSING)}${e.nodeVersion ? `, Node ${h(e.nodeVersion)}` : ''}`)}
${e.rescored ? row('Metrics recomputed', rescoredText(e.rescored)) : ''}
${row('Seed', h(e.seed ?? MISSING))}
</dl>
<details class="manifest"><summary>Hashes and full manifest</summary>
${e.datasetHash ? `<p>Dataset hash: <code>${h(e.datasetHash)}</code></p>` : ''}
${hashes}
<pre>${h(JSON.stringify(run.manifest, null, 2))}</pre>
</details>
</header>`
  );
}

function headlineTable(run: ReportRun): string {
  const results = run.metrics.results;
  const hasBounds = results.some((r) => r.bounds);
  const hasFlip = results.some((r) => r.consistency.flipRate);
  const taus = [...new Set(results.map((r) => r.consistency.scoreThreshold))];
  const boundsCols = hasBounds ? 5 : 0;
  const consCols = (hasFlip ? 1 : 0) + 4;
  const totalCols = 2 + boundsCols + consCols + 1;

  const head1 =
    `<tr><th scope="col" rowspan="2">Model</th><th scope="col" rowspan="2">Mitigation</th>${
      hasBounds ? `<th scope="colgroup" colspan="${boundsCols}">mAP over shifts</th>` : ''
    }<th scope="colgroup" colspan="${consCols}">Consistency across shifts (mean [95% CI])</th><th scope="col" ` +
    `rowspan="2">Cost</th></tr>`;
  const head2 =
    `<tr>${
      hasBounds
        ? '<th scope="col">mAP at (0,0)</th><th scope="col">mAP lower</th><th scope="col">mAP upper</th><th ' +
          'scope="col">mAP range</th><th scope="col">rel. range</th>'
        : ''
    }${hasFlip ? '<th scope="col">flip rate</th>' : ''}<th scope="col">det. consistency</th><th scope="col">box ` +
    `jitter 1−IoU</th><th scope="col">centre jitter</th><th scope="col">score jitter</th></tr>`;

  const body = groupByFamily(results)
    .map((g) => {
      const rows = g.rows
        .map((r) => {
          const b = r.bounds;
          const plain = plainOf(r, results);
          // a difference to the plain detector only with its paired 95 % interval (none without the bounds bootstrap)
          const paired = plain ? r.analysis?.paired.find((p) => p.against === plain.key) : undefined;
          const delta = (get: (p: NonNullable<typeof paired>) => { value: number; lo: number; hi: number }) => {
            if (!paired) return '';
            const d = get(paired);
            return (
              `<span class="delta">${h(signedPp(d.value))} <span class="ci" title="95% paired bootstrap interval">` +
              `[${h(signedPp(d.lo))}, ${h(signedPp(d.hi))}]</span> vs plain</span>`
            );
          };
          const boundsCells = hasBounds
            ? b
              ? `<td>${pct(b.mapRef)}${delta((p) => p.deltaMapRef)}</td><td>${pct(b.mapLower)}</td><td>${pct(b.mapUpper)}` +
                `</td>` +
                `<td class="key-metric">${pp(b.mapRange)}${ppInterval(r.analysis?.boundsInterval?.mapRange)}` +
                `${delta((p) => p.deltaMapRange)}</td><td>${pct(b.relRange)}</td>`
              : `<td colspan="5" class="na">${
                  run.metrics.dataset.labelFree ? 'no labels' : 'no ground truth: no mAP'
                }</td>`
            : '';
          const c = r.consistency;
          const consCells =
            (hasFlip ? `<td>${intervalHtml(c.flipRate)}</td>` : '') +
            `<td>${intervalHtml(c.detConsistency)}</td><td>${intervalHtml(c.boxJitterIou, 'pct', 2)}</td>` +
            `<td>${intervalHtml(c.boxJitterCenterPx, 'px', 2)}</td><td>${intervalHtml(c.scoreJitter, 'pct', 2)}</td>`;
          const ips = r.timing.imagesPerSecond;
          const costTitle = `${num(r.timing.inferenceSeconds, 1)} s inference, ${num(ips, 2)} images/s`;
          const derivedKey = r.mitigation === null ? r.model : `${r.model}+${r.mitigation}`;
          const keyNote = r.key === derivedKey ? '' : `<span class="key">key <code>${h(r.key)}</code></span>`;
          return (
            `<tr data-key="${h(r.key)}"><th scope="row">${h(r.model)}${keyNote}</th><td class="label">` +
            `${r.mitigation === null ? '<span class="na">none</span>' : `<code>${h(r.mitigation)}</code>`}</td>` +
            `${boundsCells}${consCells}<td title="${h(costTitle)}">` +
            `${
              r.mitigation === null && r.timing.costRatio === null
                ? '<span class="na">baseline</span>'
                : h(cost(r.timing.costRatio))
            }</td></tr>`
          );
        })
        .join('\n');
      return (
        `<tbody><tr class="group"><th scope="rowgroup" colspan="${totalCols}">${h(g.label)}</th></tr>\n${rows}` +
        `</tbody>`
      );
    })
    .join('\n');

  const tauText =
    taus.length === 1
      ? `score threshold τ = ${h(taus[0])}`
      : `score thresholds τ = ${h(taus.join(', '))} (differ per detector)`;
  return (
    `<section id="headline"><h2>Headline numbers</h2>
<div class="table-wrap"><table class="headline">
<caption>Grouped by detector family (stages · anchors). mAP values are COCO AP@[.50:.95] in %; ` +
    `the mAP range is in percentage points (pp); consistency uses detections with ${tauText}. ` +
    `Cost = median inference time per image ÷ the plain detector's, both timed in the same run.${
      hasBounds ? '' : ` ${noMapSentence(run)}: only consistency metrics are available.`
    }</caption>
<thead>${head1}${head2}</thead>
${body}
</table></div></section>`
  );
}

function chartFigure(id: string, title: string, fallback: string, heightPx: number): string {
  return (
    `<figure><div class="chart" style="height:${Math.round(heightPx)}px"><canvas id="${id}" role="img" ` +
    `aria-label="${h(title)}">${fallback}</canvas></div><figcaption>${h(title)}</figcaption></figure>`
  );
}

function rangeSection(run: ReportRun): string {
  const withBounds = run.metrics.results.filter((r) => r.bounds);
  if (withBounds.length === 0) {
    return (
      `<section id="range"><h2>mAP range over shifts</h2><p class="na">Not available: ` +
      `${lowerFirst(noMapSentence(run))}, and mAP needs ground truth.</p></section>`
    );
  }
  const fallback = `<ul>${withBounds
    .map(
      (r) =>
        `<li><code>${h(r.key)}</code>: ${pct(r.bounds!.mapLower)} – ${pct(r.bounds!.mapUpper)} (range ` +
        `${pp(r.bounds!.mapRange)})</li>`,
    )
    .join('')}</ul>`;
  return (
    `<section id="range"><h2>mAP range over shifts</h2>
<p>Each bar spans the lowest to the highest mAP the greedy search found when every image may be shown at any shift ` +
    `of the set, drawn relative to the mAP with no shift (the red line at 0), so its length is the mAP range. ` +
    `A shorter bar means a steadier detector.</p>
${chartFigure(
  'sb-range',
  'mAP lower to upper bound per detector, in percentage points from the mAP at (0,0)',
  fallback,
  60 + 34 * withBounds.length,
)}
</section>`
  );
}

/**
 * The axes of a full grid of offsets (every dx of the set with every dy, each once), such
 * as grid:K or frac:N: the sorted distinct dx and dy values; null for other sets.
 */
export function gridAxes(shifts: Shift[]): { xs: number[]; ys: number[] } | null {
  const k = gridSize(shifts);
  if (k !== null) return { xs: [...Array(k + 1).keys()], ys: [...Array(k + 1).keys()] };
  const xs = [...new Set(shifts.map((s) => s.dx))].sort((a, b) => a - b);
  const ys = [...new Set(shifts.map((s) => s.dy))].sort((a, b) => a - b);
  const seen = new Set(shifts.map((s) => `${s.dx},${s.dy}`));
  return xs.length > 1 && ys.length > 1 && seen.size === shifts.length && shifts.length === xs.length * ys.length
    ? { xs, ys }
    : null;
}

function heatmap(values: (number | null)[], shifts: Shift[], axes: { xs: number[]; ys: number[] }): string {
  const finiteVals = values.filter((v): v is number => Number.isFinite(v));
  const min = Math.min(...finiteVals),
    max = Math.max(...finiteVals);
  const byPos = new Map<string, number | null>();
  shifts.forEach((s, i) => byPos.set(`${s.dx},${s.dy}`, values[i]));
  let html = '<table class="heat"><thead><tr><th scope="col">dy \\ dx</th>';
  for (const dx of axes.xs) html += `<th scope="col">${h(offsetLabel(dx))}</th>`;
  html += '</tr></thead><tbody>';
  for (const dy of axes.ys) {
    html += `<tr><th scope="row">${h(offsetLabel(dy))}</th>`;
    for (const dx of axes.xs) {
      const got = byPos.get(`${dx},${dy}`);
      const v = got === null ? NaN : got;
      const t = v !== undefined && Number.isFinite(v) && max > min ? (v - min) / (max - min) : 0.5;
      const light = (95 - 35 * t).toFixed(1);
      const style = v !== undefined && Number.isFinite(v) ? ` style="background:hsl(210,70%,${light}%)"` : '';
      html += `<td${style}>${v === undefined ? MISSING : Number.isFinite(v) ? (v * 100).toFixed(1) : MISSING}</td>`;
    }
    html += '</tr>';
  }
  return html + '</tbody></table>';
}

function perShiftSection(run: ReportRun): string {
  const shifts = run.metrics.shiftSet.shifts;
  const withBounds = run.metrics.results.filter((r) => r.bounds);
  if (withBounds.length === 0) {
    return (
      `<section id="per-shift"><h2>mAP at each shift</h2><p class="na">Not available: ` +
      `${lowerFirst(noMapSentence(run))}.</p></section>`
    );
  }
  const axes = gridAxes(shifts);
  const heat =
    axes !== null && axes.xs.length <= 16 && axes.ys.length <= 16
      ? `<h3>Grid view (mAP %, darker is higher; colour scaled per detector)</h3><div class="heatmaps">${withBounds
          .map(
            (r) =>
              `<div class="heatmap"><h4><code>${h(r.key)}</code></h4>${heatmap(r.bounds!.perShift, shifts, axes)}` +
              `</div>`,
          )
          .join('')}</div>`
      : '';
  const table =
    `<details><summary>Per-shift mAP as a table</summary><div class="table-wrap"><table ` +
    `class="pershift"><thead><tr><th scope="col">#</th><th scope="col">shift (dx, dy)</th>${withBounds
      .map((r) => `<th scope="col"><code>${h(r.key)}</code></th>`)
      .join('')}</tr></thead><tbody>${shifts
      .map(
        (s, i) =>
          `<tr><td>${i}</td><th scope="row">${h(shiftOffsetsLabel(s))}</th>${withBounds
            .map((r) => `<td>${pct(r.bounds!.perShift[i])}</td>`)
            .join('')}</tr>`,
      )
      .join('')}</tbody></table></div></details>`;
  return (
    `<section id="per-shift"><h2>mAP at each shift</h2>
<p>mAP with every image shown at the same shift, drawn as the change from the mAP at (0,0). ` +
    `Moving all images together averages out much of the per-image variation, so these lines usually move less than ` +
    `the bounds above.</p>
${chartFigure(
  'sb-pershift',
  'mAP change per shift from the unshifted mAP, one line per detector',
  '<p>Line chart of mAP over the shifts; see the table below.</p>',
  320,
)}
${heat}
${table}
</section>`
  );
}

function consistencySection(run: ReportRun): string {
  const results = run.metrics.results;
  const n = results.length;
  const hasFlip = results.some((r) => r.consistency.flipRate);
  const list = (f: (r: DetectorRunSummary) => string) =>
    `<ul>${results.map((r) => `<li><code>${h(r.key)}</code>: ${f(r)}</li>`).join('')}</ul>`;
  return `<section id="consistency"><h2>Consistency across shifts</h2>
<p>Bars are means over images; whiskers are 95% bootstrap intervals over images.</p>
${chartFigure(
  'sb-consistency',
  'Detection consistency per detector (higher is steadier)',
  list((r) => intervalHtml(r.consistency.detConsistency)),
  70 + 30 * n,
)}
${chartFigure(
  'sb-instability',
  `${hasFlip ? 'Flip rate, ' : ''}box jitter (1 − IoU) and score jitter per detector (lower is steadier)`,
  list(
    (r) =>
      `${hasFlip ? `flip rate ${intervalHtml(r.consistency.flipRate)}; ` : ''}1−IoU ` +
      `${intervalHtml(r.consistency.boxJitterIou, 'pct', 2)}; ` +
      `score ${intervalHtml(r.consistency.scoreJitter, 'pct', 2)}`,
  ),
  70 + 30 * n * (hasFlip ? 3 : 2),
)}
</section>`;
}

/**
 * Why the run has no mAP, as a sentence start (plain text, no markup): the dataset has no labels, or it has labels but
 * the evaluated images carry no annotation (`labelFree: false`, no bounds).
 */
function noMapSentence(run: ReportRun): string {
  return run.metrics.dataset.labelFree
    ? 'This dataset has no labels'
    : 'This dataset has labels, but there is no ground truth in the evaluated images';
}

const lowerFirst = (s: string) => s.charAt(0).toLowerCase() + s.slice(1);

/** "N resamples, seed S" of each distinct bootstrap setting, joined ('' when there is none). */
function resampleText(boots: ({ resamples: number; seed: number } | null | undefined)[]): string {
  const texts = boots.filter((b) => b).map((b) => `${b!.resamples} resamples, seed ${b!.seed}`);
  return [...new Set(texts)].join(' / ');
}

/**
 * What "[lo–hi]" means, with each interval's own bootstrap from metrics.json: the consistency metrics' (over images),
 * the bounds' (a separate bootstrap, often fewer resamples, or off) and the video-stability errors'. Escaped HTML.
 */
function intervalsGlossary(run: ReportRun): string {
  const results = run.metrics.results;
  const hasFlip = results.some((r) => r.consistency.flipRate);
  const parts = [
    '95% bootstrap interval over images (images resampled with replacement).',
    `Consistency metrics (${hasFlip ? 'flip rate, ' : ''}det. consistency, jitter): ` +
      `${resampleText(results.map((r) => r.consistency.bootstrap)) || MISSING}.`,
  ];
  if (results.some((r) => r.bounds)) {
    const bounds = resampleText(results.filter((r) => r.bounds).map((r) => r.analysis?.boundsInterval));
    parts.push(
      bounds
        ? // the results table gives the range and the Δ their intervals; the others have theirs in the Uncertainty
          // section (saying "a number shown without [lo–hi] has none" denied them one)
          `mAP at (0,0), lower, upper, range, rel. range and the Δ vs plain: the bounds bootstrap, ${bounds} (the ` +
            `results table shows those of the range and the Δ; the Uncertainty section shows each).`
        : `mAP at (0,0), lower, upper, range and rel. range: no interval (${resultsNoIntervalReason(
            results.filter((r) => r.bounds),
          )}).`,
    );
  }
  const stability = resampleText(results.map((r) => r.stability?.bootstrap));
  if (stability) parts.push(`Video-stability errors: ${stability}.`);
  return h(parts.join(' '));
}

function notesSection(run: ReportRun): string {
  const results = run.metrics.results;
  const hasBounds = results.some((r) => r.bounds);
  const skipped = results.flatMap((r) => r.skippedImages.map((s) => ({ key: r.key, ...s })));
  const skippedHtml = skipped.length
    ? `<table class="skipped"><caption>Images skipped (left out of that detector's numbers)</caption><thead><tr><th ` +
      `scope="col">Detector</th><th scope="col">Image id</th><th scope="col">File</th><th ` +
      `scope="col">Reason</th></tr></thead><tbody>${skipped
        .map(
          (s) =>
            `<tr><td><code>${h(s.key)}</code></td><td>${h(s.imageId)}</td><td>${h(s.fileName)}</td><td>` +
            `${h(s.reason)}</td></tr>`,
        )
        .join('')}</tbody></table>`
    : '<p>No images were skipped: every detector was evaluated on every image.</p>';
  const stable = run.metrics.mode !== 'pad';
  const stableGt = stable && !stableAreaWithoutGroundTruth(run.metrics);
  const scored = (r: DetectorRunSummary): string => {
    const c = r.scoredContent;
    const gtCell = stableGt ? `<td>${c ? `${h(c.groundTruthIgnored)} of ${h(c.groundTruthTotal)}` : MISSING}</td>` : '';
    return `${gtCell}<td>${c ? `${h(c.detectionsDropped)} of ${h(c.detectionsTotal)}` : MISSING}</td>`;
  };
  const details =
    `<div class="table-wrap"><table class="details"><caption>Per-detector run ` +
    `details</caption><thead><tr><th scope="col">Detector</th><th scope="col">Runtime</th><th scope="col">Input ` +
    `px</th><th scope="col">Total stride px</th><th scope="col">Images evaluated</th><th scope="col">Inference ` +
    `s</th><th scope="col">Images/s</th>${hasBounds ? '<th scope="col">Greedy passes (lower / upper)</th>' : ''}${
      stable
        ? `${stableGt ? '<th scope="col">Ground-truth boxes outside the stable area (crowd regions)</th>' : ''}` +
          '<th scope="col">Detections dropped (centre outside the stable area, all shifts)</th>'
        : ''
    }</tr></thead><tbody>${results
      .map((r) => [r, manifestDetectorFacts(run.manifest, r.key)] as const)
      .map(
        ([r, f]) =>
          `<tr><th scope="row"><code>${h(r.key)}</code></th><td>${h(r.runtime ?? MISSING)}</td><td>` +
          `${h(f.inputSize ?? MISSING)}</td><td>${h(f.totalStridePx ?? MISSING)}</td><td>${h(r.imagesEvaluated)}` +
          `</td><td>${num(r.timing.inferenceSeconds, 1)}</td><td>${num(r.timing.imagesPerSecond, 2)}</td>${
            hasBounds
              ? `<td>${r.bounds ? `${h(r.bounds.passes.lower)} / ${h(r.bounds.passes.upper)}` : MISSING}</td>`
              : ''
          }${stable ? scored(r) : ''}</tr>`,
      )
      .join('')}</tbody></table></div>`;
  return (
    `<section id="notes"><h2>What the numbers mean</h2>
<dl class="metrics">
<dt>mAP at (0,0)</dt><dd>COCO box AP averaged over IoU 0.50–0.95 (computed as pycocotools does), with every image ` +
    `at the unshifted input.</dd>
<dt>mAP lower / upper</dt><dd>The lowest / highest mAP found when each image may independently be shown at any ` +
    `shift of the set (greedy search, image by image).</dd>
<dt>mAP range</dt><dd>Upper minus lower, in percentage points of mAP: the headline shift-variance number; ` +
    `0 for a perfectly shift-equivariant detector.</dd>
<dt>rel. range</dt><dd>mAP range divided by mAP at (0,0).</dd>
<dt>mAP at each shift</dt><dd>mAP with all images moved by the same offset.</dd>
<dt>flip rate</dt><dd>Share of ground-truth objects that are found (right class, IoU ≥ 0.5, score ≥ τ) at some ` +
    `shifts and missed at others.</dd>
<dt>det. consistency</dt><dd>For each shift against the unshifted input: 2 × matched ÷ (detections at the shift + ` +
    `detections unshifted), with detections of score ≥ τ matched one-to-one by class and IoU ≥ 0.5; ` +
    `100% when nothing changes.</dd>
<dt>box jitter</dt><dd>Over matched pairs: the mean 1 − IoU, and the mean distance between box centres in ` +
    `model-input pixels.</dd>
<dt>score jitter</dt><dd>Over matched pairs: the mean absolute change of the score.</dd>
<dt>cost</dt><dd>A mitigation's inference time divided by its plain detector's, measured in this run on this ` +
    `machine.</dd>
<dt>[lo–hi]</dt><dd>${intervalsGlossary(run)}</dd>
</dl>
<h3>Read with care</h3>
<ul class="honesty">
<li>Shifts are whole pixels of the model input, not of the photo. ` +
    `Mode: ${h(modeText(run.metrics))}</li>
${
  hasBounds
    ? '<li>The bounds come from a greedy search, a deterministic local optimum: the reported lower bound is at or ' +
      'above the true minimum and the upper bound at or below the true maximum, so the true mAP range can only be ' +
      'wider than shown.</li>\n<li>The bounds are extremes over one image sample, not means. ' +
      'Their intervals come from resampling the images (bootstrap), so they show the uncertainty of this ' +
      'dataset&#39;s sample, not of the search; the range grows with the number of shifts tried and changes ' +
      'with the number of images N (see the size curve): compare ranges only at the same shifts and N, ' +
      'and call a difference real only when its paired interval excludes 0.</li>'
    : `<li>${noMapSentence(run)}, so mAP bounds, mAP per shift and flip rate are not computed; ` +
      'consistency metrics compare detections with each other only.</li>'
}
<li>Consistency intervals show the sampling spread over ${h(intervalImages(run.metrics))}; ` +
    `a different sample of images can move the numbers.</li>
<li>Timings depend on this machine and its load; compare cost ratios within a run, not across runs.</li>
</ul>
<h3>Skipped images</h3>
${skippedHtml}
${details}
</section>`
  );
}

/** The stylesheet of the report pages (inlined). */
export const CSS =
  `
:root{--fg:#1b1f24;--muted:#5b6470;--line:#d8dde3;--bg:#fff;--band:#f3f5f8;--accent:#1f5fa8}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
header,main,footer{max-width:1400px;margin:0 auto;padding:16px 24px}
h1{font-size:22px;margin:8px 0}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid ` +
  `var(--line);padding-bottom:4px}h3{font-size:15px;margin:18px 0 6px}h4{font-size:13px;margin:4px 0}
.lede{color:var(--muted);margin:0 0 12px}
code{font:12px/1.3 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
dl.facts{display:grid;grid-template-columns:repeat(auto-fill,minmax(220px,1fr));gap:6px 18px;margin:8px 0}
dl.facts div{border-left:3px solid var(--accent);padding-left:8px}dl.facts ` +
  `dt{font-size:12px;color:var(--muted)}dl.facts dd{margin:0;word-break:break-word}
.badge{font-size:11px;background:#fff3cd;border:1px solid #e0c36a;border-radius:3px;padding:0 4px}
details{margin:8px 0}summary{cursor:pointer;color:var(--accent)}
details pre{max-height:420px;overflow:auto;background:var(--band);padding:8px;font-size:12px}
.table-wrap{overflow-x:auto}
table{border-collapse:collapse;margin:6px 0}table.headline{font-size:13px}th,td{border:1px solid ` +
  `var(--line);padding:4px 6px;text-align:right;vertical-align:top;white-space:nowrap}
th[scope=row],td.label{text-align:left}` +
  `.key{display:block;color:var(--muted);font-size:11px;font-weight:400}thead ` +
  `th{background:var(--band);text-align:center}
caption{caption-side:top;text-align:left;color:var(--muted);padding:4px 0;white-space:normal}
tr.group th{background:#e8eef7;text-align:left;font-weight:600}
.ci{color:var(--muted);font-size:12px}table.headline ` +
  `.ci{display:block}.delta{display:block;color:var(--muted);font-size:11px}.na{color:var(--muted)}
td.key-metric{font-weight:600}
table.hashes td,table.skipped td{text-align:left;white-space:normal;word-break:break-all}
figure{margin:12px 0}.chart{position:relative;width:100%;max-width:1100px}figcaption{color:var(--muted);font-size:12px}
.chart-error{color:#a33}
.heatmaps{display:flex;flex-wrap:wrap;gap:16px}table.heat td,table.heat th{padding:2px ` +
  `6px;font-size:12px;text-align:center}
dl.metrics dt{font-weight:600;margin-top:6px}dl.metrics dd{margin:0 0 0 16px}
footer{color:var(--muted);font-size:12px;border-top:1px solid var(--line)}
@media print{details{display:block}}
`;

/**
 * The images the consistency intervals resample: those each detector was scored on (skipped images are left out of
 * every number), not the dataset's count.
 */
function intervalImages(m: RunMetrics): string {
  const total = m.dataset.images;
  const these = (n: number) => (n === 1 ? 'this 1 image' : `these ${n} images`);
  // metrics.json holds at least one result (load.ts)
  const lo = Math.min(...m.results.map((r) => r.imagesEvaluated));
  const hi = Math.max(...m.results.map((r) => r.imagesEvaluated));
  if (lo === total && hi === total) return these(total);
  if (lo === hi) return `${these(lo)} (of ${total}; skipped images are left out)`;
  return `the images each detector was scored on (${lo}–${hi} of ${total}; skipped images are left out)`;
}

/** Builds the report page. Pure apart from reading the Chart.js bundle. */
export async function renderReportHtml(
  run: ReportRun,
  extras: { gallery?: Gallery; categoryNames?: Map<number, string> } = {},
): Promise<string> {
  const chartJs = await chartJsSource();
  const data = {
    shifts: run.metrics.shiftSet.shifts.map((s) => ({ dx: s.dx, dy: s.dy, label: shiftOffsetsLabel(s) })),
    detectors: run.metrics.results.map((r) => ({
      key: r.key,
      bounds: r.bounds
        ? {
            mapRef: r.bounds.mapRef,
            mapLower: r.bounds.mapLower,
            mapUpper: r.bounds.mapUpper,
            perShift: r.bounds.perShift,
          }
        : null,
      consistency: {
        detConsistency: r.consistency.detConsistency,
        flipRate: r.consistency.flipRate,
        boxJitterIou: r.consistency.boxJitterIou,
        scoreJitter: r.consistency.scoreJitter,
      },
    })),
  };
  return (
    `<!doctype html>
<html lang="en">
<head>
${headHtml(`shiftbench report — ${run.metrics.dataset.name} — ${run.metrics.runId}`)}
</head>
<body>
${headerSection(run)}
<main>
${headlineTable(run)}
${rangeSection(run)}
${perShiftSection(run)}
${uncertaintySection(run)}
${analysisChartsSection(run)}
${periodicitySection(run)}
${breakdownSection(run, extras.categoryNames)}
${consistencySection(run)}
${stabilitySection(run)}
${extras.gallery ? gallerySection(extras.gallery) : ''}
${notesSection(run)}
</main>
<footer>Rendered by shiftbench ${h(VERSION)} from the saved run files (metrics.json, manifest.json) only; ` +
    `this page is self-contained and loads nothing from the network. Charts drawn with Chart.js (MIT licence).</footer>
<script type="application/json" id="sb-data">${jsonForScript(data)}</script>
<script>${chartJs}</script>
<script>${CLIENT_SCRIPT}</script>
<script type="application/json" id="sb-analysis">${jsonForScript(analysisChartData(run))}</script>
<script>${ANALYSIS_CHARTS_SCRIPT}</script>
</body>
</html>
`
  );
}
