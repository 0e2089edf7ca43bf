import { Rng } from '../../src/core/rng.js';
import type { CocoAnnotation, CocoGroundTruth, CocoResult, Shift } from '../../src/core/types.js';
import type { BoundsCase } from '../../src/metrics/greedy/index.js';

/**
 * A case shaped like real detector output under 1-px shifts: each gt gets a few noisy
 * boxes whose identity and base score are shared across shifts, plus low-score false
 * positives of random categories (many categories per image hold only false positives).
 */
export function sharedBaseCase(seed: number, images: number, cats: number, shifts: number): BoundsCase {
  const rng = new Rng(seed);
  const shiftList: Shift[] = Array.from({ length: shifts }, (_, s) => ({ dx: s % 2, dy: Math.floor(s / 2) }));
  const imgs = Array.from({ length: images }, (_, i) => ({
    id: 10 + 7 * i,
    file_name: `${i}.png`,
    width: 300,
    height: 300,
  }));
  const categories = Array.from({ length: cats }, (_, c) => ({ id: c + 1, name: `c${c + 1}` }));
  const anns: CocoAnnotation[] = [];
  let aid = 1;
  for (const im of imgs) {
    const n = rng.int(0, 5);
    for (let k = 0; k < n; k++) {
      const w = rng.uniform(10, 150),
        h = rng.uniform(10, 150);
      anns.push({
        id: aid++,
        image_id: im.id,
        category_id: rng.int(1, cats),
        bbox: [rng.uniform(0, 140), rng.uniform(0, 140), w, h],
        area: w * h,
        iscrowd: rng.next() < 0.05 ? 1 : 0,
      });
    }
  }
  const base = imgs.map((im) => {
    const own = anns.filter((a) => a.image_id === im.id);
    const tp = own.flatMap((a) => [0, 1, 2].map((k) => ({ a, k, score: rng.uniform(0.4, 1) - 0.15 * k })));
    const fp = Array.from({ length: rng.int(0, 12) }, () => ({
      cat: rng.int(1, cats),
      box: [rng.uniform(0, 200), rng.uniform(0, 200), rng.uniform(5, 80), rng.uniform(5, 80)],
      score: rng.uniform(0.001, 0.3),
    }));
    return { im, tp, fp };
  });
  const dets: CocoResult[][] = shiftList.map(() => {
    const out: CocoResult[] = [];
    for (const b of base) {
      for (const { a, k, score } of b.tp) {
        const sd = 0.06 * (k + 1) * a.bbox[2];
        out.push({
          image_id: b.im.id,
          category_id: a.category_id,
          bbox: [
            a.bbox[0] + rng.normal(0, sd),
            a.bbox[1] + rng.normal(0, sd),
            Math.max(1, a.bbox[2] + rng.normal(0, sd)),
            Math.max(1, a.bbox[3] + rng.normal(0, sd)),
          ],
          score: Math.round((score + rng.normal(0, 0.03)) * 200) / 200,
        });
      }
      for (const f of b.fp)
        out.push({
          image_id: b.im.id,
          category_id: f.cat,
          bbox: [f.box[0] + rng.normal(0, 2), f.box[1] + rng.normal(0, 2), f.box[2], f.box[3]],
          score: Math.round(f.score * (1 + rng.normal(0, 0.05)) * 500) / 500,
        });
    }
    return out;
  });
  return {
    gt: { images: imgs, categories, annotations: anns } as CocoGroundTruth,
    shifts: shiftList,
    dets,
    maxPasses: 5,
  };
}

/**
 * The realistic, slow case of the greedy search (bench:metrics' default 'jitter' data,
 * small): a detector's output per image (3 boxes per gt with their own offsets, false
 * positives) is drawn once, and every shift's detections are drawn from it
 * independently — each coordinate moves by N(0, 1.5 px), each score by N(0, 0.05)
 * (rounded to 1/1000, so equal scores occur) — so every detection's box, score, rank
 * and status change from shift to shift.
 */
export function jitterCase(seed: number, images: number, cats: number, shifts: number): BoundsCase {
  const rng = new Rng(seed);
  const shiftList: Shift[] = Array.from({ length: shifts }, (_, s) => ({ dx: s % 2, dy: Math.floor(s / 2) }));
  const imgs = Array.from({ length: images }, (_, i) => ({
    id: 5 + 3 * i,
    file_name: `${i}.png`,
    width: 300,
    height: 300,
  }));
  const categories = Array.from({ length: cats }, (_, c) => ({ id: c + 1, name: `c${c + 1}` }));
  const anns: CocoAnnotation[] = [];
  let aid = 1;
  for (const im of imgs) {
    const n = rng.int(0, 5);
    for (let k = 0; k < n; k++) {
      const w = Math.exp(rng.uniform(Math.log(8), Math.log(150)));
      const h = w * Math.exp(rng.uniform(-0.5, 0.5));
      const iscrowd = rng.next() < 0.03 ? 1 : 0;
      anns.push({
        id: aid++,
        image_id: im.id,
        category_id: rng.int(1, cats),
        bbox: [rng.uniform(0, 140), rng.uniform(0, 140), w, h],
        area: w * h,
        iscrowd,
      });
    }
  }
  type Box = [number, number, number, number];
  const base = imgs.map((im) => {
    const own = anns.filter((a) => a.image_id === im.id);
    const boxes: { cat: number; box: Box; score: number }[] = [];
    for (const a of own) {
      for (let k = 0; k < 3; k++) {
        const sd = 0.06 * (k + 1) * a.bbox[2];
        const box: Box = [
          a.bbox[0] + rng.normal(0, sd),
          a.bbox[1] + rng.normal(0, sd),
          Math.max(1, a.bbox[2] + rng.normal(0, sd)),
          Math.max(1, a.bbox[3] + rng.normal(0, sd)),
        ];
        boxes.push({ cat: a.category_id, box, score: rng.uniform(0.4, 1) - 0.15 * k });
      }
    }
    for (let k = rng.int(0, 12); k > 0; k--) {
      boxes.push({
        cat: rng.int(1, cats),
        box: [rng.uniform(0, 200), rng.uniform(0, 200), rng.uniform(5, 80), rng.uniform(5, 80)],
        score: rng.uniform(0.001, 0.3),
      });
    }
    return { im, boxes };
  });
  const j = () => rng.normal(0, 1.5);
  const dets: CocoResult[][] = shiftList.map(() => {
    const out: CocoResult[] = [];
    for (const b of base) {
      for (const { cat, box, score } of b.boxes) {
        const s = Math.min(1, Math.max(0.001, Math.round((score + rng.normal(0, 0.05)) * 1000) / 1000));
        out.push({
          image_id: b.im.id,
          category_id: cat,
          bbox: [box[0] + j(), box[1] + j(), Math.max(1, box[2] + j()), Math.max(1, box[3] + j())],
          score: s,
        });
      }
    }
    return out;
  });
  return {
    gt: { images: imgs, categories, annotations: anns } as CocoGroundTruth,
    shifts: shiftList,
    dets,
    maxPasses: 5,
  };
}
