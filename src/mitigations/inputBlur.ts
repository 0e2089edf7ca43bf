/**
 * input-blur:σ — a Gaussian low-pass of the detector's input (σ in input pixels).
 * Separable, kernel radius ceil(3σ), weights exp(−x²/2σ²) normalised to sum 1, edges
 * replicated (in circular mode the boundary is circular, as the input's shifts are rolls,
 * so the blur commutes with them), results rounded to the nearest 8-bit value. σ = 0 is
 * the identity, so the plain detector is the same code with one parameter.
 */
import type { Detector, RgbImage } from '../core/types.js';
import { markReleasesInputs } from '../core/releasesInputs.js';
import { formatNumber, parseNumberArg } from './args.js';
import type { Mitigation, MitigationContext, MitigationDefinition } from './types.js';
import { wrappedInfo } from './wrap.js';

export const INPUT_BLUR_MAX_SIGMA_PX = 32;

/** What a blur reads beyond the image: the edge pixel repeated, or the opposite side (a circular image). */
export type BlurBoundary = 'replicate' | 'circular';

/** Normalised 1-D Gaussian of radius ceil(3σ) (length 2r+1); [1] for σ = 0. */
export function gaussianKernel1d(sigmaPx: number): Float64Array {
  if (sigmaPx <= 0) return Float64Array.of(1);
  const r = Math.ceil(3 * sigmaPx);
  const k = new Float64Array(2 * r + 1);
  let sum = 0;
  for (let i = -r; i <= r; i++) sum += k[i + r] = Math.exp(-(i * i) / (2 * sigmaPx * sigmaPx));
  for (let i = 0; i < k.length; i++) k[i] /= sum;
  return k;
}

/**
 * Convolves an RGB image with a separable symmetric kernel (rows, then columns), edges
 * replicated (default) or wrapped around (`circular`), output rounded and clamped to
 * 0–255. Returns a new image.
 */
export function convolveSeparableRgb(
  img: RgbImage,
  kernel: Float64Array,
  boundary: BlurBoundary = 'replicate',
): RgbImage {
  const { width: w, height: h, data } = img;
  const r = (kernel.length - 1) / 2;
  if (r === 0) return { width: w, height: h, data: new Uint8Array(data) };
  const k = Float32Array.from(kernel);
  const taps = k.length;
  const circular = boundary === 'circular';
  // Rows: each row copied into a buffer padded by r replicated pixels, then a plain dot product.
  const tmp = new Float32Array(w * h * 3);
  const line = new Float32Array((w + 2 * r) * 3);
  for (let y = 0; y < h; y++) {
    const row = y * w * 3;
    for (let x = -r; x < w + r; x++) {
      const sx = circular ? ((x % w) + w) % w : x < 0 ? 0 : x >= w ? w - 1 : x;
      const o = (x + r) * 3,
        p = row + sx * 3;
      line[o] = data[p];
      line[o + 1] = data[p + 1];
      line[o + 2] = data[p + 2];
    }
    for (let x = 0; x < w; x++) {
      let a = 0,
        b = 0,
        c = 0;
      for (let i = 0, o = x * 3; i < taps; i++, o += 3) {
        const kv = k[i];
        a += kv * line[o];
        b += kv * line[o + 1];
        c += kv * line[o + 2];
      }
      const o = row + x * 3;
      tmp[o] = a;
      tmp[o + 1] = b;
      tmp[o + 2] = c;
    }
  }
  // Columns: accumulate whole rows (replicated at the top and bottom edges).
  const out = new Uint8Array(w * h * 3);
  const acc = new Float32Array(w * 3);
  const n = w * 3;
  for (let y = 0; y < h; y++) {
    acc.fill(0);
    for (let i = 0; i < taps; i++) {
      const yy = y + i - r;
      const src = (circular ? ((yy % h) + h) % h : yy < 0 ? 0 : yy >= h ? h - 1 : yy) * n;
      const kv = k[i];
      for (let j = 0; j < n; j++) acc[j] += kv * tmp[src + j];
    }
    const dst = y * n;
    for (let j = 0; j < n; j++) {
      const v = acc[j];
      out[dst + j] = v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
    }
  }
  return { width: w, height: h, data: out };
}

/** Gaussian blur of an RGB image with σ in pixels (see the module comment); edges replicated by default. */
export function gaussianBlurRgb(img: RgbImage, sigmaPx: number, boundary: BlurBoundary = 'replicate'): RgbImage {
  return convolveSeparableRgb(img, gaussianKernel1d(sigmaPx), boundary);
}

/** The input-blur mitigation with σ in input pixels, 0 ≤ σ ≤ 32. Throws ERR_INVALID_OPTION otherwise. */
export function inputBlur(sigmaPx: number): Mitigation {
  const sigma = parseNumberArg('input-blur', String(sigmaPx), 'σ in input pixels', 0, INPUT_BLUR_MAX_SIGMA_PX);
  const spec = `input-blur:${formatNumber(sigma)}`;
  const kernel = gaussianKernel1d(sigma);
  return {
    name: 'input-blur',
    spec,
    wrap(detector: Detector, ctx: MitigationContext): Detector {
      const boundary: BlurBoundary = ctx.mode === 'circular' ? 'circular' : 'replicate';
      const info = wrappedInfo(detector.info, spec, {
        inputBlurSigmaPx: sigma,
        inputBlurRadiusPx: (kernel.length - 1) / 2,
        inputBlurBoundary: boundary,
      });
      // releasesInputs: the inner detector gets blurred copies, made before it is called
      return markReleasesInputs(
        {
          info,
          detect: (batch, contexts) =>
            detector.detect(
              batch.map((img) => convolveSeparableRgb(img, kernel, boundary)),
              contexts,
            ),
          dispose: () => detector.dispose(),
        },
        true,
      );
    },
  };
}

export const INPUT_BLUR: MitigationDefinition = {
  name: 'input-blur',
  syntax: 'input-blur:<σ px>',
  summary:
    'Gaussian low-pass of the input, σ in input pixels (0–32), radius ceil(3σ), edges replicated (circular in ' +
    'circular mode)',
  create: (arg) => inputBlur(parseNumberArg('input-blur', arg, 'σ in input pixels', 0, INPUT_BLUR_MAX_SIGMA_PX)),
};
