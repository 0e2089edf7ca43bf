/**
 * The synthetic dataset: COCO-format train/val splits of rendered shape scenes
 * (see synthRender.ts and datasets/README.md). Deterministic to the byte: each image
 * comes from its own Rng seeded by (seed, split, index), PNGs are written by sharp
 * with fixed options and no metadata, JSON has a fixed key order and no timestamps.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { writeFailed, writeFileAtomic } from '../core/atomicFile.js';
import { invalidParameterError, refuseUnknownFields, ShiftbenchError } from '../core/errors.js';
import { is } from '../core/is.js';
import { SYNTH_OPTION_FLAGS as FLAG } from '../core/messages.js';
import { Rng } from '../core/rng.js';
import type { CocoAnnotation, CocoCategory, CocoImage, Logger } from '../core/types.js';
import { renderSynthScene, SYNTH_CLASSES } from './synthRender.js';

export { SYNTH_CLASSES, SYNTH_MAX_OCCLUSION } from './synthRender.js';

export type SynthSplitName = 'train' | 'val';
export const SYNTH_SPLITS: readonly SynthSplitName[] = ['train', 'val'];

/** Bump when the renderer or file layout changes: stamps of older versions are regenerated. */
export const SYNTH_GENERATOR_VERSION = 1;
const GENERATOR_NAME = 'shiftbench-synth';
const STAMP_FILE = 'synth-stamp.json';

/** Defaults of `generateSynthDataset` (and the CLI). */
export const SYNTH_DEFAULTS = {
  trainImages: 2000,
  valImages: 200,
  seed: 0,
  sizePx: 256,
  splits: ['train', 'val'] as SynthSplitName[],
  /** Not a default: the most images a split may have (`--images`, `--val`). */
  maxImages: 1_000_000,
};

export interface SynthOptions {
  /** Output folder; each split goes to `<outDir>/<split>/{instances.json,images/}`. */
  outDir: string;
  /** Images in the train split (default 2000). */
  trainImages?: number;
  /** Images in the val split (default 200). */
  valImages?: number;
  /** Seed, an integer 0 … 2³²−1 (default 0). */
  seed?: number;
  /** Square image side in pixels, 64 … 2048 (default 256). */
  sizePx?: number;
  /** Which splits to write (default both). */
  splits?: SynthSplitName[];
  logger?: Logger;
  /** Called after each image is written. */
  onProgress?: (progress: { split: SynthSplitName; done: number; total: number }) => void;
}

/** Every field of ensureSynthDataset's options (SynthOptions but outDir), and of SynthOptions; the compiler checks them. */
const ENSURE_OPTION_FIELDS: Record<keyof Omit<SynthOptions, 'outDir'>, true> = {
  trainImages: true,
  valImages: true,
  seed: true,
  sizePx: true,
  splits: true,
  logger: true,
  onProgress: true,
};
const SYNTH_OPTION_FIELDS: Record<keyof SynthOptions, true> = { outDir: true, ...ENSURE_OPTION_FIELDS };

export interface SynthSplitResult {
  name: SynthSplitName;
  /** Absolute path of the split's instances.json. */
  annotationFile: string;
  /** Number of images. */
  images: number;
  annotations: number;
  /** sha256 over instances.json bytes then each image file's bytes in id order (= Dataset.hash). */
  sha256: string;
}

export interface SynthResult {
  dir: string;
  splits: SynthSplitResult[];
}

interface SplitStamp {
  generator: string;
  generatorVersion: number;
  split: SynthSplitName;
  seed: number;
  sizePx: number;
  images: number;
  annotations: number;
  sha256: string;
}

interface ResolvedOptions {
  outDir: string;
  seed: number;
  sizePx: number;
  counts: Record<SynthSplitName, number>;
  splits: SynthSplitName[];
}

function resolveOptions(opts: SynthOptions): ResolvedOptions {
  if (!is.object(opts as unknown))
    throw invalidParameterError('options', 'an object of synthetic dataset options { outDir, … }', opts);
  refuseUnknownFields(opts, SYNTH_OPTION_FIELDS, 'synthetic dataset options');
  if (!is.string(opts.outDir)) throw invalidParameterError(FLAG.outDir, 'a folder path', opts.outDir);
  const seed = opts.seed ?? SYNTH_DEFAULTS.seed;
  if (!is.integer(seed) || !is.inRange(seed, 0, 0xffffffff))
    throw invalidParameterError(FLAG.seed, 'an integer from 0 to 4294967295', seed);
  const sizePx = opts.sizePx ?? SYNTH_DEFAULTS.sizePx;
  if (!is.integer(sizePx) || !is.inRange(sizePx, 64, 2048))
    throw invalidParameterError(FLAG.sizePx, 'an integer from 64 to 2048', sizePx);
  const trainImages = opts.trainImages ?? SYNTH_DEFAULTS.trainImages;
  const valImages = opts.valImages ?? SYNTH_DEFAULTS.valImages;
  for (const [name, n] of [
    [FLAG.trainImages, trainImages],
    [FLAG.valImages, valImages],
  ] as const) {
    if (!is.integer(n) || !is.inRange(n, 1, SYNTH_DEFAULTS.maxImages))
      throw invalidParameterError(name, `an integer from 1 to ${SYNTH_DEFAULTS.maxImages}`, n);
  }
  const splits = opts.splits ?? SYNTH_DEFAULTS.splits;
  if (!Array.isArray(splits) || splits.length === 0 || !splits.every((s) => is.inArray(s, SYNTH_SPLITS))) {
    throw invalidParameterError(FLAG.splits, 'a non-empty list of "train", "val"', splits);
  }
  const unique = SYNTH_SPLITS.filter((s) => splits.includes(s));
  return {
    outDir: path.resolve(opts.outDir),
    seed,
    sizePx,
    counts: { train: trainImages, val: valImages },
    splits: unique,
  };
}

/** 32-bit mix of (seed, split, index) so every image has its own independent stream. */
function imageSeed(seed: number, split: SynthSplitName, index: number): number {
  let h = 0x811c9dc5;
  for (const ch of `${GENERATOR_NAME}/${split}`) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193);
  for (const v of [seed >>> 0, index >>> 0]) {
    h = Math.imul(h ^ v, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return h >>> 0;
}

/** The categories of the synthetic dataset (ids 1..8). */
export function synthCategories(): CocoCategory[] {
  return SYNTH_CLASSES.map((c) => ({ id: c.id, name: c.name, supercategory: 'shape' }));
}

function imageFileName(index: number): string {
  return `${String(index + 1).padStart(6, '0')}.png`;
}

/** Encodes raw RGB as PNG with fixed options: no metadata, fixed compression, no adaptive filtering. */
async function encodePng(data: Uint8Array, sizePx: number): Promise<Buffer> {
  return sharp(data, { raw: { width: sizePx, height: sizePx, channels: 3 } })
    .png({ compressionLevel: 6, adaptiveFiltering: false, palette: false, progressive: false })
    .toBuffer();
}

/** Refuses to wipe a folder that does not look like one of ours. */
async function prepareSplitDir(splitDir: string): Promise<void> {
  if (existsSync(splitDir)) {
    const entries = await readdir(splitDir);
    const foreign = entries.filter((e) => e !== 'images' && e !== 'instances.json' && e !== STAMP_FILE).sort();
    if (foreign.length > 0) {
      throw new ShiftbenchError(
        'ERR_INVALID_OPTION',
        `Output folder ${splitDir} holds files that shiftbench synth did not write (` +
          `${foreign.slice(0, 3).join(', ')}). Choose an empty or new --out folder.`,
      );
    }
    await rm(path.join(splitDir, 'images'), { recursive: true, force: true });
    await rm(path.join(splitDir, STAMP_FILE), { force: true });
    await rm(path.join(splitDir, 'instances.json'), { force: true });
  }
  const images = path.join(splitDir, 'images');
  try {
    await mkdir(images, { recursive: true });
  } catch (err) {
    // a read-only mount (Node's recursive mkdir says ENOENT there), a file where a folder should be: the folder, the fix
    throw writeFailed(images, err);
  }
}

async function generateSplit(
  o: ResolvedOptions,
  split: SynthSplitName,
  opts: Pick<SynthOptions, 'onProgress' | 'logger'>,
): Promise<SynthSplitResult> {
  const splitDir = path.join(o.outDir, split);
  await prepareSplitDir(splitDir);
  const total = o.counts[split];
  const images: CocoImage[] = [];
  const annotations: CocoAnnotation[] = [];
  const pngs: Buffer[] = new Array(total);
  const inFlight = new Set<Promise<void>>();
  const maxInFlight = 4;
  let done = 0;
  for (let index = 0; index < total; index++) {
    const scene = renderSynthScene(new Rng(imageSeed(o.seed, split, index)), o.sizePx);
    const id = index + 1;
    const fileName = imageFileName(index);
    images.push({ id, file_name: fileName, width: o.sizePx, height: o.sizePx });
    for (const obj of scene.objects) {
      const [, , w, h] = obj.bbox;
      annotations.push({
        id: annotations.length + 1,
        image_id: id,
        category_id: obj.categoryId,
        bbox: obj.bbox,
        area: w * h,
        iscrowd: 0,
      });
    }
    const job = encodePng(scene.image.data, o.sizePx)
      .then(async (png) => {
        pngs[index] = png;
        await writeFileAtomic(path.join(splitDir, 'images', fileName), png);
        done++;
        opts.onProgress?.({ split, done, total });
      })
      .finally(() => inFlight.delete(job));
    inFlight.add(job);
    if (inFlight.size >= maxInFlight) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  const gt = {
    info: {
      description: `shiftbench synthetic shapes, ${split} split`,
      generator: GENERATOR_NAME,
      generatorVersion: SYNTH_GENERATOR_VERSION,
      seed: o.seed,
      sizePx: o.sizePx,
      split,
    },
    images,
    annotations,
    categories: synthCategories(),
  };
  const json = Buffer.from(JSON.stringify(gt) + '\n');
  const annotationFile = path.join(splitDir, 'instances.json');
  await writeFileAtomic(annotationFile, json);
  const hash = createHash('sha256').update(json);
  for (const png of pngs) hash.update(png);
  const sha256 = hash.digest('hex');
  const stamp: SplitStamp = {
    generator: GENERATOR_NAME,
    generatorVersion: SYNTH_GENERATOR_VERSION,
    split,
    seed: o.seed,
    sizePx: o.sizePx,
    images: total,
    annotations: annotations.length,
    sha256,
  };
  await writeFileAtomic(path.join(splitDir, STAMP_FILE), JSON.stringify(stamp, null, 2) + '\n');
  return { name: split, annotationFile, images: total, annotations: annotations.length, sha256 };
}

/**
 * Writes the synthetic dataset: `<outDir>/<split>/instances.json` (COCO) and
 * `<outDir>/<split>/images/NNNNNN.png`. Same options → byte-identical files; a split
 * generated alone equals the same split of a full generation. Replaces earlier
 * synth output in those folders. Throws ERR_INVALID_OPTION for bad options or an
 * output folder holding foreign files.
 */
export async function generateSynthDataset(opts: SynthOptions): Promise<SynthResult> {
  const o = resolveOptions(opts);
  const splits: SynthSplitResult[] = [];
  for (const split of o.splits) {
    opts.logger?.info(
      `synth: writing ${o.counts[split]} ${o.sizePx}×${o.sizePx} images (seed ${o.seed}) to ` +
        `${path.join(o.outDir, split)}`,
    );
    splits.push(await generateSplit(o, split, opts));
  }
  return { dir: o.outDir, splits };
}

async function readStamp(splitDir: string): Promise<SplitStamp | null> {
  try {
    const stamp = JSON.parse(await readFile(path.join(splitDir, STAMP_FILE), 'utf8')) as SplitStamp;
    return is.object(stamp) ? stamp : null;
  } catch {
    return null;
  }
}

/**
 * Generates the synthetic dataset in `dir` unless each requested split is already
 * there with the same options (checked by `<split>/synth-stamp.json`, which holds the
 * options and the split's sha256, plus the presence of instances.json). Options as
 * `generateSynthDataset` (outDir is `dir`). Only the missing or stale splits are written.
 */
export async function ensureSynthDataset(dir: string, opts: Omit<SynthOptions, 'outDir'> = {}): Promise<SynthResult> {
  // its outDir is `dir`: an outDir among the options would be overridden, so it is refused with the other unknown fields
  refuseUnknownFields(opts, ENSURE_OPTION_FIELDS, 'synthetic dataset options');
  const o = resolveOptions({ ...opts, outDir: dir });
  const splits: SynthSplitResult[] = [];
  for (const split of o.splits) {
    const splitDir = path.join(o.outDir, split);
    const stamp = await readStamp(splitDir);
    const fresh =
      stamp !== null &&
      stamp.generator === GENERATOR_NAME &&
      stamp.generatorVersion === SYNTH_GENERATOR_VERSION &&
      stamp.seed === o.seed &&
      stamp.sizePx === o.sizePx &&
      stamp.images === o.counts[split] &&
      existsSync(path.join(splitDir, 'instances.json')) &&
      existsSync(path.join(splitDir, 'images', imageFileName(o.counts[split] - 1)));
    if (fresh) {
      opts.logger?.debug?.(`synth: ${splitDir} is up to date`);
      splits.push({
        name: split,
        annotationFile: path.join(splitDir, 'instances.json'),
        images: stamp.images,
        annotations: stamp.annotations,
        sha256: stamp.sha256,
      });
    } else {
      opts.logger?.info(`synth: generating ${o.counts[split]} ${split} images in ${splitDir}`);
      splits.push(await generateSplit(o, split, opts));
    }
  }
  return { dir: o.outDir, splits };
}
