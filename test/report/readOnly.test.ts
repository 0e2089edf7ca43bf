/**
 * `shiftbench compare` and `shiftbench check --baseline` only read the run directories, so
 * finished runs (metrics.json present) on a read-only volume — an archived CI artifact, a
 * read-only mount — must compare and check without writing anything there: no run.lock,
 * no other file. The run directories are made read-only (`chmod -R a-w`); the tests run as
 * root here, which chmod does not stop, so as root the CLI runs as `nobody` (to whom the
 * directories really are read-only), and every test also watches the run directories for
 * any entry created there (run.lock included).
 */
import { spawnSync } from 'node:child_process';
import { watch, type FSWatcher } from 'node:fs';
import { chmod, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunMetrics } from '../../src/core/types.js';
import { runCli } from '../helpers/cli.js';
import { makeRun, makeRunFixture, type RunFixture } from './runs.js';

const NOBODY = 65534;

/** As root, whether this machine can start a process as `nobody` (else chmod alone must do). */
function canRunAsNobody(): boolean {
  if (process.getuid?.() !== 0) return false;
  const r = spawnSync(process.execPath, ['-e', ''], { uid: NOBODY, gid: NOBODY });
  return r.status === 0;
}

/** Every entry under `dir` (relative paths, sorted). */
async function tree(dir: string): Promise<string[]> {
  return ((await readdir(dir, { recursive: true })) as string[]).sort();
}

/** Records the names of entries created or removed directly in each of `dirs` and their detections/. */
function watchDirs(dirs: string[]): { seen: string[]; close: () => void } {
  const seen: string[] = [];
  const watchers: FSWatcher[] = [];
  for (const dir of dirs)
    for (const d of [dir, path.join(dir, 'detections')])
      watchers.push(watch(d, (_event, name) => seen.push(path.join(path.basename(dir), String(name)))));
  return { seen, close: () => watchers.forEach((w) => w.close()) };
}

describe('compare and check --baseline on read-only run directories', () => {
  let fx: RunFixture;
  let a: { dir: string; metrics: RunMetrics };
  let b: { dir: string; metrics: RunMetrics };
  let asNobody = false;
  const before: Record<string, string[]> = {};

  beforeAll(async () => {
    fx = await makeRunFixture(12);
    a = await makeRun(fx, 'a');
    b = await makeRun(fx, 'b', {}, 6);
    asNobody = canRunAsNobody();
    await chmod(fx.root, 0o755); // mkdtemp made it 0700: readable by nobody else
    for (const run of [a, b]) {
      before[run.dir] = await tree(run.dir);
      expect(before[run.dir]).toContain('metrics.json'); // finished runs
      expect(spawnSync('chmod', ['-R', 'a-w', run.dir]).status).toBe(0);
    }
  });
  afterAll(async () => {
    if (!fx) return;
    for (const run of [a, b]) if (run) spawnSync('chmod', ['-R', 'u+w', run.dir]);
    await rm(fx.root, { recursive: true, force: true });
  });

  async function readOnly(args: string[]) {
    const w = watchDirs([a.dir, b.dir]);
    try {
      const r = await runCli(args, asNobody ? { uid: NOBODY } : {});
      await new Promise((res) => setTimeout(res, 50)); // the last watch events
      return { ...r, created: w.seen };
    } finally {
      w.close();
    }
  }

  it('compare RUN_A RUN_B pairs them without writing in either directory (no run.lock)', async () => {
    const r = await readOnly(['compare', a.dir, b.dir, '--quiet']);
    expect(r.stderr).not.toContain('Cannot create the lock');
    expect(r.created).toEqual([]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('B vs A: paired on the same images');
    expect(r.stdout).toMatch(/ {2}shaky: Δ mAP range [+−±][\d.]+ pp /);
    for (const run of [a, b]) expect(await tree(run.dir)).toEqual(before[run.dir]);
  });

  it('check RUN --baseline OTHER judges the pairing without writing in either directory (no run.lock)', async () => {
    const r = await readOnly(['check', b.dir, '--baseline', a.dir, '--max-increase', '1']);
    expect(r.stderr).not.toContain('Cannot create the lock');
    expect(r.created).toEqual([]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`(baseline ${a.metrics.runId})`);
    expect(r.stdout).toMatch(/^passed: \d+ pass, 0 warn, 0 fail/m);
    for (const run of [a, b]) expect(await tree(run.dir)).toEqual(before[run.dir]);
  });
});
