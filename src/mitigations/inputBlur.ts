/**
 * input-blur:σ — a Gaussian low-pass of the detector's input (σ in input pixels).
 * Separable, kernel radius ceil(3σ), weights exp(−x²/2σ²) normalised to sum 1, edges
 * replicated, results rounded to the nearest 8-bit value. σ = 0 is the identity, so
 * the plain detector is the same code with one parameter.
 */
import type { Detector, RgbImage } from '../core/types.js';
import { formatNumber, parseNumberArg } from './args.js';
import type { Mitigation, MitigationDefinition } from './types.js';
import { wrappedInfo } from './wrap.js';

export const INPUT_BLUR_MAX_SIGMA_PX = 32;

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
 * replicated, output rounded and clamped to 0–255. Returns a new image.
 */
export function convolveSeparableRgb(img: RgbImage, kernel: Float64Array): RgbImage {
  const { width: w, height: h, data } = img;
  const r = (kernel.length - 1) / 2;
  if (r === 0) return { width: w, height: h, data: new Uint8Array(data) };
  const tmp = new Float32Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    const row = y * w;
    for (let x = 0; x < w; x++) {
      let a = 0, b = 0, c = 0;
      for (let i = -r; i <= r; i++) {
        const xx = x + i < 0 ? 0 : x + i >= w ? w - 1 : x + i;
        const p = (row + xx) * 3;
        const kv = kernel[i + r];
        a += kv * data[p];
        b += kv * data[p + 1];
        c += kv * data[p + 2];
      }
      const o = (row + x) * 3;
      tmp[o] = a;
      tmp[o + 1] = b;
      tmp[o + 2] = c;
    }
  }
  const out = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let a = 0, b = 0, c = 0;
      for (let i = -r; i <= r; i++) {
        const yy = y + i < 0 ? 0 : y + i >= h ? h - 1 : y + i;
        const p = (yy * w + x) * 3;
        const kv = kernel[i + r];
        a += kv * tmp[p];
        b += kv * tmp[p + 1];
        c += kv * tmp[p + 2];
      }
      const o = (y * w + x) * 3;
      out[o] = a <= 0 ? 0 : a >= 255 ? 255 : Math.round(a);
      out[o + 1] = b <= 0 ? 0 : b >= 255 ? 255 : Math.round(b);
      out[o + 2] = c <= 0 ? 0 : c >= 255 ? 255 : Math.round(c);
    }
  }
  return { width: w, height: h, data: out };
}

/** Gaussian blur of an RGB image with σ in pixels (see the module comment). */
export function gaussianBlurRgb(img: RgbImage, sigmaPx: number): RgbImage {
  return convolveSeparableRgb(img, gaussianKernel1d(sigmaPx));
}

/** The input-blur mitigation with σ in input pixels, 0 ≤ σ ≤ 32. Throws ERR_INVALID_OPTION otherwise. */
export function inputBlur(sigmaPx: number): Mitigation {
  const sigma = parseNumberArg('input-blur', String(sigmaPx), 'σ in input pixels', 0, INPUT_BLUR_MAX_SIGMA_PX);
  const spec = `input-blur:${formatNumber(sigma)}`;
  const kernel = gaussianKernel1d(sigma);
  return {
    name: 'input-blur',
    spec,
    wrap(detector: Detector): Detector {
      const info = wrappedInfo(detector.info, spec, { inputBlurSigmaPx: sigma, inputBlurRadiusPx: (kernel.length - 1) / 2 });
      return {
        info,
        detect: (batch, contexts) => detector.detect(batch.map((img) => convolveSeparableRgb(img, kernel)), contexts),
        dispose: () => detector.dispose(),
      };
    },
  };
}

export const INPUT_BLUR: MitigationDefinition = {
  name: 'input-blur',
  syntax: 'input-blur:<σ px>',
  summary: 'Gaussian low-pass of the input, σ in input pixels (0–32), radius ceil(3σ), edges replicated',
  create: (arg) => inputBlur(parseNumberArg('input-blur', arg, 'σ in input pixels', 0, INPUT_BLUR_MAX_SIGMA_PX)),
};
