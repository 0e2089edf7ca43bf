import { describe, expect, it } from 'vitest';
import { describeValue } from '../../src/core/errors.js';

describe('describeValue', () => {
  it("shows a short array's content, so a bad element is visible", () => {
    expect(describeValue([10, NaN, 50, 50])).toBe('[10, NaN, 50, 50]');
    expect(describeValue([10, 10, Infinity, 50])).toBe('[10, 10, Infinity, 50]');
    expect(describeValue(['10', 10, 50, 50])).toBe('["10", 10, 50, 50]');
    expect(describeValue([300, -1, 0])).toBe('[300, -1, 0]');
    expect(describeValue([1, null, undefined, true])).toBe('[1, null, undefined, true]');
  });
  it('keeps long, nested or empty arrays short', () => {
    expect(describeValue([])).toBe('an array of length 0');
    expect(describeValue(Array.from({ length: 100 }, (_, i) => i))).toBe('an array of length 100');
    expect(describeValue([[0]])).toBe('an array of length 1');
    expect(describeValue([{ id: 1 }, { id: 2 }])).toBe('an array of length 2');
    expect(describeValue(['x'.repeat(100)])).toBe('an array of length 1');
  });
});
