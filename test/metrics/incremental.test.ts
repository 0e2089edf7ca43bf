import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import type { CocoAnnotation, CocoGroundTruth, CocoResult, Shift } from '../../src/core/types.js';
import {
  ShiftMapEngine,
  greedyBounds,
  mapForAssignment,
  prepareBounds,
  runSearch,
  type BoundsCase,
} from '../../src/metrics/greedy/index.js';
import { evaluateCoco } from '../../src/metrics/cocoeval.js';
import { perShiftMaps } from '../../src/metrics/greedy/search.js';
import { jitterCase, sharedBaseCase } from './sharedBaseCase.js';

/** A random small case: crowd gt (some per shift), tied scores, duplicates, per-shift gt (crop mode) optionally. */
function randomCase(
  seed: number,
  o: { images: number; cats: number; shifts: number; detsPerGt: number; fps: number; perShiftGt: boolean },
): BoundsCase {
  const rng = new Rng(seed);
  const shifts: Shift[] = Array.from({ length: o.shifts }, (_, s) => ({ dx: s % 2, dy: Math.floor(s / 2) }));
  const images = Array.from({ length: o.images }, (_, i) => ({
    id: 100 + 3 * i,
    file_name: `${i}.png`,
    width: 200,
    height: 200,
  }));
  const categories = Array.from({ length: o.cats }, (_, c) => ({ id: c + 1, name: `c${c + 1}` }));
  const anns: CocoAnnotation[] = [];
  let aid = 1;
  for (const im of images) {
    const n = rng.int(0, 4);
    for (let k = 0; k < n; k++) {
      const w = rng.uniform(8, 120),
        h = rng.uniform(8, 120);
      anns.push({
        id: aid++,
        image_id: im.id,
        category_id: rng.int(1, o.cats),
        bbox: [rng.uniform(0, 80), rng.uniform(0, 80), w, h],
        area: w * h * rng.uniform(0.8, 1),
        iscrowd: rng.next() < 0.2 ? 1 : 0,
      });
    }
  }
  const gtBase: CocoGroundTruth = { images, categories, annotations: anns };
  const scores = [0.1, 0.3, 0.5, 0.5, 0.7, 0.9, 0.95];
  const pickScore = () => (rng.next() < 0.5 ? rng.pick(scores) : Math.round(rng.next() * 1000) / 1000);
  const dets: CocoResult[][] = shifts.map(() => {
    const out: CocoResult[] = [];
    for (const a of anns) {
      for (let k = 0; k < o.detsPerGt; k++) {
        if (rng.next() < 0.25) continue;
        const j = () => rng.normal(0, 6);
        out.push({
          image_id: a.image_id,
          category_id: rng.next() < 0.9 ? a.category_id : rng.int(1, o.cats),
          bbox: [a.bbox[0] + j(), a.bbox[1] + j(), Math.max(1, a.bbox[2] + j()), Math.max(1, a.bbox[3] + j())],
          score: pickScore(),
        });
      }
    }
    for (const im of images) {
      const n = rng.int(0, o.fps);
      for (let k = 0; k < n; k++)
        out.push({
          image_id: im.id,
          category_id: rng.int(1, o.cats),
          bbox: [rng.uniform(0, 150), rng.uniform(0, 150), rng.uniform(5, 60), rng.uniform(5, 60)],
          score: pickScore(),
        });
    }
    // shuffle so that within-image order is arbitrary
    for (let i = out.length - 1; i > 0; i--) {
      const j = rng.int(0, i);
      [out[i], out[j]] = [out[j], out[i]];
    }
    return out;
  });
  const gt = o.perShiftGt
    ? shifts.map(() => ({
        ...gtBase,
        annotations: anns.map((a) => ({
          ...a,
          iscrowd: (rng.next() < 0.15 ? 1 : a.iscrowd) as 0 | 1,
          bbox: [a.bbox[0] + rng.int(0, 1), a.bbox[1], a.bbox[2], a.bbox[3]] as [number, number, number, number],
        })),
      }))
    : gtBase;
  return { gt, shifts, dets, maxPasses: 5 };
}

describe('incremental candidate evaluation equals from-scratch evaluateCoco', () => {
  const configs = [
    { images: 5, cats: 2, shifts: 2, detsPerGt: 3, fps: 3, perShiftGt: false },
    { images: 6, cats: 3, shifts: 4, detsPerGt: 3, fps: 6, perShiftGt: false },
    { images: 5, cats: 2, shifts: 3, detsPerGt: 2, fps: 4, perShiftGt: true },
    { images: 20, cats: 3, shifts: 4, detsPerGt: 4, fps: 12, perShiftGt: false },
    { images: 12, cats: 2, shifts: 4, detsPerGt: 3, fps: 8, perShiftGt: true },
  ];
  for (const [ci, cfg] of configs.entries()) {
    for (let seed = 1; seed <= 4; seed++) {
      it(`config ${ci} seed ${seed}`, () => {
        const c = randomCase(seed * 101 + ci, cfg);
        const engine = new ShiftMapEngine(prepareBounds(c));
        const rng = new Rng(seed);
        const a = Array.from({ length: cfg.images }, () => rng.int(0, cfg.shifts - 1));
        engine.setAssignment(a);
        expect(engine.map).toBe(mapForAssignment(c, a));
        for (let step = 0; step < 3 * cfg.images; step++) {
          const i = rng.int(0, cfg.images - 1);
          for (let s = 0; s < cfg.shifts; s++) {
            const b = a.slice();
            b[i] = s;
            expect(
              Math.abs(engine.candidate(i, s) - mapForAssignment(c, b)),
              `candidate image ${i} shift ${s}`,
            ).toBeLessThanOrEqual(1e-12);
          }
          const s = rng.int(0, cfg.shifts - 1);
          engine.move(i, s);
          a[i] = s;
          // after a move the state is exact: bit-identical to a from-scratch evaluation
          expect(engine.map).toBe(mapForAssignment(c, a));
        }
      });
    }
  }

  // detections that keep their identity across shifts: most categories of an image hold
  // only false positives, the case the engine answers without walking the TP lists
  for (const seed of [11, 12]) {
    it(`shared-base detections, seed ${seed}`, () => {
      const c = sharedBaseCase(seed, 25, 5, 4);
      const engine = new ShiftMapEngine(prepareBounds(c));
      const rng = new Rng(seed);
      const a = Array.from({ length: 25 }, () => rng.int(0, 3));
      engine.setAssignment(a);
      expect(engine.map).toBe(mapForAssignment(c, a));
      for (let step = 0; step < 40; step++) {
        const i = rng.int(0, 24);
        for (let s = 0; s < 4; s++) {
          const b = a.slice();
          b[i] = s;
          expect(
            Math.abs(engine.candidate(i, s) - mapForAssignment(c, b)),
            `candidate image ${i} shift ${s}`,
          ).toBeLessThanOrEqual(1e-12);
        }
        const s = rng.int(0, 3);
        engine.move(i, s);
        a[i] = s;
        expect(engine.map).toBe(mapForAssignment(c, a));
      }
    });
  }

  // every shift's detections drawn independently (box jitter, score noise): the realistic, slow case
  for (const seed of [41, 42]) {
    it(`independently jittered detections, seed ${seed}`, () => {
      const n = seed === 41 ? 25 : 120;
      const c = jitterCase(seed, n, seed === 41 ? 5 : 2, 4);
      const engine = new ShiftMapEngine(prepareBounds(c));
      const rng = new Rng(seed);
      const a = Array.from({ length: n }, () => rng.int(0, 3));
      engine.setAssignment(a);
      expect(engine.map).toBe(mapForAssignment(c, a));
      for (let step = 0; step < 40; step++) {
        const i = rng.int(0, n - 1);
        for (let s = 0; s < 4; s++) {
          const b = a.slice();
          b[i] = s;
          expect(
            Math.abs(engine.candidate(i, s) - mapForAssignment(c, b)),
            `candidate image ${i} shift ${s}`,
          ).toBeLessThanOrEqual(1e-12);
        }
        const s = rng.int(0, 3);
        engine.move(i, s);
        a[i] = s;
        expect(engine.map).toBe(mapForAssignment(c, a));
      }
    });
  }

  // long TP lists (about 100 per category): long shifted segments in the candidate walk
  it('an image visited again after another image moved gets exact candidates (nothing kept from the earlier visit)', () => {
    for (const [ci, cfg] of configs.entries()) {
      const c = randomCase(500 + ci, cfg);
      const engine = new ShiftMapEngine(prepareBounds(c));
      const rng = new Rng(ci + 1);
      const a: number[] = new Array(cfg.images).fill(0);
      for (let step = 0; step < 4 * cfg.images; step++) {
        const i = rng.int(0, cfg.images - 1);
        const visit = () => {
          for (let s = 0; s < cfg.shifts; s++) {
            const b = a.slice();
            b[i] = s;
            expect(
              Math.abs(engine.candidate(i, s) - mapForAssignment(c, b)),
              `config ${ci} step ${step}: image ${i} shift ${s}`,
            ).toBeLessThanOrEqual(1e-12);
          }
        };
        visit();
        // another image moves (the same categories), then image i is visited again in the new state
        const j = (i + 1 + rng.int(0, cfg.images - 2)) % cfg.images;
        const sj = (a[j] + 1 + rng.int(0, cfg.shifts - 2)) % cfg.shifts;
        engine.move(j, sj);
        a[j] = sj;
        visit();
      }
    }
  });

  it('candidate walk on long TP lists', () => {
    const c = sharedBaseCase(21, 160, 3, 4);
    const n = 160;
    const engine = new ShiftMapEngine(prepareBounds(c));
    const rng = new Rng(21);
    const a = Array.from({ length: n }, () => rng.int(0, 3));
    engine.setAssignment(a);
    for (let step = 0; step < 30; step++) {
      const i = rng.int(0, n - 1);
      for (let s = 0; s < 4; s++) {
        const b = a.slice();
        b[i] = s;
        expect(
          Math.abs(engine.candidate(i, s) - mapForAssignment(c, b)),
          `candidate image ${i} shift ${s}`,
        ).toBeLessThanOrEqual(1e-12);
      }
      const s = rng.int(0, 3);
      engine.move(i, s);
      a[i] = s;
      expect(engine.map).toBe(mapForAssignment(c, a));
    }
  });

  it('mapRef is bit-identical to evaluateCoco stats[0] at s0', () => {
    const c = randomCase(7, configs[3]);
    const r = greedyBounds(c);
    expect(r!.mapRef).toBe(evaluateCoco(c.gt as CocoGroundTruth, c.dets[0]).stats[0]);
    expect(r!.perShift[2]).toBe(evaluateCoco(c.gt as CocoGroundTruth, c.dets[2]).stats[0]);
  });

  it('perShift (from the prepared cells, no engine) is the engine at every image on that shift, bit for bit', () => {
    for (const [ci, cfg] of configs.entries()) {
      for (const objective of ['ap', 'ap50', 'ap75'] as const) {
        const p = prepareBounds(randomCase(300 + ci, cfg));
        const engine = new ShiftMapEngine(p, { objective });
        const perShift = perShiftMaps(p, { objective });
        for (let s = 0; s < cfg.shifts; s++) {
          engine.setAssignment(new Int32Array(cfg.images).fill(s));
          expect(perShift[s], `config ${ci}, ${objective}, shift ${s}`).toBe(engine.map);
        }
      }
    }
  });
});

/** Exhaustive min / max over all assignments, from scratch. */
function exhaustive(c: BoundsCase, n: number): { min: number; max: number } {
  const S = c.shifts.length;
  let min = Infinity,
    max = -Infinity;
  const a = new Array(n).fill(0);
  for (let code = 0; code < S ** n; code++) {
    let x = code;
    for (let i = 0; i < n; i++) {
      a[i] = x % S;
      x = Math.floor(x / S);
    }
    const v = mapForAssignment(c, a);
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  return { min, max };
}

/**
 * Protocol §4 from scratch: every candidate scored by evaluateCoco (mapForAssignment);
 * images in ascending id order, ties within 1e−12 keep the current shift, else the earliest.
 */
function referenceSearch(
  c: BoundsCase,
  n: number,
  dir: 1 | -1,
  maxPasses: number,
): { value: number; passes: number; assign: number[] } {
  const S = c.shifts.length;
  const a = new Array(n).fill(0);
  let cur = mapForAssignment(c, a);
  let passes = 0;
  for (let pass = 1; pass <= maxPasses; pass++) {
    passes = pass;
    let changed = false;
    for (let i = 0; i < n; i++) {
      const vals = Array.from({ length: S }, (_, s) =>
        s === a[i]
          ? cur
          : mapForAssignment(
              c,
              a.map((x, k) => (k === i ? s : x)),
            ),
      );
      const best = Math.max(...vals.map((v) => dir * v));
      if (dir * vals[a[i]] >= best - 1e-12) continue;
      const pick = vals.findIndex((v) => dir * v >= best - 1e-12);
      a[i] = pick;
      cur = mapForAssignment(c, a);
      changed = true;
    }
    if (!changed) break;
  }
  return { value: cur, passes, assign: a.slice() };
}

describe('greedy search equals the from-scratch reference search', () => {
  // the engine's answer after a move is bit-identical to evaluateCoco, so the whole search is
  for (const [name, make] of [
    ['independently jittered detections', (seed: number) => jitterCase(seed, 14, 3, 4)],
    ['shared-base detections', (seed: number) => sharedBaseCase(seed, 14, 3, 4)],
  ] as const) {
    for (const seed of [51, 52, 53]) {
      it(`${name}, seed ${seed}`, () => {
        const c = make(seed);
        const r = greedyBounds(c)!;
        const lo = referenceSearch(c, 14, -1, 5);
        const hi = referenceSearch(c, 14, 1, 5);
        expect(r.mapLower).toBe(lo.value);
        expect(r.mapUpper).toBe(hi.value);
        expect(r.assignLower).toEqual(lo.assign);
        expect(r.assignUpper).toEqual(hi.assign);
        expect(r.passes).toEqual({ lower: lo.passes, upper: hi.passes });
        expect(r.mapRange).toBeGreaterThan(0);
      });
    }
  }
});

describe('greedy search', () => {
  it('lies inside the exhaustive bounds and follows the pass rules', () => {
    for (let seed = 1; seed <= 6; seed++) {
      const c = randomCase(seed, { images: 4, cats: 2, shifts: 3, detsPerGt: 3, fps: 3, perShiftGt: seed % 2 === 0 });
      const r = greedyBounds(c);
      const ex = exhaustive(c, 4);
      expect(r!.mapLower).toBeGreaterThanOrEqual(ex.min - 1e-12);
      expect(r!.mapUpper).toBeLessThanOrEqual(ex.max + 1e-12);
      expect(mapForAssignment(c, r!.assignLower)).toBeCloseTo(r!.mapLower, 12);
      expect(mapForAssignment(c, r!.assignUpper)).toBeCloseTo(r!.mapUpper, 12);
      expect(r!.passes.lower).toBeGreaterThanOrEqual(1);
      expect(r!.passes.lower).toBeLessThanOrEqual(5);
    }
  });

  it('a perfectly shift-equivariant detector has mapRange 0 and never moves', () => {
    const c = randomCase(3, { images: 8, cats: 3, shifts: 4, detsPerGt: 3, fps: 5, perShiftGt: false });
    const same: BoundsCase = { ...c, dets: c.shifts.map(() => c.dets[0]) };
    const r = greedyBounds(same);
    expect(r!.mapRange).toBe(0);
    expect(r!.perShift.every((v) => v === r!.mapRef)).toBe(true);
    expect(r!.assignLower.every((s) => s === 0)).toBe(true);
    expect(r!.passes).toEqual({ lower: 1, upper: 1 });
  });

  it('maxPasses caps the passes', () => {
    const c = randomCase(5, { images: 10, cats: 2, shifts: 4, detsPerGt: 3, fps: 5, perShiftGt: false });
    const r = greedyBounds({ ...c, maxPasses: 1 });
    expect(r!.passes).toEqual({ lower: 1, upper: 1 });
  });
});

describe('objectives ap50 and ap75 through moves', () => {
  /** evaluateCoco stats[k] of the detections (and per-shift gt) at an assignment. */
  function statForAssignment(c: BoundsCase, a: ArrayLike<number>, k: number): number {
    const gt0 = (Array.isArray(c.gt) ? c.gt[0] : c.gt) as CocoGroundTruth;
    const ids = [...new Set(gt0.images.map((im) => im.id))].sort((x, y) => x - y);
    const shiftOf = new Map(ids.map((id, i) => [id, a[i]]));
    const annotations = Array.isArray(c.gt)
      ? (c.gt as CocoGroundTruth[]).flatMap((g, s) => g.annotations.filter((x) => shiftOf.get(x.image_id) === s))
      : gt0.annotations;
    const dets = c.dets.flatMap((ds, s) => ds.filter((d) => shiftOf.get(d.image_id) === s));
    return evaluateCoco({ ...gt0, annotations }, dets).stats[k];
  }
  for (const [objective, k] of [
    ['ap50', 1],
    ['ap75', 2],
  ] as const) {
    it(`${objective}: candidates and the state after random moves equal evaluateCoco stats[${k}]`, () => {
      const n = 120;
      const c = randomCase(41, { images: n, cats: 3, shifts: 4, detsPerGt: 3, fps: 4, perShiftGt: true });
      const engine = new ShiftMapEngine(prepareBounds(c), { objective });
      const plain = new ShiftMapEngine(prepareBounds(c), { objective, offsetCaches: false });
      const rng = new Rng(41);
      expect(engine.map).toBeCloseTo(statForAssignment(c, engine.assignment, k), 12);
      for (let step = 0; step < 60; step++) {
        const i = rng.int(0, n - 1);
        const s = rng.int(0, 3);
        const a = Array.from(engine.assignment);
        a[i] = s;
        const v = engine.candidate(i, s);
        expect(v).toBe(plain.candidate(i, s));
        expect(Math.abs(v - statForAssignment(c, a, k))).toBeLessThanOrEqual(1e-12);
        engine.move(i, s);
        plain.move(i, s);
        expect(engine.map).toBe(plain.map);
      }
      expect(engine.map).toBeCloseTo(statForAssignment(c, engine.assignment, k), 12);
    });
  }
});

describe('OffsetMax and stretch caches in the candidate walk change no bit', () => {
  // long TP lists (a few hundred per category) so that shifted segments reach the caches,
  // and a greedy walk with moves so that caches are repaired after their lists change;
  // seed 34 has ground truth that differs per shift (crowd flags), so recall tables change with moves
  const kinds: Record<number, string> = { 31: '', 32: '', 33: ' (jittered)', 34: ' (per-shift gt)' };
  for (const seed of [31, 32, 33, 34]) {
    it(`candidates with and without caches are identical through moves, seed ${seed}${kinds[seed]}`, () => {
      const n = 400;
      const c =
        seed === 34
          ? randomCase(seed, { images: n, cats: 2, shifts: 4, detsPerGt: 3, fps: 4, perShiftGt: true })
          : seed === 33
            ? jitterCase(seed, n, 2, 4)
            : sharedBaseCase(seed, n, 2, 4);
      const prepared = prepareBounds(c);
      const cached = new ShiftMapEngine(prepared);
      const plain = new ShiftMapEngine(prepared, { offsetCaches: false });
      const rng = new Rng(seed);
      for (let step = 0; step < 3 * n; step++) {
        const i = step < n ? step : rng.int(0, n - 1);
        let best = -Infinity;
        let pick = cached.assignment[i];
        for (let s = 0; s < 4; s++) {
          const v = cached.candidate(i, s);
          expect(v, `image ${i} shift ${s}`).toBe(plain.candidate(i, s));
          if (v > best + 1e-12) {
            best = v;
            pick = s;
          }
        }
        // mostly greedy moves (upper search), some random ones
        const s = rng.next() < 0.8 ? pick : rng.int(0, 3);
        cached.move(i, s);
        plain.move(i, s);
        expect(cached.map).toBe(plain.map);
      }
      expect(cached.map).toBe(mapForAssignment(c, Array.from(cached.assignment)));
      if (seed !== 34) {
        expect(cached.stats.offsetCacheSegments).toBeGreaterThan(0);
        expect(cached.stats.offsetCacheRepairs).toBeGreaterThan(0);
      }
      // stretch caches were used, and some stored maxima were found stale after moves and recomputed
      expect(cached.stats.stretchCacheHits).toBeGreaterThan(0);
      expect(cached.stats.stretchCacheMisses).toBeGreaterThan(cached.stats.stretchCacheHits / 1000);
      expect(plain.stats.offsetCacheSegments).toBe(0);
      expect(plain.stats.stretchCacheHits + plain.stats.stretchCacheMisses).toBe(0);
    });
  }
});

describe('candidates proven below the floor are dropped unwalked, and the searches find the same', () => {
  // jittered detections with random false positives in many categories (the categories the moved image only holds
  // false positives in are what the proof leaves out), tied scores, crowd gt; and a case with per-shift gt
  const cases: [string, () => BoundsCase][] = [
    ['jittered, 8 categories', () => jitterCase(51, 300, 8, 4)],
    [
      'random, per-shift gt',
      () => randomCase(52, { images: 200, cats: 5, shifts: 4, detsPerGt: 3, fps: 6, perShiftGt: true }),
    ],
  ];
  for (const [name, make] of cases) {
    it(`${name}: lower and upper searches equal those that walk every candidate`, () => {
      const prepared = prepareBounds(make());
      let pruned = 0;
      for (const dir of [-1, 1] as const) {
        const fast = new ShiftMapEngine(prepared);
        const full = new ShiftMapEngine(prepared, { pruning: false });
        const fastCounters = { candidates: 0, dropped: 0, moves: 0 };
        const fullCounters = { candidates: 0, dropped: 0, moves: 0 };
        const a = runSearch(fast, dir, 5, { counters: fastCounters }, dir > 0 ? 'upper' : 'lower');
        const b = runSearch(full, dir, 5, { counters: fullCounters }, dir > 0 ? 'upper' : 'lower');
        expect(a).toEqual(b);
        expect(fullCounters.dropped).toBe(0);
        pruned += fastCounters.dropped;
      }
      expect(pruned).toBeGreaterThan(0);
    });
  }

  it('candidateAbove is the exact candidate, or ∓Infinity only when the exact value is below the floor', () => {
    const prepared = prepareBounds(jitterCase(53, 150, 6, 4));
    const engine = new ShiftMapEngine(prepared);
    const rng = new Rng(53);
    let dropped = 0;
    let kept = 0;
    for (let step = 0; step < 400; step++) {
      const i = rng.int(0, prepared.numImages - 1);
      const s = rng.int(0, 3);
      const dir = rng.next() < 0.5 ? -1 : 1;
      const exact = engine.candidate(i, s);
      // floors just above or just below the exact value: only those above may drop it
      const floor = dir * exact + (rng.next() < 0.5 ? 1 : -1) * 10 ** rng.uniform(-12, -3);
      const v = engine.candidateAbove(i, s, dir, floor);
      if (v === -dir * Infinity) {
        expect(dir * exact).toBeLessThan(floor);
        dropped++;
      } else {
        expect(v).toBe(exact);
        kept++;
      }
      if (rng.next() < 0.2) engine.move(i, s);
    }
    expect(dropped).toBeGreaterThan(0);
    expect(kept).toBeGreaterThan(0);
  });

  it("a visit walks every shift's categories together and gives each shift's candidate bit for bit", () => {
    // beginVisit walks the touched categories category by category across shifts; a second engine walks one
    // candidate at a time; values (and drops) must agree, and a move ends the visit
    for (const [seed, shifts] of [
      [54, 4],
      [55, 9],
    ] as const) {
      const prepared = prepareBounds(jitterCase(seed, 150, 6, shifts));
      const visit = new ShiftMapEngine(prepared);
      const single = new ShiftMapEngine(prepared);
      const rng = new Rng(seed);
      let dropped = 0;
      for (let step = 0; step < 150; step++) {
        const i = rng.int(0, prepared.numImages - 1);
        const dir = rng.next() < 0.5 ? -1 : 1;
        visit.beginVisit(i, dir);
        const floor = dir * single.map + (rng.next() < 0.5 ? 1 : -1) * 10 ** rng.uniform(-9, -3);
        for (let s = 0; s < shifts; s++) {
          const exact = single.candidate(i, s);
          const v = visit.visitCandidate(s, floor);
          if (v === -dir * Infinity) {
            expect(dir * exact).toBeLessThan(floor);
            dropped++;
          } else expect(v).toBe(exact);
        }
        if (rng.next() < 0.3) {
          const s = rng.int(0, shifts - 1);
          visit.move(i, s);
          single.move(i, s);
          expect(() => visit.visitCandidate(s, -Infinity)).toThrow(/beginVisit/);
        }
      }
      expect(visit.map).toBe(single.map);
      expect(dropped).toBeGreaterThan(0);
    }
  });
});
