/**
 * `shiftbench score`: the per-shift COCO results a framework wrote for an export folder
 * become a run directory exactly as `run` writes it. Each input's results go through the
 * runner's own path (detectLoop.ts storedDetectionsOf: keep the best --max-detections,
 * project back by the input's transform) into the run store (runStore.ts), and are scored
 * by score.ts — so the metrics are those `run` computes for the same detections. The run
 * identity names the export (the sha256 of export.json) and the results files.
 */
import { createHash } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { countOf } from '../core/units.js';
import { ShiftbenchError, invalidParameterError, refuseUnknownFields } from '../core/errors.js';
import { is } from '../core/is.js';
import type { Detection, DetectorFamily, Logger, RunMetrics } from '../core/types.js';
import { withDefaultEnv } from '../runner/env.js';
import { fitGeometry } from '../shifts/index.js';
import { imageHashes, imageIdentityFor, runLevelIdentity, type RunIdentity } from '../runner/identity.js';
import { storedDetectionsOf } from '../runner/detectLoop.js';
import { modelKey, resolveRunOptions, runOptionsKey, shortHash, type ResolvedRunOptions } from '../runner/options.js';
import { newManifest } from '../runner/runBenchmark.js';
import { RunStore, type ManifestDetector } from '../runner/runStore.js';
import { analysisSettingsOf, renderReportAfterScoring, scoreRun, type ScoredVariant } from '../runner/score.js';
import { readOtherDetectors } from '../runner/storedVariant.js';
import type { RunnerEnv } from '../runner/types.js';
import type { ImageRecord } from '../runner/store.js';
import {
  EXPORT_DETECTIONS_DIR,
  EXPORT_FILE,
  INPUTS_DIR,
  TIMING_FILE,
  detectionsFile,
  readExport,
  type ExportedImage,
  type ReadExport,
} from './format.js';

/** How to score an export; the analysis-only settings behave as in `run`. */
export interface ScoreExportOptions {
  /** The detector's name (its key in the run). */
  name: string;
  /** Its family: "one-stage,anchor-free" (stages and anchors, either order) or the object. */
  family: string | DetectorFamily;
  /** Run directory (default reports/<run-id>). */
  out?: string;
  /** The dataset, when it moved since the export (its hash must still match). */
  dataset?: string;
  /** Its image folder, when it moved. */
  images?: string;
  scoreThreshold?: number;
  bootstrapResamples?: number;
  bootstrapSeed?: number;
  bootstrapBounds?: number;
  objectives?: string[];
  /** Detections kept per input, the highest-scoring (default 1000, as in run). */
  maxDetections?: number;
  /** Replace a run directory that holds a different run. */
  force?: boolean;
  reportsDir?: string;
}

/** Every field of ScoreExportOptions (the compiler checks the list is complete and has no other). */
const SCORE_OPTION_FIELDS: Record<keyof ScoreExportOptions, true> = {
  name: true,
  family: true,
  out: true,
  dataset: true,
  images: true,
  scoreThreshold: true,
  bootstrapResamples: true,
  bootstrapSeed: true,
  bootstrapBounds: true,
  objectives: true,
  maxDetections: true,
  force: true,
  reportsDir: true,
};

/** What `scoreExport` wrote. */
export interface ScoreExportResult {
  runDir: string;
  metrics: RunMetrics;
  /** report.html, or null when rendering failed (metrics.json is complete either way). */
  reportPath: string | null;
}

const SILENT: Logger = { info: () => undefined, warn: () => undefined };

/** `--family one-stage,anchor-free` (either order) → DetectorFamily; ERR_INVALID_OPTION naming --family. */
export function parseFamily(value: string | DetectorFamily): DetectorFamily {
  const expected = 'one of one-stage/two-stage and one of anchor-based/anchor-free, e.g. one-stage,anchor-free';
  const parts = is.object(value)
    ? [value.stages, value.anchors]
    : typeof value === 'string'
      ? value.split(',').map((p) => p.trim())
      : [];
  const stages = parts.filter((p) => p === 'one-stage' || p === 'two-stage');
  const anchors = parts.filter((p) => p === 'anchor-based' || p === 'anchor-free');
  if (parts.length !== 2 || stages.length !== 1 || anchors.length !== 1)
    throw invalidParameterError('--family', expected, value);
  return { stages: stages[0] as DetectorFamily['stages'], anchors: anchors[0] as DetectorFamily['anchors'] };
}

/** One file's results, checked: per exported image id, the detections of that input (file order). */
type ShiftResults = Map<number, Detection[]>;

/** Every results file, checked, their sha256, and the inference time if the framework reported it. */
interface ExportResults {
  perShift: ShiftResults[];
  sha256: string;
  inferenceSeconds: number | null;
}

function fileError(file: string, k: number, exp: ReadExport, what: string): ShiftbenchError {
  const s = exp.manifest.shiftSet.shifts[k];
  return new ShiftbenchError(
    'ERR_EXPORT',
    `${file} (shift ${k} (dx ${s.dx}, dy ${s.dy})) ${what}. Run your detector on every ${INPUTS_DIR}/<imageId>/${k}` +
      `.png of the export ` +
      'and save in this file a JSON list of COCO results [{ "image_id", "category_id", "bbox": [x, y, w, h], ' +
      '"score" }] of all of them, ' +
      'boxes in the input\'s pixels; see README "Bring your own inference".',
  );
}

/** The first few ids of a list, "id 3" or "ids 3, 5, 8, 13, 21, …" (the count is said beside it). */
function someIds(ids: number[]): string {
  const shown = ids.slice(0, 5).join(', ');
  return `${ids.length === 1 ? 'id' : 'ids'} ${shown}${ids.length > 5 ? ', …' : ''}`;
}

/**
 * Which images each shift's file covers, against the other shifts' files. An image with no
 * detection in one file while other files have some is what `score` measures (a detector may
 * find nothing on one input), so it is scored as such — but named in a warning, since it is
 * also what a detector that did not run on that input looks like. A file with no result at
 * all while at least two images have detections at most (more than half) of the other shifts
 * is a failed detector run (or the wrong file), not flicker, and is refused before anything
 * is written: images a detector finds at most shifts do not all lose every detection at the
 * same one. With fewer such images (one image, or a detector that finds almost nothing) it
 * stays a warning.
 */
function checkCoverage(exp: ReadExport, perShift: ShiftResults[], logger: Logger): void {
  const file = (k: number) => path.join(exp.dir, detectionsFile(k));
  const ids = exp.manifest.images.filter((i) => i.skipped === undefined).map((i) => i.id);
  // per image: at how many shifts it has a detection
  const shiftsWith = new Map(ids.map((id) => [id, perShift.filter((r) => r.has(id)).length]));
  perShift.forEach((results, k) => {
    if (results.size > 0 || perShift.length < 2) return;
    const mostlyFound = ids.filter((id) => shiftsWith.get(id)! > (perShift.length - 1) / 2);
    if (mostlyFound.length >= 2) {
      throw fileError(
        file(k),
        k,
        exp,
        `holds no result at all, while ${mostlyFound.length} images have detections at most of the other shifts ` +
          `(${someIds(mostlyFound)}): that is a detector run that failed on this shift or wrote the wrong file, ` +
          'not a detector that found nothing',
      );
    }
  });
  perShift.forEach((results, k) => {
    const elsewhere = ids.filter((id) => shiftsWith.get(id)! > (results.has(id) ? 1 : 0));
    const absent = elsewhere.filter((id) => !results.has(id));
    if (absent.length === 0) return;
    const s = exp.manifest.shiftSet.shifts[k];
    logger.warn(
      `${file(k)} (shift ${k} (dx ${s.dx}, dy ${s.dy})): ${absent.length} of the ${elsewhere.length} image` +
        `${elsewhere.length === 1 ? '' : 's'} with detections at other shifts ${absent.length === 1 ? 'is' : 'are'} ` +
        `absent from it (${someIds(absent)}); each is scored as finding nothing at this shift. If your detector ` +
        `did not run on ${INPUTS_DIR}/<imageId>/${k}.png of ${absent.length === 1 ? 'it' : 'them'}, run it, save ` +
        'its results in this file and score again',
    );
  });
}

/**
 * Results none of whose category ids is a category of the exported dataset (a framework's own class indices, 0-based,
 * or another label map) would all be left out of the evaluation — mAP 0 and a detection consistency of 100 % from
 * nothing scored — so they are refused, naming the first file with results, the ids and the dataset's. Where some
 * ids are the dataset's, the others are left out with a warning while scoring, as in `run`. A label-free dataset
 * (no categories) is not checked.
 */
function checkCategories(exp: ReadExport, perShift: ShiftResults[]): void {
  const categories = exp.manifest.dataset.categories;
  if (exp.manifest.dataset.labelFree || !Array.isArray(categories) || categories.length === 0) return;
  const known = new Set(categories.map((c) => c.id));
  const seen = new Set<number>();
  for (const results of perShift)
    for (const dets of results.values())
      for (const d of dets) {
        if (known.has(d.categoryId)) return checkCategoriesPerFile(exp, perShift, known);
        seen.add(d.categoryId);
      }
  const k = perShift.findIndex((r) => r.size > 0);
  if (k < 0) return; // no result at all: checkCoverage and the warnings say so
  const list = (ids: number[]) => ids.slice(0, 8).join(', ') + (ids.length > 8 ? ', …' : '');
  throw fileError(
    path.join(exp.dir, detectionsFile(k)),
    k,
    exp,
    `and every other results file hold no result whose category_id is a category of the dataset: they use ` +
      `category_id ${list([...seen].sort((a, b) => a - b))}, the dataset ${list([...known].sort((a, b) => a - b))} ` +
      `(${EXPORT_FILE} "dataset.categories"), so nothing would be scored. Map your detector's classes to the ` +
      `dataset's category ids (not its own class indices) when you write the results, then score again`,
  );
}

/**
 * One results file with results but none of a category of the dataset, while the other files hold scorable ones: it
 * would be scored as a shift where every object vanished — flicker that is a label map (or the wrong file), not the
 * detector. Refused as checkCoverage refuses an empty file: when at least two images have results of the dataset's
 * categories at most (more than half) of the other shifts.
 */
function checkCategoriesPerFile(exp: ReadExport, perShift: ShiftResults[], known: ReadonlySet<number>): void {
  // per shift, the images with a result of a known category
  const scorable = perShift.map(
    (results) =>
      new Set([...results].filter(([, dets]) => dets.some((d) => known.has(d.categoryId))).map(([id]) => id)),
  );
  const ids = exp.manifest.images.filter((i) => i.skipped === undefined).map((i) => i.id);
  perShift.forEach((results, k) => {
    if (results.size === 0 || scorable[k].size > 0 || perShift.length < 2) return;
    const mostlyFound = ids.filter((id) => scorable.filter((s) => s.has(id)).length > (perShift.length - 1) / 2);
    if (mostlyFound.length < 2) return;
    const used = [...new Set([...results.values()].flat().map((d) => d.categoryId))].sort((a, b) => a - b);
    throw fileError(
      path.join(exp.dir, detectionsFile(k)),
      k,
      exp,
      `holds results of no category of the dataset (category_id ${used.slice(0, 8).join(', ')}` +
        `${used.length > 8 ? ', …' : ''}), while ${mostlyFound.length} images have results of its categories at ` +
        `most of the other shifts (${someIds(mostlyFound)}): scored, every object would vanish at this shift. The ` +
        `file was written with another label map than the others (or is the wrong file); write it with the ` +
        `dataset's category ids (${EXPORT_FILE} "dataset.categories")`,
    );
  });
}

/**
 * Whether a box [x, y, w, h] lies mostly outside a region [x0, y0, x1, y1]: less than half
 * of its area inside (a box of no area: its centre outside).
 */
function mostlyOutside(b: [number, number, number, number], r: [number, number, number, number]): boolean {
  const [x, y, w, h] = b;
  if (w > 0 && h > 0) {
    const ix = Math.max(0, Math.min(x + w, r[2]) - Math.max(x, r[0]));
    const iy = Math.max(0, Math.min(y + h, r[3]) - Math.max(y, r[1]));
    return ix * iy < (w * h) / 2;
  }
  const cx = x + w / 2;
  const cy = y + h / 2;
  return !(cx >= r[0] && cx <= r[2] && cy >= r[1] && cy <= r[3]);
}

/**
 * Where the picture lies in an input: the transformed original image, clipped to the input
 * (the letterbox padding and, in crop mode, what was cut off are outside).
 */
function pictureIn(image: ExportedImage, k: number, width: number, height: number): [number, number, number, number] {
  const t = image.inputs![k].transform;
  const [w, h] = image.sizePx!;
  return [
    Math.max(0, t.offsetX),
    Math.max(0, t.offsetY),
    Math.min(width, t.offsetX + w * t.scaleX),
    Math.min(height, t.offsetY + h * t.scaleY),
  ];
}

/**
 * Boxes in the wrong frame (the original image's pixels, say, instead of the input's) score
 * as misses without any error. A detector's boxes lie on the picture it was given, so a file
 * where more than half of the boxes lie mostly outside the picture in their input is named in
 * one warning with the frame `score` expects. Scoring goes on: the boxes may be right (a
 * detector that sees objects in the padding), and the metrics say what they are.
 */
function warnOutside(exp: ReadExport, outside: { k: number; outside: number; total: number }[], logger: Logger): void {
  const named = outside.filter((f) => f.outside * 2 > f.total);
  if (named.length === 0) return;
  const { widthPx, heightPx } = exp.manifest.input;
  logger.warn(
    `in ${path.join(exp.dir, EXPORT_DETECTIONS_DIR)}, most boxes of ` +
      named.map((f) => `${path.basename(detectionsFile(f.k))} (${f.outside} of ${f.total} boxes)`).join(', ') +
      ` lie mostly outside the picture in their input. score expects each bbox [x, y, w, h] in the pixels of the ` +
      `input it was detected on (${widthPx}×${heightPx}, ${INPUTS_DIR}/<imageId>/<k>.png, origin at its top-left ` +
      `corner), not in the original image's pixels (${EXPORT_FILE} "sizePx") nor normalised; boxes in another ` +
      "frame score as misses. Write them in the input's pixels and score again",
  );
}

/**
 * A `detections/shift_<k>.json` for an index k the export does not have: the folder holds results made for another
 * export (another shift set, whose shift_0… are other offsets than this one's), so none of its files is trusted as
 * this export's. Refused naming the file and the fix.
 */
async function refuseOtherShiftFiles(exp: ReadExport): Promise<void> {
  const count = exp.manifest.shiftSet.shifts.length;
  const names = await readdir(path.join(exp.dir, EXPORT_DETECTIONS_DIR)).catch(() => [] as string[]);
  const extra = names
    .map((n) => /^shift_(\d+)\.json$/.exec(n))
    .filter((m): m is RegExpExecArray => m !== null && Number(m[1]) >= count)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
  if (extra.length === 0) return;
  throw new ShiftbenchError(
    'ERR_EXPORT',
    `${path.join(exp.dir, detectionsFile(extra[0]))}${extra.length > 1 ? ` (and ${extra.length - 1} more)` : ''} ` +
      `holds results for shift index ${extra[0]}, but ${path.join(exp.dir, EXPORT_FILE)} has shift indices ` +
      `0–${count - 1} only ("${exp.manifest.shiftSet.spec}"): the results folder holds detections made for another ` +
      `export, so its other files cannot be trusted as this export's shifts either. Run your detector on this ` +
      `export's ${INPUTS_DIR}/<imageId>/<k>.png and write only shift_0.json … shift_${count - 1}.json (remove the ` +
      'others), then score again.',
  );
}

/**
 * Reads and checks `detections/shift_<k>.json` of every shift index: present, a JSON list,
 * each entry a COCO result with finite numbers (width and height ≥ 0, score in [0, 1], as
 * the plug-in path demands) and the image id of an exported image; a
 * file with no result at all while the others have some is refused, an image absent from
 * one file but not from others is warned about (checkCoverage), and so is a file most of
 * whose boxes lie outside the picture in their input (warnOutside).
 * Returns the results by shift and image, and the sha256 over all files.
 */
async function readResults(exp: ReadExport, logger: Logger): Promise<ExportResults> {
  const exported = new Map(exp.manifest.images.filter((i) => i.skipped === undefined).map((i) => [i.id, i]));
  await refuseOtherShiftFiles(exp);
  const outside: { k: number; outside: number; total: number }[] = [];
  const hash = createHash('sha256');
  const perShift: ShiftResults[] = [];
  for (let k = 0; k < exp.manifest.shiftSet.shifts.length; k++) {
    const file = path.join(exp.dir, detectionsFile(k));
    let bytes: Buffer;
    try {
      bytes = await readFile(file);
    } catch (err) {
      throw fileError(file, k, exp, `is missing (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    hash.update(`${k}\0`).update(bytes).update('\0');
    let list: unknown;
    try {
      list = JSON.parse(bytes.toString('utf8'));
    } catch (err) {
      throw fileError(file, k, exp, `is not valid JSON (${(err as Error).message})`);
    }
    if (!Array.isArray(list)) throw fileError(file, k, exp, 'is not a JSON list of COCO results');
    const byImage: ShiftResults = new Map();
    const count = { k, outside: 0, total: list.length };
    list.forEach((r: unknown, i) => {
      if (!is.object(r)) throw fileError(file, k, exp, `has entry ${i} that is not an object`);
      if (!Number.isInteger(r.image_id)) throw fileError(file, k, exp, `has entry ${i} without an integer image_id`);
      const imageId = r.image_id as number;
      if (!exported.has(imageId)) {
        throw fileError(
          file,
          k,
          exp,
          `has entry ${i} with image_id ${imageId}, which is not an exported image (the ids are in ${EXPORT_FILE} ` +
            `"images"; skipped images have no inputs)`,
        );
      }
      if (r.category_id === undefined) throw fileError(file, k, exp, `has entry ${i} without an integer category_id`);
      if (!is.int32(r.category_id)) {
        throw fileError(
          file,
          k,
          exp,
          `has entry ${i} whose category_id must be a 32-bit integer but is ${JSON.stringify(r.category_id)}`,
        );
      }
      if (!is.box(r.bbox))
        throw fileError(file, k, exp, `has entry ${i} whose bbox is not [x, y, w, h] of 4 finite numbers`);
      if (r.bbox[2] < 0 || r.bbox[3] < 0) {
        throw fileError(
          file,
          k,
          exp,
          `has entry ${i} whose bbox width and height must be ≥ 0 but the bbox is [${r.bbox.join(', ')}]`,
        );
      }
      if (!is.number(r.score)) throw fileError(file, k, exp, `has entry ${i} whose score is not a finite number`);
      if (r.score < 0 || r.score > 1)
        throw fileError(file, k, exp, `has entry ${i} whose score must be a number in [0, 1] but is ${r.score}`);
      const { widthPx, heightPx } = exp.manifest.input;
      if (mostlyOutside(r.bbox, pictureIn(exported.get(imageId)!, k, widthPx, heightPx))) count.outside++;
      let dets = byImage.get(imageId);
      if (!dets) byImage.set(imageId, (dets = []));
      dets.push({
        bbox: [r.bbox[0], r.bbox[1], r.bbox[2], r.bbox[3]],
        score: r.score,
        categoryId: r.category_id as number,
      });
    });
    perShift.push(byImage);
    outside.push(count);
  }
  checkCategories(exp, perShift);
  checkCoverage(exp, perShift, logger);
  warnOutside(exp, outside, logger);
  const timingFile = path.join(exp.dir, EXPORT_DETECTIONS_DIR, TIMING_FILE);
  // absent: not measured; there but unreadable (a folder, no permission): an error naming it, never "not measured"
  const timing = await readFile(timingFile).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw new ShiftbenchError(
      'ERR_EXPORT',
      `${timingFile} cannot be read (${err.code ?? err.message}). Fix: make it a readable file ` +
        `{ "inferenceSeconds": … }, or remove it.`,
      { cause: err },
    );
  });
  let inferenceSeconds: number | null = null;
  if (timing) {
    hash.update('timing\0').update(timing);
    let value: unknown;
    try {
      value = JSON.parse(timing.toString('utf8'));
    } catch {
      value = undefined;
    }
    if (!is.object(value) || !is.number(value.inferenceSeconds) || value.inferenceSeconds < 0) {
      throw new ShiftbenchError(
        'ERR_EXPORT',
        `${timingFile} must be { "inferenceSeconds": <seconds spent in the detector over all inputs, ≥ 0> }, ` +
          `or absent.`,
      );
    }
    inferenceSeconds = value.inferenceSeconds;
  }
  return { perShift, sha256: hash.digest('hex'), inferenceSeconds };
}

/**
 * Scores the results in `exportDir/detections/` and writes a run directory (manifest,
 * detections, metrics.json, report.html) as `run` does. Throws ERR_EXPORT (not an export,
 * a results file missing, invalid or empty while the others are not — naming it and the
 * fix —, the dataset or an image
 * changed since the export), ERR_INVALID_OPTION (bad --name, --family or analysis flag),
 * and the run store's ERR_OUTPUT / ERR_RUN_STORE / ERR_RUN_LOCKED.
 */
export async function scoreExport(
  exportDir: string,
  options: ScoreExportOptions,
  hooks: { logger?: Logger; env?: Partial<RunnerEnv>; signal?: AbortSignal } = {},
): Promise<ScoreExportResult> {
  if (!is.object(options as unknown))
    throw invalidParameterError('options', 'an object of score options { name, family, … }', options);
  refuseUnknownFields(options, SCORE_OPTION_FIELDS, 'score options');
  const logger = hooks.logger ?? SILENT;
  const env: RunnerEnv = withDefaultEnv(hooks.env);
  const exp = await readExport(exportDir);
  const m = exp.manifest;
  if (!is.string(options.name)) throw invalidParameterError('--name', "the detector's name", options.name);
  const family = parseFamily(options.family);
  const o = resolveRunOptions({
    models: [options.name],
    dataset: options.dataset ?? m.dataset.spec.dataset,
    images: options.images ?? m.dataset.spec.images ?? undefined,
    classes: is.string(m.dataset.spec.classes) ? m.dataset.spec.classes : undefined,
    limit: m.dataset.spec.limit ?? undefined,
    shifts: m.shiftSet.spec,
    mode: m.mode,
    kernel: m.resample.kernel as ResolvedRunOptions['kernel'],
    subpixelKernel: (m.subpixelKernel ?? undefined) as ResolvedRunOptions['subpixelKernel'] | undefined,
    scoreThreshold: options.scoreThreshold,
    bootstrapResamples: options.bootstrapResamples,
    bootstrapSeed: options.bootstrapSeed,
    bootstrapBounds: options.bootstrapBounds,
    objectives: options.objectives,
    maxDetections: options.maxDetections,
    out: options.out,
    force: options.force,
    reportsDir: options.reportsDir,
  });
  const sameShifts =
    o.shiftSet.shifts.length === m.shiftSet.shifts.length &&
    o.shiftSet.shifts.every((s, i) => s.dx === m.shiftSet.shifts[i].dx && s.dy === m.shiftSet.shifts[i].dy);
  if (!sameShifts)
    throw new ShiftbenchError(
      'ERR_EXPORT',
      `${path.join(exp.dir, EXPORT_FILE)}: shiftSet.shifts do not match its spec "${m.shiftSet.spec}". ` +
        `Make the export again.`,
    );
  // every results file is read and checked before anything is written
  const results = await readResults(exp, logger);

  const store = await RunStore.locate(
    { out: o.out, reportsDir: o.reportsDir, force: o.force },
    { ...runOptionsKey(o), export: exp.sha256 },
    shortHash({ ...runOptionsKey(o), export: exp.sha256 }),
    logger,
  );
  await store.lock(logger);
  try {
    return await scoreLocked(exp, results, family, o, env, store, logger, hooks.signal);
  } finally {
    await store.release();
  }
}

async function scoreLocked(
  exp: ReadExport,
  results: ExportResults,
  family: DetectorFamily,
  o: ResolvedRunOptions,
  env: RunnerEnv,
  store: RunStore,
  logger: Logger,
  signal: AbortSignal | undefined,
): Promise<ScoreExportResult> {
  const m = exp.manifest;
  const exportFile = path.join(exp.dir, EXPORT_FILE);
  const dataset = await env.loadDataset({
    dataset: o.dataset,
    images: o.images ?? undefined,
    classes: o.classes ?? undefined,
    limit: o.limit ?? undefined,
  });
  if (dataset.hash !== m.dataset.hash) {
    throw new ShiftbenchError(
      'ERR_EXPORT',
      `The dataset ${dataset.source} is not the one exported (${exportFile}): ` +
        `its hash is ${dataset.hash.slice(0, 12)}, the export's ${m.dataset.hash.slice(0, 12)}. ` +
        'Give the exported dataset (--dataset, --images), or export this one again and run your detector on it.',
    );
  }
  const imageIds = await imageHashes(dataset.images, dataset.groundTruth);
  const key = modelKey(o.models[0]);
  const identity: RunIdentity = {
    // the inputs were made, and so decoded and resampled, at export time
    run: {
      ...runLevelIdentity(o, m.buildId, String(m.resample.library ?? 'not recorded')),
      detections: { source: 'export', exportSha256: exp.sha256 },
    },
    detectors: {
      [key]: { kind: 'export', exportSha256: exp.sha256, detectionsSha256: results.sha256, name: o.models[0], family },
    },
  };
  const sha256 = imageIdentityFor(identity.detectors[key], imageIds);
  const byId = new Map(m.images.map((i) => [i.id, i]));
  const geometryOpts = {
    inputSizePx: { width: m.input.widthPx, height: m.input.heightPx },
    fit: m.input.fit,
    padValue: m.input.padValue,
    mode: o.mode,
    shiftSet: o.shiftSet,
    kernel: o.kernel,
  };
  for (const image of dataset.images) {
    const e = byId.get(image.id);
    if (!e || e.sha256 !== sha256.get(image.id)) {
      throw new ShiftbenchError(
        'ERR_EXPORT',
        `Image ${image.id} (${image.fileName}) ${e ? 'changed since' : 'is not in'} the export ${exportFile}. ` +
          `Export the dataset again and run your detector on the new inputs.`,
      );
    }
    // the transforms score.ts uses are those the inputs were made with
    if (
      e.inputs &&
      JSON.stringify(fitGeometry(e.sizePx![0], e.sizePx![1], geometryOpts).transforms) !==
        JSON.stringify(e.inputs.map((i) => i.transform))
    ) {
      throw new ShiftbenchError(
        'ERR_EXPORT',
        `${exportFile}: the transforms of image ${image.id} are not those of its input size and fit. ` +
          `Make the export again.`,
      );
    }
  }

  const { stored, logs } = await store.claim(
    identity,
    { images: dataset.images, sha256: () => sha256, shiftCount: o.shiftSet.shifts.length },
    [key],
    logger,
  );
  // the detectors scored into this folder before are scored with this one (a run directory's metrics cover them all)
  let others: ScoredVariant[];
  try {
    others = await readOtherDetectors(
      store,
      stored,
      [key],
      dataset.images,
      imageIds,
      (d) =>
        `Score its export into ${store.dir} again first (\`shiftbench score EXPORT --name ${d.key} --out ${store.dir}\`)`,
    );
    await store.retireMetrics(stored, logger);
  } catch (err) {
    for (const { log } of logs.values()) await log.close();
    throw err;
  }
  const manifest = newManifest(o, dataset, store.runId(stored), stored, identity);
  manifest.resample = m.resample as typeof manifest.resample; // the inputs were made at export time
  const pre = m.input.preprocessing;
  const entry: ManifestDetector = {
    key,
    model: o.models[0],
    mitigation: null,
    name: o.models[0],
    runtime: 'export (detections made outside shiftbench)',
    family,
    inputSizePx: { width: m.input.widthPx, height: m.input.heightPx },
    fit: m.input.fit,
    padValue: m.input.padValue,
    maxBatch: 1,
    batchSize: 1,
    totalStridePx: null,
    files: [{ path: exportFile, sha256: exp.sha256 }],
    colorOrder: (pre?.colorOrder as ManifestDetector['colorOrder']) ?? null,
    normalize: (pre?.normalize as ManifestDetector['normalize']) ?? null,
    decoder: null,
    details: {
      source: 'export',
      exportDir: exp.dir,
      exportSha256: exp.sha256,
      detectionsSha256: results.sha256,
      exportedAt: m.createdAt,
      exportedWith: { toolVersion: m.toolVersion, buildId: m.buildId, model: m.input.model },
    },
  };
  manifest.detectors = [...manifest.detectors.filter((d) => d.key !== key), entry];
  manifest.identity.detectors[key] = identity.detectors[key];
  await store.writeManifest(manifest);
  logger.info(`run directory: ${store.dir}`);

  const { log, stored: records } = logs.get(key)!;
  const inputCount = m.images.reduce((n, i) => n + (i.inputs?.length ?? 0), 0);
  if (results.inferenceSeconds === null) {
    logger.warn(
      `${key}: no ${EXPORT_DETECTIONS_DIR}/${TIMING_FILE} in the export, so the inference time is not known (its ` +
        `time columns read —)`,
    );
  }
  let truncatedInputs = 0;
  let noDetections = 0;
  try {
    for (const image of dataset.images) {
      if (records.has(image.id)) continue;
      const e = byId.get(image.id)!;
      let record: ImageRecord;
      if (e.skipped !== undefined) {
        record = { imageId: image.id, sha256: sha256.get(image.id), skipped: e.skipped };
      } else {
        const shifts = e.inputs!.map((input, k) => {
          const { stored: dets, truncated } = storedDetectionsOf(
            results.perShift[k].get(image.id) ?? [],
            input.transform,
            image.id,
            o.maxDetections,
          );
          if (truncated) truncatedInputs++;
          return dets;
        });
        if (shifts.every((s) => s.length === 0)) noDetections++;
        const seconds =
          results.inferenceSeconds === null ? null : (results.inferenceSeconds * shifts.length) / inputCount;
        record = { imageId: image.id, sha256: sha256.get(image.id), seconds, size: e.sizePx!, shifts };
      }
      await log.append(record); // also kept in `records` (the log's live map)
    }
  } finally {
    for (const { log: l } of logs.values()) await l.close();
  }
  if (truncatedInputs > 0) {
    logger.warn(
      `${key}: ${countOf(truncatedInputs, 'input')} had more than ${o.maxDetections} ` +
        `detections; kept the ${o.maxDetections} highest-scoring of each (--max-detections)`,
    );
  }
  if (noDetections > 0) {
    logger.warn(
      `${key}: ${noDetections} image${noDetections === 1 ? ' has' : 's have'} no detection at any shift — check ` +
        `that your detector ran on every input of the export`,
    );
  }

  const metrics = await scoreRun({
    store,
    runId: manifest.runId,
    dataset,
    shiftSet: o.shiftSet,
    mode: o.mode,
    kernel: o.kernel,
    ...analysisSettingsOf(o),
    variants: [{ entry, records, file: log.file }, ...others],
    createEvaluator: env.createEvaluator,
    logger,
    signal,
    retrySkipped: 'make the export again with them and score it again',
  });
  const reportPath = await renderReportAfterScoring(store.dir, logger);
  return { runDir: store.dir, metrics, reportPath };
}
