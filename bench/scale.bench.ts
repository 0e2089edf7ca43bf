/**
 * COCO scale on one machine (issue 14.1): a `run` with a fast fake detector over
 * 5,000 images, `grid:3` (16 shifts) and 100 detections per input (8 million detections,
 * a ~780 MB detection log), each run in a child process:
 *
 *   A. the whole run: peak RSS (process.resourceUsage().maxRSS of the child, worker
 *      threads included) and seconds per phase — the detect loop (and, with loading the
 *      dataset, hashing its images and the model, everything before scoring), reading the
 *      store back into the evaluator while streaming the per-shift files, the metrics, and
 *      closing the per-shift files with metrics.json and the report;
 *   B. the same run directory (A's manifest and detection log, no metrics.json) scored
 *      again and killed with SIGKILL at a seeded random moment of scoring;
 *   C. the same command resumed in B's directory: nothing is detected again, and the
 *      metrics equal A's bit for bit (timings aside).
 *
 *   npm run bench:scale [-- --images N] [--shifts grid:3] [--dets 100] [--seed 1] [--bootstrap-bounds B] [--skip-resume] [--keep]
 * Target: peak RSS ≤ 3 GB. Prints one JSON object; exits 1 when the resume failed (B crashed, C failed, detected
 * images again or gave other metrics than A), naming why under `failures`.
 */
import { spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { Rng } from '../src/core/index.js';
import type {
  CocoAnnotation,
  CocoGroundTruth,
  DetectContext,
  Detection,
  Detector,
  RgbImage,
  RunMetrics,
} from '../src/core/types.js';
import { runBenchmark } from '../src/runner/index.js';
import { defaultEnv } from '../src/runner/env.js';
import { boxToInput } from '../src/shifts/index.js';
import { checkArgs, intArg, strArg } from './args.js';
import { scaleFailures } from './scaleVerdict.js';

// a child gets `--child DATASET OUT` before the parent's flags
checkArgs(
  { values: ['--images', '--shifts', '--dets', '--seed', '--bootstrap-bounds'], switches: ['--keep', '--skip-resume'] },
  process.argv.slice(process.argv[2] === '--child' ? 5 : 2),
);

const IMAGES = intArg('--images', 5000);
const SHIFTS = strArg('--shifts', 'grid:3');
const DETS = intArg('--dets', 100);
const SEED = intArg('--seed', 1);
const KEEP = process.argv.includes('--keep');
/** Only run A (peak RSS and phases), not the kill and resume. */
const SKIP_RESUME = process.argv.includes('--skip-resume');
/** --bootstrap-bounds B; absent: the tool's default (off from 20,000 image × shift cells on, so off at full size). */
const BOOTSTRAP_BOUNDS = process.argv.includes('--bootstrap-bounds') ? bootstrapBoundsArg() : undefined;

/** --bootstrap-bounds: 0 (off) or a positive count (the run checks it further); intArg refuses 0. */
function bootstrapBoundsArg(): number {
  const raw = strArg('--bootstrap-bounds', '');
  return raw.trim() === '0' ? 0 : intArg('--bootstrap-bounds', 1);
}
const W = 128;
const H = 96;
const CATEGORIES = 10;
const TARGET_RSS_BYTES = 3e9;
const SELF = fileURLToPath(import.meta.url);

/** Ground truth: 1–8 objects per image of W × H px, CATEGORIES categories. */
function groundTruth(): CocoGroundTruth {
  const rng = new Rng(SEED);
  const gt: CocoGroundTruth = {
    images: [],
    annotations: [],
    categories: Array.from({ length: CATEGORIES }, (_, k) => ({ id: k + 1, name: `c${k + 1}` })),
  };
  let id = 1;
  for (let i = 1; i <= IMAGES; i++) {
    gt.images.push({ id: i, file_name: `${i}.png`, width: W, height: H });
    const n = rng.int(1, 8);
    for (let k = 0; k < n; k++) {
      const w = rng.uniform(8, W / 2);
      const h = rng.uniform(8, H / 2);
      const bbox: [number, number, number, number] = [rng.uniform(0, W - w), rng.uniform(0, H - h), w, h];
      gt.annotations.push({
        id: id++,
        image_id: i,
        category_id: rng.int(1, CATEGORIES),
        bbox,
        area: w * h,
        iscrowd: 0,
      });
    }
  }
  return gt;
}

/** The dataset on disk: instances.json and one small PNG per image. */
async function writeDataset(dir: string, gt: CocoGroundTruth): Promise<string> {
  await mkdir(path.join(dir, 'images'), { recursive: true });
  const pixels = Buffer.alloc(W * H * 3);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) pixels.fill((x * 2 + y) & 255, (y * W + x) * 3, (y * W + x) * 3 + 3);
  const png = await sharp(pixels, { raw: { width: W, height: H, channels: 3 } })
    .png()
    .toBuffer();
  for (const im of gt.images) await writeFile(path.join(dir, 'images', im.file_name), png);
  const file = path.join(dir, 'instances.json');
  await writeFile(file, JSON.stringify(gt));
  return file;
}

/**
 * The fake: per image, DETS detections with a shift-independent identity (3 around each
 * object, the rest low-score false positives) and, per shift, fresh box jitter (±1.5 px)
 * and score noise (±0.05) — a real detector's behaviour under 1-px moves, at no cost.
 */
function scaleDetector(gt: CocoGroundTruth): Detector {
  const byImage = new Map<number, CocoAnnotation[]>();
  for (const a of gt.annotations) byImage.set(a.image_id, [...(byImage.get(a.image_id) ?? []), a]);
  return {
    info: {
      name: 'scale-fake',
      family: { stages: 'one-stage', anchors: 'anchor-free' },
      inputSizePx: { width: W, height: W },
      classes: gt.categories.map((c) => ({ id: c.id, name: c.name })),
      fit: 'letterbox',
      padValue: [114, 114, 114],
      maxBatch: 16,
      runtime: 'fake',
      files: [],
    },
    detect: async (batch: RgbImage[], contexts?: DetectContext[]): Promise<Detection[][]> =>
      batch.map((_, i) => {
        const ctx = contexts![i];
        const base = new Rng(ctx.imageId * 7919 + 1);
        const noise = new Rng(ctx.imageId * 7919 + (ctx.shift.dx + 16) * 613 + (ctx.shift.dy + 16) * 37 + 2);
        const out: Detection[] = [];
        for (const a of byImage.get(ctx.imageId) ?? []) {
          for (let k = 0; k < 3 && out.length < DETS; k++) {
            const [x, y, w, h] = a.bbox;
            const jx = base.uniform(-2, 2) + noise.uniform(-1.5, 1.5);
            const jy = base.uniform(-2, 2) + noise.uniform(-1.5, 1.5);
            const score = Math.min(1, Math.max(0.01, base.uniform(0.5, 0.95) + noise.uniform(-0.05, 0.05)));
            out.push({ bbox: boxToInput([x + jx, y + jy, w, h], ctx.transform), score, categoryId: a.category_id });
          }
        }
        while (out.length < DETS) {
          const w = base.uniform(4, W / 3);
          const h = base.uniform(4, H / 3);
          const x = base.uniform(0, W - w) + noise.uniform(-1.5, 1.5);
          const y = base.uniform(0, H - h) + noise.uniform(-1.5, 1.5);
          const score = Math.max(0.01, base.uniform(0.01, 0.4) + noise.uniform(-0.05, 0.05));
          out.push({ bbox: boxToInput([x, y, w, h], ctx.transform), score, categoryId: base.int(1, CATEGORIES) });
        }
        return out;
      }),
    dispose: async () => undefined,
  };
}

/** Child: one run; prints a line `MARK <name> <seconds> <maxRssBytes>` per phase boundary and the result as JSON last. */
async function child(datasetFile: string, out: string): Promise<void> {
  const t0 = performance.now();
  const mark = (name: string) =>
    process.stdout.write(
      `MARK ${name} ${((performance.now() - t0) / 1000).toFixed(3)} ${process.resourceUsage().maxRSS * 1024}\n`,
    );
  const gt = (await defaultEnv().loadDataset({ dataset: datasetFile })).groundTruth!;
  const base = defaultEnv();
  mark('start');
  const r = await runBenchmark(
    {
      models: ['scale-fake'],
      dataset: datasetFile,
      shifts: SHIFTS,
      out,
      limit: IMAGES,
      ...(BOOTSTRAP_BOUNDS !== undefined ? { bootstrapBounds: BOOTSTRAP_BOUNDS } : {}),
    },
    {
      env: {
        loadDetector: async () => scaleDetector(gt),
        describeDetector: async () => ({ kind: 'bench scale fake', dets: DETS, seed: SEED }),
        listModels: async () => [],
        createEvaluator: (args) => {
          mark('scoring');
          const e = base.createEvaluator(args);
          return {
            process: (input, results) => e.process(input, results),
            evaluate: async () => {
              mark('evaluate');
              const v = await e.evaluate();
              mark('evaluated');
              return v;
            },
          };
        },
      },
    },
  );
  mark('done');
  process.stdout.write(JSON.stringify({ computed: r.computedImages, phases: r.phases, metrics: r.metrics }) + '\n');
}

interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  marks: Record<string, { seconds: number; maxRssBytes: number }>;
  result: { computed: Record<string, number>; phases: Record<string, unknown>; metrics: RunMetrics } | null;
  stderr: string;
  wallSeconds: number;
}

/** Runs a child; `onMark` may kill it. */
function runChild(
  datasetFile: string,
  out: string,
  onMark?: (name: string, kill: () => void) => void,
): Promise<ChildResult> {
  const started = performance.now();
  const proc = spawn(
    process.execPath,
    ['--import', 'tsx', SELF, '--child', datasetFile, out, ...process.argv.slice(2)],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const marks: ChildResult['marks'] = {};
  let result: ChildResult['result'] = null;
  let stderr = '';
  let pending = '';
  proc.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
  proc.stdout.on('data', (d: Buffer) => {
    pending += d.toString('utf8');
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      const m = /^MARK (\S+) (\S+) (\d+)$/.exec(line);
      if (m) {
        marks[m[1]] = { seconds: Number(m[2]), maxRssBytes: Number(m[3]) };
        process.stderr.write(`[scale] ${path.basename(out)}: ${m[1]} at ${m[2]} s, max RSS ${gb(Number(m[3]))} GB\n`);
        onMark?.(m[1], () => proc.kill('SIGKILL'));
      } else if (line.startsWith('{')) result = JSON.parse(line);
    }
  });
  return new Promise((resolve) =>
    proc.on('exit', (code, signal) =>
      resolve({ code, signal, marks, result, stderr, wallSeconds: (performance.now() - started) / 1000 }),
    ),
  );
}

/** Metrics without what differs between runs of the same detections (timings). */
function comparable(m: RunMetrics): string {
  return JSON.stringify({ ...m, results: m.results.map((r) => ({ ...r, timing: null })) });
}

const gb = (bytes: number) => Number((bytes / 1e9).toFixed(3));
const span = (c: ChildResult, from: string, to: string) =>
  c.marks[from] && c.marks[to] ? Number((c.marks[to].seconds - c.marks[from].seconds).toFixed(2)) : null;

async function main(): Promise<void> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'shiftbench-scale-'));
  const report: Record<string, unknown> = {
    images: IMAGES,
    shifts: SHIFTS,
    detectionsPerInput: DETS,
    seed: SEED,
    workDir: KEEP ? root : undefined,
  };
  try {
    let t = performance.now();
    const datasetFile = await writeDataset(path.join(root, 'dataset'), groundTruth());
    report.datasetSeconds = Number(((performance.now() - t) / 1000).toFixed(2));

    // A: the whole run
    const a = await runChild(datasetFile, path.join(root, 'a'));
    if (a.code !== 0 || !a.result) throw new Error(`run A failed (${a.code ?? a.signal}): ${a.stderr}`);
    const key = a.result.metrics.results[0].key;
    const logFile = path.join(root, 'a', 'detections', `${key}.jsonl`);
    const { size: logBytes } = await import('node:fs/promises').then((fs) => fs.stat(logFile));
    report.detectionLogBytes = logBytes;
    report.peakRssGB = gb(a.marks.done.maxRssBytes);
    report.peakRssTargetGB = TARGET_RSS_BYTES / 1e9;
    report.pass = a.marks.done.maxRssBytes <= TARGET_RSS_BYTES;
    // each label says what its span holds: the per-shift files are streamed while the store is read, and closed
    // (fsync, rename) with ground_truth.json, skipped.json, metrics.json and the report after the metrics
    const loop = a.result.phases[key] as { loopSeconds?: number } | undefined;
    report.phaseSeconds = {
      detectLoop: typeof loop?.loopSeconds === 'number' ? Number(loop.loopSeconds.toFixed(2)) : null,
      datasetModelAndDetectLoop: span(a, 'start', 'scoring'),
      readStoreIntoEvaluatorAndStreamPerShiftFiles: span(a, 'scoring', 'evaluate'),
      metrics: span(a, 'evaluate', 'evaluated'),
      closePerShiftFilesMetricsJsonAndReport: span(a, 'evaluated', 'done'),
      total: span(a, 'start', 'done'),
    };
    report.maxRssGBAfter = Object.fromEntries(Object.entries(a.marks).map(([k, v]) => [k, gb(v.maxRssBytes)]));

    if (!SKIP_RESUME) {
      try {
        // B: the stored run scored again and killed at a seeded random moment of scoring
        const scoringSeconds = (span(a, 'scoring', 'done') ?? 1) * 1000;
        const killAfterMs = Math.round(new Rng(SEED * 31 + 7).uniform(0.1, 0.9) * scoringSeconds);
        const bDir = path.join(root, 'b');
        await mkdir(path.join(bDir, 'detections'), { recursive: true });
        await copyFile(path.join(root, 'a', 'manifest.json'), path.join(bDir, 'manifest.json'));
        await copyFile(logFile, path.join(bDir, 'detections', `${key}.jsonl`));
        let timer: NodeJS.Timeout | undefined;
        const b = await runChild(datasetFile, bDir, (name, kill) => {
          if (name === 'scoring' && !timer) timer = setTimeout(kill, killAfterMs);
        });
        clearTimeout(timer);
        const bEntries = await readdir(bDir);
        // C: the same command resumed
        t = performance.now();
        const c = await runChild(datasetFile, bDir);
        if (c.code !== 0 || !c.result) throw new Error(`resumed run C failed (${c.code ?? c.signal}): ${c.stderr}`);
        // the phase of the kill only when there was one: B may finish scoring before the timer fires
        const killed = b.signal === 'SIGKILL';
        report.resume = {
          killedAfterScoringMs: killAfterMs,
          killedBy: b.signal,
          exitCodeB: b.code,
          killedInPhase: !killed
            ? null
            : b.marks.done
              ? 'after scoring'
              : b.marks.evaluated
                ? 'closing the files, metrics.json and report'
                : b.marks.evaluate
                  ? 'metrics'
                  : b.marks.scoring
                    ? 'reading the store and streaming the per-shift files'
                    : 'before scoring',
          ...(killed
            ? {}
            : { notKilled: `run B exited (${b.code ?? b.signal}) before the kill: no resume was tested` }),
          metricsJsonAfterKill: bEntries.includes('metrics.json'),
          imagesDetectedAgain: c.result.computed[key],
          resumeSeconds: Number(((performance.now() - t) / 1000).toFixed(2)),
          metricsIdenticalToUninterrupted: comparable(c.result.metrics) === comparable(a.result.metrics),
          peakRssGB: gb(c.marks.done.maxRssBytes),
        };
      } catch (err) {
        report.resume = { error: (err as Error).message };
      }
    }
    report.mapRef = a.result.metrics.results[0].bounds?.mapRef ?? null;
    report.mapRange = a.result.metrics.results[0].bounds?.mapRange ?? null;
  } finally {
    if (!KEEP) await rm(root, { recursive: true, force: true });
  }
  const failures = scaleFailures(report as Parameters<typeof scaleFailures>[0]);
  if (failures.length > 0) report.failures = failures;
  process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  // a failed or differing resume is printed beside A's numbers, and the bench fails
  if (failures.length > 0) process.exitCode = 1;
}

if (process.argv[2] === '--child') await child(process.argv[3], process.argv[4]);
else await main();
