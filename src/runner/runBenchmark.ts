/**
 * runBenchmark: the one place that ties datasets, shifts, detectors, mitigations and
 * metrics together, as a sequence of steps: choose the run directory (RunStore), load
 * the dataset, claim the directory (resume the same run, refuse another), run every
 * detector over the images not yet stored (plain first, then each mitigation), score
 * everything from what is stored (score.ts), render the report. A resumed run and an
 * uninterrupted one give identical metrics.
 */
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { is } from '../core/is.js';
import { countOf } from '../core/units.js';
import { classNameMismatches } from '../core/categoryNames.js';
import { ShiftbenchError, invalidParameterError, refuseUnknownFields } from '../core/errors.js';
import type { Dataset, DatasetImage, Detector, DetectorInfo, Logger } from '../core/types.js';
import { cannotRewrite } from '../mitigations/index.js';
import type { Mitigation } from '../mitigations/types.js';
import { VERSION } from '../version.js';
import { decodeDatasetImage } from '../datasets/decode.js';
import { findPluginDetector, loadPlugins } from '../detectors/index.js';
import { runDetectLoop } from './detectLoop.js';
import { withDefaultEnv } from './env.js';
import { DEFAULT_PREPARE_WORKERS, PREPARE_WORKERS_MIN_IMAGES, openPreparePool, type PreparePool } from './prepare.js';
import {
  identityDiff,
  imageHashes,
  imageIdentityFor,
  imageLibrary,
  runLevelIdentity,
  type RunIdentity,
} from './identity.js';
import {
  plainKeysOf,
  resolveRunOptions,
  runOptionsKey,
  shortHash,
  stableJson,
  RUN_DEFAULTS,
  type ResolvedRunOptions,
  type RunOptions,
} from './options.js';
import { isFractionalSet } from '../shifts/index.js';
import { RunStore, manifestDataset, type ManifestDetector, type OpenedLog, type RunManifest } from './runStore.js';
import { METRICS_FILE, exists, isSkipped } from './store.js';
import {
  analysisSettingsOf,
  groupSkips,
  refuseUnscorable,
  renderReportAfterScoring,
  renderReportsAgain,
  scoreRun,
  type ScoredVariant,
} from './score.js';
import { SHARD_RULE, formatShard, shardDataset, type ShardSpec } from './shard.js';
import { readOtherDetectors } from './storedVariant.js';
import type { RunHooks, RunnerEnv, RunnerLoadOptions, RunResult, ShardResult } from './types.js';
import { SILENT_LOGGER } from '../core/logger.js';
import { markReleasesInputs } from '../core/releasesInputs.js';

export type { ManifestDetector, RunManifest } from './runStore.js';

interface Variant {
  key: string;
  model: string;
  mitigation: Mitigation | null;
}

/**
 * Two --mitigation values written differently that parse to one mitigation (`input-blur:1`, `input-blur:1.0`) would
 * give two detectors one key: ERR_INVALID_OPTION naming both, before the run directory is made.
 */
function refuseSameMitigation(given: readonly string[], parsed: readonly Mitigation[]): void {
  const first = new Map<string, string>();
  parsed.forEach((m, i) => {
    const earlier = first.get(m.spec);
    if (earlier !== undefined)
      throw new ShiftbenchError(
        'ERR_INVALID_OPTION',
        `--mitigation "${earlier}" and "${given[i]}" are the same mitigation (${m.spec}): give it once.`,
      );
    first.set(m.spec, given[i]);
  });
}

/**
 * The --plugin flags a stored plug-in detector needs beside its --model (a plug-in's model is unknown without its
 * file): the plug-in files of the command that stored it, those this command does not give already; '' for others.
 */
function pluginFlagsFor(key: string, stored: RunManifest | null, o: ResolvedRunOptions): string {
  const id = stored?.identity.detectors[key];
  if (!is.object(id) || id.kind !== 'plugin') return '';
  const saved = (stored!.options as { plugins?: unknown }).plugins;
  const files = (Array.isArray(saved) ? saved.filter(is.string) : []).filter((f) => !o.plugins.includes(f));
  if (files.length > 0) return files.map((f) => ` --plugin ${f}`).join('');
  return o.plugins.length > 0 ? '' : ` --plugin <the file of plug-in "${String(id.plugin)}">`;
}

/** Each model's variants: the plain detector first, then one per mitigation. */
function planVariants(o: ResolvedRunOptions, mitigations: Mitigation[]): Variant[][] {
  const bases = plainKeysOf(o.models);
  return o.models.map((model, i) => [
    { key: bases[i], model, mitigation: null },
    ...mitigations.map((m) => ({ key: `${bases[i]}+${m.spec}`, model, mitigation: m })),
  ]);
}

function manifestDetector(
  v: Variant,
  info: DetectorInfo,
  batchSize: number,
  described: Record<string, unknown> | undefined,
): ManifestDetector {
  const decoder = (info.details?.decoder ?? described?.decoder ?? null) as ManifestDetector['decoder'];
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
    colorOrder: (described?.colorOrder as ManifestDetector['colorOrder']) ?? null,
    normalize: (described?.normalize as ManifestDetector['normalize']) ?? null,
    decoder: decoder ? { name: decoder.name, params: { ...(decoder.params ?? {}) } } : null,
    details: (info.details as Record<string, unknown> | undefined) ?? null,
    classes: info.classes.map((c) => ({ id: c.id, name: c.name })),
  };
}

/** How the inputs are resampled, as the manifest records it (an export records the same). */
export function resampleRecord(o: ResolvedRunOptions): RunManifest['resample'] {
  return {
    kernel: o.kernel,
    library: imageLibrary(),
    fitPlacement: 'top-left',
    pixelCentres: 'aligned',
    // sets holding fractions: 16-bit fit kept in floating point, ideal Fourier shift (circular) or this kernel (pad,
    // crop)
    ...(isFractionalSet(o.shiftSet)
      ? {
          subpixel: {
            path: 'floating-point',
            fit: '16-bit',
            circular: 'fourier',
            padCrop: o.subpixelKernel,
            rounding: 'half-to-even',
          },
        }
      : {}),
  };
}

/** The manifest of this invocation; detectors (and their identities) stored earlier are kept, and scored with it. */
export function newManifest(
  o: ResolvedRunOptions,
  dataset: Dataset,
  runId: string,
  stored: RunManifest | null,
  identity: RunIdentity,
): RunManifest {
  const storedDetectors = (stored?.identity as Partial<RunIdentity> | undefined)?.detectors ?? {};
  const kept = stored?.detectors ?? [];
  return {
    schemaVersion: 1,
    runId,
    createdAt: stored?.createdAt ?? new Date().toISOString(),
    toolVersion: VERSION,
    nodeVersion: process.version,
    platform: `${process.platform} ${process.arch}`,
    cpus: os.cpus().length,
    backend: o.backend,
    executionProvider: o.executionProvider,
    threads: o.threads,
    seed: o.seed,
    resample: resampleRecord(o),
    dataset: manifestDataset(dataset),
    shiftSet: { spec: o.shiftSet.spec, shifts: o.shiftSet.shifts, maxOffsetPx: o.shiftSet.maxOffsetPx },
    mode: o.mode,
    scoreThreshold: o.scoreThreshold,
    // a detector's identity is recorded with its manifest entry, once it has loaded
    identity: {
      run: identity.run,
      detectors: Object.fromEntries(
        kept.filter((d) => storedDetectors[d.key]).map((d) => [d.key, storedDetectors[d.key]]),
      ),
    },
    options: { ...o, shiftSet: o.shiftSet.spec },
    detectors: kept,
  };
}

/** A detector whose dispose does nothing: lets a mitigation wrap the shared plain detector. */
function borrowed(d: Detector): Detector {
  return markReleasesInputs(
    {
      info: d.info,
      detect: (batch, contexts) => d.detect(batch, contexts),
      dispose: async () => undefined,
    },
    d.releasesInputs === true,
  );
}

/**
 * Runs the benchmark described by `options` (see RunOptions for defaults) and writes the
 * run directory: manifest.json, detections/, skipped.json, metrics.json, report.html.
 * Reuses every stored detection made the same way (identity.ts), computing only what is
 * missing; analysis-only settings never re-run a model.
 * Throws ERR_INVALID_OPTION (bad options), ERR_OUTPUT (unwritable or foreign --out,
 * before any model work), ERR_RUN_LOCKED (another live process writes the directory),
 * ERR_RUN_STORE (stored detections were made differently; use --force or a new --out),
 * ERR_DATASET / ERR_MODEL_* / ERR_PLUGIN from the modules, and an AbortError when
 * `hooks.signal` stops it.
 */
export async function runBenchmark(options: RunOptions, hooks: RunHooks = {}): Promise<RunResult> {
  const o = resolveRunOptions(options);
  if (o.shard !== null)
    throw invalidParameterError('--shard', 'no shard for runBenchmark (runShard runs one shard)', options.shard);
  return withRunDirectory(o, hooks, runLocked);
}

/**
 * Runs shard `options.shard` (`i/n`, shard.ts) of the run `options` describes: the same
 * steps as runBenchmark up to the stored detections, for the shard's images only, in its own
 * run directory (manifest.shard records the split); no metrics — `mergeShards` scores the
 * joined shards once. Resumable like a run. Throws what runBenchmark throws, ERR_INVALID_OPTION
 * without a shard and ERR_RUN_STORE when the directory holds another shard.
 */
export async function runShard(options: RunOptions, hooks: RunHooks = {}): Promise<ShardResult> {
  const o = resolveRunOptions(options);
  if (o.shard === null) throw invalidParameterError('--shard', 'INDEX/COUNT for runShard', options.shard);
  return withRunDirectory(o, hooks, async (...args) => {
    const { manifest, dataset, variants, session } = await detectStep(...args);
    // a shard none of whose images a model could run has no result: an error (its job fails), as a run's is
    const skips = groupSkips(variants, dataset, args[5]);
    await refuseUnscorable({ store: args[3], dataset, scope: ` of shard ${formatShard(manifest.shard!)}` }, skips);
    const { wallSeconds, phases, computedImages } = session;
    return {
      runDir: args[3].dir,
      shard: manifest.shard!,
      images: dataset.images.length,
      wallSeconds,
      phases,
      computedImages,
    };
  });
}

/**
 * A plug-in detector given by its bare name (`tiny`) is named as the reports name it (`my-plugin/tiny`), so that
 * either spelling is the same detector: one key, one detection log, nothing computed twice.
 */
async function namePluginDetectorsInFull(o: ResolvedRunOptions): Promise<ResolvedRunOptions> {
  if (o.plugins.length === 0) return o;
  const plugins = await loadPlugins(o.plugins);
  const models = o.models.map((m) => {
    if (m.includes('/') || m.includes('\\')) return m;
    const hit = findPluginDetector(plugins, m);
    return hit ? `${hit.plugin.name}/${hit.detector}` : m;
  });
  return { ...o, models };
}

/** Step 1 (the run directory, locked) around the rest. */
async function withRunDirectory<R>(
  o: ResolvedRunOptions,
  hooks: RunHooks,
  rest: (
    o: ResolvedRunOptions,
    env: RunnerEnv,
    mitigations: Mitigation[],
    store: RunStore,
    hooks: RunHooks,
    logger: Logger,
  ) => Promise<R>,
): Promise<R> {
  const logger = hooks.logger ?? SILENT_LOGGER;
  const env = runnerEnv(hooks);
  o = await namePluginDetectorsInFull(o);
  if (o.mitigations.length > 0) await env.registerPluginMitigations(o.plugins, logger);
  const mitigations = o.mitigations.map((spec) => env.parseMitigation(spec));
  refuseSameMitigation(o.mitigations, mitigations);
  const optionsKey = runOptionsKey(o);

  // 1. the run directory: writable, before any dataset or model work
  const store = await RunStore.locate(
    { out: o.out, reportsDir: o.reportsDir, force: o.force },
    optionsKey,
    shortHash(optionsKey),
    logger,
  );
  await store.lock(logger, hooks.lease); // one process per run directory, before anything is read or written
  try {
    return await rest(o, env, mitigations, store, hooks, logger);
  } finally {
    await store.release();
  }
}

/** Steps 2–7 of runBenchmark, in a run directory this process holds the lease of. */
async function runLocked(
  o: ResolvedRunOptions,
  env: RunnerEnv,
  mitigations: Mitigation[],
  store: RunStore,
  hooks: RunHooks,
  logger: Logger,
): Promise<RunResult> {
  return scoreStep(o, env, store, logger, await detectStep(o, env, mitigations, store, hooks, logger));
}

/** Steps 2–5: the dataset (a shard's part of it), the identity, the claimed store, the detections. */
async function detectStep(
  o: ResolvedRunOptions,
  env: RunnerEnv,
  mitigations: Mitigation[],
  store: RunStore,
  hooks: RunHooks,
  logger: Logger,
) {
  // 2. the dataset
  const whole = await env.loadDataset(
    { dataset: o.dataset, images: o.images ?? undefined, classes: o.classes ?? undefined, limit: o.limit ?? undefined },
    logger,
  );
  if (whole.images.length === 0) throw new ShiftbenchError('ERR_DATASET', `Dataset ${whole.source} has no images.`);
  const dataset = o.shard ? shardDataset(whole, o.shard) : whole;

  // 3. the identity of what makes the detections: run level, per detector, per image
  const plan = planVariants(o, mitigations);
  const loadOpts: RunnerLoadOptions = {
    backend: o.backend,
    executionProvider: o.executionProvider,
    threads: o.threads ?? undefined,
    weightsDir: o.weightsDir ?? undefined,
    seed: o.seed,
    groundTruth: dataset.groundTruth,
    logger,
    plugins: o.plugins,
    registryFiles: o.registryFiles,
    detectTimeoutMs: o.detectTimeoutMs ?? undefined,
    http: o.http,
  };
  const identity: RunIdentity = { run: runLevelIdentity(o, await env.buildId()), detectors: {} };
  try {
    for (const v of plan.flat()) identity.detectors[v.key] = await describeVariant(v, env, loadOpts, o);
  } catch (err) {
    throw await withReportHint(err, store.dir);
  }
  const imageIds = await imageHashes(dataset.images, dataset.groundTruth);
  const sha256 = (key: string) => imageIdentityFor(identity.detectors[key], imageIds);

  // 4. the run store: resume what was made the same way, refuse what was not
  const keys = plan.flat().map((v) => v.key);
  const { stored, logs } = await store.claim(
    identity,
    { images: dataset.images, sha256, shiftCount: o.shiftSet.shifts.length },
    keys,
    logger,
  );
  const manifest = newManifest(o, dataset, store.runId(stored), stored, identity);
  const onlyScores =
    !o.shard &&
    stored !== null &&
    keys.every(
      (k) =>
        manifest.detectors.some((d) => d.key === k) && imagesToRun(dataset.images, logs.get(k)!.stored).length === 0,
    );
  // a merged directory only rescored still holds just the merge's detections: the record stays, so merging the same
  // shards again redoes it (a run that adds detections makes it a run of its own)
  if (onlyScores && stored.merged) manifest.merged = stored.merged;
  // from here the logs are open: any failure before the detection step's own finally closes them
  let others: ScoredVariant[] = [];
  try {
    checkSameShard(store.dir, stored, o.shard);
    // the detectors stored here that this command does not name are scored with it (a shard is scored at its merge)
    if (!o.shard) {
      others = await readOtherDetectors(
        store,
        stored,
        keys,
        dataset.images,
        imageIds,
        (d) =>
          `Add --model ${d.model}${pluginFlagsFor(d.key, stored, o)}` +
          `${d.mitigation === null ? '' : ` --mitigation ${d.mitigation}`} to this command (only what is missing runs)`,
      );
    }
    // with every image of every detector stored no model runs, only scoring, which replaces the manifest and the
    // metrics together, as a rescore does (scoreStep); until then the directory stays as it was, so stopped while
    // scoring nothing already computed is gone. Otherwise what the stored metrics describe goes now.
    if (!onlyScores) {
      await store.retireMetrics(stored, logger);
      if (o.shard) {
        manifest.shard = {
          ...o.shard,
          rule: SHARD_RULE,
          imagesInRun: whole.images.length,
          images: dataset.images.length,
        };
      }
      await store.writeManifest(manifest);
    }
  } catch (err) {
    for (const { log } of logs.values()) await log.close();
    throw err;
  }
  logger.info(`run directory: ${store.dir}`);

  // 5. detections: every model, plain first, then its mitigations — only images not stored yet
  const session: DetectSession = {
    o,
    env,
    hooks,
    logger,
    store,
    manifest,
    identity,
    dataset,
    sha256,
    logs,
    loadOpts,
    signal: store.stopSignal(hooks.signal),
    sessionId: randomUUID(),
    detectorCount: keys.length,
    detectorIndex: 0,
    wallSeconds: {},
    phases: {},
    computedImages: {},
    pool: undefined,
  };
  const variants: ScoredVariant[] = [];
  try {
    for (const modelVariants of plan) variants.push(...(await detectModel(modelVariants, session)));
  } finally {
    session.pool?.terminate(); // no prepare worker outlives the detection step (error, Ctrl-C or done)
    for (const { log } of logs.values()) await log.close();
  }
  variants.push(...others); // scored with those run now
  return { manifest, dataset, variants, session, onlyScores };
}

/** The images a detector has no record of in `records`, or only a skipped one (decoding is tried again). */
function imagesToRun(images: readonly DatasetImage[], records: OpenedLog['stored']): DatasetImage[] {
  return images.filter((img) => {
    const r = records.get(img.id);
    return r === undefined || isSkipped(r);
  });
}

/**
 * A detector that cannot be described (its server down, its file moved) fails a `run` before anything is read or
 * written; into a finished run directory — perhaps run again only for an analysis setting — the error also says that
 * `report` changes those from the stored detections with no detector.
 */
async function withReportHint(err: unknown, dir: string): Promise<unknown> {
  if (!(err instanceof ShiftbenchError) || !(await exists(path.join(dir, METRICS_FILE)))) return err;
  return new ShiftbenchError(
    err.code,
    `${err.message.replace(/\s*$/, '')} To change only analysis settings of the finished run in ${dir}, ` +
      `\`shiftbench report ${dir} --score-threshold τ\` (or --bootstrap, --bootstrap-seed, --bootstrap-bounds, ` +
      '--objective) rescores its stored detections without any detector.',
    { cause: err },
  );
}

/**
 * A detector whose classes name an id otherwise than the dataset's categories would score one object as another (a
 * person as a disc): ERR_DATASET before any image is run, naming both and the first ids that differ.
 */
function checkClassNames(key: string, classes: DetectorInfo['classes'], dataset: Dataset): void {
  const categories = dataset.groundTruth?.categories;
  if (!categories) return; // label-free: nothing to compare against
  const bad = classNameMismatches(classes, categories);
  if (bad.length === 0) return;
  const shown = bad
    .slice(0, 3)
    .map((m) => `id ${m.id} is '${m.detector}' for the detector but '${m.dataset}' in the dataset`)
    .join('; ');
  throw new ShiftbenchError(
    'ERR_DATASET',
    `${key}: its classes and the categories of ${dataset.source} give the same ids different names (${shown}` +
      `${bad.length > 3 ? `; and ${bad.length - 3} more` : ''}), so its detections would be scored as other ` +
      `objects. Use annotations whose category ids follow the detector's classes (or a detector made for these ` +
      `categories); names compare case-blind, without spaces or underscores.`,
  );
}

/** A directory that holds shard i/n (or a whole run) resumes only the same shard. */
function checkSameShard(dir: string, stored: RunManifest | null, shard: ShardSpec | null): void {
  if (!stored || (stored.detectors ?? []).length === 0) return;
  const name = (s: ShardSpec | null | undefined) => (s ? `shard ${formatShard(s)}` : 'a whole run (no --shard)');
  if (stored.shard?.index === shard?.index && stored.shard?.count === shard?.count) return;
  throw new ShiftbenchError(
    'ERR_RUN_STORE',
    `The run directory ${dir} holds ${name(stored.shard)}, not ${name(shard)}. Give each shard its own --out` +
      (shard ? ` (e.g. runs/shard-${shard.index}).` : '; merge shards with `shiftbench merge`.'),
  );
}

/** Steps 6–7 of runBenchmark (after detectStep). */
async function scoreStep(
  o: ResolvedRunOptions,
  env: RunnerEnv,
  store: RunStore,
  logger: Logger,
  step: Awaited<ReturnType<typeof detectStep>>,
): Promise<RunResult> {
  const { manifest, dataset, variants, session, onlyScores } = step;
  // 6. scoring, from the stored records only; metrics.json is written last
  let reports: string[] = [];
  const metrics = await scoreRun({
    store,
    runId: manifest.runId,
    dataset,
    shiftSet: o.shiftSet,
    mode: o.mode,
    kernel: o.kernel,
    ...analysisSettingsOf(o),
    variants,
    createEvaluator: env.createEvaluator,
    logger,
    signal: session.signal,
    onScored: (key, seconds) => {
      if (!session.phases[key]) return; // a detector stored earlier, not run now
      session.phases[key].evaluateSeconds = seconds;
      session.wallSeconds[key] += seconds;
    },
    ...(onlyScores
      ? {
          beforeMetrics: async () => {
            session.signal.throwIfAborted();
            reports = await store.replaceManifestBeforeMetrics(manifest);
          },
        }
      : {}),
  });

  // 7. the report (the metrics are stored; a report problem must not lose them)
  const reportPath = await renderReportAfterScoring(store.dir, logger);
  // the other reports of the metrics replaced (with a model run they went at its start, with the old metrics)
  await renderReportsAgain(
    store.dir,
    reports.filter((f) => f !== 'report.html' && f !== 'report.json'),
    logger,
  );
  const { wallSeconds, phases, computedImages } = session;
  return { runDir: store.dir, metrics, wallSeconds, phases, computedImages, reportPath };
}

const HOOK_FIELDS: Record<keyof RunHooks, true> = {
  logger: true,
  onProgress: true,
  signal: true,
  env: true,
  lease: true,
};

/**
 * The module wiring with the caller's replacements; hooks of another name, or a misspelt part of `env`, are refused.
 * A replaced `loadDetector` without its own `describeDetector` is described by the spec alone (the caller's loader is
 * opaque).
 */
export function runnerEnv(hooks: RunHooks): RunnerEnv {
  refuseUnknownFields(hooks, HOOK_FIELDS, 'run hooks', 'hooks');
  const env: RunnerEnv = withDefaultEnv(hooks.env);
  if (hooks.env?.loadDetector && !hooks.env.describeDetector)
    env.describeDetector = async (spec) => ({ kind: 'custom loader', spec });
  return env;
}

/** The model spec a variant loads: the model, or a mitigation's replacement (an anti-aliased twin). */
async function variantModelSpec(v: Variant, env: RunnerEnv, o: ResolvedRunOptions): Promise<string> {
  const m = v.mitigation;
  if (!m?.replacementModel) return v.model;
  const entries = await env.listModels({ registryFiles: o.registryFiles });
  const entry = entries.find((e) => e.name === v.model);
  if (!entry) {
    throw new ShiftbenchError(
      'ERR_INVALID_OPTION',
      `Mitigation "${m.spec}" (--mitigation) needs a registry model with an anti-aliased twin, but "${v.model}" is ` +
        `not a registry model.`,
    );
  }
  return m.replacementModel(entry, entries);
}

/**
 * A variant's identity: its detector's (describeDetector), the mitigation spec and, for plug-in mitigations, their
 * code.
 */
async function describeVariant(
  v: Variant,
  env: RunnerEnv,
  loadOpts: RunnerLoadOptions,
  o: ResolvedRunOptions,
): Promise<Record<string, unknown>> {
  const spec = await variantModelSpec(v, env, o);
  const detector = await env.describeDetector(spec, loadOpts);
  if (v.mitigation === null) return { ...detector, mitigation: null };
  // a graph rewrite cannot reach a plug-in's or a fake's code: refused before any model runs
  if (v.mitigation.loadOptions?.graphRewrite && (detector.kind === 'plugin' || detector.kind === 'fake'))
    throw cannotRewrite(v.mitigation.spec, spec);
  const extra = await env.describeMitigation(v.mitigation);
  return {
    ...detector,
    mitigation: v.mitigation.spec,
    ...(Object.keys(extra).length > 0 ? { mitigationSource: extra } : {}),
  };
}

/** What the detection step of one run shares between models, and the timings it collects. */
interface DetectSession {
  o: ResolvedRunOptions;
  env: RunnerEnv;
  hooks: RunHooks;
  logger: Logger;
  store: RunStore;
  manifest: RunManifest;
  identity: RunIdentity;
  dataset: Dataset;
  sha256: (key: string) => ReadonlyMap<number, string>;
  logs: Map<string, OpenedLog>;
  loadOpts: RunnerLoadOptions;
  /** Stops the detect loop: Ctrl-C (hooks.signal) or a lost lease. */
  signal: AbortSignal;
  /** This session's id, recorded in ManifestDetector.timedIn of each detector it detects images for. */
  sessionId: string;
  detectorCount: number;
  detectorIndex: number;
  wallSeconds: RunResult['wallSeconds'];
  phases: RunResult['phases'];
  computedImages: RunResult['computedImages'];
  /** The prepare workers shared by the detect loops: undefined until first needed, null when none. */
  pool: PreparePool | null | undefined;
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

/**
 * One variant: loads it only when an image is missing (or was skipped: decoding is
 * retried), records it in the manifest, runs the detect loop over what is missing.
 */
async function detectVariant(
  v: Variant,
  ss: DetectSession,
  getPlain: () => Promise<Detector>,
  plainNow: () => Detector | null,
): Promise<ScoredVariant> {
  const { o, dataset, logger, manifest, store } = ss;
  const phase = { loadSeconds: 0, loopSeconds: 0, evaluateSeconds: 0 };
  ss.phases[v.key] = phase;
  ss.computedImages[v.key] = 0;
  const { log, stored: records } = ss.logs.get(v.key)!;
  let entry = manifest.detectors.find((d) => d.key === v.key) ?? null;
  const todo = imagesToRun(dataset.images, records);
  if (todo.length === 0 && entry !== null) {
    // the check guards the scoring: it holds for stored detections too (with the classes that made them)
    if (entry.classes) checkClassNames(v.key, entry.classes, dataset); // older manifests did not record them
    logger.info(`${v.key}: all ${dataset.images.length} images already stored`);
    return { entry, records, file: log.file };
  }
  let owned: Detector | null = null; // a detector to dispose after this variant
  try {
    // prepare workers start before the model loads, so their start-up overlaps it
    const pool = todo.length > 0 ? sessionPool(ss, todo.length) : null;
    const loadStart = performance.now();
    const detector = await loadVariant(v, ss.env, ss.loadOpts, getPlain, o, logger);
    phase.loadSeconds = (performance.now() - loadStart) / 1000;
    if (detector !== plainNow()) owned = detector;
    const batchSize = Math.max(
      1,
      Math.min(o.batchSize ?? Math.min(detector.info.maxBatch, RUN_DEFAULTS.maxDefaultBatch), detector.info.maxBatch),
    );
    checkClassNames(v.key, detector.info.classes, dataset);
    const fresh = manifestDetector(v, detector.info, batchSize, ss.identity.detectors[v.key]);
    if (entry && records.size > 0) checkLoadedSame(v.key, entry, fresh);
    // the sessions that timed this detector's images: the stored ones, and this one if it detects any
    const timedIn = new Set(records.size > 0 ? (entry?.timedIn ?? []) : []);
    if (todo.length > 0) timedIn.add(ss.sessionId);
    if (timedIn.size > 0) fresh.timedIn = [...timedIn];
    const timedWith = new Set(records.size > 0 ? (entry?.timedWith ?? []) : []);
    if (todo.length > 0) timedWith.add(timingSettings(o, batchSize));
    if (timedWith.size > 0) fresh.timedWith = [...timedWith];
    if (
      entry === null ||
      stableJson(entry) !== stableJson(fresh) ||
      stableJson(manifest.identity.detectors[v.key]) !== stableJson(ss.identity.detectors[v.key])
    ) {
      const at = manifest.detectors.findIndex((d) => d.key === v.key);
      if (at >= 0) manifest.detectors[at] = fresh;
      else manifest.detectors.push(fresh);
      manifest.identity.detectors[v.key] = ss.identity.detectors[v.key];
      await store.writeManifest(manifest);
    }
    entry = fresh;
    if (todo.length > 0) {
      const retried = todo.filter((img) => records.has(img.id)).length;
      // of this run's images (the log may hold records of images the dataset no longer selects)
      const kept = dataset.images.length - todo.length;
      logger.info(
        `${v.key}: ${countOf(todo.length, 'image')} to run` +
          (kept + retried > 0
            ? ` (${kept} stored${retried > 0 ? `, ${retried} skipped before and retried` : ''})`
            : ''),
      );
      const loopStart = performance.now();
      let computed = 0;
      const { truncatedInputs } = await runDetectLoop({
        detector,
        maxDetections: o.maxDetections,
        images: todo,
        shiftSet: o.shiftSet,
        mode: o.mode,
        kernel: o.kernel,
        subpixelKernel: o.subpixelKernel,
        batchSize,
        decode: ss.env.decodeImage,
        preparePool: pool,
        prepareWorkers: 0, // without the session's pool: this thread
        onPrepareFallback: (reason) => logger.debug?.(`${v.key}: preparing images on the main thread (${reason})`),
        log,
        beforeWrite: () => store.checkLease(), // never a record into a run another process has taken over
        imageSha256: ss.sha256(v.key),
        signal: ss.signal,
        onRecord: (record) => {
          computed++;
          if (isSkipped(record))
            logger.warn(
              `${v.key}: skipped image ${record.imageId} (` +
                `${dataset.images.find((i) => i.id === record.imageId)?.fileName ?? '?'}): ${record.skipped}`,
            );
          const onProgress = ss.hooks.onProgress;
          if (!onProgress) return;
          const elapsed = (performance.now() - loopStart) / 1000;
          const rate = elapsed > 0 ? computed / elapsed : 0;
          const done = dataset.images.length - todo.length + computed;
          onProgress({
            done,
            total: dataset.images.length,
            imagesPerSecond: rate,
            etaSeconds: rate > 0 ? (dataset.images.length - done) / rate : null,
            detector: v.key,
            detectorIndex: ss.detectorIndex,
            detectorCount: ss.detectorCount,
          });
        },
      }).catch((err: unknown) => {
        tellWhatIsKept(err, v.key, kept + computed, dataset.images.length, store.dir, logger);
        throw err;
      });
      phase.loopSeconds = (performance.now() - loopStart) / 1000;
      if (truncatedInputs > 0) {
        logger.warn(
          `${v.key}: ${countOf(truncatedInputs, 'input')} returned more than ` +
            `${o.maxDetections} detections; ` +
            `kept the ${o.maxDetections} highest-scoring of each (--max-detections)`,
        );
      }
      ss.computedImages[v.key] = computed;
      await checkUnchangedWhileDetecting(v, ss);
    }
    return { entry, records, file: log.file };
  } finally {
    if (owned) await owned.dispose();
  }
}

/** What bears on a detector's per-image time in this run, in words (ManifestDetector.timedWith). */
function timingSettings(o: ResolvedRunOptions, batchSize: number): string {
  return (
    `backend ${o.backend}, execution provider ${o.executionProvider}, threads ${o.threads ?? 'default'}, ` +
    `batch ${batchSize}, prepare workers ${o.prepareWorkers ?? 'default'}`
  );
}

/**
 * Before a detect loop's error reaches the user: how many of the images are stored (and kept) and that the same command
 * runs only the rest. Not for a stop (Ctrl-C says so itself) nor a run another process took over (it is theirs now),
 * and not when nothing of this detector is stored.
 */
function tellWhatIsKept(err: unknown, key: string, stored: number, total: number, dir: string, logger: Logger): void {
  if ((err as Error)?.name === 'AbortError' || (err as ShiftbenchError)?.code === 'ERR_RUN_LOCKED' || stored === 0)
    return;
  logger.warn(
    `${key}: stopped by the error below after ${stored} of ${countOf(total, 'image')}; their detections are stored in ` +
      `${dir} and kept — once the cause is fixed outside the detector (its input, a server, the machine), the same ` +
      `command runs only the ${countOf(total - stored, 'image')} not stored; a fix to the detector's own code or ` +
      'files changes what made them, and the run needs a new --out (or --force, which drops them)',
  );
}

/**
 * The session's prepare workers (`--prepare-workers`, default DEFAULT_PREPARE_WORKERS),
 * started the first time a detector has images to compute — by default only from
 * PREPARE_WORKERS_MIN_IMAGES images on — and shared by every later detect loop.
 */
function sessionPool(ss: DetectSession, images: number): PreparePool | null {
  if (ss.pool !== undefined) return ss.pool;
  const asked = ss.o.prepareWorkers;
  if (asked === 0 || (asked === null && images < PREPARE_WORKERS_MIN_IMAGES)) return null;
  if (ss.env.decodeImage !== decodeDatasetImage) {
    ss.logger.debug?.('preparing images on the main thread (a custom decoder cannot run in a worker)');
    return (ss.pool = null);
  }
  ss.pool = openPreparePool(asked ?? DEFAULT_PREPARE_WORKERS, (reason) =>
    ss.logger.debug?.(`preparing images on the main thread (${reason})`),
  );
  return ss.pool;
}

/**
 * What makes a variant's detections, described again after its detect loop, must be what it was when the run began
 * (ss.identity): a model file, plug-in or served model replaced while the loop ran would mix two setups in one run's
 * detections. Throws ERR_RUN_STORE naming what changed, before anything is scored; the records stay stored (a resumed
 * run checks them against the identity again).
 */
async function checkUnchangedWhileDetecting(v: Variant, ss: DetectSession): Promise<void> {
  const now = await describeVariant(v, ss.env, ss.loadOpts, ss.o);
  const diffs = identityDiff(ss.identity.detectors[v.key], now);
  if (diffs.length === 0) return;
  throw new ShiftbenchError(
    'ERR_RUN_STORE',
    `${v.key}: what makes its detections changed while this run detected (${diffs.slice(0, 3).join('; ')}` +
      `${diffs.length > 3 ? '; …' : ''}), so this run's detections would mix two setups; nothing was scored. The ` +
      `detections stay in ${ss.store.dir}: put back what made them and run the same command again (it resumes), or ` +
      `start over with the new one (--force, or a new --out).`,
  );
}

/**
 * Refuses to add detections from a loaded detector whose files or runtime differ from those that made the stored ones.
 */
function checkLoadedSame(key: string, stored: ManifestDetector, fresh: ManifestDetector): void {
  const diffs = [
    ...identityDiff(
      stored.files.map((f) => f.sha256),
      fresh.files.map((f) => f.sha256),
      'files.sha256',
    ),
    ...identityDiff(stored.runtime, fresh.runtime, 'runtime'),
  ];
  if (diffs.length === 0) return;
  throw new ShiftbenchError(
    'ERR_RUN_STORE',
    `The detector "${key}" that made the stored detections differs from the one loaded now (${diffs.join('; ')}). ` +
      `Use a new --out, or --force to start over.`,
  );
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
    const spec = await variantModelSpec(v, env, o);
    inner = await env.loadDetector(spec, { ...loadOpts, ...m.loadOptions });
  } else {
    inner = borrowed(await getPlain());
  }
  return m.wrap(inner, { mode: o.mode, logger });
}
