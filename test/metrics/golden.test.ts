import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { evaluateCoco, greedyBounds } from '../../src/metrics/index.js';
import { SHARED_DIR, describeShared } from '../helpers/shared.js';

// the pycocotools answers stay in ../shared/golden (third-party reference data is not copied into the repository)
const GOLDEN = path.join(SHARED_DIR, 'golden');
const load = (dir: string, f: string) => JSON.parse(readFileSync(path.join(GOLDEN, dir, f), 'utf8'));
const cases = (dir: string) =>
  existsSync(path.join(GOLDEN, dir))
    ? readdirSync(path.join(GOLDEN, dir))
        .filter((f) => f.endsWith('.json'))
        .sort()
    : [];

describeShared('evaluateCoco matches pycocotools on every golden case', ['golden/cocoeval'], () => {
  const files = cases('cocoeval');
  it('has the golden cases', () => expect(files.length).toBeGreaterThanOrEqual(80));
  for (const f of files) {
    it(f, () => {
      const c = load('cocoeval', f);
      const r = evaluateCoco(c.gt, c.dt);
      expect(r.stats).toHaveLength(12);
      c.stats.forEach((v: number, i: number) =>
        expect(Math.abs(r.stats[i] - v), `stats[${i}]`).toBeLessThanOrEqual(1e-9),
      );
      expect(Object.keys(r.perCategoryAP).sort()).toEqual(Object.keys(c.per_category_ap).sort());
      for (const [k, v] of Object.entries(c.per_category_ap as Record<string, number>)) {
        expect(Math.abs(r.perCategoryAP[k] - v), `AP of category ${k}`).toBeLessThanOrEqual(1e-9);
      }
    });
  }
});

describeShared('greedyBounds reproduces every golden greedy case', ['golden/greedy'], () => {
  const files = cases('greedy');
  it('has the golden cases', () => expect(files.length).toBeGreaterThanOrEqual(40));
  for (const f of files) {
    it(f, () => {
      const c = load('greedy', f);
      const shifts = c.shifts.map(([dx, dy]: [number, number]) => ({ dx, dy }));
      const r = greedyBounds({ gt: c.gt, shifts, dets: c.dets, maxPasses: c.maxPasses });
      const e = c.expected;
      const close = (a: number, b: number, what: string) => expect(Math.abs(a - b), what).toBeLessThanOrEqual(1e-9);
      close(r!.mapRef, e.mapRef, 'mapRef');
      close(r!.mapLower, e.mapLower, 'mapLower');
      close(r!.mapUpper, e.mapUpper, 'mapUpper');
      close(r!.mapRange, e.mapUpper - e.mapLower, 'mapRange');
      e.perShift.forEach((v: number, s: number) => close(r!.perShift[s]!, v, `perShift[${s}]`));
      expect(r!.passes).toEqual({ lower: e.passesLower, upper: e.passesUpper });
      const asPairs = (a: number[]) => a.map((s) => c.shifts[s]);
      expect(asPairs(r!.assignLower)).toEqual(e.assignLower);
      expect(asPairs(r!.assignUpper)).toEqual(e.assignUpper);
      if (e.exhaustiveMin !== undefined) {
        // the greedy search is a local optimum: inside the exhaustive range
        expect(r!.mapLower).toBeGreaterThanOrEqual(e.exhaustiveMin - 1e-12);
        expect(r!.mapUpper).toBeLessThanOrEqual(e.exhaustiveMax + 1e-12);
      }
    });
  }
});
