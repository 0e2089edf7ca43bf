/**
 * Worker threads of the bound searches can be stopped (issue 14.2): an aborted signal
 * terminates every worker and rejects with an AbortError; a worker that fails stops the
 * others and rejects with ERR_WORKER naming what it computed — no thread is left running
 * either way. The numbers do not depend on the number of workers.
 */
import { existsSync, readdirSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ShiftbenchError } from '../../src/core/errors.js';
import { greedyBoundsPrepared, prepareBounds } from '../../src/metrics/greedy/index.js';
import { greedyBoundsParallel, runResampleTasks, runWorkerGroup } from '../../src/metrics/greedy/workers.js';
import type { ResampleTask } from '../../src/metrics/greedy/resample.js';
import type { WorkerJob } from '../../src/metrics/greedy/worker.js';
import { buildWorkers } from '../helpers/workerBuild.js';
import { rejection } from '../helpers/shared.js';
import { sharedBaseCase } from './sharedBaseCase.js';

/** Threads of this process (Linux); null elsewhere. */
const threads = (): number | null => (existsSync('/proc/self/task') ? readdirSync('/proc/self/task').length : null);

/** Waits until threads of earlier workers have ended: the count unchanged over 3 polls 100 ms apart (at most 3 s). */
async function settle(): Promise<void> {
  let last = threads();
  let same = 0;
  for (let i = 0; i < 30 && last !== null && same < 3; i++) {
    await new Promise((r) => setTimeout(r, 100));
    const now = threads()!;
    same = now === last ? same + 1 : 0;
    last = now;
  }
}
/**
 * The thread count once it is at most `limit`, or the last count after 3 s of polling: a terminated worker's
 * thread can still be seen by the OS for a moment after terminate() resolved.
 */
async function threadsDownTo(limit: number): Promise<number> {
  let now = threads()!;
  for (let i = 0; i < 30 && now > limit; i++) {
    await new Promise((r) => setTimeout(r, 100));
    now = threads()!;
  }
  return now;
}
const noFallback = (m: string) => {
  throw new Error(`fell back: ${m}`);
};

describe('stopping the worker threads', () => {
  beforeAll(() => buildWorkers());
  const prepared = prepareBounds(sharedBaseCase(21, 60, 4, 4));
  const bootstrap = (n: number): ResampleTask[] => Array.from({ length: n }, (_, b) => ({ kind: 'bootstrap', b }));
  const settings = { seed: 4, maxPasses: 5, objective: 'ap' as const };

  it('an aborted signal terminates every worker at once and rejects with an AbortError', async () => {
    await runResampleTasks(prepared, bootstrap(2), settings, { workers: 2, onWorkerFallback: noFallback }); // warm
    await settle();
    const before = threads();
    const controller = new AbortController();
    let ticks = 0;
    let during: number | null = null;
    const p = runResampleTasks(prepared, bootstrap(4000), settings, {
      workers: 3,
      onWorkerFallback: noFallback,
      signal: controller.signal,
      onProgress: () => {
        ticks++;
        // abort once all three workers run (or after 200 resamples, and the check below fails)
        if (!controller.signal.aborted && (before === null || threads()! >= before + 3 || ticks >= 200)) {
          during = threads();
          controller.abort();
        }
      },
    });
    const e = await rejection<Error>(p);
    expect(e.name).toBe('AbortError');
    expect(ticks).toBeLessThan(4000);
    if (before !== null) {
      expect(during!).toBeGreaterThanOrEqual(before + 3); // the three workers were running
      expect(await threadsDownTo(before)).toBeLessThanOrEqual(before); // and are gone once it rejects
    }
    // the bound searches too
    const aborted = AbortSignal.abort();
    expect((await rejection<Error>(greedyBoundsParallel(prepared, 5, { workers: true, signal: aborted }))).name).toBe(
      'AbortError',
    );
  });

  it('a signal aborted with a reason of its own (the run lease taken over) rejects with that reason, not as a Ctrl-C', async () => {
    const controller = new AbortController();
    const lost = new ShiftbenchError('ERR_RUN_LOCKED', 'The lock of /runs/x was taken over by PID 7 on other-machine');
    const p = runResampleTasks(prepared, bootstrap(4000), settings, {
      workers: 2,
      onWorkerFallback: noFallback,
      signal: controller.signal,
      onProgress: (done) => {
        if (done === 5) controller.abort(lost);
      },
    });
    expect(await rejection(p)).toBe(lost);
    const searches = greedyBoundsParallel(prepared, 5, { workers: true, signal: AbortSignal.abort(lost) });
    expect(await rejection(searches)).toBe(lost);
  });

  it('a failing worker stops the others: ERR_WORKER names what it computed; no thread is left', async () => {
    await settle();
    const before = threads();
    const long: WorkerJob = { kind: 'resamples', tasks: bootstrap(4000), settings };
    const broken = { kind: 'no such job' } as unknown as WorkerJob;
    const e = await rejection(
      runWorkerGroup(prepared, [
        { job: long, label: 'bootstrap resamples 0–3999' },
        { job: long, label: 'the same again' },
        { job: broken, label: 'a job the worker does not know' },
      ]),
    );
    expect(e.code).toBe('ERR_WORKER');
    expect(e.message).toContain(
      'The worker thread computing a job the worker does not know failed: unknown worker job',
    );
    expect(e.message).toContain('the other 2 worker threads were stopped');
    expect(e.message).toContain('run the same command again');
    if (before !== null) expect(await threadsDownTo(before)).toBeLessThanOrEqual(before);
  });

  it('the same numbers on this thread and with 1 or 3 workers; both searches in workers equal the one-thread search', async () => {
    const small = prepareBounds(sharedBaseCase(22, 24, 3, 4));
    const tasks: ResampleTask[] = [...bootstrap(6), { kind: 'subsample', size: 12, j: 0 }];
    const here = await runResampleTasks(small, tasks, settings, { workers: 0 });
    expect(here.filter((r) => r !== null).length).toBeGreaterThan(0);
    for (const workers of [1, 3]) {
      expect(await runResampleTasks(small, tasks, settings, { workers, onWorkerFallback: noFallback })).toEqual(here);
    }
    expect(await greedyBoundsParallel(small, 5, { workers: true, onWorkerFallback: noFallback })).toEqual(
      greedyBoundsPrepared(small, 5),
    );
  });
});
