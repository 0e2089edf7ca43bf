/** bench:metrics: the workers' answer against the one-thread answer is only compared when workers ran. */
import { describe, expect, it } from 'vitest';
import { workersIdenticalToOneThread } from '../../bench/metricsCompare.js';

const a = { mapLower: 0.1, mapUpper: 0.2, assignLower: [0, 1] };
const b = { mapLower: 0.1, mapUpper: 0.2000000001, assignLower: [0, 1] };

describe('bench:metrics workers against one thread', () => {
  it('compares when the searches ran in the workers', () => {
    expect(workersIdenticalToOneThread({ skipWorkers: false, fallback: null }, a, { ...a })).toBe(true);
    expect(workersIdenticalToOneThread({ skipWorkers: false, fallback: null }, b, a)).toBe(false);
  });

  it('is null (no comparison) when the workers fell back to this thread: one thread against one thread cannot differ', () => {
    expect(workersIdenticalToOneThread({ skipWorkers: false, fallback: 'no build' }, a, a)).toBeNull();
    expect(workersIdenticalToOneThread({ skipWorkers: true, fallback: null }, a, a)).toBeNull();
  });

  it('is null without a one-thread run', () => {
    expect(workersIdenticalToOneThread({ skipWorkers: false, fallback: null }, a, null)).toBeNull();
  });
});
