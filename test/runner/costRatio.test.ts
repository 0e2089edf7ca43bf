/**
 * The cost ratio of a mitigation (its inference time ÷ its plain detector's): measured so that the plain detector
 * running first — its first calls are slow (warm-up) — does not make a mitigation look cheaper than nothing, and never
 * from timings of two different runs (a resumed or extended run may have other settings and another machine load).
 */
import { readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { CocoGroundTruth, Detector } from '../../src/core/types.js';
import { rescoreRun, runBenchmark, type RunnerEnv } from '../../src/runner/index.js';
import { gtDetector, makeDataset, tempDir } from './fixtures.js';

describe('cost ratio', () => {
  let root: string;
  let dataset: string;
  let gt: CocoGroundTruth;
  beforeAll(async () => {
    root = await tempDir('shiftbench-cost-');
    ({ file: dataset, gt } = await makeDataset(path.join(root, 'ds'), 12));
  });

  /** A detector whose first 2 calls take 400 ms (warm-up) and every later one 15 ms. */
  const warmingUp = (): Detector => {
    const d = gtDetector('warm', gt);
    let calls = 0;
    const detect = d.detect.bind(d);
    d.detect = async (batch, contexts) => {
      await new Promise((r) => setTimeout(r, calls++ < 2 ? 400 : 15));
      return detect(batch, contexts);
    };
    return d;
  };
  const env = (): Partial<RunnerEnv> => ({
    loadDetector: async () => warmingUp(),
    listModels: async () => [],
    describeDetector: async (spec) => ({ kind: 'test detector', spec }),
  });
  const options = (out: string, mitigations: string[]) => ({
    models: ['warm'],
    mitigations,
    dataset,
    out: path.join(root, out),
    bootstrapResamples: 20,
    bootstrapBounds: 0,
    batchSize: 1,
  });

  it('an identity mitigation sharing the warmed-up plain detector costs about 1×, not less (per-image medians)', async () => {
    const { metrics } = await runBenchmark(options('identity', ['input-blur:0']), { env: env() });
    const ratio = metrics.results[1].timing.costRatio!;
    // the means per image would give 12 · 4 · 0.015 / (0.8 + 12 · 4 · 0.015) ≈ 0.5: cheaper than nothing
    expect(ratio).toBeGreaterThan(0.8);
    expect(ratio).toBeLessThan(1.6);
  });

  it('a mitigation added to a finished run is not timed against the plain detector of the earlier run: no ratio, a note', async () => {
    await runBenchmark(options('added', []), { env: env() });
    const { metrics } = await runBenchmark(options('added', ['input-blur:0']), { env: env() });
    const r = metrics.results[1];
    expect(r.timing.costRatio).toBeNull();
    expect(r.timing.costRatioNote).toContain('timed in different runs');
  });

  it('a run extended with other timing settings (--threads, --batch): no ratio, a note naming both settings', async () => {
    // both detectors timed in the same two runs, each run with its own settings: the medians would pool them
    await runBenchmark({ ...options('resettled', ['input-blur:0']), limit: 6, threads: 1 }, { env: env() });
    const { metrics } = await runBenchmark(
      { ...options('resettled', ['input-blur:0']), threads: 2, batchSize: 2 },
      { env: env() },
    );
    const r = metrics.results[1];
    expect(r.timing.costRatio).toBeNull();
    expect(r.timing.costRatioNote).toContain('timed under different settings');
    expect(r.timing.costRatioNote).toContain('threads 1');
    expect(r.timing.costRatioNote).toContain('threads 2');
  });

  it('a detector whose stored records carry no per-image seconds: no ratio, and a note naming it', async () => {
    const out = path.join(root, 'untimed');
    await runBenchmark(options('untimed', ['input-blur:0']), { env: env() });
    // the mitigated detector's records as a tool that stores no timing writes them (seconds: null)
    const dir = path.join(out, 'detections');
    const logs = (await readdir(dir)).filter((f) => f.endsWith('.jsonl') && f.includes('input-blur'));
    expect(logs).toHaveLength(1);
    const file = path.join(dir, logs[0]);
    const lines = (await readFile(file, 'utf8')).trim().split('\n');
    await writeFile(file, lines.map((l) => JSON.stringify({ ...JSON.parse(l), seconds: null })).join('\n') + '\n');
    const metrics = await rescoreRun(out);
    const r = metrics.results.find((x) => x.mitigation === 'input-blur:0')!;
    expect(r.timing.costRatio).toBeNull();
    expect(r.timing.costRatioNote).toContain(`no cost ratio: ${r.key} has no per-image timing`);
  });
});
