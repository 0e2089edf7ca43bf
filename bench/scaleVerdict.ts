/** bench:scale's verdict on its runs (a module of its own so that a test can import it without running the bench). */

/** What of bench:scale's report the verdict reads. */
export interface ScaleReportPart {
  resume?:
    | { error: string }
    | {
        killedBy: string | null;
        exitCodeB: number | null;
        imagesDetectedAgain: number;
        metricsIdenticalToUninterrupted: boolean;
      };
}

/**
 * Why the bench failed (empty: it did not): the resume threw (run C failed), run B crashed before the kill, run C
 * detected images again or its metrics differ from run A's. The peak RSS target is a PASS flag, not a failure.
 */
export function scaleFailures(report: ScaleReportPart): string[] {
  const r = report.resume;
  if (!r) return [];
  if ('error' in r) return [`resume: ${r.error}`];
  const out: string[] = [];
  if (r.killedBy === null && r.exitCodeB !== 0) out.push(`run B exited with code ${r.exitCodeB} before the kill`);
  if (r.imagesDetectedAgain !== 0) out.push(`the resumed run detected ${r.imagesDetectedAgain} images again`);
  if (!r.metricsIdenticalToUninterrupted) out.push('the resumed run’s metrics differ from the uninterrupted run’s');
  return out;
}
