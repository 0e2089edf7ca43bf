/**
 * The shifted-input maker of protocol §1. An image is resampled ONCE (one fixed kernel,
 * pixel centres aligned: axes that shrink by sharp, axes that grow by enlarge.ts) and
 * every shifted input is then built from those same pixels by plain row copies, so the
 * inputs of one image differ only by where the content sits:
 *
 * - `pad`: fit into (Wm − K) × (Hm − K), paste at (dx, dy) on a Wm × Hm canvas of
 *   the pad value. Transform: scale (sx, sy), offset (dx, dy).
 * - `crop`: fit into (Wm + K) × (Hm + K), take the Wm × Hm window at (K − dx, K − dy).
 *   Transform: scale (sx, sy), offset (dx − K, dy − K).
 * - `circular`: fit into Wm × Hm, roll by (dx, dy) with wrap-around.
 *   Transform: scale (sx, sy), offset (dx, dy) (exact for content that does not wrap).
 *
 * Fit: `letterbox` keeps the aspect (r = min(Aw/W, Ah/H)) and places the fitted image
 * at the TOP-LEFT of its area (the rest of the area is pad); `stretch` fills the area.
 * The fitted size is rounded to whole pixels and the per-axis scales are the exact
 * ratios of that rounded size: sx = fittedWidth / W, sy = fittedHeight / H.
 *
 * A set holding fractional offsets takes the floating-point path for ALL its inputs
 * (protocol §1 "Fractional shifts"): the fit is made by the same kernel in 16-bit
 * precision (sharp/libvips round to the sample format; 16 bits keep 1/257 of a grey
 * level) and kept as floating point; each input is then the exact translate of that one
 * picture — `circular`: the ideal Fourier shift (fourier.ts; whole-pixel offsets an exact
 * roll, which is the same operation), `pad`/`crop`: the subpixel kernel (subpixel.ts;
 * `crop` reads the nearest edge pixel for taps past its margin) — clamped and rounded
 * half to even once. Integer-only sets keep the 8-bit path, unchanged.
 */
import sharp from 'sharp';
import { ShiftbenchError, invalidParameterError, refuseUnknownFields } from '../core/errors.js';
import { OPTION_FLAGS } from '../core/messages.js';
import type { FitMode, InputTransform, RgbImage, ShiftMode, ShiftSet } from '../core/types.js';
import { FourierShifter } from './fourier.js';
import { isFractionalSet } from './shiftSet.js';
import { enlargeRgb } from './enlarge.js';
import type { InputBufferPool } from './inputBuffers.js';
import { DEFAULT_SUBPIXEL_KERNEL, SUBPIXEL_KERNELS, toBytes, translateFloat, type SubpixelKernel } from './subpixel.js';

/** Resampling kernels sharp offers; the run manifest records the one used. */
export type ResampleKernel = 'nearest' | 'linear' | 'cubic' | 'mitchell' | 'lanczos2' | 'lanczos3';
export const RESAMPLE_KERNELS: readonly ResampleKernel[] = [
  'nearest',
  'linear',
  'cubic',
  'mitchell',
  'lanczos2',
  'lanczos3',
];
/** Default kernel: (area-aware) linear, the closest match to the bilinear resize most detectors were trained with. */
export const DEFAULT_RESAMPLE_KERNEL: ResampleKernel = 'linear';
export const SHIFT_MODES: readonly ShiftMode[] = ['pad', 'crop', 'circular'];

export interface ShiftedInputOptions {
  /** Model input size Wm × Hm. */
  inputSizePx: { width: number; height: number };
  fit: FitMode;
  /** RGB 0–255 of the canvas outside the image. */
  padValue: [number, number, number];
  mode: ShiftMode;
  shiftSet: ShiftSet;
  /** Default `linear`. */
  kernel?: ResampleKernel;
  /** Kernel of fractional pad/crop translations (default lanczos3); unused by integer-only sets. */
  subpixelKernel?: SubpixelKernel;
}

/** Every field of ShiftedInputOptions (the compiler checks the list is complete and has no other). */
const SHIFTED_INPUT_OPTION_FIELDS: Record<keyof ShiftedInputOptions, true> = {
  inputSizePx: true,
  fit: true,
  padValue: true,
  mode: true,
  shiftSet: true,
  kernel: true,
  subpixelKernel: true,
};

/** Where the fitted image lives, independent of its pixels (used for transforms and resume). */
export interface FitGeometry {
  /** The area the image is fitted into: (Wm − K), (Wm + K) or Wm per axis, by mode. */
  areaSizePx: { width: number; height: number };
  /** The resampled image size (≤ area). */
  fittedSizePx: { width: number; height: number };
  scaleX: number;
  scaleY: number;
  /** One transform per shift, in shift-set order. */
  transforms: InputTransform[];
}

export interface ShiftedInputs {
  geometry: FitGeometry;
  transforms: InputTransform[];
  fittedSizePx: { width: number; height: number };
  kernel: ResampleKernel;
  /** Number of inputs (= shifts). */
  count: number;
  /**
   * Builds the input of shift `index`: a Wm × Hm image of its own each call (from the input buffer pool when one was
   * given: the caller gives it back only once nothing reads it).
   */
  input(index: number): RgbImage;
  /** All inputs, in shift-set order. */
  inputs(): RgbImage[];
}

/** Validates mode/fit/size/offsets; throws ERR_INVALID_OPTION. */
function checkOptions(opts: ShiftedInputOptions): void {
  if (!SHIFT_MODES.includes(opts.mode)) throw invalidParameterError('--mode', 'one of pad, crop, circular', opts.mode);
  if (opts.fit !== 'letterbox' && opts.fit !== 'stretch') {
    throw invalidParameterError('fit', 'letterbox or stretch', opts.fit);
  }
  const { width: wm, height: hm } = opts.inputSizePx;
  if (!Number.isInteger(wm) || !Number.isInteger(hm) || wm < 1 || hm < 1) {
    throw invalidParameterError('inputSizePx', 'positive integer width and height', opts.inputSizePx);
  }
  const k = opts.shiftSet.maxOffsetPx;
  if (opts.mode === 'pad' && (k >= wm || k >= hm)) {
    throw invalidParameterError('--shifts', `offsets smaller than the model input ${wm}×${hm}`, opts.shiftSet.spec);
  }
  if (opts.mode === 'circular' && (k >= wm || k >= hm)) {
    throw invalidParameterError('--shifts', `offsets smaller than the model input ${wm}×${hm}`, opts.shiftSet.spec);
  }
  // crop has a margin of K, so any K fits, but an offset dx ≥ Wm (dy ≥ Hm) leaves no content shown at every shift:
  // the stable area [K − min dx, K − max dx + Wm) would be empty and nothing scored
  if (opts.mode === 'crop' && opts.shiftSet.shifts.some((s) => s.dx >= wm || s.dy >= hm)) {
    throw invalidParameterError('--shifts', `offsets smaller than the model input ${wm}×${hm}`, opts.shiftSet.spec);
  }
  if (opts.kernel !== undefined && !RESAMPLE_KERNELS.includes(opts.kernel)) {
    throw invalidParameterError(OPTION_FLAGS.kernel, `one of ${RESAMPLE_KERNELS.join(', ')}`, opts.kernel);
  }
  if (opts.subpixelKernel !== undefined && !SUBPIXEL_KERNELS.includes(opts.subpixelKernel)) {
    throw invalidParameterError('--subpixel-kernel', `one of ${SUBPIXEL_KERNELS.join(', ')}`, opts.subpixelKernel);
  }
}

/**
 * Computes the fitted size and the per-shift transforms for an original image of
 * `widthPx × heightPx` without touching pixels. Throws ERR_INVALID_OPTION for bad options.
 */
export function fitGeometry(widthPx: number, heightPx: number, opts: ShiftedInputOptions): FitGeometry {
  checkOptions(opts);
  if (!(widthPx >= 1 && heightPx >= 1)) {
    throw invalidParameterError('image size', 'a positive width and height', { widthPx, heightPx });
  }
  const { width: wm, height: hm } = opts.inputSizePx;
  const k = opts.shiftSet.maxOffsetPx;
  const margin = opts.mode === 'pad' ? -k : opts.mode === 'crop' ? k : 0;
  const aw = wm + margin;
  const ah = hm + margin;
  let fw: number;
  let fh: number;
  if (opts.fit === 'stretch') {
    fw = aw;
    fh = ah;
  } else {
    const r = Math.min(aw / widthPx, ah / heightPx);
    fw = Math.min(aw, Math.max(1, Math.round(widthPx * r)));
    fh = Math.min(ah, Math.max(1, Math.round(heightPx * r)));
  }
  const scaleX = fw / widthPx;
  const scaleY = fh / heightPx;
  const base = opts.mode === 'crop' ? -k : 0;
  const transforms = opts.shiftSet.shifts.map((s) => ({ scaleX, scaleY, offsetX: s.dx + base, offsetY: s.dy + base }));
  return { areaSizePx: { width: aw, height: ah }, fittedSizePx: { width: fw, height: fh }, scaleX, scaleY, transforms };
}

/** Fills `buf` (interleaved RGB) with one colour. */
function fillRgb(buf: Uint8Array, rgb: [number, number, number]): void {
  if (rgb[0] === rgb[1] && rgb[1] === rgb[2]) {
    buf.fill(rgb[0]);
    return;
  }
  if (buf.length < 3) return;
  buf[0] = rgb[0];
  buf[1] = rgb[1];
  buf[2] = rgb[2];
  let filled = 3;
  while (filled < buf.length) {
    const n = Math.min(filled, buf.length - filled);
    buf.copyWithin(filled, 0, n);
    filled += n;
  }
}

/** Copies `src` (w × h RGB) onto `dst` (dw × dh RGB) at (x0, y0), clipped to dst. */
function paste(
  dst: Uint8Array,
  dw: number,
  dh: number,
  src: Uint8Array,
  w: number,
  h: number,
  x0: number,
  y0: number,
): void {
  const xa = Math.max(0, x0);
  const xb = Math.min(dw, x0 + w);
  if (xb <= xa) return;
  const rowBytes = (xb - xa) * 3;
  for (let y = Math.max(0, y0); y < Math.min(dh, y0 + h); y++) {
    const s = ((y - y0) * w + (xa - x0)) * 3;
    dst.set(src.subarray(s, s + rowBytes), (y * dw + xa) * 3);
  }
}

/** Throws ERR_INTERNAL where an RgbImage's buffer does not hold width × height × 3 bytes. */
function checkRgbImage(image: RgbImage): void {
  if (image.data.length !== image.width * image.height * 3) {
    throw new ShiftbenchError(
      'ERR_INTERNAL',
      `RgbImage data has ${image.data.length} bytes, expected ${image.width}×${image.height}×3`,
    );
  }
}

/**
 * Resamples an RGB image to exactly `width × height` (identity when the size is unchanged), pixel centres aligned:
 * axes that shrink with sharp, axes that grow with enlargeRgb (sharp's enlargement is half a pixel off, enlarge.ts),
 * rounded half to even once.
 */
export async function resampleRgb(
  image: RgbImage,
  width: number,
  height: number,
  kernel: ResampleKernel,
): Promise<RgbImage> {
  checkRgbImage(image);
  if (width === image.width && height === image.height) return image;
  const w = Math.min(width, image.width);
  const h = Math.min(height, image.height);
  let reduced = image;
  if (w < image.width || h < image.height) {
    const { data, info } = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
      .resize(w, h, { fit: 'fill', kernel })
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.width !== w || info.height !== h || info.channels !== 3) {
      throw new ShiftbenchError(
        'ERR_INTERNAL',
        `resample gave ${info.width}×${info.height}×${info.channels}, expected ${w}×${h}×3`,
      );
    }
    reduced = { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: w, height: h };
  }
  if (w === width && h === height) return reduced;
  return { data: toBytes(enlargeRgb(reduced.data, w, h, width, height, kernel)), width, height };
}

/**
 * Makes the shifted inputs of one image (protocol §1): resamples once with `kernel`
 * (default `linear`), then builds each shift's Wm × Hm input lazily from the same
 * pixels (8-bit path: into buffers of `pool` when given). Throws ERR_INVALID_OPTION when the options are bad or K is
 * not smaller than the model input (pad, circular; crop: an offset dx ≥ Wm or dy ≥ Hm, which leaves no stable area).
 */
export async function makeShiftedInputs(
  image: RgbImage,
  opts: ShiftedInputOptions,
  pool?: InputBufferPool,
): Promise<ShiftedInputs> {
  refuseUnknownFields(opts, SHIFTED_INPUT_OPTION_FIELDS, 'shifted input options');
  const kernel = opts.kernel ?? DEFAULT_RESAMPLE_KERNEL;
  const geometry = fitGeometry(image.width, image.height, opts);
  if (isFractionalSet(opts.shiftSet)) {
    const fittedFloat = await resampleRgbFloat(
      image,
      geometry.fittedSizePx.width,
      geometry.fittedSizePx.height,
      kernel,
    );
    return shiftedInputsFromFloat(fittedFloat, geometry, opts, kernel);
  }
  const fitted = await resampleRgb(image, geometry.fittedSizePx.width, geometry.fittedSizePx.height, kernel);
  return shiftedInputsFromFitted(fitted, geometry, opts, kernel, pool);
}

/** The pad colour over a whole input, kept for the next image of the same size and colour (only ever read). */
let padTemplate: { bytes: number; pad: string; data: Uint8Array } | null = null;

function padTemplateOf(bytes: number, rgb: [number, number, number]): Uint8Array {
  const pad = rgb.join(',');
  if (padTemplate?.bytes !== bytes || padTemplate.pad !== pad) {
    const data = new Uint8Array(bytes);
    fillRgb(data, rgb);
    padTemplate = { bytes, pad, data };
  }
  return padTemplate.data;
}

/**
 * Builds the lazy input maker from an already fitted image (exported for the runner's pipeline and tests); inputs go
 * into buffers of `pool` when given (every byte written).
 */
export function shiftedInputsFromFitted(
  fitted: RgbImage,
  geometry: FitGeometry,
  opts: ShiftedInputOptions,
  kernel: ResampleKernel = opts.kernel ?? DEFAULT_RESAMPLE_KERNEL,
  pool?: InputBufferPool,
): ShiftedInputs {
  const { width: wm, height: hm } = opts.inputSizePx;
  const { shifts } = opts.shiftSet;
  const k = opts.shiftSet.maxOffsetPx;
  const bytes = wm * hm * 3;
  if (pool && pool.bytes !== bytes) {
    throw new ShiftbenchError('ERR_INTERNAL', `input buffers of ${pool.bytes} bytes for ${wm}×${hm}×3 inputs`);
  }
  const pad = opts.padValue;
  const fw = fitted.width;
  const fh = fitted.height;

  // One canvas the inputs are cut from: the fitted image on its area (crop, circular).
  let area: Uint8Array | null = null;
  const areaW = geometry.areaSizePx.width;
  const areaH = geometry.areaSizePx.height;
  if (opts.mode !== 'pad') {
    area = new Uint8Array(areaW * areaH * 3);
    if (fw !== areaW || fh !== areaH) fillRgb(area, pad);
    paste(area, areaW, areaH, fitted.data, fw, fh, 0, 0);
  }
  const template = opts.mode === 'pad' ? padTemplateOf(bytes, pad) : null;

  const input = (index: number): RgbImage => {
    const s = shifts[index];
    if (!s) throw new ShiftbenchError('ERR_INTERNAL', `shift index ${index} out of range 0…${shifts.length - 1}`);
    let out: Uint8Array;
    if (template) {
      // the pad colour with one memcpy (a new buffer: a copy of it, with no zero-fill first), then the image over it
      const reused = pool?.reuse();
      reused?.set(template);
      out = reused ?? template.slice();
      paste(out, wm, hm, fitted.data, fw, fh, s.dx, s.dy);
    } else if (opts.mode === 'crop') {
      out = pool?.reuse() ?? new Uint8Array(bytes); // every row written
      // window at (K − dx, K − dy) of the (Wm + K) × (Hm + K) area
      const x0 = k - s.dx;
      const y0 = k - s.dy;
      const rowBytes = wm * 3;
      for (let y = 0; y < hm; y++) {
        const src = ((y + y0) * areaW + x0) * 3;
        out.set(area!.subarray(src, src + rowBytes), y * rowBytes);
      }
    } else {
      out = pool?.reuse() ?? new Uint8Array(bytes); // every row written, in two parts
      // circular roll by (dx, dy): source row y goes to (y + dy) mod Hm, split at Wm − dx
      const sx = s.dx % wm;
      const sy = s.dy % hm;
      const rowBytes = wm * 3;
      for (let y = 0; y < hm; y++) {
        const row = area!.subarray(y * rowBytes, (y + 1) * rowBytes);
        const ty = (y + sy) % hm;
        out.set(row.subarray(0, (wm - sx) * 3), ty * rowBytes + sx * 3);
        if (sx > 0) out.set(row.subarray((wm - sx) * 3), ty * rowBytes);
      }
    }
    return { data: out, width: wm, height: hm };
  };

  return {
    geometry,
    transforms: geometry.transforms,
    fittedSizePx: geometry.fittedSizePx,
    kernel,
    count: shifts.length,
    input,
    inputs: () => shifts.map((_, i) => input(i)),
  };
}

/**
 * ShiftedInputs over inputs already made (by makeShiftedInputs elsewhere, e.g. in a
 * prepare worker), one per shift in shift-set order. `input(i)` hands out the made image
 * the first time and a copy after that, so a caller that writes into an input never
 * changes another's. Throws ERR_INTERNAL when the count or a size does not fit.
 */
export function shiftedInputsFromMade(made: RgbImage[], geometry: FitGeometry, kernel: ResampleKernel): ShiftedInputs {
  if (made.length !== geometry.transforms.length) {
    throw new ShiftbenchError(
      'ERR_INTERNAL',
      `got ${made.length} made inputs for ${geometry.transforms.length} shifts`,
    );
  }
  for (const m of made) {
    if (m.data.length !== m.width * m.height * 3) {
      throw new ShiftbenchError(
        'ERR_INTERNAL',
        `a made input has ${m.data.length} bytes, expected ${m.width}×${m.height}×3`,
      );
    }
  }
  const handedOut = new Array<boolean>(made.length).fill(false);
  const input = (index: number): RgbImage => {
    const m = made[index];
    if (!m) throw new ShiftbenchError('ERR_INTERNAL', `shift index ${index} out of range 0…${made.length - 1}`);
    if (!handedOut[index]) {
      handedOut[index] = true;
      return m;
    }
    return { data: m.data.slice(), width: m.width, height: m.height };
  };
  return {
    geometry,
    transforms: geometry.transforms,
    fittedSizePx: geometry.fittedSizePx,
    kernel,
    count: made.length,
    input,
    inputs: () => made.map((_, i) => input(i)),
  };
}

/**
 * Resamples an RGB image to `width × height` with `kernel` as resampleRgb does (axes that shrink with sharp in 16-bit
 * precision, steps of 1/257 of a grey level; axes that grow with enlargeRgb) and returns floating point (interleaved
 * RGB, 0–255 scale, clamped, not rounded).
 */
export async function resampleRgbFloat(
  image: RgbImage,
  width: number,
  height: number,
  kernel: ResampleKernel,
): Promise<Float64Array> {
  checkRgbImage(image);
  if (width === image.width && height === image.height) return Float64Array.from(image.data);
  const w = Math.min(width, image.width);
  const h = Math.min(height, image.height);
  let reduced: Float64Array;
  if (w < image.width || h < image.height) {
    const wide = new Uint16Array(image.data.length);
    for (let i = 0; i < wide.length; i++) wide[i] = image.data[i] * 257;
    const { data, info } = await sharp(wide, { raw: { width: image.width, height: image.height, channels: 3 } })
      .resize(w, h, { fit: 'fill', kernel })
      .toColourspace('rgb16')
      .raw({ depth: 'ushort' })
      .toBuffer({ resolveWithObject: true });
    if (info.width !== w || info.height !== h || info.channels !== 3 || data.length !== w * h * 6) {
      throw new ShiftbenchError(
        'ERR_INTERNAL',
        `16-bit resample gave ${info.width}×${info.height}×${info.channels}, expected ${w}×${h}×3`,
      );
    }
    reduced = new Float64Array(w * h * 3);
    for (let i = 0; i < reduced.length; i++) reduced[i] = data.readUInt16LE(i * 2) / 257;
  } else reduced = Float64Array.from(image.data);
  if (w === width && h === height) return reduced;
  const out = enlargeRgb(reduced, w, h, width, height, kernel);
  for (let i = 0; i < out.length; i++) out[i] = out[i] < 0 ? 0 : out[i] > 255 ? 255 : out[i];
  return out;
}

/**
 * Builds the lazy input maker of the floating-point path (sets holding fractions) from
 * a floating-point fit (`resampleRgbFloat`): every input, integer offsets included, is an
 * exact translate of that picture, clamped and rounded half to even once.
 */
export function shiftedInputsFromFloat(
  fitted: Float64Array,
  geometry: FitGeometry,
  opts: ShiftedInputOptions,
  kernel: ResampleKernel = opts.kernel ?? DEFAULT_RESAMPLE_KERNEL,
): ShiftedInputs {
  const { width: wm, height: hm } = opts.inputSizePx;
  const { shifts } = opts.shiftSet;
  const k = opts.shiftSet.maxOffsetPx;
  const subpixel = opts.subpixelKernel ?? DEFAULT_SUBPIXEL_KERNEL;
  const { width: fw, height: fh } = geometry.fittedSizePx;
  const areaW = geometry.areaSizePx.width;
  const areaH = geometry.areaSizePx.height;
  const pad = opts.padValue;
  if (fitted.length !== fw * fh * 3) {
    throw new ShiftbenchError('ERR_INTERNAL', `fitted picture has ${fitted.length} values, expected ${fw}×${fh}×3`);
  }
  // crop and circular: the fitted picture on its area, pad colour beside it (letterbox)
  let area: Float64Array | null = null;
  if (opts.mode !== 'pad') {
    area = new Float64Array(areaW * areaH * 3);
    for (let i = 0; i < areaW * areaH; i++) {
      area[i * 3] = pad[0];
      area[i * 3 + 1] = pad[1];
      area[i * 3 + 2] = pad[2];
    }
    for (let y = 0; y < fh; y++) area.set(fitted.subarray(y * fw * 3, (y + 1) * fw * 3), y * areaW * 3);
  }
  let shifter: FourierShifter | null = null;

  const input = (index: number): RgbImage => {
    const s = shifts[index];
    if (!s) throw new ShiftbenchError('ERR_INTERNAL', `shift index ${index} out of range 0…${shifts.length - 1}`);
    let values: Float64Array;
    if (opts.mode === 'pad') {
      values = translateFloat(fitted, fw, fh, wm, hm, s.dx, s.dy, subpixel, { pad });
    } else if (opts.mode === 'crop') {
      values = translateFloat(area!, areaW, areaH, wm, hm, s.dx - k, s.dy - k, subpixel, 'edge');
    } else if (Number.isInteger(s.dx) && Number.isInteger(s.dy)) {
      values = rollFloat(area!, wm, hm, s.dx, s.dy);
    } else {
      if (!shifter) shifter = new FourierShifter(toPlanes(area!, wm, hm), wm, hm);
      values = fromPlanes(shifter.shifted(s.dx, s.dy), wm, hm);
    }
    return { data: toBytes(values), width: wm, height: hm };
  };

  return {
    geometry,
    transforms: geometry.transforms,
    fittedSizePx: geometry.fittedSizePx,
    kernel,
    count: shifts.length,
    input,
    inputs: () => shifts.map((_, i) => input(i)),
  };
}

/** Exact circular roll of an interleaved RGB float picture by whole pixels. */
function rollFloat(src: Float64Array, w: number, h: number, dx: number, dy: number): Float64Array {
  const out = new Float64Array(w * h * 3);
  const sx = ((dx % w) + w) % w;
  const sy = ((dy % h) + h) % h;
  for (let y = 0; y < h; y++) {
    const ty = (y + sy) % h;
    for (let x = 0; x < w; x++) {
      const o = (ty * w + ((x + sx) % w)) * 3;
      const i = (y * w + x) * 3;
      out[o] = src[i];
      out[o + 1] = src[i + 1];
      out[o + 2] = src[i + 2];
    }
  }
  return out;
}

function toPlanes(src: Float64Array, w: number, h: number): Float64Array[] {
  const planes = [0, 1, 2].map(() => new Float64Array(w * h));
  for (let i = 0; i < w * h; i++) for (let c = 0; c < 3; c++) planes[c][i] = src[i * 3 + c];
  return planes;
}

function fromPlanes(planes: Float64Array[], w: number, h: number): Float64Array {
  const out = new Float64Array(w * h * 3);
  for (let i = 0; i < w * h; i++) for (let c = 0; c < 3; c++) out[i * 3 + c] = planes[c][i];
  return out;
}
