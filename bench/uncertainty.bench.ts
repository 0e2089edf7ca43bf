/**
 * Uncertainty benchmark (issue 11.6): the bounds bootstrap and size curve, each figure a
 * ratio to one plain lower + upper search on the same data in the same run (a fresh
 * engine at s0, then both searches, on this thread; the median of three, one search above 1,000 images).
 *
 * - coco128-sized: 128 images, grid:1, 100 detections per image per shift (drawn as
 *   bench:metrics --data shared draws them), B = 200 on two workers: target ≤ 120× one plain search.
 * - COCO-val-scale: 5,000 images, grid:1, B = 20 on two workers: the ratio is stated.
 * Also: CPU seconds per resample ÷ the plain search's (a resample reuses the prepared
 * case, so it should cost about one search), and the size curve at 128 images.
 *
 *   npm run bench:uncertainty [-- --skip-large] [--large-images N] [--large-resamples B]
 * Prints JSON.
 */
import os from 'node:os';
import { Rng } from '../src/core/index.js';
import { ShiftMapEngine, prepareBounds, runSearch, type PreparedBounds } from '../src/metrics/greedy/index.js';
import { boundsUncertainty } from '../src/metrics/uncertainty.js';
import { BENCH_SHIFTS, syntheticDetections, syntheticGroundTruth } from './synthetic.js';
import { checkArgs, intArg } from './args.js';

checkArgs({ values: ['--large-images', '--large-resamples'], switches: ['--skip-large'] });

const SEED = 2024;
const WORKERS = 2;
const r3 = (x: number) => +x.toFixed(3);
const r1 = (x: number) => +x.toFixed(1);

function prepare(images: number): PreparedBounds {
  const gt = syntheticGroundTruth(new Rng(SEED), images);
  return prepareBounds({
    gt,
    shifts: BENCH_SHIFTS,
    dets: BENCH_SHIFTS.map((_, s) => syntheticDetections(gt, s, { seed: SEED, mode: 'shared' })),
  });
}

/** Wall and CPU seconds of one plain lower + upper search (fresh engine at s0), the median of `repeats`. */
function plainSearch(prepared: PreparedBounds, repeats = 3): { seconds: number; cpuSeconds: number; mapRange: number } {
  const walls: number[] = [];
  const cpus: number[] = [];
  let mapRange = 0;
  for (let k = 0; k < repeats; k++) {
    const t = performance.now();
    const c = process.cpuUsage();
    const engine = new ShiftMapEngine(prepared);
    const lo = runSearch(engine, -1, 5, {}, 'lower');
    const hi = runSearch(engine, 1, 5, {}, 'upper');
    mapRange = hi.value - lo.value;
    walls.push((performance.now() - t) / 1000);
    const u = process.cpuUsage(c);
    cpus.push((u.user + u.system) / 1e6);
  }
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  return { seconds: med(walls), cpuSeconds: med(cpus), mapRange };
}

async function measure(images: number, resamples: number, withCurve: boolean) {
  const t0 = performance.now();
  const prepared = prepare(images);
  const prepareSeconds = (performance.now() - t0) / 1000;
  const plain = plainSearch(prepared, images > 1000 ? 1 : 3);
  let fallback: string | null = null;
  const t = performance.now();
  const c = process.cpuUsage();
  const u = await boundsUncertainty(prepared, plain.mapRange, {
    resamples,
    seed: 1,
    workers: WORKERS,
    sizeCurve: false,
    onWorkerFallback: (m) => (fallback = m),
  });
  const wall = (performance.now() - t) / 1000;
  const cu = process.cpuUsage(c);
  const cpu = (cu.user + cu.system) / 1e6;
  const out: Record<string, unknown> = {
    data: {
      images,
      mode: 'shared',
      shifts: BENCH_SHIFTS.length,
      detectionsPerImagePerShift: 100,
      totalDetections: prepared.detScore.length,
    },
    prepareSeconds: r3(prepareSeconds),
    plainSearch: { seconds: r3(plain.seconds), cpuSeconds: r3(plain.cpuSeconds), mapRange: r3(plain.mapRange) },
    bootstrap: {
      resamples: resamples,
      workers: WORKERS,
      workerFallback: fallback,
      seconds: r3(wall),
      ratioToPlainSearch: r1(wall / plain.seconds),
      /** CPU seconds of all threads ÷ workers ÷ the plain search's CPU seconds: the wall ratio on two free cores (robust on a loaded machine). */
      // one thread when the workers fell back to this thread
      cpuRatioPerWorkerToPlainSearch: r1(cpu / (fallback === null ? WORKERS : 1) / plain.cpuSeconds),
      cpuSecondsPerResample: r3(cpu / resamples),
      cpuPerResampleRatioToPlainSearch: +(cpu / resamples / plain.cpuSeconds).toFixed(2),
      mapRange95: u.interval ? [r3(u.interval.mapRange.lo), r3(u.interval.mapRange.hi)] : null,
    },
  };
  if (withCurve) {
    const tc = performance.now();
    const curve = await boundsUncertainty(prepared, plain.mapRange, {
      resamples: 0,
      seed: 1,
      workers: WORKERS,
      sizeCurve: true,
    });
    const curveWall = (performance.now() - tc) / 1000;
    out.sizeCurve = {
      seconds: r3(curveWall),
      ratioToPlainSearch: r1(curveWall / plain.seconds),
      points: curve.sizeCurve,
    };
  }
  return out;
}

async function main(): Promise<void> {
  const small = await measure(128, 200, true);
  const b = small.bootstrap as { ratioToPlainSearch: number; cpuRatioPerWorkerToPlainSearch: number };
  const result: Record<string, unknown> = {
    benchmark: 'uncertainty',
    loadAverage1min: +os.loadavg()[0].toFixed(2),
    cpus: os.availableParallelism(),
    coco128Sized: {
      ...small,
      target: 'bootstrap B = 200 on two workers ≤ 120× one plain search',
      passWall: b.ratioToPlainSearch <= 120,
      passCpu: b.cpuRatioPerWorkerToPlainSearch <= 120,
    },
  };
  if (!process.argv.includes('--skip-large')) {
    result.cocoValScale = await measure(intArg('--large-images', 5000), intArg('--large-resamples', 20), false);
  }
  process.stdout.write(JSON.stringify(result, null, 2) + '\n');
}

main().catch((e) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
