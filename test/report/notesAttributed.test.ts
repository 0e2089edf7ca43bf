/**
 * A note that holds for some detectors of a run only (no interval for one of them, say) names them where the notes of
 * every detector are listed together — the terminal summary and report.md; a note every detector has is said once, as
 * it is.
 */
import { rm } from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { loadReportRun, renderReportMarkdown } from '../../src/report/index.js';
import { formatPairedAndNotes } from '../../src/runner/summary.js';
import { labelledMetrics, writeRunDir } from './fixture.js';

const ONE = 'box and score jitter without intervals: only 8 images have detections matched across shifts';
const ALL = 'a note every detector has';

describe('notes of some detectors only', () => {
  const made: string[] = [];
  afterAll(async () => {
    for (const d of made) await rm(d, { recursive: true, force: true });
  });
  const metrics = () => {
    const m = labelledMetrics();
    for (const r of m.results) r.analysis = { ...(r.analysis ?? {}), notes: [ALL] } as typeof r.analysis;
    const ssd = m.results.find((r) => r.key === 'ssd-mobilenet')!;
    ssd.analysis!.notes = [ALL, ONE];
    return m;
  };

  it('the terminal summary names the detector', () => {
    const lines = formatPairedAndNotes(metrics());
    expect(lines).toContain(`note: ssd-mobilenet: ${ONE}`);
    expect(lines).toContain(`note: ${ALL}`);
    expect(lines.filter((l) => l.includes(ALL))).toHaveLength(1);
  });

  it('report.md names the detector', async () => {
    const dir = await writeRunDir();
    made.push(dir);
    const run = await loadReportRun(dir);
    // the notes as scoring writes them (the fixture's results hold no analysis to check on load)
    run.metrics.results = metrics().results;
    const md = renderReportMarkdown(run);
    expect(md).toContain(`- ssd-mobilenet: ${ONE}`);
    expect(md).toContain(`- ${ALL}`);
    expect(md).not.toContain(`- ${ONE}`);
  });
});
