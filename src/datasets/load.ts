/**
 * `loadDataset`: one entry point for every dataset format. It decides what
 * `--dataset` points at, validates it and returns the shared `Dataset` shape
 * (images sorted by id with absolute paths, ground truth or null, sha256).
 */
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { invalidParameterError, refuseUnknownFields } from '../core/errors.js';
import { is } from '../core/is.js';
import type { CocoGroundTruth, Dataset, DatasetImage, Logger } from '../core/types.js';
import { checkImagesPresent, parseCocoFile, resolveCocoImagesDir } from './coco.js';
import { readImageSizeOrSkip } from './decode.js';
import {
  ACCEPTED_DATASETS,
  datasetError,
  folderLinkWarning,
  hashDataset,
  isDirectory,
  isFile,
  listImageFiles,
  MissingDatasetPathError,
} from './files.js';
import { parseYoloFolder } from './yolo.js';

export interface DatasetSpec {
  /** A COCO instances JSON, a folder holding one, a YOLO folder or a folder of images. */
  dataset: string;
  /** Image folder of a COCO file (default: images/ beside the JSON, else beside its folder). */
  images?: string;
  /** Class names file of a YOLO folder (txt one per line, *.names, or YAML with names:). */
  classes?: string;
  /** Keep only the first N images by id (and their annotations). */
  limit?: number;
}

/** Every field of DatasetSpec (the compiler checks the list is complete and has no other). */
const DATASET_SPEC_FIELDS: Record<keyof DatasetSpec, true> = {
  dataset: true,
  images: true,
  classes: true,
  limit: true,
};

const SPLIT_FOLDERS = new Set(['train', 'val', 'valid', 'validation', 'test', 'train2017', 'val2017']);

/** A readable name: "coco128" for coco128/annotations/instances.json, "synth/val" for synth/val/instances.json. */
function datasetName(annotationFile: string): string {
  const folder = path.dirname(annotationFile);
  const parent = path.basename(folder);
  const grand = path.basename(path.dirname(folder));
  if (parent === 'annotations') return grand;
  if (SPLIT_FOLDERS.has(parent)) return `${grand}/${parent}`;
  return parent;
}

function limitGroundTruth(gt: CocoGroundTruth, limit: number | undefined): CocoGroundTruth {
  if (limit === undefined || limit >= gt.images.length) return gt;
  const images = gt.images.slice(0, limit);
  const keep = new Set(images.map((im) => im.id));
  return { images, annotations: gt.annotations.filter((a) => keep.has(a.image_id)), categories: gt.categories };
}

async function findCocoFileInFolder(dir: string): Promise<string | null> {
  for (const candidate of [path.join(dir, 'instances.json'), path.join(dir, 'annotations', 'instances.json')]) {
    if (await isFile(candidate)) return candidate;
  }
  const annotationsDir = path.join(dir, 'annotations');
  if (await isDirectory(annotationsDir)) {
    const jsons = (await readdir(annotationsDir)).filter((f) => /^instances.*\.json$/.test(f));
    if (jsons.length === 1) return path.join(annotationsDir, jsons[0]);
  }
  return null;
}

async function loadCoco(file: string, spec: DatasetSpec, logger?: Logger): Promise<Dataset> {
  const { groundTruth: full, bytes } = await parseCocoFile(file, logger);
  const imagesDir = await resolveCocoImagesDir(file, spec.images);
  const groundTruth = limitGroundTruth(full, spec.limit);
  await checkImagesPresent(file, imagesDir, groundTruth.images);
  const images: DatasetImage[] = groundTruth.images.map((im) => ({
    id: im.id,
    fileName: im.file_name,
    path: path.join(imagesDir, im.file_name),
    width: im.width,
    height: im.height,
  }));
  const hash = await hashDataset(
    bytes,
    images.map((im) => im.path),
  );
  logger?.info(
    `dataset ${file}: ${images.length} images, ${groundTruth.annotations.length} boxes, ` +
      `${groundTruth.categories.length} categories (images in ${imagesDir})`,
  );
  return {
    name: datasetName(file),
    source: file,
    kind: 'coco',
    images,
    categories: groundTruth.categories,
    groundTruth,
    hash,
  };
}

async function loadYolo(dir: string, spec: DatasetSpec, logger?: Logger): Promise<Dataset> {
  const parsed = await parseYoloFolder(dir, { classes: spec.classes, logger });
  const groundTruth = limitGroundTruth(parsed.groundTruth, spec.limit);
  const images: DatasetImage[] = groundTruth.images.map((im, i) => ({
    id: im.id,
    fileName: im.file_name,
    path: parsed.imagePaths[i],
    width: im.width,
    height: im.height,
    ...(parsed.unusable.has(im.id) ? { unusable: parsed.unusable.get(im.id) } : {}),
  }));
  const hash = await hashDataset(
    Buffer.from(JSON.stringify(groundTruth)),
    images.map((im) => im.path),
  );
  logger?.info(
    `dataset ${dir} (YOLO, names from ${parsed.classesFile}): ${images.length} images, ` +
      `${groundTruth.annotations.length} boxes, ${groundTruth.categories.length} categories`,
  );
  return {
    name: path.basename(dir),
    source: dir,
    kind: 'yolo',
    images,
    categories: groundTruth.categories,
    groundTruth,
    hash,
  };
}

async function loadFolder(dir: string, spec: DatasetSpec, logger?: Logger): Promise<Dataset> {
  let files = await listImageFiles(dir, true, (link) => logger?.warn(folderLinkWarning(link)));
  if (files.length === 0) {
    throw datasetError(
      `Found no images (.jpg, .png, .webp, …) in ${dir}. Accepted for --dataset: ${ACCEPTED_DATASETS}.`,
    );
  }
  if (spec.limit !== undefined) files = files.slice(0, spec.limit);
  const images: DatasetImage[] = [];
  for (let i = 0; i < files.length; i += 16) {
    const slice = files.slice(i, i + 16);
    const sizes = await Promise.all(slice.map((f) => readImageSizeOrSkip(path.join(dir, f))));
    for (const size of sizes) if (size.error) logger?.warn(`${size.error}; the run will list it as skipped`);
    slice.forEach((f, k) =>
      images.push({
        id: i + k + 1,
        fileName: f,
        path: path.join(dir, f),
        width: sizes[k].width,
        height: sizes[k].height,
      }),
    );
  }
  const listing = images.map((im) => ({ id: im.id, file_name: im.fileName, width: im.width, height: im.height }));
  const hash = await hashDataset(
    Buffer.from(JSON.stringify(listing)),
    images.map((im) => im.path),
  );
  logger?.info(`dataset ${dir}: ${images.length} images without labels (consistency metrics only)`);
  // a folder given with its photos in images/ is named after itself, not "images"
  const name = path.basename(dir) === 'images' ? path.basename(path.dirname(dir)) : path.basename(dir);
  return { name, source: dir, kind: 'folder', images, categories: [], groundTruth: null, hash };
}

/** --classes names a YOLO folder's classes: a COCO file names its own categories, so it would be ignored. */
function refuseClassesForCoco(file: string, spec: DatasetSpec): void {
  if (spec.classes !== undefined)
    throw datasetError(
      `--classes was given but ${file} is a COCO file, whose categories name the classes; --classes is for a YOLO ` +
        'folder (images/ and labels/ inside): leave it out.',
    );
}

/** The command that writes a missing synthetic split (`…/synth/val`, or its instances.json), else ''. */
function synthSplitFix(target: string): string {
  const split = path.basename(target) === 'instances.json' ? path.dirname(target) : target;
  const name = path.basename(split);
  if ((name !== 'val' && name !== 'train') || path.basename(path.dirname(split)) !== 'synth') return '';
  return (
    ` Fix: \`shiftbench datasets synth --out ${path.dirname(split)} --splits ${name}\` writes the synthetic ${name} split there ` +
    '(`shiftbench demo` writes both splits into datasets/synth).'
  );
}

/**
 * Loads and validates a dataset. `spec.dataset` may be:
 * - a COCO instances JSON (images in `spec.images`, else `images/` beside the JSON, else beside its folder);
 * - a folder holding `instances.json` or `annotations/instances.json` (COCO);
 * - a YOLO folder with `images/` and `labels/` (class names: `spec.classes` or a names file inside);
 * - a folder of images without labels (or with only `images/`): label-free, `groundTruth` null.
 * `spec.limit` keeps the first N images by id. Image files must exist; they are decoded
 * later (decodeImage), so an undecodable file is the runner's skipped image, not a load error.
 * Throws ERR_DATASET naming the file and the fix; ERR_INVALID_OPTION for a bad limit.
 */
export async function loadDataset(spec: DatasetSpec, logger?: Logger): Promise<Dataset> {
  if (!is.object(spec as unknown))
    throw invalidParameterError('options', 'an object of dataset options { dataset, images?, classes?, limit? }', spec);
  refuseUnknownFields(spec, DATASET_SPEC_FIELDS, 'dataset options');
  if (!is.string(spec.dataset)) throw invalidParameterError('--dataset', `a path (${ACCEPTED_DATASETS})`, spec.dataset);
  if (spec.limit !== undefined && (!is.integer(spec.limit) || spec.limit < 1))
    throw invalidParameterError('--limit', 'an integer ≥ 1', spec.limit);
  const target = path.resolve(spec.dataset);
  if (!existsSync(target)) {
    throw new MissingDatasetPathError(
      `Dataset path ${target} does not exist. Accepted for --dataset: ${ACCEPTED_DATASETS}.${synthSplitFix(target)}`,
    );
  }
  if (await isFile(target)) {
    if (!target.toLowerCase().endsWith('.json')) {
      throw datasetError(`Dataset file ${target} is not a .json file. Accepted for --dataset: ${ACCEPTED_DATASETS}.`);
    }
    refuseClassesForCoco(target, spec);
    return loadCoco(target, spec, logger);
  }
  const cocoFile = await findCocoFileInFolder(target);
  if (cocoFile !== null) {
    refuseClassesForCoco(cocoFile, spec);
    return loadCoco(cocoFile, spec, logger);
  }
  const hasImages = await isDirectory(path.join(target, 'images'));
  if (hasImages && (await isDirectory(path.join(target, 'labels')))) return loadYolo(target, spec, logger);
  if (spec.classes !== undefined) {
    throw datasetError(`--classes was given but ${target} is not a YOLO folder (needs images/ and labels/ inside).`);
  }
  await warnUnreadJson(target, logger);
  await warnUnreadYoloFolders(target, logger);
  return loadFolder(hasImages ? path.join(target, 'images') : target, spec, logger);
}

/**
 * A folder read without labels may hold annotations under another name (Roboflow's `_annotations.coco.json`,
 * `annotations/val.json`): says which JSON files were not read, and how to use one.
 */
async function warnUnreadJson(dir: string, logger?: Logger): Promise<void> {
  const found: string[] = [];
  for (const d of [dir, path.join(dir, 'annotations')]) {
    const names = await readdir(d).catch(() => [] as string[]);
    for (const n of names.sort()) if (n.toLowerCase().endsWith('.json')) found.push(path.join(d, n));
  }
  if (found.length === 0) return;
  logger?.warn(
    `${dir} is read without labels, and these JSON files in it were not read as annotations: ` +
      `${found.slice(0, 5).join(', ')}${found.length > 5 ? ', …' : ''}. If one holds the COCO annotations, give it ` +
      `with --dataset (and --images for the image folder).`,
  );
}

/**
 * A folder read without labels may hold YOLO folders (images/ and labels/) below it — an Ultralytics or Roboflow export
 * given at its root, with train/ and valid/ inside: names them, since their labels are not read.
 */
async function warnUnreadYoloFolders(dir: string, logger?: Logger): Promise<void> {
  if (!logger) return;
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  const found: string[] = [];
  for (const e of entries) {
    if (e.name !== 'labels' || !e.isDirectory()) continue;
    const parent = e.parentPath;
    const parts = path.relative(dir, parent).split(path.sep);
    if (!parts.some((part) => part.startsWith('.')) && (await isDirectory(path.join(parent, 'images'))))
      found.push(parent);
  }
  if (found.length === 0) return;
  found.sort();
  logger.warn(
    `${dir} is read without labels, and these YOLO folders (images/ and labels/) in it were not read: ` +
      `${found.slice(0, 5).join(', ')}${found.length > 5 ? ', …' : ''}. Give one with --dataset (with --classes ` +
      `FILE if its class names are outside it) to score its labels.`,
  );
}
