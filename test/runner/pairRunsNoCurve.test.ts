/**
 * Pairing (compare, check --baseline) needs each side's per-resample bounds only: the size curve (3 sizes × 50
 * subsample searches per side) is not part of a paired difference, so pairRuns must not compute it.
 */
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunMetrics } from '../../src/core/types.js';
import { defaultEnv } from '../../src/runner/env.js';
import { pairRuns } from '../../src/runner/index.js';
import type { RunEvaluator } from '../../src/runner/types.js';
import { makeRun, makeRunFixture, type RunFixture } from '../report/runs.js';

describe('pairRuns computes no size curve', () => {
  let fx: RunFixture;
  let a: { dir: string; metrics: RunMetrics };
  let b: { dir: string; metrics: RunMetrics };

  beforeAll(async () => {
    fx = await makeRunFixture(24); // ⌊24/2⌋ = 12 ≥ 10: a run's size curve has a point below N
    const only = { models: ['shaky'], mitigations: [], bootstrapBounds: 20 };
    a = await makeRun(fx, 'a', only, 5);
    b = await makeRun(fx, 'b', only);
  });
  afterAll(async () => {
    await rm(fx.root, { recursive: true, force: true });
  });

  it('the runs have a size curve; the pairing evaluates both sides without one', async () => {
    expect(a.metrics.results[0].analysis!.sizeCurve!.length).toBeGreaterThan(1);
    const curves: unknown[] = [];
    const real = defaultEnv().createEvaluator;
    const createEvaluator = (args: Parameters<typeof real>[0]): RunEvaluator => {
      const ev = real(args);
      return {
        process: (input, results) => ev.process(input, results),
        evaluate: async (opts) => {
          const r = await ev.evaluate(opts);
          curves.push(r.analysis.sizeCurve);
          return r;
        },
      };
    };
    const pairs = await pairRuns(a.dir, b.dir, { env: { createEvaluator } });
    expect(curves).toEqual([null, null]);
    expect(pairs).toHaveLength(1);
    expect(pairs[0].resamples).toBe(20);
  });
});
