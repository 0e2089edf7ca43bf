/**
 * RunStore: the policy of one run directory — which directory a run uses, whether what
 * is stored there may be resumed (same identity) or must be refused or replaced
 * (`--force`), the manifest, and every file the runner writes there (atomically).
 * The file formats themselves (jsonl detection logs, atomic JSON) are in store.ts.
 */
import { readFile, readdir, rm, rmdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { ShiftbenchError, invalidParameterError } from '../core/errors.js';
import { RUN_DIR_ARG } from '../core/messages.js';
import { is } from '../core/is.js';
import type {
  CocoGroundTruth,
  CocoResult,
  Dataset,
  DatasetImage,
  DetectorInfo,
  Logger,
  RunMetrics,
  Shift,
} from '../core/types.js';
import { shiftFileStem } from '../shifts/index.js';
import { hashChange, identityDiff, type RunIdentity } from './identity.js';
import { withdrawExperimentEntry } from './experimentSummary.js';
import { RunLock, type LeaseTiming } from '../core/lock.js';
import { makeRunId } from './options.js';
import type { ManifestShard } from './shard.js';
import {
  DETECTIONS_DIR,
  DetectionLog,
  MANIFEST_FILE,
  METRICS_FILE,
  PREVIOUS_DIR,
  PREVIOUS_PARTIAL_DIR,
  REPORT_FILES,
  RUN_STORE_ENTRIES,
  RunStoreDamage,
  SKIPPED_FILE,
  clearRunStore,
  ensureWritableDir,
  exists,
  isSkipped,
  readJsonOrNull,
  keyFileName,
  keyFileNameIn,
  writeJsonAtomic,
  type StoredImage,
} from './store.js';
import {
  AtomicFileWriter,
  makeDirDurable,
  removeStaleTemps,
  renameDurable,
  writeFileAtomic,
} from '../core/atomicFile.js';
import { VERSION } from '../version.js';

/** Beside each detector's per-shift results files: the ground truth they are scored against. */
export const SHIFT_GROUND_TRUTH_FILE = 'ground_truth.json';
/** detections/<key>/shifts.json: each per-shift file's shift index and offsets. */
export const SHIFT_INDEX_FILE = 'shifts.json';

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
  /**
   * Colour order, normalisation and decoder (name and every parameter) of a model entry; null for plug-ins and fakes.
   */
  colorOrder: 'RGB' | 'BGR' | null;
  normalize: { mean: [number, number, number]; std: [number, number, number] } | null;
  decoder: { name: string; params: Record<string, unknown> } | null;
  details: Record<string, unknown> | null;
  /** The detector's class list (info.classes): what its category ids mean. Absent in older manifests. */
  classes?: { id: number; name: string }[];
  /**
   * The runs (sessions of `shiftbench run`, by a random id) in which this detector's images were detected and timed;
   * the cost ratio compares two detectors only when they were timed in the same ones. Absent in older manifests.
   */
  timedIn?: string[];
  /**
   * The settings that bear on its timing (backend, execution provider, threads, batch size, prepare workers) in each
   * of those runs, each distinct one once; the cost ratio is given only when both detectors had one and the same.
   * Absent in older manifests.
   */
  timedWith?: string[];
}

/** The content of a run's manifest.json. */
/**
 * What makes a parsed manifest.json unusable as a run's (the fields rescore, pairing and merge read), or null: the
 * first missing or malformed field.
 */
function manifestShapeProblem(m: unknown): string | null {
  if (!is.object(m)) return 'not a JSON object';
  if (m.schemaVersion !== 1) return `schemaVersion ${JSON.stringify(m.schemaVersion) ?? 'missing'}, expected 1`;
  const checks: [string, boolean][] = [
    ['runId', is.string(m.runId)],
    ['options', is.object(m.options)],
    ['dataset', is.object(m.dataset)],
    ['shiftSet.shifts', is.object(m.shiftSet) && Array.isArray(m.shiftSet.shifts)],
    ['mode', is.string(m.mode)],
    ['resample', is.object(m.resample)],
    ['detectors', Array.isArray(m.detectors) && m.detectors.every((d) => is.object(d) && is.string(d.key))],
  ];
  const missing = checks.find(([, ok]) => !ok);
  return missing ? `${missing[0]} is missing or malformed` : null;
}

/** The dataset as a manifest records it: what the metrics were computed on (its content hash pins the images). */
export interface ManifestDataset {
  name: string;
  source: string;
  kind: string;
  images: number;
  hash: string;
  labelFree: boolean;
}

/** The manifest's `rescored`: this build recomputes the metrics from stored detections now. */
export function rescoredBy(buildId: string): NonNullable<RunManifest['rescored']> {
  return { at: new Date().toISOString(), toolVersion: VERSION, nodeVersion: process.version, buildId };
}

/** manifest.dataset of a loaded dataset (`run`, and a rescore that reads it again). */
export function manifestDataset(dataset: Dataset): ManifestDataset {
  return {
    name: dataset.name,
    source: dataset.source,
    kind: dataset.kind,
    images: dataset.images.length,
    hash: dataset.hash,
    labelFree: dataset.groundTruth === null,
  };
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
  /**
   * ONNX Runtime execution provider of the ONNX models (`--ep`); absent in manifests written before it existed (cpu).
   */
  executionProvider?: string;
  threads: number | null;
  seed: number;
  resample: {
    kernel: string;
    library: string;
    fitPlacement: 'top-left';
    /**
     * 'aligned': enlargement keeps pixel centres aligned (src/shifts/enlarge.ts). Absent in manifests written before:
     * sharp enlarged those inputs half a pixel off, so they are not paired with newer runs (compatible.ts).
     */
    pixelCentres?: 'aligned';
    /** Sets holding fractions only: how their inputs were made (protocol §1 "Fractional shifts"). */
    subpixel?: {
      path: 'floating-point';
      fit: '16-bit';
      circular: 'fourier';
      padCrop: string;
      rounding: 'half-to-even';
    };
  };
  dataset: ManifestDataset;
  shiftSet: { spec: string; shifts: { dx: number; dy: number }[]; maxOffsetPx: number };
  mode: string;
  scoreThreshold: number;
  /** What determines the detections (identity.ts); a run dir reuses only detections of the same identity. */
  identity: RunIdentity;
  /**
   * Set by a rescore (and by a merge run by another build than the shards'): the shiftbench that recomputed
   * metrics.json from the stored detections, and when. toolVersion,
   * nodeVersion and identity.run.buildId still name the one that ran the detectors.
   */
  rescored?: { at: string; toolVersion: string; nodeVersion: string; buildId: string };
  options: Record<string, unknown>;
  detectors: ManifestDetector[];
  /** A shard's run directory (`--shard i/n`): the split (shard.ts). Absent in a whole run. */
  shard?: ManifestShard;
  /** A run joined from shards (`shiftbench merge`): each shard's run id and directory name, by index. */
  merged?: {
    count: number;
    /**
     * Each shard's run id, directory name and when it was first run (its manifest's createdAt: run ids name the second
     * and the options, which the shards of two runs started together share; absent in merges made before it was kept).
     */
    shards: { index: number; runId: string; dir: string; createdAt?: string }[];
  };
}

/** One skipped image, as skipped.json and metrics.json list it. */
export interface SkippedImage {
  imageId: number;
  fileName: string;
  reason: string;
}

/**
 * The per-shift COCO results files of one detector, written while scoring: `add` appends
 * one image's results at one shift, `finish` completes the temporary files (fsync, closed), `commit` publishes every
 * file (atomically) with the shift index — scoreRun commits every detector's with metrics.json, as it does the ground
 * truth (writeShiftGroundTruth) —, `abort` drops them.
 */
export interface ShiftResultsWriter {
  add(shiftIndex: number, results: readonly CocoResult[]): Promise<void>;
  finish(): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

/** A ShiftResultsWriter that writes nothing (scoring whose files are not wanted, e.g. `compare`). */
export const NO_SHIFT_RESULTS: ShiftResultsWriter = {
  add: async () => undefined,
  finish: async () => undefined,
  commit: async () => undefined,
  abort: async () => undefined,
};

/** Where a run directory comes from: `--out`, or a default under `reportsDir`. */
export interface RunLocation {
  /** `--out`, absolute; null for a default run directory under `reportsDir`. */
  out: string | null;
  reportsDir: string;
  force: boolean;
}

/** Finds the newest unfinished run whose id ends with `-<hash>` under `reportsDir`. */
async function findResumable(reportsDir: string, hash: string): Promise<string | null> {
  let names: string[];
  try {
    names = await readdir(reportsDir);
  } catch {
    return null;
  }
  const candidates = names
    .filter((n) => n.endsWith(`-${hash}`))
    .sort()
    .reverse();
  for (const name of candidates) {
    const dir = path.join(reportsDir, name);
    if ((await exists(path.join(dir, MANIFEST_FILE))) && !(await exists(path.join(dir, METRICS_FILE)))) return dir;
  }
  return null;
}

/** A detector's opened detection log and what it holds. */
export interface OpenedLog {
  log: DetectionLog;
  /** What is kept of each stored image record (no detections), by image id; `log.append` adds to it. */
  stored: Map<number, StoredImage>;
  /** Bytes of a torn last line that were cut when opening. */
  tornBytes: number;
}

/** The images of this invocation, for the per-image identity check. */
export interface ClaimImages {
  images: DatasetImage[];
  /** The per-image identity (content sha256) of each image, by id, for a detector key. */
  sha256: (key: string) => ReadonlyMap<number, string>;
  shiftCount: number;
}

/** What `claim` keeps: the stored manifest (null when starting afresh) and each key's opened log. */
export interface Claim {
  stored: RunManifest | null;
  logs: Map<string, OpenedLog>;
}

const MAX_LISTED_DIFFS = 8;

/**
 * Differences between the stored identity and the current one that matter: with `logs`
 * null, the run level (when the stored run has any detector); with `logs`, each detector
 * key whose log holds records.
 */
export function compareIdentity(stored: RunManifest, now: RunIdentity, logs: Map<string, OpenedLog> | null): string[] {
  const s = stored.identity as Partial<RunIdentity> | undefined;
  const hasDetections = (stored.detectors ?? []).length > 0;
  if (!s || typeof s.run !== 'object' || typeof s.detectors !== 'object' || s.run === null || s.detectors === null) {
    return hasDetections && logs === null
      ? ['identity: stored by an older shiftbench without content hashes → this version']
      : [];
  }
  if (logs === null) return hasDetections ? identityDiff(s.run, now.run) : [];
  const diffs: string[] = [];
  for (const [key, id] of Object.entries(now.detectors)) {
    if (s.detectors[key] !== undefined && (logs.get(key)?.stored.size ?? 0) > 0)
      diffs.push(...identityDiff(s.detectors[key], id).map((d) => `${key}: ${d}`));
  }
  return diffs;
}

function imageDiffs(logs: Map<string, OpenedLog>, images: ClaimImages): string[] {
  const diffs: string[] = [];
  const seen = new Set<number>();
  for (const [key, { stored }] of logs) {
    const hashes = images.sha256(key);
    for (const image of images.images) {
      const r = stored.get(image.id);
      if (!r || isSkipped(r) || seen.has(image.id)) continue; // a skipped image is tried again anyway
      const now = hashes.get(image.id);
      if (r.sha256 !== now) {
        seen.add(image.id);
        diffs.push(`image ${image.id} (${image.fileName}): sha256 ${hashChange(r.sha256, now)}`);
      }
    }
  }
  return diffs;
}

async function closeLogs(logs: Map<string, OpenedLog>): Promise<void> {
  for (const { log } of logs.values()) await log.close();
}

/** What scoring writes at the top of a run directory (metrics.json, reports, skipped.json): the runner's own entries
 * but the manifest and the detections (removed when a run resumes: retireMetrics). */
const SCORING_OUTPUTS = RUN_STORE_ENTRIES.filter(
  (e) => e !== MANIFEST_FILE && e !== DETECTIONS_DIR && e !== PREVIOUS_DIR && e !== PREVIOUS_PARTIAL_DIR,
);

/** What a run directory may hold besides the runner's own entries (temporary files of atomic writes, the lock). */
const RUN_DIR_EXTRA = /^(run\.lock.*|.*\.tmp-\d+|\.shiftbench-write-test-\d+)$/;

/**
 * `--out` must be empty, missing, or a run directory: a folder holding other files is
 * refused (ERR_OUTPUT) before anything is written there.
 */
async function refuseForeignFolder(dir: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return; // missing (created next) or not a folder (ensureWritableDir says so)
  }
  if (names.includes(MANIFEST_FILE)) return;
  const foreign = names.filter((n) => !RUN_STORE_ENTRIES.includes(n) && !RUN_DIR_EXTRA.test(n));
  if (foreign.length > 0) {
    throw new ShiftbenchError(
      'ERR_OUTPUT',
      `--out ${dir} is not empty and is not a shiftbench run directory (it holds ${foreign.slice(0, 3).join(', ')}` +
        `${foreign.length > 3 ? ', …' : ''}). ` +
        'Give a new or empty folder, or the folder of an earlier run to resume it.',
    );
  }
}

/** One run directory: its choice, identity check, manifest and outputs. */
export class RunStore {
  private lease: RunLock | null = null;

  private constructor(
    private directory: string,
    private readonly location: RunLocation,
    private readonly baseIdentity: Record<string, unknown>,
  ) {}

  /** Takes the run-directory lease (lock.ts); ERR_RUN_LOCKED when a live process holds it. */
  async lock(logger: Logger, timing?: LeaseTiming, advice?: string): Promise<void> {
    if (this.lease) return;
    this.lease = await RunLock.acquire(this.directory, logger, timing, advice);
    this.leaseTiming = timing;
    await removeStaleTemps(this.directory); // half-written files of a killed run (the lease says none is alive)
  }

  private leaseTiming: LeaseTiming | undefined;

  /** Before writing a record: throws ERR_RUN_LOCKED when another process took this run's lease over (lock.ts verify). */
  async checkLease(): Promise<void> {
    await this.lease?.verify();
  }

  /** Aborted when another process took this run's lease over (its reason says so); never aborted without a lease. */
  private get lostLease(): AbortSignal {
    return this.lease?.signal ?? new AbortController().signal;
  }

  /** Aborted when `signal` is (Ctrl-C) or this run's lease is lost: what stops work that writes here. */
  stopSignal(signal?: AbortSignal): AbortSignal {
    return signal ? AbortSignal.any([signal, this.lostLease]) : this.lostLease;
  }

  /** Whether this store created its directory (a failed start removes it again when still empty). */
  private createdDir = false;

  /**
   * Releases the lease (if held); safe to call twice. A directory this store created and
   * left without a manifest (a failed start) is removed when empty, so it blocks nothing.
   */
  async release(): Promise<void> {
    const lease = this.lease;
    this.lease = null;
    await lease?.release();
    if (this.createdDir && !(await exists(this.manifestFile))) await rmdir(this.directory).catch(() => undefined);
  }

  /**
   * A store over an existing run directory (to rescore it): throws ERR_RUN_STORE when
   * it holds no manifest.json.
   */
  static async existing(dir: string): Promise<{ store: RunStore; manifest: RunManifest }> {
    if (!is.string(dir)) throw invalidParameterError(RUN_DIR_ARG, 'a run directory path', dir);
    const abs = path.resolve(dir);
    const kind = await stat(abs).catch(() => null);
    if (kind !== null && !kind.isDirectory()) {
      throw new ShiftbenchError(
        'ERR_RUN_STORE',
        `${abs} is not a run directory: it is a file. Give the folder \`shiftbench run\` wrote (its --out).`,
      );
    }
    const manifest = await readJsonOrNull<RunManifest>(path.join(abs, MANIFEST_FILE));
    if (!manifest) {
      throw new ShiftbenchError(
        'ERR_RUN_STORE',
        `${abs} is not a run directory: it has no ${MANIFEST_FILE}. Give the folder \`shiftbench run\` wrote ` +
          `(its --out).`,
      );
    }
    const bad = manifestShapeProblem(manifest);
    if (bad !== null) {
      throw new RunStoreDamage(
        `${path.join(abs, MANIFEST_FILE)} is not a shiftbench run manifest (${bad}): damaged, or another tool's file.`,
        'Rerun the `shiftbench run` command that made this directory with --force, or into a new --out.',
      );
    }
    return { store: new RunStore(abs, { out: abs, reportsDir: path.dirname(abs), force: false }, {}), manifest };
  }

  /** The run directory (absolute). */
  get dir(): string {
    return this.directory;
  }

  /** manifest.json of this run. */
  get manifestFile(): string {
    return path.join(this.directory, MANIFEST_FILE);
  }

  /**
   * Chooses the run directory and checks it is writable (before any dataset or model
   * work): `--out`; else the newest unfinished default run of the same options
   * (`baseIdentity`, without the dataset content) unless `--force`; else a new
   * `reports/<run-id>`. Throws ERR_OUTPUT naming `--out`.
   */
  static async locate(
    location: RunLocation,
    baseIdentity: Record<string, unknown>,
    hash: string,
    logger: Logger,
  ): Promise<RunStore> {
    let dir = location.out;
    if (dir === null) {
      const resumable = location.force ? null : await findResumable(location.reportsDir, hash);
      dir = resumable ?? path.join(location.reportsDir, makeRunId(baseIdentity));
      if (resumable) logger.info(`resuming the unfinished run in ${resumable}`);
    }
    if (location.out !== null) await refuseForeignFolder(dir);
    const existed = await exists(dir);
    await ensureWritableDir(dir);
    const store = new RunStore(dir, location, baseIdentity);
    store.createdDir = !existed;
    return store;
  }

  /**
   * Reads what is stored and decides what may be kept. The stored identity is compared
   * with `identity` (run level, and each detector key both have) and each stored image
   * record of `keys` with the image's content hash. No difference → resume: returns the
   * stored manifest and every key's opened detection log (nothing is removed: the caller
   * calls retireMetrics once it accepts the run). A difference in a default run directory → a
   * new default directory; in `--out` → ERR_RUN_STORE listing each differing field
   * old → new, or with `--force` the runner's own files are removed.
   */
  async claim(identity: RunIdentity, images: ClaimImages, keys: string[], logger: Logger): Promise<Claim> {
    let stored = await readJsonOrNull<RunManifest>(this.manifestFile);
    // run level first: with another shift set the stored logs cannot even be read
    const runDiffs = stored ? compareIdentity(stored, identity, null) : [];
    let logs =
      runDiffs.length === 0 ? await this.openLogs(keys, images.shiftCount, logger) : new Map<string, OpenedLog>();
    const diffs =
      runDiffs.length > 0 || !stored
        ? runDiffs
        : [...compareIdentity(stored, identity, logs), ...imageDiffs(logs, images)];
    if (stored && diffs.length > 0 && this.location.out === null) {
      // the unfinished default run had other data or another setup: start a new default run
      await closeLogs(logs);
      logger.info(
        `the unfinished run in ${this.directory} was made differently (${diffs.slice(0, 3).join('; ')}); ` +
          `starting a new run`,
      );
      const locked = this.lease !== null;
      await this.release();
      this.directory = path.join(this.location.reportsDir, makeRunId(this.baseIdentity));
      await ensureWritableDir(this.directory);
      if (locked) await this.lock(logger, this.leaseTiming);
      stored = null;
      logs = await this.openLogs(keys, images.shiftCount, logger);
    } else if (stored && diffs.length > 0) {
      await closeLogs(logs);
      if (!this.location.force && (await this.holdsNothingComputed())) {
        // a run that failed before its first record (a detector failing on the first image, a mitigation refused
        // at load): nothing to keep, so the corrected command takes the directory
        logger.info(
          `${this.directory} holds no detection yet (its run stopped before storing any), so this run replaces ` +
            `its settings (${diffs.slice(0, MAX_LISTED_DIFFS).join('; ')})`,
        );
        await clearRunStore(this.directory);
        stored = null;
        logs = await this.openLogs(keys, images.shiftCount, logger);
        return { stored, logs };
      }
      if (!this.location.force) {
        const shown =
          diffs.slice(0, MAX_LISTED_DIFFS).join('; ') +
          (diffs.length > MAX_LISTED_DIFFS ? `; … and ${diffs.length - MAX_LISTED_DIFFS} more` : '');
        throw new ShiftbenchError(
          'ERR_RUN_STORE',
          `The run directory ${this.directory} holds detections made differently (${shown}). ` +
            `Use a new --out to keep them, or --force to replace them.`,
        );
      }
      logger.warn(`--force: replacing the run stored in ${this.directory}`);
      await withdrawExperimentEntry(this.directory, logger);
      await clearRunStore(this.directory);
      stored = null;
      logs = await this.openLogs(keys, images.shiftCount, logger);
    } else if (!stored && [...logs.values()].some((l) => l.stored.size > 0)) {
      await closeLogs(logs);
      if (!this.location.force) {
        throw new ShiftbenchError(
          'ERR_RUN_STORE',
          `The run directory ${this.directory} has detections but no ${MANIFEST_FILE}, so it cannot be resumed ` +
            `safely. Use a new --out, or --force to replace it.`,
        );
      }
      await clearRunStore(this.directory);
      logs = await this.openLogs(keys, images.shiftCount, logger);
    }
    return { stored, logs };
  }

  /** True when nothing was computed here: every detection log empty, no metrics.json and no kept results. */
  private async holdsNothingComputed(): Promise<boolean> {
    for (const f of [METRICS_FILE, PREVIOUS_DIR, PREVIOUS_PARTIAL_DIR])
      if (await exists(path.join(this.directory, f))) return false;
    const detections = path.join(this.directory, DETECTIONS_DIR);
    for (const e of await readdir(detections, { withFileTypes: true }).catch(() => [])) {
      if (e.isDirectory()) return false;
      if ((await stat(path.join(detections, e.name))).size > 0) return false;
    }
    return true;
  }

  /**
   * Once the caller has accepted a resumed run (after every check that may still refuse it): what its last scoring
   * wrote — metrics.json, the reports, skipped.json and the per-shift files (detections/<key>/) — no longer describes
   * the directory (the settings or images may differ now), so it goes until scoring writes it again; the detection logs
   * stay. Nothing of another setup is left for report or eval to show if this run stops before then — nor in the
   * summary.json of an experiment this directory is a sub-run of (its entry's numbers are withdrawn first).
   */
  async retireMetrics(stored: RunManifest | null, logger: Logger): Promise<void> {
    if (!stored) return;
    await withdrawExperimentEntry(this.directory, logger);
    await this.settlePrevious();
    if (await exists(path.join(this.directory, METRICS_FILE))) await this.keepAsPrevious(logger);
    for (const f of SCORING_OUTPUTS) await rm(path.join(this.directory, f), { force: true });
    const detections = path.join(this.directory, DETECTIONS_DIR);
    const entries = await readdir(detections, { withFileTypes: true }).catch(() => []);
    for (const e of entries)
      if (e.isDirectory()) await rm(path.join(detections, e.name), { recursive: true, force: true });
  }

  /**
   * The finished results in this directory (metrics.json with the manifest they were computed with, the reports,
   * skipped.json, the per-shift files) moved whole to previous/ (replacing an older one): gathered under
   * previous.partial/, metrics.json last, then renamed. Killed before metrics.json moved, the results stay where they
   * were (settlePrevious drops the partial copy); after, settlePrevious finishes the rename.
   */
  private async keepAsPrevious(logger: Logger): Promise<void> {
    const partial = path.join(this.directory, PREVIOUS_PARTIAL_DIR);
    await rm(partial, { recursive: true, force: true });
    await makeDirDurable(path.join(partial, DETECTIONS_DIR));
    await writeFileAtomic(path.join(partial, MANIFEST_FILE), await readFile(this.manifestFile));
    for (const f of SCORING_OUTPUTS) {
      if (f === METRICS_FILE || !(await exists(path.join(this.directory, f)))) continue;
      await renameDurable(path.join(this.directory, f), path.join(partial, f));
    }
    const detections = path.join(this.directory, DETECTIONS_DIR);
    for (const e of await readdir(detections, { withFileTypes: true }).catch(() => []))
      if (e.isDirectory())
        await renameDurable(path.join(detections, e.name), path.join(partial, DETECTIONS_DIR, e.name));
    await renameDurable(path.join(this.directory, METRICS_FILE), path.join(partial, METRICS_FILE));
    await this.settlePrevious();
    logger.info(
      `the finished results in ${this.directory} are kept in ${path.join(this.directory, PREVIOUS_DIR)} until this ` +
        'run has its own',
    );
  }

  /** previous.partial/ left by a run killed while making it: renamed to previous/ if whole, else dropped. */
  private async settlePrevious(): Promise<void> {
    const partial = path.join(this.directory, PREVIOUS_PARTIAL_DIR);
    if (!(await exists(partial))) return;
    if (!(await exists(path.join(partial, METRICS_FILE)))) {
      await rm(partial, { recursive: true, force: true });
      return;
    }
    const previous = path.join(this.directory, PREVIOUS_DIR);
    await rm(previous, { recursive: true, force: true });
    await renameDurable(partial, previous);
  }

  /** Once this directory has metrics of its own again: the earlier results kept in previous/ go. */
  async dropPrevious(): Promise<void> {
    for (const d of [PREVIOUS_PARTIAL_DIR, PREVIOUS_DIR])
      await rm(path.join(this.directory, d), { recursive: true, force: true });
  }

  /**
   * Called (scoreRun's beforeMetrics) once new metrics.json is staged, by a scoring that runs no model on a directory
   * whose metrics it replaces (a rescore; a `run` with every image stored): `manifest`, with the settings of the new
   * metrics, is written whole first (no room for it: ERR_OUTPUT, the old manifest, metrics and reports in place); then
   * the reports made from the current metrics.json (report.html/json/md/csv) and metrics.json go, and the new manifest
   * goes in place. Killed at any moment, no manifest of one setting is paired with metrics or reports of another.
   * Returns the names of the reports there were, for the caller to render again from the new metrics.
   */
  async replaceManifestBeforeMetrics(manifest: RunManifest): Promise<string[]> {
    await this.checkLease();
    const staged = await stageJson(this.manifestFile, manifest);
    const there: string[] = [];
    try {
      for (const f of REPORT_FILES) {
        const file = path.join(this.directory, f);
        if (!(await stat(file).catch(() => null))) continue;
        there.push(f);
        await rm(file, { force: true });
      }
      await rm(path.join(this.directory, METRICS_FILE), { force: true });
      await staged.commit();
    } catch (err) {
      await staged.abort();
      throw err;
    }
    return there;
  }

  private async openLogs(keys: string[], shiftCount: number, logger: Logger): Promise<Map<string, OpenedLog>> {
    const logs = new Map<string, OpenedLog>();
    try {
      for (const key of keys) {
        const opened = await this.openLog(key, shiftCount);
        if (opened.tornBytes > 0) {
          logger.warn(
            `${key}: the last line of ${path.relative(this.directory, this.logFile(key))} was torn (the run was ` +
              `stopped while writing it); that image is computed again`,
          );
        }
        logs.set(key, opened);
      }
    } catch (err) {
      await closeLogs(logs);
      throw err;
    }
    return logs;
  }

  /** The run id of this directory: the stored one, the default directory's name, or a new one. */
  runId(stored: RunManifest | null): string {
    return stored?.runId ?? (this.location.out === null ? path.basename(this.directory) : makeRunId(this.baseIdentity));
  }

  /** Writes manifest.json atomically. */
  async writeManifest(manifest: RunManifest): Promise<void> {
    await writeJsonAtomic(this.manifestFile, manifest);
  }

  /** detections/<key>.jsonl of one detector (of the run in `runDir`, default this one). */
  logFile(key: string, runDir = this.directory): string {
    const dir = path.join(runDir, DETECTIONS_DIR);
    return path.join(dir, `${keyFileNameIn(dir, key, '.jsonl')}.jsonl`);
  }

  /** Opens a detector's detection log for appending; returns it with the records already stored. */
  openLog(key: string, shiftCount: number): Promise<OpenedLog> {
    return DetectionLog.open(this.logFile(key), shiftCount);
  }

  /** The records stored in a detector's detection log, read only (nothing in the run directory is written). */
  async readLog(key: string, shiftCount: number, file = this.logFile(key)): Promise<OpenedLog['stored']> {
    return (await DetectionLog.open(file, shiftCount, { readOnly: true })).stored;
  }

  /**
   * Streams detections/<key>/shift_<dx>_<dy>.json (COCO results: the detections scored at
   * each shift; `shift_<index>.json` for sets holding fractions): each file is written to
   * a temporary file as results are added and published atomically by `commit`, which
   * also writes detections/<key>/shifts.json (each shift's index, offsets and file) and,
   * when there is ground truth, detections/<key>/ground_truth.json: the ground truth they
   * were scored against (the evaluated images only; crop/circular ignore regions as
   * `iscrowd: 1`), so `shiftbench eval` or pycocotools reproduce each shift's mAP from the
   * two files.
   */
  async shiftResultsWriter(key: string, shifts: Shift[]): Promise<ShiftResultsWriter> {
    const keyDir = path.join(this.directory, DETECTIONS_DIR, keyFileName(key));
    const names = shifts.map((_, s) => `${shiftFileStem({ shifts }, s)}.json`);
    await removeStaleTemps(keyDir); // left by a run killed while writing them
    const writers: AtomicFileWriter[] = [];
    try {
      for (const name of names) writers.push(await AtomicFileWriter.create(path.join(keyDir, name)));
    } catch (err) {
      for (const w of writers) await w.abort();
      throw err;
    }
    const written = new Array<number>(shifts.length).fill(0);
    let finished = false;
    const files: ShiftResultsWriter = {
      add: async (shiftIndex, results) => {
        if (results.length === 0) return;
        const w = writers[shiftIndex];
        const parts: string[] = [];
        for (const r of results) parts.push(JSON.stringify(r));
        await w.write((written[shiftIndex] === 0 ? '[' : ',') + parts.join(','));
        written[shiftIndex] += results.length;
      },
      finish: async () => {
        if (finished) return;
        for (let s = 0; s < writers.length; s++) {
          await writers[s].write(written[s] === 0 ? '[]' : ']');
          await writers[s].finish();
        }
        finished = true;
      },
      commit: async () => {
        await files.finish();
        for (const w of writers) await w.commit();
        const index = names.map((file, s) => ({ index: s, dx: shifts[s].dx, dy: shifts[s].dy, file }));
        await writeJsonAtomic(path.join(keyDir, SHIFT_INDEX_FILE), index, false);
      },
      abort: async () => {
        for (const w of writers) await w.abort();
      },
    };
    return files;
  }

  /**
   * Writes detections/<key>/ground_truth.json: scoreRun puts it in place with the new metrics.json, not when the
   * detector is scored (a rescore on changed labels stopped midway keeps the old pair).
   */
  async writeShiftGroundTruth(key: string, groundTruth: CocoGroundTruth): Promise<void> {
    const keyDir = path.join(this.directory, DETECTIONS_DIR, keyFileName(key));
    await writeJsonAtomic(path.join(keyDir, SHIFT_GROUND_TRUTH_FILE), groundTruth, false);
  }

  /** Writes skipped.json (sorted by image id). */
  async writeSkipped(skipped: SkippedImage[]): Promise<void> {
    await writeJsonAtomic(
      path.join(this.directory, SKIPPED_FILE),
      [...skipped].sort((a, b) => a.imageId - b.imageId),
    );
  }

  /**
   * metrics.json written whole to its temporary file (so there is room for it) but not yet in place: `commit()` puts it
   * there, `abort()` drops it. A write refused for room throws ERR_OUTPUT before anything stored is replaced.
   */
  async stageMetrics(metrics: RunMetrics): Promise<AtomicFileWriter> {
    return stageJson(path.join(this.directory, METRICS_FILE), metrics);
  }
}

/** `value` as JSON (as writeJsonAtomic writes it) in the temporary file of `file`, whole; committed or aborted later. */
function stageJson(file: string, value: unknown): Promise<AtomicFileWriter> {
  return AtomicFileWriter.staged(file, JSON.stringify(value, null, 2) + '\n');
}
