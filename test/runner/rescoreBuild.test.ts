/**
 * A rescore recomputes metrics.json from stored detections with the shiftbench that runs it now. The manifest's
 * toolVersion and the identity's buildId name the build that ran the detectors; the build that computed the metrics
 * must be recorded too (and shown by the report), or a report reads as if one build made both.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { VERSION } from '../../src/version.js';
import { loadReportRun, renderReportHtml } from '../../src/report/index.js';
import { rescoreRun, runBenchmark } from '../../src/runner/index.js';
import { fakeEnv, gtDetector, makeDataset, tempDir } from './fixtures.js';

describe('a rescore by another build', () => {
  it('records the build that recomputed the metrics, keeps the one that ran the detections, and the report says both', async () => {
    const root = await tempDir('shiftbench-rescore-build-');
    const { file, gt } = await makeDataset(path.join(root, 'ds'), 5, { seed: 7 });
    const out = path.join(root, 'run');
    const detectors = { jitter: () => gtDetector('jitter', gt, { noisePx: 2 }) };
    await runBenchmark(
      { models: ['jitter'], dataset: file, bootstrapResamples: 20, bootstrapBounds: 0, out },
      { env: fakeEnv(detectors, { buildId: async () => 'build-a' }) },
    );
    const ran = JSON.parse(await readFile(path.join(out, 'manifest.json'), 'utf8'));
    expect(ran.identity.run.buildId).toBe('build-a');
    expect(ran.rescored).toBeUndefined();

    await rescoreRun(out, { scoreThreshold: 0.3 }, { env: fakeEnv(detectors, { buildId: async () => 'build-b' }) });
    const after = JSON.parse(await readFile(path.join(out, 'manifest.json'), 'utf8'));
    // the detections' build is unchanged (they were not rerun); the metrics' build is recorded beside it
    expect(after.identity.run.buildId).toBe('build-a');
    expect(after.rescored).toMatchObject({ buildId: 'build-b', toolVersion: VERSION, nodeVersion: process.version });
    expect(Number.isNaN(Date.parse(after.rescored.at))).toBe(false);

    const run = await loadReportRun(out);
    expect(run.essentials.rescored).toEqual(after.rescored);
    const html = await renderReportHtml(run);
    expect(html).toContain('Metrics recomputed');
    expect(html).toContain('build-b');
  });
});
