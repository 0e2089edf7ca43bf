/**
 * Run identity (issue 10 item 1): a run directory resumes only detections made by the
 * same setup — the resolved detector entry, model file hashes, plug-in code (with the
 * modules it imports), runtime, image content and the build of the code that makes
 * detections — while analysis-only settings, a new model or a larger --limit reuse
 * everything stored.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import type { CocoGroundTruth, Detector, RunMetrics } from '../../src/core/types.js';
import { rescoreRun, runBenchmark, type EvaluatorArgs, type RunnerEnv } from '../../src/runner/index.js';
import { defaultEnv } from '../../src/runner/env.js';
import { hashChange } from '../../src/runner/identity.js';
import { gtDetector, makeDataset, tempDir } from './fixtures.js';

function withoutTiming(m: RunMetrics): unknown {
  return {
    ...m,
    results: m.results.map((r) => ({
      ...r,
      timing: null, // how long it took, and the cost ratio from it, differ between runs
    })),
  };
}

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

describe('run identity', () => {
  let root: string;
  let dataset: string;
  let gt: CocoGroundTruth;
  const N = 6;

  beforeAll(async () => {
    root = await tempDir('shiftbench-identity-');
    ({ file: dataset, gt } = await makeDataset(path.join(root, 'ds'), N));
  });

  /** Fake detectors by spec; the identity of a spec comes from the real resolver (describeDetector). */
  function env(
    detectors: Record<string, () => Detector>,
    extra: Partial<RunnerEnv> = {},
  ): Partial<RunnerEnv> & { loads: string[] } {
    const loads: string[] = [];
    const wiring: Partial<RunnerEnv> = {
      loadDetector: async (spec) => {
        loads.push(spec);
        const make = detectors[spec];
        if (!make) throw new Error(`no fake ${spec}`);
        return make();
      },
      listModels: async () => [],
      describeDetector: defaultEnv().describeDetector,
      ...extra,
    };
    // the test's record of loads is not a part of the wiring: not enumerable, so the run's check of env's keys (a
    // misspelt replacement is refused) does not see it
    return Object.defineProperty(wiring, 'loads', { value: loads, enumerable: false }) as Partial<RunnerEnv> & {
      loads: string[];
    };
  }

  async function writeRegistry(dir: string, colorOrder: 'RGB' | 'BGR', scoreThreshold = 0.3): Promise<string> {
    await mkdir(dir, { recursive: true });
    const weights = Buffer.from('tiny model weights');
    await writeFile(path.join(dir, 'tiny.onnx'), weights);
    const entry = {
      name: 'tiny',
      family: { stages: 'one-stage', anchors: 'anchor-free' },
      format: 'onnx',
      source: { kind: 'path', dir },
      files: [{ name: 'tiny.onnx', sha256: sha256(weights) }],
      inputSizePx: { width: 64, height: 64 },
      layout: 'NCHW',
      colorOrder,
      normalize: { mean: [0, 0, 0], std: [255, 255, 255] },
      fit: 'letterbox',
      padValue: [114, 114, 114],
      decoder: { name: 'torchvision', params: { labels: 'category-id', scoreThreshold } },
      classes: [
        { id: 1, name: 'disc' },
        { id: 2, name: 'square' },
      ],
    };
    const file = path.join(dir, 'registry.json');
    await writeFile(file, JSON.stringify({ models: [entry] }));
    return file;
  }

  it('an edited registry entry (colorOrder, decoder params) is refused, naming each field old → new; the manifest records them', async () => {
    const reg = await writeRegistry(path.join(root, 'reg'), 'RGB');
    const out = path.join(root, 'entry-edit');
    const e = env({ tiny: () => gtDetector('tiny', gt) });
    await runBenchmark({ models: ['tiny'], registryFiles: [reg], dataset, out, bootstrapResamples: 20 }, { env: e });
    const manifest = JSON.parse(await readFile(path.join(out, 'manifest.json'), 'utf8'));
    const d = manifest.detectors.find((x: { key: string }) => x.key === 'tiny');
    expect(d.colorOrder).toBe('RGB');
    expect(d.normalize).toEqual({ mean: [0, 0, 0], std: [255, 255, 255] });
    expect(d.decoder).toEqual({ name: 'torchvision', params: { labels: 'category-id', scoreThreshold: 0.3 } });

    await writeRegistry(path.join(root, 'reg'), 'BGR', 0.05);
    const err = await runBenchmark(
      { models: ['tiny'], registryFiles: [reg], dataset, out, bootstrapResamples: 20 },
      { env: e },
    ).catch((x) => x);
    expect(err.code).toBe('ERR_RUN_STORE');
    expect(err.message).toContain('colorOrder: "RGB" → "BGR"');
    expect(err.message).toContain('decoder.params.scoreThreshold: 0.3 → 0.05');
  });

  it('a change in a module the plug-in imports (followed through relative imports) is refused', async () => {
    const dir = path.join(root, 'plug');
    await mkdir(path.join(dir, 'lib'), { recursive: true });
    await writeFile(path.join(dir, 'lib', 'deep.mjs'), 'export const SCORE = 0.9;\n');
    await writeFile(path.join(dir, 'helper.mjs'), "export { SCORE } from './lib/deep.mjs';\n");
    await writeFile(
      path.join(dir, 'plugin.mjs'),
      `import { SCORE } from './helper.mjs';
export default {
  apiVersion: 1,
  name: 'idplug',
  detectors: {
    box: () => ({
      info: { name: 'box', family: { stages: 'one-stage', anchors: 'anchor-free' }, inputSizePx: { width: 32, height: 32 }, classes: [{ id: 1, name: 'disc' }], maxBatch: 4 },
      detect: async (batch) => batch.map(() => [{ bbox: [4, 4, 10, 10], score: SCORE, categoryId: 1 }]),
      dispose: async () => {},
    }),
  },
};
`,
    );
    const out = path.join(root, 'plugin-edit');
    const options = {
      models: ['idplug/box'],
      plugins: [path.join(dir, 'plugin.mjs')],
      dataset,
      out,
      bootstrapResamples: 20,
    };
    await runBenchmark(options);
    await writeFile(path.join(dir, 'lib', 'deep.mjs'), 'export const SCORE = 0.8;\n');
    const err = await runBenchmark(options).catch((x) => x);
    expect(err.code).toBe('ERR_RUN_STORE');
    expect(err.message).toContain('lib/deep.mjs');
  });

  it('a different build of the code that makes detections is refused', async () => {
    const out = path.join(root, 'build');
    const options = { models: ['oracle'], dataset, out, bootstrapResamples: 20 };
    await runBenchmark(options, {
      env: env({ oracle: () => gtDetector('oracle', gt) }, { buildId: async () => 'build-a' }),
    });
    const err = await runBenchmark(options, {
      env: env({ oracle: () => gtDetector('oracle', gt) }, { buildId: async () => 'build-b' }),
    }).catch((x) => x);
    expect(err.code).toBe('ERR_RUN_STORE');
    expect(err.message).toContain('buildId: "build-a" → "build-b"');
  });

  it('an image whose content changed is refused, naming the image', async () => {
    const ds = await makeDataset(path.join(root, 'ds-change'), 3, { seed: 4 });
    const out = path.join(root, 'image-edit');
    const options = { models: ['oracle'], dataset: ds.file, out, bootstrapResamples: 20 };
    await runBenchmark(options, { env: env({ oracle: () => gtDetector('oracle', ds.gt) }) });
    const img = ds.gt.images[1];
    await sharp(Buffer.alloc(img.width * img.height * 3, 7), {
      raw: { width: img.width, height: img.height, channels: 3 },
    })
      .png()
      .toFile(path.join(root, 'ds-change', 'images', img.file_name));
    const err = await runBenchmark(options, { env: env({ oracle: () => gtDetector('oracle', ds.gt) }) }).catch(
      (x) => x,
    );
    expect(err.code).toBe('ERR_RUN_STORE');
    expect(err.message).toContain(img.file_name);
  });

  it('an edited annotation refuses a fake that reports the ground truth, but not a model that reads only pixels', async () => {
    const ds = await makeDataset(path.join(root, 'ds-labels'), 3, { seed: 6 });
    const reg = await writeRegistry(path.join(root, 'reg-labels'), 'RGB');
    const fakeOut = path.join(root, 'labels-fake');
    const modelOut = path.join(root, 'labels-model');
    const e = env({ oracle: () => gtDetector('oracle', ds.gt), tiny: () => gtDetector('tiny', ds.gt) });
    await runBenchmark({ models: ['oracle'], dataset: ds.file, out: fakeOut, bootstrapResamples: 20 }, { env: e });
    await runBenchmark(
      { models: ['tiny'], registryFiles: [reg], dataset: ds.file, out: modelOut, bootstrapResamples: 20 },
      { env: e },
    );
    const edited = JSON.parse(await readFile(ds.file, 'utf8')) as CocoGroundTruth;
    edited.annotations[0].bbox = [1, 1, 9, 9];
    await writeFile(ds.file, JSON.stringify(edited));
    const err = await runBenchmark(
      { models: ['oracle'], dataset: ds.file, out: fakeOut, bootstrapResamples: 20 },
      { env: e },
    ).catch((x) => x);
    expect(err.code).toBe('ERR_RUN_STORE');
    expect(err.message).toContain(`image ${edited.annotations[0].image_id} (`);
    const again = env({ tiny: () => gtDetector('tiny', ds.gt) });
    const r = await runBenchmark(
      { models: ['tiny'], registryFiles: [reg], dataset: ds.file, out: modelOut, bootstrapResamples: 20 },
      { env: again },
    );
    expect(again.loads).toEqual([]); // the model's detections depend on pixels only: reused, rescored with the new labels
    expect(r.computedImages.tiny).toBe(0);
  });

  it('a runtime that changed (execution provider) is refused before more images are computed', async () => {
    const out = path.join(root, 'runtime');
    await runBenchmark(
      { models: ['oracle'], dataset, out, limit: 3, bootstrapResamples: 20 },
      { env: env({ oracle: () => gtDetector('oracle', gt, { info: { runtime: 'fake cpu' } }) }) },
    );
    const err = await runBenchmark(
      { models: ['oracle'], dataset, out, limit: 5, bootstrapResamples: 20 },
      { env: env({ oracle: () => gtDetector('oracle', gt, { info: { runtime: 'fake cuda' } }) }) },
    ).catch((x) => x);
    expect(err.code).toBe('ERR_RUN_STORE');
    expect(err.message).toContain('runtime: "fake cpu" → "fake cuda"');
  });

  it('analysis-only settings (--score-threshold, --bootstrap, --bootstrap-seed) reuse every stored detection', async () => {
    const out = path.join(root, 'analysis');
    await runBenchmark(
      { models: ['jitter'], dataset, out, bootstrapResamples: 20 },
      { env: env({ jitter: () => gtDetector('jitter', gt, { noisePx: 2 }) }) },
    );
    const e = env({ jitter: () => gtDetector('jitter', gt, { noisePx: 2 }) });
    const b = await runBenchmark(
      { models: ['jitter'], dataset, out, scoreThreshold: 0.3, bootstrapResamples: 20, bootstrapSeed: 5 },
      { env: e },
    );
    expect(e.loads).toEqual([]);
    expect(b.computedImages.jitter).toBe(0);
    expect(b.metrics.results[0].consistency.scoreThreshold).toBe(0.3);
    expect(b.metrics.results[0].consistency.bootstrap).toEqual({ resamples: 20, seed: 5 });
  });

  it('--bootstrap-seed and --bootstrap-bounds reach the evaluator; --seed stays the seed of the detectors', async () => {
    const out = path.join(root, 'seeds');
    const seen: EvaluatorArgs[] = [];
    const real = defaultEnv().createEvaluator;
    const e = env(
      { oracle: () => gtDetector('oracle', gt) },
      { createEvaluator: (args) => (seen.push(args), real(args)) },
    );
    await runBenchmark(
      { models: ['oracle'], dataset, out, seed: 3, bootstrapSeed: 7, bootstrapBounds: 40, bootstrapResamples: 20 },
      { env: e },
    );
    expect(seen[0].bootstrapSeed).toBe(7);
    expect(seen[0].bootstrapBounds).toBe(40);
    const manifest = JSON.parse(await readFile(path.join(out, 'manifest.json'), 'utf8'));
    expect(manifest.seed).toBe(3);
  });

  it('adding a model runs only the new one; raising --limit computes only the new images', async () => {
    const out = path.join(root, 'grow');
    const make = { oracle: () => gtDetector('oracle', gt), jitter: () => gtDetector('jitter', gt, { noisePx: 2 }) };
    const a = await runBenchmark(
      { models: ['oracle'], dataset, out, limit: 3, bootstrapResamples: 20 },
      { env: env(make) },
    );
    expect(a.computedImages.oracle).toBe(3);
    const e = env(make);
    const b = await runBenchmark(
      { models: ['oracle', 'jitter'], dataset, out, limit: 3, bootstrapResamples: 20 },
      { env: e },
    );
    expect(e.loads).toEqual(['jitter']);
    expect(b.computedImages).toEqual({ oracle: 0, jitter: 3 });
    let oracleIds: number[] = [];
    const c = await runBenchmark(
      { models: ['oracle', 'jitter'], dataset, out, limit: 5, bootstrapResamples: 20 },
      {
        env: env({
          oracle: () => {
            const d = gtDetector('oracle', gt);
            oracleIds = d.imageIds;
            return d;
          },
          jitter: make.jitter,
        }),
      },
    );
    expect(c.computedImages).toEqual({ oracle: 2, jitter: 2 });
    expect(oracleIds).toEqual([4, 5]);
    expect(c.metrics.results.map((r) => r.imagesEvaluated)).toEqual([5, 5]);
  });

  it('rescoreRun (shiftbench report RUN --score-threshold) rescores a saved run without any model', async () => {
    const out = path.join(root, 'rescore');
    const direct = path.join(root, 'rescore-direct');
    const make = { jitter: () => gtDetector('jitter', gt, { noisePx: 2 }) };
    await runBenchmark(
      { models: ['jitter'], mitigations: [], dataset, out, bootstrapResamples: 20 },
      { env: env(make) },
    );
    const want = await runBenchmark(
      { models: ['jitter'], dataset, out: direct, scoreThreshold: 0.2, bootstrapResamples: 30 },
      { env: env(make) },
    );
    const noModels = env({});
    const got = await rescoreRun(out, { scoreThreshold: 0.2, bootstrapResamples: 30 }, { env: noModels });
    expect(noModels.loads).toEqual([]);
    expect(withoutTiming({ ...got, runId: 'x' })).toEqual(withoutTiming({ ...want.metrics, runId: 'x' }));
    const onDisk = JSON.parse(await readFile(path.join(out, 'metrics.json'), 'utf8'));
    expect(onDisk.results[0].consistency.scoreThreshold).toBe(0.2);
  });
});

describe('hashChange: two content hashes as a message shows them', () => {
  it('12 characters when they differ there; else through the first difference, so they never look equal', () => {
    const a = '2872d1b97480' + 'a'.repeat(52);
    expect(hashChange(a, 'ffff' + a.slice(4))).toBe('2872d1b97480 → ffffd1b97480');
    const b = a.slice(0, 30) + 'b' + a.slice(31);
    const [x, y] = hashChange(a, b).split(' → ');
    expect(x).not.toBe(y);
    expect(x).toBe(a.slice(0, 31));
    expect(hashChange(undefined, a)).toBe('not recorded → 2872d1b97480');
  });
});
