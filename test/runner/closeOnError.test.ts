/**
 * A run that fails once its detection logs are open — here the first rename into the run directory fails (writing the
 * manifest; a full disk does that) — leaves no file of the run directory open: a process that calls runBenchmark and
 * goes on (a service, a notebook, a test runner) must not keep a file handle per failed run until the garbage
 * collector closes it with a warning.
 */
import { existsSync, readdirSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { runBenchmark } from '../../src/runner/index.js';
import { makeDataset, tempDir } from './fixtures.js';

const kill = vi.hoisted(() => ({ under: '', left: Infinity, seen: 0 }));

vi.mock('node:fs/promises', async (importOriginal) =>
  (await import('../helpers/dyingRename.js')).fsWithDyingRename(importOriginal, kill, 'while writing the run'),
);

/** The files under `dir` this process holds open (Linux: /proc/self/fd). */
function openFilesUnder(dir: string): string[] {
  const open: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      if (target.startsWith(dir)) open.push(target);
    } catch {
      // the descriptor readdir itself used, closed since
    }
  }
  return open;
}

describe.skipIf(!existsSync('/proc/self/fd'))('a run that fails with its detection logs open', () => {
  it('closes them: no file of the run directory stays open', async () => {
    const root = await tempDir('shiftbench-close-on-error-');
    const { file: dataset } = await makeDataset(path.join(root, 'ds'), 4, { seed: 5 });
    const out = path.join(root, 'run');
    Object.assign(kill, { under: out, left: 0, seen: 0 });
    const err = await runBenchmark({
      models: ['jitter:96'],
      dataset,
      shifts: 'grid:1',
      out,
      bootstrapResamples: 20,
      bootstrapBounds: 0,
    }).then(
      () => null,
      (e: Error) => e,
    );
    kill.under = '';
    expect(err?.message).toMatch(/killed \(SIGKILL\) while writing the run/);
    expect(kill.seen).toBe(1);
    expect(existsSync(path.join(out, 'detections'))).toBe(true); // the logs were open when it failed
    expect(openFilesUnder(out)).toEqual([]);
  });
});
