/** bench:metrics's comparison of the workers' bounds with the one-thread bounds (its own module so a test imports it). */

/** How the first bounds run went: workers skipped (--skip-workers), or their fallback to this thread (null: none). */
export interface WorkersRun {
  skipWorkers: boolean;
  fallback: string | null;
}

/**
 * Whether the workers' answer equals the one-thread answer bit for bit; null when there is nothing to compare: no
 * one-thread run, or the first run did not use workers (skipped, or fell back to this thread — then it was a
 * one-thread run too and the comparison could not fail).
 */
export function workersIdenticalToOneThread(run: WorkersRun, workers: unknown, oneThread: unknown): boolean | null {
  if (oneThread === null || run.skipWorkers || run.fallback !== null) return null;
  return JSON.stringify(oneThread) === JSON.stringify(workers);
}
