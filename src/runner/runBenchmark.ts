/**
 * runBenchmark: the one place that ties datasets, shifts, detectors, mitigations and
 * metrics together, as a sequence of steps: choose the run directory (RunStore), load
 * the dataset, claim the directory (resume the same run, refuse another), run every
 * detector over the images not yet stored (plain first, then each mitigation), score
 * everything from what is stored (score.ts), render the report. A resumed run and an
 * uninterrupted one give identical metrics.
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import sharp from 'sharp';
import { ShiftbenchError } from '../core/errors.js';
import type { Dataset, Detector, DetectorInfo, Logger } from '../core/types.js';
import type { Mitigation } from '../mitigations/types.js';
import { renderReport } from '../report/index.js';
import { VERSION } from '../version.js';
import { runDetectLoop } from './detectLoop.js';
import { defaultEnv } from './env.js';
import { modelKey, resolveRunOptions, runIdentity, shortHash, stableJson, RUN_DEFAULTS, type ResolvedRunOptions, type RunOptions } from './options.js';
import { RunStore, type ManifestDetector, type RunManifest } from './runStore.js';
import { scoreRun, type ScoredVariant } from './score.js';
import type { RunHooks, RunnerEnv, RunnerLoadOptions, RunResult } from './types.js';

export type { ManifestDetector, RunManifest } from './runStore.js';

const SILENT: Logger = { info: () => undefined, warn: () => undefined };

interface Variant {
  key: string;
  model: string;
  mitigation: Mitigation | null;
}

/** Each model's variants: the plain detector first, then one per mitigation. */
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

function newManifest(o: ResolvedRunOptions, dataset: Dataset, identity: Record<string, unknown>, runId: string, stored: RunManifest | null): RunManifest {
  return {
    schemaVersion: 1,
    runId,
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
}

/** A detector whose dispose does nothing: lets a mitigation wrap the shared plain detector. */
function borrowed(d: Detector): Detector {
  return { info: d.info, detect: (batch, contexts) => d.detect(batch, contexts), dispose: async () => undefined };
}

/**
 * Runs the benchmark described by `options` (see RunOptions for defaults) and writes the
 * run directory: manifest.json, detections/, skipped.json, metrics.json, report.html.
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

  // 1. the run directory: writable, before any dataset or model work
  const store = await RunStore.locate({ out: o.out, reportsDir: o.reportsDir, force: o.force }, baseIdentity, shortHash(baseIdentity), logger);

  // 2. the dataset
  const dataset = await env.loadDataset({ dataset: o.dataset, images: o.images ?? undefined, limit: o.limit ?? undefined });
  if (dataset.images.length === 0) throw new ShiftbenchError('ERR_DATASET', `Dataset ${dataset.source} has no images.`);

  // 3. the manifest: resume the same run, refuse a different one
  const identity = { ...baseIdentity, datasetHash: dataset.hash };
  const stored = await store.claim(identity, logger);
  const manifest = newManifest(o, dataset, identity, store.runId(stored), stored);
  await store.writeManifest(manifest);
  logger.info(`run directory: ${store.dir}`);

  // 4. detections: every model, plain first, then its mitigations — only images not stored yet
  const plan = planVariants(o, mitigations);
  const session: DetectSession = {
    o,
    env,
    hooks,
    logger,
    store,
    manifest,
    dataset,
    loadOpts: {
      backend: o.backend,
      threads: o.threads ?? undefined,
      weightsDir: o.weightsDir ?? undefined,
      seed: o.seed,
      groundTruth: dataset.groundTruth,
      logger,
      plugins: o.plugins,
      registryFiles: o.registryFiles,
      detectTimeoutMs: o.detectTimeoutMs ?? undefined,
    },
    detectorCount: plan.reduce((n, vs) => n + vs.length, 0),
    detectorIndex: 0,
    wallSeconds: {},
    phases: {},
    computedImages: {},
  };
  const variants: ScoredVariant[] = [];
  for (const modelVariants of plan) variants.push(...(await detectModel(modelVariants, session)));

  // 5. scoring, from the stored records only; metrics.json is written last
  const metrics = await scoreRun({
    store,
    runId: manifest.runId,
    dataset,
    shiftSet: o.shiftSet,
    mode: o.mode,
    kernel: o.kernel,
    scoreThreshold: o.scoreThreshold,
    bootstrapResamples: o.bootstrapResamples,
    seed: o.seed,
    variants,
    createEvaluator: env.createEvaluator,
    logger,
    onScored: (key, seconds) => {
      session.phases[key].evaluateSeconds = seconds;
      session.wallSeconds[key] += seconds;
    },
  });

  // 6. the report (the metrics are stored; a report problem must not lose them)
  let reportPath: string | null = null;
  try {
    reportPath = (await renderReport(store.dir, { logger })).htmlPath;
  } catch (err) {
    logger.warn(`could not render the report (${(err as Error).message}); metrics.json is complete — retry with \`shiftbench report ${store.dir}\``);
  }
  const { wallSeconds, phases, computedImages } = session;
  return { runDir: store.dir, metrics, wallSeconds, phases, computedImages, reportPath };
}

/** What the detection step of one run shares between models, and the timings it collects. */
interface DetectSession {
  o: ResolvedRunOptions;
  env: RunnerEnv;
  hooks: RunHooks;
  logger: Logger;
  store: RunStore;
  manifest: RunManifest;
  dataset: Dataset;
  loadOpts: RunnerLoadOptions;
  detectorCount: number;
  detectorIndex: number;
  wallSeconds: RunResult['wallSeconds'];
  phases: RunResult['phases'];
  computedImages: RunResult['computedImages'];
}

/**
 * Runs one model's variants (plain first, sharing one loaded plain detector) over the
 * images each has not stored yet; returns each variant's manifest entry and records.
 */
async function detectModel(variants: Variant[], ss: DetectSession): Promise<ScoredVariant[]> {
  let plain: Detector | null = null;
  const getPlain = async (): Promise<Detector> => (plain ??= await ss.env.loadDetector(variants[0].model, ss.loadOpts));
  const out: ScoredVariant[] = [];
  try {
    for (const v of variants) {
      const started = performance.now();
      out.push(await detectVariant(v, ss, getPlain, () => plain));
      ss.wallSeconds[v.key] = (performance.now() - started) / 1000;
      ss.detectorIndex++;
    }
  } finally {
    if (plain) await (plain as Detector).dispose();
  }
  return out;
}

/** One variant: loads it only when something is missing, records it in the manifest, runs the detect loop. */
async function detectVariant(v: Variant, ss: DetectSession, getPlain: () => Promise<Detector>, plainNow: () => Detector | null): Promise<ScoredVariant> {
  const { o, dataset, logger, manifest, store } = ss;
  const phase = { loadSeconds: 0, loopSeconds: 0, evaluateSeconds: 0 };
  ss.phases[v.key] = phase;
  ss.computedImages[v.key] = 0;
  const { log, stored: records } = await store.openLog(v.key, o.shiftSet.shifts.length);
  let owned: Detector | null = null; // a detector to dispose after this variant
  let entry = manifest.detectors.find((d) => d.key === v.key) ?? null;
  const todo = dataset.images.filter((img) => !records.has(img.id));
  try {
    if (todo.length === 0 && entry !== null) {
      logger.info(`${v.key}: all ${records.size} images already stored`);
      return { entry, records };
    }
    const loadStart = performance.now();
    const detector = await loadVariant(v, ss.env, ss.loadOpts, getPlain, o, logger);
    phase.loadSeconds = (performance.now() - loadStart) / 1000;
    if (detector !== plainNow()) owned = detector;
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
      await store.writeManifest(manifest);
    }
    entry = fresh;
    if (todo.length > 0) {
      logger.info(`${v.key}: ${todo.length} image${todo.length === 1 ? '' : 's'} to run${records.size > 0 ? ` (${records.size} stored)` : ''}`);
      const loopStart = performance.now();
      let computed = 0;
      await runDetectLoop({
        detector,
        images: todo,
        shiftSet: o.shiftSet,
        mode: o.mode,
        kernel: o.kernel,
        batchSize,
        decode: ss.env.decodeImage,
        log,
        signal: ss.hooks.signal,
        onRecord: (record) => {
          records.set(record.imageId, record);
          computed++;
          const onProgress = ss.hooks.onProgress;
          if (!onProgress) return;
          const elapsed = (performance.now() - loopStart) / 1000;
          const rate = elapsed > 0 ? computed / elapsed : 0;
          const left = dataset.images.length - records.size;
          onProgress({
            done: records.size,
            total: dataset.images.length,
            imagesPerSecond: rate,
            etaSeconds: rate > 0 ? left / rate : null,
            detector: v.key,
            detectorIndex: ss.detectorIndex,
            detectorCount: ss.detectorCount,
          });
        },
      });
      phase.loopSeconds = (performance.now() - loopStart) / 1000;
      ss.computedImages[v.key] = computed;
    }
    return { entry, records };
  } finally {
    await log.close();
    if (owned) await owned.dispose();
  }
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
