/**
 * RunStore: the policy of one run directory — which directory a run uses, whether what
 * is stored there may be resumed (same identity) or must be refused or replaced
 * (`--force`), the manifest, and every file the runner writes there (atomically).
 * The file formats themselves (jsonl detection logs, atomic JSON) are in store.ts.
 */
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { ShiftbenchError } from '../core/errors.js';
import type { CocoGroundTruth, CocoResult, DetectorInfo, Logger, RunMetrics, Shift } from '../core/types.js';
import { shiftLabel } from '../shifts/index.js';
import { makeRunId, stableJson } from './options.js';
import {
  DETECTIONS_DIR,
  DetectionLog,
  MANIFEST_FILE,
  METRICS_FILE,
  SKIPPED_FILE,
  clearRunStore,
  ensureWritableDir,
  exists,
  readJsonOrNull,
  safeFileName,
  writeJsonAtomic,
  type ImageRecord,
} from './store.js';

/** Beside each detector's per-shift results files: the ground truth they are scored against. */
export const SHIFT_GROUND_TRUTH_FILE = 'ground_truth.json';

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

/** The content of a run's manifest.json. */
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

/** One skipped image, as skipped.json and metrics.json list it. */
export interface SkippedImage {
  imageId: number;
  fileName: string;
  reason: string;
}

/** Where a run directory comes from: `--out`, or a default under `reportsDir`. */
export interface RunLocation {
  /** `--out`, absolute; null for a default run directory under `reportsDir`. */
  out: string | null;
  reportsDir: string;
  force: boolean;
}

function describeIdentityDiff(a: Record<string, unknown>, b: Record<string, unknown>): string {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => stableJson(a[k]) !== stableJson(b[k]));
  return keys.map((k) => `${k}: stored ${stableJson(a[k]).slice(0, 60)}, now ${stableJson(b[k]).slice(0, 60)}`).join('; ');
}

/** Finds the newest unfinished run whose id ends with `-<hash>` under `reportsDir`. */
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

/** One run directory: its choice, identity check, manifest and outputs. */
export class RunStore {
  private constructor(
    private directory: string,
    private readonly location: RunLocation,
    private readonly baseIdentity: Record<string, unknown>,
  ) {}

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
  static async locate(location: RunLocation, baseIdentity: Record<string, unknown>, hash: string, logger: Logger): Promise<RunStore> {
    let dir = location.out;
    if (dir === null) {
      const resumable = location.force ? null : await findResumable(location.reportsDir, hash);
      dir = resumable ?? path.join(location.reportsDir, makeRunId(baseIdentity));
      if (resumable) logger.info(`resuming the unfinished run in ${resumable}`);
    }
    await ensureWritableDir(dir);
    return new RunStore(dir, location, baseIdentity);
  }

  /**
   * Reads the stored manifest and decides what may be kept: the same `identity` →
   * resume (returns the stored manifest; an old metrics.json is removed until the new
   * one is written); a default run directory holding other data → a new default
   * directory; a different run in `--out` → ERR_RUN_STORE listing the differences,
   * or with `--force` the runner's own files are removed. Returns null when nothing
   * is kept.
   */
  async claim(identity: Record<string, unknown>, logger: Logger): Promise<RunManifest | null> {
    let stored = await readJsonOrNull<RunManifest>(this.manifestFile);
    if (stored && this.location.out === null && stableJson(stored.identity) !== stableJson(identity)) {
      // the unfinished default run had other data (same options): start a new default run
      this.directory = path.join(this.location.reportsDir, makeRunId(this.baseIdentity));
      await ensureWritableDir(this.directory);
      stored = null;
    }
    if (stored && stableJson(stored.identity) !== stableJson(identity)) {
      if (!this.location.force) {
        throw new ShiftbenchError(
          'ERR_RUN_STORE',
          `The run directory ${this.directory} holds a different run (${describeIdentityDiff(stored.identity ?? {}, identity)}). ` +
            'Use a new --out to keep it, or --force to replace it.',
        );
      }
      logger.warn(`--force: replacing the run stored in ${this.directory}`);
      await clearRunStore(this.directory);
      stored = null;
    } else if (!stored && (await exists(path.join(this.directory, DETECTIONS_DIR)))) {
      if (!this.location.force) {
        throw new ShiftbenchError(
          'ERR_RUN_STORE',
          `The run directory ${this.directory} has detections but no ${MANIFEST_FILE}, so it cannot be resumed safely. Use a new --out, or --force to replace it.`,
        );
      }
      await clearRunStore(this.directory);
    }
    // a resumed run's old metrics.json no longer describes the directory
    if (stored) await rm(path.join(this.directory, METRICS_FILE), { force: true });
    return stored;
  }

  /** The run id of this directory: the stored one, the default directory's name, or a new one. */
  runId(stored: RunManifest | null): string {
    return stored?.runId ?? (this.location.out === null ? path.basename(this.directory) : makeRunId(this.baseIdentity));
  }

  /** Writes manifest.json atomically. */
  async writeManifest(manifest: RunManifest): Promise<void> {
    await writeJsonAtomic(this.manifestFile, manifest);
  }

  /** detections/<key>.jsonl of one detector. */
  logFile(key: string): string {
    return path.join(this.directory, DETECTIONS_DIR, `${safeFileName(key)}.jsonl`);
  }

  /** Opens a detector's detection log for appending; returns it with the records already stored. */
  openLog(key: string, shiftCount: number): Promise<{ log: DetectionLog; stored: Map<number, ImageRecord> }> {
    return DetectionLog.open(this.logFile(key), shiftCount);
  }

  /**
   * Writes detections/<key>/shift_<dx>_<dy>.json (COCO results: the detections scored at
   * each shift) and, when there is ground truth, detections/<key>/ground_truth.json: the
   * ground truth they were scored against (the evaluated images only; crop/circular
   * ignore regions as `iscrowd: 1`), so `shiftbench eval` or pycocotools reproduce each
   * shift's mAP from the two files.
   */
  async writeShiftResults(key: string, shifts: Shift[], perShift: CocoResult[][], groundTruth: CocoGroundTruth | null): Promise<void> {
    const keyDir = path.join(this.directory, DETECTIONS_DIR, safeFileName(key));
    for (let s = 0; s < perShift.length; s++) {
      await writeJsonAtomic(path.join(keyDir, `${shiftLabel(shifts[s])}.json`), perShift[s], false);
    }
    if (groundTruth) await writeJsonAtomic(path.join(keyDir, SHIFT_GROUND_TRUTH_FILE), groundTruth, false);
  }

  /** Writes skipped.json (sorted by image id). */
  async writeSkipped(skipped: SkippedImage[]): Promise<void> {
    await writeJsonAtomic(path.join(this.directory, SKIPPED_FILE), [...skipped].sort((a, b) => a.imageId - b.imageId));
  }

  /** Writes metrics.json: the last file of a run. */
  async writeMetrics(metrics: RunMetrics): Promise<void> {
    await writeJsonAtomic(path.join(this.directory, METRICS_FILE), metrics);
  }
}
