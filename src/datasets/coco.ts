/**
 * COCO instances JSON → validated ground truth. Validation reports the first few
 * offending entries of each kind, names the file and says how to fix it. Fields other
 * than the ones shiftbench needs (segmentation, licences, …) are dropped from memory.
 */
import { access } from 'node:fs/promises';
import path from 'node:path';
import { normaliseCategoryName } from '../core/categoryNames.js';
import { is } from '../core/is.js';
import type { CocoAnnotation, CocoCategory, CocoGroundTruth, CocoImage, Logger } from '../core/types.js';
import {
  datasetError,
  formatIssues,
  isDirectory,
  MissingDatasetPathError,
  MAX_REPORTED_ISSUES,
  readJsonFile,
} from './files.js';

export interface ParsedCoco {
  groundTruth: CocoGroundTruth;
  /** The annotation file's bytes (for the dataset hash). */
  bytes: Buffer;
}

const show = (v: unknown): string => {
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 60 ? s.slice(0, 57) + '...' : s;
};

/** Collects issues by kind so an error lists a few of each, not just the first. */
class Issues {
  readonly list: string[] = [];
  private readonly perKind = new Map<string, number>();
  add(kind: string, message: string): void {
    const n = (this.perKind.get(kind) ?? 0) + 1;
    this.perKind.set(kind, n);
    if (n <= MAX_REPORTED_ISSUES) this.list.push(message);
    else if (n === MAX_REPORTED_ISSUES + 1) this.list.push(`… more ${kind} issues not listed`);
  }
  get count(): number {
    return [...this.perKind.values()].reduce((a, b) => a + b, 0);
  }
}

/**
 * Parses and validates a COCO instances file: the three arrays, required fields and
 * types, unique ids, finite boxes with width and height ≥ 0, known image and category
 * ids, file names that stay inside the image folder. A missing `area` becomes the box
 * area and a missing `iscrowd` becomes 0 (one warning each). Throws ERR_DATASET.
 */
export async function parseCocoFile(file: string, logger?: Logger): Promise<ParsedCoco> {
  const { value, bytes } = await readJsonFile(file);
  if (!is.object(value)) {
    throw datasetError(
      `${file} is not a COCO instances file: expected a JSON object with "images", "annotations" and "categories" ` +
        `arrays but found ${Array.isArray(value) ? 'an array (a detection results file?)' : typeof value}.`,
    );
  }
  const missing = ['images', 'annotations', 'categories'].filter((k) => !Array.isArray(value[k]));
  if (missing.length > 0) {
    throw datasetError(
      `${file} is not a COCO instances file: ${missing
        .map((k) => `"${k}" is ${value[k] === undefined ? 'missing' : 'not an array'}`)
        .join(', ')}. ` +
        'Fix: give the instances JSON with "images", "annotations" and "categories" arrays (e.g. ' +
        'annotations/instances_val2017.json).',
    );
  }
  const issues = new Issues();

  const categories: CocoCategory[] = [];
  const categoryIds = new Set<number>();
  (value.categories as unknown[]).forEach((c, i) => {
    if (!is.object(c) || !is.int32(c.id) || !is.string(c.name)) {
      issues.add('category', `categories[${i}] ${show(c)}: needs a 32-bit integer "id" and a non-empty string "name"`);
      return;
    }
    if (categoryIds.has(c.id)) issues.add('duplicate category', `categories[${i}]: duplicate category id ${c.id}`);
    categoryIds.add(c.id);
    const cat: CocoCategory = { id: c.id, name: c.name };
    if (typeof c.supercategory === 'string') cat.supercategory = c.supercategory;
    categories.push(cat);
  });

  const images: CocoImage[] = [];
  const imageIds = new Set<number>();
  /** Each file (normalised path) and the first image id naming it: one photo under two ids would count twice. */
  const fileNames = new Map<string, number>();
  (value.images as unknown[]).forEach((im, i) => {
    if (
      !is.object(im) ||
      !is.integer(im.id) ||
      !is.string(im.file_name) ||
      !is.integer(im.width) ||
      !is.integer(im.height) ||
      (im.width as number) <= 0 ||
      (im.height as number) <= 0
    ) {
      issues.add(
        'image',
        `images[${i}] ${show(im)}: needs an integer "id", a string "file_name" and positive integer "width" and ` +
          `"height"`,
      );
      return;
    }
    if (imageIds.has(im.id)) issues.add('duplicate image', `images[${i}]: duplicate image id ${im.id}`);
    imageIds.add(im.id);
    const fileName = im.file_name;
    const normal = path.posix.normalize(fileName.replace(/\\/g, '/'));
    if (path.isAbsolute(fileName) || path.win32.isAbsolute(fileName) || normal === '..' || normal.startsWith('../')) {
      issues.add(
        'file_name',
        `image id ${im.id}: file_name ${show(fileName)} leaves the image folder; file names must be relative paths ` +
          `inside it (use --images to point at the folder)`,
      );
      return;
    }
    const twin = fileNames.get(normal);
    if (twin !== undefined) {
      issues.add(
        'duplicate file_name',
        `images[${i}]: image id ${im.id} has the file_name ${show(fileName)} of image id ${twin}`,
      );
      return;
    }
    fileNames.set(normal, im.id);
    images.push({ id: im.id, file_name: fileName, width: im.width as number, height: im.height as number });
  });

  const annotations: CocoAnnotation[] = [];
  const annotationIds = new Set<number>();
  let filledArea = 0;
  let filledCrowd = 0;
  let ignoreFlagOnly = 0;
  /** Boxes that lie wholly outside their image (a label error: no detection can match them). */
  const outside: string[] = [];
  const sizeOf = new Map(images.map((im) => [im.id, [im.width, im.height] as const]));
  (value.annotations as unknown[]).forEach((a, i) => {
    if (!is.object(a) || !is.integer(a.id) || !is.integer(a.image_id) || !is.integer(a.category_id)) {
      issues.add('annotation', `annotations[${i}] ${show(a)}: needs integer "id", "image_id" and "category_id"`);
      return;
    }
    const where = `annotation id ${a.id} (image ${a.image_id})`;
    if (annotationIds.has(a.id))
      issues.add('duplicate annotation', `annotations[${i}]: duplicate annotation id ${a.id}`);
    annotationIds.add(a.id);
    if (!is.box(a.bbox)) {
      issues.add('bbox', `${where}: bbox ${show(a.bbox)} is not 4 finite numbers [x, y, width, height]`);
      return;
    }
    const [, , w, h] = a.bbox;
    if (w < 0 || h < 0) {
      issues.add(
        'bbox',
        `${where}: bbox ${show(a.bbox)} has a negative width or height; fix it to [x, y, width, height] with width, ` +
          `height ≥ 0 (COCO boxes are x, y, width, height — not x1, y1, x2, y2)`,
      );
      return;
    }
    if (!imageIds.has(a.image_id)) issues.add('image_id', `${where}: image_id ${a.image_id} is not in "images"`);
    if (!categoryIds.has(a.category_id))
      issues.add('category_id', `${where}: category_id ${a.category_id} is not in "categories"`);
    let area = a.area;
    if (area === undefined) {
      area = w * h;
      filledArea++;
    } else if (!is.number(area) || area < 0) {
      issues.add('area', `${where}: area ${show(area)} is not a finite number ≥ 0`);
      return;
    }
    let iscrowd = a.iscrowd;
    if (iscrowd === undefined) {
      iscrowd = 0;
      filledCrowd++;
    } else if (iscrowd !== 0 && iscrowd !== 1 && iscrowd !== true && iscrowd !== false) {
      issues.add('iscrowd', `${where}: iscrowd ${show(iscrowd)} must be 0 or 1`);
      return;
    }
    const ann: CocoAnnotation = {
      id: a.id,
      image_id: a.image_id,
      category_id: a.category_id,
      bbox: [a.bbox[0], a.bbox[1], w, h],
      area: area as number,
      iscrowd: iscrowd === 1 || iscrowd === true ? 1 : 0,
    };
    if ((a.ignore === 1 || a.ignore === true) && !ann.iscrowd) ignoreFlagOnly++;
    const size = sizeOf.get(a.image_id);
    if (size && (a.bbox[0] >= size[0] || a.bbox[1] >= size[1] || a.bbox[0] + w <= 0 || a.bbox[1] + h <= 0))
      outside.push(`annotation id ${a.id} (image ${a.image_id}, ${size[0]}×${size[1]})`);
    annotations.push(ann);
  });

  if (issues.count > 0) {
    throw datasetError(
      `${file} has ${issues.count} invalid ${issues.count === 1 ? 'entry' : 'entries'}:\n` +
        `${issues.list.map((m) => `- ${m}`).join('\n')}`,
    );
  }
  if (filledArea > 0)
    logger?.warn(`${file}: ${filledArea} annotations have no "area"; using the box area width × height`);
  if (filledCrowd > 0) logger?.warn(`${file}: ${filledCrowd} annotations have no "iscrowd"; using 0`);
  if (outside.length > 0) {
    logger?.warn(
      `${file}: ${outside.length === 1 ? '1 annotation lies' : `${outside.length} annotations lie`} wholly ` +
        `outside ${outside.length === 1 ? 'its' : 'their'} ` +
        `image (${outside.slice(0, 5).join('; ')}${outside.length > 5 ? '; …' : ''}); they are scored as they ` +
        'are (as pycocotools does), and no detection can match them — check their boxes and image sizes',
    );
  }
  if (ignoreFlagOnly > 0) {
    logger?.warn(
      `${file}: ${ignoreFlagOnly} annotations have "ignore": 1 but "iscrowd": 0; COCO evaluation (pycocotools) does ` +
        `not read "ignore", ` +
        'so they are scored as ordinary objects — mark ignore regions with "iscrowd": 1',
    );
  }
  images.sort((x, y) => x.id - y.id);
  annotations.sort((x, y) => x.id - y.id);
  categories.sort((x, y) => x.id - y.id);
  const byName = new Map<string, CocoCategory>();
  for (const c of categories) {
    const key = normaliseCategoryName(c.name);
    const first = byName.get(key);
    if (!first) {
      byName.set(key, c);
      continue;
    }
    logger?.warn(
      `${file}: categories ${first.id} and ${c.id} have the same name (${JSON.stringify(first.name)}, ` +
        `${JSON.stringify(c.name)}); a detector's class of that name matches only its own id`,
    );
  }
  return { groundTruth: { images, annotations, categories }, bytes };
}

/**
 * The image folder of a COCO file: `imagesDir` if given, else `images/` beside the
 * JSON, else `images/` beside the JSON's folder. Throws ERR_DATASET listing the tries (ERR_INVALID_OPTION for an
 * `imagesDir` that is no folder).
 */
export async function resolveCocoImagesDir(annotationFile: string, imagesDir?: string): Promise<string> {
  if (imagesDir !== undefined) {
    const dir = path.resolve(imagesDir);
    if (!(await isDirectory(dir)))
      throw new MissingDatasetPathError(`Images folder ${dir} (from --images) does not exist or is not a folder.`);
    return dir;
  }
  const tries = [
    path.join(path.dirname(annotationFile), 'images'),
    path.join(path.dirname(path.dirname(annotationFile)), 'images'),
  ];
  for (const dir of tries) if (await isDirectory(dir)) return dir;
  throw datasetError(
    `Could not find the images of ${annotationFile}: tried ${tries.join(' and ')}. ` +
      `Fix: pass --images <folder holding the files named in "file_name">.`,
  );
}

/** Checks that every image file exists; the error lists the first few missing ones. Throws ERR_DATASET. */
export async function checkImagesPresent(
  annotationFile: string,
  imagesDir: string,
  images: CocoImage[],
): Promise<void> {
  const missing: string[] = [];
  const batch = 64;
  for (let i = 0; i < images.length; i += batch) {
    const slice = images.slice(i, i + batch);
    const found = await Promise.all(
      slice.map((im) =>
        access(path.join(imagesDir, im.file_name)).then(
          () => true,
          () => false,
        ),
      ),
    );
    found.forEach((ok, k) => {
      if (!ok) missing.push(slice[k].file_name);
    });
  }
  if (missing.length > 0) {
    throw datasetError(
      `${missing.length} of ${images.length} images listed in ${annotationFile} are missing from ${imagesDir}:\n` +
        `${formatIssues(missing)}\n` +
        'Fix: pass --images <folder holding them>, or remove those images from the annotation file.',
    );
  }
}
