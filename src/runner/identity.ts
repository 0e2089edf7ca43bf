/**
 * Run identity: everything that determines a run's detections, as values and content
 * hashes (never absolute paths, so shards made on different machines compare equal).
 *
 * - run level: the build of the code that makes detections, the image library that decodes
 *   and resamples (sharp / libvips versions), the shift set, the mode and the resampling
 *   kernel — a difference refuses the whole directory;
 * - per detector variant: the resolved detector (describeDetector) and the mitigation —
 *   adding a model keeps the others;
 * - per image: the sha256 of the image file, stored in each detection record — raising
 *   --limit computes only the new images.
 * Analysis-only settings (score threshold, bootstrap, limit) are not part of it: they are
 * recomputed from stored detections.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { is } from '../core/is.js';
import type { CocoAnnotation, CocoGroundTruth, DatasetImage } from '../core/types.js';
import { isFractionalSet } from '../shifts/index.js';
import type { ResolvedRunOptions } from './options.js';
import { stableJson } from './options.js';

/** The identity a manifest stores: run level, and one object per detector key. */
export interface RunIdentity {
  run: Record<string, unknown>;
  detectors: Record<string, Record<string, unknown>>;
}

/** src/ or dist/: the folder the running code was loaded from. */
const CODE_ROOT = path.resolve(fileURLToPath(new URL('../', import.meta.url)));

/**
 * The code that makes detections, relative to CODE_ROOT (folders, or files without extension). Not metrics or reports.
 */
export const DETECTION_CODE = [
  'datasets',
  'shifts',
  'detectors',
  'mitigations',
  'core/coco',
  'core/is',
  'core/registry',
  'core/rng',
  'runner/detectLoop',
  // decoding and the shifted inputs, on the main thread or in the prepare workers
  'runner/prepare',
  'runner/prepareImage',
  'runner/prepareWorker',
  'runner/store',
];

const CODE_FILE = /\.(ts|js|mjs|cjs|json)$/;

async function codeFiles(root: string): Promise<string[]> {
  const files: string[] = [];
  for (const item of DETECTION_CODE) {
    const dir = path.join(root, item);
    let entries: string[];
    try {
      entries = (await readdir(dir, { recursive: true })).map((e) => path.join(dir, String(e)));
    } catch {
      // a single module: item.ts or item.js
      entries = [`${dir}.ts`, `${dir}.js`];
    }
    for (const f of entries) if (CODE_FILE.test(f) && !f.endsWith('.d.ts')) files.push(f);
  }
  return files;
}

/** A JavaScript file's bytes without its trailing `//# sourceMappingURL=…` comment (a build option, not code). */
function withoutSourceMapComment(bytes: Buffer): Buffer {
  const m = /\n?\/\/# sourceMappingURL=[^\n]*\n?$/.exec(bytes.toString('latin1'));
  return m ? bytes.subarray(0, m.index + (m[0].startsWith('\n') ? 1 : 0)) : bytes;
}

/**
 * A hash of the built code that makes detections (DETECTION_CODE under src/ or dist/,
 * whichever is running): file paths relative to that root and their contents (without a source-map comment, so
 * the same code built with or without source maps is the same build).
 */
export async function computeBuildId(root = CODE_ROOT): Promise<string> {
  const hash = createHash('sha256');
  const files = (await codeFiles(root)).sort();
  for (const f of files) {
    let bytes: Buffer;
    try {
      bytes = await readFile(f);
    } catch {
      continue; // the .ts/.js guess that does not exist
    }
    hash
      .update(path.relative(root, f).split(path.sep).join('/'))
      .update('\0')
      .update(withoutSourceMapComment(bytes))
      .update('\0');
  }
  return hash.digest('hex').slice(0, 16);
}

function sha256OfFile(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(file)
      .on('data', (c) => h.update(c))
      .on('end', () => resolve(h.digest('hex')))
      .on('error', reject);
  });
}

/**
 * Per-image identities: the image file's sha256, and the same with the image's annotations (for detectors that read
 * them).
 */
export interface ImageIdentities {
  file: Map<number, string>;
  withLabels: Map<number, string>;
}

/**
 * sha256 of each image file, by image id (8 files at a time; an unreadable file gets
 * "unreadable"), and of the file hash together with the image's annotations.
 */
export async function imageHashes(
  images: DatasetImage[],
  groundTruth: CocoGroundTruth | null = null,
): Promise<ImageIdentities> {
  const file = new Map<number, string>();
  for (let i = 0; i < images.length; i += 8) {
    const slice = images.slice(i, i + 8);
    const hashes = await Promise.all(slice.map((im) => sha256OfFile(im.path).catch(() => 'unreadable')));
    slice.forEach((im, k) => file.set(im.id, hashes[k]));
  }
  const labels = new Map<number, CocoAnnotation[]>();
  for (const a of groundTruth?.annotations ?? []) labels.set(a.image_id, [...(labels.get(a.image_id) ?? []), a]);
  const withLabels = new Map<number, string>();
  for (const [id, sha] of file)
    withLabels.set(
      id,
      createHash('sha256')
        .update(sha)
        .update(stableJson(labels.get(id) ?? []))
        .digest('hex'),
    );
  return { file, withLabels };
}

/**
 * Two content hashes (sha256 hex) for a message, "before → after": 12 characters each, or — when they agree there — as
 * many as it takes to show where they differ, so a message never shows two equal-looking hashes.
 */
export function hashChange(before: string | undefined, after: string | undefined): string {
  const a = before ?? 'not recorded';
  const b = after ?? '?';
  let n = 0;
  while (n < a.length && n < b.length && a[n] === b[n]) n++;
  const shown = Math.max(12, n + 1);
  return `${a.slice(0, before === undefined ? a.length : shown)} → ${b.slice(0, shown)}`;
}

/**
 * The per-image identity map a detector's records carry: with labels when its identity says it reads the ground truth.
 */
export function imageIdentityFor(
  described: Record<string, unknown> | undefined,
  ids: ImageIdentities,
): Map<number, string> {
  return described?.readsGroundTruth === true ? ids.withLabels : ids.file;
}

/** The image library that decodes every image and makes every input, with its versions: "sharp X / libvips Y". */
export function imageLibrary(): string {
  return `sharp ${sharp.versions.sharp} / libvips ${sharp.versions.vips}`;
}

/**
 * The run-level identity: build, image library (default: the one running; a run scored from an export passes the
 * export's), shifts, mode, resampling kernel, detections kept per input.
 */
export function runLevelIdentity(
  o: ResolvedRunOptions,
  buildId: string,
  library: string = imageLibrary(),
): Record<string, unknown> {
  return {
    buildId,
    imageLibrary: library,
    shifts: o.shiftSet.shifts.map((s) => `${s.dx},${s.dy}`).join(';'),
    mode: o.mode,
    kernel: o.kernel,
    maxDetections: o.maxDetections,
    // the fractional path's kernel makes the inputs of sets holding fractions (absent for integer sets, as before)
    ...(isFractionalSet(o.shiftSet) ? { subpixelKernel: o.subpixelKernel } : {}),
  };
}

/**
 * The differences between two identity objects, one line per leaf field as
 * `a.b.c: old → new` (values as JSON, long ones shortened).
 */
export function identityDiff(stored: unknown, now: unknown, prefix = ''): string[] {
  if (is.object(stored) && is.object(now)) {
    const keys = [...new Set([...Object.keys(stored), ...Object.keys(now)])].sort();
    return keys.flatMap((k) => identityDiff(stored[k], now[k], prefix ? `${prefix}.${k}` : k));
  }
  if (stableJson(stored) === stableJson(now)) return [];
  const show = (v: unknown) => {
    const text = v === undefined ? '(none)' : stableJson(v);
    return text.length > 70 ? `${text.slice(0, 67)}…` : text;
  };
  return [`${prefix || '(value)'}: ${show(stored)} → ${show(now)}`];
}
