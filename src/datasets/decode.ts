/**
 * Image decoding for the runner. COCO boxes refer to the pixels as stored, so EXIF
 * orientation is NOT applied (sharp does not auto-rotate unless asked): a photo with
 * an EXIF rotation tag is decoded in its stored orientation, as pycocotools-based
 * evaluation and the COCO annotation tools see it. Likewise an RGB or greyscale image's
 * embedded colour profile (ICC) is NOT applied: its stored values are what PIL, OpenCV,
 * torchvision and TensorFlow decode, so what detectors were trained and evaluated on
 * (sharp would convert an Adobe RGB or Display P3 photo to sRGB, by up to ~140 levels in
 * some coco128 photos). Only a CMYK image, which has no RGB values of its own, is
 * converted through its profile (or a generic CMYK one).
 */
import { realpath } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { ShiftbenchError } from '../core/errors.js';
import type { DatasetImage, RgbImage } from '../core/types.js';
import { datasetError } from './files.js';

/**
 * Whether sharp must be told to ignore an image's embedded colour profile to read its stored values: every RGB or
 * greyscale image with one (a CMYK image has no RGB values of its own and is converted through it). Decoding for the
 * detector and the report's thumbnails both use it, so both show the same pixels.
 */
export function ignoresIcc(meta: { icc?: unknown; space?: string }): boolean {
  return meta.icc !== undefined && meta.space !== 'cmyk';
}

/**
 * Decodes an image file to 8-bit interleaved RGB (alpha dropped, greyscale replicated,
 * CMYK converted to sRGB, 16-bit reduced to 8-bit by its high byte; an RGB image's
 * embedded colour profile is not applied: its stored values). If `expectedSize` is
 * given, a different stored size is an error too. Throws ERR_DATASET
 * "Could not decode image <path>: …" so the runner can skip the image and go on.
 */
export async function decodeImage(path: string, expectedSize?: { width: number; height: number }): Promise<RgbImage> {
  let result: { data: Buffer; info: { width: number; height: number; channels: number } };
  try {
    result = await sharp(path, { ignoreIcc: ignoresIcc(await sharp(path).metadata()) })
      .removeAlpha()
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw datasetError(`Could not decode image ${path}: ${withFormatHint((err as Error).message)}`, err);
  }
  const { data, info } = result;
  if (info.channels !== 3) {
    throw datasetError(
      `Could not decode image ${path}: expected 3 channels after conversion to sRGB but got ${info.channels}`,
    );
  }
  if (expectedSize && (info.width !== expectedSize.width || info.height !== expectedSize.height)) {
    const orientation = await sharp(path)
      .metadata()
      .then((m) => m.orientation ?? 1)
      .catch(() => 1);
    throw datasetError(sizeMismatchReason(path, info, expectedSize, orientation));
  }
  return {
    data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    width: info.width,
    height: info.height,
  };
}

/**
 * Decodes a dataset image as a run does (decodeImage with the size the dataset states),
 * refusing first a file that resolves outside its image folder. Throws ERR_DATASET; the
 * runner stores the image as skipped with the error's message. Runs in the main thread
 * or in the runner's prepare workers alike.
 */
export async function decodeDatasetImage(image: DatasetImage): Promise<RgbImage> {
  if (image.unusable !== undefined) throw datasetError(image.unusable);
  await checkInsideImageFolder(image);
  return decodeImage(image.path, { width: image.width, height: image.height });
}

/**
 * Refuses an image file that resolves outside its image folder (a symbolic link pointing
 * elsewhere, or `..` in a file name): throws ERR_DATASET, so the run lists it as skipped.
 */
async function checkInsideImageFolder(image: DatasetImage): Promise<void> {
  const rel = path.normalize(image.fileName);
  const outside = () =>
    new ShiftbenchError(
      'ERR_DATASET',
      `Image ${image.path} is a symbolic link (or a path) pointing outside the image folder; it is not followed. ` +
        `Copy the file into the folder instead.`,
    );
  if (rel.startsWith('..') || path.isAbsolute(rel) || !image.path.endsWith(rel)) throw outside();
  const root = image.path.slice(0, image.path.length - rel.length);
  let real: string;
  let realRoot: string;
  try {
    [real, realRoot] = await Promise.all([realpath(image.path), realpath(root)]);
  } catch {
    return; // missing: decoding says so
  }
  if (!real.startsWith(realRoot.endsWith(path.sep) ? realRoot : realRoot + path.sep)) throw outside();
}

/**
 * Like readImageSize, but an unreadable file gives `{ width: 0, height: 0, error }` instead
 * of throwing: the loaders keep the image, and the run lists it as skipped (as it does
 * for a COCO image that fails to decode) instead of aborting.
 */
export async function readImageSizeOrSkip(
  path: string,
): Promise<{ width: number; height: number; orientation?: number; error?: string }> {
  try {
    return await readImageSize(path);
  } catch (err) {
    return { width: 0, height: 0, error: (err as Error).message };
  }
}

/** Stored width and height of an image file and its EXIF orientation (1 when none) — header only. Throws ERR_DATASET. */
export async function readImageSize(path: string): Promise<{ width: number; height: number; orientation: number }> {
  try {
    const meta = await sharp(path).metadata();
    if (!meta.width || !meta.height) throw new Error('no width/height in header');
    return { width: meta.width, height: meta.height, orientation: meta.orientation ?? 1 };
  } catch (err) {
    throw datasetError(`Could not read the size of image ${path}: ${withFormatHint((err as Error).message)}`, err);
  }
}

/** A decoder message, with the fix when the format is one sharp cannot read (BMP, HEIC). */
function withFormatHint(message: string): string {
  return /unsupported image format/i.test(message)
    ? `${message}; shiftbench decodes JPEG, PNG, WebP, TIFF, GIF and AVIF: convert it (e.g. to PNG)`
    : message;
}

/**
 * Why an image whose stored size differs from its annotations' is skipped, with the fix: the EXIF orientation when
 * it turns the stored size into the annotated one (the annotations follow the image as shown), else the size itself.
 */
export function sizeMismatchReason(
  path: string,
  stored: { width: number; height: number },
  annotated: { width: number; height: number },
  orientation: number,
): string {
  const turned = orientation >= 5 && stored.width === annotated.height && stored.height === annotated.width;
  return (
    `Could not decode image ${path}: it is ${stored.width}×${stored.height} but the annotations say ` +
    `${annotated.width}×${annotated.height}. ` +
    (turned
      ? `Its EXIF orientation ${orientation} turns it to that size as viewers show it: the annotations were drawn ` +
        `on the turned image, while shiftbench reads the pixels as stored (as the COCO tools do). ${APPLY_ORIENTATION}`
      : "Fix the image's width/height in the annotation file.")
  );
}

/** The fix for an image whose EXIF orientation disagrees with its annotations. */
const APPLY_ORIENTATION =
  'Apply the orientation to the pixels (e.g. `mogrify -auto-orient FILE`, which also resets the tag), then run again.';

/**
 * Why an image with an EXIF orientation (other than 1) cannot take labels made without sizes (YOLO's, normalised to
 * the image as drawn): viewers and most YOLO tools show it turned or flipped, shiftbench reads the stored pixels.
 */
export function orientationSkipReason(path: string, orientation: number): string {
  return (
    `${path} has EXIF orientation ${orientation}: viewers (and YOLO tools) show it turned or flipped, while ` +
    `shiftbench reads the pixels as stored, so labels drawn on the shown image would not line up. ${APPLY_ORIENTATION}`
  );
}
