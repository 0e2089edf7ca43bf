/**
 * check --baseline when the two runs each evaluated enough images but the images both evaluated are too few for an
 * interval (each skipped other images): the pairing gives no Δ, and check must say why, not claim the baseline lacks
 * the detector.
 */
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunMetrics } from '../../src/core/types.js';
import { checkRunDir } from '../../src/report/index.js';
import { pairRuns } from '../../src/runner/index.js';
import { makeRun, makeRunFixture, skipInRun, type RunFixture } from './runs.js';

describe('check --baseline: too few images evaluated in both runs', () => {
  let fx: RunFixture;
  let a: { dir: string; metrics: RunMetrics };
  let b: { dir: string; metrics: RunMetrics };

  beforeAll(async () => {
    fx = await makeRunFixture(10);
    a = await makeRun(fx, 'a', { models: ['shaky'], mitigations: [], bootstrapBounds: 20 });
    b = await makeRun(fx, 'b', { models: ['shaky'], mitigations: [], bootstrapBounds: 20 }, 6);
    await skipInRun(b.dir, 4); // paired on 9 of 10 images: fewer than 10 give no interval
  });
  afterAll(async () => {
    await rm(fx.root, { recursive: true, force: true });
  });

  it('cannot be judged, with the reason that covers it', async () => {
    const err = (await checkRunDir(
      a.dir,
      { maxIncrease: 0.5 },
      { baselineDir: b.dir, pair: (x, y, keys) => pairRuns(x, y, { keys }) },
    ).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(Error);
    expect(err.message).toContain('fewer than 10 images evaluated in both runs');
    expect(err.message).not.toContain('it has no detector shaky with ground truth)');
  });
});
