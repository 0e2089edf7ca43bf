/**
 * Issue 10 item 2: one process per run directory. A lease (run.lock: owner PID, host and
 * a heartbeat it refreshes) is taken atomically; a second process fails at once with
 * ERR_RUN_LOCKED naming the owner, even with --force; a stale lease (dead PID on this
 * host, or a heartbeat older than 30 s) is taken over with a message.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, readdir, rm, writeFile, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { CocoGroundTruth, Detector, Logger } from '../../src/core/types.js';
import { runBenchmark, type RunnerEnv } from '../../src/runner/index.js';
import { RunLock } from '../../src/core/lock.js';
import { gtDetector, makeDataset, tempDir } from './fixtures.js';

/** While armed: writing into a file whose path starts with `prefix` fails as on a full disk (else the real fs). */
const full = vi.hoisted(() => ({ prefix: '' }));
vi.mock('node:fs/promises', async (real) => (await import('../helpers/fullDisk.js')).fullDiskFs(real, full));

describe('run directory lock (lease)', () => {
  let root: string;
  let dataset: string;
  let gt: CocoGroundTruth;

  beforeAll(async () => {
    root = await tempDir('shiftbench-lock-');
    ({ file: dataset, gt } = await makeDataset(path.join(root, 'ds'), 6));
  });

  const env = (make: () => Detector): Partial<RunnerEnv> => ({
    loadDetector: async () => make(),
    listModels: async () => [],
  });
  const logger = () => {
    const lines: string[] = [];
    const l: Logger = { info: (m) => lines.push(m), warn: (m) => lines.push(`warning: ${m}`) };
    return { l, lines };
  };

  it('a second run on a directory a live run holds fails at once with ERR_RUN_LOCKED naming the owner, even with --force', async () => {
    const out = path.join(root, 'live');
    const options = { models: ['jitter'], dataset, out, bootstrapResamples: 20 };
    const first = runBenchmark(options, {
      env: env(() => gtDetector('jitter', gt, { noisePx: 2, delayMs: 60, info: { maxBatch: 1 } })),
    });
    // wait until the first run holds the lock
    for (let i = 0; i < 100 && !(await readdir(out).catch((): string[] => [])).includes('run.lock'); i++)
      await new Promise((r) => setTimeout(r, 20));
    let loads = 0;
    const started = Date.now();
    const second = await runBenchmark(options, { env: env(() => (loads++, gtDetector('jitter', gt))) }).catch((e) => e);
    expect(second.code).toBe('ERR_RUN_LOCKED');
    expect(second.message).toContain(`PID ${process.pid}`);
    expect(second.message).toContain(os.hostname());
    expect(Date.now() - started).toBeLessThan(2000);
    const forced = await runBenchmark(
      { ...options, force: true },
      { env: env(() => (loads++, gtDetector('jitter', gt))) },
    ).catch((e) => e);
    expect(forced.code).toBe('ERR_RUN_LOCKED');
    expect(loads).toBe(0);
    const a = await first;
    expect(a.metrics.results[0].imagesEvaluated).toBe(6);
    const lines = (await readFile(path.join(out, 'detections', 'jitter.jsonl'), 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(6); // no duplicate lines from a second writer
    expect((await readdir(out)).includes('run.lock')).toBe(false); // released
  });

  it('the heartbeat is refreshed while the run works', async () => {
    const out = path.join(root, 'heartbeat');
    const run = runBenchmark(
      { models: ['jitter'], dataset, out, bootstrapResamples: 20 },
      {
        env: env(() => gtDetector('jitter', gt, { noisePx: 2, delayMs: 80, info: { maxBatch: 1 } })),
        lease: { heartbeatMs: 50 },
      },
    );
    const beats = new Set<string>();
    for (let i = 0; i < 40; i++) {
      await new Promise((r) => setTimeout(r, 25));
      const text = await readFile(path.join(out, 'run.lock'), 'utf8').catch(() => null);
      if (text) beats.add(JSON.parse(text).heartbeatAt);
    }
    await run;
    expect(beats.size).toBeGreaterThan(2);
  });

  it('a lock of a dead process on this host is taken over, with a message', async () => {
    const out = path.join(root, 'dead');
    await mkdir(out, { recursive: true });
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const now = new Date().toISOString();
    await writeFile(
      path.join(out, 'run.lock'),
      JSON.stringify({ pid: Number(dead.stdout), host: os.hostname(), startedAt: now, heartbeatAt: now, token: 'x' }),
    );
    const { l, lines } = logger();
    const r = await runBenchmark(
      { models: ['oracle'], dataset, out, bootstrapResamples: 20 },
      { env: env(() => gtDetector('oracle', gt)), logger: l },
    );
    expect(r.metrics.results[0].imagesEvaluated).toBe(6);
    expect(lines.join('\n')).toMatch(
      new RegExp(`taking over the lock of PID ${dead.stdout} on ${os.hostname()}.*no longer running`),
    );
  });

  it('a lock whose heartbeat is older than 30 s is taken over; a fresh one of another host is not', async () => {
    const stale = path.join(root, 'stale');
    await mkdir(stale, { recursive: true });
    const old = new Date(Date.now() - 45_000).toISOString();
    await writeFile(
      path.join(stale, 'run.lock'),
      JSON.stringify({ pid: 1, host: 'other-machine', startedAt: old, heartbeatAt: old, token: 'y' }),
    );
    const { l, lines } = logger();
    await runBenchmark(
      { models: ['oracle'], dataset, out: stale, bootstrapResamples: 20 },
      { env: env(() => gtDetector('oracle', gt)), logger: l },
    );
    expect(lines.join('\n')).toMatch(
      /taking over the lock of PID 1 on other-machine: its last heartbeat was 4\d s ago/,
    );

    const fresh = path.join(root, 'fresh');
    await mkdir(fresh, { recursive: true });
    const recent = new Date(Date.now() - 5_000).toISOString();
    await writeFile(
      path.join(fresh, 'run.lock'),
      JSON.stringify({ pid: 1, host: 'other-machine', startedAt: recent, heartbeatAt: recent, token: 'z' }),
    );
    const err = await runBenchmark(
      { models: ['oracle'], dataset, out: fresh, bootstrapResamples: 20 },
      { env: env(() => gtDetector('oracle', gt)) },
    ).catch((e) => e);
    expect(err.code).toBe('ERR_RUN_LOCKED');
    expect(err.message).toContain('PID 1 on other-machine');
  });

  it('two acquires of one lock in this process at once: one holds it, the other is refused (no takeover as if dead)', async () => {
    // before: the lease's token counted as this process's only once its file was written and synced, so an acquire
    // reading the file in between judged it a killed process's, took it over, and both went on holding it
    for (let round = 0; round < 10; round++) {
      const dir = path.join(root, `race-${round}`);
      await mkdir(dir, { recursive: true });
      const { l, lines } = logger();
      const got = await Promise.allSettled([RunLock.acquire(dir, l), RunLock.acquire(dir, l)]);
      const held = got.filter((g) => g.status === 'fulfilled');
      expect(held).toHaveLength(1);
      const refused = got.find((g) => g.status === 'rejected') as PromiseRejectedResult;
      expect(refused.reason.code).toBe('ERR_RUN_LOCKED');
      expect(lines.filter((x) => x.includes('taking over'))).toEqual([]);
      await (held[0] as PromiseFulfilledResult<RunLock>).value.release();
    }
  });
  it('no room to write the lock: the lock file and the fix; no empty lock is left to refuse the rerun', async () => {
    // before: the lock file, created empty, stayed when its content could not be written, and the same command run
    // again once there was room was refused for 30 s ("a lock file that holds no lease … another run is creating it")
    const dir = path.join(root, 'no-room');
    await mkdir(dir, { recursive: true });
    const file = path.join(dir, 'run.lock');
    const { l, lines } = logger();
    full.prefix = file;
    let e;
    try {
      e = await RunLock.acquire(dir, l).then(
        () => null,
        (err: unknown) => err as { code: string; message: string },
      );
    } finally {
      full.prefix = '';
    }
    expect(e?.code).toBe('ERR_OUTPUT');
    expect(e?.message).toContain(file);
    expect(e?.message).toContain('Free disk space, then run the same command again');
    expect(existsSync(file)).toBe(false);
    const lock = await RunLock.acquire(dir, l);
    expect(lines).toEqual([]);
    await lock.release();
  });
  it('a lock that cannot be created (a file where the run folder should be): the lock file and the fix', async () => {
    // before: "Cannot create the lock …/run.lock: ENOTDIR …" and nothing on what to do
    const notADir = path.join(root, 'a-file');
    await writeFile(notADir, 'x');
    const { l } = logger();
    const e = await RunLock.acquire(notADir, l).then(
      () => null,
      (err: unknown) => err as { code: string; message: string },
    );
    expect(e?.code).toBe('ERR_OUTPUT');
    expect(e?.message).toContain(path.join(notADir, 'run.lock'));
    expect(e?.message).toContain(
      'A part of that path is a file, not a folder: move that file or choose another folder',
    );
  });

  it('the run directory deleted while the lease is held: the run stops saying so, not that another process took it', async () => {
    // before: "The lock of <dir> was taken over by another process (this run's heartbeat had stopped for too long)"
    const dir = path.join(root, 'deleted');
    await mkdir(dir, { recursive: true });
    const { l } = logger();
    const lock = await RunLock.acquire(dir, l, { heartbeatMs: 50 });
    await rm(dir, { recursive: true, force: true });
    for (let i = 0; i < 100 && !lock.signal.aborted; i++) await new Promise((r) => setTimeout(r, 20));
    expect(lock.signal.aborted).toBe(true);
    const msg = (lock.signal.reason as Error).message;
    expect(msg).toContain(dir);
    expect(msg).toContain('deleted, moved or renamed');
    expect(msg).not.toContain('taken over');
    await lock.release();
  });
});
