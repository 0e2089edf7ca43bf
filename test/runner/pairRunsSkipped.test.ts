/**
 * pairRuns (compare, check --baseline) scores both runs on the images both evaluated: an image skipped in either run
 * is left out of both. Two runs that each skipped a different image evaluated as many images each (so
 * runCompatibility pairs them), but the pairing is on fewer than either run's own numbers: it must say so — the
 * images left out (which run skipped them) and the count the paired numbers are over — never silently.
 */
import { rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunMetrics } from '../../src/core/types.js';
import { pairRuns } from '../../src/runner/index.js';
import { makeRun, makeRunFixture, skipInRun, type RunFixture } from '../report/runs.js';

describe('pairRuns: images skipped in only one of the runs', () => {
  let fx: RunFixture;
  let a: { dir: string; metrics: RunMetrics };
  let b: { dir: string; metrics: RunMetrics };

  beforeAll(async () => {
    fx = await makeRunFixture(16);
    a = await makeRun(fx, 'a', { models: ['shaky'], mitigations: [] });
    b = await makeRun(fx, 'b', { models: ['shaky'], mitigations: [] }, 6);
    await skipInRun(a.dir, 3, 'could not decode (test)');
    await skipInRun(b.dir, 5, 'could not decode (test)');
  });
  afterAll(async () => {
    await rm(fx.root, { recursive: true, force: true });
  });

  it('says which images it left out and over how many images the paired numbers are', async () => {
    const lines: string[] = [];
    const logger = { info: (m: string) => lines.push(m), warn: (m: string) => lines.push(m) };
    const d = await pairRuns(b.dir, a.dir, { logger });
    expect(d).toHaveLength(1);
    expect(d[0].images).toBe(14);
    const said = lines.join('\n');
    expect(said).toMatch(/shaky: paired on 14 of 16 images/);
    expect(said).toContain('image 3');
    expect(said).toContain('image 5');
  });

  it('the dataset moved since the runs: ERR_DATASET naming the path the manifest records and the fix (compare takes no --dataset)', async () => {
    const ds = path.dirname(fx.dataset);
    await rename(ds, `${ds}-moved`);
    try {
      await expect(pairRuns(b.dir, a.dir)).rejects.toMatchObject({
        code: 'ERR_DATASET',
        message: expect.stringContaining(
          `paired differences recompute both runs from their stored detections and need the dataset ` +
            `${path.join(b.dir, 'manifest.json')} names: put it back at ${fx.dataset}`,
        ),
      });
    } finally {
      await rename(`${ds}-moved`, ds);
    }
  });
});
