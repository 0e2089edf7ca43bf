/**
 * The run store: one directory per run.
 *
 *   manifest.json                  what was run (versions, hashes, options) — written first
 *   detections/<key>.jsonl         append-only, one line per image: its detections at every shift
 *   detections/<key>/shift_<dx>_<dy>.json   COCO results per shift, written when a detector finishes
 *   skipped.json                   images that failed to decode
 *   metrics.json                   RunMetrics, written last
 *
 * Resume: a stopped run (Ctrl-C, kill -9) leaves complete lines in the jsonl and at
 * most one torn last line; reopening drops the torn tail and keeps every complete
 * line, so the same command recomputes only what is missing.
 */
import { closeSync, constants as fsConstants, fsyncSync, openSync } from 'node:fs';
import { access, mkdir, open, readFile, rename, rm, stat, truncate, writeFile, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { ShiftbenchError } from '../core/errors.js';
import type { BoxXYWH } from '../core/types.js';

export const MANIFEST_FILE = 'manifest.json';
export const METRICS_FILE = 'metrics.json';
export const SKIPPED_FILE = 'skipped.json';
export const DETECTIONS_DIR = 'detections';
/** Files and folders the runner writes; `--force` removes only these. */
export const RUN_STORE_ENTRIES = [MANIFEST_FILE, METRICS_FILE, SKIPPED_FILE, DETECTIONS_DIR, 'summary.json', 'report.html', 'report.json'];

/** A detection as stored: [x, y, w, h, score, categoryId], box in ORIGINAL image pixels (projected back, unclipped). */
export type StoredDetection = [number, number, number, number, number, number];

/**
 * One jsonl line: an image evaluated at every shift (`seconds` inside detect, `size` the
 * decoded width × height, detections per shift in shift-set order), or skipped. `sha256`
 * is the image file's content hash (the per-image identity); a later line for the same
 * image (a skipped image retried) replaces an earlier one.
 */
export type ImageRecord =
  | { imageId: number; sha256?: string; seconds: number; size: [number, number]; shifts: StoredDetection[][] }
  | { imageId: number; sha256?: string; skipped: string };

export function isSkipped(r: ImageRecord): r is { imageId: number; sha256?: string; skipped: string } {
  return 'skipped' in r;
}

/**
 * Makes sure `dir` exists and is writable, by creating it and writing a probe file.
 * Throws ERR_OUTPUT naming the path.
 */
export async function ensureWritableDir(dir: string, flag = '--out'): Promise<void> {
  try {
    await makeDirs(path.resolve(dir));
    const st = await stat(dir);
    if (!st.isDirectory()) throw new Error('it is not a directory');
    const probe = path.join(dir, `.shiftbench-write-test-${process.pid}`);
    await writeFile(probe, '');
    await rm(probe, { force: true });
  } catch (err) {
    throw new ShiftbenchError(
      'ERR_OUTPUT',
      `Cannot write the run directory ${dir} (${flag}): ${(err as Error).message}. Choose a writable folder with ${flag} <dir>.`,
      { cause: err },
    );
  }
}

/**
 * mkdir -p, one level at a time from the deepest existing folder (Node's recursive
 * mkdir never returns on some virtual file systems, e.g. under /proc).
 */
async function makeDirs(dir: string): Promise<void> {
  const missing: string[] = [];
  let at = dir;
  for (;;) {
    try {
      const st = await stat(at);
      if (!st.isDirectory()) throw new Error(`${at} is not a directory`);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      const up = path.dirname(at);
      if (up === at) throw err;
      missing.push(at);
      at = up;
    }
  }
  for (const d of missing.reverse()) {
    try {
      await mkdir(d);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}

/** Reads a JSON file, or null when absent. Throws ERR_RUN_STORE when it exists but is not JSON. */
export async function readJsonOrNull<T>(file: string): Promise<T | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new ShiftbenchError('ERR_RUN_STORE', `Could not read ${file}: ${(err as Error).message}`, { cause: err });
  }
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new ShiftbenchError(
      'ERR_RUN_STORE',
      `${file} is not valid JSON (${(err as Error).message}). Delete it, or start over with --force or a new --out.`,
      { cause: err },
    );
  }
}

/** Writes JSON atomically (temp file + fsync + rename), so a crash never leaves half a file. */
export async function writeJsonAtomic(file: string, value: unknown, pretty = true): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(pretty ? JSON.stringify(value, null, 2) + '\n' : JSON.stringify(value));
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, file);
}

/** Removes what a previous run wrote in `dir` (only the runner's own entries). */
export async function clearRunStore(dir: string): Promise<void> {
  for (const entry of RUN_STORE_ENTRIES) await rm(path.join(dir, entry), { recursive: true, force: true });
}

function checkRecord(value: unknown, shiftCount: number): value is ImageRecord {
  if (typeof value !== 'object' || value === null) return false;
  const r = value as Record<string, unknown>;
  if (!Number.isInteger(r.imageId)) return false;
  if (r.sha256 !== undefined && typeof r.sha256 !== 'string') return false;
  if (typeof r.skipped === 'string') return true;
  const size = r.size as unknown;
  if (!Array.isArray(size) || size.length !== 2 || !size.every((v) => Number.isInteger(v) && v > 0)) return false;
  return typeof r.seconds === 'number' && Array.isArray(r.shifts) && r.shifts.length === shiftCount && r.shifts.every(Array.isArray);
}

/**
 * An append-only jsonl of image records for one detector. `open` reads what is stored,
 * cuts a torn last line (from a kill mid-write) and then appends. Lines are written
 * with one `write` each and fsync'd at most every `syncEveryMs` (and on close).
 */
export class DetectionLog {
  private fh: FileHandle | null = null;
  private lastSyncMs = 0;
  private dirty = false;

  private constructor(readonly file: string, private readonly syncEveryMs: number) {}

  /**
   * Opens (creating) `file`; returns the log, the records already stored, by image id,
   * and `tornBytes`: the bytes of a torn or damaged last line that were cut (0 if none).
   * Throws ERR_RUN_STORE when a line other than the last is damaged or has the wrong
   * number of shifts (the store is not from this run).
   */
  static async open(
    file: string,
    shiftCount: number,
    syncEveryMs = 2000,
  ): Promise<{ log: DetectionLog; stored: Map<number, ImageRecord>; tornBytes: number }> {
    await mkdir(path.dirname(file), { recursive: true });
    const stored = new Map<number, ImageRecord>();
    let tornBytes = 0;
    let text = '';
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new ShiftbenchError('ERR_RUN_STORE', `Could not read ${file}: ${(err as Error).message}`, { cause: err });
      }
    }
    if (text.length > 0) {
      const end = text.lastIndexOf('\n') + 1; // everything after the last newline is a torn write
      const lines = text.slice(0, end).split('\n');
      lines.pop();
      let goodBytes = 0;
      for (let i = 0; i < lines.length; i++) {
        const line = lines[i];
        let value: unknown;
        try {
          value = JSON.parse(line);
        } catch {
          value = undefined;
        }
        if (!checkRecord(value, shiftCount)) {
          if (i === lines.length - 1 && end === text.length) break; // a damaged last line: drop it too
          throw new ShiftbenchError(
            'ERR_RUN_STORE',
            `${file} line ${i + 1} is damaged or was written for a different shift set. Start over with --force or a new --out.`,
          );
        }
        stored.set(value.imageId, value);
        goodBytes += Buffer.byteLength(line, 'utf8') + 1;
      }
      tornBytes = Buffer.byteLength(text, 'utf8') - goodBytes;
      if (tornBytes > 0) await truncate(file, goodBytes);
    }
    const log = new DetectionLog(file, syncEveryMs);
    log.fh = await open(file, 'a');
    log.lastSyncMs = Date.now();
    return { log, stored, tornBytes };
  }

  /** Appends one record as one line. */
  async append(record: ImageRecord): Promise<void> {
    if (!this.fh) throw new ShiftbenchError('ERR_INTERNAL', `detection log ${this.file} is closed`);
    await this.fh.write(JSON.stringify(record) + '\n');
    this.dirty = true;
    if (Date.now() - this.lastSyncMs >= this.syncEveryMs) await this.sync();
  }

  async sync(): Promise<void> {
    if (this.fh && this.dirty) {
      await this.fh.sync();
      this.dirty = false;
    }
    this.lastSyncMs = Date.now();
  }

  /** Syncs and closes; safe to call twice. */
  async close(): Promise<void> {
    if (!this.fh) return;
    const fh = this.fh;
    this.fh = null;
    try {
      if (this.dirty) await fh.sync();
    } finally {
      await fh.close();
    }
  }
}

/** Converts stored detections back to COCO boxes. */
export function storedBox(d: StoredDetection): BoxXYWH {
  return [d[0], d[1], d[2], d[3]];
}

/** True if `file` exists. */
export async function exists(file: string): Promise<boolean> {
  try {
    await access(file, fsConstants.F_OK);
    return true;
  } catch {
    return false;
  }
}

/** fsyncs a directory entry (best effort; not supported everywhere). */
export function syncDirSync(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    /* not supported on this platform: fine */
  }
}

export { safeFileName } from '../core/fileNames.js';
