/**
 * Image decoding for the runner. COCO boxes refer to the pixels as stored, so EXIF
 * orientation is NOT applied (sharp does not auto-rotate unless asked): a photo with
 * an EXIF rotation tag is decoded in its stored orientation, as pycocotools-based
 * evaluation and the COCO annotation tools see it.
 */
import sharp from 'sharp';
import type { RgbImage } from '../core/types.js';
import { datasetError } from './files.js';

/**
 * Decodes an image file to 8-bit interleaved RGB (alpha dropped, greyscale and other
 * colour spaces converted to sRGB, 16-bit reduced to 8-bit). If `expectedSize` is
 * given, a different stored size is an error too. Throws ERR_DATASET
 * "Could not decode image <path>: …" so the runner can skip the image and go on.
 */
export async function decodeImage(path: string, expectedSize?: { width: number; height: number }): Promise<RgbImage> {
  let result: { data: Buffer; info: { width: number; height: number; channels: number } };
  try {
    result = await sharp(path).removeAlpha().toColourspace('srgb').raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw datasetError(`Could not decode image ${path}: ${(err as Error).message}`, err);
  }
  const { data, info } = result;
  if (info.channels !== 3) {
    throw datasetError(`Could not decode image ${path}: expected 3 channels after conversion to sRGB but got ${info.channels}`);
  }
  if (expectedSize && (info.width !== expectedSize.width || info.height !== expectedSize.height)) {
    throw datasetError(
      `Could not decode image ${path}: it is ${info.width}×${info.height} but the annotations say ${expectedSize.width}×${expectedSize.height}. Fix the image's width/height in the annotation file.`,
    );
  }
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height };
}

/**
 * Like readImageSize, but an unreadable file gives `{ width: 0, height: 0, error }` instead
 * of throwing: the loaders keep the image, and the run lists it as skipped (as it does
 * for a COCO image that fails to decode) instead of aborting.
 */
export async function readImageSizeOrSkip(path: string): Promise<{ width: number; height: number; error?: string }> {
  try {
    return await readImageSize(path);
  } catch (err) {
    return { width: 0, height: 0, error: (err as Error).message };
  }
}

/** Stored width and height of an image file (header only, no decode). Throws ERR_DATASET. */
export async function readImageSize(path: string): Promise<{ width: number; height: number }> {
  try {
    const meta = await sharp(path).metadata();
    if (!meta.width || !meta.height) throw new Error('no width/height in header');
    return { width: meta.width, height: meta.height };
  } catch (err) {
    throw datasetError(`Could not read the size of image ${path}: ${(err as Error).message}`, err);
  }
}
