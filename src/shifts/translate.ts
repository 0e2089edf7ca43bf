import type { RgbImage } from '../core/types.js';

/**
 * Moves an RGB image's content by (dx, dy) pixels on a canvas of the same size.
 * `pad`: what enters is filled with `padValue` (0–255 RGB), what leaves is lost.
 * `circular`: wrap-around roll, what leaves on one side enters on the other.
 * Integer offsets only (negative allowed). Returns a new image.
 */
export function translateRgb(
  img: RgbImage,
  dx: number,
  dy: number,
  mode: 'pad' | 'circular',
  padValue: [number, number, number] = [0, 0, 0],
): RgbImage {
  const { width: w, height: h, data } = img;
  const out = new Uint8Array(w * h * 3);
  if (mode === 'pad') {
    for (let i = 0; i < w * h; i++) {
      out[i * 3] = padValue[0];
      out[i * 3 + 1] = padValue[1];
      out[i * 3 + 2] = padValue[2];
    }
    const x0 = Math.max(0, dx),
      x1 = Math.min(w, w + dx);
    if (x1 <= x0) return { data: out, width: w, height: h };
    for (let y = Math.max(0, dy); y < Math.min(h, h + dy); y++) {
      const src = ((y - dy) * w + (x0 - dx)) * 3;
      out.set(data.subarray(src, src + (x1 - x0) * 3), (y * w + x0) * 3);
    }
    return { data: out, width: w, height: h };
  }
  const sx = ((dx % w) + w) % w;
  const sy = ((dy % h) + h) % h;
  for (let y = 0; y < h; y++) {
    const ty = (y + sy) % h;
    const row = data.subarray(y * w * 3, (y + 1) * w * 3);
    // the row's left part [0, w - sx) goes to [sx, w), the rest wraps to [0, sx)
    out.set(row.subarray(0, (w - sx) * 3), (ty * w + sx) * 3);
    out.set(row.subarray((w - sx) * 3), ty * w * 3);
  }
  return { data: out, width: w, height: h };
}
