/**
 * report.json: a compact, machine-readable summary of a run — the headline numbers
 * per detector key plus the manifest essentials. Values stay fractions (0–1).
 * Deterministic: rendering the same run twice gives the same bytes.
 */
import type {
  DetectorFamily,
  Interval,
  Interval95,
  PairedDifference,
  PeriodFit,
  ScoredContentCounts,
  StabilitySummary,
} from '../core/types.js';
import { periodBeyondChance } from './format.js';
import type { ReportRun, ReportManifestEssentials } from './load.js';

/** Headline numbers of one detector (plain or mitigated). Bounds fields are null for label-free runs. */
export interface ReportDetectorSummary {
  model: string;
  mitigation: string | null;
  family: DetectorFamily;
  runtime: string | null;
  mapRef: number | null;
  mapLower: number | null;
  mapUpper: number | null;
  mapRange: number | null;
  relRange: number | null;
  /** 95 % bootstrap interval of mapRange; null when the bounds bootstrap was off or there are no bounds. */
  mapRangeInterval: Interval95 | null;
  /** Paired differences against the plain detector (mitigations, twins). */
  paired: PairedDifference[];
  /**
   * Dominant period of per-shift mAP per axis (line:K runs); {} otherwise. `beyondChance` is the report's verdict:
   * false when even the best grouping explains no more than chance (R²adj ≤ 0) — the fit's period is then no period
   * of the series, and the HTML report names none.
   */
  periodOfMap: Partial<Record<'x' | 'y', (PeriodFit & { beyondChance: boolean }) | null>>;
  /** mAP at each shift of the shift set, in its order; null for label-free runs. */
  perShiftMap: (number | null)[] | null;
  scoreThreshold: number;
  detConsistency: Interval;
  flipRate: Interval | null;
  boxJitterIou: Interval;
  boxJitterCenterPx: Interval;
  scoreJitter: Interval;
  /** Protocol §5 video-stability errors; null for label-free data and runs made before they existed. */
  stability: StabilitySummary | null;
  costRatio: number | null;
  imagesPerSecond: number | null;
  imagesEvaluated: number;
  skippedImages: number;
  /**
   * Protocol §1: what crop and circular modes leave out of scoring (ground truth outside the stable area as crowd
   * regions, detections centred outside it dropped), as in metrics.json; zeros in pad mode; null for runs made
   * before it was recorded.
   */
  scoredContent: ScoredContentCounts | null;
}

/** The content of report.json. */
export interface ReportSummary {
  schemaVersion: 1;
  runId: string;
  dataset: { name: string; images: number; labelFree: boolean };
  shiftSet: { spec: string; count: number };
  mode: string;
  manifest: Omit<ReportManifestEssentials, 'hashes'>;
  /** By detector key, in the order of metrics.json. */
  detectors: Record<string, ReportDetectorSummary>;
}

/** Builds the report.json object from a loaded run. Pure. */
export function buildReportSummary(run: ReportRun): ReportSummary {
  const { metrics, essentials } = run;
  const detectors: Record<string, ReportDetectorSummary> = {};
  for (const r of metrics.results) {
    const b = r.bounds;
    detectors[r.key] = {
      model: r.model,
      mitigation: r.mitigation,
      family: { stages: r.family.stages, anchors: r.family.anchors },
      runtime: r.runtime ?? null,
      mapRef: b ? b.mapRef : null,
      mapLower: b ? b.mapLower : null,
      mapUpper: b ? b.mapUpper : null,
      mapRange: b ? b.mapRange : null,
      relRange: b ? (b.relRange ?? null) : null,
      mapRangeInterval: r.analysis?.boundsInterval?.mapRange ?? null,
      paired: r.analysis?.paired ?? [],
      periodOfMap: Object.fromEntries(
        (r.analysis?.periodicity ?? []).map((ax) => [
          ax.axis,
          ax.map ? { ...ax.map, beyondChance: periodBeyondChance(ax.map) } : null,
        ]),
      ),
      perShiftMap: b ? b.perShift : null,
      scoreThreshold: r.consistency.scoreThreshold,
      detConsistency: r.consistency.detConsistency,
      flipRate: r.consistency.flipRate,
      boxJitterIou: r.consistency.boxJitterIou,
      boxJitterCenterPx: r.consistency.boxJitterCenterPx,
      scoreJitter: r.consistency.scoreJitter,
      stability: r.stability ?? null,
      costRatio: r.timing.costRatio ?? null,
      imagesPerSecond: r.timing.imagesPerSecond ?? null,
      imagesEvaluated: r.imagesEvaluated,
      skippedImages: r.skippedImages.length,
      scoredContent: r.scoredContent ?? null,
    };
  }
  const { hashes: _hashes, ...manifest } = essentials;
  return {
    schemaVersion: 1,
    runId: metrics.runId,
    dataset: { name: metrics.dataset.name, images: metrics.dataset.images, labelFree: metrics.dataset.labelFree },
    shiftSet: { spec: metrics.shiftSet.spec, count: metrics.shiftSet.shifts.length },
    mode: metrics.mode,
    manifest,
    detectors,
  };
}
