/**
 * `run` again into a finished run directory with every image stored and only an analysis setting changed (here
 * `--score-threshold`) runs no model: it only scores. Until its new metrics are about to be written it must leave the
 * directory as it was — metrics.json, the manifest (with the settings those metrics were computed with) and every
 * report — so that stopped (Ctrl-C) while scoring, nothing already computed is gone (as a rescore by `report`,
 * rescoreStopped.test.ts). Run to the end it writes the new settings, metrics and the reports there were.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeReportText } from '../../src/report/index.js';
import { runBenchmark } from '../../src/runner/index.js';
import { rejection } from '../helpers/shared.js';
import { makeDataset, runDirFiles as snapshot, tempDir } from './fixtures.js';

const REPORTS = ['report.csv', 'report.html', 'report.json', 'report.md'];

describe('run into a finished directory with only an analysis setting changed', () => {
  let dir: string;
  let dataset: string;
  const options = () => ({ models: ['jitter:96'], dataset, bootstrapResamples: 20, bootstrapBounds: 0, out: dir });

  beforeAll(async () => {
    const root = await tempDir('shiftbench-run-rescore-stopped-');
    dataset = (await makeDataset(path.join(root, 'ds'), 6, { seed: 37 })).file;
    dir = path.join(root, 'run');
    await runBenchmark(options());
    await writeReportText(dir, 'md');
    await writeReportText(dir, 'csv');
  });

  it('stopped (Ctrl-C) while scoring: metrics.json, the manifest and every report are as they were', async () => {
    const before = await snapshot(dir);
    for (const f of [...REPORTS, 'metrics.json', 'manifest.json']) expect(Object.keys(before)).toContain(f);
    const stop = new AbortController();
    const infos: string[] = [];
    const logger = {
      info: (m: string) => {
        infos.push(m);
        if (m.endsWith(': scoring')) stop.abort();
      },
      warn: () => undefined,
    };
    const e = await rejection<Error>(
      runBenchmark({ ...options(), scoreThreshold: 0.3 }, { logger, signal: stop.signal }),
    );
    expect(e.name).toBe('AbortError');
    expect(infos.some((m) => m.includes('all 6 images already stored'))).toBe(true); // no model ran
    expect(await snapshot(dir)).toEqual(before);
  });

  it('the same command run to the end: the new setting in the manifest and metrics, every report rendered again', async () => {
    await runBenchmark({ ...options(), scoreThreshold: 0.3 });
    const after = await snapshot(dir);
    for (const f of REPORTS) expect(Object.keys(after)).toContain(f);
    expect(JSON.parse(after['manifest.json']).options.scoreThreshold).toBe(0.3);
    expect(JSON.parse(after['metrics.json']).results[0].consistency.scoreThreshold).toBe(0.3);
    expect(after['report.md']).toContain('τ = 0.3');
    expect(after['report.csv']).not.toEqual('');
  });
});

/** Every file under `dir` (the per-shift COCO files included) by relative path, but the lock. */
async function treeFiles(dir: string, rel = ''): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const e of (await readdir(path.join(dir, rel), { withFileTypes: true })).sort((a, b) =>
    a.name.localeCompare(b.name),
  )) {
    const p = path.join(rel, e.name);
    if (p === 'run.lock') continue;
    if (e.isDirectory()) Object.assign(out, await treeFiles(dir, p));
    else out[p] = await readFile(path.join(dir, p), 'utf8');
  }
  return out;
}

describe('run into a finished directory of two detectors with another --limit (every image stored)', () => {
  it("stopped while the second detector is scored: the first one's per-shift files are as they were, beside the old metrics", async () => {
    const root = await tempDir('shiftbench-run-rescore-shift-files-');
    const dataset = (await makeDataset(path.join(root, 'ds'), 6, { seed: 41 })).file;
    const dir = path.join(root, 'run');
    const options = {
      models: ['jitter:96', 'oracle:96'],
      dataset,
      bootstrapResamples: 20,
      bootstrapBounds: 0,
      out: dir,
    };
    await runBenchmark(options);
    const before = await treeFiles(dir);
    expect(Object.keys(before).filter((f) => /shift_.*\.json$/.test(f)).length).toBe(8);
    const stop = new AbortController();
    const logger = {
      info: (m: string) => {
        if (m === 'oracle:96: scoring') stop.abort();
      },
      warn: () => undefined,
    };
    // --limit 3: the per-shift files of the new setting hold 3 images, not 6
    const e = await rejection<Error>(runBenchmark({ ...options, limit: 3 }, { logger, signal: stop.signal }));
    expect(e.name).toBe('AbortError');
    expect(await treeFiles(dir)).toEqual(before);
    // run to the end, every file of the new setting is there together
    await runBenchmark({ ...options, limit: 3 });
    const after = await treeFiles(dir);
    const shiftFile = Object.keys(after).find((f) => /jitter.*shift_0_0\.json$/.test(f))!;
    expect(new Set(JSON.parse(after[shiftFile]).map((r: { image_id: number }) => r.image_id)).size).toBeLessThanOrEqual(
      3,
    );
    expect(JSON.parse(after['metrics.json']).dataset.images).toBe(3);
  });
});
