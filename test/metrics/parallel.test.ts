import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  WORKERS_MIN_IMAGES,
  greedyBoundsParallel,
  greedyBoundsPrepared,
  prepareBounds,
  workersPay,
  type GreedyProgress,
} from '../../src/metrics/greedy/index.js';
import { sharedPath } from '../helpers/shared.js';
import { jitterCase, sharedBaseCase } from './sharedBaseCase.js';
import { buildWorkers } from '../helpers/workerBuild.js';

const GOLDEN_GREEDY = sharedPath('golden/greedy');
if (!GOLDEN_GREEDY)
  process.stderr.write('[skip] golden greedy cases through the workers: ../shared/golden/greedy absent\n');

beforeAll(() => buildWorkers());

describe('greedyBoundsParallel (worker threads) equals the one-thread search bit for bit', () => {
  for (const seed of [1, 2, 3, 4]) {
    it(`${seed === 4 ? 'independently jittered' : 'shared-base'} case, seed ${seed}`, async () => {
      const c = seed === 4 ? jitterCase(seed, 60, 6, 4) : sharedBaseCase(seed, 60, 6, 4);
      const prepared = prepareBounds(c);
      const seqCounters = { candidates: 0, dropped: 0, moves: 0 };
      const seq = greedyBoundsPrepared(prepared, 5, { counters: seqCounters });
      let fallback: string | null = null;
      const counters = { candidates: 0, dropped: 0, moves: 0 };
      const progress: GreedyProgress[] = [];
      const par = await greedyBoundsParallel(prepared, 5, {
        counters,
        onProgress: (p) => progress.push(p),
        onWorkerFallback: (r) => (fallback = r),
      });
      expect(fallback).toBeNull();
      expect(par).toEqual(seq);
      expect(par!.mapLower).toBe(seq!.mapLower);
      expect(par!.mapUpper).toBe(seq!.mapUpper);
      expect(seq!.mapRange).toBeGreaterThan(0);
      expect(counters.candidates).toBeGreaterThan(0);
      // the workers' counts, added up, are the one-thread search's (candidates dropped unwalked included)
      expect(counters).toEqual(seqCounters);
      expect(progress.some((p) => p.search === 'lower')).toBe(true);
      expect(progress.some((p) => p.search === 'upper')).toBe(true);
    });
  }

  it('computes perShift once the first search is done, not beside both searches', async () => {
    const prepared = prepareBounds(jitterCase(5, 60, 6, 4));
    const progress: GreedyProgress[] = [];
    await greedyBoundsParallel(prepared, 5, { onProgress: (p) => progress.push(p) });
    const firstPerShift = progress.findIndex((p) => p.search === 'perShift');
    expect(firstPerShift).toBeGreaterThan(0);
    const after = new Set(progress.slice(firstPerShift).map((p) => p.search));
    // a search's progress messages all come before its result: one search (or both) has none after perShift began;
    // perShift run at once would come before every message of both
    expect(
      ['lower', 'upper'].filter((search) => !after.has(search as GreedyProgress['search'])).length,
    ).toBeGreaterThanOrEqual(1);
    expect(progress.filter((p) => p.search === 'lower').length).toBeGreaterThan(0);
    expect(progress.filter((p) => p.search === 'upper').length).toBeGreaterThan(0);
  });

  it.skipIf(!GOLDEN_GREEDY)('reproduces golden greedy cases (../shared/golden) through the workers', async () => {
    const dir = GOLDEN_GREEDY!;
    const files = readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .sort()
      .slice(0, 5);
    for (const f of files) {
      const g = JSON.parse(readFileSync(path.join(dir, f), 'utf8'));
      const prepared = prepareBounds({
        gt: g.gt,
        shifts: g.shifts.map(([dx, dy]: [number, number]) => ({ dx, dy })),
        dets: g.dets,
      });
      const r = await greedyBoundsParallel(prepared, g.maxPasses ?? 5, {
        onWorkerFallback: (m) => {
          throw new Error(`fell back: ${m}`);
        },
      });
      expect(Math.abs(r!.mapLower - g.expected.mapLower), f).toBeLessThanOrEqual(1e-9);
      expect(Math.abs(r!.mapUpper - g.expected.mapUpper), f).toBeLessThanOrEqual(1e-9);
      expect(r!.passes, f).toEqual({ lower: g.expected.passesLower, upper: g.expected.passesUpper });
    }
  });

  it("workers: 'auto' uses workers from WORKERS_MIN_IMAGES images on, with the same answer", async () => {
    const small = prepareBounds(sharedBaseCase(8, 30, 4, 3));
    expect(workersPay(small)).toBe(false);
    expect(
      await greedyBoundsParallel(small, 5, {
        workers: 'auto',
        onWorkerFallback: (m) => {
          throw new Error(`fell back: ${m}`);
        },
      }),
    ).toEqual(greedyBoundsPrepared(small, 5));
    const large = prepareBounds(sharedBaseCase(8, WORKERS_MIN_IMAGES, 2, 2));
    expect(workersPay(large)).toBe(true);
    expect(workersPay({ ...large, numShifts: 1 })).toBe(false);
    let fallback: string | null = null;
    const par = await greedyBoundsParallel(large, 2, { workers: 'auto', onWorkerFallback: (m) => (fallback = m) });
    expect(fallback).toBeNull();
    expect(par).toEqual(greedyBoundsPrepared(large, 2));
  });

  it('the prepared arrays are on SharedArrayBuffers: workers share one copy instead of cloning it (issue 14.1)', () => {
    const p = prepareBounds(sharedBaseCase(4, 20, 4, 3));
    const arrays = [
      p.detScore,
      p.detImg,
      p.detShift,
      p.detStatus,
      p.cellCat,
      p.cellStart,
      p.cellEnd,
      p.cellNpig,
      p.isStart,
      p.uPos,
      ...p.universe,
    ];
    for (const a of arrays) expect(a.buffer).toBeInstanceOf(SharedArrayBuffer);
  });

  it('workers: false runs on this thread with the same answer', async () => {
    const c = sharedBaseCase(9, 30, 4, 3);
    const prepared = prepareBounds(c);
    expect(await greedyBoundsParallel(prepared, 5, { workers: false })).toEqual(greedyBoundsPrepared(prepared, 5));
  });
});
