/**
 * Opening a detection log (what a resumed run does first), as ratios to baselines measured
 * in the same process, alternated over `--reps` rounds (medians printed; the machine may be shared).
 *
 *   npm run bench:store -- [--images 5000] [--shifts 16] [--detections 100] [--reps 3]
 *
 * The log is synthetic, written as the run writes it (one JSON.stringify'd ImageRecord per
 * line; boxes projected to the original image, so full-precision doubles): 5,000 images ×
 * 16 shifts × 100 detections is the COCO-val `grid:3` scale of issue 14 (~780 MB).
 * - read: every line's bytes found and handed over (forEachLineBytes with nothing to do): the floor
 * - fullParse: each line made a string and JSON.parse'd, as DetectionLog.open did before
 * - open: DetectionLog.open (the header read and the detections counted from the bytes)
 * Prints one JSON object.
 */
import { mkdtemp, open, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Rng } from '../src/core/rng.js';
import { DetectionLog, forEachLine, forEachLineBytes, type ImageRecord } from '../src/runner/store.js';
import { checkArgs, intArg } from './args.js';

checkArgs({ values: ['--images', '--shifts', '--detections', '--reps'] });

const images = intArg('--images', 5000);
const shifts = intArg('--shifts', 16);
const detections = intArg('--detections', 100);
const reps = intArg('--reps', 3);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const round = (x: number, digits = 3): number => Number(x.toFixed(digits));

/** One image's record as the detect loop writes it (seeded). */
function syntheticRecord(imageId: number, rng: Rng): ImageRecord {
  const width = 640;
  const height = 480;
  return {
    imageId,
    sha256: imageId.toString(16).padStart(64, '0'),
    seconds: rng.uniform(0.01, 0.05),
    size: [width, height],
    shifts: Array.from({ length: shifts }, () =>
      Array.from({ length: detections }, () => {
        const w = rng.uniform(4, 200) / 0.8;
        const h = rng.uniform(4, 200) / 0.8;
        return [rng.uniform(-2, width) / 0.8, rng.uniform(-2, height) / 0.8, w, h, rng.next(), rng.int(1, 90)];
      }),
    ) as ImageRecord extends { shifts: infer S } ? S : never,
  };
}

async function writeLog(file: string): Promise<number> {
  const fh = await open(file, 'w');
  const rng = new Rng(14);
  let bytes = 0;
  try {
    let batch: string[] = [];
    for (let id = 1; id <= images; id++) {
      batch.push(JSON.stringify(syntheticRecord(id, rng.fork(id))) + '\n');
      if (batch.length === 50 || id === images) {
        const text = batch.join('');
        bytes += Buffer.byteLength(text);
        await fh.write(text);
        batch = [];
      }
    }
  } finally {
    await fh.close();
  }
  return bytes;
}

async function timed(f: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await f();
  return (performance.now() - t0) / 1000;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'shiftbench-store-bench-'));
  const file = path.join(dir, 'det.jsonl');
  const out: Record<string, unknown> = {
    images,
    shifts,
    detectionsPerInput: detections,
    reps,
    loadAverage: os.loadavg().map((x) => round(x, 2)),
  };
  try {
    const writeSeconds = await timed(async () => void (out.logBytes = await writeLog(file)));
    out.writeSeconds = round(writeSeconds);
    const read = async () => {
      const fh = await open(file, 'r');
      try {
        let lines = 0;
        await forEachLineBytes(fh, file, () => void lines++);
        if (lines !== images) throw new Error(`read ${lines} lines, expected ${images}`);
      } finally {
        await fh.close();
      }
    };
    const fullParse = async () => {
      const fh = await open(file, 'r');
      try {
        let count = 0;
        await forEachLine(fh, file, (text) => {
          const r = JSON.parse(text) as Extract<ImageRecord, { shifts: unknown }>;
          for (const list of r.shifts) count += list.length;
        });
        if (count !== images * shifts * detections) throw new Error(`counted ${count} detections`);
      } finally {
        await fh.close();
      }
    };
    const openLog = async () => {
      const { log, stored, tornBytes } = await DetectionLog.open(file, shifts);
      await log.close();
      let count = 0;
      for (const s of stored.values()) if ('detections' in s) count += s.detections;
      if (stored.size !== images || tornBytes !== 0 || count !== images * shifts * detections)
        throw new Error(`open kept ${stored.size} images, ${count} detections, cut ${tornBytes} bytes`);
    };
    await read(); // warm the page cache
    const t = { read: [] as number[], fullParse: [] as number[], open: [] as number[] };
    for (let r = 0; r < reps; r++) {
      t.read.push(await timed(read));
      t.fullParse.push(await timed(fullParse));
      t.open.push(await timed(openLog));
    }
    out.seconds = { read: round(median(t.read)), fullParse: round(median(t.fullParse)), open: round(median(t.open)) };
    out.ratios = {
      openToRead: round(median(t.open) / median(t.read), 2),
      fullParseToRead: round(median(t.fullParse) / median(t.read), 2),
      openToFullParse: round(median(t.open) / median(t.fullParse), 3),
    };
    out.samplesSeconds = {
      read: t.read.map((x) => round(x)),
      fullParse: t.fullParse.map((x) => round(x)),
      open: t.open.map((x) => round(x)),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  out.loadAverageAfter = os.loadavg().map((x) => round(x, 2));
  process.stdout.write(JSON.stringify(out, null, 2) + '\n');
}

await main();
