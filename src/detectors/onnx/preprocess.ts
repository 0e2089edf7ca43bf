/**
 * Turns RGB8 inputs (HWC, exactly the model input size) into the model's input tensor
 * data: colour order, layout and per-channel normalisation from the registry entry.
 */
import type { ModelEntry, RgbImage } from '../../core/types.js';

export interface InputFormat {
  width: number;
  height: number;
  layout: ModelEntry['layout'];
  colorOrder: ModelEntry['colorOrder'];
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
}

/** The input format a registry entry describes (input size, layout, colour order, normalisation). */
export function inputFormatOf(entry: ModelEntry): InputFormat {
  return {
    width: entry.inputSizePx.width,
    height: entry.inputSizePx.height,
    layout: entry.layout,
    colorOrder: entry.colorOrder,
    mean: entry.normalize.mean,
    std: entry.normalize.std,
  };
}

/** Tensor dimensions of a batch of n inputs in the format's layout ([n, 3, H, W] or [n, H, W, 3]). */
export function inputDims<N>(fmt: InputFormat, n: N): (N | number)[] {
  return fmt.layout === 'NCHW' ? [n, 3, fmt.height, fmt.width] : [n, fmt.height, fmt.width, 3];
}

/**
 * Writes `images` into `out` (length ≥ batch · 3 · width · height) as float32:
 * value = (pixel − mean[c]) / std[c] with c in the model's colour order.
 */
export function fillFloatInput(images: readonly RgbImage[], fmt: InputFormat, out: Float32Array): void {
  const plane = fmt.width * fmt.height;
  const src = fmt.colorOrder === 'BGR' ? [2, 1, 0] : [0, 1, 2];
  const scale = fmt.std.map((s) => 1 / s);
  const [s0, s1, s2] = src;
  const [m0, m1, m2] = fmt.mean;
  const [k0, k1, k2] = scale;
  images.forEach((img, b) => {
    const d = img.data;
    const base = b * 3 * plane;
    if (fmt.layout === 'NCHW') {
      for (let i = 0, p = 0; i < plane; i++, p += 3) {
        out[base + i] = (d[p + s0] - m0) * k0;
        out[base + plane + i] = (d[p + s1] - m1) * k1;
        out[base + 2 * plane + i] = (d[p + s2] - m2) * k2;
      }
    } else {
      for (let i = 0, p = 0; i < plane; i++, p += 3) {
        out[base + p] = (d[p + s0] - m0) * k0;
        out[base + p + 1] = (d[p + s1] - m1) * k1;
        out[base + p + 2] = (d[p + s2] - m2) * k2;
      }
    }
  });
}

/**
 * Writes `images` as raw uint8 in the model's colour order and layout (models with a uint8 input; no normalisation).
 */
export function fillUint8Input(images: readonly RgbImage[], fmt: InputFormat, out: Uint8Array): void {
  const plane = fmt.width * fmt.height;
  const src = fmt.colorOrder === 'BGR' ? [2, 1, 0] : [0, 1, 2];
  images.forEach((img, b) => {
    const d = img.data;
    const base = b * 3 * plane;
    for (let i = 0, p = 0; i < plane; i++, p += 3) {
      for (let c = 0; c < 3; c++) {
        if (fmt.layout === 'NCHW') out[base + c * plane + i] = d[p + src[c]];
        else out[base + p + c] = d[p + src[c]];
      }
    }
  });
}
