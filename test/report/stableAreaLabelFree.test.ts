/**
 * Protocol §1 in crop and circular modes on a label-free dataset (a folder of photos): only the stable area is scored,
 * which there means only that detections centred outside it are dropped from the consistency metrics. The notes of
 * the terminal, report.md and report.html say that, and nothing of ground truth, crowd regions or an mAP the run
 * does not have. A real small run with the fakes (test/report/runs.ts).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { stableAreaNote } from '../../src/core/messages.js';
import type { RunMetrics } from '../../src/core/types.js';
import { loadReportRun, renderReport, renderReportMarkdown } from '../../src/report/index.js';
import { formatPairedAndNotes } from '../../src/runner/summary.js';
import { makeRun, makeRunFixture, type RunFixture } from './runs.js';

const NOTHING_OF_GROUND_TRUTH = /ground.truth|crowd|mAP/i;

describe('crop mode on a folder of photos (no labels)', () => {
  let fx: RunFixture;
  let dir: string;
  let metrics: RunMetrics;

  beforeAll(async () => {
    fx = await makeRunFixture(12);
    ({ dir, metrics } = await makeRun(fx, 'crop-photos', {
      dataset: path.join(path.dirname(fx.dataset), 'images'),
      mode: 'crop',
      mitigations: [],
    }));
  });

  it('the run is label-free and every detector has the counts of what crop mode dropped', () => {
    expect(metrics.dataset.labelFree).toBe(true);
    for (const r of metrics.results) expect(r.scoredContent?.detectionsTotal).toBeGreaterThan(0);
  });

  it('the terminal and report.md say only that detections centred outside the stable area are dropped', async () => {
    const sc = metrics.results[0].scoredContent!;
    const note = stableAreaNote(metrics)!;
    expect(note).toContain('detections centred outside it are dropped');
    expect(note).toContain(`${sc.detectionsDropped} of ${sc.detectionsTotal} detections`);
    expect(note).not.toMatch(NOTHING_OF_GROUND_TRUTH);
    const terminal = formatPairedAndNotes(metrics).join('\n');
    expect(terminal).toContain(note);
    const md = renderReportMarkdown(await loadReportRun(dir));
    const mdNote = md.split('\n').find((l) => l.includes('stable area'))!;
    expect(mdNote).not.toMatch(NOTHING_OF_GROUND_TRUTH);
  });

  it('report.html explains crop mode and its dropped detections without ground truth', async () => {
    const { htmlPath } = await renderReport(dir);
    const html = await readFile(htmlPath, 'utf8');
    const stableSentences = html.split(/(?<=\.)\s|<[^>]*>/).filter((s) => s.includes('stable area'));
    expect(stableSentences.length).toBeGreaterThan(0);
    for (const s of stableSentences) expect(s).not.toMatch(NOTHING_OF_GROUND_TRUTH);
    expect(html).not.toContain('Ground-truth boxes outside the stable area');
    expect(html).toContain('Detections dropped (centre outside the stable area, all shifts)');
  });
});
