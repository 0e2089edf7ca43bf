/**
 * The anti-aliasing filters of Zhang (2019): binomial rows [1,2,1] (size 3) and
 * [1,4,6,4,1] (size 5); the 2-D filter is their outer product, normalised to sum 1.
 * Size 1 is [1]: no blur, plain subsampling.
 */
import { invalidParameterError } from '../core/errors.js';

export type BlurSize = 1 | 3 | 5;
export const BLUR_SIZES: readonly BlurSize[] = [1, 3, 5];
export const DEFAULT_BLUR_SIZE: BlurSize = 3;

/** The binomial row of a blur size (1, 3 or 5). Throws ERR_INVALID_OPTION otherwise. */
export function binomialRow(size: number): number[] {
  if (size === 1) return [1];
  if (size === 3) return [1, 2, 1];
  if (size === 5) return [1, 4, 6, 4, 1];
  throw invalidParameterError('antialias filter size', '1, 3 or 5', size);
}

/** The normalised 2-D blur filter, row-major `size × size`, summing to 1. */
export function blurFilter2d(size: number): Float32Array {
  const row = binomialRow(size);
  const sum = row.reduce((a, b) => a + b, 0);
  const out = new Float32Array(size * size);
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) out[y * size + x] = (row[y] * row[x]) / (sum * sum);
  return out;
}
