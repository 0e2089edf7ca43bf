/** File names of the run directory layout, shared by the runner (writes) and the report (reads). */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';

/**
 * A file-name-safe form of a string (unsafe characters as `_`, no leading dot, at most 120 characters). Lossy: `a/b`
 * and `a_b`, or two long strings with one prefix, get one name — for names shown to people (run folders of a
 * matrix); a detector key's files are named by keyFileName.
 */
export function safeFileName(key: string): string {
  return key
    .replace(/[^A-Za-z0-9._+=@-]+/g, '_')
    .replace(/^\.+/, '_')
    .slice(0, 120);
}

/**
 * The file name of a detector key (its `detections/<name>` folder and `<name>.jsonl` log): the key itself when it is
 * already a safe name, else its safe form (cut to 107 characters) with the first 12 hex digits of the key's SHA-256,
 * so that two keys never share a file — which would mix two detectors' results in one row.
 */
export function keyFileName(key: string): string {
  const safe = safeFileName(key);
  if (safe === key) return safe;
  return `${safe.slice(0, 107)}_${createHash('sha256').update(key).digest('hex').slice(0, 12)}`;
}

/**
 * The name of a detector key's file `<name><suffix>` in `dir` (a run's detections/): keyFileName, or — in a run
 * directory written before keys were hashed into file names, where only that exists — the key's safeFileName.
 */
export function keyFileNameIn(dir: string, key: string, suffix = ''): string {
  const name = keyFileName(key);
  const legacy = safeFileName(key);
  if (legacy === name || existsSync(path.join(dir, name + suffix))) return name;
  return existsSync(path.join(dir, legacy + suffix)) ? legacy : name;
}

/**
 * In a run directory: the last finished results (their manifest, metrics.json, reports, skipped.json, per-shift files)
 * while a run adding to it has not finished; `shiftbench report <run>/previous` reads them.
 */
export const PREVIOUS_DIR = 'previous';

/** A run directory's manifest and metrics. */
export const MANIFEST_FILE = 'manifest.json';
export const METRICS_FILE = 'metrics.json';

/**
 * Whether `dir` is the previous/ a run keeps inside its run directory (whose manifest.json lies beside it), rather than
 * a run directory of its own that a user named "previous".
 */
export function isKeptPrevious(dir: string): boolean {
  return path.basename(dir) === PREVIOUS_DIR && existsSync(path.join(path.dirname(dir), MANIFEST_FILE));
}
