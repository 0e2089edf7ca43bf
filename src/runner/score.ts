/**
 * Scoring: from the stored detections of every detector of a run to RunMetrics. It
 * needs no model — only the dataset (for ground truth and file names), what the
 * manifest recorded of each detector (input size, fit) and the stored records — so a
 * finished run can be rescored (`shiftbench report RUN`), and a resumed run and an
 * uninterrupted one give identical metrics.
 */
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { countOf } from '../core/units.js';
import { ShiftbenchError } from '../core/errors.js';
import { plainKeyOf } from '../core/variantKey.js';
import type {
  CocoAnnotation,
  CocoGroundTruth,
  CocoResult,
  Dataset,
  DatasetImage,
  DetectorRunSummary,
  InputTransform,
  Logger,
  RunMetrics,
  ScoredContentCounts,
  ShiftMode,
  ShiftSet,
} from '../core/types.js';
import {
  detectionsInStableArea,
  fitGeometry,
  groundTruthInStableArea,
  stableArea,
  type ResampleKernel,
  type ShiftedInputOptions,
  type StableArea,
} from '../shifts/index.js';
import { pairedDifference, type BoundsObjective, type BoundsUncertainty } from '../metrics/index.js';
import { renderReport, writeReportText } from '../report/index.js';
import { updateExperimentSummary, withdrawExperimentEntry } from './experimentSummary.js';
import { modelKey } from './options.js';
import type { ManifestDetector, RunStore, ShiftResultsWriter, SkippedImage } from './runStore.js';
import { isSkipped, RecordReader, SKIPPED_FILE, type StoredDetection, type StoredImage } from './store.js';
import type { RunEvaluator, RunnerEnv } from './types.js';

/**
 * One detector of the run, as stored: its manifest entry, what is kept of each image
 * record by image id, and the jsonl the detections are read back from (one image at a
 * time, while scoring).
 */
export interface ScoredVariant {
  entry: ManifestDetector;
  records: ReadonlyMap<number, StoredImage>;
  /** detections/<key>.jsonl */
  file: string;
}

/** The analysis-only settings of scoring (recomputed from stored detections, never a model run). */
export interface AnalysisSettings {
  scoreThreshold: number;
  bootstrapResamples: number;
  bootstrapSeed: number;
  /** Bootstrap resamples of the mAP bounds; undefined: the metrics module's default. */
  bootstrapBounds?: number;
  /** Objectives of the bounds (--objective); undefined: AP only. */
  objectives?: BoundsObjective[];
}

/** The analysis settings of resolved options (run, score of an export, merge, rescore), for scoreRun. */
export function analysisSettingsOf(
  o: Omit<AnalysisSettings, 'bootstrapBounds'> & { bootstrapBounds?: number | null },
): AnalysisSettings {
  return {
    scoreThreshold: o.scoreThreshold,
    bootstrapResamples: o.bootstrapResamples,
    bootstrapSeed: o.bootstrapSeed,
    bootstrapBounds: o.bootstrapBounds ?? undefined,
    objectives: o.objectives,
  };
}

/** Everything scoring needs; none of it is a model. */
export interface ScoreRunArgs extends AnalysisSettings {
  store: RunStore;
  runId: string;
  dataset: Dataset;
  shiftSet: ShiftSet;
  mode: ShiftMode;
  kernel: ResampleKernel;
  /** Every detector of the run, in report order (each model's plain detector first). */
  variants: ScoredVariant[];
  createEvaluator: RunnerEnv['createEvaluator'];
  logger: Logger;
  /** Called with the seconds spent scoring each detector (by key). */
  onScored?: (key: string, seconds: number) => void;
  /** How to try skipped images again, for the error when a model has none left (default: the same command). */
  retrySkipped?: string;
  /**
   * Stops scoring (Ctrl-C): checked between steps, and the worker threads of the bound
   * searches are terminated at once; scoreRun then rejects with an AbortError. Nothing
   * stored changes (metrics.json is written last), so the same command scores again.
   */
  signal?: AbortSignal;
  /**
   * Called once everything is computed and the new metrics.json is written to its temporary file (so there is room
   * for it), before skipped.json is written and metrics.json put in place (a rescore: the old metrics.json and its
   * reports go and the manifest takes the new settings first, so no moment pairs metrics and a manifest of two
   * settings).
   */
  beforeMetrics?: () => Promise<void>;
}

/**
 * Scores every detector of a run from its stored records, adds the cost ratios (per-image
 * inference time ÷ the same model's plain detector's), and writes the per-shift COCO
 * results files, skipped.json and — last — metrics.json. Returns the metrics.
 * Throws ERR_INTERNAL when an image of the dataset has no stored record.
 */
export async function scoreRun(args: ScoreRunArgs): Promise<RunMetrics> {
  // callers refuse a run without detections with its own fix; metrics.json of no detector is never written
  if (args.variants.length === 0)
    throw new ShiftbenchError('ERR_INTERNAL', `No detector to score in ${args.store.dir}: nothing was written.`);
  const results: DetectorRunSummary[] = [];
  const allSkipped = new Map<number, SkippedImage>();
  const skippedInGroup = groupSkips(args.variants, args.dataset, args.logger);
  await refuseUnscorable(args, skippedInGroup);
  const uncertainties = new Map<string, BoundsUncertainty | null>();
  const groundTruths: [string, CocoGroundTruth][] = [];
  // each detector's per-shift files and ground truth go in place with metrics.json, not as soon as it is scored: a
  // rescore (or a run with another --limit) stopped midway keeps the old ones beside the old metrics
  const shiftFiles: ShiftResultsWriter[] = [];
  try {
    for (const v of args.variants) {
      args.signal?.throwIfAborted();
      args.logger.info(`${v.entry.key}: scoring`);
      const started = performance.now();
      const scored = await scoreVariant(v, args, skippedInGroup.get(plainKeyOf(v.entry))!);
      shiftFiles.push(scored.shiftFiles);
      const { summary, uncertainty, groundTruth } = scored;
      if (groundTruth) groundTruths.push([v.entry.key, groundTruth]);
      for (const s of summary.skippedImages) allSkipped.set(s.imageId, s);
      results.push(summary);
      uncertainties.set(summary.key, uncertainty);
      args.onScored?.(v.entry.key, (performance.now() - started) / 1000);
    }
    return await writeMetrics(args, results, uncertainties, groundTruths, allSkipped, shiftFiles);
  } finally {
    for (const f of shiftFiles) await f.abort(); // a no-op for those committed
  }
}

/**
 * The metrics of the scored detectors (with cost ratios and paired differences), put in place together with each
 * detector's per-shift files, ground truth and skipped.json; the results of before (previous/) go last.
 */
async function writeMetrics(
  args: ScoreRunArgs,
  results: DetectorRunSummary[],
  uncertainties: Map<string, BoundsUncertainty | null>,
  groundTruths: [string, CocoGroundTruth][],
  allSkipped: Map<number, SkippedImage>,
  shiftFiles: ShiftResultsWriter[],
): Promise<RunMetrics> {
  addCostRatios(results, args.variants);
  addPairedDifferences(results, uncertainties);
  const { dataset, shiftSet } = args;
  const metrics: RunMetrics = {
    schemaVersion: 1,
    runId: args.runId,
    dataset: {
      name: dataset.name,
      source: dataset.source,
      images: dataset.images.length,
      labelFree: dataset.groundTruth === null,
    },
    shiftSet: { spec: shiftSet.spec, shifts: shiftSet.shifts },
    mode: args.mode,
    results,
  };
  // the new metrics.json is written before anything stored is replaced: no room for it fails with the old one in place
  const staged = await args.store.stageMetrics(metrics);
  try {
    // an experiment's summary.json shows no numbers of this run while its metrics.json is being replaced
    await withdrawExperimentEntry(args.store.dir, args.logger);
    await args.beforeMetrics?.();
    for (const f of shiftFiles) await f.commit();
    for (const [key, groundTruth] of groundTruths) await args.store.writeShiftGroundTruth(key, groundTruth);
    await args.store.writeSkipped([...allSkipped.values()]);
    await staged.commit();
  } catch (err) {
    await staged.abort();
    throw err;
  }
  await args.store.dropPrevious(); // the results of before a run added to this directory (kept while it ran)
  // a sub-run of an experiment matrix: the matrix's summary.json says what this metrics.json says
  await updateExperimentSummary(args.store.dir, metrics, args.logger);
  return metrics;
}

/**
 * Protocol §4 paired differences: each mitigated detector (antialias:trained: the model's
 * anti-aliased twin) against the plain detector of the same model, on the same bootstrap
 * resamples (the variants of a model are scored on the same images).
 */
function addPairedDifferences(
  results: DetectorRunSummary[],
  uncertainties: Map<string, BoundsUncertainty | null>,
): void {
  for (const r of results) {
    if (r.mitigation === null || !r.bounds || !r.analysis) continue;
    const base = plainOf(r, results);
    const ua = uncertainties.get(r.key);
    const ub = base ? uncertainties.get(base.key) : null;
    if (!base?.bounds || !ua || !ub) continue;
    const d = pairedDifference(
      { key: r.key, mapRef: r.bounds.mapRef, mapRange: r.bounds.mapRange, uncertainty: ua },
      { key: base.key, mapRef: base.bounds.mapRef, mapRange: base.bounds.mapRange, uncertainty: ub },
      r.mitigation.startsWith('antialias:trained') ? 'twin' : 'mitigation',
    );
    if (d) r.analysis.paired.push(d);
  }
}

/**
 * Cost ratio of each mitigated detector against the plain detector of the same model: the ratio of their median
 * seconds per image (robust to the slow first calls of whichever ran first), only where both were timed in the same
 * runs (ManifestDetector.timedIn; else null, with a note).
 */
function addCostRatios(results: DetectorRunSummary[], variants: readonly ScoredVariant[]): void {
  const entryOf = (key: string) => variants.find((v) => v.entry.key === key)?.entry;
  const timedIn = (key: string) => entryOf(key)?.timedIn;
  for (const r of results) {
    if (r.mitigation === null) continue;
    const base = plainOf(r, results);
    if (!base) continue;
    const [mine, theirs] = [timedIn(r.key), timedIn(base.key)];
    if (mine && theirs && [...mine].sort().join() !== [...theirs].sort().join()) {
      r.timing.costRatioNote =
        `no cost ratio: ${r.key} and ${base.key} were timed in different runs (this one extended or resumed an ` +
        `earlier one, whose settings and machine load may differ); run both in one run for a ratio`;
      continue;
    }
    const settings = new Set([...(entryOf(r.key)?.timedWith ?? []), ...(entryOf(base.key)?.timedWith ?? [])]);
    if (settings.size > 1) {
      r.timing.costRatioNote =
        `no cost ratio: ${r.key} and ${base.key} were timed under different settings in the runs that made them ` +
        `(${[...settings].join('; ')}); run both in one run with one setting for a ratio`;
      continue;
    }
    const [m, t] = [r.timing.medianImageSeconds ?? null, base.timing.medianImageSeconds ?? null];
    r.timing.costRatio = m !== null && t !== null && t > 0 ? m / t : null;
    if (r.timing.costRatio === null) {
      const untimed = [r, base].filter((x) => !((x.timing.medianImageSeconds ?? 0) > 0)).map((x) => x.key);
      r.timing.costRatioNote =
        `no cost ratio: ${untimed.join(' and ')} ${untimed.length > 1 ? 'have' : 'has'} no per-image timing in ` +
        `the stored detections (records without seconds); run both in one run for a ratio`;
    }
  }
}

/** Normalised boxes are told apart from pixel boxes when at least this many detections, and this share of all, are. */
const MIN_UNIT_BOXES = 10;
const UNIT_BOX_SHARE = 0.9;

/** Whether every edge of a stored detection (original pixels) lies within [0, 1] in the input it was found in. */
function withinUnitInput(d: StoredDetection, t: InputTransform): boolean {
  const e = 1e-6;
  const x0 = d[0] * t.scaleX + t.offsetX;
  const y0 = d[1] * t.scaleY + t.offsetY;
  const x1 = (d[0] + d[2]) * t.scaleX + t.offsetX;
  const y1 = (d[1] + d[3]) * t.scaleY + t.offsetY;
  return x0 >= -e && y0 >= -e && x1 <= 1 + e && y1 <= 1 + e;
}

/** The median of numbers (the mean of the two middle ones for an even count); null for none. */
function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 === 1 ? s[h] : (s[h - 1] + s[h]) / 2;
}

type Evaluated = { image: DatasetImage; record: Extract<StoredImage, { offsetBytes: number }> };

/**
 * A mitigated detector's own plain detector (by key, as plainKeyOf groups them; undefined when the run has none) — not
 * the first plain one of the same display name: two model files named alike (runs/a/best.onnx, runs/b/best.onnx) are
 * `best` and `best#2`, both of model "best".
 */
function plainOf(r: DetectorRunSummary, results: readonly DetectorRunSummary[]): DetectorRunSummary | undefined {
  const key = plainKeyOf(r);
  return results.find((p) => p.mitigation === null && p.key === key);
}

/**
 * Per model (plain detector and its mitigations): the images some variant skipped, with
 * the first variant that did and why. Every variant of the model is scored without them,
 * so "vs plain" compares the same images.
 */
export function groupSkips(
  variants: ScoredVariant[],
  dataset: Dataset,
  logger: Logger,
): Map<string, Map<number, { key: string; reason: string }>> {
  const out = new Map<string, Map<number, { key: string; reason: string }>>();
  for (const v of variants) {
    const group = plainKeyOf(v.entry);
    let skips = out.get(group);
    if (!skips) out.set(group, (skips = new Map()));
    for (const image of dataset.images) {
      const r = v.records.get(image.id);
      if (r && isSkipped(r) && !skips.has(image.id)) skips.set(image.id, { key: v.entry.key, reason: r.skipped });
    }
  }
  for (const [group, skips] of out) {
    const members = variants.filter((v) => plainKeyOf(v.entry) === group);
    if (skips.size > 0) {
      const ids = [...skips.keys()];
      logger.warn(
        `${group}: ${countOf(skips.size, 'image')} skipped (${ids.slice(0, 5).join(', ')}` +
          `${ids.length > 5 ? ', …' : ''}); ` +
          (members.length > 1
            ? `all ${members.length} variants are scored on the same ${dataset.images.length - skips.size} images`
            : `scored on ${dataset.images.length - skips.size} images`) +
          ' (see skipped.json; run again to retry them)',
      );
    }
  }
  return out;
}

/**
 * A model none of whose images could be scored (every one skipped) has no result: writes skipped.json (why) and throws
 * ERR_DATASET naming it and the fix — nothing stored is removed, so the same command tries the images again.
 * `scope` names a part of the run (` of shard 1/4`) after "images".
 */
export async function refuseUnscorable(
  args: Pick<ScoreRunArgs, 'store' | 'dataset' | 'retrySkipped'> & { scope?: string },
  skippedInGroup: Map<string, Map<number, { key: string; reason: string }>>,
): Promise<void> {
  const n = args.dataset.images.length;
  const groups = [...skippedInGroup].filter(([, skips]) => n > 0 && skips.size === n);
  if (groups.length === 0) return;
  const byId = new Map(args.dataset.images.map((im) => [im.id, im]));
  const listed = new Map<number, SkippedImage>();
  for (const [, skips] of skippedInGroup) {
    for (const [id, { reason }] of skips) {
      if (!listed.has(id)) listed.set(id, { imageId: id, fileName: byId.get(id)!.fileName, reason });
    }
  }
  await args.store.writeSkipped([...listed.values()]);
  const [group, skips] = groups[0];
  const [id, { reason }] = skips.entries().next().value!;
  throw new ShiftbenchError(
    'ERR_DATASET',
    `${group}: none of the ${n} images${args.scope ?? ''} could be scored — every one was skipped (image ${id} ` +
      `(${byId.get(id)!.fileName}): ${reason})` +
      (groups.length > 1 ? `, and so were those of ${groups.length - 1} more model(s)` : '') +
      `; they are listed in ${path.join(args.store.dir, SKIPPED_FILE)}. Fix those images (or give --images where ` +
      `they are), then ${args.retrySkipped ?? 'run the same command again: the skipped images are tried again, nothing else is recomputed'}.`,
  );
}

/**
 * Scores one detector from its stored records (images in `skippedInGroup` left out): reads
 * them back one image at a time in dataset order, feeds the evaluator (the one in-memory
 * copy of the detections, columnar) and streams the per-shift COCO files through
 * `args.store` (a no-op store writes nothing: `compare` pairs runs this way). Returns its
 * summary and per-resample bounds.
 */
export async function scoreVariant(
  v: ScoredVariant,
  args: Omit<ScoreRunArgs, 'store'> & { store: Pick<RunStore, 'shiftResultsWriter'>; sizeCurve?: false },
  skippedInGroup: Map<number, { key: string; reason: string }>,
): Promise<{
  summary: DetectorRunSummary;
  uncertainty: BoundsUncertainty | null;
  /** The ground truth it was scored against (scoreRun writes it with metrics.json). */
  groundTruth: CocoGroundTruth | null;
  /** Its per-shift COCO files, finished but not in place: the caller commits (or aborts) them. */
  shiftFiles: ShiftResultsWriter;
}> {
  const { entry, records } = v;
  const { dataset, shiftSet, mode, logger } = args;
  const skippedImages: SkippedImage[] = [];
  const evaluated: Evaluated[] = [];
  let inferenceSeconds: number | null = 0;
  const imageSeconds: number[] = [];
  let detections = 0;
  for (const image of dataset.images) {
    const r = records.get(image.id);
    if (!r) throw new ShiftbenchError('ERR_INTERNAL', `no stored detections for image ${image.id} of ${entry.key}`);
    const other = skippedInGroup.get(image.id);
    if (isSkipped(r)) skippedImages.push({ imageId: image.id, fileName: image.fileName, reason: r.skipped });
    else if (other)
      skippedImages.push({
        imageId: image.id,
        fileName: image.fileName,
        reason: `skipped by ${other.key} (scored on the same images): ${other.reason}`,
      });
    else {
      evaluated.push({ image, record: r });
      inferenceSeconds = inferenceSeconds === null || r.seconds === null ? null : inferenceSeconds + r.seconds;
      if (r.seconds !== null) imageSeconds.push(r.seconds);
      detections += r.detections;
    }
  }
  const geometryOpts: ShiftedInputOptions = {
    inputSizePx: entry.inputSizePx,
    fit: entry.fit,
    padValue: entry.padValue,
    mode,
    shiftSet,
    kernel: args.kernel,
  };
  const transformsOf = new Map<number, ReturnType<typeof fitGeometry>['transforms']>();
  for (const { image, record } of evaluated) {
    transformsOf.set(image.id, fitGeometry(record.size[0], record.size[1], geometryOpts).transforms);
  }
  // protocol §1: in crop and circular modes only the stable area is scored, the same at every shift
  const area = stableArea(mode, shiftSet, entry.inputSizePx);
  const { groundTruth, groundTruthIgnored } = groundTruthOf(evaluated, dataset, area, transformsOf);
  const evaluator: RunEvaluator = args.createEvaluator({
    groundTruth,
    shiftSet,
    scoreThreshold: args.scoreThreshold,
    bootstrapResamples: args.bootstrapResamples,
    bootstrapSeed: args.bootstrapSeed,
    ...(args.bootstrapBounds !== undefined ? { bootstrapBounds: args.bootstrapBounds } : {}),
    ...(args.objectives ? { objectives: args.objectives } : {}),
    detectionCapacity: detections,
    ...(args.sizeCurve === false ? { sizeCurve: false } : {}),
  });
  const knownCategories = groundTruth ? new Set(groundTruth.categories.map((c) => c.id)) : null;
  let unknownCategory = 0;
  let unitBoxes = 0; // detections whose every edge lies within [0, 1] input pixels: normalised boxes
  const counts: ScoredContentCounts = {
    groundTruthTotal: groundTruth?.annotations.length ?? 0,
    groundTruthIgnored,
    detectionsTotal: 0,
    detectionsDropped: 0,
  };
  const files = await args.store.shiftResultsWriter(entry.key, shiftSet.shifts);
  let evaluation: Awaited<ReturnType<RunEvaluator['evaluate']>>;
  try {
    const reader = await RecordReader.open(v.file);
    try {
      for (const { image, record: at } of evaluated) {
        const record = await reader.read(at);
        const transforms = transformsOf.get(image.id)!;
        for (let s = 0; s < record.shifts.length; s++) {
          const coco: CocoResult[] = record.shifts[s].map((d) => ({
            image_id: image.id,
            category_id: d[5],
            bbox: [d[0], d[1], d[2], d[3]],
            score: d[4],
          }));
          for (const d of record.shifts[s]) if (withinUnitInput(d, transforms[s])) unitBoxes++;
          const { kept, dropped } = detectionsInStableArea(coco, transforms[s], area);
          counts.detectionsTotal += coco.length;
          counts.detectionsDropped += dropped;
          // like COCOeval, detections of categories the ground truth does not have are not evaluated
          const scored = knownCategories ? kept.filter((c) => knownCategories.has(c.category_id)) : kept;
          unknownCategory += kept.length - scored.length;
          evaluator.process(
            { imageId: image.id, shiftIndex: s, inputScale: { x: transforms[s].scaleX, y: transforms[s].scaleY } },
            scored,
          );
          await files.add(s, kept);
        }
      }
    } finally {
      await reader.close();
    }
    if (unitBoxes >= MIN_UNIT_BOXES && unitBoxes >= UNIT_BOX_SHARE * counts.detectionsTotal) {
      logger.warn(
        `${entry.key}: ${unitBoxes} of ${counts.detectionsTotal} detections lie within [0, 1] input pixels (every ` +
          `edge): boxes normalised to 0–1, it seems. A detector returns each bbox [x, y, w, h] in its input's pixels ` +
          `(docs/plugins.md); these are scored as the tiny boxes they are`,
      );
    }
    if (unknownCategory > 0) {
      logger.warn(
        `${entry.key}: ${unknownCategory} detections of categories the dataset does not have were not evaluated ` +
          `(they stay in detections/)`,
      );
    }
    if (area) {
      const gtPart = groundTruth
        ? `${counts.groundTruthIgnored} of ${counts.groundTruthTotal} ground-truth boxes are crowd regions, `
        : '';
      const detPart = `${counts.detectionsDropped} of ${counts.detectionsTotal} detections dropped`;
      logger.info(`${entry.key}: ${mode} mode scores the stable area only — ${gtPart}${detPart}`);
    }
    evaluation = await evaluator.evaluate({ signal: args.signal });
    // complete, not yet in place: scoreRun puts them in with metrics.json, as the ground truth
    await files.finish();
  } catch (err) {
    await files.abort();
    throw err;
  }
  const { bounds, consistency, stability, analysis, uncertainty } = evaluation;
  const summary: DetectorRunSummary = {
    key: entry.key,
    model: modelKey(entry.model),
    mitigation: entry.mitigation,
    family: entry.family,
    runtime: entry.runtime,
    bounds: dataset.groundTruth ? bounds : null,
    consistency,
    stability: dataset.groundTruth ? stability : null,
    timing: {
      inferenceSeconds,
      imagesPerSecond: inferenceSeconds !== null && inferenceSeconds > 0 ? evaluated.length / inferenceSeconds : null,
      costRatio: null,
      // an export's time is one total for all its inputs (timing.json), spread evenly over its images: a mean, not
      // a median of times measured per image, so there is none
      medianImageSeconds: inferenceSeconds === null || entry.details?.source === 'export' ? null : median(imageSeconds),
    },
    imagesEvaluated: evaluated.length,
    skippedImages,
    scoredContent: counts,
    analysis,
  };
  return { summary, uncertainty, groundTruth, shiftFiles: files };
}

/**
 * The ground truth of the evaluated images as every shift scores it: in crop/circular
 * mode, boxes outside the stable area are crowd regions (protocol §1, §3).
 */
function groundTruthOf(
  evaluated: Evaluated[],
  dataset: Dataset,
  area: StableArea | null,
  transformsOf: Map<number, InputTransform[]>,
): { groundTruth: CocoGroundTruth | null; groundTruthIgnored: number } {
  if (!dataset.groundTruth) return { groundTruth: null, groundTruthIgnored: 0 };
  const keep = new Set(evaluated.map((e) => e.image.id));
  const annotations: CocoAnnotation[] = [];
  let groundTruthIgnored = 0;
  const byImage = new Map<number, CocoAnnotation[]>();
  for (const a of dataset.groundTruth.annotations) {
    if (!keep.has(a.image_id)) continue;
    let list = byImage.get(a.image_id);
    if (!list) byImage.set(a.image_id, (list = []));
    list.push(a);
  }
  for (const { image } of evaluated) {
    const r = groundTruthInStableArea(byImage.get(image.id) ?? [], transformsOf.get(image.id)![0], area);
    groundTruthIgnored += r.turnedToCrowd;
    annotations.push(...r.annotations);
  }
  return {
    groundTruth: {
      images: dataset.groundTruth.images.filter((i) => keep.has(i.id)),
      annotations,
      categories: dataset.groundTruth.categories,
    },
    groundTruthIgnored,
  };
}

/**
 * Renders `dir`'s report.html once its metrics.json is stored (run, score of an export, merge).
 * A report problem is a warning saying how to retry, never a loss of the metrics. Returns the
 * report's path, or null where it could not be rendered.
 */
export async function renderReportAfterScoring(dir: string, logger: Logger): Promise<string | null> {
  try {
    return (await renderReport(dir, { logger })).htmlPath;
  } catch (err) {
    logger.warn(
      `could not render the report (${(err as Error).message}); metrics.json is complete — retry with ` +
        `\`shiftbench report ${dir}\``,
    );
    return null;
  }
}

/**
 * Renders again, from the new metrics.json, the reports the run directory held before a scoring that replaced its
 * metrics (RunStore.replaceManifestBeforeMetrics): report.html with report.json, report.md, report.csv. A report that
 * fails is a warning saying how to retry.
 */
export async function renderReportsAgain(dir: string, reports: string[], logger: Logger): Promise<void> {
  if (reports.includes('report.html') || reports.includes('report.json')) await renderReportAfterScoring(dir, logger);
  for (const format of ['md', 'csv'] as const) {
    if (!reports.includes(`report.${format}`)) continue;
    await writeReportText(dir, format, { logger }).catch((err: Error) =>
      logger.warn(
        `could not render report.${format} again (${err.message}); metrics.json is complete — retry with ` +
          `\`shiftbench report ${dir} --format ${format}\``,
      ),
    );
  }
}
