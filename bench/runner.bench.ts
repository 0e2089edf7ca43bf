/**
 * Harness cost of the runner: everything except the model call (decode, one resample,
 * shifted inputs, projection, the jsonl store), as ratios to baselines measured in the
 * same process, alternated A/B/A/B over `--reps` rounds (medians printed; the machine may be shared).
 *
 *   npx tsx bench/runner.bench.ts [--dataset DIR] [--limit N] [--shifts grid:1] [--reps 3] [--model zoo-fcos]
 *
 * 1. `instant` fake (returns the ground truth mapped by the transform; ~0 s inside detect):
 *    loop seconds per image = the harness cost, over the cost of only decoding each image
 *    with sharp (decodeImage, one image after the other). Target ≤ 2.
 * 2. with --model: the detect loop's wall time (decode → stored records; model loading and
 *    scoring excluded) over the same detector alone on the same inputs made in advance, in
 *    the same batches (target ≤ 1.05: work moved to a thread that slows the model is no win).
 * Each run is made with prepare workers on (the default) and off (`prepareWorkers: 0`).
 * Prints one JSON object.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { CocoAnnotation, DetectContext, Detector, RgbImage } from '../src/core/types.js';
import { COCO_CATEGORIES } from '../src/core/coco.js';
import { decodeImage, loadDataset } from '../src/datasets/index.js';
import { loadDetector } from '../src/detectors/index.js';
import { runBenchmark } from '../src/runner/index.js';
import { RUN_DEFAULTS } from '../src/runner/options.js';
import { boxToInput, makeShiftedInputs, parseShiftSet, DEFAULT_RESAMPLE_KERNEL } from '../src/shifts/index.js';
import { intArg, strArg } from './args.js';

const dataset = path.resolve(strArg('--dataset', '../shared/data/coco128'));
const limit = intArg('--limit', 64);
const shifts = strArg('--shifts', 'grid:1');
const reps = intArg('--reps', 3);
const model = process.argv.includes('--model') ? strArg('--model', '') : null;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const round = (x: number, digits = 3): number => Number(x.toFixed(digits));

async function main(): Promise<void> {
  const ds = await loadDataset({ dataset, limit });
  const n = ds.images.length;
  const byImage = new Map<number, CocoAnnotation[]>();
  for (const a of ds.groundTruth?.annotations ?? []) byImage.set(a.image_id, [...(byImage.get(a.image_id) ?? []), a]);
  const instant: Detector = {
    info: {
      name: 'instant',
      family: { stages: 'one-stage', anchors: 'anchor-free' },
      inputSizePx: { width: 512, height: 512 },
      classes: [...COCO_CATEGORIES],
      fit: 'letterbox',
      padValue: [0, 0, 0],
      maxBatch: 1,
      runtime: 'fake',
      files: [],
    },
    detect: async (batch: RgbImage[], ctx?: DetectContext[]) =>
      batch.map((_, i) =>
        (byImage.get(ctx![i].imageId) ?? []).map((a) => ({ bbox: boxToInput(a.bbox, ctx![i].transform), score: 0.9, categoryId: a.category_id })),
      ),
    dispose: async () => undefined,
  };
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'shiftbench-bench-'));
  let runs = 0;
  const loopSecondsOf = async (spec: string, prepareWorkers: number | undefined, loader?: () => Promise<Detector>): Promise<number> => {
    const r = await runBenchmark(
      { models: [spec], dataset, limit, shifts, out: path.join(tmp, `run-${runs++}`), bootstrapResamples: 1, bootstrapBounds: 0, ...(prepareWorkers === undefined ? {} : { prepareWorkers }) },
      loader ? { env: { loadDetector: loader } } : {},
    );
    return r.phases[r.metrics.results[0].key].loopSeconds;
  };
  const decodeSeconds = async (): Promise<number> => {
    const t0 = performance.now();
    for (const im of ds.images) await decodeImage(im.path, { width: im.width, height: im.height });
    return (performance.now() - t0) / 1000;
  };
  const out: Record<string, unknown> = { dataset, images: n, shifts, reps, cpus: os.availableParallelism(), loadAverage: os.loadavg().map((x) => round(x, 2)) };
  try {
    // 1. the instant fake against decoding alone: D, off, on, D, off, on, …
    const t = { decode: [] as number[], off: [] as number[], on: [] as number[] };
    await decodeSeconds(); // warm the file cache and sharp
    for (let r = 0; r < reps; r++) {
      t.decode.push(await decodeSeconds());
      t.off.push(await loopSecondsOf('instant', 0, async () => instant));
      t.on.push(await loopSecondsOf('instant', undefined, async () => instant));
    }
    const msPer = (xs: number[]) => round((median(xs) / n) * 1000, 2);
    out.instant = {
      decodeMsPerImage: msPer(t.decode),
      harnessMsPerImage: { prepareWorkersOff: msPer(t.off), prepareWorkersOn: msPer(t.on) },
      ratioToDecode: { prepareWorkersOff: round(median(t.off) / median(t.decode), 2), prepareWorkersOn: round(median(t.on) / median(t.decode), 2) },
      samplesSeconds: { decode: t.decode.map((x) => round(x)), off: t.off.map((x) => round(x)), on: t.on.map((x) => round(x)) },
    };
    if (model) out.model = await benchModel(model, ds.images, loopSecondsOf);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  out.loadAverageAfter = os.loadavg().map((x) => round(x, 2));
  process.stdout.write(JSON.stringify(out, null, 2) + '\n');
}

/** The model alone on inputs made in advance (one loaded detector), alternated with runs of the detect loop. */
async function benchModel(
  spec: string,
  images: Awaited<ReturnType<typeof loadDataset>>['images'],
  loopSecondsOf: (spec: string, prepareWorkers: number | undefined) => Promise<number>,
): Promise<Record<string, unknown>> {
  const detector = await loadDetector(spec);
  const info = detector.info;
  const batch = Math.min(info.maxBatch, RUN_DEFAULTS.maxDefaultBatch);
  const shiftSet = parseShiftSet(shifts);
  const inputs: RgbImage[] = [];
  const contexts: DetectContext[] = [];
  for (const im of images) {
    const rgb = await decodeImage(im.path, { width: im.width, height: im.height });
    const made = await makeShiftedInputs(rgb, {
      inputSizePx: info.inputSizePx,
      fit: info.fit,
      padValue: info.padValue,
      mode: RUN_DEFAULTS.mode,
      shiftSet,
      kernel: DEFAULT_RESAMPLE_KERNEL,
    });
    made.inputs().forEach((input, s) => {
      inputs.push(input);
      contexts.push({ imageId: im.id, shift: shiftSet.shifts[s], transform: made.transforms[s] });
    });
  }
  const alone = async (): Promise<number> => {
    const t0 = performance.now();
    for (let b = 0; b < inputs.length; b += batch) await detector.detect(inputs.slice(b, b + batch), contexts.slice(b, b + batch));
    return (performance.now() - t0) / 1000;
  };
  const t = { alone: [] as number[], off: [] as number[], on: [] as number[] };
  try {
    await alone(); // warm
    for (let r = 0; r < reps; r++) {
      t.alone.push(await alone());
      t.off.push(await loopSecondsOf(spec, 0));
      t.on.push(await loopSecondsOf(spec, undefined));
    }
  } finally {
    await detector.dispose();
  }
  return {
    name: spec,
    batch,
    aloneSeconds: round(median(t.alone)),
    loopSeconds: { prepareWorkersOff: round(median(t.off)), prepareWorkersOn: round(median(t.on)) },
    ratioToAlone: { prepareWorkersOff: round(median(t.off) / median(t.alone)), prepareWorkersOn: round(median(t.on) / median(t.alone)) },
    samplesSeconds: { alone: t.alone.map((x) => round(x)), off: t.off.map((x) => round(x)), on: t.on.map((x) => round(x)) },
  };
}

await main();
