/**
 * One image made ready for the detector: decoded once, resampled once, its shifted
 * inputs made (protocol §1). The same function runs on the main thread and in the
 * prepare workers, so where it runs cannot change an input. Also the messages between
 * prepare.ts and prepareWorker.ts.
 */
import type { DatasetImage, RgbImage } from '../core/types.js';
import type { InputBufferPool } from '../shifts/inputBuffers.js';
import {
  makeShiftedInputs,
  type FitGeometry,
  type ResampleKernel,
  type ShiftedInputOptions,
  type ShiftedInputs,
} from '../shifts/inputs.js';

/** An image ready for the detect loop: its inputs, or why it is skipped. */
export interface PreparedImage {
  image: DatasetImage;
  /** Null when the image is skipped. */
  inputs: ShiftedInputs | null;
  /** Decoded width and height in pixels ([0, 0] when skipped). */
  size: [number, number];
  /** Why the image could not be decoded (stored in its record), or null. */
  skipped: string | null;
}

/**
 * Decodes `image` with `decode` and makes its shifted inputs (into buffers of `pool` when given). A decoding error
 * makes a skipped image (its message kept); an error of the input maker (bad options) is thrown.
 */
export async function prepareImage(
  image: DatasetImage,
  decode: (image: DatasetImage) => Promise<RgbImage>,
  inputOpts: ShiftedInputOptions,
  pool?: InputBufferPool,
): Promise<PreparedImage> {
  let rgb: RgbImage;
  try {
    rgb = await decode(image);
  } catch (err) {
    return { image, inputs: null, size: [0, 0], skipped: (err as Error)?.message ?? String(err) };
  }
  return { image, inputs: await makeShiftedInputs(rgb, inputOpts, pool), size: [rgb.width, rgb.height], skipped: null };
}

/** Main thread → prepare worker: prepare one image with these input options. */
export interface PrepareRequest {
  jobId: number;
  image: DatasetImage;
  inputOpts: ShiftedInputOptions;
  /** Input buffers the detector released (transferred): the worker may write this or a later image's inputs in them. */
  buffers: Uint8Array[];
}

/** Prepare worker → main thread: the made inputs (buffers transferred), a skipped image, or an error. */
export type PrepareReply =
  | {
      jobId: number;
      kind: 'made';
      size: [number, number];
      geometry: FitGeometry;
      kernel: ResampleKernel;
      inputs: RgbImage[];
    }
  | { jobId: number; kind: 'skipped'; message: string }
  | { jobId: number; kind: 'error'; name: string; code?: string; message: string; stack?: string };
