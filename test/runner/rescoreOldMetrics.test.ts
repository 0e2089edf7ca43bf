/**
 * `shiftbench report RUN` refuses a metrics.json of another schemaVersion (an older shiftbench) with the fix
 * `shiftbench report RUN --rescore`. That fix must work whatever the old file holds: a rescore scores every detector of
 * the manifest when metrics.json does not list them as this version does — never a TypeError, never "run it again"
 * (a model run) for metrics that only need recomputing.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadReportRun } from '../../src/report/index.js';
import { rescoreRun, runBenchmark } from '../../src/runner/index.js';
import { rejection } from '../helpers/shared.js';
import { makeDataset, tempDir } from './fixtures.js';

describe('report --rescore of a metrics.json written by an older shiftbench', () => {
  let dir: string;
  let keys: string[];

  beforeAll(async () => {
    const root = await tempDir('shiftbench-rescore-old-');
    const { file: dataset } = await makeDataset(path.join(root, 'ds'), 4, { seed: 61 });
    dir = path.join(root, 'run');
    const r = await runBenchmark({
      models: ['jitter:96'],
      mitigations: ['input-blur:1'],
      dataset,
      bootstrapResamples: 20,
      bootstrapBounds: 0,
      out: dir,
    });
    keys = r.metrics.results.map((x) => x.key);
  });

  it.each([
    ['no results list', { schemaVersion: 0, runs: [] }],
    ['results without keys', { schemaVersion: 0, results: [{ name: 'jitter:96' }] }],
    ['results not a list', { schemaVersion: 0, results: { 'jitter:96': {} } }],
  ])('%s: refused by report naming --rescore, which rescores every detector of the manifest', async (_n, old) => {
    await writeFile(path.join(dir, 'metrics.json'), JSON.stringify(old));
    const refused = await rejection(loadReportRun(dir));
    expect(refused.message).toContain(`shiftbench report ${dir} --rescore`);
    const metrics = await rescoreRun(dir);
    expect(metrics.schemaVersion).toBe(1);
    expect(metrics.results.map((x) => x.key)).toEqual(keys);
    const stored = JSON.parse(await readFile(path.join(dir, 'metrics.json'), 'utf8'));
    expect(stored.results.map((x: { key: string }) => x.key)).toEqual(keys);
    await loadReportRun(dir); // readable now
  });
});

describe('rescore of a run whose manifest records a setting this version refuses (an older shiftbench allowed it)', () => {
  it.each([
    ['bootstrapResamples', 10, '--bootstrap', { bootstrapResamples: 20 }],
    ['bootstrapBounds', 5, '--bootstrap-bounds', { bootstrapBounds: 0 }],
  ] as const)(
    'saved %s %i: refused naming the manifest, the flag and the fix; nothing changed; the fix rescores',
    async (field, value, flag, fix) => {
      const root = await tempDir('shiftbench-rescore-old-setting-');
      const { file: dataset } = await makeDataset(path.join(root, 'ds'), 4, { seed: 62 });
      const dir = path.join(root, 'run');
      await runBenchmark({ models: ['jitter:96'], dataset, bootstrapResamples: 20, bootstrapBounds: 0, out: dir });
      const manifestFile = path.join(dir, 'manifest.json');
      const manifest = JSON.parse(await readFile(manifestFile, 'utf8'));
      manifest.options[field] = value;
      await writeFile(manifestFile, JSON.stringify(manifest, null, 2));
      const before = await Promise.all(
        ['manifest.json', 'metrics.json'].map((f) => readFile(path.join(dir, f), 'utf8')),
      );
      const e = await rejection(rescoreRun(dir, { scoreThreshold: 0.3 }));
      expect(e.code).toBe('ERR_INVALID_OPTION');
      expect(e.message).toContain(`for ${flag} but received ${value}`);
      expect(e.message).toContain(manifestFile);
      expect(e.message).toContain(`give ${flag}`);
      expect(
        await Promise.all(['manifest.json', 'metrics.json'].map((f) => readFile(path.join(dir, f), 'utf8'))),
      ).toEqual(before);
      const metrics = await rescoreRun(dir, { scoreThreshold: 0.3, ...fix });
      expect(metrics.results[0].consistency.scoreThreshold).toBe(0.3);
    },
  );
});
