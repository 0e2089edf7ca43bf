/**
 * Rescoring a saved run (`shiftbench report RUN --score-threshold …`): the analysis-only
 * settings are applied to the stored detections — no model is loaded — and metrics.json
 * is rewritten through the same scoring step as a run (score.ts).
 */
import path from 'node:path';
import { ShiftbenchError, invalidParameterError, refuseUnknownFields } from '../core/errors.js';
import { is } from '../core/is.js';
import { OPTION_FLAGS as FLAG } from '../core/messages.js';
import type { Logger, RunMetrics, ShiftSet } from '../core/types.js';
import { withDefaultEnv } from './env.js';
import { hashChange, imageHashes } from './identity.js';
import { resolveRunOptions, type RunOptions } from './options.js';
import { RunStore, manifestDataset, rescoredBy, type RunManifest } from './runStore.js';
import { analysisSettingsOf, renderReportsAgain, scoreRun, type ScoredVariant } from './score.js';
import { METRICS_FILE, RunStoreDamage, readJsonOrNull } from './store.js';
import { detectorsNotRun, readStoredVariant } from './storedVariant.js';
import { loadRecordedDataset } from './runDataset.js';
import type { LeaseTiming } from '../core/lock.js';
import type { RunnerEnv } from './types.js';
import { SILENT_LOGGER } from '../core/logger.js';

/** The analysis-only settings a saved run can be rescored with; each left out keeps the run's own. */
export interface RescoreOptions {
  scoreThreshold?: number;
  bootstrapResamples?: number;
  bootstrapSeed?: number;
  bootstrapBounds?: number;
  /** `--objective` values (ap is always included). */
  objectives?: string[];
}

/** The settings RescoreOptions has. */
const RESCORE_FIELDS: Record<keyof RescoreOptions, true> = {
  scoreThreshold: true,
  bootstrapResamples: true,
  bootstrapSeed: true,
  bootstrapBounds: true,
  objectives: true,
};

/**
 * Rescores the run in `runDir` from its stored detections with `options`, writes
 * metrics.json (and the manifest's analysis settings) and returns the metrics. Scores
 * the detectors of the run's metrics.json (all of the manifest's when there is none),
 * on the dataset the manifest names. Throws ERR_INVALID_OPTION for a bad setting
 * (naming the flag), ERR_RUN_STORE when the directory is not a run, a detector's
 * detections are incomplete (finish the run first) or an image changed since.
 * `hooks.signal` stops it (Ctrl-C, SIGTERM: the scoring worker threads are terminated at
 * once) with an AbortError, the run lock released and metrics.json, the manifest and the reports unchanged; so does a
 * bad setting, a dataset that moved, or no room for the new metrics.json or manifest (ERR_OUTPUT).
 */
export async function rescoreRun(
  runDir: string,
  options: RescoreOptions = {},
  hooks: {
    logger?: Logger;
    env?: Partial<RunnerEnv>;
    signal?: AbortSignal;
    /** A report format the caller renders itself next (not rendered again here): `shiftbench report --format`. */
    callerRenders?: 'html' | 'md' | 'csv' | 'json';
    /** Timing of the run-directory lease (default: heartbeat every 5 s, stale after 30 s). */
    lease?: LeaseTiming;
  } = {},
): Promise<RunMetrics> {
  if (!is.object(options as unknown)) throw invalidParameterError('options', 'an object of rescore options', options);
  // a misspelt setting would otherwise rescore with the run's own, rewriting metrics.json unchanged
  refuseUnknownFields(options, RESCORE_FIELDS, 'rescore options');
  if (!is.object(hooks as unknown)) throw invalidParameterError('hooks', 'an object of hooks', hooks);
  const logger = hooks.logger ?? SILENT_LOGGER;
  const env: RunnerEnv = withDefaultEnv(hooks.env);
  const { store, manifest } = await RunStore.existing(runDir);
  if (manifest.shard) {
    const { index, count } = manifest.shard;
    throw new ShiftbenchError(
      'ERR_RUN_STORE',
      `${store.dir} is shard ${index}/${count} of a run, not a whole run. Merge the run's ${count} shard ` +
        `directories with \`shiftbench merge SHARD… --out DIR\`; rescore DIR.`,
    );
  }
  await store.lock(logger, hooks.lease); // not while a run writes there
  // stopped (Ctrl-C), or the directory taken over by another process: nothing more is written there
  const signal = store.stopSignal(hooks.signal);
  try {
    return await rescoreLocked(store, manifest, options, env, logger, signal, hooks.callerRenders);
  } finally {
    await store.release();
  }
}

async function rescoreLocked(
  store: RunStore,
  manifest: RunManifest,
  options: RescoreOptions,
  env: RunnerEnv,
  logger: Logger,
  signal: AbortSignal | undefined,
  callerRenders: string | undefined,
): Promise<RunMetrics> {
  const saved = manifest.options as Partial<RunOptions> & { shiftSet?: string; bootstrapBounds?: number | null };
  // validate the new settings the way `run` does (flag names in errors), on top of the saved ones
  const given: Record<keyof RescoreOptions, unknown> = {
    scoreThreshold: options.scoreThreshold,
    bootstrapResamples: options.bootstrapResamples,
    bootstrapSeed: options.bootstrapSeed,
    bootstrapBounds: options.bootstrapBounds,
    objectives: options.objectives,
  };
  let o: ReturnType<typeof resolveRunOptions>;
  try {
    o = resolveRunOptions(
      {
        models: ['(saved run)'],
        dataset: String(saved.dataset ?? ''),
        scoreThreshold: options.scoreThreshold ?? saved.scoreThreshold,
        bootstrapResamples: options.bootstrapResamples ?? saved.bootstrapResamples,
        bootstrapSeed: options.bootstrapSeed ?? saved.bootstrapSeed,
        bootstrapBounds: options.bootstrapBounds ?? saved.bootstrapBounds ?? undefined,
        objectives: options.objectives ?? saved.objectives,
      },
      path.dirname(store.dir),
    );
  } catch (err) {
    // a value the run's manifest records (an older shiftbench allowed it), not one given now: say so, and the fix
    const field = (Object.keys(given) as (keyof RescoreOptions)[]).find(
      (k) => given[k] === undefined && (err as Error).message.includes(`for ${FLAG[k]} but received`),
    );
    if (!(err instanceof ShiftbenchError) || err.code !== 'ERR_INVALID_OPTION' || !field) throw err;
    throw new ShiftbenchError(
      'ERR_INVALID_OPTION',
      `${err.message.replace(/\.\s*$/, '')}: the value ${store.manifestFile} records for this run (an older ` +
        `shiftbench allowed it). To rescore, give ${FLAG[field]} with a value this version accepts.`,
      { cause: err },
    );
  }
  // read from the manifest alone, before the dataset is loaded and hashed (a run that stopped before any detector ran
  // is told so below)
  const notRun = manifest.detectors.length > 0 ? detectorsNotRun(manifest) : [];
  if (notRun.length > 0)
    throw new ShiftbenchError(
      'ERR_RUN_STORE',
      `The run in ${store.dir} is not finished: ${notRun.join('; ')} of its command did not run (the run stopped ` +
        'before; its error said why), so its metrics would cover only part of the command. Run the same ' +
        '`shiftbench run` command again to finish it; nothing was rescored.',
    );
  // report takes no --dataset: the fix is the dataset where the run read it (nothing is recomputed by a model)
  const dataset = await loadRecordedDataset(
    env,
    saved,
    (reason, where) =>
      `${store.dir} cannot be rescored: ${reason}. Rescoring reads the dataset ${store.manifestFile} names (ground ` +
      `truth, image checks) and runs no model: put the dataset back at ${where} and rescore again.`,
  );
  const buildId = await env.buildId();
  // the detectors of the metrics being replaced, in their order; a damaged metrics.json is what a rescore repairs
  const metricsBefore = await readJsonOrNull<RunMetrics>(path.join(store.dir, 'metrics.json')).catch((err) => {
    if (!(err instanceof RunStoreDamage)) throw err;
    logger.warn(`${err.finding} Rescoring every detector of ${store.manifestFile}.`);
    return null;
  });
  // an older shiftbench's metrics.json (report's fix for it is this rescore) may not list them as this version does
  const listed: unknown = metricsBefore?.results;
  const listedKeys =
    Array.isArray(listed) && listed.every((r) => is.object(r) && is.string(r.key))
      ? (listed as { key: string }[]).map((r) => r.key)
      : null;
  if (metricsBefore && !listedKeys)
    logger.warn(
      `${path.join(store.dir, METRICS_FILE)} does not list its detectors as this version writes them (an older ` +
        `shiftbench's); rescoring every detector of ${store.manifestFile}.`,
    );
  const keys = listedKeys ?? manifest.detectors.map((d) => d.key);
  if (keys.length === 0) {
    // its run failed before its first detector loaded (the manifest is written first): metrics of no detector are
    // no result
    throw new ShiftbenchError(
      'ERR_RUN_STORE',
      `${store.dir} holds no detections: its run stopped before any detector ran. Run its \`shiftbench run\` command ` +
        'to the end (its error says what stopped it); there is nothing to rescore yet.',
    );
  }
  const imageIds = await imageHashes(dataset.images, dataset.groundTruth);
  const variants: ScoredVariant[] = [];
  for (const key of keys)
    variants.push(await readStoredVariant(store, manifest, key, dataset.images, imageIds, 'rescoring'));
  // said once the stored detections are accepted on it (a detector that read the labels refuses a changed image above)
  if (manifest.dataset.hash !== dataset.hash) {
    logger.warn(
      `${String(saved.dataset)} changed since the run (content ${hashChange(manifest.dataset.hash, dataset.hash)}): ` +
        `the metrics are computed on it as it is now, and ${store.manifestFile} records it`,
    );
  }
  const shiftSet: ShiftSet = {
    spec: manifest.shiftSet.spec,
    shifts: manifest.shiftSet.shifts,
    maxOffsetPx: manifest.shiftSet.maxOffsetPx,
  };
  // the reports of the current metrics.json stay until the new metrics are about to replace it: a rescore stopped
  // before then (Ctrl-C, a lease taken over) leaves metrics.json and its reports as they were
  let reports: string[] = [];
  const metrics = await scoreRun({
    store,
    runId: manifest.runId,
    dataset,
    shiftSet,
    mode: manifest.mode as RunMetrics['mode'],
    kernel: manifest.resample.kernel as RunOptions['kernel'] & string,
    ...analysisSettingsOf(o),
    variants,
    createEvaluator: env.createEvaluator,
    logger,
    signal,
    retrySkipped: 'rerun the `shiftbench run` command that made this directory: the skipped images are tried again',
    // ground_truth.json of changed labels goes in place with the metrics computed on them, never before
    // the old reports and metrics go before the manifest names the new settings, which come before the new metrics:
    // killed at any moment, the directory never pairs metrics or reports of one setting with a manifest of another
    beforeMetrics: async () => {
      signal?.throwIfAborted();
      reports = await store.replaceManifestBeforeMetrics({
        ...manifest,
        // the dataset as scored now (its labels may have changed since the run), as `run` records it
        dataset: manifestDataset(dataset),
        // the build that computes these metrics (the detections' build stays in toolVersion and identity.run)
        rescored: rescoredBy(buildId),
        scoreThreshold: o.scoreThreshold,
        options: {
          ...manifest.options,
          scoreThreshold: o.scoreThreshold,
          bootstrapResamples: o.bootstrapResamples,
          bootstrapSeed: o.bootstrapSeed,
          bootstrapBounds: o.bootstrapBounds,
          objectives: o.objectives,
        },
      });
    },
  });
  await renderReportsAgain(
    store.dir,
    reports.filter((f) => f !== `report.${callerRenders}` && !(callerRenders === 'html' && f === 'report.json')),
    logger,
  );
  return metrics;
}
