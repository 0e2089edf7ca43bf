/**
 * `shiftbench merge`: joins the shard run directories of one run (`--shard i/n`, shard.ts)
 * into one run directory and scores it once, through the same scoring step as a run
 * (score.ts), so the merged metrics equal those of a run made by one process.
 *
 * The shards must be of one run: the same identity (identity.ts: build, shifts, mode,
 * kernel, each detector's content hashes — no absolute paths, so shards made on
 * different machines compare equal), the same dataset content and analysis settings,
 * one directory per shard index, each holding only its own images, together every image.
 */
import { realpath } from 'node:fs/promises';
import path from 'node:path';
import { ShiftbenchError, invalidParameterError, refuseUnknownFields } from '../core/errors.js';
import { is } from '../core/is.js';
import type { Dataset, Logger, RunMetrics, ShiftSet } from '../core/types.js';
import { defaultBootstrapBounds } from '../metrics/index.js';
import { withDefaultEnv } from './env.js';
import { hashChange, identityDiff, imageHashes, imageIdentityFor } from './identity.js';
import { makeRunId, resolveRunOptions, type RunOptions } from './options.js';
import { RunStore, rescoredBy, type ManifestDetector, type RunManifest } from './runStore.js';
import { analysisSettingsOf, renderReportAfterScoring, scoreRun, type ScoredVariant } from './score.js';
import { formatShard, shardOfImage } from './shard.js';
import {
  DetectionLog,
  RecordReader,
  RunStoreDamage,
  MANIFEST_FILE,
  clearRunStore,
  exists,
  isSkipped,
  readJsonOrNull,
  type ImageRecord,
  type StoredImage,
} from './store.js';
import type { LeaseTiming } from '../core/lock.js';
import type { RunnerEnv } from './types.js';
import { SILENT_LOGGER } from '../core/logger.js';
import { detectorsNotRun } from './storedVariant.js';

/** Options of mergeShards. */
export interface MergeOptions {
  /** The shard run directories (`--out` of each `shiftbench run --shard i/n`), in any order. */
  runs: string[];
  /** The merged run directory: new, empty, or an earlier merge of the same shards (redone). */
  out: string;
  /** The dataset here, when not where the shards recorded it (another machine); its content must be the same. */
  dataset?: string;
  /** Its image folder, when not beside the annotations. */
  images?: string;
  /** The class names file of a YOLO dataset (`--classes` of the shards), when not where the shards recorded it. */
  classes?: string;
  /** Replace a run directory at `out` that holds something else. */
  force?: boolean;
}

/** Every field of MergeOptions (the compiler checks the list is complete and has no other). */
const MERGE_OPTION_FIELDS: Record<keyof MergeOptions, true> = {
  runs: true,
  out: true,
  dataset: true,
  images: true,
  classes: true,
  force: true,
};

/** What mergeShards returns. */
export interface MergeResult {
  runDir: string;
  metrics: RunMetrics;
  /** report.html, or null when rendering failed (metrics.json is complete either way). */
  reportPath: string | null;
  shards: number;
  images: number;
}

interface Shard {
  dir: string;
  /** dir with every symbolic link resolved (a shard named through a link is still that shard). */
  realDir: string;
  store: RunStore;
  manifest: RunManifest & { shard: NonNullable<RunManifest['shard']> };
}

/** Analysis settings recorded in a manifest's options; the shards must agree on them. */
const ANALYSIS_OPTIONS = [
  'scoreThreshold',
  'bootstrapResamples',
  'bootstrapSeed',
  'bootstrapBounds',
  'objectives',
  'limit',
];

/** What must be equal across the shards of one run, as one object (compared with identityDiff). */
function runOf(m: RunManifest): Record<string, unknown> {
  const options = m.options ?? {};
  return {
    identity: m.identity,
    dataset: { hash: m.dataset?.hash, images: m.shard?.imagesInRun },
    shifts: (m.shiftSet?.shifts ?? []).map((s) => `${s.dx},${s.dy}`).join(';'),
    mode: m.mode,
    detectors: Object.fromEntries(
      (m.detectors ?? []).map((d) => [d.key, { runtime: d.runtime, files: d.files.map((f) => f.sha256) }]),
    ),
    analysis: Object.fromEntries(ANALYSIS_OPTIONS.map((k) => [k, effective(m, k, options[k] ?? null)])),
  };
}

/**
 * What an analysis setting does in the merged run, so that two ways of writing one setting compare equal: --limit at
 * or above the dataset's size is no limit, and no --bootstrap-bounds is the default B for the run's images and shifts.
 */
function effective(m: RunManifest, key: string, value: unknown): unknown {
  const images = m.shard?.imagesInRun;
  if (key === 'limit' && typeof value === 'number' && m.dataset && value >= m.dataset.images) return null;
  if (key === 'bootstrapBounds' && value === null && images !== undefined && m.shiftSet)
    return defaultBootstrapBounds(images, m.shiftSet.shifts.length).resamples;
  return value;
}

function mergeError(message: string): ShiftbenchError {
  return new ShiftbenchError('ERR_MERGE', message);
}

/**
 * A damaged file in a shard's directory, as a merge error: the same finding, with the fix that works — rerun that
 * shard (with --force, or into a new --out), then merge — instead of the run's own "start over" (`merge --force`
 * only replaces --out).
 */
function inShard(err: unknown, dir: string, shard: { index: number; count: number } | null): unknown {
  if (!(err instanceof RunStoreDamage)) return err;
  const which = shard ? `${dir} (shard ${formatShard(shard)})` : dir;
  return new ShiftbenchError(
    'ERR_MERGE',
    `${err.finding} It belongs to ${which}: rerun that shard's command (\`shiftbench run … --shard i/n\`; with ` +
      `--force or into a new --out if its store cannot be repaired), then merge.`,
    { cause: err },
  );
}

/** What ERR_RUN_LOCKED advises for a shard another process holds: not the run's "use another --out", which frees none. */
const SHARD_IN_USE_ADVICE =
  'A shard is still being written (its `shiftbench run --shard` or another merge): wait for it to finish, then merge.';

/** Reads and locks the shard directories; checks they are n distinct shards of one run. */
async function openShards(runs: string[], logger: Logger, lease?: LeaseTiming): Promise<Shard[]> {
  const shards: Shard[] = [];
  try {
    for (const run of runs) {
      const { store, manifest } = await RunStore.existing(run).catch((err: unknown) => {
        throw inShard(err, path.resolve(run), null);
      });
      if (!manifest.shard) {
        throw mergeError(
          `${store.dir} is not a shard: it was run without --shard. ` +
            `Merge the directories of \`shiftbench run --shard i/n\`.`,
        );
      }
      shards.push({
        dir: store.dir,
        realDir: await realpath(store.dir),
        store,
        manifest: manifest as Shard['manifest'],
      });
    }
    checkOneRun(shards);
    for (const s of shards) await s.store.lock(logger, lease, SHARD_IN_USE_ADVICE); // not while a shard still runs
    return shards.sort((a, b) => a.manifest.shard.index - b.manifest.shard.index);
  } catch (err) {
    for (const s of shards) await s.store.release();
    throw err;
  }
}

/** Same identity and split, each index once, none missing: else ERR_MERGE naming the directories. */
function checkOneRun(shards: Shard[]): void {
  // a shard whose run failed before its first detector loaded (its manifest is written first): nothing to merge, and
  // metrics of no detector are no result
  const empty = shards.find((s) => (s.manifest.detectors ?? []).length === 0);
  if (empty) {
    throw mergeError(
      `${empty.dir} (shard ${formatShard(empty.manifest.shard)}) holds no detections: its run stopped before any ` +
        "detector ran (that command's error says why). Run that shard's command to the end, then merge.",
    );
  }
  for (const s of shards) {
    const notRun = detectorsNotRun(s.manifest);
    if (notRun.length > 0)
      throw mergeError(
        `${s.dir} (shard ${formatShard(s.manifest.shard)}) is not finished: ${notRun.join('; ')} of its command ` +
          "did not run there (that command's error says why). Run that shard's command again to finish it, then merge.",
      );
  }
  const first = shards[0];
  const count = first.manifest.shard.count;
  for (const s of shards.slice(1)) {
    if (s.manifest.shard.count !== count) {
      throw mergeError(
        `${s.dir} is shard ${formatShard(s.manifest.shard)} but ${first.dir} is shard ` +
          `${formatShard(first.manifest.shard)}: ` +
          'shards of one run have the same count.',
      );
    }
    const diffs = identityDiff(runOf(first.manifest), runOf(s.manifest));
    if (diffs.length > 0) {
      const shown = diffs.slice(0, 8).join('; ') + (diffs.length > 8 ? `; … and ${diffs.length - 8} more` : '');
      throw mergeError(
        `${s.dir} is not a shard of the same run as ${first.dir} (${shown}). Run every shard with the same command ` +
          `and build.`,
      );
    }
  }
  const byIndex = new Map<number, Shard>();
  for (const s of shards) {
    const twin = byIndex.get(s.manifest.shard.index);
    if (twin) {
      const which =
        twin.dir === s.dir
          ? `${s.dir} is given twice`
          : `${twin.dir} and ${s.dir} are both shard ${formatShard(s.manifest.shard)}`;
      throw mergeError(`${which}: give each shard once.`);
    }
    byIndex.set(s.manifest.shard.index, s);
  }
  const missing = Array.from({ length: count }, (_, i) => i).filter((i) => !byIndex.has(i));
  if (missing.length > 0) {
    const given = shards.map((s) => `${formatShard(s.manifest.shard)} in ${s.dir}`).join(', ');
    throw mergeError(
      `The merge is incomplete: shard${missing.length === 1 ? '' : 's'} ${missing
        .slice(0, 10)
        .map((i) => `${i}/${count}`)
        .join(', ')}` +
        `${missing.length > 10 ? ', …' : ''} missing (given: ${given}). Give every shard's run directory.`,
    );
  }
}

/**
 * The image folder of the merge, as it is read and recorded: --images; none with another --dataset (its images are
 * found beside it, not in the folder the shards used); else the shards' own.
 */
function mergedImages(options: MergeOptions, first: Shard): string | null {
  const saved = first.manifest.options as { images?: string | null };
  return options.images ? path.resolve(options.images) : options.dataset ? null : (saved.images ?? null);
}

/** The class names file of the merge, as it is read and recorded: --classes, else the shards' own (or none). */
function mergedClasses(options: MergeOptions, first: Shard): string | null {
  const saved = first.manifest.options as { classes?: unknown };
  return options.classes ? path.resolve(options.classes) : typeof saved.classes === 'string' ? saved.classes : null;
}

/** The dataset the shards ran on, loaded here; ERR_MERGE when its content differs. */
async function loadShardDataset(first: Shard, options: MergeOptions, env: RunnerEnv): Promise<Dataset> {
  const saved = first.manifest.options as Partial<RunOptions> & { limit?: number | null };
  const source = options.dataset
    ? path.resolve(options.dataset)
    : String(saved.dataset ?? first.manifest.dataset.source);
  const images = mergedImages(options, first);
  const classes = mergedClasses(options, first);
  // where the shards recorded it (another machine's folders, or moved since): say what merge takes, not what a bad
  // --dataset would be told
  for (const [what, at, flag] of [
    ['dataset', options.dataset ? null : source, '--dataset'],
    ['image folder', options.images || options.dataset ? null : images, '--images'],
    ['class names file', options.classes ? null : classes, '--classes'],
  ] as const) {
    if (at !== null && !(await exists(at))) {
      throw new ShiftbenchError(
        'ERR_DATASET',
        `The ${what} the shards ran on, ${at} (recorded in ${path.join(first.dir, MANIFEST_FILE)}), is not on ` +
          `this machine: give its path on this machine with ${flag}` +
          (flag === '--dataset' ? ' (and --images if its images are not beside it)' : '') +
          ' — its content must be the same.',
      );
    }
  }
  const dataset = await env.loadDataset({
    dataset: source,
    images: images ?? undefined,
    classes: classes ?? undefined,
    limit: saved.limit ?? undefined,
  });
  if (dataset.hash !== first.manifest.dataset.hash) {
    throw mergeError(
      `The dataset ${source} (sha256 ${dataset.hash.slice(0, 12)}) is not the one the shards ran on (sha256 ` +
        `${first.manifest.dataset.hash.slice(0, 12)}, ` +
        `recorded in ${first.dir}). Give the same dataset with --dataset (and --images).`,
    );
  }
  return dataset;
}

/**
 * Each detector's records from every shard: each shard holds only images of its own part,
 * every image of the dataset has a record in its shard, made from the same image content.
 * Records of images the run does not select (a shard resumed with a smaller --limit) are left out, as a run does.
 */
async function gatherRecords(
  shards: Shard[],
  dataset: Dataset,
  key: string,
  sha256: ReadonlyMap<number, string>,
): Promise<Map<number, StoredImage>> {
  const count = shards.length;
  const S = shards[0].manifest.shiftSet.shifts.length;
  const ids = new Set(dataset.images.map((im) => im.id));
  const records = new Map<number, StoredImage>();
  for (const s of shards) {
    // read only: a merge never writes into a shard (a torn last line stays for the shard's own resume to cut; its image
    // is missing here, so the shard is reported unfinished)
    const stored = await s.store.readLog(key, S).catch((err: unknown) => {
      throw inShard(err, s.dir, s.manifest.shard);
    });
    for (const [id, r] of stored) {
      // an image the run no longer selects (the shard resumed with a smaller --limit): left out, as a run leaves it
      if (!ids.has(id)) continue;
      const owner = shardOfImage(id, count);
      if (owner !== s.manifest.shard.index) {
        throw mergeError(
          `${s.dir} (shard ${formatShard(s.manifest.shard)}) holds detections of "${key}" for image ${id}, ` +
            `which belongs to shard ${owner}/${count} (${shards[owner].dir}): shards must be disjoint. Rerun that ` +
            `shard in a new --out.`,
        );
      }
      records.set(id, r);
    }
  }
  for (const image of dataset.images) {
    const r = records.get(image.id);
    const s = shards[shardOfImage(image.id, count)];
    if (!r) {
      throw mergeError(
        `${s.dir} (shard ${formatShard(s.manifest.shard)}) is not finished: "${key}" has no detections for image ` +
          `${image.id} (${image.fileName}). ` +
          "Run that shard's command again to finish it, then merge.",
      );
    }
    if (!isSkipped(r) && r.sha256 !== undefined && r.sha256 !== sha256.get(image.id)) {
      throw mergeError(
        `Image ${image.id} (${image.fileName}) changed since ${s.dir} ran it (sha256 ` +
          `${hashChange(r.sha256, sha256.get(image.id))}).`,
      );
    }
  }
  return records;
}

/**
 * Writes the merged detections/<key>.jsonl (dataset order), one record at a time read back from its shard; returns what
 * it stores.
 */
async function writeMergedLog(
  out: RunStore,
  key: string,
  shiftCount: number,
  shards: Shard[],
  dataset: Dataset,
  records: Map<number, StoredImage>,
  signal: AbortSignal,
): Promise<Map<number, StoredImage>> {
  const readers: RecordReader[] = [];
  const { log, stored } = await DetectionLog.open(out.logFile(key), shiftCount);
  try {
    for (const s of shards) readers.push(await RecordReader.open(s.store.logFile(key)));
    for (const image of dataset.images) {
      const r = records.get(image.id)!;
      const record: ImageRecord = isSkipped(r) ? r : await readers[shardOfImage(image.id, shards.length)].read(r);
      signal.throwIfAborted();
      await out.checkLease(); // never a record into a directory another process has taken over
      await log.append(record);
    }
  } finally {
    for (const reader of readers) await reader.close();
    await log.close();
  }
  return stored;
}

/**
 * Whether `earlier` is a merge of these shards: the same run ids, and (where it recorded them) the same creation times —
 * run ids alone name the second and the options, which the shards of two runs started together can share.
 */
function isMergeOf(earlier: RunManifest, shards: Shard[]): boolean {
  const was = earlier.merged?.shards ?? [];
  return (
    was.length === shards.length &&
    shards.every(
      (s, k) =>
        was[k].runId === s.manifest.runId &&
        (was[k].createdAt === undefined || was[k].createdAt === s.manifest.createdAt),
    )
  );
}

/** The output directory, locked: new or empty, an earlier merge of the same shards, or anything with force. */
async function openOutput(
  options: MergeOptions,
  shards: Shard[],
  logger: Logger,
  lease?: LeaseTiming,
): Promise<RunStore> {
  const out = path.resolve(options.out);
  const realOut = await realpath(out).catch(() => out); // a folder not made yet is no shard
  const clash = shards.find((s) => s.realDir === realOut);
  if (clash) throw invalidParameterError('--out', "a directory other than the shards'", options.out);
  const store = await RunStore.locate(
    { out, reportsDir: path.dirname(out), force: options.force === true },
    {},
    '',
    logger,
  );
  await store.lock(logger, lease);
  try {
    const earlier = await readJsonOrNull<RunManifest>(store.manifestFile);
    if (earlier) {
      const same = isMergeOf(earlier, shards);
      if (!same && options.force !== true) {
        throw new ShiftbenchError(
          'ERR_OUTPUT',
          `--out ${out} holds another run. Give a new --out, or --force to replace it.`,
        );
      }
      if (!same) logger.warn(`--force: replacing the run stored in ${out}`);
      await clearRunStore(out);
    }
    return store;
  } catch (err) {
    await store.release();
    throw err;
  }
}

/**
 * Merges the shard run directories `options.runs` into `options.out` and scores them once
 * (metrics.json, per-shift files, report.html), as a run made by one process would.
 * Throws ERR_MERGE when the shards are not of one run (another identity, dataset, split or
 * analysis setting), a shard is missing or given twice, holds another shard's images, or
 * is unfinished — each naming the directories; ERR_RUN_STORE when a directory is not a run;
 * ERR_RUN_LOCKED while a shard still runs; ERR_OUTPUT for an `out` holding another run; an
 * AbortError when `hooks.signal` stops it (the shards are only read: merge again).
 */
/**
 * A detector's manifest entry with the runs that timed it in any shard (ManifestDetector.timedIn, timedWith): the cost ratio
 * then holds only where every shard timed the plain detector and the mitigation in the same runs.
 */
function withTimedInOfAll(d: ManifestDetector, shards: readonly { manifest: RunManifest }[]): ManifestDetector {
  const entries = shards.map((s) => s.manifest.detectors.find((x) => x.key === d.key));
  if (entries.some((e) => e?.timedIn === undefined)) return d; // an older shard: unknown, as in the shards
  const merged = { ...d, timedIn: [...new Set(entries.flatMap((e) => e!.timedIn!))].sort() };
  // and the timing settings of every shard's runs (ManifestDetector.timedWith), where every shard records them
  if (entries.every((e) => e!.timedWith !== undefined))
    merged.timedWith = [...new Set(entries.flatMap((e) => e!.timedWith!))].sort();
  return merged;
}

export async function mergeShards(
  options: MergeOptions,
  hooks: {
    logger?: Logger;
    env?: Partial<RunnerEnv>;
    signal?: AbortSignal;
    /** Timing of the run-directory leases (default: heartbeat every 5 s, stale after 30 s). */
    lease?: LeaseTiming;
  } = {},
): Promise<MergeResult> {
  if (!is.object(options as unknown))
    throw invalidParameterError('options', 'an object of merge options { runs, out }', options);
  refuseUnknownFields(options, MERGE_OPTION_FIELDS, 'merge options');
  if (!is.object(hooks as unknown)) throw invalidParameterError('hooks', 'an object of hooks', hooks);
  const logger = hooks.logger ?? SILENT_LOGGER;
  const env: RunnerEnv = withDefaultEnv(hooks.env);
  if (!Array.isArray(options.runs) || options.runs.length === 0)
    throw invalidParameterError('RUN…', 'the shard run directories to merge', options.runs);
  const notPath = options.runs.findIndex((r) => !is.string(r));
  if (notPath >= 0) throw invalidParameterError('RUN…', 'a run directory path', options.runs[notPath]);
  if (typeof options.out !== 'string' || options.out.length === 0)
    throw invalidParameterError('--out', 'the merged run directory', options.out);
  if (options.force !== undefined && !is.bool(options.force))
    throw invalidParameterError('--force', 'true or false', options.force);
  if (options.classes !== undefined && (!is.string(options.classes) || options.classes === ''))
    throw invalidParameterError('--classes', 'a class names file', options.classes);
  const shards = await openShards(options.runs, logger, hooks.lease);
  let out: RunStore | null = null;
  try {
    const first = shards[0];
    const dataset = await loadShardDataset(first, options, env);
    const ids = await imageHashes(dataset.images, dataset.groundTruth);
    // every check on the shards before --out is touched: a refused merge leaves it as it was
    const gathered = new Map<string, Map<number, StoredImage>>();
    for (const { key } of first.manifest.detectors) {
      gathered.set(
        key,
        await gatherRecords(shards, dataset, key, imageIdentityFor(first.manifest.identity.detectors[key], ids)),
      );
    }
    out = await openOutput(options, shards, logger, hooks.lease);
    // stopped (Ctrl-C), or --out taken over by another process: nothing more is written there
    const signal = out.stopSignal(hooks.signal);
    const saved = first.manifest.options as Partial<RunOptions> & { bootstrapBounds?: number | null };
    const o = resolveRunOptions({
      models: ['(merged run)'],
      dataset: dataset.source,
      scoreThreshold: saved.scoreThreshold,
      bootstrapResamples: saved.bootstrapResamples,
      bootstrapSeed: saved.bootstrapSeed,
      bootstrapBounds: saved.bootstrapBounds ?? undefined,
      objectives: saved.objectives,
    });
    const { shard: _shard, rescored: _rescored, ...rest } = first.manifest;
    // the metrics are computed here: by another build than the shards' detectors, the manifest says which
    const buildId = await env.buildId();
    const manifest: RunManifest = {
      ...rest,
      ...(buildId !== (first.manifest.identity.run as { buildId?: unknown }).buildId
        ? { rescored: rescoredBy(buildId) }
        : {}),
      detectors: first.manifest.detectors.map((d) => withTimedInOfAll(d, shards)),
      runId: makeRunId({ merged: shards.map((s) => s.manifest.runId) }),
      createdAt: new Date().toISOString(),
      dataset: { ...first.manifest.dataset, source: dataset.source, images: dataset.images.length },
      options: {
        ...first.manifest.options,
        shard: null,
        out: out.dir,
        dataset: dataset.source,
        images: mergedImages(options, first),
        classes: mergedClasses(options, first),
      },
      merged: {
        count: shards.length,
        shards: shards.map((s) => ({
          index: s.manifest.shard.index,
          runId: s.manifest.runId,
          dir: path.basename(s.dir),
          createdAt: s.manifest.createdAt,
        })),
      },
    };
    await out.checkLease();
    await out.writeManifest(manifest);
    const S = manifest.shiftSet.shifts.length;
    const variants: ScoredVariant[] = [];
    for (const entry of manifest.detectors) {
      variants.push({
        entry,
        records: await writeMergedLog(out, entry.key, S, shards, dataset, gathered.get(entry.key)!, signal),
        file: out.logFile(entry.key),
      });
    }
    logger.info(`merged ${shards.length} shards (${dataset.images.length} images) into ${out.dir}; scoring`);
    const shiftSet: ShiftSet = {
      spec: manifest.shiftSet.spec,
      shifts: manifest.shiftSet.shifts,
      maxOffsetPx: manifest.shiftSet.maxOffsetPx,
    };
    const metrics = await scoreRun({
      store: out,
      runId: manifest.runId,
      dataset,
      shiftSet,
      mode: manifest.mode as RunMetrics['mode'],
      kernel: manifest.resample.kernel as NonNullable<RunOptions['kernel']>,
      ...analysisSettingsOf(o),
      variants,
      createEvaluator: env.createEvaluator,
      logger,
      retrySkipped:
        "rerun the shards' commands (`shiftbench run --shard i/n`, the skipped images are tried again), then merge again",
      signal,
    });
    const reportPath = await renderReportAfterScoring(out.dir, logger);
    return { runDir: out.dir, metrics, reportPath, shards: shards.length, images: dataset.images.length };
  } finally {
    await out?.release();
    for (const s of shards) await s.store.release();
  }
}
