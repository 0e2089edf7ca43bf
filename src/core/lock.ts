/**
 * The run-directory lock: a lease in `<runDir>/run.lock` holding the owner's PID, host,
 * start time and a heartbeat time the owner refreshes while it runs. It is taken
 * atomically (exclusive create), so it also works on shared volumes across machines.
 * A lease is stale — and taken over, with a message — when:
 * - its owner is on this same host: only when its PID is no longer running, whatever the
 *   heartbeat's age. A live owner whose heartbeat stopped (suspended with SIGSTOP/Ctrl-Z,
 *   or its main thread blocked by a slow detector) keeps it: taken over, it would append
 *   to the new run's files when it continues;
 * - its owner is on another host (liveness cannot be checked from here): when its
 *   heartbeat is older than `staleMs` (default 30 s);
 * - its file holds no lease (created but not yet written, or its creator was killed in
 *   between): only once the file is older than `staleMs`; a younger one is refused.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { open, readFile, rename, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { syncDirSync, writeFailed, writeFileAtomic } from './atomicFile.js';
import { ShiftbenchError } from './errors.js';
import type { Logger } from './types.js';

export const LOCK_FILE = 'run.lock';

/** What ERR_RUN_LOCKED advises by default: a run's --out (a merge's shards have their own, merge.ts). */
const RUN_LOCKED_ADVICE =
  'Wait for it to finish or stop it (Ctrl-C); --force does not take a live lock. Use another --out to run in parallel.';

/** Lease timing: how often the heartbeat is refreshed and when a silent lease counts as stale. */
export interface LeaseTiming {
  heartbeatMs?: number;
  staleMs?: number;
}

/** Defaults of LeaseTiming. */
export const LEASE_DEFAULTS = { heartbeatMs: 5_000, staleMs: 30_000 };

interface LockContent {
  pid: number;
  host: string;
  startedAt: string;
  heartbeatAt: string;
  token: string;
}

/**
 * Whether a process of this host runs with that PID (signal 0 only checks): ESRCH → no
 * such process; EPERM → it exists but belongs to another user. A PID that is not a
 * positive integer names no process (0 and negatives would address process groups).
 */
function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

async function readLock(file: string): Promise<LockContent | null> {
  try {
    const value = JSON.parse(await readFile(file, 'utf8')) as Partial<LockContent>;
    if (typeof value.pid !== 'number' || typeof value.host !== 'string' || typeof value.heartbeatAt !== 'string')
      return null;
    return value as LockContent;
  } catch {
    return null;
  }
}

/** The tokens of the leases this process holds (a lock naming its PID but none of these is a killed process's). */
const heldHere = new Set<string>();

/**
 * Whether the owner of a lock of this host still runs: its PID is alive — and, when that PID is this process's own,
 * the lease is one this process holds (a container restarted in place runs shiftbench under the PID the killed one had,
 * often 1, on the same hostname).
 */
function ownerAlive(lock: LockContent): boolean {
  if (lock.pid === process.pid) return heldHere.has(lock.token);
  return pidAlive(lock.pid);
}

/**
 * Why a lease is stale, or null when its owner is alive. On this host the PID decides
 * alone: a live owner is never stale, however old its heartbeat (it may be suspended or
 * blocked, and would resume writing). Of another host only the heartbeat can tell.
 */
function staleReason(lock: LockContent | null, staleMs: number): string | null {
  if (lock === null) return 'the lock file is unreadable';
  if (lock.host === os.hostname()) return ownerAlive(lock) ? null : 'that process is no longer running';
  const ageMs = Date.now() - Date.parse(lock.heartbeatAt);
  if (!Number.isFinite(ageMs) || ageMs > staleMs)
    return `its last heartbeat was ${Number.isFinite(ageMs) ? Math.round(ageMs / 1000) : '?'} s ago`;
  return null;
}

/** How long, at most, an unreadable lock file is read again for the lease its creator is writing into it. */
const UNREADABLE_WAIT_MS = 500;

/**
 * The lease in `file`. A lock file is created empty and written just after (acquire), so an unreadable one may be a
 * lease being written by a run that started at the same moment: it is read again for up to UNREADABLE_WAIT_MS. One
 * still unreadable is refused (ERR_RUN_LOCKED naming the file) while younger than `staleMs`, and is a crashed
 * creator's (null: stale) once older.
 */
async function readLockSettled(file: string, dir: string, staleMs: number): Promise<LockContent | null> {
  for (let waited = 0; ; waited += 50) {
    const lock = await readLock(file);
    if (lock !== null) return lock;
    const st = await stat(file).catch(() => null);
    if (st === null) return null; // released meanwhile: nothing to take over (the rename fails, acquire looks again)
    if (Date.now() - st.mtimeMs > staleMs) return null; // no one is creating it now
    if (waited < UNREADABLE_WAIT_MS) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      continue;
    }
    throw new ShiftbenchError(
      'ERR_RUN_LOCKED',
      `The run directory ${dir} has a lock file that holds no lease (${file}): another run is creating it, or one ` +
        `was killed while creating it. Run again in a moment; if no shiftbench run uses this directory, delete it.`,
    );
  }
}

function owner(lock: LockContent): string {
  return `PID ${lock.pid} on ${lock.host}`;
}

/** ERR_RUN_LOCKED: `dir` is in use by the live owner of `held`, with `advice`. */
function lockedError(dir: string, file: string, held: LockContent, advice: string): ShiftbenchError {
  return new ShiftbenchError(
    'ERR_RUN_LOCKED',
    `The run directory ${dir} is in use by ${owner(held)} (running since ${held.startedAt}, last heartbeat ` +
      `${held.heartbeatAt}). ` +
      advice +
      (held.host === os.hostname()
        ? ` If PID ${held.pid} is not a shiftbench run (a crashed run's PID reused), delete ${file}.`
        : ''),
  );
}

/**
 * For a reader that must not read a run directory while another process writes it: throws ERR_RUN_LOCKED (naming the
 * owner, with `advice`) when a live process holds `dir`'s lease; returns whether this process holds it itself (then
 * the reader is that run, reading what it wrote). Takes nothing, writes nothing: works on a read-only directory.
 */
export async function refuseLiveOwner(
  dir: string,
  advice: string,
  staleMs = LEASE_DEFAULTS.staleMs,
): Promise<{ heldHere: boolean }> {
  const file = path.join(dir, LOCK_FILE);
  const held = await readLockSettled(file, dir, staleMs);
  if (held === null || staleReason(held, staleMs) !== null) return { heldHere: false };
  if (held.pid === process.pid && heldHere.has(held.token)) return { heldHere: true };
  throw lockedError(dir, file, held, advice);
}

/** A held lease on one run directory. */
export class RunLock {
  private timer: NodeJS.Timeout | null = null;
  private beating: Promise<void> | null = null;
  private released = false;
  private readonly lost = new AbortController();
  /** Heartbeat period, and when this process last found the lease its own (Date.now()). */
  private heartbeatMs = LEASE_DEFAULTS.heartbeatMs;
  private confirmedAt = Date.now();

  private constructor(
    readonly file: string,
    private readonly content: LockContent,
  ) {}

  /** Aborted (with an ERR_RUN_LOCKED reason) when another process took the lease over. */
  get signal(): AbortSignal {
    return this.lost.signal;
  }

  /**
   * Takes the lease on `dir`. A live lease of another owner → ERR_RUN_LOCKED naming it
   * (PID, host, since when) at once; a stale one is taken over with a logged message.
   */
  /**
   * @param advice what ERR_RUN_LOCKED advises when a live process holds the lock.
   * @param fileName the lock file in `dir` (run.lock; another name locks something else there, e.g. a summary).
   */
  static async acquire(
    dir: string,
    logger: Logger,
    timing: LeaseTiming = {},
    advice = RUN_LOCKED_ADVICE,
    fileName = LOCK_FILE,
  ): Promise<RunLock> {
    const heartbeatMs = timing.heartbeatMs ?? LEASE_DEFAULTS.heartbeatMs;
    const staleMs = timing.staleMs ?? LEASE_DEFAULTS.staleMs;
    const file = path.join(dir, fileName);
    const now = new Date().toISOString();
    const content: LockContent = {
      pid: process.pid,
      host: os.hostname(),
      startedAt: now,
      heartbeatAt: now,
      token: randomUUID(),
    };
    for (let attempt = 0; attempt < 3; attempt++) {
      // ours from the moment the file exists: another acquire of this process reading it meanwhile must find its
      // owner alive, not take it over as a killed process's
      heldHere.add(content.token);
      try {
        const fh = await open(file, 'wx');
        try {
          await fh.writeFile(JSON.stringify(content));
          await fh.sync();
        } catch (err) {
          // no room for the lease (a full disk): the file is ours and holds none; left, it would refuse the same
          // command run again once there is room
          await fh.close().catch(() => undefined);
          await rm(file, { force: true });
          heldHere.delete(content.token);
          throw writeFailed(file, err);
        }
        await fh.close();
        syncDirSync(dir); // the lease's creation survives a crash
        const lock = new RunLock(file, content);
        lock.startHeartbeat(heartbeatMs);
        return lock;
      } catch (err) {
        heldHere.delete(content.token);
        if (err instanceof ShiftbenchError) throw err;
        // a read-only mount, a file where the folder should be: the lock file and the fix
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw writeFailed(file, err);
      }
      const held = await readLockSettled(file, dir, staleMs);
      const reason = staleReason(held, staleMs);
      if (reason === null) throw lockedError(dir, file, held!, advice);
      // take the stale lease over: move it aside atomically (only one taker succeeds), then create ours
      const aside = `${file}.stale-${process.pid}-${content.token}`;
      try {
        await rename(file, aside);
      } catch {
        continue; // someone else moved it first: look again
      }
      const moved = await readLock(aside);
      if (moved && moved.token !== held?.token) {
        // it was renewed or replaced meanwhile: put it back and look again
        await rename(aside, file).catch(() => undefined);
        continue;
      }
      await rm(aside, { force: true });
      logger.warn(`taking over the lock of ${held ? owner(held) : 'an unknown owner'}: ${reason} (${file})`);
    }
    throw new ShiftbenchError(
      'ERR_RUN_LOCKED',
      `Could not take the lock of ${dir}: other processes keep taking it. Use another --out.`,
    );
  }

  private startHeartbeat(heartbeatMs: number): void {
    this.heartbeatMs = heartbeatMs;
    this.timer = setInterval(() => {
      this.beating ??= this.beat().finally(() => (this.beating = null));
    }, heartbeatMs);
    this.timer.unref();
  }

  /**
   * Before a write to the run directory: throws (ERR_RUN_LOCKED, `signal` aborted) when the lease is no longer this
   * process's — taken over from another host while this one was suspended or blocked; the heartbeat would notice only
   * at its next beat, after the write. The lock file is read only when no beat has found the lease ours within a
   * heartbeat period (a suspended or blocked process): until then no one can have judged it stale.
   */
  async verify(): Promise<void> {
    if (this.lost.signal.aborted) throw this.lost.signal.reason;
    if (this.released || Date.now() - this.confirmedAt < this.heartbeatMs) return;
    const current = await readLock(this.file);
    if (!current || current.token !== this.content.token) {
      this.loseTo(current);
      throw this.lost.signal.reason;
    }
    this.confirmedAt = Date.now();
  }

  /** The lease was taken over (by `current`'s owner): the heartbeat stops and `signal` aborts with why. */
  private loseTo(current: LockContent | null): void {
    this.stopHeartbeat();
    const dir = path.dirname(this.file);
    this.lost.abort(
      new ShiftbenchError(
        'ERR_RUN_LOCKED',
        current === null && !existsSync(dir)
          ? `The run directory ${dir} was deleted, moved or renamed while this run was writing it; stopping. Put ` +
              `it back (or pass its new place as --out) and run the same command again to resume.`
          : `The lock of ${dir} was taken over by ${current ? owner(current) : 'another process'} ` +
              `(this run's heartbeat had stopped for too long); stopping.`,
      ),
    );
  }

  private async beat(): Promise<void> {
    if (this.released) return;
    const current = await readLock(this.file);
    if (!current || current.token !== this.content.token) {
      this.loseTo(current);
      return;
    }
    this.confirmedAt = Date.now();
    const next = { ...this.content, heartbeatAt: new Date().toISOString() };
    try {
      await writeFileAtomic(this.file, JSON.stringify(next));
    } catch {
      /* a missed beat; the next one retries */
    }
  }

  private stopHeartbeat(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Stops the heartbeat and removes the lock if it is still ours; safe to call twice. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    this.stopHeartbeat();
    await this.beating;
    const current = await readLock(this.file);
    if (current?.token === this.content.token) await rm(this.file, { force: true });
    heldHere.delete(this.content.token); // after the file is gone: until then its owner is alive
  }
}
