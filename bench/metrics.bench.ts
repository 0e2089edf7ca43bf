/**
 * Metrics benchmark: COCO-val-scale synthetic data (seeded), one full evaluateCoco,
 * and the greedy lower + upper bounds over 4 shifts (grid:1), with a baseline ratio
 * measured in the same run: the incremental candidate evaluation against a
 * from-scratch evaluateCoco per candidate (a few measured, extrapolated). The bounds
 * searches run twice: in two worker threads (greedyBoundsParallel) and on one thread
 * (greedyBoundsPrepared), and the two answers are compared bit for bit.
 * PASS flags: evaluateCoco ≤ 5 s wall, bounds setup + searches (workers) ≤ 60 s wall,
 * peak RSS ≤ 4 GiB.
 *
 *   npm run bench:metrics [-- --images N] [--baseline-evals K] [--independent-scores] [--skip-one-thread | --skip-workers]
 * Prints JSON.
 */
import { COCO_CATEGORIES, Rng } from '../src/core/index.js';
import type { CocoAnnotation, CocoGroundTruth, CocoResult, Shift } from '../src/core/index.js';
import { evaluateCoco } from '../src/metrics/index.js';
import { greedyBoundsParallel, greedyBoundsPrepared, prepareBounds } from '../src/metrics/greedy/index.js';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(name);
  if (i < 0) return def;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v < 1) throw new Error(`Expected a positive integer for ${name} but received ${process.argv[i + 1]}`);
  return v;
}

const IMAGES = arg('--images', 5000);
const BASELINE_EVALS = arg('--baseline-evals', 3);
const INDEPENDENT = process.argv.includes('--independent-scores');
const SKIP_SEQUENTIAL = process.argv.includes('--skip-one-thread');
/** Skip the worker-thread run (on a machine with one free core the one-thread numbers are the meaningful ones). */
const SKIP_WORKERS = process.argv.includes('--skip-workers');
const SEED = 2024;
const W = 640, H = 480;
const SHIFTS: Shift[] = [{ dx: 0, dy: 0 }, { dx: 1, dy: 0 }, { dx: 0, dy: 1 }, { dx: 1, dy: 1 }];
const DETS_PER_IMAGE = 100;

function makeGroundTruth(rng: Rng): CocoGroundTruth {
  const cats = COCO_CATEGORIES.map((c) => ({ id: c.id, name: c.name }));
  const frequent = cats.slice(0, 20);
  const images = Array.from({ length: IMAGES }, (_, i) => ({ id: i + 1, file_name: `${i + 1}.jpg`, width: W, height: H }));
  const annotations: CocoAnnotation[] = [];
  let id = 1;
  for (const im of images) {
    const n = rng.int(1, 14);
    for (let k = 0; k < n; k++) {
      const cat = rng.next() < 0.7 ? rng.pick(frequent) : rng.pick(cats);
      // log-uniform sizes: small, medium and large objects
      const w = Math.exp(rng.uniform(Math.log(8), Math.log(400)));
      const h = Math.min(H - 1, w * Math.exp(rng.uniform(-0.7, 0.7)));
      const x = rng.uniform(0, W - w), y = rng.uniform(0, H - h);
      annotations.push({ id: id++, image_id: im.id, category_id: cat.id, bbox: [x, y, w, h], area: w * h * rng.uniform(0.6, 0.9), iscrowd: rng.next() < 0.01 ? 1 : 0 });
    }
  }
  return { images, annotations, categories: cats };
}

/**
 * One noise draw of detections for every image: 3 noisy boxes per gt, low-score false
 * positives up to 100 per image. By default a detection keeps its identity across
 * shifts (same gt / same false positive, base score shared) and only its box and score
 * get a fresh noise draw per shift, as a real detector's outputs do under a 1-px move;
 * `--independent-scores` draws every score and false positive independently per shift
 * (a harsher, less realistic case for the incremental search).
 */
function makeDetections(gt: CocoGroundTruth, shift: number): CocoResult[] {
  const byImage = new Map<number, CocoAnnotation[]>();
  for (const a of gt.annotations) {
    let l = byImage.get(a.image_id);
    if (!l) byImage.set(a.image_id, (l = []));
    l.push(a);
  }
  const out: CocoResult[] = [];
  const base = new Rng(SEED + 1);
  const clamp = (x: number) => Math.min(1, Math.max(0.001, x));
  for (const im of gt.images) {
    const rng = base.fork(im.id * 16 + shift);
    const shared = INDEPENDENT ? rng : base.fork(im.id * 16 + 15);
    let n = 0;
    for (const a of byImage.get(im.id) ?? []) {
      for (let k = 0; k < 3; k++) {
        const [x, y, w, h] = a.bbox;
        const sx = 0.06 * w * (k + 1), sy = 0.06 * h * (k + 1);
        const baseScore = shared.uniform(0.4, 1) - 0.15 * k;
        out.push({
          image_id: im.id,
          category_id: a.category_id,
          bbox: [x + rng.normal(0, sx), y + rng.normal(0, sy), Math.max(1, w + rng.normal(0, sx)), Math.max(1, h + rng.normal(0, sy))],
          score: clamp(INDEPENDENT ? baseScore : baseScore + rng.normal(0, 0.03)),
        });
        n++;
      }
    }
    for (; n < DETS_PER_IMAGE; n++) {
      const w = shared.uniform(10, 200), h = shared.uniform(10, 200);
      const bx = shared.uniform(0, W - w), by = shared.uniform(0, H - h);
      const cat = shared.pick(COCO_CATEGORIES).id;
      const sc = shared.uniform(0.001, 0.3);
      out.push({
        image_id: im.id,
        category_id: cat,
        bbox: INDEPENDENT ? [bx, by, w, h] : [bx + rng.normal(0, 2), by + rng.normal(0, 2), w + rng.normal(0, 2), h + rng.normal(0, 2)],
        score: INDEPENDENT ? sc : clamp(sc * (1 + rng.normal(0, 0.05))),
      });
    }
  }
  return out;
}

function mem(): { rssMiB: number; heapUsedMiB: number } {
  const m = process.memoryUsage();
  return { rssMiB: Math.round(m.rss / 2 ** 20), heapUsedMiB: Math.round(m.heapUsed / 2 ** 20) };
}

const seconds = (t0: number) => (performance.now() - t0) / 1000;
/** CPU seconds (user + system, all threads) since a process.cpuUsage() mark: robust on a shared, loaded machine. */
const cpuSeconds = (c0: NodeJS.CpuUsage) => {
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1e6;
};
const r3 = (x: number) => +x.toFixed(3);

async function main(): Promise<void> {
  const t0 = performance.now();
  const rng = new Rng(SEED);
  const gt = makeGroundTruth(rng);
  const dets = SHIFTS.map((_, s) => makeDetections(gt, s));
  const genSeconds = seconds(t0);
  const afterGen = mem();

  // 1. one full evaluateCoco (shift 0)
  let t = performance.now();
  let c = process.cpuUsage();
  const ev = evaluateCoco(gt, dets[0]);
  const evaluateCocoSeconds = seconds(t);
  const evaluateCocoCpu = cpuSeconds(c);

  // 2. greedy lower + upper bounds: setup once, then the searches in two worker threads and on one thread
  t = performance.now();
  c = process.cpuUsage();
  const prepared = prepareBounds({ gt, shifts: SHIFTS, dets });
  const prepareSeconds = seconds(t);
  const prepareCpu = cpuSeconds(c);
  const counters = { candidates: 0, moves: 0 };
  let fallback: string | null = null;
  t = performance.now();
  c = process.cpuUsage();
  const bounds = SKIP_WORKERS
    ? greedyBoundsPrepared(prepared, 5, { counters })
    : await greedyBoundsParallel(prepared, 5, { counters, onWorkerFallback: (r) => (fallback = r) });
  const parallelSeconds = seconds(t);
  const parallelCpu = cpuSeconds(c);
  let sequential: { seconds: number; cpu: number; identical: boolean } | null = null;
  if (!SKIP_SEQUENTIAL && !SKIP_WORKERS) {
    t = performance.now();
    c = process.cpuUsage();
    const seq = greedyBoundsPrepared(prepared, 5);
    sequential = { seconds: seconds(t), cpu: cpuSeconds(c), identical: JSON.stringify(seq) === JSON.stringify(bounds) };
  }
  const afterBounds = mem();

  // 3. baseline: from-scratch evaluateCoco of one candidate assignment, a few times
  t = performance.now();
  c = process.cpuUsage();
  for (let k = 0; k < BASELINE_EVALS; k++) {
    const s = (k % (SHIFTS.length - 1)) + 1;
    const mixed = dets[0].filter((d) => d.image_id !== k + 1).concat(dets[s].filter((d) => d.image_id === k + 1));
    evaluateCoco(gt, mixed);
  }
  const fromScratchPerCandidate = seconds(t) / BASELINE_EVALS;
  const fromScratchCpuPerCandidate = cpuSeconds(c) / BASELINE_EVALS;
  // per-candidate cost of the incremental search on one thread (the sequential run), else of the workers' CPU
  // (with --skip-workers the first run already was on one thread)
  const searchWall = sequential ? sequential.seconds : parallelSeconds;
  const searchCpu = sequential ? sequential.cpu : parallelCpu;
  const incrementalPerCandidate = searchWall / Math.max(1, counters.candidates);
  const incrementalCpuPerCandidate = searchCpu / Math.max(1, counters.candidates);
  const extrapolatedFromScratchSeconds = fromScratchPerCandidate * counters.candidates;
  const peakRssMiB = Math.round(process.resourceUsage().maxRSS / 1024);
  const boundsWall = prepareSeconds + parallelSeconds;

  process.stdout.write(
    JSON.stringify(
      {
        data: { images: IMAGES, categories: 80, shifts: SHIFTS.length, gtBoxes: gt.annotations.length, detectionsPerShift: dets[0].length, seed: SEED, scores: INDEPENDENT ? 'independent per shift' : 'shared base + per-shift noise', generateSeconds: +genSeconds.toFixed(2) },
        note: 'seconds are wall clock; cpuSeconds are user+system CPU of this process, all threads (the fairer number on a loaded, shared machine)',
        pass: {
          evaluateCoco: evaluateCocoSeconds <= 5,
          bounds: boundsWall <= 60,
          peakRss: peakRssMiB <= 4096,
          boundsWorkersIdenticalToOneThread: sequential ? sequential.identical : null,
        },
        evaluateCoco: { seconds: r3(evaluateCocoSeconds), cpuSeconds: r3(evaluateCocoCpu), targetSeconds: 5, AP: ev.stats[0], AP50: ev.stats[1] },
        bounds: {
          prepareSeconds: r3(prepareSeconds),
          prepareCpuSeconds: r3(prepareCpu),
          workers: SKIP_WORKERS ? 'skipped: the first run was on one thread (--skip-workers)' : fallback === null ? 2 : `fell back to one thread: ${fallback}`,
          searchSecondsWorkers: r3(parallelSeconds),
          searchCpuSecondsWorkers: r3(parallelCpu),
          totalSecondsWorkers: r3(boundsWall),
          searchSecondsOneThread: sequential ? r3(sequential.seconds) : null,
          searchCpuSecondsOneThread: sequential ? r3(sequential.cpu) : null,
          totalSecondsOneThread: sequential ? r3(prepareSeconds + sequential.seconds) : null,
          targetSeconds: 60,
          candidates: counters.candidates,
          candidatesPerSecondWorkers: Math.round(counters.candidates / parallelSeconds),
          candidatesPerSecondOneThread: sequential ? Math.round(counters.candidates / sequential.seconds) : null,
          moves: counters.moves,
          passes: bounds!.passes,
          mapRef: bounds!.mapRef,
          mapLower: bounds!.mapLower,
          mapUpper: bounds!.mapUpper,
          mapRange: bounds!.mapRange,
          perShift: bounds!.perShift,
        },
        baseline: {
          fromScratchEvalsMeasured: BASELINE_EVALS,
          fromScratchSecondsPerCandidate: +fromScratchPerCandidate.toFixed(4),
          fromScratchCpuSecondsPerCandidate: +fromScratchCpuPerCandidate.toFixed(4),
          incrementalMicrosecondsPerCandidate: +(incrementalPerCandidate * 1e6).toFixed(1),
          incrementalCpuMicrosecondsPerCandidate: +(incrementalCpuPerCandidate * 1e6).toFixed(1),
          extrapolatedFromScratchSearchSeconds: Math.round(extrapolatedFromScratchSeconds),
          speedupRatio: Math.round(fromScratchPerCandidate / incrementalPerCandidate),
          speedupRatioCpu: Math.round(fromScratchCpuPerCandidate / incrementalCpuPerCandidate),
          speedupRatioWorkersWall: Math.round(extrapolatedFromScratchSeconds / parallelSeconds),
        },
        memory: { afterGenerate: afterGen, afterBounds, peakRssMiB, targetPeakMiB: 4096 },
      },
      null,
      2,
    ) + '\n',
  );
}

await main();
