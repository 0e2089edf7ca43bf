/**
 * A rescore that stops before it writes the new metrics (Ctrl-C while scoring, a bad setting, the lease taken over)
 * leaves metrics.json as it was ("stopped: metrics.json is unchanged"): the reports rendered from that metrics.json
 * (report.html with report.json, report.md, report.csv) describe it still, so they stay too — nothing already
 * computed is lost. They go only once the new metrics are about to replace it (rescoreKill.test.ts: never a report of
 * one setting beside metrics of another).
 */
import { rename } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeReportText } from '../../src/report/index.js';
import { rescoreRun, runBenchmark } from '../../src/runner/index.js';
import { rejection } from '../helpers/shared.js';
import { makeDataset, runDirFiles as snapshot, tempDir } from './fixtures.js';

const REPORTS = ['report.csv', 'report.html', 'report.json', 'report.md'];

describe('a rescore that stops before writing the new metrics', () => {
  let dir: string;
  let root: string;

  beforeAll(async () => {
    root = await tempDir('shiftbench-rescore-stopped-');
    const { file: dataset } = await makeDataset(path.join(root, 'ds'), 6, { seed: 31 });
    dir = path.join(root, 'run');
    await runBenchmark({ models: ['jitter:96'], dataset, bootstrapResamples: 20, bootstrapBounds: 0, out: dir });
    await writeReportText(dir, 'md');
    await writeReportText(dir, 'csv');
  });

  it('stopped (Ctrl-C) while scoring: metrics.json and every report are as they were', async () => {
    const before = await snapshot(dir);
    for (const f of [...REPORTS, 'metrics.json', 'manifest.json']) expect(Object.keys(before)).toContain(f);
    const stop = new AbortController();
    const logger = {
      info: (m: string) => {
        if (m.endsWith(': scoring')) stop.abort();
      },
      warn: () => undefined,
    };
    const e = await rejection<Error>(rescoreRun(dir, { scoreThreshold: 0.3 }, { logger, signal: stop.signal }));
    expect(e.name).toBe('AbortError');
    expect(await snapshot(dir)).toEqual(before);
  });

  it('a bad setting: refused naming the flag, metrics.json and every report as they were', async () => {
    const before = await snapshot(dir);
    const e = await rejection(rescoreRun(dir, { bootstrapBounds: 5 }));
    expect(e.code).toBe('ERR_INVALID_OPTION');
    expect(e.message).toContain('--bootstrap-bounds');
    expect(await snapshot(dir)).toEqual(before);
  });

  it('the dataset moved since the run: refused naming the path the manifest records and the fix report can take', async () => {
    const before = await snapshot(dir);
    await rename(path.join(root, 'ds'), path.join(root, 'ds-moved'));
    try {
      const e = await rejection(rescoreRun(dir, { scoreThreshold: 0.3 }));
      expect(e.code).toBe('ERR_DATASET');
      expect(e.message).toContain(path.join(root, 'ds', 'instances.json'));
      expect(e.message).toContain(path.join(dir, 'manifest.json'));
      // report has no --dataset: the fix is the dataset back where the run read it, never a model run
      expect(e.message).toMatch(/put the dataset back at .* and rescore again/);
      expect(e.message).toContain('no model');
    } finally {
      await rename(path.join(root, 'ds-moved'), path.join(root, 'ds'));
    }
    expect(await snapshot(dir)).toEqual(before);
  });

  it('the same rescore run to the end renders every report again from the new metrics', async () => {
    await rescoreRun(dir, { scoreThreshold: 0.3 });
    const after = await snapshot(dir);
    for (const f of REPORTS) expect(Object.keys(after)).toContain(f);
    expect(JSON.parse(after['metrics.json']).results[0].consistency.scoreThreshold).toBe(0.3);
    expect(after['report.md']).toContain('τ = 0.3');
  });
});
