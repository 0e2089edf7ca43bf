/**
 * Run options: the typed input of `runBenchmark`, their defaults in one table, and
 * the validation every entry point (CLI, config file, library) goes through.
 */
import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { invalidParameterError, refuseUnknownFields } from '../core/errors.js';
import { OPTION_FLAGS as FLAG } from '../core/messages.js';
import { is } from '../core/is.js';
import type { ExecutionProvider, ShiftMode, ShiftSet } from '../core/types.js';
import { DEFAULT_EXECUTION_PROVIDER, EXECUTION_PROVIDERS } from '../detectors/executionProviders.js';
import { MAX_DETECT_TIMEOUT_MS } from '../detectors/plugins.js';
import { registryReadError } from '../detectors/registry.js';
import { MIN_INTERVAL_RESAMPLES, type BoundsObjective } from '../metrics/index.js';
import {
  DEFAULT_RESAMPLE_KERNEL,
  DEFAULT_SUBPIXEL_KERNEL,
  RESAMPLE_KERNELS,
  SHIFT_MODES,
  SUBPIXEL_KERNELS,
  isFractionalSet,
  parseShiftSet,
  type ResampleKernel,
  type SubpixelKernel,
} from '../shifts/index.js';
import { parseShard, type ShardSpec } from './shard.js';

export interface RunOptions {
  /** Model specs: registry names, model files/folders, or plug-in detector names. At least one. */
  models: string[];
  /** Mitigation specs (e.g. "input-blur:1"); each model also always runs plain, as the baseline. */
  mitigations?: string[];
  /** Dataset: a COCO annotation JSON, a YOLO/COCO folder or an image folder. */
  dataset: string;
  /** Image folder, when it is not next to the annotations. */
  images?: string;
  /** Class names file of a YOLO folder (txt, *.names or YAML with names:), when its own are missing or disagree. */
  classes?: string;
  /** Shift set spec (default grid:1). */
  shifts?: string;
  /** How shifted inputs are made (default pad). */
  mode?: ShiftMode;
  /** Score threshold τ of the consistency metrics, 0–1 (default 0.5). */
  scoreThreshold?: number;
  /** Use only the first N images (by id). */
  limit?: number;
  /** Run directory (default reports/<run-id>, reusing an unfinished run of the same options). */
  out?: string;
  /** Replace a run directory that holds a different run instead of failing. */
  force?: boolean;
  /** Seed of what makes detections, e.g. the fakes and plug-ins (default 0). */
  seed?: number;
  /** Seed of the bootstrap intervals (default 0); analysis only, changing it re-runs no model. */
  bootstrapSeed?: number;
  /** Bootstrap resamples of the mAP bounds (`--bootstrap-bounds`; default: the metrics module's). */
  bootstrapBounds?: number;
  /** Objectives of the bounds (`--objective ap|ap50|ap75`, several allowed; default ap); analysis only. */
  objectives?: string[];
  /** Runtime backend for TF.js models (default auto). */
  backend?: string;
  /** ONNX Runtime execution provider for ONNX models (`--ep`; default cpu); one that cannot start is an error. */
  executionProvider?: string;
  /** Threads for the runtime (default: the runtime's choice). */
  threads?: number;
  /**
   * Folder of local model weights (`--weights`), used instead of the registry source of
   * the registry models run (coco-ssd: model.json + shards; others: the entry's files, hashes checked).
   */
  weightsDir?: string;
  /** Plug-in modules to load. */
  plugins?: string[];
  /** Extra model registry JSON files. */
  registryFiles?: string[];
  /** Per-call detect timeout for plug-in detectors, ms (default: the detectors module's). */
  detectTimeoutMs?: number;
  /** Inputs per detect call (default: the detector's maxBatch, at most 32). */
  batchSize?: number;
  /** Detections kept per input, the highest-scoring (default 1000; COCO AP uses the top 100 per image and category). */
  maxDetections?: number;
  /**
   * Worker threads that decode images and make their shifted inputs ahead of the detector
   * (default: cores − 2, at most 4, none below 4 cores; 0 prepares on the main thread).
   * The inputs, and so the detections, are the same either way.
   */
  prepareWorkers?: number;
  /** Bootstrap resamples of the consistency intervals (default 1000). */
  bootstrapResamples?: number;
  /** Resampling kernel used once per image (default linear). */
  kernel?: ResampleKernel;
  /** Kernel of fractional pad/crop shifts (default lanczos3; protocol §1 "Fractional shifts"). */
  subpixelKernel?: SubpixelKernel;
  /** Where default run directories go (default "reports"). */
  reportsDir?: string;
  /** Run only shard `i/n` of the images (`--shard`, see shard.ts); `runShard` needs it, `runBenchmark` refuses it. */
  shard?: string | ShardSpec;
  /** Served detectors (KServe v2, plain HTTP): requests in flight at once (`--http-concurrency`, default 2). */
  httpConcurrency?: number;
  /** Served detectors: timeout of one request attempt, ms (`--http-timeout`, default 60000). */
  httpTimeoutMs?: number;
  /** Served detectors: retries on 5xx, 408, 429, timeouts and connection errors (`--http-retries`, default 3). */
  httpRetries?: number;
}

/** The values of `--backend` (TF.js backends; `auto` picks a native one when installed, else wasm). */
export const BACKENDS: readonly string[] = ['auto', 'tfjs-node-gpu', 'tfjs-node', 'wasm', 'cpu'];

/** The defaults of RunOptions, in one place. */
export const RUN_DEFAULTS = {
  mitigations: [] as string[],
  shifts: 'grid:1',
  mode: 'pad' as ShiftMode,
  scoreThreshold: 0.5,
  seed: 0,
  backend: 'auto',
  executionProvider: DEFAULT_EXECUTION_PROVIDER,
  plugins: [] as string[],
  registryFiles: [] as string[],
  bootstrapResamples: 1000,
  bootstrapSeed: 0,
  kernel: DEFAULT_RESAMPLE_KERNEL,
  subpixelKernel: DEFAULT_SUBPIXEL_KERNEL,
  reportsDir: 'reports',
  maxDefaultBatch: 32,
  maxDetections: 1000,
  httpConcurrency: 2,
  httpTimeoutMs: 60_000,
  httpRetries: 3,
};

/** RunOptions with defaults applied and paths made absolute. */
export interface ResolvedRunOptions {
  models: string[];
  mitigations: string[];
  dataset: string;
  images: string | null;
  classes: string | null;
  shiftSet: ShiftSet;
  mode: ShiftMode;
  scoreThreshold: number;
  limit: number | null;
  out: string | null;
  force: boolean;
  seed: number;
  backend: string;
  executionProvider: ExecutionProvider;
  threads: number | null;
  weightsDir: string | null;
  plugins: string[];
  registryFiles: string[];
  detectTimeoutMs: number | null;
  batchSize: number | null;
  maxDetections: number;
  /** Prepare worker threads; null: the runner's default. */
  prepareWorkers: number | null;
  bootstrapResamples: number;
  bootstrapSeed: number;
  bootstrapBounds: number | null;
  objectives: BoundsObjective[];
  kernel: ResampleKernel;
  /** Kernel of fractional pad/crop shifts; it only matters when the shift set holds fractions. */
  subpixelKernel: SubpixelKernel;
  reportsDir: string;
  /** The shard of the images this process runs; null: all of them. */
  shard: ShardSpec | null;
  /** How served detectors talk HTTP (they do not change detections, so they are not part of the run identity). */
  http: { concurrency: number; timeoutMs: number; retries: number };
}

const OBJECTIVES: readonly BoundsObjective[] = ['ap', 'ap50', 'ap75'];

/** `--objective` values (each may be a comma list): ap is always included, first; each once. */
export function parseObjectives(value: unknown): BoundsObjective[] {
  const items = stringList(value, FLAG.objectives, 0).flatMap((v) => v.split(',').map((x) => x.trim()));
  for (const v of items)
    if (!OBJECTIVES.includes(v as BoundsObjective)) throw invalidParameterError(FLAG.objectives, 'ap, ap50 or ap75', v);
  return OBJECTIVES.filter((o) => o === 'ap' || items.includes(o));
}

function stringList(value: unknown, name: string, min: number): string[] {
  if (value === undefined) value = [];
  if (!Array.isArray(value) || !value.every(is.string))
    throw invalidParameterError(name, 'a list of non-empty strings', value);
  if (value.length < min) throw invalidParameterError(name, `at least ${min} value${min > 1 ? 's' : ''}`, value);
  return value as string[];
}

/**
 * The fewest bootstrap resamples a 95 % interval (and a significance verdict or a check read from it) is made of:
 * `--bootstrap` at least this, `--bootstrap-bounds` 0 (none) or at least this (metrics/uncertainty.ts).
 */
export { MIN_INTERVAL_RESAMPLES };

/**
 * A registry file, refused at once when it does not exist (ERR_INVALID_OPTION): a run whose models are all fakes or
 * plug-ins never reads the registries, and would ignore a mistyped --registry.
 */
function existingRegistry(file: string): string {
  try {
    statSync(file);
  } catch (err) {
    throw registryReadError(file, err);
  }
  return file;
}

function optionalInt(value: unknown, name: string, min: number, max = Number.MAX_SAFE_INTEGER): number | null {
  if (value === undefined || value === null) return null;
  if (!is.integer(value) || !is.inRange(value as number, min, max))
    throw invalidParameterError(name, `an integer from ${min} to ${max}`, value);
  return value as number;
}

/**
 * A model spec that names an existing file or folder is a path (made absolute, so the run
 * identity does not depend on the current folder); anything else (registry names,
 * `plugin/detector`, fakes) stays as given.
 */
function resolveModelSpec(spec: string, cwd: string): string {
  const abs = path.resolve(cwd, spec);
  const pathLike = spec.includes('/') || spec.includes('\\') || /\.(onnx|json)$/i.test(spec);
  return pathLike && existsSync(abs) ? abs : spec;
}

/**
 * Display key of a model spec: the registry name, or a file's base name (its folder's for `model.json`/`model.onnx`).
 */
export function modelKey(spec: string): string {
  if (!path.isAbsolute(spec)) return spec;
  let base = path.basename(spec).replace(/\.(onnx|json|mjs|js)$/i, '');
  if (base === 'model' || base === 'model.json') base = path.basename(path.dirname(spec));
  return base;
}

/**
 * Each model's plain detector key in a run of `models`, in order: its modelKey, then `#n` for the n-th model of one key
 * (two files named alike). A mitigated variant's key is the plain key, `+` and the mitigation spec.
 */
export function plainKeysOf(models: readonly string[]): string[] {
  const used = new Map<string, number>();
  return models.map((model) => {
    const base = modelKey(model);
    const n = (used.get(base) ?? 0) + 1;
    used.set(base, n);
    return n > 1 ? `${base}#${n}` : base;
  });
}

/** Every field of RunOptions (the compiler checks the list is complete and has no other). */
export const RUN_OPTION_FIELDS: Record<keyof RunOptions, true> = {
  models: true,
  mitigations: true,
  dataset: true,
  images: true,
  classes: true,
  shifts: true,
  mode: true,
  scoreThreshold: true,
  limit: true,
  out: true,
  force: true,
  seed: true,
  bootstrapSeed: true,
  bootstrapBounds: true,
  objectives: true,
  backend: true,
  executionProvider: true,
  threads: true,
  weightsDir: true,
  plugins: true,
  registryFiles: true,
  detectTimeoutMs: true,
  batchSize: true,
  maxDetections: true,
  prepareWorkers: true,
  bootstrapResamples: true,
  kernel: true,
  subpixelKernel: true,
  reportsDir: true,
  shard: true,
  httpConcurrency: true,
  httpTimeoutMs: true,
  httpRetries: true,
};

/**
 * Validates RunOptions and applies RUN_DEFAULTS. Paths (dataset, images, out, plugins,
 * registry files, model specs naming an existing file) become absolute against `cwd`.
 * Throws ERR_INVALID_OPTION naming the option (by its CLI flag) and the expected value, and a
 * field RunOptions does not have.
 */
export function resolveRunOptions(options: RunOptions, cwd = process.cwd()): ResolvedRunOptions {
  if (!is.object(options)) throw invalidParameterError('options', 'an object of run options', options);
  // a library caller's misspelt field (scoreThreshhold) would otherwise be ignored for its default
  refuseUnknownFields(options, RUN_OPTION_FIELDS, 'run options');
  const abs = (p: string) => path.resolve(cwd, p);
  const models = stringList(options.models, FLAG.models, 1).map((m) => resolveModelSpec(m, cwd));
  const mitigations = stringList(options.mitigations, FLAG.mitigations, 0);
  if (!is.string(options.dataset))
    throw invalidParameterError(FLAG.dataset, 'a dataset folder or annotation file', options.dataset);
  if (options.images !== undefined && !is.string(options.images))
    throw invalidParameterError(FLAG.images, 'an image folder', options.images);
  if (options.classes !== undefined && !is.string(options.classes))
    throw invalidParameterError(FLAG.classes, 'a class names file', options.classes);
  const shiftSet = parseShiftSet(options.shifts ?? RUN_DEFAULTS.shifts);
  const mode = options.mode ?? RUN_DEFAULTS.mode;
  if (!SHIFT_MODES.includes(mode)) throw invalidParameterError(FLAG.mode, 'one of pad, crop, circular', mode);
  const scoreThreshold = options.scoreThreshold ?? RUN_DEFAULTS.scoreThreshold;
  if (!is.number(scoreThreshold) || !is.inRange(scoreThreshold, 0, 1))
    throw invalidParameterError(FLAG.scoreThreshold, 'a number from 0 to 1', scoreThreshold);
  const seed = options.seed ?? RUN_DEFAULTS.seed;
  if (!is.integer(seed) || !is.inRange(seed, 0, 2 ** 32 - 1))
    throw invalidParameterError(FLAG.seed, 'an integer from 0 to 4294967295', seed);
  const backend = options.backend ?? RUN_DEFAULTS.backend;
  if (!is.inArray(backend, BACKENDS))
    throw invalidParameterError(
      FLAG.backend,
      `one of ${BACKENDS.join(', ')} (TF.js backends; ONNX models take --ep)`,
      backend,
    );
  const executionProvider = options.executionProvider ?? RUN_DEFAULTS.executionProvider;
  if (!is.inArray(executionProvider, EXECUTION_PROVIDERS)) {
    throw invalidParameterError(
      FLAG.executionProvider,
      `one of ${EXECUTION_PROVIDERS.join(', ')} (ONNX Runtime execution providers)`,
      executionProvider,
    );
  }
  if (options.out !== undefined && !is.string(options.out))
    throw invalidParameterError(FLAG.out, 'a directory path', options.out);
  // a library caller's force: 'yes' would otherwise read as false, and reportsDir: '' as the current folder
  if (options.force !== undefined && !is.bool(options.force))
    throw invalidParameterError(FLAG.force, 'true or false', options.force);
  if (options.reportsDir !== undefined && !is.string(options.reportsDir))
    throw invalidParameterError('reportsDir', 'a folder path', options.reportsDir);
  if (options.weightsDir !== undefined && !is.string(options.weightsDir))
    throw invalidParameterError(FLAG.weightsDir, 'a folder of model weights', options.weightsDir);
  const kernel = options.kernel ?? RUN_DEFAULTS.kernel;
  if (!RESAMPLE_KERNELS.includes(kernel))
    throw invalidParameterError(FLAG.kernel, `one of ${RESAMPLE_KERNELS.join(', ')}`, kernel);
  const subpixelKernel = options.subpixelKernel ?? RUN_DEFAULTS.subpixelKernel;
  if (!SUBPIXEL_KERNELS.includes(subpixelKernel)) {
    throw invalidParameterError(FLAG.subpixelKernel, `one of ${SUBPIXEL_KERNELS.join(', ')}`, subpixelKernel);
  }
  // the consistency metrics' 95 % intervals: from fewer resamples they would not be worth the name
  const bootstrapResamples =
    optionalInt(options.bootstrapResamples, FLAG.bootstrapResamples, MIN_INTERVAL_RESAMPLES, 1_000_000) ??
    RUN_DEFAULTS.bootstrapResamples;
  const bootstrapSeed =
    optionalInt(options.bootstrapSeed, FLAG.bootstrapSeed, 0, 2 ** 32 - 1) ?? RUN_DEFAULTS.bootstrapSeed;
  const bootstrapBounds = optionalInt(options.bootstrapBounds, FLAG.bootstrapBounds, 0, 1_000_000);
  if (bootstrapBounds !== null && bootstrapBounds > 0 && bootstrapBounds < MIN_INTERVAL_RESAMPLES) {
    throw invalidParameterError(
      FLAG.bootstrapBounds,
      `0 (no interval) or at least ${MIN_INTERVAL_RESAMPLES} (a 95 % interval, and the verdicts read from it, from ` +
        `fewer resamples are not worth the name)`,
      bootstrapBounds,
    );
  }
  const objectives = parseObjectives(options.objectives);
  const keys = new Set<string>();
  for (const m of mitigations) {
    if (keys.has(m)) throw invalidParameterError(FLAG.mitigations, 'each mitigation once', m);
    keys.add(m);
  }
  return {
    models,
    mitigations,
    dataset: abs(options.dataset),
    images: options.images ? abs(options.images) : null,
    classes: options.classes ? abs(options.classes) : null,
    shiftSet,
    mode,
    scoreThreshold,
    limit: optionalInt(options.limit, FLAG.limit, 1),
    out: options.out ? abs(options.out) : null,
    force: options.force === true,
    seed,
    backend,
    executionProvider: executionProvider as ExecutionProvider,
    threads: optionalInt(options.threads, FLAG.threads, 1, 1024),
    weightsDir: options.weightsDir ? abs(options.weightsDir) : null,
    plugins: stringList(options.plugins, FLAG.plugins, 0).map(abs),
    registryFiles: stringList(options.registryFiles, FLAG.registryFiles, 0).map(abs).map(existingRegistry),
    detectTimeoutMs: optionalInt(options.detectTimeoutMs, FLAG.detectTimeoutMs, 1, MAX_DETECT_TIMEOUT_MS),
    batchSize: optionalInt(options.batchSize, FLAG.batchSize, 1, 4096),
    maxDetections: optionalInt(options.maxDetections, FLAG.maxDetections, 1, 1_000_000) ?? RUN_DEFAULTS.maxDetections,
    prepareWorkers: optionalInt(options.prepareWorkers, FLAG.prepareWorkers, 0, 64),
    bootstrapResamples,
    bootstrapSeed,
    bootstrapBounds,
    objectives,
    kernel,
    subpixelKernel,
    reportsDir: abs(options.reportsDir ?? RUN_DEFAULTS.reportsDir),
    shard: options.shard === undefined || options.shard === null ? null : parseShard(options.shard),
    http: {
      concurrency: optionalInt(options.httpConcurrency, FLAG.httpConcurrency, 1, 256) ?? RUN_DEFAULTS.httpConcurrency,
      timeoutMs: optionalInt(options.httpTimeoutMs, FLAG.httpTimeoutMs, 1, 86_400_000) ?? RUN_DEFAULTS.httpTimeoutMs,
      retries: optionalInt(options.httpRetries, FLAG.httpRetries, 0, 100) ?? RUN_DEFAULTS.httpRetries,
    },
  };
}

/**
 * The options that say what is run (not analysis-only settings such as the score
 * threshold, bootstrap or limit): their hash names a default run directory
 * (reports/<time>-<hash>), so the same command finds its unfinished run. Whether stored
 * detections may be reused is decided by the run identity (identity.ts), not by this.
 */
export function runOptionsKey(o: ResolvedRunOptions): Record<string, unknown> {
  return {
    models: o.models,
    mitigations: o.mitigations,
    dataset: o.dataset,
    images: o.images,
    // named only when given: runs without it keep the directory names they had
    ...(o.classes !== null ? { classes: o.classes } : {}),
    shifts: o.shiftSet.shifts.map((s) => `${s.dx},${s.dy}`).join(';'),
    mode: o.mode,
    seed: o.seed,
    backend: o.backend,
    // only a provider other than the default is named: cpu runs keep the directory names they had
    ...(o.executionProvider !== DEFAULT_EXECUTION_PROVIDER ? { executionProvider: o.executionProvider } : {}),
    plugins: o.plugins,
    registryFiles: o.registryFiles,
    kernel: o.kernel,
    // only sets holding fractions use it: integer sets keep the directory names they had
    ...(isFractionalSet(o.shiftSet) ? { subpixelKernel: o.subpixelKernel } : {}),
    ...(o.weightsDir !== null ? { weightsDir: o.weightsDir } : {}),
    // each shard has its own default run directory
    ...(o.shard !== null ? { shard: `${o.shard.index}/${o.shard.count}` } : {}),
  };
}

/** Stable JSON (sorted keys) for hashing. */
export function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (is.object(value)) {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson(value[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

/** First 8 hex digits of sha256 over the stable JSON of `value`. */
export function shortHash(value: unknown): string {
  return createHash('sha256').update(stableJson(value)).digest('hex').slice(0, 8);
}

/** A run id: UTC timestamp + short hash of the identity, e.g. "20250101-120000-1a2b3c4d". */
export function makeRunId(identity: Record<string, unknown>, now = new Date()): string {
  const iso = now.toISOString(); // 2025-01-01T12:00:00.000Z
  const stamp =
    `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}-${iso.slice(11, 13)}${iso.slice(14, 16)}` +
    `${iso.slice(17, 19)}`;
  return `${stamp}-${shortHash(identity)}`;
}

/** Every run option a CLI user can set has its flag in core/messages.ts (a type error here otherwise). */
export const RUN_OPTION_FLAGS: Readonly<Record<Exclude<keyof RunOptions, 'reportsDir'>, string>> = FLAG;
