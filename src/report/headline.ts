/**
 * The headline numbers of a run as flat rows (fractions 0–1, pixels, ratios; null
 * where a number does not exist), shared by the Markdown and CSV reports, `check`
 * and `compare`, so every text format shows the same numbers as metrics.json.
 */
import type { DetectorRunSummary, PairedDifference, RunMetrics, ScoredContentCounts } from '../core/types.js';
import { boundsOffNote } from './format.js';

/** A value with its 95 % interval; lo/hi null when the run has no interval for it. */
export interface ValueWithInterval {
  value: number | null;
  lo: number | null;
  hi: number | null;
}

/** One detector's headline row. */
export interface HeadlineRow {
  key: string;
  model: string;
  mitigation: string | null;
  /** COCO AP@[.50:.95] at shift (0,0); null without ground truth. */
  mapRef: ValueWithInterval;
  mapLower: number | null;
  mapUpper: number | null;
  /** mapUpper − mapLower with its bootstrap interval (--bootstrap-bounds). */
  mapRange: ValueWithInterval;
  relRange: ValueWithInterval;
  /** Null without ground truth. */
  flipRate: ValueWithInterval;
  detConsistency: ValueWithInterval;
  boxJitterCenterPx: ValueWithInterval;
  scoreThreshold: number;
  /** Inference time ÷ the plain detector's in the same run; null for a plain detector. */
  costRatio: number | null;
  imagesEvaluated: number;
  /** Bounds bootstrap resamples (B), null when the bounds carry no interval. */
  boundsResamples: number | null;
  /** Of those, the resamples with ground truth at (0,0): the bounds intervals are percentiles over these; null as above. */
  boundsValidResamples: number | null;
  /** Why scoring gave the bounds no interval, as it noted (boundsOffNote); null when it noted nothing. */
  boundsOffNote: string | null;
  /** This detector's paired differences against its plain detector. */
  paired: PairedDifference[];
  /** Protocol §1's stable-area counts (metrics.json's scoredContent); null for runs made before it was recorded. */
  scoredContent: ScoredContentCounts | null;
}

const finiteOrNull = (v: number | null | undefined): number | null =>
  typeof v === 'number' && Number.isFinite(v) ? v : null;

function withInterval(
  value: number | null | undefined,
  iv: { lo: number; hi: number } | null | undefined,
): ValueWithInterval {
  const v = finiteOrNull(value);
  if (v === null || !iv) return { value: v, lo: null, hi: null };
  return { value: v, lo: finiteOrNull(iv.lo), hi: finiteOrNull(iv.hi) };
}

/** The headline row of one detector result. Pure. */
export function headlineRow(r: DetectorRunSummary): HeadlineRow {
  const b = r.bounds;
  const biv = b ? (r.analysis?.boundsInterval ?? null) : null;
  const c = r.consistency;
  const cons = (x: { mean: number; lo: number; hi: number } | null) =>
    x ? withInterval(x.mean, x) : { value: null, lo: null, hi: null };
  return {
    key: r.key,
    model: r.model,
    mitigation: r.mitigation,
    mapRef: withInterval(b?.mapRef, biv?.mapRef),
    mapLower: finiteOrNull(b?.mapLower),
    mapUpper: finiteOrNull(b?.mapUpper),
    mapRange: withInterval(b?.mapRange, biv?.mapRange),
    relRange: withInterval(b?.relRange, biv?.relRange),
    flipRate: cons(c.flipRate),
    detConsistency: cons(c.detConsistency),
    boxJitterCenterPx: cons(c.boxJitterCenterPx),
    scoreThreshold: c.scoreThreshold,
    costRatio: finiteOrNull(r.timing.costRatio),
    imagesEvaluated: r.imagesEvaluated,
    boundsResamples: biv ? biv.resamples : null,
    boundsValidResamples: biv ? biv.validResamples : null,
    boundsOffNote: boundsOffNote(r.analysis?.notes),
    paired: r.analysis?.paired ?? [],
    scoredContent: r.scoredContent ?? null,
  };
}

/** Headline rows of every detector of a run, in the order of metrics.json. */
export function headlineRows(metrics: RunMetrics): HeadlineRow[] {
  return metrics.results.map(headlineRow);
}
