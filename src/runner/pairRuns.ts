/**
 * Paired differences between two saved runs (`shiftbench compare`, `check --baseline`):
 * each detector key the runs share is scored again from both runs' stored detections on
 * the same images with the same bounds bootstrap (same B, same seed), and the metrics'
 * pairedDifference gives Δ mAP range (A − B) with its interval. No model is loaded;
 * nothing in either run directory is written — not even the run lock — so finished runs
 * on a read-only volume pair too.
 */
import path from 'node:path';
import { ShiftbenchError, invalidParameterError, refuseUnknownFields } from '../core/errors.js';
import { is } from '../core/is.js';
import { RUN_DIR_ARG } from '../core/messages.js';
import type { Logger, PairedDifference, RunMetrics, ShiftSet } from '../core/types.js';
import { ownBoundsResamples, pairedDifference, type BoundsUncertainty } from '../metrics/index.js';
import { runCompatibility } from '../report/compatible.js';
import { withDefaultEnv } from './env.js';
import { imageHashes } from './identity.js';
import { MIN_INTERVAL_RESAMPLES, type RunOptions } from './options.js';
import { NO_SHIFT_RESULTS, RunStore, type RunManifest } from './runStore.js';
import { scoreVariant, type ScoredVariant } from './score.js';
import { isSkipped, readJsonOrNull } from './store.js';
import { readStoredVariant } from './storedVariant.js';
import { loadRecordedDataset } from './runDataset.js';
import type { RunnerEnv } from './types.js';
import { SILENT_LOGGER } from '../core/logger.js';

/** A paired difference of one detector key between two runs: run A minus run B. */
export interface RunPairedDifference extends Omit<PairedDifference, 'kind' | 'against'> {
  /** The run ids of A and B. */
  runA: string;
  runB: string;
  /**
   * The images the paired numbers are over: those both runs evaluated (an image skipped in either run is left out of
   * both, with a logged warning naming it), so it can be fewer than either run's own imagesEvaluated.
   */
  images: number;
}

/** Options of pairRuns. */
export interface PairRunsOptions {
  /** Detector keys to pair (default: every key both runs have). */
  keys?: string[];
  /**
   * Bounds bootstrap resamples B, ≥ 20 (default: the `defaultsFrom` run's own, ownBoundsResamples; when that run had
   * none — --bootstrap-bounds 0, or off by default at its size — nothing is paired: [] and a logged line).
   */
  bootstrapBounds?: number;
  /** Bootstrap seed (default: the `defaultsFrom` run's --bootstrap-seed, else 0). */
  bootstrapSeed?: number;
  /**
   * Whose saved bootstrap settings (B, seed) are the defaults: 'a' (default; `check`: the run judged) or 'b'
   * (`compare`: the reference run, so every run is paired with it on the same resamples).
   */
  defaultsFrom?: 'a' | 'b';
  logger?: Logger;
  env?: Partial<RunnerEnv>;
}

/** Every field of PairRunsOptions (the compiler checks the list is complete and has no other). */
const PAIR_OPTION_FIELDS: Record<keyof PairRunsOptions, true> = {
  keys: true,
  bootstrapBounds: true,
  bootstrapSeed: true,
  defaultsFrom: true,
  logger: true,
  env: true,
};

const NO_FILES = { shiftResultsWriter: async () => NO_SHIFT_RESULTS };

/**
 * Pairs run A with run B (directories) per common detector key: Δ mAP range and Δ mAP at
 * (0,0), A − B, with 95 % intervals over the same bootstrap resamples of the images both
 * runs scored. The caller checks first that the runs share dataset, images, shift set,
 * mode and preprocessing (runCompatibility, to word its refusal); this checks again and throws
 * ERR_METRICS_INPUT naming each difference, or when the images still differ, ERR_RUN_STORE when a run is unfinished or an image changed since it ran,
 * ERR_INVALID_OPTION for B < 1. Keys without ground truth (label-free) are left out.
 */
export async function pairRuns(
  dirA: string,
  dirB: string,
  options: PairRunsOptions = {},
): Promise<RunPairedDifference[]> {
  if (!is.object(options as unknown)) throw invalidParameterError('options', 'an object of pairing options', options);
  refuseUnknownFields(options, PAIR_OPTION_FIELDS, 'pairing options');
  const logger = options.logger ?? SILENT_LOGGER;
  const env: RunnerEnv = withDefaultEnv(options.env);
  for (const dir of [dirA, dirB])
    if (!is.string(dir)) throw invalidParameterError(RUN_DIR_ARG, 'a run directory path', dir);
  if (path.resolve(dirA) === path.resolve(dirB))
    throw new ShiftbenchError(
      'ERR_INVALID_OPTION',
      `Expected two different run directories but received ${dirA} twice`,
    );
  const a = await RunStore.existing(dirA);
  const b = await RunStore.existing(dirB);
  // read only, without the run lock: a lock is a file written in the run directory
  return pairStored(a, b, options, env, logger);
}

type Opened = { store: RunStore; manifest: RunManifest };

async function pairStored(
  a: Opened,
  b: Opened,
  options: PairRunsOptions,
  env: RunnerEnv,
  logger: Logger,
): Promise<RunPairedDifference[]> {
  type Saved = Partial<RunOptions> & { bootstrapBounds?: number | null };
  const saved = a.manifest.options as Saved;
  const from = options.defaultsFrom === 'b' ? b : a;
  const settings = from.manifest.options as Saved;
  const metricsA = await readJsonOrNull<RunMetrics>(path.join(a.store.dir, 'metrics.json'));
  const metricsB = await readJsonOrNull<RunMetrics>(path.join(b.store.dir, 'metrics.json'));
  // never a Δ of two setups, whether or not the caller checked (compare and check --baseline do, with their wording)
  if (metricsA && metricsB) {
    const manifestOf = (m: RunManifest) => m as unknown as Record<string, unknown>;
    const compat = runCompatibility(
      { manifest: manifestOf(a.manifest), metrics: metricsA },
      { manifest: manifestOf(b.manifest), metrics: metricsB },
    );
    if (!compat.pairable)
      throw new ShiftbenchError(
        'ERR_METRICS_INPUT',
        `Expected two runs of the same dataset, images, shift set, mode, analysis settings and preprocessing to pair, ` +
          `but ${a.store.dir} and ${b.store.dir} differ — ${compat.differences.join('; ')}: they cannot be paired`,
      );
  }
  let B = options.bootstrapBounds;
  if (B === undefined) {
    // the run's own B: a run scored without bounds resamples is not paired on a B (and a cost) chosen here
    const own = from === a ? metricsA : metricsB;
    const images = Math.max(0, ...(own?.results ?? []).map((r) => r.imagesEvaluated));
    B = ownBoundsResamples(settings.bootstrapBounds, images, from.manifest.shiftSet.shifts.length);
    if (B === 0) {
      logger.info(
        `pairing: ${from.store.dir} was scored without bounds resamples; give --bootstrap-bounds B to pair on B`,
      );
      return [];
    }
  }
  if (!Number.isInteger(B) || B < MIN_INTERVAL_RESAMPLES)
    throw new ShiftbenchError(
      'ERR_INVALID_OPTION',
      `Expected an integer of at least ${MIN_INTERVAL_RESAMPLES} for --bootstrap-bounds (the paired resamples a 95 % ` +
        `interval and its verdict come from) but received ${B}`,
    );
  const seed = options.bootstrapSeed ?? settings.bootstrapSeed ?? 0;
  const dataset = await loadRecordedDataset(
    env,
    saved,
    (reason, where) =>
      `${a.store.dir} and ${b.store.dir} cannot be paired: ${reason}. The paired differences recompute both runs from ` +
      `their stored detections and need the dataset ${a.store.manifestFile} names: put it back at ${where} and run ` +
      'the command again.',
  );
  if (!dataset.groundTruth) return [];
  const ids = await imageHashes(dataset.images, dataset.groundTruth);
  const keysB = new Set((metricsB?.results ?? []).map((r) => r.key));
  const keys = options.keys ?? (metricsA?.results ?? []).map((r) => r.key).filter((k) => keysB.has(k));
  const shiftSet: ShiftSet = {
    spec: a.manifest.shiftSet.spec,
    shifts: a.manifest.shiftSet.shifts,
    maxOffsetPx: a.manifest.shiftSet.maxOffsetPx,
  };
  const out: RunPairedDifference[] = [];
  for (const key of keys) {
    const va = await readStoredVariant(a.store, a.manifest, key, dataset.images, ids, 'pairing');
    const vb = await readStoredVariant(b.store, b.manifest, key, dataset.images, ids, 'pairing');
    // the same images on both sides: an image skipped in either run is left out of both
    const skipped = new Map<number, { key: string; reason: string }>();
    for (const [v, run] of [
      [va, a],
      [vb, b],
    ] as const) {
      for (const [id, r] of v.records)
        if (isSkipped(r) && !skipped.has(id))
          skipped.set(id, { key: `${run.manifest.runId}/${key}`, reason: r.skipped });
    }
    if (skipped.size > 0) {
      const n = dataset.images.length;
      const listed = [...skipped].slice(0, 5).map(([id, s]) => `image ${id} (skipped in ${s.key}: ${s.reason})`);
      logger.warn(
        `${key}: paired on ${n - skipped.size} of ${n} images — left out of both runs because one of them skipped ` +
          `${skipped.size === 1 ? 'it' : 'them'}: ${listed.join('; ')}${skipped.size > 5 ? '; …' : ''}`,
      );
    }
    const score = async (v: ScoredVariant, run: Opened) =>
      scoreVariant(
        v,
        {
          store: NO_FILES,
          runId: run.manifest.runId,
          dataset,
          shiftSet,
          mode: run.manifest.mode as RunMetrics['mode'],
          kernel: run.manifest.resample.kernel as RunOptions['kernel'] & string,
          scoreThreshold: run.manifest.scoreThreshold,
          bootstrapResamples: 1,
          bootstrapSeed: seed,
          bootstrapBounds: B,
          sizeCurve: false, // a paired difference uses the resamples only
          variants: [v],
          createEvaluator: env.createEvaluator,
          logger,
        },
        skipped,
      );
    const sa = await score(va, a);
    const sb = await score(vb, b);
    const d = pair(key, sa, sb);
    if (d) out.push({ ...d, runA: a.manifest.runId, runB: b.manifest.runId, images: sa.summary.imagesEvaluated });
  }
  return out;
}

type Scored = Awaited<ReturnType<typeof scoreVariant>>;

function pair(key: string, sa: Scored, sb: Scored): Omit<PairedDifference, 'kind' | 'against'> | null {
  const ba = sa.summary.bounds;
  const bb = sb.summary.bounds;
  if (!ba || !bb || !sa.uncertainty || !sb.uncertainty) return null;
  const side = (bounds: typeof ba, u: BoundsUncertainty) => ({
    key,
    mapRef: bounds.mapRef,
    mapRange: bounds.mapRange,
    uncertainty: u,
  });
  const d = pairedDifference(side(ba, sa.uncertainty), side(bb, sb.uncertainty), 'mitigation');
  if (!d) return null;
  const { kind: _kind, against: _against, ...rest } = d;
  return rest;
}
