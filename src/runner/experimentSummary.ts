/**
 * The combined summary.json of an experiment matrix (`run --config`, matrix.ts): one entry per sub-run directory
 * with its headline numbers and the analysis settings they were scored with. A sub-run scored again on its own
 * (`shiftbench report <out>/<cell> --score-threshold τ`, a run into the cell) updates its entry, so the summary
 * never shows a cell's numbers of one setting beside its metrics.json of another. Before a cell's metrics.json is
 * removed or replaced, its entry's numbers are withdrawn (null), so a process killed in between leaves no numbers
 * rather than numbers metrics.json no longer holds.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { writeFailed } from '../core/atomicFile.js';
import { ShiftbenchError } from '../core/errors.js';
import { is } from '../core/is.js';
import type { Logger, RunMetrics } from '../core/types.js';
import { RunLock } from '../core/lock.js';
import { MANIFEST_FILE, writeJsonAtomic } from './store.js';

export const EXPERIMENT_SUMMARY_FILE = 'summary.json';

/** The headline numbers of every detector of a sub-run, as summary.json lists them. */
export function experimentResults(metrics: RunMetrics): Record<string, unknown>[] {
  return metrics.results.map((d) => ({
    key: d.key,
    model: d.model,
    mitigation: d.mitigation,
    family: d.family,
    mapRef: d.bounds?.mapRef ?? null,
    mapRange: d.bounds?.mapRange ?? null,
    relRange: d.bounds?.relRange ?? null,
    flipRate: d.consistency.flipRate?.mean ?? null,
    detConsistency: d.consistency.detConsistency.mean,
    costRatio: d.timing.costRatio,
    imagesEvaluated: d.imagesEvaluated,
  }));
}

/**
 * The analysis-only settings a sub-run's metrics were scored with, from its manifest.json (null: unreadable).
 * bootstrapBounds is the B its bounds intervals were computed with, read from the metrics: the manifest holds null
 * where no --bootstrap-bounds was given, and the default it stood for depends on the images and shifts (0: no
 * interval, also where too few images gave none); null only where no detector has bounds (no ground truth).
 */
export async function experimentAnalysis(runDir: string, metrics: RunMetrics): Promise<Record<string, unknown> | null> {
  const manifest: unknown = JSON.parse(await readFile(path.join(runDir, MANIFEST_FILE), 'utf8'));
  const o = is.object(manifest) && is.object(manifest.options) ? manifest.options : null;
  if (!o) return null;
  const withBounds = metrics.results.filter((r) => r.bounds !== null);
  const boundsResamples = withBounds.length
    ? Math.max(...withBounds.map((r) => r.analysis?.boundsInterval?.resamples ?? 0))
    : null;
  return {
    scoreThreshold: o.scoreThreshold ?? null,
    bootstrapResamples: o.bootstrapResamples ?? null,
    bootstrapSeed: o.bootstrapSeed ?? null,
    bootstrapBounds: boundsResamples,
    objectives: o.objectives ?? null,
  };
}

/** The experiment summary.json in the folder above `runDir`, parsed, and its entry for `runDir`; null when none. */
async function summaryEntryOf(
  runDir: string,
): Promise<{ file: string; summary: Record<string, unknown>; entry: Record<string, unknown> } | null> {
  const parent = path.dirname(path.resolve(runDir));
  const file = path.join(parent, EXPERIMENT_SUMMARY_FILE);
  const text = await readFile(file, 'utf8').catch(() => null);
  if (text === null) return null;
  const summary: unknown = JSON.parse(text);
  if (!is.object(summary) || summary.schemaVersion !== 1 || !Array.isArray(summary.runs)) return null;
  const entry: unknown = summary.runs.find(
    (r: unknown) => is.object(r) && is.string(r.runDir) && path.resolve(parent, r.runDir) === path.resolve(runDir),
  );
  return is.object(entry) ? { file, summary, entry } : null;
}

/** The lock beside an experiment's summary.json: its updates are read-modify-write, one process at a time. */
const SUMMARY_LOCK_FILE = 'summary.lock';
/** How long an update waits for another's (each holds the lock for one read and one write). */
const SUMMARY_LOCK_WAIT_MS = 60_000;

/**
 * Runs `fn` holding the lock of the experiment summary in `dir` (a lease as a run's, lock.ts: a killed holder's is
 * taken over). Several cells rescored at once (`report <cell> --score-threshold τ &` for each) each rewrite the whole
 * summary: unlocked, the last writer would put back the entries the others had just updated.
 */
export async function withSummaryLock<T>(dir: string, logger: Logger, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + SUMMARY_LOCK_WAIT_MS;
  let lock: RunLock;
  for (;;) {
    try {
      lock = await RunLock.acquire(dir, logger, {}, SUMMARY_LOCKED_ADVICE, SUMMARY_LOCK_FILE);
      break;
    } catch (err) {
      if (!(err instanceof ShiftbenchError) || err.code !== 'ERR_RUN_LOCKED' || Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}

const SUMMARY_LOCKED_ADVICE =
  "Another shiftbench command is updating this experiment's summary.json; run this one again when it is done.";

/**
 * Changes `runDir`'s entry in the experiment summary.json above it and writes the summary, with the summary's lock
 * held; the entry is read again under the lock, so what another process wrote meanwhile is kept. `change` says
 * whether to write. Where no summary lists `runDir` nothing is done and no lock file is made.
 */
async function changeEntry(
  runDir: string,
  logger: Logger,
  change: (entry: Record<string, unknown>) => Promise<boolean>,
): Promise<void> {
  if ((await summaryEntryOf(runDir)) === null) return;
  await withSummaryLock(path.dirname(path.resolve(runDir)), logger, async () => {
    const found = await summaryEntryOf(runDir);
    if (found === null || !(await change(found.entry))) return;
    try {
      await writeJsonAtomic(found.file, found.summary);
    } catch (err) {
      throw err instanceof ShiftbenchError ? err : writeFailed(found.file, err);
    }
  });
}

/**
 * Before `runDir`'s metrics.json is removed or replaced (a run resumed with other settings, `--force`, a rescore): when
 * an experiment summary.json above it lists `runDir`, its entry's numbers and analysis settings become null, so a
 * process killed before updateExperimentSummary never leaves the summary showing numbers metrics.json no longer
 * holds. A summary that is not JSON is a warning; one that cannot be written throws ERR_OUTPUT (writeFailed), before
 * anything of the run is removed.
 */
export async function withdrawExperimentEntry(runDir: string, logger: Logger): Promise<void> {
  try {
    await changeEntry(runDir, logger, async (entry) => {
      if (entry.results === null && entry.analysis === null) return false;
      entry.analysis = null;
      entry.results = null;
      return true;
    });
  } catch (err) {
    if (!(err instanceof SyntaxError)) throw err; // the summary's JSON (a write that fails is ERR_OUTPUT)
    logger.warn(
      `${path.join(path.dirname(path.resolve(runDir)), EXPERIMENT_SUMMARY_FILE)} is not an experiment summary ` +
        `(${err.message}); its entry for ${runDir} is not updated`,
    );
  }
}

/**
 * After `runDir`'s metrics.json was written: when the folder above it holds an experiment summary.json listing
 * `runDir`, its entry takes the new run id, numbers and analysis settings. A summary that cannot be updated is a
 * warning (metrics.json is complete either way).
 */
export async function updateExperimentSummary(runDir: string, metrics: RunMetrics, logger: Logger): Promise<void> {
  const file = path.join(path.dirname(path.resolve(runDir)), EXPERIMENT_SUMMARY_FILE);
  try {
    await changeEntry(runDir, logger, async (entry) => {
      entry.runId = metrics.runId;
      entry.analysis = await experimentAnalysis(runDir, metrics);
      entry.results = experimentResults(metrics);
      return true;
    });
  } catch (err) {
    logger.warn(
      `could not update ${file} with the new metrics of ${runDir} (${(err as Error).message}); its entry for that ` +
        'run is out of date — run the experiment again (--config) to rewrite it (stored detections are reused)',
    );
  }
}
