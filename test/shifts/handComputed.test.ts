/**
 * Tiny inputs whose every pixel is worked out by hand from protocol §1: the direction of a
 * shift, the crop window, and the floating-point path (linear subpixel kernel, Fourier shift).
 */
import { describe, expect, it } from 'vitest';
import type { RgbImage } from '../../src/core/types.js';
import { makeShiftedInputs, parseShiftSet, stableArea, translateRgb } from '../../src/shifts/index.js';

/** A grey image (R = G = B) from one value per pixel, row-major. */
function grey(width: number, height: number, values: number[]): RgbImage {
  return { data: Uint8Array.from(values.flatMap((v) => [v, v, v])), width, height };
}

/** Channel 0 of each pixel, row-major. */
function red(img: RgbImage): number[] {
  return Array.from(img.data).filter((_, i) => i % 3 === 0);
}

const PAD: [number, number, number] = [10, 10, 10];

/** The inputs at (0, 0) and (½, 0) of an image for a W×2 model input (W 3, letterbox, pad 10 unless told), as channel-0 rows. */
async function halfPixelRows(
  img: RgbImage,
  mode: 'pad' | 'crop' | 'circular',
  extra: { subpixelKernel?: 'linear'; width?: number; fit?: 'stretch' } = {},
) {
  const made = await makeShiftedInputs(img, {
    inputSizePx: { width: extra.width ?? 3, height: 2 },
    fit: extra.fit ?? 'letterbox',
    padValue: PAD,
    mode,
    shiftSet: parseShiftSet('0,0;0.5,0'),
    subpixelKernel: extra.subpixelKernel,
  });
  return { rows: made.inputs().map(red), offsets: made.transforms.map((t) => [t.offsetX, t.offsetY]) };
}

describe('hand-computed shifted inputs (protocol §1)', () => {
  it('translateRgb moves content by +(dx, dy), negative offsets included, and wraps in circular mode', () => {
    const img = grey(3, 2, [1, 2, 3, 4, 5, 6]);
    expect(red(translateRgb(img, 1, 1, 'pad', [9, 9, 9]))).toEqual([9, 9, 9, 9, 1, 2]);
    expect(red(translateRgb(img, -1, 0, 'pad', [9, 9, 9]))).toEqual([2, 3, 9, 5, 6, 9]);
    expect(red(translateRgb(img, 1, 0, 'circular'))).toEqual([3, 1, 2, 6, 4, 5]);
    expect(red(translateRgb(img, -1, 1, 'circular'))).toEqual([5, 6, 4, 2, 3, 1]);
  });

  it('pad, half a pixel, linear kernel: the fitted row [0, 100] lands at x + ½ between pad values', async () => {
    // input 3×2, K = ⌈½⌉ = 1: the 2×1 image fits the 2×1 area unchanged; out(x) = src(x − ½), outside = pad 10
    const { rows } = await halfPixelRows(grey(2, 1, [0, 100]), 'pad', { subpixelKernel: 'linear' });
    expect(rows).toEqual([
      [0, 100, 10, 10, 10, 10],
      [5, 50, 55, 10, 10, 10],
    ]);
  });

  it('crop, half a pixel, linear kernel: the window at K − dx = ½ of the fitted canvas', async () => {
    // canvas 4×3 (Wm + K); letterbox r = min(4/2, 3/1) = 2 → [0, 100] enlarged centre-aligned to
    // [0, 25, 75, 100] on rows 0–1, pad below. s0: window at (1, 1); ½: out(x) = canvas(x + ½), 12.5 → 12, 87.5 → 88
    const { rows, offsets } = await halfPixelRows(grey(2, 1, [0, 100]), 'crop', { subpixelKernel: 'linear' });
    expect(offsets).toEqual([
      [-1, -1],
      [-0.5, -1],
    ]);
    expect(rows).toEqual([
      [25, 75, 100, 10, 10, 10],
      [12, 50, 88, 10, 10, 10],
    ]);
  });

  it('circular, half a pixel: the ideal shift of an odd row and of an even one (Nyquist bin × cos(π/2) = 0)', async () => {
    // odd: [0, 50, 100] (a 2-px row enlarged to 3) moved by ½ is [50, 0, 100] (worked out from its 3-point DFT)
    const odd = await halfPixelRows(grey(2, 1, [0, 100]), 'circular');
    expect(odd.rows).toEqual([
      [0, 50, 100, 0, 50, 100],
      [50, 0, 100, 50, 0, 100],
    ]);
    const even = await halfPixelRows(grey(2, 2, [0, 100, 0, 100]), 'circular', { width: 2, fit: 'stretch' });
    expect(even.rows).toEqual([
      [0, 100, 0, 100],
      [50, 50, 50, 50],
    ]);
  });

  it('the stable area of an explicit set whose axes differ uses each axis’s own offsets and K of both', () => {
    const set = parseShiftSet('0,0;3,1');
    expect(stableArea('crop', set, { width: 10, height: 8 })).toMatchObject({ x0: 3, x1: 10, y0: 3, y1: 10 });
    expect(stableArea('circular', set, { width: 10, height: 8 })).toMatchObject({ x0: 0, x1: 7, y0: 0, y1: 7 });
  });
});
