/**
 * Inference benchmark of the TF.js adapter (and the ONNX models of ../shared when the
 * detectors module can load them), on real coco128 photos fitted as a run fits them.
 *
 *   npm run bench:inference [-- --images N] [--cpu] [--overhead-images N] [--skip-overhead]
 *
 * 1. throughput: images/s inside `detect` per model and backend (wasm; CenterNet on cpu
 *    with --cpu, one image, as it is ~30–45× slower), after the warm-up that `load` does.
 * 2. batching: the 4 shifted copies of grid:1 in one `detect` call vs one call each
 *    (ratio = one-by-one time / batched time; 1.0 where the model has a fixed batch of 1,
 *    as both built-in TF.js models do). For CenterNet also the backbone alone with its
 *    batch dimension made dynamic by a graph rewrite, to show what batching would give.
 * 3. harness overhead of a real run: runBenchmark (the runner) with CenterNet/wasm over
 *    coco128 images and grid:1 shifts; overhead = (wall − time inside detect) / wall,
 *    without the model load (target ≤ 0.10).
 * Prints one JSON object; every ratio is measured in this process.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import * as tf from '@tensorflow/tfjs';
import type { CocoGroundTruth, Detector, LoadDetectorOptions, ModelEntry, RgbImage } from '../src/core/types.js';
import { decodeImage } from '../src/datasets/index.js';
import { pullModel } from '../src/detectors/pull.js';
import { readRegistry } from '../src/detectors/registry.js';
import { loadTfjsDetector, selectBackend } from '../src/detectors/tfjs/index.js';
import { loadGraphFromFiles, readTfjsGraphFiles } from '../src/detectors/tfjs/graphFiles.js';
import { runBenchmark } from '../src/runner/index.js';
import { makeShiftedInputs, parseShiftSet } from '../src/shifts/index.js';
import { checkArgs, intArg } from './args.js';

checkArgs({ values: ['--images', '--overhead-images'], switches: ['--cpu', '--skip-overhead'] });

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const SHARED = path.resolve(process.env.SHIFTBENCH_SHARED ?? path.join(ROOT, '../shared'));
const COCO128 = path.join(SHARED, 'data/coco128');

const IMAGES = intArg('--images', 8);
const OVERHEAD_IMAGES = intArg('--overhead-images', 32);
const WITH_CPU = process.argv.includes('--cpu');
const SKIP_OVERHEAD = process.argv.includes('--skip-overhead');
const log = (m: string) => process.stderr.write(`${m}\n`);
const logger = { info: log, warn: log };

type LoadFn = (spec: string, opts: LoadDetectorOptions & { registryFiles?: string[] }) => Promise<Detector>;

/** The detectors module's loadDetector when it exists (it routes TF.js entries here and ONNX to its adapter). */
async function coreLoadDetector(): Promise<LoadFn | null> {
  try {
    const spec = '../src/detectors/index.js';
    const mod = (await import(spec)) as { loadDetector?: LoadFn };
    return typeof mod.loadDetector === 'function' ? mod.loadDetector : null;
  } catch {
    return null;
  }
}

async function builtin(name: string): Promise<{ entry: ModelEntry; dir: string }> {
  const entry = readRegistry([path.join(ROOT, 'models/registry.json')]).find((e) => e.name === name)!;
  return { entry, dir: await pullModel(entry, { logger }) };
}

/** The reference input (0,0) and the 4 grid:1 shifted inputs of the first `n` coco128 images. */
async function inputsFor(det: Detector, n: number): Promise<RgbImage[][]> {
  const gt = JSON.parse(readFileSync(path.join(COCO128, 'annotations/instances.json'), 'utf8')) as CocoGroundTruth;
  const images = [...gt.images].sort((a, b) => a.id - b.id).slice(0, n);
  const shiftSet = parseShiftSet('grid:1');
  const out: RgbImage[][] = [];
  for (const im of images) {
    const rgb = await decodeImage(path.join(COCO128, 'images', im.file_name), { width: im.width, height: im.height });
    const s = await makeShiftedInputs(rgb, {
      inputSizePx: det.info.inputSizePx,
      fit: det.info.fit,
      padValue: det.info.padValue,
      mode: 'pad',
      shiftSet,
    });
    out.push(s.inputs());
  }
  return out;
}

interface ModelTiming {
  model: string;
  runtime: string;
  threads: unknown;
  maxBatch: number;
  loadSeconds: number;
  imagesPerSecond: number;
  /** 4 shifted copies: seconds per image one call each / in one call. */
  batchedVsOneByOne: { oneByOneSeconds: number; batchedSeconds: number; ratio: number } | null;
}

async function timeDetector(
  label: string,
  load: () => Promise<Detector>,
  images = IMAGES,
  batching = true,
): Promise<ModelTiming> {
  const t0 = performance.now();
  const det = await load();
  const loadSeconds = (performance.now() - t0) / 1000;
  try {
    const sets = await inputsFor(det, images);
    let t = performance.now();
    for (const s of sets) await det.detect([s[0]]);
    const perImage = (performance.now() - t) / 1000 / sets.length;
    let oneByOne = NaN;
    let batched = NaN;
    if (batching) {
      t = performance.now();
      for (const s of sets) for (const x of s) await det.detect([x]);
      oneByOne = (performance.now() - t) / 1000;
      // warm the batched shape as the one-by-one shape is warm (load and the loop above ran batches of one): a model
      // with a dynamic batch runs its first call of a new shape slower
      await det.detect(sets[0]);
      t = performance.now();
      for (const s of sets) await det.detect(s);
      batched = (performance.now() - t) / 1000;
    }
    const r: ModelTiming = {
      model: label,
      runtime: det.info.runtime,
      threads: det.info.details?.threads,
      maxBatch: det.info.maxBatch,
      loadSeconds,
      imagesPerSecond: 1 / perImage,
      batchedVsOneByOne: batching
        ? { oneByOneSeconds: oneByOne, batchedSeconds: batched, ratio: oneByOne / batched }
        : null,
    };
    log(`${label}: ${r.imagesPerSecond.toFixed(2)} images/s (${det.info.runtime})`);
    return r;
  } finally {
    await det.dispose();
  }
}

/** CenterNet's backbone (outputs keypoints + wh, no in-graph decoding) with a dynamic batch: 4 inputs in one call vs one each. */
async function centernetBackboneBatching(dir: string, entry: ModelEntry): Promise<Record<string, number>> {
  const files = await readTfjsGraphFiles(dir, entry.files[0].name);
  const json = structuredClone(files.modelJson) as {
    modelTopology: { node: { op: string; attr: { shape: { shape: { dim: { size: string }[] } } } }[] };
    signature?: unknown;
  };
  for (const n of json.modelTopology.node) if (n.op === 'Placeholder') n.attr.shape.shape.dim[0].size = '-1';
  delete json.signature;
  const model = await loadGraphFromFiles(
    { ...files, modelJson: json as unknown as Record<string, unknown> },
    'centernet backbone',
  );
  const outs = ['tower_0/keypoints', 'tower_0/wh'];
  const run = async (n: number) => {
    const r = tf.tidy(() => model.execute(tf.randomUniform([n, 512, 512, 3], 0, 255), outs) as tf.Tensor[]);
    try {
      await Promise.all(r.map((t) => t.data()));
    } finally {
      tf.dispose(r);
    }
  };
  await run(1);
  await run(4);
  let t = performance.now();
  for (let i = 0; i < IMAGES; i++) for (let k = 0; k < 4; k++) await run(1);
  const one = (performance.now() - t) / 1000;
  t = performance.now();
  for (let i = 0; i < IMAGES; i++) await run(4);
  const batched = (performance.now() - t) / 1000;
  model.dispose();
  return { oneByOneSeconds: one, batchedSeconds: batched, ratio: one / batched };
}

async function overhead(entry: ModelEntry, dir: string): Promise<Record<string, unknown>> {
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'shiftbench-infbench-'));
  try {
    let loadSeconds = 0;
    const core = await coreLoadDetector();
    const t0 = performance.now();
    const res = await runBenchmark(
      {
        models: ['centernet'],
        dataset: path.join(COCO128, 'annotations/instances.json'),
        images: path.join(COCO128, 'images'),
        limit: OVERHEAD_IMAGES,
        shifts: 'grid:1',
        out: tmp,
        force: true,
        backend: 'wasm',
        bootstrapResamples: 1000,
      },
      {
        env: {
          loadDetector: async (spec, opts) => {
            const t = performance.now();
            const det = core
              ? await core(spec, { ...opts, backend: 'wasm' })
              : await loadTfjsDetector(entry, dir, { ...opts, backend: 'wasm' });
            loadSeconds += (performance.now() - t) / 1000;
            return det;
          },
        },
      },
    );
    const wall = (performance.now() - t0) / 1000;
    const s = res.metrics.results[0];
    const detectorWall = res.wallSeconds[s.key];
    const inference = s.timing.inferenceSeconds ?? 0; // measured for every detector run by the runner
    return {
      runner: 'runBenchmark',
      loader: core ? 'detectors.loadDetector' : 'loadTfjsDetector (detectors.loadDetector not available yet)',
      images: s.imagesEvaluated,
      shifts: 'grid:1',
      wallSeconds: wall,
      loadSeconds,
      inferenceSeconds: inference,
      /** (wall − load − inference) / (wall − load): decode, resample, shift, project, store, evaluate. */
      overheadShare: (wall - loadSeconds - inference) / (wall - loadSeconds),
      overheadShareOfDetectorWall: (detectorWall - loadSeconds - inference) / (detectorWall - loadSeconds),
      mapRef: s.bounds?.mapRef ?? null,
      mapRange: s.bounds?.mapRange ?? null,
    };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  if (!existsSync(COCO128)) throw new Error(`bench:inference needs ${COCO128} (../shared/data/coco128)`);
  const out: Record<string, unknown> = {
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, node: process.version },
    images: IMAGES,
  };
  const centernet = await builtin('centernet');
  const nanodet = await builtin('nanodet');
  const results: ModelTiming[] = [];
  out['backend:wasm'] = await selectBackend('wasm', { logger });
  results.push(
    await timeDetector('centernet/wasm', () =>
      loadTfjsDetector(centernet.entry, centernet.dir, { backend: 'wasm', logger }),
    ),
  );
  results.push(
    await timeDetector('nanodet/wasm', () => loadTfjsDetector(nanodet.entry, nanodet.dir, { backend: 'wasm', logger })),
  );
  if (WITH_CPU) {
    // the plain JS backend is ~30–45× slower than wasm: one image, no batching part
    out['backend:cpu'] = await selectBackend('cpu', { logger });
    results.push(
      await timeDetector(
        'centernet/cpu',
        () => loadTfjsDetector(centernet.entry, centernet.dir, { backend: 'cpu', logger }),
        1,
        false,
      ),
    );
  }
  await selectBackend('wasm');
  out.centernetBackboneDynamicBatch = await centernetBackboneBatching(centernet.dir, centernet.entry);

  const core = await coreLoadDetector();
  if (core && existsSync(path.join(SHARED, 'models'))) {
    for (const name of ['fastestdet', 'yolo-fastestv2', 'nanodet-m-416']) {
      try {
        results.push(
          await timeDetector(`${name}/onnx`, () =>
            core(name, { logger, registryFiles: [path.join(ROOT, 'test/fixtures/registry-shared.json')] }),
          ),
        );
      } catch (err) {
        out[`skipped:${name}`] = (err as Error).message.split('\n')[0];
      }
    }
  } else {
    out.onnx = core
      ? `skipped: ${path.join(SHARED, 'models')} absent`
      : 'skipped: detectors.loadDetector not available yet';
  }
  out.models = results;
  if (!SKIP_OVERHEAD) out.harnessOverhead = await overhead(centernet.entry, centernet.dir);
  process.stdout.write(JSON.stringify(out, null, 2) + '\n');
}

await main();
