/**
 * runBenchmark: the one place that ties datasets, shifts, detectors, mitigations and
 * metrics together. For each model it runs the plain detector and then each mitigation,
 * streams detections into the run store, and evaluates from what is stored — so a
 * resumed run and an uninterrupted one give identical metrics.
 */
import { readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import sharp from 'sharp';
import { ShiftbenchError } from '../core/errors.js';
import type {
  CocoAnnotation,
  CocoGroundTruth,
  CocoResult,
  Dataset,
  DatasetImage,
  Detector,
  DetectorInfo,
  DetectorRunSummary,
  Logger,
  RunMetrics,
} from '../core/types.js';
import type { Mitigation } from '../mitigations/types.js';
import { fitGeometry, groundTruthForShift, shiftLabel, type ShiftedInputOptions } from '../shifts/index.js';
import { renderReport } from '../report/index.js';
import { VERSION } from '../version.js';
import { runDetectLoop } from './detectLoop.js';
import { defaultEnv } from './env.js';
import { makeRunId, resolveRunOptions, runIdentity, shortHash, stableJson, RUN_DEFAULTS, type ResolvedRunOptions, type RunOptions } from './options.js';
import {
  DETECTIONS_DIR,
  DetectionLog,
  MANIFEST_FILE,
  METRICS_FILE,
  SKIPPED_FILE,
  clearRunStore,
  ensureWritableDir,
  exists,
  isSkipped,
  readJsonOrNull,
  safeFileName,
  writeJsonAtomic,
  type ImageRecord,
} from './store.js';
import type { RunEvaluator, RunHooks, RunnerEnv, RunnerLoadOptions, RunResult } from './types.js';

const SILENT: Logger = { info: () => undefined, warn: () => undefined };

/** What the manifest records of each detector. */
export interface ManifestDetector {
  key: string;
  model: string;
  mitigation: string | null;
  name: string;
  runtime: string;
  family: DetectorInfo['family'];
  inputSizePx: DetectorInfo['inputSizePx'];
  fit: DetectorInfo['fit'];
  padValue: DetectorInfo['padValue'];
  maxBatch: number;
  batchSize: number;
  totalStridePx: number | null;
  files: DetectorInfo['files'];
  details: Record<string, unknown> | null;
}

export interface RunManifest {
  schemaVersion: 1;
  runId: string;
  createdAt: string;
  toolVersion: string;
  nodeVersion: string;
  platform: string;
  cpus: number;
  backend: string;
  threads: number | null;
  seed: number;
  resample: { kernel: string; library: string; fitPlacement: 'top-left' };
  dataset: { name: string; source: string; kind: string; images: number; hash: string; labelFree: boolean };
  shiftSet: { spec: string; shifts: { dx: number; dy: number }[]; maxOffsetPx: number };
  mode: string;
  scoreThreshold: number;
  /** The options that decide the numbers; a run dir resumes only a run with the same identity. */
  identity: Record<string, unknown>;
  options: Record<string, unknown>;
  detectors: ManifestDetector[];
}

interface Variant {
  key: string;
  model: string;
  mitigation: Mitigation | null;
}

/** Display key of a model spec: the registry name, or a file's base name. */
function modelKey(spec: string): string {
  if (!path.isAbsolute(spec)) return spec;
  let base = path.basename(spec).replace(/\.(onnx|json|mjs|js)$/i, '');
  if (base === 'model' || base === 'model.json') base = path.basename(path.dirname(spec));
  return base;
}

function planVariants(o: ResolvedRunOptions, mitigations: Mitigation[]): Variant[][] {
  const used = new Map<string, number>();
  return o.models.map((model) => {
    let base = modelKey(model);
    const n = (used.get(base) ?? 0) + 1;
    used.set(base, n);
    if (n > 1) base = `${base}#${n}`;
    return [{ key: base, model, mitigation: null }, ...mitigations.map((m) => ({ key: `${base}+${m.spec}`, model, mitigation: m }))];
  });
}

/** Finds the newest unfinished run of the same options under `reportsDir` (default out only). */
async function findResumable(reportsDir: string, hash: string): Promise<string | null> {
  let names: string[];
  try {
    names = await readdir(reportsDir);
  } catch {
    return null;
  }
  const candidates = names.filter((n) => n.endsWith(`-${hash}`)).sort().reverse();
  for (const name of candidates) {
    const dir = path.join(reportsDir, name);
    if ((await exists(path.join(dir, MANIFEST_FILE))) && !(await exists(path.join(dir, METRICS_FILE)))) return dir;
  }
  return null;
}

function describeIdentityDiff(a: Record<string, unknown>, b: Record<string, unknown>): string {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => stableJson(a[k]) !== stableJson(b[k]));
  return keys.map((k) => `${k}: stored ${stableJson(a[k]).slice(0, 60)}, now ${stableJson(b[k]).slice(0, 60)}`).join('; ');
}

function manifestDetector(v: Variant, info: DetectorInfo, batchSize: number): ManifestDetector {
  return {
    key: v.key,
    model: v.model,
    mitigation: v.mitigation?.spec ?? null,
    name: info.name,
    runtime: info.runtime,
    family: info.family,
    inputSizePx: info.inputSizePx,
    fit: info.fit,
    padValue: info.padValue,
    maxBatch: info.maxBatch,
    batchSize,
    totalStridePx: info.totalStridePx ?? null,
    files: info.files,
    details: (info.details as Record<string, unknown> | undefined) ?? null,
  };
}

/** A detector whose dispose does nothing: lets a mitigation wrap the shared plain detector. */
function borrowed(d: Detector): Detector {
  return { info: d.info, detect: (batch, contexts) => d.detect(batch, contexts), dispose: async () => undefined };
}

/**
 * Runs the benchmark described by `options` (see RunOptions for defaults) and writes the
 * run directory: manifest.json, detections/, skipped.json, metrics.json.
 * Resumes an existing run directory of the same options, recomputing nothing stored.
 * Throws ERR_INVALID_OPTION (bad options), ERR_OUTPUT (unwritable --out, before any
 * model work), ERR_RUN_STORE (the directory holds a different run; use --force or a new
 * --out), ERR_DATASET / ERR_MODEL_* / ERR_PLUGIN from the modules, and an AbortError
 * when `hooks.signal` stops it.
 */
export async function runBenchmark(options: RunOptions, hooks: RunHooks = {}): Promise<RunResult> {
  const logger = hooks.logger ?? SILENT;
  const o = resolveRunOptions(options);
  const env: RunnerEnv = { ...defaultEnv(), ...hooks.env };
  if (o.mitigations.length > 0) await env.registerPluginMitigations(o.plugins, logger);
  const mitigations = o.mitigations.map((spec) => env.parseMitigation(spec));
  const baseIdentity = runIdentity(o, VERSION);
  const hash = shortHash(baseIdentity);

  // 1. the run directory: writable, before any dataset or model work
  let runDir = o.out;
  if (runDir === null) {
    const resumable = o.force ? null : await findResumable(o.reportsDir, hash);
    runDir = resumable ?? path.join(o.reportsDir, makeRunId(baseIdentity));
    if (resumable) logger.info(`resuming the unfinished run in ${resumable}`);
  }
  await ensureWritableDir(runDir);

  // 2. the dataset
  const dataset = await env.loadDataset({ dataset: o.dataset, images: o.images ?? undefined, limit: o.limit ?? undefined });
  if (dataset.images.length === 0) throw new ShiftbenchError('ERR_DATASET', `Dataset ${dataset.source} has no images.`);
  const identity = { ...baseIdentity, datasetHash: dataset.hash };

  // 3. the manifest: resume the same run, refuse a different one
  let manifestFile = path.join(runDir, MANIFEST_FILE);
  let stored = await readJsonOrNull<RunManifest>(manifestFile);
  if (stored && o.out === null && stableJson(stored.identity) !== stableJson(identity)) {
    // the unfinished default run had other data (same options): start a new default run
    runDir = path.join(o.reportsDir, makeRunId(baseIdentity));
    await ensureWritableDir(runDir);
    manifestFile = path.join(runDir, MANIFEST_FILE);
    stored = null;
  }
  if (stored && stableJson(stored.identity) !== stableJson(identity)) {
    if (!o.force) {
      throw new ShiftbenchError(
        'ERR_RUN_STORE',
        `The run directory ${runDir} holds a different run (${describeIdentityDiff(stored.identity ?? {}, identity)}). ` +
          'Use a new --out to keep it, or --force to replace it.',
      );
    }
    logger.warn(`--force: replacing the run stored in ${runDir}`);
    await clearRunStore(runDir);
    stored = null;
  } else if (!stored && (await exists(path.join(runDir, DETECTIONS_DIR)))) {
    if (!o.force) {
      throw new ShiftbenchError(
        'ERR_RUN_STORE',
        `The run directory ${runDir} has detections but no ${MANIFEST_FILE}, so it cannot be resumed safely. Use a new --out, or --force to replace it.`,
      );
    }
    await clearRunStore(runDir);
  }
  if (stored) await clearStaleMetrics(runDir);
  const manifest: RunManifest = {
    schemaVersion: 1,
    runId: stored?.runId ?? (o.out === null ? path.basename(runDir) : makeRunId(baseIdentity)),
    createdAt: stored?.createdAt ?? new Date().toISOString(),
    toolVersion: VERSION,
    nodeVersion: process.version,
    platform: `${process.platform} ${process.arch}`,
    cpus: os.cpus().length,
    backend: o.backend,
    threads: o.threads,
    seed: o.seed,
    resample: { kernel: o.kernel, library: `sharp ${sharp.versions.sharp} / libvips ${sharp.versions.vips}`, fitPlacement: 'top-left' },
    dataset: {
      name: dataset.name,
      source: dataset.source,
      kind: dataset.kind,
      images: dataset.images.length,
      hash: dataset.hash,
      labelFree: dataset.groundTruth === null,
    },
    shiftSet: { spec: o.shiftSet.spec, shifts: o.shiftSet.shifts, maxOffsetPx: o.shiftSet.maxOffsetPx },
    mode: o.mode,
    scoreThreshold: o.scoreThreshold,
    identity,
    options: { ...o, shiftSet: o.shiftSet.spec },
    detectors: stored?.detectors ?? [],
  };
  await writeJsonAtomic(manifestFile, manifest);
  logger.info(`run directory: ${runDir}`);

  // 4. every model, plain first, then its mitigations
  const plan = planVariants(o, mitigations);
  const detectorCount = plan.reduce((n, vs) => n + vs.length, 0);
  const loadOpts: RunnerLoadOptions = {
    backend: o.backend,
    threads: o.threads ?? undefined,
    weightsDir: o.weightsDir ?? undefined,
    seed: o.seed,
    groundTruth: dataset.groundTruth,
    logger,
    plugins: o.plugins,
    registryFiles: o.registryFiles,
    detectTimeoutMs: o.detectTimeoutMs ?? undefined,
  };
  const results: DetectorRunSummary[] = [];
  const wallSeconds: Record<string, number> = {};
  const phases: RunResult['phases'] = {};
  const computedImages: Record<string, number> = {};
  let detectorIndex = 0;
  const allSkipped = new Map<number, { imageId: number; fileName: string; reason: string }>();

  for (const variants of plan) {
    let plain: Detector | null = null;
    const getPlain = async (): Promise<Detector> => (plain ??= await env.loadDetector(variants[0].model, loadOpts));
    try {
      for (const v of variants) {
        const started = performance.now();
        const phase = { loadSeconds: 0, loopSeconds: 0, evaluateSeconds: 0 };
        phases[v.key] = phase;
        const logFile = path.join(runDir, DETECTIONS_DIR, `${safeFileName(v.key)}.jsonl`);
        const { log, stored: records } = await DetectionLog.open(logFile, o.shiftSet.shifts.length);
        let owned: Detector | null = null; // a detector to dispose after this variant
        let entry = manifest.detectors.find((d) => d.key === v.key) ?? null;
        const todo = dataset.images.filter((img) => !records.has(img.id));
        try {
          if (todo.length === 0 && entry !== null) logger.info(`${v.key}: all ${records.size} images already stored`);
          if (todo.length > 0 || entry === null) {
            const loadStart = performance.now();
            const detector = await loadVariant(v, env, loadOpts, getPlain, o, logger);
            phase.loadSeconds = (performance.now() - loadStart) / 1000;
            if (detector !== plain) owned = detector;
            const batchSize = Math.max(1, Math.min(o.batchSize ?? Math.min(detector.info.maxBatch, RUN_DEFAULTS.maxDefaultBatch), detector.info.maxBatch));
            const fresh = manifestDetector(v, detector.info, batchSize);
            if (entry && stableJson(entry.files) !== stableJson(fresh.files)) {
              throw new ShiftbenchError(
                'ERR_RUN_STORE',
                `The model files of "${v.key}" changed since this run started (${entry.files.map((f) => f.sha256.slice(0, 12)).join(', ')} → ${fresh.files
                  .map((f) => f.sha256.slice(0, 12))
                  .join(', ')}). Use a new --out, or --force to start over.`,
              );
            }
            if (entry === null || stableJson(entry) !== stableJson(fresh)) {
              manifest.detectors = [...manifest.detectors.filter((d) => d.key !== v.key), fresh];
              await writeJsonAtomic(manifestFile, manifest);
            }
            entry = fresh;
            if (todo.length > 0) {
              logger.info(`${v.key}: ${todo.length} image${todo.length === 1 ? '' : 's'} to run${records.size > 0 ? ` (${records.size} stored)` : ''}`);
              const loopStart = performance.now();
              let computed = 0;
              phase.loopSeconds = -performance.now() / 1000;
              await runDetectLoop({
                detector,
                images: todo,
                shiftSet: o.shiftSet,
                mode: o.mode,
                kernel: o.kernel,
                batchSize,
                decode: env.decodeImage,
                log,
                signal: hooks.signal,
                onRecord: (record) => {
                  records.set(record.imageId, record);
                  computed++;
                  if (hooks.onProgress) {
                    const elapsed = (performance.now() - loopStart) / 1000;
                    const rate = elapsed > 0 ? computed / elapsed : 0;
                    const left = dataset.images.length - records.size;
                    hooks.onProgress({
                      done: records.size,
                      total: dataset.images.length,
                      imagesPerSecond: rate,
                      etaSeconds: rate > 0 ? left / rate : null,
                      detector: v.key,
                      detectorIndex,
                      detectorCount,
                    });
                  }
                },
              });
              phase.loopSeconds += performance.now() / 1000;
              computedImages[v.key] = computed;
            }
          }
        } finally {
          await log.close();
          if (owned) await owned.dispose();
        }
        computedImages[v.key] ??= 0;
        const evalStart = performance.now();
        const summary = await summarize(v, entry!, dataset, records, o, env, runDir, logger);
        phase.evaluateSeconds = (performance.now() - evalStart) / 1000;
        for (const s of summary.skippedImages) allSkipped.set(s.imageId, s);
        results.push(summary);
        wallSeconds[v.key] = (performance.now() - started) / 1000;
        detectorIndex++;
      }
    } finally {
      if (plain) await (plain as Detector).dispose();
    }
  }

  // 5. cost ratios against the plain detector of the same model, in this run
  for (const r of results) {
    if (r.mitigation === null) continue;
    const base = results.find((p) => p.mitigation === null && p.model === r.model);
    const perImage = (s: DetectorRunSummary) => (s.imagesEvaluated > 0 ? s.timing.inferenceSeconds / s.imagesEvaluated : 0);
    r.timing.costRatio = base && perImage(base) > 0 ? perImage(r) / perImage(base) : null;
  }

  const metrics: RunMetrics = {
    schemaVersion: 1,
    runId: manifest.runId,
    dataset: { name: dataset.name, source: dataset.source, images: dataset.images.length, labelFree: dataset.groundTruth === null },
    shiftSet: { spec: o.shiftSet.spec, shifts: o.shiftSet.shifts },
    mode: o.mode,
    results,
  };
  await writeJsonAtomic(path.join(runDir, SKIPPED_FILE), [...allSkipped.values()].sort((a, b) => a.imageId - b.imageId));
  await writeJsonAtomic(path.join(runDir, METRICS_FILE), metrics);
  let reportPath: string | null = null;
  try {
    reportPath = (await renderReport(runDir, { logger })).htmlPath;
  } catch (err) {
    // the metrics are stored; a report problem must not lose them
    logger.warn(`could not render the report (${(err as Error).message}); metrics.json is complete — retry with \`shiftbench report ${runDir}\``);
  }
  return { runDir, metrics, wallSeconds, phases, computedImages, reportPath };
}

/** A resumed run's old metrics.json no longer describes the directory: remove it until the new one is written. */
async function clearStaleMetrics(runDir: string): Promise<void> {
  await rm(path.join(runDir, METRICS_FILE), { force: true });
}

async function loadVariant(
  v: Variant,
  env: RunnerEnv,
  loadOpts: RunnerLoadOptions,
  getPlain: () => Promise<Detector>,
  o: ResolvedRunOptions,
  logger: Logger,
): Promise<Detector> {
  const m = v.mitigation;
  if (m === null) return getPlain();
  let inner: Detector;
  if (m.replacementModel || m.loadOptions) {
    let spec = v.model;
    if (m.replacementModel) {
      const entries = await env.listModels({ registryFiles: o.registryFiles });
      const entry = entries.find((e) => e.name === v.model);
      if (!entry) {
        throw new ShiftbenchError(
          'ERR_INVALID_OPTION',
          `Mitigation "${m.spec}" needs a registry model with an anti-aliased twin, but "${v.model}" is not a registry model.`,
        );
      }
      spec = m.replacementModel(entry, entries);
    }
    inner = await env.loadDetector(spec, { ...loadOpts, ...m.loadOptions });
  } else {
    inner = borrowed(await getPlain());
  }
  return m.wrap(inner, { mode: o.mode, logger });
}

/** Feeds the stored records (in dataset order) to a fresh evaluator and writes the per-shift COCO files. */
async function summarize(
  v: Variant,
  entry: ManifestDetector,
  dataset: Dataset,
  records: Map<number, ImageRecord>,
  o: ResolvedRunOptions,
  env: RunnerEnv,
  runDir: string,
  logger: Logger,
): Promise<DetectorRunSummary> {
  const skippedImages: DetectorRunSummary['skippedImages'] = [];
  const evaluated: { image: DatasetImage; record: Extract<ImageRecord, { shifts: unknown }> }[] = [];
  let inferenceSeconds = 0;
  for (const image of dataset.images) {
    const r = records.get(image.id);
    if (!r) throw new ShiftbenchError('ERR_INTERNAL', `no stored detections for image ${image.id} of ${v.key}`);
    if (isSkipped(r)) skippedImages.push({ imageId: image.id, fileName: image.fileName, reason: r.skipped });
    else {
      evaluated.push({ image, record: r });
      inferenceSeconds += r.seconds;
    }
  }
  const geometryOpts: ShiftedInputOptions = {
    inputSizePx: entry.inputSizePx,
    fit: entry.fit,
    padValue: entry.padValue,
    mode: o.mode,
    shiftSet: o.shiftSet,
    kernel: o.kernel,
  };
  const transformsOf = new Map<number, ReturnType<typeof fitGeometry>['transforms']>();
  for (const { image, record } of evaluated) {
    transformsOf.set(image.id, fitGeometry(record.size[0], record.size[1], geometryOpts).transforms);
  }
  let groundTruth: CocoGroundTruth | null = null;
  const annotationsOf = new Map<number, CocoAnnotation[]>();
  if (dataset.groundTruth) {
    const keep = new Set(evaluated.map((e) => e.image.id));
    groundTruth = {
      images: dataset.groundTruth.images.filter((i) => keep.has(i.id)),
      annotations: dataset.groundTruth.annotations.filter((a) => keep.has(a.image_id)),
      categories: dataset.groundTruth.categories,
    };
    for (const a of groundTruth.annotations) {
      let list = annotationsOf.get(a.image_id);
      if (!list) annotationsOf.set(a.image_id, (list = []));
      list.push(a);
    }
  }
  let groundTruthPerShift: CocoGroundTruth[] | undefined;
  if (groundTruth !== null && o.mode !== 'pad') {
    const gt = groundTruth;
    groundTruthPerShift = o.shiftSet.shifts.map((_, s) => ({
      images: gt.images,
      categories: gt.categories,
      annotations: evaluated.flatMap(({ image }) =>
        groundTruthForShift(annotationsOf.get(image.id) ?? [], transformsOf.get(image.id)![s], o.mode, entry.inputSizePx),
      ),
    }));
  }
  const evaluator: RunEvaluator = env.createEvaluator({
    groundTruth,
    shiftSet: o.shiftSet,
    groundTruthPerShift,
    scoreThreshold: o.scoreThreshold,
    bootstrapResamples: o.bootstrapResamples,
    seed: o.seed,
  });
  const perShift: CocoResult[][] = o.shiftSet.shifts.map(() => []);
  const knownCategories = groundTruth ? new Set(groundTruth.categories.map((c) => c.id)) : null;
  let dropped = 0;
  for (const { image, record } of evaluated) {
    const transforms = transformsOf.get(image.id)!;
    record.shifts.forEach((dets, s) => {
      const coco: CocoResult[] = dets.map((d) => ({ image_id: image.id, category_id: d[5], bbox: [d[0], d[1], d[2], d[3]], score: d[4] }));
      // like COCOeval, detections of categories the ground truth does not have are not evaluated
      const scored = knownCategories ? coco.filter((c) => knownCategories.has(c.category_id)) : coco;
      dropped += coco.length - scored.length;
      evaluator.process({ imageId: image.id, shiftIndex: s, inputScale: { x: transforms[s].scaleX, y: transforms[s].scaleY } }, scored);
      for (const c of coco) perShift[s].push(c);
    });
  }
  if (dropped > 0) logger.warn(`${v.key}: ${dropped} detections of categories the dataset does not have were not evaluated (they stay in detections/)`);
  const { bounds, consistency } = evaluator.evaluate();
  const keyDir = path.join(runDir, DETECTIONS_DIR, safeFileName(v.key));
  for (let s = 0; s < perShift.length; s++) {
    await writeJsonAtomic(path.join(keyDir, `${shiftLabel(o.shiftSet.shifts[s])}.json`), perShift[s], false);
  }
  return {
    key: v.key,
    model: modelKey(v.model),
    mitigation: v.mitigation?.spec ?? null,
    family: entry.family,
    runtime: entry.runtime,
    bounds: dataset.groundTruth ? bounds : null,
    consistency,
    timing: {
      inferenceSeconds,
      imagesPerSecond: inferenceSeconds > 0 ? evaluated.length / inferenceSeconds : 0,
      costRatio: null,
    },
    imagesEvaluated: evaluated.length,
    skippedImages,
  };
}
