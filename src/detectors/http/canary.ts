/**
 * The canary: one fixed input every served detector answers once, at load and when the
 * run identity is made. A hash of its answer goes into the run identity, so a model
 * replaced behind the same URL is refused on resume instead of mixed into the run.
 */
import { createHash } from 'node:crypto';
import type { Detection, RgbImage } from '../../core/types.js';
import type { RawOutput } from '../decoders/index.js';

/**
 * A deterministic `width`×`height` RGB input: a smooth two-way gradient with a bright
 * square, a dark disc and a striped bar on it (structure a detector responds to).
 */
export function canaryInput(width: number, height: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  const disc = { x: width * 0.68, y: height * 0.62, r: Math.min(width, height) * 0.16 };
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let rgb = [Math.round((255 * x) / width), Math.round((255 * y) / height), 96];
      if (x >= width * 0.15 && x < width * 0.45 && y >= height * 0.15 && y < height * 0.45) rgb = [235, 220, 40];
      if ((x - disc.x) ** 2 + (y - disc.y) ** 2 <= disc.r ** 2) rgb = [30, 40, 200];
      if (y >= height * 0.78 && y < height * 0.88 && x >= width * 0.1 && x < width * 0.5)
        rgb = (x >> 2) % 2 === 0 ? [250, 250, 250] : [10, 10, 10];
      data.set(rgb, 3 * (y * width + x));
    }
  }
  return { width, height, data };
}

/** sha256 of raw output tensors: each output's name, dims and data bytes, in name order. */
export function hashRawOutputs(outputs: readonly RawOutput[]): string {
  const h = createHash('sha256');
  for (const o of [...outputs].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    h.update(o.name).update('\0').update(o.dims.join(',')).update('\0');
    h.update(o.data.constructor.name).update('\0');
    h.update(new Uint8Array(o.data.buffer, o.data.byteOffset, o.data.byteLength)).update('\0');
  }
  return h.digest('hex');
}

/** sha256 of detections (bbox, score, category, in the order given). */
export function hashDetections(detections: readonly Detection[]): string {
  return createHash('sha256')
    .update(JSON.stringify(detections.map((d) => [...d.bbox, d.score, d.categoryId])))
    .digest('hex');
}
