import { describe, expect, it } from 'vitest';
import { dominantPeriod } from '../../src/metrics/periodicity.js';

// perShift mAP along x of `run --model jitter --dataset coco128 --shifts line:8 --limit 12` (R²adj: p=2 −0.102,
// p=3 −0.140, p=4 +0.049)
const series = [
  0.6219959773755153, 0.8131048521518819, 0.7155631952084098, 0.7261367803447011, 0.790580207288128, 0.7688966813348002,
  0.7358641697503083, 0.6427039787312064, 0.711081774844151,
];

describe('dominantPeriod: the F-test reduction never lands on a period that explains no more than chance', () => {
  it('keeps the argmax (R²adj > 0) when its divisor has R²adj ≤ 0', () => {
    const f = dominantPeriod(series)!;
    expect(f.maxR2adjPeriod).toBe(4);
    expect(f.period).toBe(4);
    expect(f.r2adj).toBeGreaterThan(0);
  });
  it('a series with no fit beyond chance reports the largest R²adj, not a smaller divisor', () => {
    // perShift mAP along y of the same run: every R²adj ≤ 0, the largest at p = 4
    const y = [
      0.6219959773755153, 0.8003656337856008, 0.7779909543152117, 0.795064173083975, 0.7306336546353047,
      0.5781148734531573, 0.784659001156526, 0.7930004508387346, 0.7687107321843295,
    ];
    const f = dominantPeriod(y)!;
    expect(f.maxR2adjPeriod).toBe(4);
    expect(f.period).toBe(4);
    expect(f.r2adj).toBeCloseTo(-0.077, 3);
  });
});
