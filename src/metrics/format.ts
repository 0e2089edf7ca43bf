/**
 * User-facing text of the metrics (one place): the pycocotools-style 12-line summary,
 * a per-category AP table and a bounds summary. Pure: returns lines, prints nothing.
 */
import { CLI_TEXT, HEADINGS as H } from '../core/messages.js';
import type { BoundsSummary, Shift } from '../core/types.js';
import { percentCell, pointsCell, textTable } from '../core/units.js';
import type { CocoEvalResult } from './cocoeval.js';
import { shiftOffsetsLabel } from '../shifts/shiftSet.js';

const STAT_LINES: [string, string, string, string][] = [
  ['Average Precision', '(AP)', '0.50:0.95', '   all|100'],
  ['Average Precision', '(AP)', '0.50     ', '   all|100'],
  ['Average Precision', '(AP)', '0.75     ', '   all|100'],
  ['Average Precision', '(AP)', '0.50:0.95', ' small|100'],
  ['Average Precision', '(AP)', '0.50:0.95', 'medium|100'],
  ['Average Precision', '(AP)', '0.50:0.95', ' large|100'],
  ['Average Recall', '(AR)', '0.50:0.95', '   all|  1'],
  ['Average Recall', '(AR)', '0.50:0.95', '   all| 10'],
  ['Average Recall', '(AR)', '0.50:0.95', '   all|100'],
  ['Average Recall', '(AR)', '0.50:0.95', ' small|100'],
  ['Average Recall', '(AR)', '0.50:0.95', 'medium|100'],
  ['Average Recall', '(AR)', '0.50:0.95', ' large|100'],
];

/**
 * The 12 summary lines as pycocotools prints them (' {:<18} {} @[ IoU={:<9} | area={:>6s} | maxDets={:>3d} ] =
 * {:0.3f}'), except that its −1 (no ground truth there) is "—", never a value; with no ground truth at all, the note
 * saying so; then "category <id> AP" lines ("-  (no gt)").
 */
export function formatCocoEval(result: CocoEvalResult, categoryNames: Record<string, string> = {}): string[] {
  const lines = result.stats.map((v, i) => {
    const [title, kind, iou, am] = STAT_LINES[i];
    const [area, maxDets] = am.split('|');
    return ` ${title.padEnd(18)} ${kind} @[ IoU=${iou} | area=${area} | maxDets=${maxDets} ] = ${v < 0 ? '—' : v.toFixed(3)}`;
  });
  if (result.stats[0] < 0)
    lines.push('', 'no ground truth (no category has a box that is not a crowd region): no AP — pycocotools prints -1');
  lines.push('', ' category                      AP@[.50:.95]');
  for (const [id, ap] of Object.entries(result.perCategoryAP)) {
    const name = categoryNames[id] ? `${id} ${categoryNames[id]}` : id;
    lines.push(` ${name.padEnd(30)} ${ap < 0 ? '   -  (no gt)' : ap.toFixed(4)}`);
  }
  return lines;
}

/**
 * The text of `shiftbench bounds`: the bounds as one row under the same headers and units as
 * the run summary (mAP in %, the range in pp), then mAP per shift (— where a value is absent:
 * no ground truth at that shift, relRange with mapRef 0).
 */
export function formatBounds(b: BoundsSummary, shifts: Shift[]): string[] {
  const head = [H.mapRef, H.mapLower, H.mapUpper, H.mapRange, H.relRange, H.passes];
  const row = [
    percentCell(b.mapRef),
    percentCell(b.mapLower),
    percentCell(b.mapUpper),
    pointsCell(b.mapRange),
    percentCell(b.relRange),
  ];
  const perShift = b.perShift.map((v, s) => [shiftOffsetsLabel(shifts[s]), percentCell(v)]);
  return [
    ...textTable(head, [[...row, `${b.passes.lower}/${b.passes.upper}`]], 0).split('\n'),
    '',
    'mAP with every image at the same shift:',
    ...textTable([H.shift, H.shiftMap], perShift, 1).split('\n'),
    '',
    CLI_TEXT.boundsJsonHint,
  ];
}

/** The one-line note of a dataset (or case) without ground truth. */
export const NO_GROUND_TRUTH_NOTE = 'no ground truth: no mAP and no bounds (consistency metrics only)';
