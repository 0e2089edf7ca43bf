import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { RgbImage, ShiftMode } from '../../src/core/types.js';
import {
  Fft,
  FourierShifter,
  fitGeometry,
  isFractionalSet,
  makeShiftedInputs,
  offsetLabel,
  parseShiftSet,
  resampleRgbFloat,
  roundHalfEvenByte,
  shiftFileStem,
  shiftOffsetsLabel,
  shiftTaps,
  stableArea,
  toBytes,
} from '../../src/shifts/index.js';

/** A deterministic, non-smooth test picture. */
function noisy(w: number, h: number): RgbImage {
  const d = new Uint8Array(w * h * 3);
  for (let i = 0; i < d.length; i++) d[i] = (i * 131 + ((i * i) >> 3)) & 255;
  return { data: d, width: w, height: h };
}

/** Sum of a few sinusoids below the Nyquist frequency, one plane: band-limited. */
function bandLimited(w: number, h: number, phase: number): Float64Array {
  const p = new Float64Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      p[y * w + x] =
        128 +
        40 * Math.cos((2 * Math.PI * 3 * x) / w + phase) +
        30 * Math.sin(2 * Math.PI * ((2 * x) / w + (3 * y) / h) + 0.3 * phase) +
        20 * Math.cos((2 * Math.PI * 4 * y) / h - phase);
    }
  }
  return p;
}

function roll(p: Float64Array, w: number, h: number, dx: number, dy: number): Float64Array {
  const out = new Float64Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out[((y + dy) % h) * w + ((x + dx) % w)] = p[y * w + x];
  return out;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function hashInputs(images: RgbImage[]): string {
  const h = createHash('sha256');
  for (const im of images) h.update(im.data);
  return h.digest('hex').slice(0, 16);
}

describe('fractional shift sets', () => {
  it('frac:N is every (i/N, j/N), row-major, (N+1)² shifts, K = 1', () => {
    const s = parseShiftSet('frac:4');
    expect(s.shifts).toHaveLength(25);
    expect(s.shifts.slice(0, 6)).toEqual([
      { dx: 0, dy: 0 },
      { dx: 0.25, dy: 0 },
      { dx: 0.5, dy: 0 },
      { dx: 0.75, dy: 0 },
      { dx: 1, dy: 0 },
      { dx: 0, dy: 0.25 },
    ]);
    expect(s.shifts[24]).toEqual({ dx: 1, dy: 1 });
    expect(s.maxOffsetPx).toBe(1);
    expect(isFractionalSet(s)).toBe(true);
    expect(parseShiftSet('frac:3').shifts[1].dx).toBe(1 / 3);
    expect(isFractionalSet(parseShiftSet('grid:3'))).toBe(false);
    for (const bad of ['frac:0', 'frac:64', 'frac:1.5', 'frac:']) {
      expect(() => parseShiftSet(bad), bad).toThrowError(
        /Expected a shift set like grid:1, line:63, frac:4 or 0,0;1,0/,
      );
    }
  });

  it('explicit lists take decimals; K is the largest offset rounded up; equal values are duplicates', () => {
    const s = parseShiftSet('0,0;0.5,0;1.5,0.25');
    expect(s.shifts).toEqual([
      { dx: 0, dy: 0 },
      { dx: 0.5, dy: 0 },
      { dx: 1.5, dy: 0.25 },
    ]);
    expect(s.maxOffsetPx).toBe(2);
    expect(() => parseShiftSet('0,0;0.5,0;0.50,0')).toThrowError(/appears twice/);
    expect(() => parseShiftSet('0,0;.5,0')).toThrowError(/is not a pair/);
    expect(parseShiftSet('0,0;2.0,1').maxOffsetPx).toBe(2);
    expect(isFractionalSet(parseShiftSet('0,0;2.0,1'))).toBe(false);
  });

  it('labels offsets as fractions and names the files of fractional sets by index', () => {
    expect(offsetLabel(0.25)).toBe('1/4');
    expect(offsetLabel(1 / 3)).toBe('1/3');
    expect(offsetLabel(1.5)).toBe('3/2');
    expect(offsetLabel(2)).toBe('2');
    expect(shiftOffsetsLabel({ dx: 0.75, dy: 0 })).toBe('(3/4, 0)');
    expect(shiftFileStem(parseShiftSet('frac:2'), 3)).toBe('shift_3');
    expect(shiftFileStem(parseShiftSet('grid:2'), 5)).toBe('shift_2_1');
  });
});

describe('FFT and the ideal Fourier shift', () => {
  for (const n of [8, 12, 7, 1]) {
    it(`FFT of length ${n} equals the direct DFT and inverts`, () => {
      const re = Float64Array.from({ length: n }, (_, i) => Math.sin(i * 1.7) + i);
      const im = Float64Array.from({ length: n }, (_, i) => Math.cos(i * 0.3));
      const wantRe = new Float64Array(n),
        wantIm = new Float64Array(n);
      for (let k = 0; k < n; k++) {
        for (let t = 0; t < n; t++) {
          const a = (-2 * Math.PI * k * t) / n;
          wantRe[k] += re[t] * Math.cos(a) - im[t] * Math.sin(a);
          wantIm[k] += re[t] * Math.sin(a) + im[t] * Math.cos(a);
        }
      }
      const r = Float64Array.from(re),
        i = Float64Array.from(im);
      const fft = new Fft(n);
      fft.transform(r, i, false);
      expect(maxAbsDiff(r, wantRe)).toBeLessThan(1e-9);
      expect(maxAbsDiff(i, wantIm)).toBeLessThan(1e-9);
      fft.transform(r, i, true);
      expect(maxAbsDiff(r, re)).toBeLessThan(1e-9);
      expect(maxAbsDiff(i, im)).toBeLessThan(1e-9);
    });
  }

  for (const [w, h] of [
    [16, 12],
    [15, 10],
    [20, 9],
  ]) {
    it(`a half-pixel shift applied twice is a one-pixel roll of a band-limited picture (${w}×${h})`, () => {
      const p = bandLimited(w, h, 0.4);
      const half = new FourierShifter([p], w, h).shifted(0.5, 0)[0];
      const twice = new FourierShifter([half], w, h).shifted(0.5, 0)[0];
      expect(maxAbsDiff(twice, roll(p, w, h, 1, 0))).toBeLessThan(1e-9);
      const diag = new FourierShifter([new FourierShifter([p], w, h).shifted(0.5, 0.5)[0]], w, h).shifted(0.5, 0.5)[0];
      expect(maxAbsDiff(diag, roll(p, w, h, 1, 1))).toBeLessThan(1e-9);
      // to rounding: the 8-bit results differ by at most one grey level
      expect(maxAbsDiff(toBytes(twice), toBytes(roll(p, w, h, 1, 0)))).toBeLessThanOrEqual(1);
      // a whole-pixel Fourier shift is the roll
      expect(maxAbsDiff(new FourierShifter([p], w, h).shifted(2, 3)[0], roll(p, w, h, 2, 3))).toBeLessThan(1e-9);
    });
  }

  it('even sizes: the Nyquist bin is multiplied by the cosine of its phase (a half-pixel move of ±1 columns is 0)', () => {
    const w = 8,
      h = 2;
    const p = Float64Array.from({ length: w * h }, (_, i) => (i % 2 === 0 ? 1 : -1));
    const out = new FourierShifter([p], w, h).shifted(0.5, 0)[0];
    expect(maxAbsDiff(out, new Float64Array(w * h))).toBeLessThan(1e-12);
    const quarter = new FourierShifter([p], w, h).shifted(0.25, 0)[0];
    expect(
      maxAbsDiff(
        quarter,
        p.map((v) => v * Math.cos(Math.PI / 4)),
      ),
    ).toBeLessThan(1e-12);
  });
});

describe('the floating-point path', () => {
  it('rounds half to even and clamps once', () => {
    expect([0.5, 1.5, 2.5, 2.4999, 2.5001, -3, 255.7, 254.5].map(roundHalfEvenByte)).toEqual([
      0, 2, 2, 2, 3, 0, 255, 254,
    ]);
  });

  it('kernel taps: a whole-pixel move is one tap of weight 1; fractional Lanczos-3 taps sum to 1', () => {
    expect(shiftTaps('lanczos3', 2)).toEqual({ first: 2, weights: Float64Array.of(1) });
    const t = shiftTaps('lanczos3', 0.25);
    expect(t.weights).toHaveLength(6);
    expect(t.first).toBe(-2);
    expect(t.weights.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(shiftTaps('linear', 0.25).weights).toEqual(Float64Array.of(0.75, 0.25));
  });

  it('an integer-only set gives bit-identical inputs to the 8-bit path (hashes from the code before fractional shifts)', async () => {
    // computed with the shifted-input maker of main at dd9a305 (before fractional shifts)
    const golden: Record<string, string> = {
      'pad grid:2 letterbox': '6e7d0047495686e0',
      'pad grid:2 stretch': '562f9b5f46d6b1a1',
      'pad 0,0;3,1 letterbox': 'adfb03099ed214c9',
      'pad 0,0;3,1 stretch': '862759ca7c4d6a6c',
      'crop grid:2 letterbox': '7fbb0259dd21c3cb',
      'crop grid:2 stretch': 'fa9b7eebdb5923ce',
      'crop 0,0;3,1 letterbox': '86b099796ca01e44',
      'crop 0,0;3,1 stretch': 'd5712d1f6c9c73aa',
      'circular grid:2 letterbox': '8ad92bcd1323298e',
      'circular grid:2 stretch': '4b3ac429ee11694e',
      'circular 0,0;3,1 letterbox': '143aa3bbd02bf9b3',
      'circular 0,0;3,1 stretch': 'd86cb979eb1ae886',
    };
    for (const mode of ['pad', 'crop', 'circular'] as const) {
      for (const spec of ['grid:2', '0,0;3,1']) {
        for (const fit of ['letterbox', 'stretch'] as const) {
          const inputs = await makeShiftedInputs(noisy(37, 23), {
            inputSizePx: { width: 20, height: 16 },
            fit,
            padValue: [114, 114, 114],
            mode,
            shiftSet: parseShiftSet(spec),
            subpixelKernel: 'linear', // ignored by integer-only sets
          });
          expect(hashInputs(inputs.inputs()), `${mode} ${spec} ${fit}`).toBe(golden[`${mode} ${spec} ${fit}`]);
        }
      }
    }
  });

  it('a set holding a fraction puts its integer offsets on the floating-point path too (one base picture)', async () => {
    const image = noisy(37, 23);
    const base = {
      inputSizePx: { width: 20, height: 16 },
      fit: 'stretch' as const,
      padValue: [114, 114, 114] as [number, number, number],
    };
    const float = await resampleRgbFloat(image, 20, 16, 'linear');
    expect(float.some((v) => !Number.isInteger(v))).toBe(true);
    const frac = await makeShiftedInputs(image, { ...base, mode: 'circular', shiftSet: parseShiftSet('frac:2') });
    // (0,0) is the float fit rounded half to even once, (1,0) its exact roll
    expect(Array.from(frac.input(0).data)).toEqual(Array.from(toBytes(float)));
    const rolled = frac.input(2).data;
    const ref = frac.input(0).data;
    for (let y = 0; y < 16; y++) {
      for (let x = 0; x < 20; x++) {
        for (let c = 0; c < 3; c++) expect(rolled[(y * 20 + ((x + 1) % 20)) * 3 + c]).toBe(ref[(y * 20 + x) * 3 + c]);
      }
    }
    // pad: the (1,0) input is the (0,0) input moved one pixel, from the same float picture
    const pad = await makeShiftedInputs(image, { ...base, mode: 'pad', shiftSet: parseShiftSet('frac:2') });
    const p0 = pad.input(0).data,
      p1 = pad.input(2).data;
    for (let y = 0; y < 16; y++)
      for (let x = 1; x < 20; x++) expect(p1[(y * 20 + x) * 3]).toBe(p0[(y * 20 + x - 1) * 3]);
    // it need not equal the 8-bit path's (0,0) input: the picture is rounded once, after the fit
    const int = await makeShiftedInputs(image, { ...base, mode: 'pad', shiftSet: parseShiftSet('grid:1') });
    expect(int.input(0).data.length).toBe(p0.length);
  });

  for (const mode of ['pad', 'crop', 'circular'] as ShiftMode[]) {
    it(`${mode}: content and ground truth move by the exact fraction`, async () => {
      // a smooth blob on a flat ground, fitted without scaling (stretch to the same size)
      const w = 48,
        h = 40;
      const d = new Uint8Array(w * h * 3);
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const v = 30 + 200 * Math.exp(-((x - 20.3) ** 2 + (y - 17.6) ** 2) / (2 * 3.5 ** 2));
          d.fill(Math.round(v), (y * w + x) * 3, (y * w + x) * 3 + 3);
        }
      }
      const shiftSet = parseShiftSet('0,0;0.25,0;0.5,0.75;1,0.5');
      // K = 1: pad fits into (Wm − 1) × (Hm − 1) = w × h, crop into (Wm + 1) × (Hm + 1) = w × h, circular into w × h
      const sizePx =
        mode === 'pad'
          ? { width: w + 1, height: h + 1 }
          : mode === 'crop'
            ? { width: w - 1, height: h - 1 }
            : { width: w, height: h };
      const opts = {
        inputSizePx: sizePx,
        fit: 'stretch' as const,
        padValue: [30, 30, 30] as [number, number, number],
        mode,
        shiftSet,
      };
      const inputs = await makeShiftedInputs({ data: d, width: w, height: h }, opts);
      expect(inputs.fittedSizePx).toEqual({ width: w, height: h });
      const transforms = fitGeometry(w, h, opts).transforms;
      // the expected input: the blob drawn analytically where the transform puts it (x·1 + offset)
      const drawn = (ox: number, oy: number): Float64Array => {
        const out = new Float64Array(sizePx.width * sizePx.height);
        for (let y = 0; y < sizePx.height; y++) {
          for (let x = 0; x < sizePx.width; x++) {
            out[y * sizePx.width + x] =
              30 + 200 * Math.exp(-((x - 20.3 - ox) ** 2 + (y - 17.6 - oy) ** 2) / (2 * 3.5 ** 2));
          }
        }
        return out;
      };
      const red = (im: RgbImage) => im.data.filter((_, j) => j % 3 === 0);
      for (let i = 0; i < shiftSet.shifts.length; i++) {
        const { dx, dy } = shiftSet.shifts[i];
        const t = transforms[i];
        // ground truth moves by the exact offset
        expect(t.offsetX - transforms[0].offsetX).toBe(dx);
        expect(t.offsetY - transforms[0].offsetY).toBe(dy);
        const got = red(inputs.input(i));
        expect(maxAbsDiff(got, drawn(t.offsetX, t.offsetY)), `shift ${i}`).toBeLessThanOrEqual(2);
        // a quarter pixel off would be seen
        if (i > 0) expect(maxAbsDiff(got, drawn(t.offsetX - 0.25, t.offsetY)), `shift ${i} − 1/4`).toBeGreaterThan(4);
      }
    });
  }

  it('the stable area works with fractional offsets (K rounded up)', () => {
    const set = parseShiftSet('frac:4');
    expect(stableArea('crop', set, { width: 64, height: 48 })).toMatchObject({ x0: 1, y0: 1, x1: 64, y1: 48 });
    expect(stableArea('circular', set, { width: 64, height: 48 })).toMatchObject({ x0: 0, y0: 0, x1: 63, y1: 47 });
    const odd = parseShiftSet('0,0;0.5,0;1.5,0.25');
    expect(stableArea('crop', odd, { width: 64, height: 48 })).toMatchObject({ x0: 2, y0: 2, x1: 64.5, y1: 49.75 });
    expect(stableArea('circular', odd, { width: 64, height: 48 })).toMatchObject({ x1: 62.5, y1: 47.75 });
  });

  it('a uniform picture stays uniform under every fractional pad and crop move', async () => {
    const image: RgbImage = { data: new Uint8Array(30 * 20 * 3).fill(77), width: 30, height: 20 };
    for (const mode of ['pad', 'crop'] as const) {
      const inputs = await makeShiftedInputs(image, {
        inputSizePx: { width: 24, height: 16 },
        fit: 'stretch',
        padValue: [77, 77, 77],
        mode,
        shiftSet: parseShiftSet('frac:3'),
      });
      for (const im of inputs.inputs()) expect(im.data.every((v) => v === 77)).toBe(true);
    }
  });
});
