/**
 * A run directory holds every detector stored in it, and its metrics cover every one of them: a `run` that names only
 * some of the detectors stored there scores the others from their stored detections (no model is run again), and
 * refuses — before running any model, keeping the earlier metrics — when one of them is not stored for every image of
 * this run (its numbers would be of other images). Before, the manifest kept such a detector while metrics.json,
 * the reports and its per-shift files lost it, with exit 0.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { CocoGroundTruth, Detector, RunMetrics } from '../../src/core/types.js';
import { runBenchmark } from '../../src/runner/index.js';
import { rejection } from '../helpers/shared.js';
import { fakeEnv, gtDetector, makeDataset, tempDir } from './fixtures.js';

describe('run into a directory that holds other detectors', () => {
  let root: string;
  let dataset: string;
  let gt: CocoGroundTruth;
  const N = 10;
  const opts = { shifts: 'grid:1', bootstrapResamples: 20, bootstrapBounds: 20 };
  /** Fakes counting their loads: a detector run again would be loaded again. */
  const loads: Record<string, number> = {};
  const fakes = (names: string[]) =>
    Object.fromEntries(
      names.map((n) => [
        n,
        (): Detector => {
          loads[n] = (loads[n] ?? 0) + 1;
          return gtDetector(n, gt, { noisePx: n === 'a' ? 2 : 1 });
        },
      ]),
    );
  const keys = (m: RunMetrics) => m.results.map((r) => r.key);
  const manifestKeys = async (dir: string) =>
    (JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8')) as { detectors: { key: string }[] }).detectors
      .map((d) => d.key)
      .sort();

  beforeAll(async () => {
    root = await tempDir('shiftbench-kept-');
    ({ file: dataset, gt } = await makeDataset(path.join(root, 'ds'), N));
  });

  it('another detector stored for every image is scored again from its detections, not run', async () => {
    const out = path.join(root, 'both');
    const first = await runBenchmark({ ...opts, models: ['a'], dataset, out }, { env: fakeEnv(fakes(['a'])) });
    expect(loads.a).toBe(1);
    // the second run names only b, and its environment cannot even load a
    const second = await runBenchmark({ ...opts, models: ['b'], dataset, out }, { env: fakeEnv(fakes(['b'])) });
    expect(loads.a).toBe(1);
    expect(keys(second.metrics).sort()).toEqual(['a', 'b']);
    expect(await manifestKeys(out)).toEqual(['a', 'b']);
    // a's numbers are those of its own run: the same stored detections, images, shifts and settings
    const a1 = first.metrics.results.find((r) => r.key === 'a')!;
    const a2 = second.metrics.results.find((r) => r.key === 'a')!;
    expect({ ...a2, timing: null }).toEqual({ ...a1, timing: null });
    expect(existsSync(path.join(out, 'detections', 'a', 'shifts.json'))).toBe(true);
    expect(existsSync(path.join(out, 'detections', 'b', 'shifts.json'))).toBe(true);
    const html = await readFile(path.join(out, 'report.html'), 'utf8');
    expect(html).toContain('<code>a</code>');
    expect(html).toContain('<code>b</code>');
  });

  it('another detector stored for fewer images than this run is refused before any model runs; metrics are kept', async () => {
    const out = path.join(root, 'partial');
    await runBenchmark({ ...opts, models: ['c'], dataset, out, limit: 5 }, { env: fakeEnv(fakes(['c'])) });
    const before = await readFile(path.join(out, 'metrics.json'), 'utf8');
    const err = await rejection(
      runBenchmark({ ...opts, models: ['d'], dataset, out, limit: N }, { env: fakeEnv(fakes(['d'])) }),
    );
    expect(err.code).toBe('ERR_RUN_STORE');
    expect(err.message).toContain('"c"');
    expect(err.message).toContain('--model c');
    expect(err.message).toContain(out);
    expect(loads.d ?? 0).toBe(0);
    expect(await readFile(path.join(out, 'metrics.json'), 'utf8')).toBe(before);
    // naming both finishes c (only its missing images) and scores both
    const both = await runBenchmark(
      { ...opts, models: ['d', 'c'], dataset, out, limit: N },
      { env: fakeEnv(fakes(['c', 'd'])) },
    );
    expect(keys(both.metrics).sort()).toEqual(['c', 'd']);
    expect(both.metrics.results.every((r) => r.imagesEvaluated === N)).toBe(true);
  });
});
