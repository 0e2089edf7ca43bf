/**
 * Issue 14.5 (SIGKILL at any moment): `shiftbench report RUN --score-threshold τ` rewrites metrics.json and the
 * manifest's analysis settings. Killed at any moment, the run directory must never hold metrics of one setting beside
 * a manifest that names another — compare and check --baseline judge whether two runs are comparable from the
 * manifest, and show the numbers of metrics.json. Here the process "dies" at each rename of the rescore in turn.
 */
import { cp, readFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { rescoreRun, runBenchmark } from '../../src/runner/index.js';
import { rejection } from '../helpers/shared.js';
import { buildWorkers } from '../helpers/workerBuild.js';
import { leaseTakenAtScoring, makeDataset, tempDir } from './fixtures.js';

/** While armed: renames under `under` left before the process "dies" (the next rename throws instead). */
const kill = vi.hoisted(() => ({ under: '', left: Infinity, seen: 0 }));

vi.mock('node:fs/promises', async (importOriginal) =>
  (await import('../helpers/dyingRename.js')).fsWithDyingRename(importOriginal, kill, 'while rescoring'),
);

interface Stored {
  metrics: { results: { consistency: { scoreThreshold: number } }[] } | null;
  manifest: { scoreThreshold: number; options: { scoreThreshold: number } };
}

async function stored(dir: string): Promise<Stored> {
  const read = async (f: string) => JSON.parse(await readFile(path.join(dir, f), 'utf8'));
  return { metrics: await read('metrics.json').catch(() => null), manifest: await read('manifest.json') };
}

describe('a kill at any moment of a rescore', () => {
  let root: string;
  let template: string;

  beforeAll(async () => {
    root = await tempDir('shiftbench-rescore-kill-');
    const { file: dataset } = await makeDataset(path.join(root, 'ds'), 8, { seed: 22 });
    template = path.join(root, 'run');
    await runBenchmark({ models: ['jitter:96'], dataset, bootstrapResamples: 20, bootstrapBounds: 0, out: template });
  });

  /** Copies of the finished run, each rescored by `rescore` until the k-th rename "kills" it, for every k. */
  async function everyKill(name: string, rescore: (dir: string) => Promise<unknown>): Promise<void> {
    let renames = Infinity;
    for (let k = 0; k <= renames; k++) {
      const dir = path.join(root, `${name}-${k}`);
      await cp(template, dir, { recursive: true });
      Object.assign(kill, { under: dir, left: k, seen: 0 });
      const done = await rescore(dir).then(
        () => true,
        () => false,
      );
      kill.under = '';
      if (done) renames = Math.min(renames, kill.seen); // every rename of a whole rescore was tried
      const { metrics, manifest } = await stored(dir);
      expect({ k, manifest: manifest.scoreThreshold }).toEqual({ k, manifest: manifest.options.scoreThreshold });
      if (metrics) {
        expect({ k, metrics: metrics.results[0].consistency.scoreThreshold }).toEqual({
          k,
          metrics: manifest.options.scoreThreshold,
        });
      }
    }
    expect(renames).toBeGreaterThan(2);
    expect(renames).toBeLessThan(Infinity);
  }

  it('never leaves metrics.json of one score threshold beside a manifest naming another', async () => {
    await everyKill('copy', (dir) => rescoreRun(dir, { scoreThreshold: 0.3 }));
  });

  it('nor does `run` again with only the score threshold changed (every image stored: it only scores)', async () => {
    const manifest = JSON.parse(await readFile(path.join(template, 'manifest.json'), 'utf8'));
    await everyKill('run', (dir) =>
      runBenchmark({
        models: ['jitter:96'],
        dataset: manifest.options.dataset,
        bootstrapResamples: 20,
        bootstrapBounds: 0,
        scoreThreshold: 0.3,
        out: dir,
      }),
    );
  });
});

describe('a kill at any moment of a run adding a mitigation to a finished run', () => {
  it('never loses the finished results: in place, or whole in previous/ (or previous.partial/, settled next run)', async () => {
    const root = await tempDir('shiftbench-previous-kill-');
    const { file: dataset } = await makeDataset(path.join(root, 'ds'), 6, { seed: 24 });
    const template = path.join(root, 'run');
    const options = { models: ['jitter:96'], dataset, bootstrapResamples: 20, bootstrapBounds: 0 };
    await runBenchmark({ ...options, out: template });
    const read = (f: string) => readFile(f, 'utf8').catch(() => null);
    const finished = {
      metrics: await read(path.join(template, 'metrics.json')),
      manifest: await read(path.join(template, 'manifest.json')),
    };
    let renames = Infinity;
    for (let k = 0; k <= renames; k++) {
      const dir = path.join(root, `add-${k}`);
      await cp(template, dir, { recursive: true });
      Object.assign(kill, { under: dir, left: k, seen: 0 });
      const done = await runBenchmark({ ...options, mitigations: ['input-blur:1'], out: dir }).then(
        () => true,
        () => false,
      );
      kill.under = '';
      if (done) renames = Math.min(renames, kill.seen);
      const kept = async (sub: string) => ({
        metrics: await read(path.join(dir, sub, 'metrics.json')),
        manifest: await read(path.join(dir, sub, 'manifest.json')),
      });
      const places = [await kept(''), await kept('previous'), await kept('previous.partial')];
      const metrics = JSON.parse(places[0].metrics ?? 'null');
      expect({
        k,
        kept: done || places.some((p) => p.metrics === finished.metrics && p.manifest === finished.manifest),
      }).toEqual({
        k,
        kept: true,
      });
      if (done) expect(metrics.results).toHaveLength(2);
      // the same command again finishes the run, and the kept results go
      await runBenchmark({ ...options, mitigations: ['input-blur:1'], out: dir });
      expect(
        (JSON.parse((await read(path.join(dir, 'metrics.json')))!) as { results: unknown[] }).results,
      ).toHaveLength(2);
      expect({ k, previous: await read(path.join(dir, 'previous', 'metrics.json')) }).toEqual({ k, previous: null });
    }
    expect(renames).toBeGreaterThan(4);
    expect(renames).toBeLessThan(Infinity);
  });
});

describe('a rescore whose lease of the run directory another process took over', () => {
  it('stops with ERR_RUN_LOCKED and leaves metrics.json and the manifest as they were', async () => {
    buildWorkers(); // the bootstrap of the bounds runs in worker threads from the built JavaScript
    const root = await tempDir('shiftbench-rescore-lease-');
    const { file: dataset } = await makeDataset(path.join(root, 'ds'), 30, { seed: 23 });
    const dir = path.join(root, 'run');
    await runBenchmark({ models: ['jitter:96'], dataset, bootstrapResamples: 20, bootstrapBounds: 1000, out: dir });
    const before = await stored(dir);
    const lock = path.join(dir, 'run.lock');
    const { theirs, logger, stop } = leaseTakenAtScoring(lock);
    const e = await rejection(rescoreRun(dir, { scoreThreshold: 0.3 }, { logger, lease: { heartbeatMs: 20 } }));
    stop();
    expect(e.code).toBe('ERR_RUN_LOCKED');
    expect(e.message).toContain('taken over by PID 7 on other-machine');
    expect(await stored(dir)).toEqual(before);
    expect(JSON.parse(await readFile(lock, 'utf8'))).toMatchObject(theirs);
  });
});
