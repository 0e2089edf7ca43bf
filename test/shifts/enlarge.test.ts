import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/index.js';
import { axisTaps, enlargeRgb } from '../../src/shifts/enlarge.js';
import type { ResampleKernel } from '../../src/shifts/inputs.js';
import { roundHalfEvenByte, toBytes } from '../../src/shifts/subpixel.js';

const KERNELS: ResampleKernel[] = ['nearest', 'linear', 'cubic', 'mitchell', 'lanczos2', 'lanczos3'];

/**
 * The separable filter written out per output value: along x every row (taps clamped to the edge), then along y
 * every column, each sum started at 0 and taken in tap order — what enlargeRgb must give bit for bit, however it loops.
 */
function reference(
  src: ArrayLike<number>,
  w: number,
  h: number,
  ow: number,
  oh: number,
  kernel: ResampleKernel,
): Float64Array {
  let cur = Float64Array.from(src);
  if (ow > w) {
    const { taps, first, weights } = axisTaps(kernel, w, ow);
    const next = new Float64Array(ow * h * 3);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < ow; x++)
        for (let c = 0; c < 3; c++) {
          let s = 0;
          for (let t = 0; t < taps; t++) {
            const i = Math.min(w - 1, Math.max(0, first[x] + t));
            s += weights[x * taps + t] * cur[(y * w + i) * 3 + c];
          }
          next[(y * ow + x) * 3 + c] = s;
        }
    cur = next;
  }
  if (oh > h) {
    const { taps, first, weights } = axisTaps(kernel, h, oh);
    const next = new Float64Array(ow * oh * 3);
    for (let y = 0; y < oh; y++)
      for (let k = 0; k < ow * 3; k++) {
        let s = 0;
        for (let t = 0; t < taps; t++) {
          const j = Math.min(h - 1, Math.max(0, first[y] + t));
          s += weights[y * taps + t] * cur[j * ow * 3 + k];
        }
        next[y * ow * 3 + k] = s;
      }
    cur = next;
  }
  return cur;
}

describe('enlargeRgb', () => {
  it('is the separable centre-aligned filter bit for bit, for every kernel, from bytes and from floats', () => {
    const rng = new Rng(7);
    const sizes: [number, number, number, number][] = [
      [5, 4, 9, 7], // both axes
      [7, 3, 16, 3], // x only
      [4, 6, 4, 13], // y only
      [1, 2, 3, 5], // one-pixel-wide source: every tap clamped
      [31, 17, 32, 40],
    ];
    for (const kernel of KERNELS)
      for (const [w, h, ow, oh] of sizes) {
        const bytes = new Uint8Array(w * h * 3);
        for (let i = 0; i < bytes.length; i++) bytes[i] = rng.int(0, 255);
        // the float path passes pictures that overshoot [0, 255] (cubic and Lanczos kernels)
        const floats = Float64Array.from(bytes, (v) => v * 1.37 - 40.25);
        for (const src of [bytes, floats]) {
          const got = enlargeRgb(src, w, h, ow, oh, kernel);
          const want = reference(src, w, h, ow, oh, kernel);
          expect(got.length, `${kernel} ${w}×${h} → ${ow}×${oh}`).toBe(want.length);
          // Object.is tells 0 from −0; every value must be the same float
          let same = 0;
          for (let i = 0; i < want.length; i++) if (Object.is(got[i], want[i])) same++;
          expect(same, `${kernel} ${w}×${h} → ${ow}×${oh} ${src.constructor.name}`).toBe(want.length);
        }
      }
  });

  it('refuses to shrink an axis', () => {
    expect(() => enlargeRgb(new Uint8Array(4 * 4 * 3), 4, 4, 3, 5, 'linear')).toThrow(/shrinks an axis/);
  });
});

describe('toBytes', () => {
  it('is roundHalfEvenByte of every value: ties to even, clamped, NaN and −0 to 0', () => {
    const values = [
      ...Array.from({ length: 257 }, (_, k) => k - 0.5), // every tie from −0.5 to 255.5
      ...Array.from({ length: 300 }, (_, k) => k * 0.87 - 12.3),
      -0,
      0,
      NaN,
      Infinity,
      -Infinity,
      254.49999999999997,
      254.50000000000003,
      0.49999999999999994,
      1e300,
      -1e-300,
    ];
    const want = values.map(roundHalfEvenByte);
    expect(Array.from(toBytes(values))).toEqual(want);
    expect(Array.from(toBytes(Float64Array.from(values)))).toEqual(want);
    expect(toBytes(values)).toBeInstanceOf(Uint8Array);
  });
});
