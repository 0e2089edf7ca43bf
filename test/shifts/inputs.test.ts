import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import type { RgbImage } from '../../src/core/types.js';
import {
  boxToInput,
  fitGeometry,
  makeShiftedInputs,
  parseShiftSet,
  projectBack,
  translateRgb,
  type ShiftedInputOptions,
} from '../../src/shifts/index.js';
import { RESAMPLE_KERNELS, resampleRgb, resampleRgbFloat } from '../../src/shifts/inputs.js';

function noiseImage(width: number, height: number, seed = 1): RgbImage {
  const rng = new Rng(seed);
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i++) data[i] = rng.int(0, 255);
  return { data, width, height };
}

function px(img: RgbImage, x: number, y: number): number[] {
  const i = (y * img.width + x) * 3;
  return [img.data[i], img.data[i + 1], img.data[i + 2]];
}

const PAD: [number, number, number] = [114, 100, 90];

function opts({ shifts, ...partial }: Partial<ShiftedInputOptions> & { shifts?: string }): ShiftedInputOptions {
  return {
    inputSizePx: { width: 40, height: 32 },
    fit: 'letterbox',
    padValue: PAD,
    mode: 'pad',
    shiftSet: parseShiftSet(shifts ?? 'grid:3'),
    ...partial,
  };
}

/** A black W×H image with a grey block [x0, x1) × [y0, y1). */
function blockImage(width: number, height: number, [x0, y0, x1, y1]: number[]): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = y0; y < y1; y++) data.fill(200, (y * width + x0) * 3, (y * width + x1) * 3);
  return { data, width, height };
}

/** Intensity centroid (pixel centres at x + 0.5) of channel 0 of interleaved RGB values. */
function centroid(values: ArrayLike<number>, width: number, height: number): [number, number] {
  let sw = 0,
    sx = 0,
    sy = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const v = values[(y * width + x) * 3];
      sw += v;
      sx += v * (x + 0.5);
      sy += v * (y + 0.5);
    }
  }
  return [sx / sw, sy / sw];
}

describe('resampling keeps the content where the fit geometry puts it (pixel centres aligned)', () => {
  // (W, H) → (w, h): enlarge both axes, by an integer and a fractional factor; enlarge one and shrink the other; shrink
  const cases: [number, number, number[], number, number][] = [
    [40, 40, [10, 10, 14, 14], 80, 80],
    [20, 10, [6, 4, 8, 6], 43, 22],
    [500, 333, [300, 200, 340, 240], 639, 426],
    [640, 100, [300, 40, 340, 60], 512, 512],
    [100, 640, [40, 300, 60, 340], 512, 512],
    [640, 480, [300, 200, 340, 240], 320, 240],
  ];
  for (const kernel of RESAMPLE_KERNELS) {
    it(`${kernel}: a block's centroid lands at its box × scale, 8-bit and 16-bit/float paths`, async () => {
      for (const [W, H, box, w, h] of cases) {
        const image = blockImage(W, H, box);
        const want = [((box[0] + box[2]) / 2) * (w / W), ((box[1] + box[3]) / 2) * (h / H)];
        // sampling at a fractional factor moves a block's edges to where the output pixels fall: its centroid may be
        // off by a few hundredths of a pixel (nearest: up to a third); sharp's enlargement was off by 0.5
        const tol = kernel === 'nearest' ? 0.35 : 0.05;
        const fitted = await resampleRgb(image, w, h, kernel);
        const [cx, cy] = centroid(fitted.data, w, h);
        expect([W, H, w, h, Math.abs(cx - want[0]) <= tol, Math.abs(cy - want[1]) <= tol]).toEqual([
          W,
          H,
          w,
          h,
          true,
          true,
        ]);
        const [fx, fy] = centroid(await resampleRgbFloat(image, w, h, kernel), w, h);
        expect([W, H, w, h, Math.abs(fx - want[0]) <= tol, Math.abs(fy - want[1]) <= tol]).toEqual([
          W,
          H,
          w,
          h,
          true,
          true,
        ]);
      }
    });
  }

  it('linear enlargement ×2 is the centre-aligned bilinear one (as cv2.resize and torch interpolate)', async () => {
    const row = { data: Uint8Array.from([0, 0, 0, 255, 255, 255]), width: 2, height: 1 };
    const out = await resampleRgb(row, 4, 1, 'linear');
    // output centres (x + 0.5) / 2 − 0.5 = −0.25, 0.25, 0.75, 1.25 in input pixels (edges replicated)
    expect(Array.from(out.data).filter((_, i) => i % 3 === 0)).toEqual([0, 64, 191, 255]);
  });
});

describe('fitGeometry', () => {
  it('letterbox keeps the aspect, uses exact per-axis scales of the rounded size', () => {
    const g = fitGeometry(640, 480, opts({ inputSizePx: { width: 512, height: 512 }, shifts: 'grid:1' }));
    expect(g.areaSizePx).toEqual({ width: 511, height: 511 });
    expect(g.fittedSizePx).toEqual({ width: 511, height: 383 }); // r = 511/640, 480·r = 383.25
    expect(g.scaleX).toBe(511 / 640);
    expect(g.scaleY).toBe(383 / 480);
    expect(g.transforms[3]).toEqual({ scaleX: 511 / 640, scaleY: 383 / 480, offsetX: 1, offsetY: 1 });
  });
  it('stretch fills the area; crop adds a margin of K and offsets by dx − K', () => {
    const g = fitGeometry(100, 50, opts({ fit: 'stretch', mode: 'crop', shifts: 'grid:2' }));
    expect(g.fittedSizePx).toEqual({ width: 42, height: 34 });
    expect(g.transforms[0]).toEqual({ scaleX: 0.42, scaleY: 0.68, offsetX: -2, offsetY: -2 });
    expect(g.transforms[8]).toEqual({ scaleX: 0.42, scaleY: 0.68, offsetX: 0, offsetY: 0 });
    const c = fitGeometry(100, 50, opts({ fit: 'stretch', mode: 'circular', shifts: 'grid:2' }));
    expect(c.fittedSizePx).toEqual({ width: 40, height: 32 });
  });
  it('rejects offsets as large as the input and bad modes', () => {
    expect(() => fitGeometry(100, 100, opts({ shifts: 'line:40' }))).toThrowError(
      /offsets smaller than the model input 40×32 for --shifts/,
    );
    // crop: an offset as large as the input leaves no content shown at every shift (stable area [40, 40) here), so
    // nothing would be scored and every image would read detConsistency 1 on empty sets
    expect(() => fitGeometry(100, 100, opts({ mode: 'crop', shifts: '0,0;40,0' }))).toThrowError(
      /offsets smaller than the model input 40×32 for --shifts/,
    );
    expect(() => fitGeometry(100, 100, opts({ mode: 'crop', shifts: '0,0;0,32' }))).toThrowError(
      /offsets smaller than the model input 40×32 for --shifts/,
    );
    // the largest offsets that leave a stable area (one column, one row) are allowed
    expect(fitGeometry(100, 100, opts({ mode: 'crop', shifts: '0,0;39,0;0,31' })).areaSizePx).toEqual({
      width: 79,
      height: 71,
    });
    expect(() => fitGeometry(100, 100, opts({ mode: 'wrap' as never }))).toThrowError(
      'Expected one of pad, crop, circular for --mode but received "wrap"',
    );
  });
});

describe('makeShiftedInputs', () => {
  it('without resampling, pad inputs are the original pasted at (dx, dy) on the pad colour', async () => {
    const img = noiseImage(37, 29);
    // stretch into (40 − 3) × (32 − 3) = 37 × 29: the identity, so no resampling at all
    const si = await makeShiftedInputs(img, opts({ fit: 'stretch' }));
    expect(si.fittedSizePx).toEqual({ width: 37, height: 29 });
    const shifts = parseShiftSet('grid:3').shifts;
    for (let i = 0; i < si.count; i++) {
      const { dx, dy } = shifts[i];
      const inp = si.input(i);
      expect(inp.width).toBe(40);
      expect(inp.height).toBe(32);
      for (let y = 0; y < 32; y++) {
        for (let x = 0; x < 40; x++) {
          const inside = x >= dx && x < dx + 37 && y >= dy && y < dy + 29;
          if (inside !== true) expect(px(inp, x, y)).toEqual(PAD);
          else if ((x + y) % 7 === 0) expect(px(inp, x, y)).toEqual(px(img, x - dx, y - dy));
        }
      }
    }
  });

  it('pad inputs equal, byte for byte, the fitted image placed pixel by pixel on the pad (grey, colour, black)', async () => {
    const img = noiseImage(61, 47, 3);
    for (const padValue of [[114, 114, 114], PAD, [0, 0, 0]] as [number, number, number][]) {
      for (const fit of ['letterbox', 'stretch'] as const) {
        const o = opts({ fit, padValue, shifts: 'grid:3' });
        const si = await makeShiftedInputs(img, o);
        const { width: fw, height: fh } = si.fittedSizePx;
        const fitted = await resampleRgb(img, fw, fh, 'linear'); // the one resample (default kernel)
        o.shiftSet.shifts.forEach(({ dx, dy }, i) => {
          const want = new Uint8Array(40 * 32 * 3);
          for (let y = 0; y < 32; y++)
            for (let x = 0; x < 40; x++) {
              const inside = x >= dx && x < dx + fw && y >= dy && y < dy + fh;
              const v = inside ? px(fitted, x - dx, y - dy) : padValue;
              want.set(v, (y * 40 + x) * 3);
            }
          const got = si.input(i);
          expect(got.data.constructor).toBe(Uint8Array); // a plain Uint8Array: slice() copies
          expect(Buffer.compare(got.data, want), `pad ${padValue} ${fit} shift ${i}`).toBe(0);
        });
      }
    }
  });

  it('pad inputs of a resampled image are exact translates of one another', async () => {
    const img = noiseImage(123, 77, 2);
    for (const fit of ['letterbox', 'stretch'] as const) {
      const si = await makeShiftedInputs(img, opts({ fit, shifts: 'grid:3' }));
      const ref = si.input(0);
      const shifts = parseShiftSet('grid:3').shifts;
      for (let i = 1; i < si.count; i++) {
        const back = translateRgb(si.input(i), -shifts[i].dx, -shifts[i].dy, 'pad', PAD);
        expect(Buffer.compare(back.data, ref.data), `${fit} shift ${i}`).toBe(0);
      }
    }
  });

  it('crop inputs are windows of one fitted canvas: content moves by +(dx, dy)', async () => {
    const img = noiseImage(90, 70, 3);
    const si = await makeShiftedInputs(img, opts({ mode: 'crop', fit: 'stretch', shifts: '0,0;1,0;0,1;3,2' }));
    const ref = si.input(0);
    const shifts = parseShiftSet('0,0;1,0;0,1;3,2').shifts;
    for (let i = 1; i < si.count; i++) {
      const { dx, dy } = shifts[i];
      const inp = si.input(i);
      let compared = 0;
      for (let y = 0; y + dy < 32; y++) {
        for (let x = 0; x + dx < 40; x++) {
          expect(px(inp, x + dx, y + dy)).toEqual(px(ref, x, y));
          compared++;
        }
      }
      expect(compared).toBe((40 - dx) * (32 - dy));
      // what enters at the top-left is new content, not pad (stretch fills the whole area)
      expect(px(inp, 0, 0)).not.toEqual(PAD);
    }
  });

  it('circular inputs are wrap-around rolls of the unshifted input', async () => {
    const img = noiseImage(64, 48, 4);
    for (const fit of ['letterbox', 'stretch'] as const) {
      const si = await makeShiftedInputs(img, opts({ mode: 'circular', fit, shifts: 'line:5' }));
      const ref = si.input(0);
      const shifts = parseShiftSet('line:5').shifts;
      for (let i = 1; i < si.count; i++) {
        const rolled = translateRgb(ref, shifts[i].dx, shifts[i].dy, 'circular');
        expect(Buffer.compare(si.input(i).data, rolled.data)).toBe(0);
      }
    }
  });

  it('letterbox places the fitted image at the top-left of its area', async () => {
    const img = noiseImage(100, 20, 5);
    const si = await makeShiftedInputs(img, opts({ shifts: 'grid:1', inputSizePx: { width: 41, height: 41 } }));
    expect(si.fittedSizePx).toEqual({ width: 40, height: 8 });
    const inp = si.input(0);
    expect(px(inp, 0, 8)).toEqual(PAD);
    expect(px(inp, 40, 0)).toEqual(PAD);
    expect(si.kernel).toBe('linear');
  });
});

describe('projection back to the original image', () => {
  const boxes: [number, number, number, number][] = [
    [0, 0, 10, 10],
    [12.5, 7.25, 33.3, 41.1],
    [600, 400, 39.9, 79.9],
    [123.456, 321.987, 0.5, 0.25],
  ];

  it('boxes round-trip original → input → original up to float eps, for every mode and shift', () => {
    for (const mode of ['pad', 'crop', 'circular'] as const) {
      for (const fit of ['letterbox', 'stretch'] as const) {
        const g = fitGeometry(
          640,
          480,
          opts({ mode, fit, inputSizePx: { width: 320, height: 256 }, shifts: 'grid:3' }),
        );
        for (const t of g.transforms) {
          const dets = boxes.map((b, i) => ({ bbox: boxToInput(b, t), score: 0.9 - i * 0.1, categoryId: i + 1 }));
          const back = projectBack(dets, t, 42);
          back.forEach((r, i) => {
            expect(r.image_id).toBe(42);
            expect(r.category_id).toBe(i + 1);
            expect(r.score).toBe(dets[i].score);
            for (let j = 0; j < 4; j++) expect(Math.abs(r.bbox[j] - boxes[i][j])).toBeLessThan(1e-9);
          });
        }
      }
    }
  });

  it('pad: projected boxes are not clipped', () => {
    const t = { scaleX: 0.5, scaleY: 0.5, offsetX: 1, offsetY: 1 };
    expect(projectBack([{ bbox: [-3, -3, 10, 10], score: 1, categoryId: 1 }], t, 1)[0].bbox).toEqual([-8, -8, 20, 20]);
  });
});
