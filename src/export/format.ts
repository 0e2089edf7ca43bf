/**
 * The export folder of "bring your own inference" (`shiftbench export` / `score`):
 *
 *   export.json                    what was exported: dataset and its hash, shift set, mode,
 *                                  input size and fit, each input's file and transform
 *   inputs/<imageId>/<k>.png       the input of shift k (its index in the set), lossless RGB8
 *   detections/shift_<k>.json      written by the user's framework: COCO results of every
 *                                  image's input k, boxes in that input's pixels
 *   detections/timing.json         optional: { "inferenceSeconds": s } over all inputs
 *
 * This file holds the format (types, names) and reads it back, validating every field
 * `score` relies on.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ShiftbenchError, invalidParameterError } from '../core/errors.js';
import { is } from '../core/is.js';
import type { CocoCategory, FitMode, InputTransform, ShiftMode } from '../core/types.js';

/** export.json in the export folder. */
export const EXPORT_FILE = 'export.json';
/** The folder of the exported PNGs. */
export const INPUTS_DIR = 'inputs';
/** The folder the user's framework writes its results into. */
export const EXPORT_DETECTIONS_DIR = 'detections';
/**
 * Where `export --force` writes the new export beside an earlier one until it is complete (inside the folder: the same
 * file system, so moving it in is a rename); what a killed export left there is removed by the next one.
 */
export const EXPORT_STAGING_DIR = '.shiftbench-export-new';
/** Optional beside the results: `{ "inferenceSeconds": s }`, the seconds the detector spent over all inputs. */
export const TIMING_FILE = 'timing.json';
/** `format` of export.json. */
export const EXPORT_FORMAT = 'shiftbench-export';

/** The PNG of input `k` of an image, relative to the export folder (always with '/'). */
export function inputFile(imageId: number, k: number): string {
  return `${INPUTS_DIR}/${imageId}/${k}.png`;
}

/** The results file of shift index `k`, relative to the export folder. */
export function detectionsFile(k: number): string {
  return `${EXPORT_DETECTIONS_DIR}/shift_${k}.json`;
}

/** One exported input: shift index, PNG file and the transform from original-image to input pixels. */
export interface ExportedInput {
  index: number;
  file: string;
  /** input = original · scale + offset (per axis); detections are projected back by its inverse. */
  transform: InputTransform;
}

/** One image of the export: its inputs, or why it was skipped (it could not be decoded). */
export interface ExportedImage {
  id: number;
  fileName: string;
  /** sha256 of the image file (the per-image identity of the run store). */
  sha256: string;
  /** Decoded width × height in pixels (absent when skipped). */
  sizePx?: [number, number];
  inputs?: ExportedInput[];
  skipped?: string;
}

/** The content of export.json. */
export interface ExportManifest {
  format: typeof EXPORT_FORMAT;
  schemaVersion: 1;
  createdAt: string;
  toolVersion: string;
  /** Hash of the code that makes inputs (identity.ts computeBuildId) at export time. */
  buildId: string;
  dataset: {
    name: string;
    source: string;
    kind: string;
    hash: string;
    labelFree: boolean;
    /** How `score` loads it again (absolute paths at export time; `score --dataset/--images` override). */
    spec: { dataset: string; images: string | null; limit: number | null; classes?: string };
    categories: CocoCategory[];
  };
  shiftSet: { spec: string; maxOffsetPx: number; shifts: { index: number; dx: number; dy: number }[] };
  mode: ShiftMode;
  /** How the inputs were resampled, as a run manifest records it. */
  resample: Record<string, unknown> & { kernel: string };
  /** Sets holding fractions only: the kernel of fractional pad/crop shifts. */
  subpixelKernel: string | null;
  input: {
    widthPx: number;
    heightPx: number;
    fit: FitMode;
    padValue: [number, number, number];
    /** What the PNGs hold. */
    pixels: 'RGB, 8 bits per channel, PNG';
    /** The model the input size and fit came from (`--model`), or null (`--input-size`). */
    model: string | null;
    /**
     * That model's own preprocessing of the PNG's pixels (layout, colour order, normalisation), when its entry says.
     */
    preprocessing: {
      layout: string | null;
      colorOrder: string | null;
      normalize: { mean: number[]; std: number[] } | null;
    } | null;
  };
  /** Where the results go and in which coordinates. */
  detections: { file: string; format: string; coordinates: string };
  images: ExportedImage[];
}

/** The export manifest of `dir` and the sha256 of its export.json bytes (the export's identity). */
export interface ReadExport {
  dir: string;
  manifest: ExportManifest;
  sha256: string;
}

function bad(file: string, what: string): ShiftbenchError {
  return new ShiftbenchError(
    'ERR_EXPORT',
    `${file} is not a valid shiftbench export: ${what}. ` +
      `Make it again with \`shiftbench export … --out <dir> --force\`.`,
  );
}

const isTransform = (t: unknown): t is InputTransform =>
  is.object(t) &&
  ['scaleX', 'scaleY', 'offsetX', 'offsetY'].every((k) => Number.isFinite(t[k])) &&
  (t.scaleX as number) > 0 &&
  (t.scaleY as number) > 0;

/**
 * Reads and validates `dir/export.json`. Throws ERR_EXPORT when the folder holds no export
 * (naming the file and `shiftbench export`) or the file is damaged.
 */
export async function readExport(dir: string): Promise<ReadExport> {
  if (!is.string(dir)) throw invalidParameterError('<exportDir>', 'an export directory path', dir);
  const abs = path.resolve(dir);
  const file = path.join(abs, EXPORT_FILE);
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    throw new ShiftbenchError(
      'ERR_EXPORT',
      `${abs} is not an export folder: it has no ${EXPORT_FILE} (` +
        `${(err as NodeJS.ErrnoException).code ?? (err as Error).message}). ` +
        'Make one with `shiftbench export --dataset … --out <dir>`, then run your detector on its inputs.',
      { cause: err },
    );
  }
  let m: ExportManifest;
  try {
    m = JSON.parse(bytes.toString('utf8')) as ExportManifest;
  } catch (err) {
    throw bad(file, `not JSON (${(err as Error).message})`);
  }
  if (!is.object(m) || m.format !== EXPORT_FORMAT) throw bad(file, `"format" is not "${EXPORT_FORMAT}"`);
  if (m.schemaVersion !== 1)
    throw bad(file, `schemaVersion ${JSON.stringify(m.schemaVersion)} is not 1 (made by another shiftbench version)`);
  const shifts = m.shiftSet?.shifts;
  if (
    !Array.isArray(shifts) ||
    shifts.length === 0 ||
    !shifts.every((s, i) => s?.index === i && Number.isFinite(s.dx) && Number.isFinite(s.dy))
  ) {
    throw bad(file, 'shiftSet.shifts must list each shift index in order with its dx and dy');
  }
  if (
    !is.object(m.dataset) ||
    !is.object(m.dataset.spec) ||
    !is.string(m.dataset.spec.dataset) ||
    !is.string(m.dataset.hash)
  )
    throw bad(file, 'dataset.spec and dataset.hash are missing');
  if (!is.object(m.input) || !Number.isInteger(m.input.widthPx) || !Number.isInteger(m.input.heightPx))
    throw bad(file, 'input.widthPx and input.heightPx are missing');
  if (!Array.isArray(m.images)) throw bad(file, '"images" is not a list');
  for (const image of m.images) {
    if (!is.object(image) || !Number.isInteger(image.id)) throw bad(file, 'an entry of "images" has no integer id');
    if (image.skipped !== undefined) continue;
    const size = image.sizePx;
    const ok =
      Array.isArray(size) &&
      size.length === 2 &&
      size.every((v) => Number.isInteger(v) && v > 0) &&
      Array.isArray(image.inputs) &&
      image.inputs.length === shifts.length &&
      image.inputs.every((inp, k) => inp?.index === k && isTransform(inp.transform));
    if (!ok) throw bad(file, `image ${image.id} needs sizePx and one input (index, transform) per shift`);
  }
  return { dir: abs, manifest: m, sha256: createHash('sha256').update(bytes).digest('hex') };
}
