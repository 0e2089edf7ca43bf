/**
 * The cost cell of a plain detector (its own baseline: no ratio to show) says so in report.md as it does in
 * report.html ("baseline"). Before, report.md showed a bare "—" there with no reason anywhere in the page, while the
 * HTML of the same run said "baseline" (coco128, yolox-nano and fastestdet with input-blur:1).
 */
import { describe, expect, it } from 'vitest';
import { reportManifestEssentials, type ReportRun } from '../../src/report/load.js';
import { renderReportMarkdown } from '../../src/report/markdown.js';
import { labelledMetrics, manifest } from './fixture.js';

describe('report.md: the cost of a plain detector', () => {
  it('is "baseline", as in report.html, not a bare —', () => {
    const run: ReportRun = {
      runDir: '/runs/x',
      manifest: manifest(),
      essentials: reportManifestEssentials(manifest()),
      metrics: labelledMetrics(),
    };
    const md = renderReportMarkdown(run);
    const row = (key: string) => md.split('\n').find((l) => l.startsWith(`| \`${key}\` |`))!;
    const cells = (key: string) => row(key).split(' | ');
    // the cost column is the one before images
    expect(cells('centernet').at(-2)).toBe('baseline');
    expect(cells('centernet+input-blur:1').at(-2)).toBe('×1.85');
  });
});
