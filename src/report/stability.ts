/**
 * The report's video-stability section (protocol §5): centre, scale-and-ratio and
 * fragment errors per detector, each the mean over ground-truth objects with its 95 %
 * bootstrap interval over images and the worst object. Reads only metrics.json.
 */
import type { DetectorRunSummary, StabilityError } from '../core/types.js';
import { PERCENT_DIGITS, STABILITY_DIGITS, countOf } from '../core/units.js';
import { MISSING, escapeHtml as h, intervalHtml, pct } from './format.js';
import type { ReportRun } from './load.js';

/** The three errors, in the order and with the names every report gives them. */
export const STABILITY_COLUMNS = [
  ['centerError', 'centre error (CPE)'],
  ['scaleRatioError', 'scale and ratio error (SRE)'],
  ['fragmentError', 'fragment error'],
] as const;

/**
 * One error: mean [interval] in % (of box size for CPE/SRE, of steps for fragment), the objects counted and the worst
 * object.
 */
function errorCell(e: StabilityError | null): string {
  if (!e) return `<td><span class="na" title="no object qualifies">${MISSING}</span></td>`;
  return (
    `<td title="${h(`${countOf(e.objects, 'object')} in ${countOf(e.images, 'image')}`)}">${intervalHtml(e, 'pct', STABILITY_DIGITS)}` +
    `<span class="delta">${h(countOf(e.objects, 'object'))} · worst ${h(pct(e.worst.value, PERCENT_DIGITS))}: ` +
    `image ${h(e.worst.imageId)}, ` +
    `annotation ${h(e.worst.annotationId)}</span></td>`
  );
}

/**
 * The section: a table with a row per detector (— for a detector without the errors: a
 * run made before they existed), or a line saying why there is none (label-free data).
 * Empty when no detector of the run has the field at all (older runs).
 */
export function stabilitySection(run: ReportRun): string {
  const results = run.metrics.results;
  if (results.every((r) => r.stability === undefined)) return '';
  const head = '<section id="stability"><h2>Video-stability errors</h2>';
  if (results.every((r) => !r.stability)) {
    return `${head}<p class="na">Not available: these errors follow ground-truth objects across shifts, and ${
      run.metrics.dataset.labelFree ? 'the dataset has no labels' : 'the run has no ground truth'
    }.</p></section>`;
  }
  const withS = results.find((r) => r.stability)!.stability!;
  const row = (r: DetectorRunSummary) =>
    `<tr><th scope="row"><code>${h(r.key)}</code></th>${
      r.stability
        ? STABILITY_COLUMNS.map(([k]) => errorCell(r.stability![k])).join('') + `<td>${h(r.stability.objects)}</td>`
        : `<td colspan="4" class="na">${MISSING}</td>`
    }</tr>`;
  return (
    `${head}
<p>After Zhang et al. (2016), with the shifts in place of video frames. At each shift, detections with score ≥ τ = ` +
    `${h(withS.scoreThreshold)} are matched one to one to ground-truth objects (greedily by IoU, same class, ` +
    `IoU ≥ 0.5; crowd regions left out). Per object, over the shifts where it is matched: the <b>centre error</b> ` +
    `is the standard deviation of the centre offset divided by the box width, plus the same in y over the height; ` +
    `the <b>scale and ratio error</b> the standard deviation of √(area ratio) plus that of the aspect-ratio ` +
    `ratio (both need ≥ 2 matched shifts); the <b>fragment error</b> is how often the object switches between ` +
    `found and missed along the shift order, per step (objects found at least once). Lower is steadier. ` +
    `Means are over objects; intervals are 95% bootstrap intervals over images (` +
    `${h(withS.bootstrap.resamples)} resamples, seed ${h(withS.bootstrap.seed)}; an image drawn carries its ` +
    `objects).</p>
<div class="table-wrap"><table class="stability"><caption>Mean over objects [95% interval]; ` +
    `below it the objects it is over and the worst of them.</caption>
<thead><tr><th scope="col">Detector</th>${STABILITY_COLUMNS.map(([, t]) => `<th scope="col">${h(t)}</th>`).join('')}<th ` +
    `scope="col">Objects followed</th></tr></thead>
<tbody>${results.map(row).join('\n')}</tbody></table></div>
</section>`
  );
}
