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
  const imgs = Array.from({ length: images }, (_, i) => ({ id: 10 + 7 * i, file_name: `${i}.png`, width: 300, height: 300 }));
  const categories = Array.from({ length: cats }, (_, c) => ({ id: c + 1, name: `c${c + 1}` }));
  const anns: CocoAnnotation[] = [];
  let aid = 1;
  for (const im of imgs) {
    const n = rng.int(0, 5);
    for (let k = 0; k < n; k++) {
      const w = rng.uniform(10, 150), h = rng.uniform(10, 150);
      anns.push({ id: aid++, image_id: im.id, category_id: rng.int(1, cats), bbox: [rng.uniform(0, 140), rng.uniform(0, 140), w, h], area: w * h, iscrowd: rng.next() < 0.05 ? 1 : 0 });
    }
  }
  const base = imgs.map((im) => {
    const own = anns.filter((a) => a.image_id === im.id);
    const tp = own.flatMap((a) => [0, 1, 2].map((k) => ({ a, k, score: rng.uniform(0.4, 1) - 0.15 * k })));
    const fp = Array.from({ length: rng.int(0, 12) }, () => ({ cat: rng.int(1, cats), box: [rng.uniform(0, 200), rng.uniform(0, 200), rng.uniform(5, 80), rng.uniform(5, 80)], score: rng.uniform(0.001, 0.3) }));
    return { im, tp, fp };
  });
  const dets: CocoResult[][] = shiftList.map(() => {
    const out: CocoResult[] = [];
    for (const b of base) {
      for (const { a, k, score } of b.tp) {
        const sd = 0.06 * (k + 1) * a.bbox[2];
        out.push({ image_id: b.im.id, category_id: a.category_id, bbox: [a.bbox[0] + rng.normal(0, sd), a.bbox[1] + rng.normal(0, sd), Math.max(1, a.bbox[2] + rng.normal(0, sd)), Math.max(1, a.bbox[3] + rng.normal(0, sd))], score: Math.round((score + rng.normal(0, 0.03)) * 200) / 200 });
      }
      for (const f of b.fp) out.push({ image_id: b.im.id, category_id: f.cat, bbox: [f.box[0] + rng.normal(0, 2), f.box[1] + rng.normal(0, 2), f.box[2], f.box[3]], score: Math.round(f.score * (1 + rng.normal(0, 0.05)) * 500) / 500 });
    }
    return out;
  });
  return { gt: { images: imgs, categories, annotations: anns } as CocoGroundTruth, shifts: shiftList, dets, maxPasses: 5 };
}

