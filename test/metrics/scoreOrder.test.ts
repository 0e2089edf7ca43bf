import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { ScoreOrderScratch, sortByScoreDesc } from '../../src/metrics/greedy/scoreOrder.js';

/** The order the bounds setup used before: a comparison sort by descending score, ties by position. */
function comparatorOrder(items: Int32Array, score: Float64Array): number[] {
  return Array.from(items.keys())
    .sort((a, b) => score[items[b]] - score[items[a]] || a - b)
    .map((p) => items[p]);
}

describe('sortByScoreDesc (the universes of the bounds setup)', () => {
  const kinds: Record<string, (rng: Rng) => number> = {
    'scores in [0, 1)': (rng) => rng.next(),
    'few distinct scores (many ties)': (rng) => [0, 0.25, 0.5, 0.5000000000000001, 1][rng.int(0, 4)],
    'negative, zero and −0, subnormal, huge': (rng) =>
      [-0, 0, -1e300, 1e300, 5e-324, -5e-324, -0.5, 0.5, -2, 2][rng.int(0, 9)],
    'wide range of magnitudes and signs': (rng) => (rng.next() - 0.5) * 10 ** rng.int(-30, 30),
  };
  for (const [name, draw] of Object.entries(kinds)) {
    it(`equals the comparison sort: ${name}`, () => {
      const rng = new Rng(name.length);
      const scratch = new ScoreOrderScratch();
      for (const n of [0, 1, 2, 3, 17, 300, 5000]) {
        const score = Float64Array.from({ length: n + 10 }, () => draw(rng));
        // ids in a scrambled order, as universes are (by image and shift, not by id)
        const items = Int32Array.from({ length: n }, (_, k) => (k * 7919) % (n + 10));
        const want = comparatorOrder(items, score);
        sortByScoreDesc(items, score, scratch);
        expect(Array.from(items)).toEqual(want);
      }
    });
  }
});
