import { describe, expect, it } from 'vitest';
import { ShiftbenchError } from '../../src/core/errors.js';
import { parseShiftSet, shiftLabel } from '../../src/shifts/index.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return (e as ShiftbenchError).code;
  }
  return undefined;
}

describe('parseShiftSet', () => {
  it('grid:K is row-major (dy outer, dx inner) with (K+1)² shifts', () => {
    const s = parseShiftSet('grid:1');
    expect(s.shifts).toEqual([
      { dx: 0, dy: 0 },
      { dx: 1, dy: 0 },
      { dx: 0, dy: 1 },
      { dx: 1, dy: 1 },
    ]);
    expect(s.maxOffsetPx).toBe(1);
    expect(s.spec).toBe('grid:1');
    const g3 = parseShiftSet('grid:3');
    expect(g3.shifts).toHaveLength(16);
    expect(g3.shifts[5]).toEqual({ dx: 1, dy: 1 });
    expect(g3.shifts[15]).toEqual({ dx: 3, dy: 3 });
    expect(g3.maxOffsetPx).toBe(3);
  });

  it('line:K is (0,0), the x line, then the y line: 2K+1 shifts', () => {
    const s = parseShiftSet('line:3');
    expect(s.shifts).toEqual([
      { dx: 0, dy: 0 },
      { dx: 1, dy: 0 },
      { dx: 2, dy: 0 },
      { dx: 3, dy: 0 },
      { dx: 0, dy: 1 },
      { dx: 0, dy: 2 },
      { dx: 0, dy: 3 },
    ]);
    expect(parseShiftSet('line:63').shifts).toHaveLength(127);
    expect(parseShiftSet('line:63').maxOffsetPx).toBe(63);
  });

  it('defaults to grid:1', () => {
    expect(parseShiftSet().shifts).toHaveLength(4);
  });

  it('explicit lists keep their order and must start with 0,0', () => {
    const s = parseShiftSet('0,0;1,0;0,1;3,2');
    expect(s.shifts).toEqual([
      { dx: 0, dy: 0 },
      { dx: 1, dy: 0 },
      { dx: 0, dy: 1 },
      { dx: 3, dy: 2 },
    ]);
    expect(s.maxOffsetPx).toBe(3);
    expect(parseShiftSet(' 0, 0 ; 2 ,5; ').shifts).toEqual([
      { dx: 0, dy: 0 },
      { dx: 2, dy: 5 },
    ]);
    expect(() => parseShiftSet('1,0;0,0')).toThrowError(
      'Expected a shift set like grid:1, line:63, frac:4 or 0,0;1,0 for --shifts but received "1,0;0,0" (the list must start with the reference 0,0)',
    );
  });

  it('rejects bad specs with ERR_INVALID_OPTION and the uniform text', () => {
    expect(() => parseShiftSet('diag:3')).toThrowError(
      'Expected a shift set like grid:1, line:63, frac:4 or 0,0;1,0 for --shifts but received "diag:3"',
    );
    for (const bad of [
      '',
      'grid:',
      'grid:0',
      'grid:-1',
      'grid:1.5',
      'line:x',
      '0,0;1',
      '0,0;-1,0',
      '0,0;1,0;1,0',
      '0,0',
      'grid:600',
    ]) {
      expect(
        codeOf(() => parseShiftSet(bad)),
        bad,
      ).toBe('ERR_INVALID_OPTION');
    }
    expect(() => parseShiftSet('0,0;-1,0')).toThrowError(/offsets must be ≥ 0/);
    expect(() => parseShiftSet('0,0;1,0;1,0')).toThrowError(/appears twice/);
  });

  it('labels shifts for file names', () => {
    expect(shiftLabel({ dx: 3, dy: 12 })).toBe('shift_3_12');
  });
});
