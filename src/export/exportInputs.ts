/**
 * `shiftbench export`: every shifted input of every image, made exactly as `run` makes
 * it (the runner's dataset loading and decoding, shifts/ makeShiftedInputs with the same
 * kernel), written as a lossless PNG, and export.json saying how to project results back.
 * No model runs: the input size and fit come from a model's registry entry (or the loaded
 * detector's info) or from `inputSizePx` / `fit` / `padValue`.
 */
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { ShiftbenchError, invalidParameterError, refuseUnknownFields } from '../core/errors.js';
import { is } from '../core/is.js';
import type { FitMode, Logger, ShiftMode } from '../core/types.js';
import { listModels } from '../detectors/index.js';
import { entryInfoBase } from '../detectors/registry.js';
import { withDefaultEnv } from '../runner/env.js';
import { imageHashes } from '../runner/identity.js';
import { resolveRunOptions, type ResolvedRunOptions } from '../runner/options.js';
import { resampleRecord } from '../runner/runBenchmark.js';
import { WriteFailedError, makeDirDurable, renameDurable, writeFailed, writeFileAtomic } from '../core/atomicFile.js';
import { ensureWritableDir, writeJsonAtomic } from '../runner/store.js';
import type { RunnerEnv } from '../runner/types.js';
import { isFractionalSet, makeShiftedInputs, type ResampleKernel, type SubpixelKernel } from '../shifts/index.js';
import { VERSION } from '../version.js';
import {
  EXPORT_DETECTIONS_DIR,
  EXPORT_FILE,
  EXPORT_FORMAT,
  EXPORT_STAGING_DIR,
  INPUTS_DIR,
  inputFile,
  readExport,
  type ExportManifest,
  type ExportedImage,
} from './format.js';

/** What to export. Exactly one of `model` or `inputSizePx` says the input size and fit. */
export interface ExportOptions {
  /** Dataset: a COCO annotation JSON, a YOLO/COCO folder or an image folder. */
  dataset: string;
  /** Image folder, when it is not next to the annotations. */
  images?: string;
  /** Class names file of a YOLO folder, when its own are missing or disagree (recorded for `score`). */
  classes?: string;
  /** Only the first N images (by id). */
  limit?: number;
  /** Shift set spec (default grid:1). */
  shifts?: string;
  /** pad (default), crop or circular. */
  mode?: ShiftMode;
  /** A model whose input size, fit and pad value the inputs take (registry name, entry file, plug-in detector). */
  model?: string;
  /** Input size Wm × Hm, without a model. */
  inputSizePx?: { width: number; height: number };
  /** With inputSizePx: letterbox (default) or stretch. */
  fit?: FitMode;
  /** With inputSizePx: RGB 0–255 of the canvas outside the image (default 0,0,0). */
  padValue?: [number, number, number];
  /** Resampling kernel, once per image (default linear). */
  kernel?: ResampleKernel;
  /** Kernel of fractional pad/crop shifts (default lanczos3). */
  subpixelKernel?: SubpixelKernel;
  /** The export folder: new or empty (or an earlier export, replaced with `force`). */
  out: string;
  /** Replace an earlier export in `out` (its inputs/, detections/ and export.json). */
  force?: boolean;
  plugins?: string[];
  registryFiles?: string[];
  weightsDir?: string;
  backend?: string;
}

/** Every field of ExportOptions (the compiler checks the list is complete and has no other). */
const EXPORT_OPTION_FIELDS: Record<keyof ExportOptions, true> = {
  dataset: true,
  images: true,
  classes: true,
  limit: true,
  shifts: true,
  mode: true,
  model: true,
  inputSizePx: true,
  fit: true,
  padValue: true,
  kernel: true,
  subpixelKernel: true,
  out: true,
  force: true,
  plugins: true,
  registryFiles: true,
  weightsDir: true,
  backend: true,
};

/** What `exportInputs` wrote. */
export interface ExportResult {
  dir: string;
  manifest: ExportManifest;
  /** sha256 of export.json: the export's identity in the runs scored from it. */
  sha256: string;
  /** PNG files written. */
  inputs: number;
  /** Images that could not be decoded (listed in export.json, no inputs). */
  skipped: number;
}

const SILENT: Logger = { info: () => undefined, warn: () => undefined };

/** PNGs encoded concurrently. */
const PNGS_AT_ONCE = 8;

type InputSpec = ExportManifest['input'];

/** The input size, fit and pad value: from the model (its entry, else the loaded detector) or the options. */
async function inputSpec(
  options: ExportOptions,
  o: ResolvedRunOptions,
  env: RunnerEnv,
  logger: Logger,
): Promise<InputSpec> {
  const pixels = 'RGB, 8 bits per channel, PNG' as const;
  if (options.model !== undefined) {
    if (options.inputSizePx !== undefined || options.fit !== undefined || options.padValue !== undefined) {
      throw invalidParameterError(
        '--input-size/--fit/--pad-value',
        'no value with --model (the model says them)',
        options.inputSizePx ?? options.fit ?? options.padValue,
      );
    }
    const spec = o.models[0];
    const entry = listModels({ registryFiles: o.registryFiles }).find((e) => e.name === spec);
    if (entry && (entry.format === 'onnx' || entry.format === 'tfjs-graph')) {
      const base = entryInfoBase(entry, []);
      return {
        widthPx: base.inputSizePx.width,
        heightPx: base.inputSizePx.height,
        fit: base.fit,
        padValue: base.padValue,
        pixels,
        model: spec,
        preprocessing: { layout: entry.layout, colorOrder: entry.colorOrder, normalize: entry.normalize },
      };
    }
    const detector = await env.loadDetector(spec, {
      backend: o.backend,
      weightsDir: o.weightsDir ?? undefined,
      plugins: o.plugins,
      registryFiles: o.registryFiles,
      logger,
      seed: o.seed,
    });
    try {
      const info = detector.info;
      return {
        widthPx: info.inputSizePx.width,
        heightPx: info.inputSizePx.height,
        fit: info.fit,
        padValue: [...info.padValue],
        pixels,
        model: spec,
        preprocessing: null,
      };
    } finally {
      await detector.dispose();
    }
  }
  const size = options.inputSizePx;
  if (size === undefined)
    throw invalidParameterError(
      '--model or --input-size',
      'a model, or an input size WxH (with --fit and --pad-value)',
      undefined,
    );
  if (
    !is.object(size) ||
    !Number.isInteger(size.width) ||
    !Number.isInteger(size.height) ||
    size.width < 1 ||
    size.height < 1 ||
    size.width > 16384 ||
    size.height > 16384
  ) {
    throw invalidParameterError('--input-size', 'WxH with whole numbers of pixels from 1 to 16384, e.g. 640x640', size);
  }
  const fit = options.fit ?? 'letterbox';
  if (fit !== 'letterbox' && fit !== 'stretch') throw invalidParameterError('--fit', 'letterbox or stretch', fit);
  const pad = options.padValue ?? [0, 0, 0];
  if (!Array.isArray(pad) || pad.length !== 3 || !pad.every((v) => Number.isInteger(v) && v >= 0 && v <= 255)) {
    throw invalidParameterError('--pad-value', 'R,G,B with integers from 0 to 255, e.g. 114,114,114', pad);
  }
  return {
    widthPx: size.width,
    heightPx: size.height,
    fit,
    padValue: [pad[0], pad[1], pad[2]],
    pixels,
    model: null,
    preprocessing: null,
  };
}

/**
 * `out` must be new or empty; an earlier export there (or one stopped before its export.json,
 * holding only inputs/ and detections/) is replaced only with `force` (its export.json, inputs/
 * and detections/ are removed — by `moveIn`, once the new export is complete; nothing else is touched).
 * What a killed export left aside (EXPORT_STAGING_DIR) does not count. Returns what `moveIn` removes.
 * Throws ERR_OUTPUT naming the folder and the fix; removes nothing.
 */
async function checkOut(dir: string, force: boolean): Promise<string[]> {
  const names: string[] = (await readdir(dir).catch(() => [])).filter((n) => n !== EXPORT_STAGING_DIR);
  if (names.includes(EXPORT_FILE)) {
    if (!force) {
      throw new ShiftbenchError(
        'ERR_OUTPUT',
        `--out ${dir} already holds an export (${EXPORT_FILE}). Give a new folder, or --force to replace it (its ` +
          `inputs and detections are removed).`,
      );
    }
    return [EXPORT_FILE, INPUTS_DIR, EXPORT_DETECTIONS_DIR];
  } else if (names.length > 0 && names.every((n) => n === INPUTS_DIR || n === EXPORT_DETECTIONS_DIR)) {
    // an export stopped before it wrote export.json: only its own folders, replaced with --force
    if (!force) {
      throw new ShiftbenchError(
        'ERR_OUTPUT',
        `--out ${dir} holds an unfinished export (${names.join(', ')} without ${EXPORT_FILE}). Give a new folder, ` +
          `or --force to replace it.`,
      );
    }
    return names;
  } else if (names.length > 0) {
    throw new ShiftbenchError(
      'ERR_OUTPUT',
      `--out ${dir} is not empty and holds no export (it has ${names.slice(0, 3).join(', ')}${
        names.length > 3 ? ', …' : ''
      }). Give a new or empty folder.`,
    );
  }
  return [];
}

/**
 * The folder the export is written into until it is complete: EXPORT_STAGING_DIR inside `dir`, emptied of what a killed
 * export left there. Throws ERR_OUTPUT when it cannot be made.
 */
async function stagingOf(dir: string): Promise<string> {
  await ensureWritableDir(dir);
  const staging = path.join(dir, EXPORT_STAGING_DIR);
  await rm(staging, { recursive: true, force: true });
  await makeFolder(staging);
  return staging;
}

/**
 * Puts the complete export in `staging` in place of what `checkOut` listed (an earlier export replaced with `force`):
 * the earlier export.json goes first (the folder no longer claims a complete export), then its folders; the new
 * folders come in by renames and export.json last, so the folder holds a complete export only once all of it is there.
 */
async function moveIn(dir: string, staging: string, replaced: string[]): Promise<void> {
  for (const name of [EXPORT_FILE, INPUTS_DIR, EXPORT_DETECTIONS_DIR])
    if (replaced.includes(name)) await rm(path.join(dir, name), { recursive: true, force: true });
  for (const name of [INPUTS_DIR, EXPORT_DETECTIONS_DIR, EXPORT_FILE])
    await renameDurable(path.join(staging, name), path.join(dir, name));
  await rm(staging, { recursive: true, force: true });
}

/** Makes a folder of the export, a refusal as writeFailed words it. */
async function makeFolder(folder: string): Promise<void> {
  try {
    await makeDirDurable(folder);
  } catch (err) {
    throw writeFailed(folder, err);
  }
}

/**
 * Writes every shifted input of the dataset's images to `options.out` as
 * `inputs/<imageId>/<k>.png` and `export.json`. An image that cannot be decoded is
 * listed as skipped (with the reason), as `run` does. Throws ERR_INVALID_OPTION for bad
 * options (naming the flag), ERR_OUTPUT for an unusable `out`, ERR_DATASET, and the
 * model errors of `loadDetector` when the model's entry does not give its input.
 */
export async function exportInputs(
  options: ExportOptions,
  hooks: { logger?: Logger; env?: Partial<RunnerEnv> } = {},
): Promise<ExportResult> {
  if (!is.object(options as unknown))
    throw invalidParameterError('options', 'an object of export options { dataset, out, … }', options);
  refuseUnknownFields(options, EXPORT_OPTION_FIELDS, 'export options');
  const logger = hooks.logger ?? SILENT;
  const env: RunnerEnv = withDefaultEnv(hooks.env);
  if (!is.string(options.out)) throw invalidParameterError('--out', 'the export folder', options.out);
  // the run's own validation of dataset, shifts, mode, kernels and limit (same flag names)
  const o = resolveRunOptions({
    models: [options.model ?? '(export)'],
    dataset: options.dataset,
    images: options.images,
    classes: options.classes,
    limit: options.limit,
    shifts: options.shifts,
    mode: options.mode,
    kernel: options.kernel,
    subpixelKernel: options.subpixelKernel,
    plugins: options.plugins,
    registryFiles: options.registryFiles,
    weightsDir: options.weightsDir,
    backend: options.backend,
    out: options.out,
    force: options.force,
  });
  const input = await inputSpec(options, o, env, logger);
  const dir = o.out!;
  const replaced = await checkOut(dir, options.force === true);

  // the new export is written aside (staging) and moved in only once complete: an export that fails or is stopped
  // leaves an earlier one (and the results written into it) as it was, even with --force
  const dataset = await env.loadDataset({
    dataset: o.dataset,
    images: o.images ?? undefined,
    classes: o.classes ?? undefined,
    limit: o.limit ?? undefined,
  });
  if (dataset.images.length === 0) throw new ShiftbenchError('ERR_DATASET', `Dataset ${dataset.source} has no images.`);
  const hashes = await imageHashes(dataset.images);
  const staging = await stagingOf(dir);
  const inputOpts = {
    inputSizePx: { width: input.widthPx, height: input.heightPx },
    fit: input.fit,
    padValue: input.padValue,
    mode: o.mode,
    shiftSet: o.shiftSet,
    kernel: o.kernel,
    subpixelKernel: o.subpixelKernel,
  };
  try {
    const images: ExportedImage[] = [];
    let written = 0;
    for (const image of dataset.images) {
      const sha256 = hashes.file.get(image.id)!;
      let rgb;
      try {
        rgb = await env.decodeImage(image);
      } catch (err) {
        const reason = (err as Error).message ?? String(err);
        logger.warn(`skipped image ${image.id} (${image.fileName}): ${reason}`);
        images.push({ id: image.id, fileName: image.fileName, sha256, skipped: reason });
        continue;
      }
      const made = await makeShiftedInputs(rgb, inputOpts);
      const inputs = made.transforms.map((transform, k) => ({ index: k, file: inputFile(image.id, k), transform }));
      await makeFolder(path.join(staging, INPUTS_DIR, String(image.id)));
      // a few PNGs encoded at once (sharp's thread pool), without holding every input of a long shift set
      // every write of a batch settles before a failure is thrown, so none still writes while the staging is removed
      for (let k0 = 0; k0 < made.count; k0 += PNGS_AT_ONCE) {
        const settled = await Promise.allSettled(
          inputs.slice(k0, k0 + PNGS_AT_ONCE).map(({ index, file }) => {
            const pixels = made.input(index);
            return sharp(pixels.data, { raw: { width: pixels.width, height: pixels.height, channels: 3 } })
              .png({ compressionLevel: 6, palette: false })
              .toBuffer()
              .then((png) => writeFileAtomic(path.join(staging, file), png));
          }),
        );
        const failed = settled.find((r) => r.status === 'rejected');
        if (failed) throw failed.reason;
      }
      written += inputs.length;
      images.push({ id: image.id, fileName: image.fileName, sha256, sizePx: [rgb.width, rgb.height], inputs });
    }
    // no input for a detector to run on is no export (as a run none of whose images could be scored is no result)
    if (written === 0) {
      const first = images[0];
      throw new ShiftbenchError(
        'ERR_DATASET',
        (images.length === 1
          ? `the one image of ${dataset.source} could not be decoded`
          : `none of the ${images.length} images of ${dataset.source} could be decoded`) +
          ` (image ${first.id} (${first.fileName}): ${String(first.skipped)}), so there is no input to export; ` +
          `${dir} is left as it ` +
          'was. Fix those images (or give --images where they are), then run the same command again.',
      );
    }

    const manifest: ExportManifest = {
      format: EXPORT_FORMAT,
      schemaVersion: 1,
      createdAt: new Date().toISOString(),
      toolVersion: VERSION,
      buildId: await env.buildId(),
      dataset: {
        name: dataset.name,
        source: dataset.source,
        kind: dataset.kind,
        hash: dataset.hash,
        labelFree: dataset.groundTruth === null,
        // classes only when given: exports without it keep the export.json (and sha256) they had
        spec: {
          dataset: o.dataset,
          images: o.images,
          limit: o.limit,
          ...(o.classes !== null ? { classes: o.classes } : {}),
        },
        categories: dataset.categories,
      },
      shiftSet: {
        spec: o.shiftSet.spec,
        maxOffsetPx: o.shiftSet.maxOffsetPx,
        shifts: o.shiftSet.shifts.map((s, index) => ({ index, dx: s.dx, dy: s.dy })),
      },
      mode: o.mode,
      resample: resampleRecord(o),
      subpixelKernel: isFractionalSet(o.shiftSet) ? o.subpixelKernel : null,
      input,
      detections: {
        file: `${EXPORT_DETECTIONS_DIR}/shift_<k>.json`,
        format:
          'COCO results: [{ "image_id", "category_id", "bbox": [x, y, w, h], "score" }], every image of input k in ' +
          'one file',
        coordinates:
          "pixels of that input (the PNG), as the detector saw it; shiftbench projects them back by each input's " +
          'transform',
      },
      images,
    };
    await makeFolder(path.join(staging, INPUTS_DIR));
    await makeFolder(path.join(staging, EXPORT_DETECTIONS_DIR)); // where the framework writes its results
    await writeJsonAtomic(path.join(staging, EXPORT_FILE), manifest);
    await moveIn(dir, staging, replaced);
    const { sha256 } = await readExport(dir);
    logger.info(
      `exported ${written} inputs of ${images.length - images.filter((i) => i.skipped).length} images to ${dir}`,
    );
    return { dir, manifest, sha256, inputs: written, skipped: images.filter((i) => i.skipped).length };
  } catch (err) {
    // nothing of an unfinished export stays; what was in `dir` is as it was (unless moveIn itself failed part-way)
    await rm(staging, { recursive: true, force: true }).catch(() => undefined);
    // a write refused (a full disk): an export is not resumed but redone, by the same command
    if (err instanceof WriteFailedError) {
      const kept =
        replaced.length > 0 ? `the earlier export in ${dir} is kept as it was` : `nothing was left in ${dir}`;
      throw writeFailed(err.file, err.cause, `then run the same command again: ${kept}.`);
    }
    throw err;
  }
}
