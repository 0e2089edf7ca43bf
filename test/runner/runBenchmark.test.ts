import { existsSync } from 'node:fs';
import { readFile, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { CocoGroundTruth, Detector, RunMetrics } from '../../src/core/types.js';
import type { ShiftbenchError } from '../../src/core/errors.js';
import type { Mitigation } from '../../src/mitigations/types.js';
import { mergeShards, runBenchmark, runExperiment, type RunnerEnv } from '../../src/runner/index.js';
import { fakeEnv, gtDetector, makeDataset, tempDir } from './fixtures.js';

/** metrics without timing (which differs between any two runs) */
function withoutTiming(m: RunMetrics): unknown {
  return {
    ...m,
    results: m.results.map((r) => ({
      ...r,
      timing: null, // how long it took, and the cost ratio from it, differ between runs
    })),
  };
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return (e as ShiftbenchError).code ?? (e as Error).name;
  }
  return 'no error';
}

/** A local mitigation: runs the inner detector twice per call (so it costs ~2×) and keeps its answers. */
function doubleMitigation(): Mitigation {
  return {
    name: 'twice',
    spec: 'twice',
    wrap(inner: Detector): Detector {
      return {
        info: { ...inner.info, name: `${inner.info.name}+twice` },
        detect: async (batch, ctx) => {
          await inner.detect(batch, ctx);
          return inner.detect(batch, ctx);
        },
        dispose: () => inner.dispose(),
      };
    },
  };
}

describe('runBenchmark', () => {
  let root: string;
  let dataset: string;
  let gt: CocoGroundTruth;
  const N = 8;

  beforeAll(async () => {
    root = await tempDir();
    ({ file: dataset, gt } = await makeDataset(path.join(root, 'ds'), N));
  });

  function env(detectors: Record<string, () => Detector>, extra: Partial<RunnerEnv> = {}): Partial<RunnerEnv> {
    return fakeEnv(detectors, {
      parseMitigation: (spec) => {
        if (spec === 'twice') return doubleMitigation();
        throw new Error(`unknown mitigation ${spec}`);
      },
      ...extra,
    });
  }

  // The oracle maps the ground truth with the transform the runner inverts, so this proves the projection
  // round-trips and the store is complete; that an equivariant detector scores mapRange 0 is proved with a
  // detector that reads pixels in test/shifts/scoredContent.test.ts.
  it("the oracle (boxes placed by the runner's own transform) projects back exactly; files are written", async () => {
    const out = path.join(root, 'oracle');
    const oracle = gtDetector('oracle', gt);
    const { runDir, metrics, reportPath } = await runBenchmark(
      { models: ['oracle'], dataset, out, shifts: 'grid:2', bootstrapResamples: 50 },
      { env: env({ oracle: () => oracle }) },
    );
    expect(runDir).toBe(out);
    expect(reportPath).toBe(path.join(out, 'report.html'));
    expect(await readFile(reportPath!, 'utf8')).toContain('oracle');
    const r = metrics.results[0];
    expect(r.key).toBe('oracle');
    expect(r.bounds!.mapRange).toBe(0);
    expect(r.bounds!.mapRef).toBeCloseTo(1, 12);
    expect(r.bounds!.perShift).toHaveLength(9);
    expect(r.consistency.detConsistency.mean).toBe(1);
    expect(r.consistency.flipRate!.mean).toBe(0);
    expect(r.imagesEvaluated).toBe(N);
    expect(oracle.inputs).toBe(N * 9);
    expect(oracle.disposed).toBe(true);
    // the store
    const manifest = JSON.parse(await readFile(path.join(out, 'manifest.json'), 'utf8'));
    expect(manifest.shiftSet.spec).toBe('grid:2');
    expect(manifest.resample.kernel).toBe('linear');
    expect(manifest.dataset.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(manifest.detectors[0]).toMatchObject({
      key: 'oracle',
      runtime: 'fake',
      inputSizePx: { width: 64, height: 64 },
    });
    const lines = (await readFile(path.join(out, 'detections', 'oracle.jsonl'), 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(N);
    const files = (await readdir(path.join(out, 'detections', 'oracle'))).sort();
    expect(files).toContain('shift_2_1.json');
    expect(files).toEqual([
      'ground_truth.json',
      ...['0', '1', '2'].flatMap((dy) => ['0', '1', '2'].map((dx) => `shift_${dx}_${dy}.json`)).sort(),
      'shifts.json',
    ]);
    const index = JSON.parse(await readFile(path.join(out, 'detections', 'oracle', 'shifts.json'), 'utf8'));
    expect(index[7]).toEqual({ index: 7, dx: 1, dy: 2, file: 'shift_1_2.json' });
    const shift21Text = await readFile(path.join(out, 'detections', 'oracle', 'shift_2_1.json'), 'utf8');
    const shift21 = JSON.parse(shift21Text);
    expect(shift21Text).toBe(JSON.stringify(shift21)); // streamed, byte for byte what JSON.stringify writes
    expect(shift21).toHaveLength(gt.annotations.length);
    expect(shift21.map((d: { image_id: number }) => d.image_id)).toEqual(gt.annotations.map((a) => a.image_id)); // dataset order
    // projected back, the oracle's boxes are the ground truth up to float eps
    for (const d of shift21) {
      const match = gt.annotations.find((a) => a.image_id === d.image_id && Math.abs(a.bbox[0] - d.bbox[0]) < 1e-9);
      expect(match, JSON.stringify(d)).toBeDefined();
      for (let j = 0; j < 4; j++) expect(Math.abs(match!.bbox[j] - d.bbox[j])).toBeLessThan(1e-9);
    }
    const onDisk = JSON.parse(await readFile(path.join(out, 'metrics.json'), 'utf8'));
    expect(onDisk).toEqual(JSON.parse(JSON.stringify(metrics)));
  });

  it('a jittering fake has mapRange > 0; a mitigation gets a cost ratio against the plain run', async () => {
    const out = path.join(root, 'jitter');
    const { metrics } = await runBenchmark(
      { models: ['jitter'], mitigations: ['twice'], dataset, out, bootstrapResamples: 50 },
      { env: env({ jitter: () => gtDetector('jitter', gt, { noisePx: 3, delayMs: 15 }) }) },
    );
    const [plain, mitigated] = metrics.results;
    expect(plain.bounds!.mapRange).toBeGreaterThan(0);
    expect(plain.consistency.detConsistency.mean).toBeLessThan(1);
    expect(plain.timing.costRatio).toBeNull();
    expect(mitigated.key).toBe('jitter+twice');
    expect(mitigated.mitigation).toBe('twice');
    // the wrapper keeps the inner answers, so the numbers are the plain ones …
    expect(mitigated.bounds).toEqual(plain.bounds);
    // … and its cost ratio is its median inference time per image over the plain detector's, in this run
    // (no timing bound: a loaded machine stretches both; each call of the inner detector sleeps 15 ms,
    // so the wrapper's time is at least 2 × 15 ms per image whatever the load)
    const perImage = (r: typeof plain) => r.timing.inferenceSeconds! / r.imagesEvaluated;
    expect(mitigated.timing.costRatio).toBe(mitigated.timing.medianImageSeconds! / plain.timing.medianImageSeconds!);
    expect(mitigated.timing.medianImageSeconds).toBeGreaterThanOrEqual(2 * 0.015);
    expect(perImage(mitigated)).toBeGreaterThanOrEqual(2 * 0.015);
  });

  it('resumes: only missing images are recomputed, a torn last line is dropped, metrics are identical', async () => {
    const out = path.join(root, 'resume');
    const options = { models: ['jitter'], dataset, out, bootstrapResamples: 50 };
    const first = gtDetector('jitter', gt, { noisePx: 2 });
    const a = await runBenchmark(options, { env: env({ jitter: () => first }) });
    expect(first.inputs).toBe(N * 4);
    // simulate a kill -9: no metrics.json, 3 complete lines and a torn fourth
    await rm(path.join(out, 'metrics.json'));
    const jsonl = path.join(out, 'detections', 'jitter.jsonl');
    const lines = (await readFile(jsonl, 'utf8')).split('\n');
    await writeFile(jsonl, lines.slice(0, 3).join('\n') + '\n' + lines[3].slice(0, 25));
    const second = gtDetector('jitter', gt, { noisePx: 2 });
    const b = await runBenchmark(options, { env: env({ jitter: () => second }) });
    expect(second.imageIds).toEqual([4, 5, 6, 7, 8]);
    expect(second.inputs).toBe((N - 3) * 4);
    expect(b.computedImages.jitter).toBe(N - 3);
    expect(withoutTiming(b.metrics)).toEqual(withoutTiming(a.metrics));
    const relines = (await readFile(jsonl, 'utf8')).trim().split('\n');
    expect(relines).toHaveLength(N);
    // a finished run again: no model is even loaded
    let loads = 0;
    const c = await runBenchmark(options, { env: env({ jitter: () => (loads++, gtDetector('jitter', gt)) }) });
    expect(loads).toBe(0);
    expect(withoutTiming(c.metrics)).toEqual(withoutTiming(a.metrics));
  });

  it('refuses a run directory that holds a different run, unless --force', async () => {
    const out = path.join(root, 'refuse');
    const make = () => gtDetector('oracle', gt);
    await runBenchmark({ models: ['oracle'], dataset, out, bootstrapResamples: 20 }, { env: env({ oracle: make }) });
    const err = await runBenchmark(
      { models: ['oracle'], dataset, out, shifts: 'grid:2', bootstrapResamples: 20 },
      { env: env({ oracle: make }) },
    ).catch((e) => e);
    expect(err.code).toBe('ERR_RUN_STORE');
    expect(err.message).toContain(out);
    expect(err.message).toMatch(/new --out.*--force/);
    expect(err.message).toContain('shifts: "0,0;1,0;0,1;1,1" → "0,0;1,0;2,0;0,1;1,1;2,1;0,2;1,2;2,2"');
    const forced = await runBenchmark(
      { models: ['oracle'], dataset, out, shifts: 'grid:2', bootstrapResamples: 20, force: true },
      { env: env({ oracle: make }) },
    );
    expect(forced.metrics.shiftSet.spec).toBe('grid:2');
  });

  it('an unwritable --out fails with ERR_OUTPUT naming it, before any model work', async () => {
    const blocker = path.join(root, 'a-file');
    await writeFile(blocker, 'x');
    let loads = 0;
    const out = path.join(blocker, 'run');
    const err = await runBenchmark(
      { models: ['oracle'], dataset, out },
      { env: env({ oracle: () => (loads++, gtDetector('oracle', gt)) }) },
    ).catch((e) => e);
    expect(err.code).toBe('ERR_OUTPUT');
    expect(err.message).toContain(out);
    expect(loads).toBe(0);
  });

  it('bad options are usage errors', async () => {
    expect(await codeOf(runBenchmark({ models: ['oracle'], dataset, shifts: 'diag:1' }))).toBe('ERR_INVALID_OPTION');
    expect(await codeOf(runBenchmark({ models: [], dataset }))).toBe('ERR_INVALID_OPTION');
    expect(await codeOf(runBenchmark({ models: ['oracle'], dataset, mode: 'wrap' as never }))).toBe(
      'ERR_INVALID_OPTION',
    );
    expect(await codeOf(runBenchmark({ models: ['oracle'], dataset, scoreThreshold: 2 }))).toBe('ERR_INVALID_OPTION');
    // a "95 % interval" from a handful of resamples is not one: --bootstrap at least 20
    const few = (await runBenchmark({ models: ['oracle'], dataset, bootstrapResamples: 5 }).catch(
      (err) => err,
    )) as Error;
    expect((few as ShiftbenchError).code).toBe('ERR_INVALID_OPTION');
    expect(few.message).toContain('--bootstrap');
    expect(few.message).toContain('from 20 to');
    // … and the bounds' none (0) or at least 20
    for (const bootstrapBounds of [1, 5, 19]) {
      const e = (await runBenchmark({ models: ['oracle'], dataset, bootstrapBounds }).catch((err) => err)) as Error;
      expect((e as ShiftbenchError).code).toBe('ERR_INVALID_OPTION');
      expect(e.message).toContain('--bootstrap-bounds');
      expect(e.message).toContain('at least 20');
    }
  });

  it('an image that fails to decode is skipped, listed, and the run goes on', async () => {
    const ds = await makeDataset(path.join(root, 'ds-corrupt'), 5, { corrupt: [3], seed: 9 });
    const out = path.join(root, 'corrupt');
    const oracle = gtDetector('oracle', ds.gt);
    const { metrics } = await runBenchmark(
      { models: ['oracle'], dataset: ds.file, out, bootstrapResamples: 20 },
      { env: env({ oracle: () => oracle }) },
    );
    const r = metrics.results[0];
    expect(r.imagesEvaluated).toBe(4);
    expect(r.skippedImages).toHaveLength(1);
    expect(r.skippedImages[0]).toMatchObject({ imageId: 3, fileName: '003.png' });
    expect(r.skippedImages[0].reason).toMatch(/Could not decode image/);
    expect(r.bounds!.mapRef).toBeCloseTo(1, 12); // the skipped image's ground truth does not count as missed
    expect(oracle.imageIds).toEqual([1, 2, 4, 5]);
    const skipped = JSON.parse(await readFile(path.join(out, 'skipped.json'), 'utf8'));
    expect(skipped.map((s: { imageId: number }) => s.imageId)).toEqual([3]);
  });

  it('a run where every image fails to decode is an error naming skipped.json and the fix; once fixed, the same command finishes it', async () => {
    const dir = path.join(root, 'ds-all-corrupt');
    const ds = await makeDataset(dir, 3, { corrupt: [1, 2, 3], seed: 9 });
    const out = path.join(root, 'all-corrupt');
    const oracle = gtDetector('oracle', ds.gt);
    const e = (await runBenchmark(
      { models: ['oracle'], dataset: ds.file, out, bootstrapResamples: 20 },
      { env: env({ oracle: () => oracle }) },
    ).catch((err) => err)) as ShiftbenchError;
    expect(e.code).toBe('ERR_DATASET');
    expect(e.message).toContain('oracle: none of the 3 images could be scored');
    expect(e.message).toContain('Could not decode image');
    expect(e.message).toContain(path.join(out, 'skipped.json'));
    expect(e.message).toContain('run the same command again');
    expect(existsSync(path.join(out, 'metrics.json'))).toBe(false);
    const skipped = JSON.parse(await readFile(path.join(out, 'skipped.json'), 'utf8'));
    expect(skipped.map((s: { imageId: number }) => s.imageId)).toEqual([1, 2, 3]);
    // the images repaired, the same command scores them
    const fixed = await makeDataset(dir, 3, { seed: 9 });
    const { metrics } = await runBenchmark(
      { models: ['oracle'], dataset: fixed.file, out, bootstrapResamples: 20 },
      { env: env({ oracle: () => gtDetector('oracle', fixed.gt) }) },
    );
    expect(metrics.results[0].imagesEvaluated).toBe(3);
    expect(metrics.results[0].bounds!.mapRef).toBeCloseTo(1, 12);
  });

  it('a rerun with other analysis settings that stops while scoring leaves no report, per-shift file or skipped list of the old setup', async () => {
    const dir = path.join(root, 'ds-restale');
    const ds = await makeDataset(dir, 4, { seed: 21, corrupt: [2] });
    const out = path.join(root, 'restale');
    const oracle = () => gtDetector('oracle', ds.gt);
    await runBenchmark({ models: ['oracle'], dataset: ds.file, out, bootstrapResamples: 20 }, { env: env({ oracle }) });
    const derived = ['metrics.json', 'report.html', 'report.json', 'skipped.json', path.join('detections', 'oracle')];
    for (const f of derived) expect(existsSync(path.join(out, f)), f).toBe(true);
    const failing: Partial<RunnerEnv> = {
      ...env({ oracle }),
      createEvaluator: () => {
        throw new Error('scoring stopped');
      },
    };
    const e = await runBenchmark(
      { models: ['oracle'], dataset: ds.file, out, bootstrapResamples: 20, scoreThreshold: 0.3 },
      { env: failing },
    ).catch((err) => err);
    expect((e as Error).message).toBe('scoring stopped');
    // what the old setup's scoring wrote is gone with its metrics.json; the detections stay
    for (const f of derived) expect(existsSync(path.join(out, f)), f).toBe(false);
    expect(existsSync(path.join(out, 'detections', 'oracle.jsonl'))).toBe(true);
  });

  it('a detector that throws midway keeps the earlier images; the rerun computes only the rest', async () => {
    const out = path.join(root, 'throws');
    const failing = gtDetector('plug', gt, { throwOnImage: 6 });
    const warnings: string[] = [];
    const err = await runBenchmark(
      { models: ['plug'], dataset, out, bootstrapResamples: 20 },
      { env: env({ plug: () => failing }), logger: { info: () => undefined, warn: (m) => warnings.push(m) } },
    ).catch((e) => e);
    expect(err.message).toBe('plug-in failure on image 6'); // the detector's own error, unchanged
    // what is kept and how to go on, before the error itself
    expect(warnings).toEqual([
      `plug: stopped by the error below after 5 of ${N} images; their detections are stored in ${out} and kept — ` +
        `once the cause is fixed outside the detector (its input, a server, the machine), the same command runs ` +
        `only the ${N - 5} images not stored; a fix to the detector's own code or files changes what made them, and ` +
        'the run needs a new --out (or --force, which drops them)',
    ]);
    expect(failing.disposed).toBe(true);
    const lines = (await readFile(path.join(out, 'detections', 'plug.jsonl'), 'utf8')).trim().split('\n');
    expect(lines.map((l) => JSON.parse(l).imageId)).toEqual([1, 2, 3, 4, 5]);
    expect(existsSync(path.join(out, 'metrics.json'))).toBe(false);
    const fixed = gtDetector('plug', gt);
    const { metrics } = await runBenchmark(
      { models: ['plug'], dataset, out, bootstrapResamples: 20 },
      { env: env({ plug: () => fixed }) },
    );
    expect(fixed.imageIds).toEqual([6, 7, 8]);
    expect(metrics.results[0].imagesEvaluated).toBe(N);
  });

  it('crop and circular modes run (what they score: test/shifts/scoredContent.test.ts)', async () => {
    for (const mode of ['crop', 'circular'] as const) {
      const oracle = gtDetector('oracle', gt);
      const { metrics } = await runBenchmark(
        { models: ['oracle'], dataset, out: path.join(root, `mode-${mode}`), mode, bootstrapResamples: 20 },
        { env: env({ oracle: () => oracle }) },
      );
      expect(metrics.mode).toBe(mode);
      expect(metrics.results[0].bounds!.perShift).toHaveLength(4);
      expect(oracle.inputs).toBe(N * 4);
    }
  });

  it('without --out, the same command resumes its unfinished run under reportsDir; a finished one starts anew', async () => {
    const reportsDir = path.join(root, 'reports');
    const options = { models: ['plug'], dataset, reportsDir, bootstrapResamples: 20 };
    const err = await runBenchmark(options, {
      env: env({ plug: () => gtDetector('plug', gt, { throwOnImage: 4 }) }),
    }).catch((e) => e);
    expect(err.message).toBe('plug-in failure on image 4');
    const dirs = await readdir(reportsDir);
    expect(dirs).toHaveLength(1);
    expect(dirs[0]).toMatch(/^\d{8}-\d{6}-[0-9a-f]{8}$/);
    const resumed = gtDetector('plug', gt);
    const a = await runBenchmark(options, { env: env({ plug: () => resumed }) });
    expect(a.runDir).toBe(path.join(reportsDir, dirs[0]));
    expect(a.metrics.runId).toBe(dirs[0]);
    expect(resumed.imageIds).toEqual([4, 5, 6, 7, 8]);
    await new Promise((r) => setTimeout(r, 1100)); // a new timestamp
    const again = gtDetector('plug', gt);
    const b = await runBenchmark(options, { env: env({ plug: () => again }) });
    expect(b.runDir).not.toBe(a.runDir);
    expect(again.imageIds).toHaveLength(N);
  });

  it('detections of categories the dataset lacks are stored but not evaluated', async () => {
    const out = path.join(root, 'extra-category');
    const oracle = gtDetector('oracle', gt);
    const withExtra: Detector = {
      info: oracle.info,
      detect: async (batch, ctx) =>
        (await oracle.detect(batch, ctx)).map((list) => [...list, { bbox: [1, 1, 5, 5], score: 0.99, categoryId: 99 }]),
      dispose: async () => undefined,
    };
    const { metrics } = await runBenchmark(
      { models: ['oracle'], dataset, out, bootstrapResamples: 20 },
      { env: env({ oracle: () => withExtra }) },
    );
    expect(metrics.results[0].bounds!.mapRef).toBeCloseTo(1, 12);
    expect(metrics.results[0].bounds!.mapRange).toBe(0);
    const s0 = JSON.parse(await readFile(path.join(out, 'detections', 'oracle', 'shift_0_0.json'), 'utf8'));
    expect(s0.filter((d: { category_id: number }) => d.category_id === 99)).toHaveLength(N);
  });

  it('an experiment matrix runs every combination into sub-runs with a combined summary', async () => {
    const out = path.join(root, 'matrix');
    const res = await runExperiment(
      { models: ['oracle', 'jitter'], shifts: ['grid:1', 'line:2'], modes: ['pad', 'crop'], datasets: [dataset] },
      { out, bootstrapResamples: 20 },
      { env: env({ oracle: () => gtDetector('oracle', gt), jitter: () => gtDetector('jitter', gt, { noisePx: 3 }) }) },
    );
    expect(res.runs).toHaveLength(4);
    const summary = JSON.parse(await readFile(res.summaryFile, 'utf8'));
    expect(summary.runs.map((r: { runDir: string }) => r.runDir)).toEqual([
      'instances__grid_1__pad',
      'instances__grid_1__crop',
      'instances__line_2__pad',
      'instances__line_2__crop',
    ]);
    const padGrid = summary.runs[0].results;
    expect(padGrid.map((r: { key: string }) => r.key)).toEqual(['oracle', 'jitter']);
    expect(padGrid[0].mapRange).toBe(0);
    expect(padGrid[1].mapRange).toBeGreaterThan(0);
    expect(existsSync(path.join(out, 'instances__line_2__crop', 'metrics.json'))).toBe(true);
  });

  it('a bad shift set or mode of the matrix is refused before any sub-run runs', async () => {
    const out = path.join(root, 'matrix-bad');
    const err = await runExperiment(
      { models: ['oracle'], shifts: ['grid:1', 'bogus'], datasets: [dataset] },
      { out, bootstrapResamples: 20 },
      { env: env({ oracle: () => gtDetector('oracle', gt) }) },
    ).catch((e) => e);
    expect(err.code).toBe('ERR_INVALID_OPTION');
    expect(err.message).toContain('"bogus"');
    expect(existsSync(out)).toBe(false);
  });

  it('a given but malformed force or reportsDir is refused by name, not read as false or as the current folder', async () => {
    const out = path.join(root, 'bad-force');
    const hooks = { env: env({ oracle: () => gtDetector('oracle', gt) }) };
    const cases: [Record<string, unknown>, string][] = [
      [{ out, force: 'yes' }, '--force'],
      [{ out, force: 1 }, '--force'],
      [{ reportsDir: 5 }, 'reportsDir'],
      [{ reportsDir: '' }, 'reportsDir'],
    ];
    for (const [options, name] of cases) {
      const err = await runBenchmark({ models: ['oracle'], dataset, ...options } as never, hooks).catch((e) => e);
      expect(err.name, name).toBe('ShiftbenchError');
      expect(err.code, name).toBe('ERR_INVALID_OPTION');
      expect(err.message, name).toContain(`for ${name} but received`);
      expect(existsSync(out), name).toBe(false);
    }
    const merge = await mergeShards({ runs: [out], out, force: 'yes' as never }).catch((e) => e);
    expect(merge.message).toBe('Expected true or false for --force but received "yes"');
  });

  it('a misspelt run option from a library caller is refused by name, not ignored for its default', async () => {
    // runBenchmark({ …, scoreThreshhold: 0.3 }) ran at the default threshold 0.5 and wrote its results as asked
    const out = path.join(root, 'misspelt');
    const hooks = { env: env({ oracle: () => gtDetector('oracle', gt) }) };
    const err = await runBenchmark({ models: ['oracle'], dataset, out, scoreThreshhold: 0.3 } as never, hooks).catch(
      (e) => e,
    );
    expect(err.name).toBe('ShiftbenchError');
    expect(err.code).toBe('ERR_INVALID_OPTION');
    expect(err.message).toMatch(
      /^Expected only run options \(models, mitigations, dataset, .+\) for options but received "scoreThreshhold"$/,
    );
    expect(existsSync(out)).toBe(false);
  });

  it('a run or export directory given as a non-string or "" is refused by name, not a TypeError from path.resolve', async () => {
    const { pairRuns, rescoreRun } = await import('../../src/runner/index.js');
    const { readExport, scoreExport } = await import('../../src/export/index.js');
    const calls: [string, () => Promise<unknown>, unknown][] = [
      ['rescoreRun', () => rescoreRun(5 as never), 5],
      ['rescoreRun', () => rescoreRun(''), ''],
      ['pairRuns', () => pairRuns(5 as never, 6 as never), 5],
      ['pairRuns', () => pairRuns(root, null as never), null],
      ['mergeShards', () => mergeShards({ runs: [root, 5 as never], out: path.join(root, 'm') }), 5],
      ['readExport', () => readExport(5 as never), 5],
      ['scoreExport', () => scoreExport(undefined as never, { name: 'x', family: 'one-stage,anchor-free' }), undefined],
    ];
    for (const [name, call, value] of calls) {
      const err = (await call().catch((e: unknown) => e)) as Error & { code?: string };
      expect(err.name, name).toBe('ShiftbenchError');
      expect(err.code, name).toBe('ERR_INVALID_OPTION');
      expect(err.message, name).toMatch(
        /^Expected an? (run|export) directory path for (<runDir>|<exportDir>|RUN…) but/,
      );
      expect(err.message, name).toContain(`received ${value === '' ? '""' : String(value)}`);
    }
  });

  it('null (or non-object) options from a library caller are refused by name, not a TypeError', async () => {
    const lib = await import('../../src/index.js');
    const calls: [string, () => Promise<unknown>][] = [
      ['rescoreRun', () => lib.rescoreRun(root, null as never)],
      ['mergeShards', () => lib.mergeShards(null as never)],
      ['renderReport', () => lib.renderReport(root, null as never)],
      ['writeReportText', () => lib.writeReportText(root, 'md', null as never)],
      ['loadDataset', () => lib.loadDataset(null as never)],
      ['generateSynthDataset', () => lib.generateSynthDataset(null as never)],
      ['exportInputs', () => lib.exportInputs(null as never)],
      ['scoreExport', () => lib.scoreExport(root, null as never)],
      ['loadDetector', () => lib.loadDetector('oracle', null as never)],
      ['runDemo', () => lib.runDemo({}, null as never)],
      ['runDemo', () => lib.runDemo('quiet' as never)],
      ['pairRuns', () => lib.pairRuns(root, path.join(root, 'other'), null as never)],
      ['checkRunDir', () => lib.checkRunDir(root, { maxRange: 0.1 }, null as never)],
    ];
    for (const [name, call] of calls) {
      const err = (await call().catch((e: unknown) => e)) as Error & { code?: string };
      expect(err.name, name).toBe('ShiftbenchError');
      expect(err.code, name).toBe('ERR_INVALID_OPTION');
      expect(err.message, name).toMatch(/^Expected an object .* for (options|hooks) but received (null|"quiet")$/);
    }
    const spec = (await lib.loadDetector(5 as never).catch((e: unknown) => e)) as Error;
    expect(spec.message).toBe(
      'Expected a model spec (registry name, model file or folder, plug-in detector) for --model but received 5',
    );
  });

  it('rescoreRun refuses an option name it does not know before touching the run (a typo is not a silent rescore)', async () => {
    const { rescoreRun } = await import('../../src/runner/index.js');
    const out = path.join(root, 'rescore-typo');
    await runBenchmark(
      { models: ['oracle'], dataset, out, bootstrapResamples: 20 },
      { env: env({ oracle: () => gtDetector('oracle', gt) }) },
    );
    const before = await readFile(path.join(out, 'metrics.json'), 'utf8');
    const err = (await rescoreRun(out, { scoreThreshhold: 0.3 } as never).catch((e: unknown) => e)) as Error & {
      code?: string;
    };
    expect(err.code).toBe('ERR_INVALID_OPTION');
    expect(err.message).toBe(
      'Expected only rescore options (scoreThreshold, bootstrapResamples, bootstrapSeed, bootstrapBounds, objectives) ' +
        'for options but received "scoreThreshhold"',
    );
    expect(await readFile(path.join(out, 'metrics.json'), 'utf8')).toBe(before);
  });

  it('a malformed config or bad options from a library caller are refused by name before the output folder is made', async () => {
    const out = path.join(root, 'matrix-malformed');
    const hooks = { env: env({ oracle: () => gtDetector('oracle', gt) }) };
    const cases: [unknown, Record<string, unknown>, string][] = [
      [null, {}, 'config'],
      [{ models: ['oracle'] }, {}, 'datasets'],
      [{ models: ['oracle'], datasets: [] }, {}, 'datasets'],
      [{ models: ['oracle'], datasets: [dataset, 5] }, {}, 'datasets'],
      [{ models: ['oracle'], datasets: [dataset], shifts: 'grid:1' }, {}, 'shifts'],
      [{ models: ['oracle'], datasets: [dataset], modes: 'pad' }, {}, 'modes'],
      [{ models: ['oracle'], datasets: [dataset], shifts: [] }, {}, 'shifts'],
      [{ models: ['oracle'], datasets: [dataset], modes: [] }, {}, 'modes'],
      [{ models: ['oracle'], datasets: [dataset] }, { limit: 'x' }, '--limit'],
      [{ models: ['oracle'], datasets: [dataset] }, { reportsDir: 5 }, 'reportsDir'],
      [{ models: ['oracle'], datasets: [dataset] }, { shard: '0/2' }, '--shard'],
    ];
    for (const [config, options, name] of cases) {
      const err = await runExperiment(config as never, { out, ...options }, hooks).catch((e) => e);
      expect(err.name, name).toBe('ShiftbenchError');
      expect(err.code, name).toBe('ERR_INVALID_OPTION');
      expect(err.message, name).toContain(`for ${name}`);
      expect(existsSync(out), name).toBe(false);
    }
  });
});

describe('experiment config (--config)', () => {
  it("a dataset that does not exist is named with the config's folder its relative path was read from", async () => {
    const { loadExperimentConfig } = await import('../../src/runner/matrix.js');
    const dir = await tempDir('shiftbench-config-');
    const file = path.join(dir, 'exp.json');
    await writeFile(file, JSON.stringify({ models: ['oracle'], datasets: ['datasets/synth/val'] }));
    const err = await loadExperimentConfig(file).catch((e) => e);
    expect(err.code).toBe('ERR_INVALID_OPTION');
    expect(err.message).toContain(path.join(dir, 'datasets/synth/val'));
    expect(err.message).toContain(`relative paths in ${file} are read from its folder`);
  });

  it('shifts, modes, limit, seed and scoreThreshold are checked as their flags are, naming the field and the file', async () => {
    const { loadExperimentConfig } = await import('../../src/runner/matrix.js');
    const dir = await tempDir('shiftbench-config-');
    const file = path.join(dir, 'exp.json');
    const cases: [Record<string, unknown>, string][] = [
      [{ shifts: ['grid:1', 'bogus'] }, 'shifts'],
      [{ limit: 0 }, 'limit'],
      [{ limit: 1.5 }, 'limit'],
      [{ seed: -1 }, 'seed'],
      [{ scoreThreshold: 2 }, 'scoreThreshold'],
      // an empty list would run nothing: refused, not read as the default (leave the field out for that)
      [{ shifts: [] }, 'shifts'],
      [{ modes: [] }, 'modes'],
    ];
    for (const [fields, field] of cases) {
      await writeFile(file, JSON.stringify({ models: ['oracle'], datasets: ['.'], ...fields }));
      const err = await loadExperimentConfig(file).catch((e) => e);
      expect(err.code, field).toBe('ERR_INVALID_OPTION');
      expect(err.message, field).toMatch(
        new RegExp(`^Expected .+ for ${field} in ${file} \\(--config\\) but received`),
      );
    }
  });
});
