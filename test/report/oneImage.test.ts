/**
 * A run of one image (a quick look with --limit 1): every text the reports write counts it as "1 image" and its objects
 * as "1 object" where there is one — the HTML report, report.md and compare, from a real small run with the fakes.
 */
import { readFile, rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareRuns, renderComparisonHtml, renderComparisonText, renderReport } from '../../src/report/index.js';
import { renderReportMarkdown, loadReportRun } from '../../src/report/index.js';
import { pairRuns } from '../../src/runner/pairRuns.js';
import { makeRun, makeRunFixture, type RunFixture } from './runs.js';

describe('a run of one image', () => {
  let fx: RunFixture;
  let dir: string;
  let dir2: string;
  beforeAll(async () => {
    fx = await makeRunFixture(1);
    ({ dir } = await makeRun(fx, 'one', { models: ['shaky'], mitigations: [] }));
    ({ dir: dir2 } = await makeRun(fx, 'two', { models: ['shaky'], mitigations: [] }));
  });
  afterAll(async () => {
    await rm(fx.root, { recursive: true, force: true });
  });

  it('says "1 image", never "1 images", in the HTML report, report.md and compare', async () => {
    // the page's own text (the bundled chart library's code is not)
    const html = (await readFile((await renderReport(dir)).htmlPath, 'utf8')).replace(/<script[\s\S]*?<\/script>/g, '');
    const md = renderReportMarkdown(await loadReportRun(dir));
    const c = await compareRuns([dir, dir2], (a, b, keys) => pairRuns(a, b, { keys }));
    for (const [name, text] of [
      ['html', html],
      ['md', md],
      ['compare', renderComparisonText(c)],
      ['compare html', renderComparisonHtml(c).replace(/<script[\s\S]*?<\/script>/g, '')],
    ]) {
      expect(text, name).toMatch(/\b1 image\b/);
      expect(text, name).not.toMatch(/\b1 (images|objects)\b/);
    }
  });
});
