/**
 * The synthetic COCO-like data of the metrics benchmarks (seeded): ground truth and,
 * per shift, 100 detections per image drawn like a real detector's under 1-px moves.
 */
import { COCO_CATEGORIES, Rng } from '../src/core/index.js';
import type { CocoAnnotation, CocoGroundTruth, CocoResult, Shift } from '../src/core/index.js';

/** Image size of the synthetic data, px. */
export const W = 640,
  H = 480;
/** grid:1. */
export const BENCH_SHIFTS: Shift[] = [
  { dx: 0, dy: 0 },
  { dx: 1, dy: 0 },
  { dx: 0, dy: 1 },
  { dx: 1, dy: 1 },
];
/** Detections per image per shift. */
export const DETS_PER_IMAGE = 100;

/** COCO-like ground truth: 1–14 objects per image, 80 categories (20 frequent), log-uniform sizes. */
export function syntheticGroundTruth(rng: Rng, IMAGES: number): CocoGroundTruth {
  const cats = COCO_CATEGORIES.map((c) => ({ id: c.id, name: c.name }));
  const frequent = cats.slice(0, 20);
  const images = Array.from({ length: IMAGES }, (_, i) => ({
    id: i + 1,
    file_name: `${i + 1}.jpg`,
    width: W,
    height: H,
  }));
  const annotations: CocoAnnotation[] = [];
  let id = 1;
  for (const im of images) {
    const n = rng.int(1, 14);
    for (let k = 0; k < n; k++) {
      const cat = rng.next() < 0.7 ? rng.pick(frequent) : rng.pick(cats);
      // log-uniform sizes: small, medium and large objects
      const w = Math.exp(rng.uniform(Math.log(8), Math.log(400)));
      const h = Math.min(H - 1, w * Math.exp(rng.uniform(-0.7, 0.7)));
      const x = rng.uniform(0, W - w),
        y = rng.uniform(0, H - h);
      annotations.push({
        id: id++,
        image_id: im.id,
        category_id: cat.id,
        bbox: [x, y, w, h],
        area: w * h * rng.uniform(0.6, 0.9),
        iscrowd: rng.next() < 0.01 ? 1 : 0,
      });
    }
  }
  return { images, annotations, categories: cats };
}

/** How the detections of the shifts relate (see syntheticDetections). */
export type SyntheticMode = 'jitter' | 'shared' | 'independent-scores';
/** Every mode, the default (realistic) first. */
export const SYNTHETIC_MODES: SyntheticMode[] = ['jitter', 'shared', 'independent-scores'];
/** Box jitter (px, per coordinate) and score noise of the 'jitter' mode, drawn afresh per shift. */
export const JITTER_PX = 1.5,
  JITTER_SCORE = 0.05;

/**
 * One noise draw of detections for every image: 3 noisy boxes per gt, low-score false
 * positives up to 100 per image. Modes:
 * - 'jitter' (bench:metrics' default, the realistic and slow case): a detector's output for the image
 *   (3 boxes per gt with their own offsets, false positives, base scores) is drawn once,
 *   and every shift's detections are drawn from it independently: each box coordinate
 *   moves by N(0, 1.5 px) and each score by N(0, 0.05), so every detection's box, score
 *   and rank change from shift to shift, as a real detector's outputs under 1-px moves.
 * - 'shared': a detection keeps its identity and base score across shifts, its box is
 *   drawn afresh around the gt per shift (sd 6 % of the width per rank) and its score
 *   gets N(0, 0.03); false positives move by N(0, 2 px) with 5 % score noise.
 * - 'independent-scores': as 'shared' but every score and false positive drawn
 *   independently per shift (harsh, unrealistic).
 * Without `mode`: 'shared' ('independent-scores' with `independent`).
 */
export function syntheticDetections(
  gt: CocoGroundTruth,
  shift: number,
  o: { seed: number; mode?: SyntheticMode; independent?: boolean },
): CocoResult[] {
  const SEED = o.seed;
  const mode: SyntheticMode = o.mode ?? (o.independent ? 'independent-scores' : 'shared');
  const INDEPENDENT = mode === 'independent-scores';
  const byImage = new Map<number, CocoAnnotation[]>();
  for (const a of gt.annotations) {
    let l = byImage.get(a.image_id);
    if (!l) byImage.set(a.image_id, (l = []));
    l.push(a);
  }
  const out: CocoResult[] = [];
  const base = new Rng(SEED + 1);
  const clamp = (x: number) => Math.min(1, Math.max(0.001, x));
  if (mode === 'jitter') {
    if (shift >= 63) throw new Error(`the synthetic data supports up to 63 shifts but received shift ${shift}`);
    const j = (rng: Rng) => rng.normal(0, JITTER_PX);
    for (const im of gt.images) {
      const shared = base.fork(im.id * 64 + 63);
      const rng = base.fork(im.id * 64 + shift);
      let n = 0;
      for (const a of byImage.get(im.id) ?? []) {
        for (let k = 0; k < 3; k++) {
          const [x, y, w, h] = a.bbox;
          const sx = 0.06 * w * (k + 1),
            sy = 0.06 * h * (k + 1);
          const bx = x + shared.normal(0, sx),
            by = y + shared.normal(0, sy);
          const bw = Math.max(1, w + shared.normal(0, sx)),
            bh = Math.max(1, h + shared.normal(0, sy));
          const baseScore = shared.uniform(0.4, 1) - 0.15 * k;
          out.push({
            image_id: im.id,
            category_id: a.category_id,
            bbox: [bx + j(rng), by + j(rng), Math.max(1, bw + j(rng)), Math.max(1, bh + j(rng))],
            score: clamp(baseScore + rng.normal(0, JITTER_SCORE)),
          });
          n++;
        }
      }
      for (; n < DETS_PER_IMAGE; n++) {
        const w = shared.uniform(10, 200),
          h = shared.uniform(10, 200);
        const bx = shared.uniform(0, W - w),
          by = shared.uniform(0, H - h);
        const cat = shared.pick(COCO_CATEGORIES).id;
        const sc = shared.uniform(0.001, 0.3);
        out.push({
          image_id: im.id,
          category_id: cat,
          bbox: [bx + j(rng), by + j(rng), Math.max(1, w + j(rng)), Math.max(1, h + j(rng))],
          score: clamp(sc + rng.normal(0, JITTER_SCORE)),
        });
      }
    }
    return out;
  }
  for (const im of gt.images) {
    // salts of shifts 0–14 as they always were (the numbers stay comparable); 15 is the shared stream's
    const rng = base.fork(shift < 15 ? im.id * 16 + shift : 0x40000000 + im.id * 64 + shift);
    const shared = INDEPENDENT ? rng : base.fork(im.id * 16 + 15);
    let n = 0;
    for (const a of byImage.get(im.id) ?? []) {
      for (let k = 0; k < 3; k++) {
        const [x, y, w, h] = a.bbox;
        const sx = 0.06 * w * (k + 1),
          sy = 0.06 * h * (k + 1);
        const baseScore = shared.uniform(0.4, 1) - 0.15 * k;
        out.push({
          image_id: im.id,
          category_id: a.category_id,
          bbox: [
            x + rng.normal(0, sx),
            y + rng.normal(0, sy),
            Math.max(1, w + rng.normal(0, sx)),
            Math.max(1, h + rng.normal(0, sy)),
          ],
          score: clamp(INDEPENDENT ? baseScore : baseScore + rng.normal(0, 0.03)),
        });
        n++;
      }
    }
    for (; n < DETS_PER_IMAGE; n++) {
      const w = shared.uniform(10, 200),
        h = shared.uniform(10, 200);
      const bx = shared.uniform(0, W - w),
        by = shared.uniform(0, H - h);
      const cat = shared.pick(COCO_CATEGORIES).id;
      const sc = shared.uniform(0.001, 0.3);
      out.push({
        image_id: im.id,
        category_id: cat,
        bbox: INDEPENDENT
          ? [bx, by, w, h]
          : [bx + rng.normal(0, 2), by + rng.normal(0, 2), w + rng.normal(0, 2), h + rng.normal(0, 2)],
        score: INDEPENDENT ? sc : clamp(sc * (1 + rng.normal(0, 0.05))),
      });
    }
  }
  return out;
}
