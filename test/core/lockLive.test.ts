/**
 * The run-directory lease is never taken over from a process that is still alive on this
 * host, however old its heartbeat: a run that was suspended (SIGSTOP, Ctrl-Z) or whose
 * main thread was blocked longer than the stale time would otherwise, when it continues,
 * append its records to the log of the run that took its lease over. A lease of another
 * host keeps the heartbeat rule (its owner's liveness cannot be checked from here).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdir, readFile, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Logger } from '../../src/core/types.js';
import { LOCK_FILE, RunLock } from '../../src/core/lock.js';
import { tempDir } from '../runner/fixtures.js';

describe('run directory lock: a live owner on this host keeps its lease', () => {
  let root: string;
  let sleeper: ChildProcess; // a live process of this host, suspended like a Ctrl-Z'd run
  let dir = 0;
  const held: RunLock[] = [];

  beforeAll(async () => {
    root = await tempDir('shiftbench-lock-live-');
    sleeper = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    await new Promise<void>((resolve, reject) => {
      sleeper.once('spawn', resolve);
      sleeper.once('error', reject);
    });
    process.kill(sleeper.pid!, 'SIGSTOP'); // its heartbeat has stopped, but it is alive
  });

  afterAll(() => {
    sleeper.kill('SIGKILL'); // also ends a stopped process
  });

  afterEach(async () => {
    vi.restoreAllMocks();
    for (const lock of held.splice(0)) await lock.release();
  });

  const logger = () => {
    const lines: string[] = [];
    const l: Logger = { info: (m) => lines.push(m), warn: (m) => lines.push(`warning: ${m}`) };
    return { l, lines };
  };

  /** A fresh run directory holding a lock file of `pid` on `host` whose heartbeat is `ageMs` old. */
  async function lockedDir(pid: number, host: string, ageMs: number): Promise<string> {
    const out = path.join(root, `d${dir++}`);
    await mkdir(out, { recursive: true });
    const at = new Date(Date.now() - ageMs).toISOString();
    await writeFile(
      path.join(out, LOCK_FILE),
      JSON.stringify({ pid, host, startedAt: at, heartbeatAt: at, token: `t-${pid}` }),
    );
    return out;
  }

  async function acquire(out: string, l: Logger, timing = {}): Promise<RunLock> {
    const lock = await RunLock.acquire(out, l, timing);
    held.push(lock);
    return lock;
  }

  it('a lock of a live (suspended) process on this host with a 45 s old heartbeat is not taken over', async () => {
    const pid = sleeper.pid!;
    const out = await lockedDir(pid, os.hostname(), 45_000);
    const { l, lines } = logger();
    const err = await acquire(out, l).catch((e) => e);
    expect(err.code).toBe('ERR_RUN_LOCKED');
    expect(err.message).toContain(`in use by PID ${pid} on ${os.hostname()}`);
    expect(err.message).toContain('Wait for it to finish or stop it (Ctrl-C)');
    expect(err.message).toContain('Use another --out to run in parallel.');
    expect(lines).toEqual([]); // no takeover message
    expect(JSON.parse(await readFile(path.join(out, LOCK_FILE), 'utf8')).pid).toBe(pid); // untouched
  });

  it('a live owner on this host that kill(pid, 0) may not signal (EPERM) keeps its lease too', async () => {
    const pid = 999_999; // stands for a process of another user
    const out = await lockedDir(pid, os.hostname(), 45_000);
    const kill = process.kill.bind(process);
    vi.spyOn(process, 'kill').mockImplementation((target, signal) => {
      if (target === pid) throw Object.assign(new Error('kill EPERM'), { code: 'EPERM' });
      return kill(target, signal);
    });
    const err = await acquire(out, logger().l).catch((e) => e);
    expect(err.code).toBe('ERR_RUN_LOCKED');
    expect(err.message).toContain(`PID ${pid} on ${os.hostname()}`);
  });

  it('a run of this process whose heartbeat stopped longer than staleMs keeps its lease; its signal is not aborted', async () => {
    const out = path.join(root, `d${dir++}`);
    await mkdir(out, { recursive: true });
    // the first run's heartbeat never fires during the test: like a blocked main thread
    const first = await acquire(out, logger().l, { heartbeatMs: 60_000, staleMs: 50 });
    await new Promise((r) => setTimeout(r, 150));
    const err = await acquire(out, logger().l, { heartbeatMs: 60_000, staleMs: 50 }).catch((e) => e);
    expect(err.code).toBe('ERR_RUN_LOCKED');
    expect(err.message).toContain(`PID ${process.pid} on ${os.hostname()}`);
    expect(first.signal.aborted).toBe(false);
    expect(JSON.parse(await readFile(path.join(out, LOCK_FILE), 'utf8')).pid).toBe(process.pid);
  });

  it('a lock file its owner has created but not written yet (empty) is not taken over: another run started at once', async () => {
    // RunLock.acquire creates run.lock exclusively, then writes the lease into it: in between it is empty
    const out = path.join(root, `d${dir++}`);
    await mkdir(out, { recursive: true });
    const file = path.join(out, LOCK_FILE);
    await writeFile(file, '');
    const now = new Date().toISOString();
    const written = new Promise<void>((resolve) =>
      setTimeout(() => {
        void writeFile(
          file,
          JSON.stringify({ pid: sleeper.pid, host: os.hostname(), startedAt: now, heartbeatAt: now, token: 'w' }),
        ).then(() => resolve());
      }, 100),
    );
    const { l, lines } = logger();
    const err = await acquire(out, l).catch((e) => e);
    await written;
    expect(lines.join('\n')).not.toMatch(/taking over/);
    expect(err.code).toBe('ERR_RUN_LOCKED');
    expect(err.message).toContain(`PID ${sleeper.pid} on ${os.hostname()}`);
    expect(JSON.parse(await readFile(file, 'utf8')).token).toBe('w');
  });

  it('an empty lock file that stays empty is refused while fresh, and taken over once older than the stale time', async () => {
    const out = path.join(root, `d${dir++}`);
    await mkdir(out, { recursive: true });
    const file = path.join(out, LOCK_FILE);
    await writeFile(file, '');
    const err = await acquire(out, logger().l).catch((e) => e);
    expect(err.code).toBe('ERR_RUN_LOCKED');
    expect(err.message).toContain(file);
    expect(err.message).toMatch(/delete it/);
    const old = new Date(Date.now() - 45_000);
    await utimes(file, old, old); // a run killed between creating the file and writing its lease
    const { l, lines } = logger();
    const lock = await acquire(out, l);
    expect(JSON.parse(await readFile(lock.file, 'utf8')).pid).toBe(process.pid);
    expect(lines.join('\n')).toMatch(/taking over the lock of an unknown owner: the lock file is unreadable/);
  });

  it('a lock of a dead process on this host with an old heartbeat is taken over, with a message', async () => {
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const pid = Number(dead.stdout);
    const out = await lockedDir(pid, os.hostname(), 45_000);
    const { l, lines } = logger();
    const lock = await acquire(out, l);
    expect(JSON.parse(await readFile(lock.file, 'utf8')).pid).toBe(process.pid);
    expect(lines.join('\n')).toMatch(
      new RegExp(`taking over the lock of PID ${pid} on ${os.hostname()}: that process is no longer running`),
    );
  });

  it("a lock of this host naming this process's own PID that this process does not hold is a killed run's: taken over", async () => {
    // a container restarted in place (same hostname) after a SIGKILL or OOM kill: shiftbench is PID 1 again, as the
    // killed one was, and its lock names PID 1 — alive, but it is this process, which took no lock there
    const out = await lockedDir(process.pid, os.hostname(), 1_000);
    const { l, lines } = logger();
    const lock = await acquire(out, l);
    expect(JSON.parse(await readFile(lock.file, 'utf8')).token).not.toBe(`t-${process.pid}`);
    expect(lines.join('\n')).toContain(
      `taking over the lock of PID ${process.pid} on ${os.hostname()}: that process is no longer running`,
    );
    // a lease this process does hold is still refused to a second taker in it (the test above)
    const err = await acquire(out, logger().l).catch((e) => e);
    expect(err.code).toBe('ERR_RUN_LOCKED');
  });

  it('a lock of another host with an old heartbeat is taken over, whatever its PID', async () => {
    // the PID of a live process here means nothing on another machine
    const out = await lockedDir(sleeper.pid!, 'other-machine', 45_000);
    const { l, lines } = logger();
    const lock = await acquire(out, l);
    expect(JSON.parse(await readFile(lock.file, 'utf8')).pid).toBe(process.pid);
    expect(lines.join('\n')).toMatch(
      new RegExp(`taking over the lock of PID ${sleeper.pid} on other-machine: its last heartbeat was 4\\d s ago`),
    );
  });

  it('verify before a write: resolves while the lease is ours; once another host took it over, throws and aborts', async () => {
    const out = path.join(root, `d${dir++}`);
    await mkdir(out, { recursive: true });
    const lock = await acquire(out, logger().l, { heartbeatMs: 60_000 }); // no beat during the test
    await lock.verify();
    expect(lock.signal.aborted).toBe(false);
    // another machine took the lease over while this process was suspended (its heartbeat would notice later)
    const at = new Date().toISOString();
    await writeFile(
      lock.file,
      JSON.stringify({ pid: 7, host: 'other-machine', startedAt: at, heartbeatAt: at, token: 'theirs' }),
    );
    // … and resumed a minute later: its lease was last found its own longer ago than a heartbeat
    const resumedAt = Date.now() + 61_000;
    vi.spyOn(Date, 'now').mockReturnValue(resumedAt);
    const err = await lock.verify().catch((e) => e);
    expect(err.code).toBe('ERR_RUN_LOCKED');
    expect(err.message).toContain('was taken over by PID 7 on other-machine');
    expect(lock.signal.aborted).toBe(true);
  });

  it('a lock of another host with a fresh heartbeat is not taken over', async () => {
    const out = await lockedDir(1, 'other-machine', 5_000);
    const err = await acquire(out, logger().l).catch((e) => e);
    expect(err.code).toBe('ERR_RUN_LOCKED');
    expect(err.message).toContain('PID 1 on other-machine');
  });
});
