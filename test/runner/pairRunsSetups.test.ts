/**
 * pairRuns is exported (src/index.ts) and pairs from stored detections: it must not put out a paired Δ of two runs made
 * with different setups (here: mode pad vs crop, score threshold) even when the caller did not check first — it refuses,
 * naming each difference, as compare and check --baseline do.
 */
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ShiftbenchError } from '../../src/core/errors.js';
import type { RunMetrics } from '../../src/core/types.js';
import { pairRuns } from '../../src/runner/index.js';
import { makeRun, makeRunFixture, type RunFixture } from '../report/runs.js';

describe('pairRuns: runs of different setups', () => {
  let fx: RunFixture;
  let pad: { dir: string; metrics: RunMetrics };
  let crop: { dir: string; metrics: RunMetrics };
  let tau: { dir: string; metrics: RunMetrics };

  beforeAll(async () => {
    fx = await makeRunFixture(12);
    const only = { models: ['shaky'], mitigations: [] };
    pad = await makeRun(fx, 'pad', only);
    crop = await makeRun(fx, 'crop', { ...only, mode: 'crop' });
    tau = await makeRun(fx, 'tau', { ...only, scoreThreshold: 0.3 });
  });
  afterAll(async () => {
    await rm(fx.root, { recursive: true, force: true });
  });

  it('refuses to pair a crop run with a pad run, or runs of two score thresholds, naming the difference', async () => {
    const e = (await pairRuns(crop.dir, pad.dir).catch((err: unknown) => err)) as ShiftbenchError;
    expect(e).toBeInstanceOf(Error);
    expect(e.code).toBe('ERR_METRICS_INPUT');
    expect(e.message).toContain('mode: crop → pad');
    const t = (await pairRuns(tau.dir, pad.dir).catch((err: unknown) => err)) as ShiftbenchError;
    expect(t.code).toBe('ERR_METRICS_INPUT');
    expect(t.message).toContain('--score-threshold');
  });
  it('pairs runs of the same setup', async () => {
    const again = await makeRun(fx, 'pad-again', { models: ['shaky'], mitigations: [] }, 5);
    const pairs = await pairRuns(again.dir, pad.dir);
    expect(pairs.map((p) => p.key)).toEqual(['shaky']);
  });
});
