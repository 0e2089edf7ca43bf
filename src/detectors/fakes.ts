/**
 * Fake detectors that need no model, for tests and demos of the metrics:
 * - `oracle` returns the image's ground truth mapped into the input with the context's
 *   transform, so its detections move exactly with the shift (mapRange = 0 in `pad` mode);
 * - `jitter` is the oracle plus seeded errors that depend on (image, shift): box offsets
 *   of a few pixels, score noise, an occasional missed box and false positive, so
 *   mapRange > 0, deterministically for a given seed.
 * Both carry nominal family tags (oracle: one-stage/anchor-free, jitter:
 * one-stage/anchor-based) so reports can group them; the tags mean nothing about a network.
 * Spec: `oracle`, `oracle:512` or `oracle:640x480` (input size, default 416×416); same for jitter.
 */
import { COCO_CATEGORIES } from '../core/coco.js';
import { invalidParameterError, ShiftbenchError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import type {
  CocoAnnotation,
  DetectContext,
  Detection,
  Detector,
  DetectorInfo,
  LoadDetectorOptions,
  RgbImage,
} from '../core/types.js';
import { markReleasesInputs } from '../core/releasesInputs.js';

export const FAKE_NAMES = ['oracle', 'jitter'] as const;
export type FakeName = (typeof FAKE_NAMES)[number];

/** Default input size of the fakes. */
export const FAKE_DEFAULT_INPUT_PX = 416;

/** Errors `jitter` makes: box offsets (input px), score noise, drop / false-positive probabilities. */
export const JITTER_DEFAULTS = { maxOffsetPx: 3, scoreNoise: 0.1, dropRate: 0.1, falsePositiveRate: 0.15 } as const;

/** Whether `spec` names a fake (`oracle`, `jitter`, optionally with `:size`). */
export function isFakeSpec(spec: string): boolean {
  return FAKE_NAMES.some((n) => spec === n || spec.startsWith(`${n}:`));
}

function parseFakeSpec(spec: string): { name: FakeName; width: number; height: number } {
  const [name, size] = spec.split(':', 2) as [FakeName, string | undefined];
  if (size === undefined) return { name, width: FAKE_DEFAULT_INPUT_PX, height: FAKE_DEFAULT_INPUT_PX };
  const m = /^(\d+)(?:x(\d+))?$/.exec(size);
  const width = m ? Number(m[1]) : NaN;
  const height = m ? Number(m[2] ?? m[1]) : NaN;
  if (!(width >= 16 && width <= 8192 && height >= 16 && height <= 8192)) {
    throw invalidParameterError(
      `the size of fake detector "${name}"`,
      'WIDTH or WIDTHxHEIGHT in 16…8192 (e.g. oracle:512 or oracle:640x480)',
      spec,
    );
  }
  return { name, width, height };
}

/** A stable 32-bit hash of integers, to seed per (image, shift) streams. */
function mix(...values: number[]): number {
  let h = 0x811c9dc5;
  for (const v of values) {
    h = Math.imul(h ^ (v | 0), 0x01000193);
    h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
    h ^= h >>> 13;
  }
  return h >>> 0;
}

/** Deterministic per-annotation score in [0.5, 1): ranks the oracle's boxes without ties. */
function oracleScore(annotationId: number, seed: number): number {
  return 0.5 + 0.5 * new Rng(mix(seed, annotationId, 0x5eed)).next();
}

/**
 * Creates `oracle` or `jitter` (see the module note). Needs `opts.groundTruth`
 * (ERR_INVALID_OPTION otherwise); `detect` needs `contexts` for every input.
 */
export function createFakeDetector(spec: string, opts: LoadDetectorOptions = {}): Detector {
  const { name, width, height } = parseFakeSpec(spec);
  const gt = opts.groundTruth;
  if (!gt) {
    throw new ShiftbenchError(
      'ERR_INVALID_OPTION',
      `Fake detector "${name}" reports the dataset's ground truth, so it needs a dataset with labels (COCO or YOLO ` +
        `annotations); this one has none`,
    );
  }
  const seed = opts.seed ?? 0;
  const byImage = new Map<number, CocoAnnotation[]>();
  for (const a of gt.annotations) {
    if (a.iscrowd) continue;
    let list = byImage.get(a.image_id);
    if (!list) byImage.set(a.image_id, (list = []));
    list.push(a);
  }
  const classes =
    gt.categories.length > 0 ? gt.categories.map((c) => ({ ...c })) : COCO_CATEGORIES.map((c) => ({ ...c }));
  const info: DetectorInfo = {
    name: spec,
    family:
      name === 'oracle'
        ? { stages: 'one-stage', anchors: 'anchor-free' }
        : { stages: 'one-stage', anchors: 'anchor-based' },
    inputSizePx: { width, height },
    classes,
    fit: 'stretch',
    padValue: [0, 0, 0],
    maxBatch: 64,
    runtime: 'fake',
    files: [],
    details: {
      fake: name,
      seed,
      nominalFamily: true,
      ...(name === 'jitter' ? { jitter: { ...JITTER_DEFAULTS } } : {}),
    },
  };

  const toInput = (bbox: number[], ctx: DetectContext): [number, number, number, number] | null => {
    const t = ctx.transform;
    const x1 = Math.max(0, bbox[0] * t.scaleX + t.offsetX);
    const y1 = Math.max(0, bbox[1] * t.scaleY + t.offsetY);
    const x2 = Math.min(width, (bbox[0] + bbox[2]) * t.scaleX + t.offsetX);
    const y2 = Math.min(height, (bbox[1] + bbox[3]) * t.scaleY + t.offsetY);
    return x2 > x1 && y2 > y1 ? [x1, y1, x2 - x1, y2 - y1] : null;
  };

  const oracle = (ctx: DetectContext): Detection[] => {
    const out: Detection[] = [];
    for (const a of byImage.get(ctx.imageId) ?? []) {
      const bbox = toInput(a.bbox, ctx);
      if (bbox) out.push({ bbox, score: oracleScore(a.id, seed), categoryId: a.category_id });
    }
    return out.sort((p, q) => q.score - p.score);
  };

  const jitter = (ctx: DetectContext): Detection[] => {
    const rng = new Rng(mix(seed, ctx.imageId, ctx.shift.dx, ctx.shift.dy));
    const j = JITTER_DEFAULTS;
    const out: Detection[] = [];
    for (const d of oracle(ctx)) {
      if (rng.next() < j.dropRate) continue;
      const [x, y, w, h] = d.bbox;
      const nx = Math.min(Math.max(x + rng.uniform(-j.maxOffsetPx, j.maxOffsetPx), 0), width - 1);
      const ny = Math.min(Math.max(y + rng.uniform(-j.maxOffsetPx, j.maxOffsetPx), 0), height - 1);
      const nw = Math.min(Math.max(1, w + rng.uniform(-j.maxOffsetPx, j.maxOffsetPx)), width - nx);
      const nh = Math.min(Math.max(1, h + rng.uniform(-j.maxOffsetPx, j.maxOffsetPx)), height - ny);
      const score = Math.min(1, Math.max(0.01, d.score + rng.uniform(-j.scoreNoise, j.scoreNoise)));
      out.push({ bbox: [nx, ny, nw, nh], score, categoryId: d.categoryId });
    }
    if (rng.next() < j.falsePositiveRate) {
      const w = rng.uniform(8, width / 3);
      const h = rng.uniform(8, height / 3);
      out.push({
        bbox: [rng.uniform(0, width - w), rng.uniform(0, height - h), w, h],
        score: rng.uniform(0.05, 0.9),
        categoryId: rng.pick(classes).id,
      });
    }
    return out.sort((p, q) => q.score - p.score);
  };

  let disposed = false;
  // releasesInputs: reads only the inputs' sizes
  return markReleasesInputs(
    {
      info,
      async detect(batch: RgbImage[], contexts?: DetectContext[]): Promise<Detection[][]> {
        if (disposed) throw new ShiftbenchError('ERR_INVALID_OPTION', `Fake detector "${spec}" was disposed`);
        if (!contexts || contexts.length !== batch.length) {
          throw invalidParameterError(
            `contexts of fake detector "${name}"`,
            `one DetectContext (imageId, shift, transform) per input (${batch.length})`,
            contexts === undefined ? undefined : `${contexts.length} contexts`,
          );
        }
        batch.forEach((img, i) => {
          if (img.width !== width || img.height !== height) {
            throw invalidParameterError(
              `batch[${i}] of fake detector "${name}"`,
              `an image of ${width}×${height}`,
              `${img.width}×${img.height}`,
            );
          }
        });
        return contexts.map((ctx) => (name === 'oracle' ? oracle(ctx) : jitter(ctx)));
      },
      async dispose() {
        disposed = true;
      },
    },
    true,
  );
}
