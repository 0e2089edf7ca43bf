/**
 * Issue 14.5 (SIGKILL at any moment): `--force` (merge, run) first clears what the run directory held. A kill
 * partway through that clearing must never leave the old run's metrics.json or reports without the manifest they
 * belong to: the next command then takes the directory for a fresh one (nothing to clear, nothing to refuse), writes
 * its own manifest beside the old metrics, and a report read before its scoring ends shows the old run's numbers as
 * the new run's. Here `rm` dies (as the process would) after each number of removals of the clearing.
 */
import { cp, readFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { loadReportRun } from '../../src/report/index.js';
import { mergeShards, runShard, type RunOptions } from '../../src/runner/index.js';
import { RUN_STORE_ENTRIES, clearRunStore } from '../../src/runner/store.js';
import { makeDataset, tempDir } from './fixtures.js';

/** While armed: removals under `under` left before the process "dies" (the next rm throws instead of removing). */
const kill = vi.hoisted(() => ({ under: '', left: Infinity }));

vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  const rm = (async (file: unknown, ...rest: unknown[]) => {
    if (kill.under && typeof file === 'string' && file.startsWith(kill.under)) {
      if (kill.left <= 0) throw new Error('killed (SIGKILL) while clearing');
      kill.left--;
    }
    return (real.rm as (...a: unknown[]) => unknown)(file, ...rest);
  }) as typeof real.rm;
  return { ...real, default: { ...real, rm }, rm };
});

describe('a kill while --force clears a run directory', () => {
  let root: string;
  let template: string;
  let other: string[];

  beforeAll(async () => {
    root = await tempDir('shiftbench-clear-kill-');
    const { file: dataset } = await makeDataset(path.join(root, 'ds'), 8, { seed: 21 });
    const base: RunOptions = { models: ['jitter:96'], dataset, bootstrapResamples: 20, bootstrapBounds: 0 };
    const shards = [0, 1].map((i) => path.join(root, `a-${i}`));
    for (let i = 0; i < 2; i++) await runShard({ ...base, shard: `${i}/2`, out: shards[i] });
    template = path.join(root, 'merged-a');
    await mergeShards({ runs: shards, out: template });
    // another run: the same detector and shifts, another score threshold
    other = [0, 1].map((i) => path.join(root, `b-${i}`));
    for (let i = 0; i < 2; i++) await runShard({ ...base, scoreThreshold: 0.3, shard: `${i}/2`, out: other[i] });
  });

  it('never leaves the old metrics without their manifest: a merge stopped before scoring shows no old numbers', async () => {
    for (let k = 0; k <= RUN_STORE_ENTRIES.length; k++) {
      const dir = path.join(root, `out-${k}`);
      await cp(template, dir, { recursive: true });
      kill.under = dir;
      kill.left = k;
      await clearRunStore(dir).catch(() => undefined);
      kill.under = '';
      // the same `merge … --force` again, stopped (Ctrl-C) as scoring starts
      const stop = new AbortController();
      const logger = { info: (m: string) => (m.includes('scoring') ? stop.abort() : undefined), warn: () => undefined };
      await mergeShards({ runs: other, out: dir, force: true }, { logger, signal: stop.signal }).catch(() => undefined);
      // nothing to show yet: the new merge was stopped before its metrics (the old ones are gone, not shown as its)
      const shown = await loadReportRun(dir).catch(() => null);
      expect({ k, shown: shown?.metrics.runId ?? null }).toEqual({ k, shown: null });
      expect(await readFile(path.join(dir, 'metrics.json'), 'utf8').catch(() => null)).toBeNull();
    }
  });
});
