/**
 * The combined summary.json of an experiment matrix (`run --config`, matrix.ts): one entry per sub-run directory
 * with its headline numbers and the analysis settings they were scored with. A sub-run scored again on its own
 * (`shiftbench report <out>/<cell> --score-threshold τ`, a run into the cell) updates its entry, so the summary
 * never shows a cell's numbers of one setting beside its metrics.json of another.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { is } from '../core/is.js';
import type { Logger, RunMetrics } from '../core/types.js';
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

/** The analysis-only settings a sub-run's metrics were scored with, from its manifest.json (null: unreadable). */
export async function experimentAnalysis(runDir: string): Promise<Record<string, unknown> | null> {
  const manifest: unknown = JSON.parse(await readFile(path.join(runDir, MANIFEST_FILE), 'utf8'));
  const o = is.object(manifest) && is.object(manifest.options) ? manifest.options : null;
  if (!o) return null;
  return {
    scoreThreshold: o.scoreThreshold ?? null,
    bootstrapResamples: o.bootstrapResamples ?? null,
    bootstrapSeed: o.bootstrapSeed ?? null,
    bootstrapBounds: o.bootstrapBounds ?? null,
    objectives: o.objectives ?? null,
  };
}

/**
 * After `runDir`'s metrics.json was written: when the folder above it holds an experiment summary.json listing
 * `runDir`, its entry takes the new run id, numbers and analysis settings. A summary that cannot be updated is a
 * warning (metrics.json is complete either way).
 */
export async function updateExperimentSummary(runDir: string, metrics: RunMetrics, logger: Logger): Promise<void> {
  const parent = path.dirname(path.resolve(runDir));
  const file = path.join(parent, EXPERIMENT_SUMMARY_FILE);
  const text = await readFile(file, 'utf8').catch(() => null);
  if (text === null) return;
  try {
    const summary: unknown = JSON.parse(text);
    if (!is.object(summary) || summary.schemaVersion !== 1 || !Array.isArray(summary.runs)) return;
    const entry: unknown = summary.runs.find(
      (r: unknown) => is.object(r) && is.string(r.runDir) && path.resolve(parent, r.runDir) === path.resolve(runDir),
    );
    if (!is.object(entry)) return;
    entry.runId = metrics.runId;
    entry.analysis = await experimentAnalysis(runDir);
    entry.results = experimentResults(metrics);
    await writeJsonAtomic(file, summary);
  } catch (err) {
    logger.warn(
      `could not update ${file} with the new metrics of ${runDir} (${(err as Error).message}); its entry for that ` +
        'run is out of date — run the experiment again (--config) to rewrite it (stored detections are reused)',
    );
  }
}
