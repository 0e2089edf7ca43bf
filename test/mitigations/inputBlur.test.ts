import { describe, expect, it } from 'vitest';
import { gaussianBlurRgb, gaussianKernel1d, inputBlur } from '../../src/mitigations/index.js';
import { translateRgb } from '../../src/shifts/translate.js';
import { fakeDetector, randomImage, rectImage } from './fakes.js';

describe('input-blur', () => {
  it('kernel: radius ceil(3σ), normalised, Gaussian weights', () => {
    const k = gaussianKernel1d(1.5);
    expect(k.length).toBe(2 * 5 + 1);
    expect(k.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(k[5 + 1] / k[5]).toBeCloseTo(Math.exp(-1 / (2 * 2.25)), 12);
    expect(Array.from(gaussianKernel1d(0))).toEqual([1]);
  });

  it('σ = 0 is the identity; constants stay constant (replicated edges)', () => {
    const img = rectImage(9, 7, [2, 2, 3, 2], 200, 10);
    expect(Array.from(gaussianBlurRgb(img, 0).data)).toEqual(Array.from(img.data));
    const flat = rectImage(9, 7, [0, 0, 0, 0], 0, 77);
    expect(gaussianBlurRgb(flat, 2).data.every((v) => v === 77)).toBe(true);
  });

  it('matches a hand-computed separable blur of an impulse, edges replicated', () => {
    // 5×1 row image with one bright pixel at x=0 (the edge): replicate makes x=-1 also bright.
    const img = { width: 5, height: 1, data: new Uint8Array(15) };
    img.data.fill(255, 0, 3);
    const sigma = 0.5; // radius 2
    const k = gaussianKernel1d(sigma);
    const out = gaussianBlurRgb(img, sigma);
    // pixel x receives 255·Σ_{i: x+i clamps to 0} k[i+2]
    for (let x = 0; x < 5; x++) {
      let w = 0;
      for (let i = -2; i <= 2; i++) if (Math.max(0, x + i) === 0) w += k[i + 2];
      expect(out.data[x * 3]).toBe(Math.round(255 * w));
    }
  });

  it('wraps a detector: blurred input reaches it, name and details say so', async () => {
    let seen: Uint8Array | undefined;
    const inner = fakeDetector((img) => {
      seen = img.data;
      return [];
    });
    const det = inputBlur(1).wrap(inner, { mode: 'pad' });
    expect(det.info.name).toBe('fake+input-blur:1');
    expect(det.info.details).toMatchObject({
      mitigations: ['input-blur:1'],
      inputBlurSigmaPx: 1,
      inputBlurRadiusPx: 3,
    });
    const img = rectImage(32, 32, [10, 10, 4, 4]);
    await det.detect([img]);
    expect(Array.from(seen!)).toEqual(Array.from(gaussianBlurRgb(img, 1).data));
    expect(Array.from(seen!)).not.toEqual(Array.from(img.data));
  });

  it('in circular mode blurs with a circular boundary, so the blur commutes with every circular shift of the input', async () => {
    const seen: Uint8Array[] = [];
    const det = inputBlur(1.5).wrap(
      fakeDetector((img) => (seen.push(img.data), [])),
      { mode: 'circular' },
    );
    expect(det.info.details).toMatchObject({ inputBlurBoundary: 'circular' });
    const img = randomImage(12, 9, 5);
    await det.detect([img]);
    for (const [dx, dy] of [
      [1, 0],
      [0, 1],
      [3, 2],
      [11, 8],
    ]) {
      await det.detect([translateRgb(img, dx, dy, 'circular')]);
      expect(Array.from(seen.at(-1)!), `(${dx}, ${dy})`).toEqual(
        Array.from(translateRgb({ width: 12, height: 9, data: seen[0] }, dx, dy, 'circular').data),
      );
    }
    // pad and crop keep replicated edges
    expect(
      inputBlur(1.5).wrap(
        fakeDetector(() => []),
        { mode: 'pad' },
      ).info.details,
    ).toMatchObject({
      inputBlurBoundary: 'replicate',
    });
  });
});
