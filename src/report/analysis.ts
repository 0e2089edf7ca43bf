/**
 * The report's sections for issue 11's numbers: intervals of the bounds and paired
 * differences (with significance), the size curve, the other objectives, the
 * breakdowns by category and size, per-image flicker and periodicity. HTML strings,
 * every value escaped; absent numbers are "—".
 */
import { countOf, signedPointsCell } from '../core/units.js';
import type { AssignmentBreakdown, DetectorRunSummary, Interval95, PeriodFit } from '../core/types.js';
import {
  MISSING,
  detectorNotes,
  escapeHtml as h,
  num,
  pct,
  periodBeyondChance,
  periodValue,
  periodVerdict,
  pp,
  resultsNoIntervalReason,
  signedPp,
} from './format.js';
import type { ReportRun } from './load.js';
import { MIN_INTERVAL_RESAMPLES } from '../metrics/uncertainty.js';

/** "[lo–hi]" of a 0–1 interval in percentage points, as the headline cells show it. */
export function ppInterval(iv: Interval95 | null | undefined): string {
  if (!iv) return '';
  return (
    ` <span class="ci" title="95% bootstrap interval over images">[${(iv.lo * 100).toFixed(2)}–` +
    `${(iv.hi * 100).toFixed(2)}]</span>`
  );
}

// a Δ in pp as every format writes it (±0.00 for a value that rounds to 0): core/units.ts
const signedPpText = (v: number) => signedPointsCell(v);

function withAnalysis(run: ReportRun): DetectorRunSummary[] {
  return run.metrics.results.filter((r) => r.analysis && r.bounds);
}

/** Intervals of the bounds, the paired differences and the size curve. */
export function uncertaintySection(run: ReportRun): string {
  const rs = withAnalysis(run);
  if (rs.length === 0) return '';
  const withIv = rs.filter((r) => r.analysis!.boundsInterval);
  const intervals = withIv.length
    ? `<div class="table-wrap"><table class="details"><caption>95% percentile intervals of the bounds over ` +
      `bootstrap resamples of the images (an image drawn twice counts as two; both searches run on each resample). ` +
      `mAP in %, range in pp.</caption>
<thead><tr><th scope="col">Detector</th><th scope="col">Resamples (with ground truth) · seed</th><th ` +
      `scope="col">mAP at (0,0)</th><th scope="col">mAP lower</th><th scope="col">mAP upper</th><th scope="col">mAP ` +
      `range</th><th scope="col">rel. range</th></tr></thead><tbody>${withIv
        .map((r) => {
          const iv = r.analysis!.boundsInterval!;
          const b = r.bounds!;
          const cell = (v: number | null, i: Interval95 | null, unit: 'pct' | 'pp') =>
            `<td>${unit === 'pct' ? pct(v) : pp(v)}${
              i
                ? ` <span class="ci">[` +
                  `${(i.lo * 100).toFixed(unit === 'pct' ? 1 : 2)}–${(i.hi * 100).toFixed(unit === 'pct' ? 1 : 2)}` +
                  `]</span>`
                : ''
            }</td>`;
          return (
            `<tr><th scope="row"><code>${h(r.key)}</code></th><td>${h(iv.resamples)} (${h(iv.validResamples)}) ` +
            `· ${h(iv.seed)}</td>${cell(b.mapRef, iv.mapRef, 'pct')}${cell(
              b.mapLower,
              iv.mapLower,
              'pct',
            )}${cell(b.mapUpper, iv.mapUpper, 'pct')}<td class="key-metric">${pp(b.mapRange)}` +
            `${ppInterval(iv.mapRange)}</td>${cell(b.relRange, iv.relRange, 'pct')}</tr>`
          );
        })
        .join('')}</tbody></table></div>${
        // relRange's interval is over the resamples with mAP at (0,0) > 0 alone (summarizeBootstrap)
        withIv.some((r) => r.bounds!.relRange !== null && !r.analysis!.boundsInterval!.relRange)
          ? `<p>rel. range without an interval: fewer than ${MIN_INTERVAL_RESAMPLES} resamples have mAP ` +
            `at (0,0) above 0, and it is a ratio to that mAP.</p>`
          : ''
      }`
    : `<p>No intervals: ${h(resultsNoIntervalReason(rs))}.</p>`;
  const paired = rs.flatMap((r) => r.analysis!.paired);
  const pairedHtml = paired.length
    ? `<div class="table-wrap"><table class="details paired"><caption>Paired differences: ` +
      `each mitigation (or anti-aliased twin) minus its plain detector, on the same bootstrap resamples. ` +
      `"Steadier (significant)" only when the 95% interval of Δ mAP range excludes 0.</caption>
<thead><tr><th scope="col">Detector</th><th scope="col">vs</th><th scope="col">Δ mAP range (pp) [95%]</th><th ` +
      `scope="col">Δ mAP at (0,0) (pp) [95%]</th><th scope="col">Steadier in (share of resamples)</th><th ` +
      `scope="col">Verdict on the mAP range</th></tr></thead><tbody>${paired
        .map(
          (p) =>
            `<tr><th scope="row"><code>${h(p.key)}</code>${
              p.kind === 'twin' ? ' <span class="badge">twin</span>' : ''
            }</th><td><code>${h(p.against)}</code></td><td class="key-metric">` +
            `${h(signedPpText(p.deltaMapRange.value))} <span class="ci">[${h(signedPpText(p.deltaMapRange.lo))}` +
            `, ${h(signedPpText(p.deltaMapRange.hi))}]</span></td><td>${h(signedPpText(p.deltaMapRef.value))} ` +
            `<span class="ci">[${h(signedPpText(p.deltaMapRef.lo))}, ${h(signedPpText(p.deltaMapRef.hi))}` +
            `]</span></td><td>${pct(p.steadierShare)} of ${h(p.resamples)}</td><td>${h(p.verdict)}</td></tr>`,
        )
        .join('')}</tbody></table></div>`
    : '';
  const curves = rs.filter((r) => r.analysis!.sizeCurve);
  const sizes = [...new Set(curves.flatMap((r) => r.analysis!.sizeCurve!.map((p) => p.images)))].sort((a, b) => a - b);
  const curveHtml = curves.length
    ? `<div class="table-wrap"><table class="details"><caption>Size curve: the median mAP range (pp) of 50 ` +
      `subsamples of N images drawn without replacement (the last column: the full set); a subsample without ` +
      `ground truth has no mAP and is left out (each cell's tooltip gives the count). The range depends on N, ` +
      `so ranges from datasets of different sizes are not comparable.</caption>
<thead><tr><th scope="col">Detector</th>${sizes.map((n) => `<th scope="col">N = ${h(n)}</th>`).join('')}` +
      `</tr></thead><tbody>${curves
        .map((r) => {
          const at = new Map(r.analysis!.sizeCurve!.map((p) => [p.images, p]));
          return `<tr><th scope="row"><code>${h(r.key)}</code></th>${sizes
            .map((n) => {
              const p = at.get(n);
              const title = p ? ` title="median of ${h(p.subsamples)} subsample${p.subsamples === 1 ? '' : 's'}"` : '';
              return `<td${title}>${pp(p?.medianMapRange ?? null)}</td>`;
            })
            .join('')}</tr>`;
        })
        .join('')}</tbody></table></div>`
    : '';
  return `<section id="uncertainty"><h2>Uncertainty, paired differences and size</h2>
${intervals}
${pairedHtml}
${curveHtml}
</section>`;
}

function sizeRow(label: string, b: AssignmentBreakdown): string {
  return (
    `<tr><th scope="row">${h(label)}</th><td>${pct(b.ap)}</td><td>${pct(b.ap50)}</td><td>${pct(b.ap75)}` +
    `</td><td>${pct(b.apSmall)}</td><td>${pct(b.apMedium)}</td><td>${pct(b.apLarge)}</td></tr>`
  );
}

/**
 * The §9 tables of one search: AP by IoU and size at (0,0) and at its lower and upper assignments, and the categories
 * whose AP differs most between those two.
 */
function searchBreakdownTables(
  search: string,
  bd: { ref: AssignmentBreakdown; lower: AssignmentBreakdown; upper: AssignmentBreakdown },
  categoryNames: Map<number, string>,
  headline: boolean,
): string[] {
  const parts = [
    `<table class="details"><caption>AP by IoU and object size at the ${headline ? 'three ' : ''}assignments of ` +
      `${h(search)}${headline ? '' : ' (all at (0,0) as for the headline)'}.</caption><thead><tr><th scope="col">` +
      `Assignment</th><th scope="col">AP</th><th scope="col">AP50</th><th scope="col">AP75</th><th scope="col">AP ` +
      `small</th><th scope="col">AP medium</th><th scope="col">AP large</th></tr></thead><tbody>` +
      `${sizeRow('all at (0,0)', bd.ref)}${sizeRow('lower', bd.lower)}${sizeRow('upper', bd.upper)}</tbody></table>`,
  ];
  const cats = Object.keys(bd.ref.perCategoryAP).filter(
    (id) => bd.lower.perCategoryAP[id] !== null || bd.upper.perCategoryAP[id] !== null,
  );
  // no difference where one side has no AP (ground truth at one assignment only), never one against 0
  const spread = (id: string) => {
    const lo = bd.lower.perCategoryAP[id];
    const hi = bd.upper.perCategoryAP[id];
    return lo === null || hi === null ? null : hi - lo;
  };
  // the upper assignment maximises the mean, so a category can fall there: rank by the size of the change
  const size = (id: string) => {
    const d = spread(id);
    return d === null ? -1 : Math.abs(d);
  };
  const shown = cats.sort((x, y) => size(y) - size(x) || Number(x) - Number(y)).slice(0, 15);
  if (shown.length) {
    parts.push(
      `<table class="details"><caption>Per-category AP at the lower and upper assignments` +
        `${headline ? '' : ` of ${h(search)}`}: the ${h(shown.length)} categories (of ${h(cats.length)} with ground ` +
        `truth) whose AP differs most.</caption><thead><tr><th scope="col">Category</th><th scope="col">at (0,0)` +
        `</th><th scope="col">lower</th><th scope="col">upper</th><th scope="col">upper − lower</th></tr></thead>` +
        `<tbody>${shown
          .map((id) => {
            const name = categoryNames.get(Number(id));
            return (
              `<tr><th scope="row">${h(id)}${name ? ` ${h(name)}` : ''}</th><td>` +
              `${pct(bd.ref.perCategoryAP[id])}</td><td>${pct(bd.lower.perCategoryAP[id])}</td><td>` +
              `${pct(bd.upper.perCategoryAP[id])}</td><td>${signedPp(spread(id))}</td></tr>`
            );
          })
          .join('')}</tbody></table>`,
    );
  }
  return parts;
}

/** Breakdowns (protocol §9): other objectives, AP by size and category at the searched assignments, flicker. */
export function breakdownSection(run: ReportRun, categoryNames: Map<number, string> = new Map()): string {
  const rs = run.metrics.results.filter((r) => r.analysis);
  if (rs.length === 0) return '';
  const blocks = rs.map((r) => {
    const a = r.analysis!;
    const parts: string[] = [`<h3><code>${h(r.key)}</code></h3>`];
    const objectives = Object.entries(a.boundsByObjective);
    if (objectives.length) {
      parts.push(
        `<table class="details"><caption>Bounds searched with another objective (its own greedy search` +
          (objectives.some(([, b]) => b?.interval)
            ? "; the range's 95 % bootstrap interval from as many resamples as the headline's, with its seed"
            : '') +
          `).</caption><thead><tr><th scope="col">Objective</th><th scope="col">at (0,0)</th><th ` +
          `scope="col">lower</th><th scope="col">upper</th><th scope="col">range</th></tr></thead><tbody>${objectives
            .map(
              ([name, b]) =>
                `<tr><th scope="row">${h(name.toUpperCase())}</th><td>${pct(b!.mapRef)}</td><td>${pct(b!.mapLower)}` +
                `</td><td>${pct(b!.mapUpper)}</td><td>${pp(b!.mapRange)}${ppInterval(b!.interval?.mapRange)}</td></tr>`,
            )
            .join('')}</tbody></table>`,
      );
    }
    if (a.breakdown) {
      parts.push(...searchBreakdownTables('the headline search', a.breakdown, categoryNames, true));
      // each other objective's search at its own assignments (the reference, all at (0,0), is the same)
      for (const [name, b] of Object.entries(a.boundsByObjective)) {
        if (b?.breakdown)
          parts.push(
            ...searchBreakdownTables(
              `the ${name.toUpperCase()} search`,
              { ref: a.breakdown.ref, ...b.breakdown },
              categoryNames,
              false,
            ),
          );
      }
    }
    const f = a.flicker;
    parts.push(
      f.top.length
        ? `<table class="details"><caption>Per-image flicker: the share of an image's detections (score ≥ ` +
            `${h(f.scoreThreshold)}, all shifts) not matched at every shift. Mean over ${h(countOf(f.images, 'image'))} with ` +
            `detections: ${pct(f.meanFlicker)}. The images with the most:</caption><thead><tr><th scope="col">Image ` +
            `id</th><th scope="col">Flicker</th><th scope="col">Detections</th></tr></thead><tbody>${f.top
              .map(
                (x) =>
                  `<tr><th scope="row">${h(x.imageId)}</th><td>${pct(x.flicker)}</td><td>${h(x.detections)}</td></tr>`,
              )
              .join('')}</tbody></table>`
        : `<p>No detection reaches score ${h(f.scoreThreshold)}: no flicker to show.</p>`,
    );
    const notes = detectorNotes(r);
    if (notes.length) parts.push(`<ul>${notes.map((n) => `<li>${h(n)}</li>`).join('')}</ul>`);
    return parts.join('\n');
  });
  return `<section id="breakdowns"><h2>Breakdowns</h2>\n${blocks.join('\n')}\n</section>`;
}

/**
 * One series' fit: period, R²adj and phase means in the report's units — mAP and detection consistency (0–1
 * fractions) in %, the mean score as a 0–1 score (the header says so).
 */
function fitCell(f: PeriodFit | null, series: readonly (number | null)[] | null, unit: 'pct' | 'score'): string {
  const value = periodValue(unit);
  const verdict = h(periodVerdict(f, series, value));
  if (!f) return `<td>${verdict}</td><td>${MISSING}</td><td>${MISSING}</td>`;
  const phases = f.phaseMeans.map(value).join(', ');
  return (
    (periodBeyondChance(f) ? `<td class="key-metric">${verdict}` : `<td>${verdict}`) +
    `</td><td>${num(f.r2adj, 3)}</td><td class="phases" title="` +
    `${h(phases)}">${h(phases.length > 80 ? `${phases.slice(0, 80)}…` : phases)}</td>`
  );
}

/** Periodicity along line:K sets (protocol §8): the dominant period of each series per axis. */
export function periodicitySection(run: ReportRun): string {
  const rows = run.metrics.results.flatMap((r) =>
    (r.analysis?.periodicity ?? []).flatMap((ax) =>
      (
        [
          ['mAP', ax.map, ax.series.map, 'pct'],
          ['mean score', ax.meanScore, ax.series.meanScore, 'score'],
          ['det. consistency', ax.detConsistency, ax.series.detConsistency, 'pct'],
        ] as const
      ).map(
        ([name, fit, series, unit]) =>
          `<tr><th scope="row"><code>${h(r.key)}</code></th><td>${h(ax.axis)} (n = ${h(ax.n)})</td><td>${h(name)}` +
          `</td>${fitCell(fit, series, unit)}</tr>`,
      ),
    ),
  );
  if (rows.length === 0) return '';
  return (
    `<section id="periodicity"><h2>Periodicity along the line of shifts</h2>
<div class="table-wrap"><table class="details"><caption>For each series over d = 0…K the period p whose phase means ` +
    `(d mod p) explain the most variance, corrected for chance (R²adj); a multiple of the period is reduced to the ` +
    `period when it explains no more (F-test). A network of total stride P tends to repeat with period P or a ` +
    `divisor. "—": the series misses a value (mAP without labels, a shift without detections).</caption>
<thead><tr><th scope="col">Detector</th><th scope="col">Axis</th><th scope="col">Series</th><th ` +
    `scope="col">Dominant period</th><th scope="col">R²adj</th><th scope="col">Phase means (mAP and det. ` +
    `consistency in %, mean score 0–1)</th></tr></thead><tbody>` +
    `${rows.join('')}</tbody></table></div>
</section>`
  );
}
