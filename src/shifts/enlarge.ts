/**
 * Enlargement with pixel centres aligned, written here because sharp's is not: libvips
 * enlarges with the corner convention, which moves the picture by half an OUTPUT pixel
 * right and down (measured with sharp 0.35 / libvips 8.18: +0.50 px for every kernel and
 * factor, on both axes as soon as one axis is enlarged), while the fit geometry (and the
 * resize detectors are trained with: cv2.resize, torch interpolate without align_corners)
 * puts original point p at p · scale. sharp's reduction is centre-aligned (measured 0.000)
 * and stays in use for every axis that shrinks; this module enlarges the rest.
 *
 * Output pixel x of an axis enlarged from n to m pixels samples the source at
 * u = (x + ½) · n / m − ½ with the kernel's taps around u, weights normalised to sum 1,
 * source indices clamped to the edge (replicated). Kernels carry sharp's names:
 * `nearest` (the source pixel holding (x + ½) · n / m), `linear` (triangle), `cubic`
 * (Catmull–Rom), `mitchell` (Mitchell–Netravali, B = C = ⅓), `lanczos2`, `lanczos3`.
 */
import type { ResampleKernel } from './inputs.js';
import { kernelValue } from './subpixel.js';

/** Half-width of the kernel's support in source pixels. */
function radiusOf(kernel: ResampleKernel): number {
  return kernel === 'lanczos3' ? 3 : kernel === 'linear' ? 1 : 2;
}

/** Mitchell–Netravali cubic with parameters (B, C) at distance x. */
function bcCubic(b: number, c: number, x: number): number {
  const ax = Math.abs(x);
  if (ax < 1) return ((12 - 9 * b - 6 * c) * ax ** 3 + (-18 + 12 * b + 6 * c) * ax ** 2 + (6 - 2 * b)) / 6;
  if (ax < 2)
    return ((-b - 6 * c) * ax ** 3 + (6 * b + 30 * c) * ax ** 2 + (-12 * b - 48 * c) * ax + (8 * b + 24 * c)) / 6;
  return 0;
}

function weightAt(kernel: ResampleKernel, x: number): number {
  if (kernel === 'cubic') return bcCubic(0, 0.5, x);
  if (kernel === 'mitchell') return bcCubic(1 / 3, 1 / 3, x);
  return kernelValue(kernel as 'linear' | 'lanczos2' | 'lanczos3', x);
}

/** Per output pixel of an axis enlarged n → m: its taps' first source index and their weights (taps per pixel). */
interface AxisTaps {
  taps: number;
  first: Int32Array;
  weights: Float64Array;
}

export function axisTaps(kernel: ResampleKernel, n: number, m: number): AxisTaps {
  if (kernel === 'nearest') {
    const first = new Int32Array(m);
    for (let x = 0; x < m; x++) first[x] = Math.min(n - 1, Math.floor(((x + 0.5) * n) / m));
    return { taps: 1, first, weights: new Float64Array(m).fill(1) };
  }
  const a = radiusOf(kernel);
  const taps = 2 * a;
  const first = new Int32Array(m);
  const weights = new Float64Array(m * taps);
  for (let x = 0; x < m; x++) {
    const u = ((x + 0.5) * n) / m - 0.5;
    const i0 = Math.floor(u) - a + 1;
    first[x] = i0;
    let sum = 0;
    for (let t = 0; t < taps; t++) sum += weights[x * taps + t] = weightAt(kernel, u - (i0 + t));
    for (let t = 0; t < taps; t++) weights[x * taps + t] /= sum;
  }
  return { taps, first, weights };
}

/**
 * Enlarges interleaved RGB `src` (width × height, values 0–255) to outWidth × outHeight (each at least the source's;
 * an axis of equal size is copied) with centre-aligned taps. Returns floating point, not clamped or rounded
 * (cubic and Lanczos kernels overshoot): the caller rounds once.
 */
export function enlargeRgb(
  src: ArrayLike<number>,
  width: number,
  height: number,
  outWidth: number,
  outHeight: number,
  kernel: ResampleKernel,
): Float64Array {
  if (outWidth < width || outHeight < height)
    throw new RangeError(`enlargeRgb: ${width}×${height} → ${outWidth}×${outHeight} shrinks an axis`);
  const rows = outWidth > width ? enlargeRows(src, width, height, outWidth, axisTaps(kernel, width, outWidth)) : null;
  if (outHeight > height)
    return enlargeColumns(rows ?? src, outWidth, height, outHeight, axisTaps(kernel, height, outHeight));
  return rows ?? (src instanceof Float64Array ? src : Float64Array.from(src));
}

/**
 * Along x, every row: each output value is the sum, started at 0 and taken in tap order, of its taps' weights times
 * the source values, the taps' source offsets clamped to the edge once per output column rather than per value.
 */
function enlargeRows(
  src: ArrayLike<number>,
  width: number,
  height: number,
  outWidth: number,
  { taps, first, weights }: AxisTaps,
): Float64Array {
  const at = new Int32Array(outWidth * taps);
  for (let x = 0; x < outWidth; x++)
    for (let t = 0; t < taps; t++) at[x * taps + t] = Math.min(width - 1, Math.max(0, first[x] + t)) * 3;
  const out = new Float64Array(outWidth * height * 3);
  let o = 0;
  for (let y = 0; y < height; y++) {
    const row = y * width * 3;
    for (let x = 0; x < outWidth; x++) {
      let r = 0,
        g = 0,
        b = 0;
      for (let j = x * taps, end = j + taps; j < end; j++) {
        const w = weights[j];
        const i = row + at[j];
        r += w * src[i];
        g += w * src[i + 1];
        b += w * src[i + 2];
      }
      out[o++] = r;
      out[o++] = g;
      out[o++] = b;
    }
  }
  return out;
}

/**
 * Along y, every column (rows of outWidth pixels): each output row adds its taps' source rows, weighted, in tap order
 * onto zeros — the same sums as enlargeRows, with the inner loop along the row (faster here than tap by tap per value).
 */
function enlargeColumns(
  src: ArrayLike<number>,
  outWidth: number,
  height: number,
  outHeight: number,
  { taps, first, weights }: AxisTaps,
): Float64Array {
  const rowLen = outWidth * 3;
  const out = new Float64Array(rowLen * outHeight);
  for (let y = 0; y < outHeight; y++) {
    const o = y * rowLen;
    for (let t = 0; t < taps; t++) {
      const w = weights[y * taps + t];
      const from = Math.min(height - 1, Math.max(0, first[y] + t)) * rowLen;
      for (let k = 0; k < rowLen; k++) out[o + k] += w * src[from + k];
    }
  }
  return out;
}
