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
import { constants as fsConstants } from 'node:fs';
import { access, mkdir, open, readFile, rm, stat, truncate, writeFile, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { makeDirDurable, syncDirSync, writeAll, writeFailed, writeFileAtomic } from '../core/atomicFile.js';
import { ShiftbenchError } from '../core/errors.js';
import { is } from '../core/is.js';
import type { BoxXYWH } from '../core/types.js';
import { PREVIOUS_DIR } from '../core/fileNames.js';
import { DETECTION_NUMBERS, scanRecordLine } from './logLine.js';

import { MANIFEST_FILE, METRICS_FILE } from '../core/fileNames.js';

export { MANIFEST_FILE, METRICS_FILE };
export const SKIPPED_FILE = 'skipped.json';
export const DETECTIONS_DIR = 'detections';
/** The reports `shiftbench report` writes into a run directory by default (made from its metrics.json). */
export const REPORT_FILES = ['report.html', 'report.json', 'report.md', 'report.csv'];
export { PREVIOUS_DIR };
/** PREVIOUS_DIR while it is being made (renamed to it once whole). */
export const PREVIOUS_PARTIAL_DIR = `${PREVIOUS_DIR}.partial`;
/** Files and folders the runner writes; `--force` removes only these. */
export const RUN_STORE_ENTRIES = [
  MANIFEST_FILE,
  METRICS_FILE,
  SKIPPED_FILE,
  DETECTIONS_DIR,
  'summary.json',
  ...REPORT_FILES,
  PREVIOUS_DIR,
  PREVIOUS_PARTIAL_DIR,
];

/** A detection as stored: [x, y, w, h, score, categoryId], box in ORIGINAL image pixels (projected back, unclipped). */
export type StoredDetection = [number, number, number, number, number, number];

/**
 * One jsonl line: an image evaluated at every shift (`seconds` inside detect, `size` the
 * decoded width × height, detections per shift in shift-set order), or skipped. `sha256`
 * is the image file's content hash (the per-image identity); a later line for the same
 * image (a skipped image retried) replaces an earlier one.
 */
export type ImageRecord =
  | { imageId: number; sha256?: string; seconds: number | null; size: [number, number]; shifts: StoredDetection[][] }
  | { imageId: number; sha256?: string; skipped: string };

export function isSkipped<R extends ImageRecord | StoredImage>(r: R): r is Extract<R, { skipped: string }> {
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
      `Cannot write the run directory ${dir} (${flag}): ${(err as Error).message}. ` +
        `Choose a writable folder with ${flag} <dir>.`,
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

/**
 * A damaged file of a run directory (not JSON, not a detection log, a damaged line), ERR_RUN_STORE: `finding` says
 * what (and how it may be repaired in place); the message adds the fix for the run itself — start over with --force
 * or a new --out — which a merge of shards replaces with its own (merge.ts).
 */
export class RunStoreDamage extends ShiftbenchError {
  constructor(
    readonly finding: string,
    startOver: string,
    options?: { cause?: unknown },
  ) {
    super('ERR_RUN_STORE', `${finding} ${startOver}`, options);
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
    throw new RunStoreDamage(
      `${file} is not valid JSON (${(err as Error).message}).`,
      'Delete it, or start over with --force or a new --out.',
      { cause: err },
    );
  }
}

/**
 * Writes JSON atomically (temporary file, fsync, rename, fsync of the directory:
 * core/atomicFile.ts), so a crash never leaves half a file.
 */
export async function writeJsonAtomic(file: string, value: unknown, pretty = true): Promise<void> {
  await writeFileAtomic(file, pretty ? JSON.stringify(value, null, 2) + '\n' : JSON.stringify(value));
}

/**
 * Removes what a previous run wrote in `dir` (only the runner's own entries): what scoring made from the detections
 * first, then the detections, the manifest last — so a process killed partway leaves a directory that is still that
 * run's (its manifest with less of its output), never its metrics or reports without the manifest they belong to,
 * which the next command would take for an empty directory and leave beside its own manifest.
 */
export async function clearRunStore(dir: string): Promise<void> {
  const order = [
    ...RUN_STORE_ENTRIES.filter((e) => e !== MANIFEST_FILE && e !== DETECTIONS_DIR),
    DETECTIONS_DIR,
    MANIFEST_FILE,
  ];
  for (const entry of order) await rm(path.join(dir, entry), { recursive: true, force: true });
}

/** What a record's keys other than `shifts` say: a skipped image, an evaluated one, or not a record (false). */
function checkRecordHeader(r: Record<string, unknown>): 'skipped' | 'evaluated' | false {
  if (!Number.isInteger(r.imageId)) return false;
  if (r.sha256 !== undefined && typeof r.sha256 !== 'string') return false;
  if (typeof r.skipped === 'string') return 'skipped';
  const size = r.size as unknown;
  if (!Array.isArray(size) || size.length !== 2 || !size.every((v) => Number.isInteger(v) && v > 0)) return false;
  return typeof r.seconds === 'number' || r.seconds === null ? 'evaluated' : false;
}

function checkRecord(value: unknown, shiftCount: number): value is ImageRecord {
  if (typeof value !== 'object' || value === null) return false;
  const r = value as Record<string, unknown>;
  const kind = checkRecordHeader(r);
  if (kind !== 'evaluated') return kind === 'skipped';
  return (
    Array.isArray(r.shifts) &&
    r.shifts.length === shiftCount &&
    r.shifts.every(
      (list) =>
        Array.isArray(list) &&
        list.every(
          (d) =>
            Array.isArray(d) &&
            d.length === DETECTION_NUMBERS &&
            d.every((x) => typeof x === 'number' && isFinite(x)) &&
            is.int32(d[DETECTION_NUMBERS - 1]), // the category id: a 32-bit integer, as the detection columns store it
        ),
    )
  );
}

/**
 * Bytes read per chunk when a detection log is scanned (one line is never read whole into a string larger than itself).
 */
export const LOG_CHUNK_BYTES = 1 << 20;
/** Longest line a detection log may hold (about 2 million detections in one image record). */
export const MAX_LINE_BYTES = 256 << 20;

/**
 * Calls `onLine` with the bytes of each complete line of `fh` (without its newline), its
 * byte offset and byte length, reading `chunkBytes` at a time. The bytes are a view valid
 * only during the call (the read buffer is reused). Returns the bytes up to the end of the
 * last complete line and the file's total bytes (the difference is a torn tail without its
 * newline). Throws ERR_RUN_STORE for a line longer than `maxLineBytes`.
 */
export async function forEachLineBytes(
  fh: FileHandle,
  file: string,
  onLine: (line: Buffer, offsetBytes: number, lineBytes: number) => void,
  chunkBytes = LOG_CHUNK_BYTES,
  maxLineBytes = MAX_LINE_BYTES,
): Promise<{ completeBytes: number; totalBytes: number }> {
  const buf = Buffer.allocUnsafe(chunkBytes);
  let parts: Buffer[] = [];
  let partBytes = 0;
  let lineStart = 0;
  let pos = 0;
  for (;;) {
    const { bytesRead } = await fh.read(buf, 0, chunkBytes, pos);
    if (bytesRead === 0) break;
    const view = buf.subarray(0, bytesRead);
    let from = 0;
    for (let nl = view.indexOf(10, from); nl >= 0; nl = view.indexOf(10, from)) {
      const piece = view.subarray(from, nl);
      const lineBytes = partBytes + piece.length;
      const line = partBytes > 0 ? Buffer.concat([...parts, piece], lineBytes) : piece;
      parts = [];
      partBytes = 0;
      onLine(line, lineStart, lineBytes);
      lineStart += lineBytes + 1;
      from = nl + 1;
    }
    if (from < bytesRead) {
      partBytes += bytesRead - from;
      if (partBytes > maxLineBytes) {
        throw new RunStoreDamage(
          `${file} has a line longer than ${maxLineBytes} bytes at byte ${lineStart}: it is not a detection log.`,
          'Start over with --force or a new --out.',
        );
      }
      parts.push(Buffer.from(view.subarray(from)));
    }
    pos += bytesRead;
  }
  return { completeBytes: lineStart, totalBytes: pos };
}

/**
 * forEachLineBytes with each line as a string: a file of any size is read with strings no
 * longer than one line.
 */
export function forEachLine(
  fh: FileHandle,
  file: string,
  onLine: (text: string, offsetBytes: number, lineBytes: number) => void,
  chunkBytes = LOG_CHUNK_BYTES,
  maxLineBytes = MAX_LINE_BYTES,
): Promise<{ completeBytes: number; totalBytes: number }> {
  return forEachLineBytes(fh, file, (line, o, b) => onLine(line.toString('utf8'), o, b), chunkBytes, maxLineBytes);
}

/**
 * What the run keeps in memory of one stored image record: everything but the
 * detections, and where its line is in the jsonl (`offsetBytes`, `lineBytes`) so scoring
 * reads the detections back one image at a time (RecordReader).
 */
export type StoredImage =
  | {
      imageId: number;
      sha256?: string;
      seconds: number | null;
      size: [number, number];
      /** Detections over all shifts. */
      detections: number;
      offsetBytes: number;
      lineBytes: number;
    }
  | { imageId: number; sha256?: string; skipped: string };

/** A record without its detections (what a log line's header says). */
type RecordHeader =
  Exclude<ImageRecord, { shifts: unknown }> | Omit<Extract<ImageRecord, { shifts: unknown }>, 'shifts'>;

/** Detections over all shifts of a record (0 for a skipped image). */
function detectionCount(r: ImageRecord): number {
  let n = 0;
  if (!isSkipped(r)) for (const list of r.shifts) n += list.length;
  return n;
}

/** The StoredImage of a record's header with `detections` over all its shifts, at its place in the log. */
function storedImage(r: RecordHeader, detections: number, offsetBytes: number, lineBytes: number): StoredImage {
  const sha = r.sha256 !== undefined ? { sha256: r.sha256 } : {};
  if ('skipped' in r) return { imageId: r.imageId, ...sha, skipped: r.skipped };
  return { imageId: r.imageId, ...sha, seconds: r.seconds, size: r.size, detections, offsetBytes, lineBytes };
}

/**
 * What the run keeps of one log line, or null when the line is damaged or holds another
 * number of shifts than `shiftCount`. A line in the run's own layout is read without
 * building its detections (logLine.ts); any other line is parsed in full and checked the
 * same way.
 */
function storedImageOfLine(
  line: Buffer,
  shiftCount: number,
  offsetBytes: number,
  lineBytes: number,
): StoredImage | null {
  const fast = scanRecordLine(line);
  if (fast && !('shifts' in fast.header) && !('skipped' in fast.header)) {
    const h = fast.header;
    if (checkRecordHeader(h) !== 'evaluated' || fast.shiftLists !== shiftCount) return null;
    return storedImage(h as RecordHeader, fast.detections, offsetBytes, lineBytes);
  }
  let value: unknown;
  try {
    value = JSON.parse(line.toString('utf8'));
  } catch {
    return null;
  }
  return checkRecord(value, shiftCount) ? storedImage(value, detectionCount(value), offsetBytes, lineBytes) : null;
}

/** Options of DetectionLog.open. */
export interface DetectionLogOptions {
  /** fsync at most this often while appending (and on close); default 2000 ms. */
  syncEveryMs?: number;
  /** Bytes read per chunk when scanning the stored lines (default LOG_CHUNK_BYTES). */
  chunkBytes?: number;
  /**
   * Only read what is stored (compare, check --baseline): nothing is created, cut or opened
   * for writing, so a read-only run directory works; a torn last line is left out of
   * `stored` but stays in the file, and `append` throws.
   */
  readOnly?: boolean;
}

/**
 * An append-only jsonl of image records for one detector. `open` scans what is stored
 * line by line (never the whole file as one string; a line in the run's own layout is
 * checked and its detections counted from its bytes, without parsing them: logLine.ts),
 * cuts a torn last line (from a kill mid-write) and then appends. It keeps no detections
 * in memory: `stored` holds each image's StoredImage (a later line for an image replaces
 * an earlier one) and is kept up to date by `append`. Lines are written with one `write` each and fsync'd at most every
 * `syncEveryMs` (and on close).
 */
export class DetectionLog {
  private fh: FileHandle | null = null;
  private lastSyncMs = 0;
  private dirty = false;
  /** Bytes in the file (where the next line starts). */
  private sizeBytes = 0;
  /** Every stored image, by id, with where its line is. */
  readonly stored = new Map<number, StoredImage>();

  private constructor(
    readonly file: string,
    private readonly syncEveryMs: number,
  ) {}

  /**
   * Opens (creating) `file`; returns the log, the images already stored (the log's live
   * `stored` map) and `tornBytes`: the bytes of a torn or damaged last line that were cut
   * (0 if none). Throws ERR_RUN_STORE when a line other than the last is damaged or has
   * the wrong number of shifts (the store is not from this run).
   */
  static async open(
    file: string,
    shiftCount: number,
    opts: DetectionLogOptions = {},
  ): Promise<{ log: DetectionLog; stored: Map<number, StoredImage>; tornBytes: number }> {
    if (!opts.readOnly) await makeDirDurable(path.dirname(file)); // detections/, made by the first log
    const log = new DetectionLog(file, opts.syncEveryMs ?? 2000);
    let tornBytes = 0;
    let reader: FileHandle | null = null;
    try {
      reader = await open(file, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new ShiftbenchError('ERR_RUN_STORE', `Could not read ${file}: ${(err as Error).message}`, { cause: err });
      }
    }
    if (reader) {
      let goodBytes = 0;
      let damagedLine = 0; // a damaged line is dropped only when it is the last one
      let lineNo = 0;
      const damaged = (line: number) =>
        new RunStoreDamage(
          `${file} line ${line} is damaged or was written for a different shift set. If only that line is damaged, ` +
            `delete it (Delete line ${line}: \`sed -i '${line}d' ${file}\`): its image is computed again and every ` +
            `other line is kept.`,
          'Else start over with --force or a new --out.',
        );
      let ends: { completeBytes: number; totalBytes: number };
      try {
        ends = await forEachLineBytes(
          reader,
          file,
          (line, offsetBytes, lineBytes) => {
            lineNo++;
            if (damagedLine > 0) throw damaged(damagedLine);
            const kept = storedImageOfLine(line, shiftCount, offsetBytes, lineBytes);
            if (!kept) {
              damagedLine = lineNo;
              return;
            }
            log.stored.set(kept.imageId, kept);
            goodBytes = offsetBytes + lineBytes + 1;
          },
          opts.chunkBytes,
        );
      } catch (err) {
        if (err instanceof ShiftbenchError) throw err;
        throw new ShiftbenchError('ERR_RUN_STORE', `Could not read ${file}: ${(err as Error).message}`, { cause: err });
      } finally {
        await reader.close();
      }
      // a damaged last line is dropped like a torn one, unless a torn tail follows it
      if (damagedLine > 0 && ends.completeBytes !== ends.totalBytes) throw damaged(damagedLine);
      tornBytes = ends.totalBytes - goodBytes;
      if (tornBytes > 0 && !opts.readOnly) await truncate(file, goodBytes);
      log.sizeBytes = goodBytes;
    }
    if (opts.readOnly) return { log, stored: log.stored, tornBytes };
    log.fh = await open(file, 'a');
    if (!reader) syncDirSync(path.dirname(file)); // a new log: its directory entry survives a crash
    log.lastSyncMs = Date.now();
    return { log, stored: log.stored, tornBytes };
  }

  /** Appends one record as one line; returns (and keeps in `stored`) what the run keeps of it. */
  async append(record: ImageRecord): Promise<StoredImage> {
    if (!this.fh) throw new ShiftbenchError('ERR_INTERNAL', `detection log ${this.file} is closed`);
    const line = JSON.stringify(record);
    const lineBytes = Buffer.byteLength(line, 'utf8');
    try {
      await writeAll(this.fh, Buffer.from(line + '\n', 'utf8'));
    } catch (err) {
      // whole lines only: what was written of this one goes, so the log stays a log
      await this.fh.truncate(this.sizeBytes).catch(() => undefined);
      throw writeFailed(this.file, err);
    }
    const kept = storedImage(record, detectionCount(record), this.sizeBytes, lineBytes);
    this.sizeBytes += lineBytes + 1;
    this.stored.set(record.imageId, kept);
    this.dirty = true;
    if (Date.now() - this.lastSyncMs >= this.syncEveryMs) await this.sync();
    return kept;
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

/**
 * Reads stored image records back from a detection log, one line at a time by its
 * StoredImage position (scoring holds one image's detections at a time).
 */
export class RecordReader {
  private constructor(
    readonly file: string,
    private readonly fh: FileHandle,
  ) {}

  /** Opens `file` for reading; ERR_RUN_STORE when it cannot be read. */
  static async open(file: string): Promise<RecordReader> {
    try {
      return new RecordReader(file, await open(file, 'r'));
    } catch (err) {
      throw new ShiftbenchError('ERR_RUN_STORE', `Could not read ${file}: ${(err as Error).message}`, { cause: err });
    }
  }

  /** The record at `at`; ERR_RUN_STORE when the line there is not that image's record (the file changed meanwhile). */
  async read(at: Extract<StoredImage, { offsetBytes: number }>): Promise<Extract<ImageRecord, { shifts: unknown }>> {
    const buf = Buffer.allocUnsafe(at.lineBytes);
    const { bytesRead } = await this.fh.read(buf, 0, at.lineBytes, at.offsetBytes);
    let value: unknown;
    try {
      value = bytesRead === at.lineBytes ? JSON.parse(buf.toString('utf8')) : undefined;
    } catch {
      value = undefined;
    }
    const r = value as Partial<Extract<ImageRecord, { shifts: unknown }>> | undefined;
    if (!r || r.imageId !== at.imageId || !Array.isArray(r.shifts)) {
      throw new ShiftbenchError(
        'ERR_RUN_STORE',
        `${this.file} changed while it was read (image ${at.imageId} is no longer at byte ${at.offsetBytes}). ` +
          `Run the command again.`,
      );
    }
    return r as Extract<ImageRecord, { shifts: unknown }>;
  }

  async close(): Promise<void> {
    await this.fh.close();
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

export { syncDirSync } from '../core/atomicFile.js';
export { keyFileName, keyFileNameIn, safeFileName } from '../core/fileNames.js';
