/**
 * A labelled COCO dataset whose evaluated images carry no annotation (labelFree: false in metrics.json, no mAP since
 * there is no ground truth): the report, check and compare texts say what is true — no ground truth, so no mAP — and
 * never call it label-free. A real small run with the fakes (test/report/runs.ts) on such a dataset.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ShiftbenchError } from '../../src/core/errors.js';
import type { Detector, RunMetrics } from '../../src/core/types.js';
import {
  checkRunDir,
  compareRuns,
  loadReportRun,
  renderComparisonHtml,
  renderComparisonText,
  renderReport,
  renderReportMarkdown,
} from '../../src/report/index.js';
import { pairRuns } from '../../src/runner/pairRuns.js';
import { fakeEnv as fakeDetectors, fakeInfo } from '../runner/fixtures.js';
import { makeRun, makeRunFixture, type RunFixture } from './runs.js';

describe('a labelled dataset with no annotation in the evaluated images', () => {
  let fx: RunFixture;
  let dir: string;
  let dir2: string;
  let metrics: RunMetrics;

  beforeAll(async () => {
    fx = await makeRunFixture(6);
    const empty = path.join(fx.root, 'ds', 'empty.json');
    await writeFile(empty, JSON.stringify({ ...fx.gt, annotations: [] }));
    const noGt = { ...fx, dataset: empty }; // the fakes still detect the fixture's objects
    ({ dir, metrics } = await makeRun(noGt, 'run', { models: ['shaky'], mitigations: [] }));
    ({ dir: dir2 } = await makeRun(noGt, 'run2', { models: ['shaky'], mitigations: [] }));
  });
  afterAll(async () => {
    await rm(fx.root, { recursive: true, force: true });
  });

  it('is a labelled run without mAP (the premise)', () => {
    expect(metrics.dataset.labelFree).toBe(false);
    expect(metrics.results[0].bounds).toBeNull();
  });

  it('report.md says there is no ground truth, not that the dataset is label-free', async () => {
    const md = renderReportMarkdown(await loadReportRun(dir));
    expect(md).not.toMatch(/label-free|no labels/i);
    expect(md).toContain('No ground truth in the evaluated images: no mAP, only consistency metrics.');
    expect(md).toContain('- `shaky`: no mAP (no ground truth in the evaluated images): consistency metrics only.');
  });

  it('report.html says there is no ground truth, not that the dataset has no labels', async () => {
    const html = await readFile((await renderReport(dir, { gallery: 0 })).htmlPath, 'utf8');
    expect(html).not.toMatch(/label-free|no labels/i);
    expect(html).toContain('no ground truth in the evaluated images');
  });

  it('check --max-flip-rate: the flip rate has no value (no ground truth), not merely no interval', async () => {
    const err = await checkRunDir(dir, { maxFlipRate: 0.2 }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ShiftbenchError);
    expect((err as Error).message).toBe(
      `Cannot judge ${dir}:\n  - shaky: no flip rate (no ground truth in the evaluated images), so --max-flip-rate ` +
        `cannot be judged`,
    );
    const range = await checkRunDir(dir, { maxRange: 0.03 }).then(
      () => null,
      (e: unknown) => e,
    );
    expect((range as Error).message).toContain(
      'shaky: no mAP (no ground truth in the evaluated images), so --max-range (a limit on mAP) cannot be judged',
    );
  });

  it('compare says no ground truth, not label-free', async () => {
    const c = await compareRuns([dir, dir2], (a, b, keys) => pairRuns(a, b, { keys }));
    const text = renderComparisonText(c);
    expect(text).not.toMatch(/label-free|no labels/i);
    expect(text).toContain('no detector with mAP in both (no ground truth): no paired difference');
    expect(renderComparisonHtml(c)).not.toMatch(/label-free|no labels/i);
  });
});

describe('a detector that finds nothing: mAP 0 at every shift', () => {
  let fx: RunFixture;
  let dirs: string[];

  beforeAll(async () => {
    fx = await makeRunFixture(12);
    const none = (): Detector => ({
      info: fakeInfo('none'),
      detect: async (batch) => batch.map(() => []),
      dispose: async () => {},
    });
    const env = fakeDetectors({ none });
    dirs = [];
    for (const name of ['a', 'b'])
      dirs.push((await makeRun(fx, name, { models: ['none'], mitigations: [] }, 3, env)).dir);
  });
  afterAll(async () => {
    await rm(fx.root, { recursive: true, force: true });
  });

  it('compare says why its rel. range is "—" (mAP at (0,0) is 0), in text and HTML', async () => {
    const c = await compareRuns(dirs, (a, b, keys) => pairRuns(a, b, { keys }));
    const why = 'rel. range —: mAP at (0,0) is 0 for none (a range relative to 0 is undefined)';
    expect(renderComparisonText(c)).toContain(why);
    expect(renderComparisonHtml(c)).toContain(why);
  });
});
