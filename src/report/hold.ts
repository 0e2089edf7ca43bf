/**
 * What a report holds of the run directory it reads, so that it shows one setup's numbers or none. A run or rescore
 * replaces a directory's manifest, per-shift files and metrics.json one after another while it holds the directory's
 * lock (core/lock.ts): a report read meanwhile could mix two setups, and one written meanwhile could put a report of the
 * old metrics over the new one.
 * - Writing into the directory itself (the default report.html): the report takes the lock while it reads and writes,
 *   so a live run is refused (ERR_RUN_LOCKED) and no run starts until the report is written.
 * - Reading only (--out elsewhere, stdout, compare, check): it refuses a directory a live run holds, and finds no run
 *   there and the same metrics.json once it has read everything, before it writes.
 * - previous/ (the finished results a run adding to the directory keeps while it runs): read while that run holds the
 *   parent's lock. It is never rewritten, only removed once the run finishes, so it must still be there, unchanged,
 *   and a report is never written into it after it is gone (which would make the folder again, holding a report alone).
 * A run rendering its own report holds the lock itself and reads as its writer.
 */
import { existsSync, type Stats } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { WriteFailedError } from '../core/atomicFile.js';
import { ShiftbenchError } from '../core/errors.js';
import { METRICS_FILE, PREVIOUS_DIR, isKeptPrevious } from '../core/fileNames.js';
import { RunLock, refuseLiveOwner } from '../core/lock.js';
import type { Logger } from '../core/types.js';

/**
 * What ERR_RUN_LOCKED advises a report of `dir`: its report comes at the end; previous/, where the run keeps them,
 * shows the results of before.
 */
function runningAdvice(dir: string): string {
  const previous = path.join(dir, PREVIOUS_DIR);
  return (
    'A run (or rescore) is writing it now: run this again once it has finished (a run renders its own report).' +
    (existsSync(path.join(previous, METRICS_FILE))
      ? ` While it runs, \`shiftbench report ${previous}\` shows the finished results it replaces.`
      : '')
  );
}

/** The identity of a file as it is now (a replaced file is a new inode), or null when absent. */
async function stamp(file: string): Promise<string | null> {
  const st: Stats | null = await stat(file).catch(() => null);
  return st === null ? null : `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
}

/** A report's hold on the run directory it reads: `beforeWrite` once everything is read, `release` at the end. */
export interface ReportHold {
  /** Whether the report's own files may create their folder (not inside a directory another process may remove). */
  readonly makeDir: boolean;
  /** Throws ERR_OUTPUT / ERR_RUN_LOCKED when what was read may mix two setups: nothing may be written then. */
  beforeWrite(): Promise<void>;
  release(): Promise<void>;
}

/** Whether `file` lies in `dir` or a folder under it. */
function inside(dir: string, file: string): boolean {
  const rel = path.relative(dir, file);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

/**
 * Takes the hold of a report of `runDir` that writes `outFiles` (none: it only reads). A path that is not a directory
 * gets no hold: loading it says what is wrong. Throws ERR_RUN_LOCKED when a live run holds the directory.
 */
export async function holdRunForReport(runDir: string, outFiles: string[], logger?: Logger): Promise<ReportHold> {
  const dir = path.resolve(runDir);
  if (!(await stat(dir).catch(() => null))?.isDirectory())
    return { makeDir: true, beforeWrite: async () => undefined, release: async () => undefined };
  const previous = isKeptPrevious(dir);
  const writesInside = outFiles.some((f) => inside(dir, path.resolve(f)));
  const advice = runningAdvice(previous ? path.dirname(dir) : dir);
  let lock: RunLock | null = null;
  const ours = !previous && (await refuseLiveOwner(dir, advice)).heldHere; // a run rendering its own report
  if (writesInside && !previous && !ours) {
    try {
      lock = await RunLock.acquire(dir, logger ?? { info: () => undefined, warn: () => undefined }, {}, advice);
    } catch (err) {
      if (!(err instanceof WriteFailedError)) throw err;
      throw new ShiftbenchError(
        'ERR_OUTPUT',
        `Could not write in ${dir}, where the report goes: ${(err.cause as Error).message}. Pass --out FILE to write ` +
          'the report elsewhere.',
        { cause: err },
      );
    }
  }
  const metricsFile = path.join(dir, METRICS_FILE);
  const read = await stamp(metricsFile);
  return {
    makeDir: !(previous && writesInside), // previous/ may go meanwhile; the run directory is held
    async beforeWrite() {
      if (lock) return lock.verify(); // no run can have written here since the lock was taken
      if (!previous) await refuseLiveOwner(dir, advice);
      if (previous && (await stat(dir).catch(() => null)) === null) {
        const parent = path.dirname(dir);
        throw new ShiftbenchError(
          'ERR_OUTPUT',
          `${dir} was removed while the report read it: the run adding to ${parent} finished (or started ` +
            `again) and dropped the results of before. Nothing was written; \`shiftbench report ${parent}\` shows ` +
            'its results.',
        );
      }
      if ((await stamp(metricsFile)) !== read)
        throw new ShiftbenchError(
          'ERR_OUTPUT',
          `${metricsFile} was replaced while the report read it (a run or rescore wrote it): what was read may mix ` +
            'two setups, so nothing was written; run the same command again.',
        );
    },
    release: async () => lock?.release(),
  };
}
