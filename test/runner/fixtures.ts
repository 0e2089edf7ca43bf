/**
 * Test fixtures for the runner: a small hand-made COCO dataset on disk (noise PNGs with
 * random boxes) and local fake detectors with known answers.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { mkdtemp, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { Rng } from '../../src/core/rng.js';
import type {
  CocoAnnotation,
  CocoGroundTruth,
  DetectContext,
  Detection,
  Detector,
  DetectorInfo,
  RgbImage,
  RunMetrics,
} from '../../src/core/types.js';
import type { RunnerEnv } from '../../src/runner/index.js';
import { boxToInput } from '../../src/shifts/index.js';

/**
 * A runner environment whose detectors are the given fakes (by spec; another spec is an error), described by their spec
 * alone, with no registry models; `extra` replaces or adds parts (a mitigation parser).
 */
export function fakeEnv(detectors: Record<string, () => Detector>, extra: Partial<RunnerEnv> = {}): Partial<RunnerEnv> {
  return {
    loadDetector: async (spec) => {
      const make = detectors[spec];
      if (!make) throw new Error(`no fake ${spec}`);
      return make();
    },
    listModels: async () => [],
    describeDetector: async (spec) => ({ kind: 'test fake', spec }),
    ...extra,
  };
}

/** metrics.json without what differs between processes by nature: the run id and the wall-clock timing. */
export function comparable(m: RunMetrics): unknown {
  return { ...m, runId: null, results: m.results.map((r) => ({ ...r, timing: null })) };
}

/** Every file of a run directory but its lock and detections folder, by name → content (what a refused step must leave). */
export async function runDirFiles(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const f of (await readdir(dir)).sort()) {
    if (f === 'run.lock' || f === 'detections') continue;
    out[f] = await readFile(path.join(dir, f), 'utf8');
  }
  return out;
}

export async function tempDir(prefix = 'shiftbench-runner-'): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), prefix));
}

/**
 * Writes `<dir>/instances.json` + `<dir>/images/NNN.png`: `count` images of varying size
 * with 1–4 boxes each in 2 categories. `corrupt` lists image ids whose file is garbage.
 */
export async function makeDataset(
  dir: string,
  count: number,
  opts: { corrupt?: number[]; seed?: number } = {},
): Promise<{ file: string; gt: CocoGroundTruth }> {
  const rng = new Rng(opts.seed ?? 1);
  await mkdir(path.join(dir, 'images'), { recursive: true });
  const gt: CocoGroundTruth = {
    images: [],
    annotations: [],
    categories: [
      { id: 1, name: 'disc' },
      { id: 2, name: 'square' },
    ],
  };
  let annId = 1;
  for (let id = 1; id <= count; id++) {
    const width = rng.int(60, 90);
    const height = rng.int(40, 70);
    const fileName = `${String(id).padStart(3, '0')}.png`;
    gt.images.push({ id, file_name: fileName, width, height });
    const n = rng.int(1, 4);
    for (let k = 0; k < n; k++) {
      const w = rng.uniform(8, width / 2);
      const h = rng.uniform(8, height / 2);
      const x = rng.uniform(0, width - w);
      const y = rng.uniform(0, height - h);
      const a: CocoAnnotation = {
        id: annId++,
        image_id: id,
        category_id: rng.int(1, 2),
        bbox: [x, y, w, h],
        area: w * h,
        iscrowd: 0,
      };
      gt.annotations.push(a);
    }
    const file = path.join(dir, 'images', fileName);
    if (opts.corrupt?.includes(id)) {
      await writeFile(file, 'this is not a png');
    } else {
      const data = Buffer.alloc(width * height * 3);
      for (let i = 0; i < data.length; i++) data[i] = rng.int(0, 255);
      await sharp(data, { raw: { width, height, channels: 3 } })
        .png()
        .toFile(file);
    }
  }
  const jsonFile = path.join(dir, 'instances.json');
  await writeFile(jsonFile, JSON.stringify(gt));
  return { file: jsonFile, gt };
}

export function fakeInfo(name: string, partial: Partial<DetectorInfo> = {}): DetectorInfo {
  return {
    name,
    family: { stages: 'one-stage', anchors: 'anchor-free' },
    inputSizePx: { width: 64, height: 64 },
    classes: [
      { id: 1, name: 'disc' },
      { id: 2, name: 'square' },
    ],
    fit: 'letterbox',
    padValue: [114, 114, 114],
    maxBatch: 4,
    runtime: 'fake',
    files: [],
    ...partial,
  };
}

export interface CountingDetector extends Detector {
  calls: number;
  inputs: number;
  imageIds: number[];
  disposed: boolean;
}

/**
 * A fake detector built from the ground truth: at each input it reports the image's
 * boxes mapped by the input's transform, plus `noisePx(imageId, shiftIndexKey)` of
 * deterministic jitter. With no noise it is exactly shift-equivariant.
 */
export function gtDetector(
  name: string,
  gt: CocoGroundTruth,
  opts: { noisePx?: number; throwOnImage?: number; info?: Partial<DetectorInfo>; delayMs?: number } = {},
): CountingDetector {
  const byImage = new Map<number, CocoAnnotation[]>();
  for (const a of gt.annotations) byImage.set(a.image_id, [...(byImage.get(a.image_id) ?? []), a]);
  const d: CountingDetector = {
    info: fakeInfo(name, opts.info),
    calls: 0,
    inputs: 0,
    imageIds: [],
    disposed: false,
    async detect(batch: RgbImage[], contexts?: DetectContext[]): Promise<Detection[][]> {
      d.calls++;
      d.inputs += batch.length;
      if (opts.delayMs) await new Promise((r) => setTimeout(r, opts.delayMs));
      return batch.map((img, i) => {
        const ctx = contexts![i];
        if (img.width !== d.info.inputSizePx.width || img.height !== d.info.inputSizePx.height)
          throw new Error('wrong input size');
        if (ctx.imageId === opts.throwOnImage) throw new Error(`plug-in failure on image ${ctx.imageId}`);
        if (ctx.shift.dx === 0 && ctx.shift.dy === 0) d.imageIds.push(ctx.imageId);
        const rng = new Rng(ctx.imageId * 1000 + ctx.shift.dx * 31 + ctx.shift.dy);
        return (byImage.get(ctx.imageId) ?? []).map((a) => {
          const b = boxToInput(a.bbox, ctx.transform);
          const n = opts.noisePx ?? 0;
          const jitter = ctx.shift.dx === 0 && ctx.shift.dy === 0 ? 0 : n;
          return {
            bbox: [b[0] + rng.uniform(-jitter, jitter), b[1] + rng.uniform(-jitter, jitter), b[2], b[3]] as [
              number,
              number,
              number,
              number,
            ],
            score: 0.9,
            categoryId: a.category_id,
          };
        });
      });
    },
    async dispose() {
      d.disposed = true;
    },
  };
  return d;
}

/**
 * A logger that, when scoring starts, acts as another machine taking over the lease of `lock`: this process was
 * suspended longer than the stale time, and the other keeps the lease (rewritten whole every 5 ms until `stop`: a beat
 * of ours that read the lock just before may write it back once). `theirs` is what their lease names.
 */
export function leaseTakenAtScoring(lock: string) {
  const theirs = { pid: 7, host: 'other-machine', token: 'theirs' };
  let other: NodeJS.Timeout | undefined;
  const logger = {
    info: (m: string) => {
      if (!m.endsWith(': scoring')) return;
      const at = new Date().toISOString();
      const take = () => {
        writeFileSync(`${lock}.theirs`, JSON.stringify({ ...theirs, startedAt: at, heartbeatAt: at }));
        renameSync(`${lock}.theirs`, lock); // whole, as their lease is written
      };
      take();
      other ??= setInterval(take, 5);
    },
    warn: () => undefined,
  };
  return { theirs, logger, stop: () => clearInterval(other) };
}
