/**
 * Harness overhead of the runner: everything except the model call (decode, one resample,
 * shifted inputs, projection, the jsonl store, evaluation).
 *
 *   npx tsx bench/runner.bench.ts [--dataset DIR] [--limit N] [--model NAME] [--shifts grid:1]
 *
 * 1. `instant` fake (returns the ground truth mapped by the transform; ~0 s inside detect):
 *    wall seconds per image = pure harness cost.
 * 2. with --model (e.g. centernet), the real detector on the same images: harness share =
 *    1 − inferenceSeconds / wallSeconds (target ≤ 0.10), measured in the same process.
 * Prints one JSON object.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { CocoAnnotation, DetectContext, Detector, RgbImage } from '../src/core/types.js';
import { COCO_CATEGORIES } from '../src/core/coco.js';
import { loadDataset } from '../src/datasets/index.js';
import { runBenchmark } from '../src/runner/index.js';
import { boxToInput } from '../src/shifts/index.js';

function arg(name: string, fallback?: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

const dataset = path.resolve(arg('--dataset', '../shared/data/coco128')!);
const limit = Number(arg('--limit', '64'));
const shifts = arg('--shifts', 'grid:1')!;
const model = arg('--model');

async function main(): Promise<void> {
  const ds = await loadDataset({ dataset, limit });
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
      batch.map((_, i) => (byImage.get(ctx![i].imageId) ?? []).map((a) => ({ bbox: boxToInput(a.bbox, ctx![i].transform), score: 0.9, categoryId: a.category_id }))),
    dispose: async () => undefined,
  };
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'shiftbench-bench-'));
  const out: Record<string, unknown> = { dataset, images: ds.images.length, shifts };
  try {
    let t0 = performance.now();
    const a = await runBenchmark(
      { models: ['instant'], dataset, limit, shifts, out: path.join(tmp, 'instant'), bootstrapResamples: 1000 },
      { env: { loadDetector: async () => instant } },
    );
    const wall = (performance.now() - t0) / 1000;
    out.instant = {
      wallSeconds: wall,
      ...a.phases.instant,
      harnessMsPerImage: (wall / ds.images.length) * 1000,
      inferenceSeconds: a.metrics.results[0].timing.inferenceSeconds,
    };
    if (model) {
      t0 = performance.now();
      const b = await runBenchmark({ models: [model], dataset, limit, shifts, out: path.join(tmp, 'model'), bootstrapResamples: 1000 });
      const wallB = (performance.now() - t0) / 1000;
      const inf = b.metrics.results[0].timing.inferenceSeconds;
      const ph = b.phases[b.metrics.results[0].key];
      out.model = {
        name: model,
        wallSeconds: wallB,
        ...ph,
        inferenceSeconds: inf,
        // everything in the detect loop and evaluation except the model call, over loop + evaluation (model loading excluded)
        harnessShare: 1 - inf / (ph.loopSeconds + ph.evaluateSeconds),
      };
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  process.stdout.write(JSON.stringify(out, null, 2) + '\n');
}

await main();
