/**
 * Shift sets (protocol §1): ordered lists of integer offsets in model-input pixels,
 * always starting with the reference s0 = (0, 0).
 *
 * Choices where the protocol is silent (documented in the README and pinned by tests):
 * - offsets are non-negative (0 ≤ dx, dy), as in every preset; a negative offset is an
 *   error, because `crop` takes its window at (K − dx, K − dy) inside a margin of K;
 * - an explicit list must *start* with `0,0` (it is not prepended silently, since that
 *   would renumber the user's shifts); duplicates are an error;
 * - a set has at least two shifts (one shift measures nothing) and at most
 *   `MAX_SHIFTS` (4096) with offsets ≤ `MAX_OFFSET_PX` (512).
 */
import { ShiftbenchError, describeValue } from '../core/errors.js';
import type { Shift, ShiftSet } from '../core/types.js';

export const MAX_SHIFTS = 4096;
export const MAX_OFFSET_PX = 512;
export const DEFAULT_SHIFT_SPEC = 'grid:1';

const EXPECTED = 'a shift set like grid:1, line:63 or 0,0;1,0';

function badSpec(spec: unknown, why?: string): ShiftbenchError {
  return new ShiftbenchError(
    'ERR_INVALID_OPTION',
    `Expected ${EXPECTED} for --shifts but received ${describeValue(spec)}${why ? ` (${why})` : ''}`,
  );
}

/**
 * Parses a shift-set spec:
 * - `grid:K` — every (dx, dy) with 0 ≤ dx, dy ≤ K, row-major (dy outer, dx inner): (K+1)² shifts;
 * - `line:K` — (0,0), (1,0)…(K,0), (0,1)…(0,K): 2K+1 shifts;
 * - explicit `dx,dy;dx,dy;…` starting with `0,0`, e.g. `0,0;1,0;0,1;3,2`.
 * K is an integer in [1, 512]. Whitespace around numbers is ignored.
 * Throws ERR_INVALID_OPTION ("Expected a shift set like grid:1, line:63 or 0,0;1,0 for --shifts but received …").
 */
export function parseShiftSet(spec: string = DEFAULT_SHIFT_SPEC): ShiftSet {
  if (typeof spec !== 'string' || spec.trim() === '') throw badSpec(spec);
  const text = spec.trim();
  const preset = /^(grid|line)\s*:\s*(\d+)$/i.exec(text);
  let shifts: Shift[];
  if (preset) {
    const kind = preset[1].toLowerCase();
    const k = Number(preset[2]);
    if (!Number.isInteger(k) || k < 1 || k > MAX_OFFSET_PX) {
      throw badSpec(spec, `K must be an integer from 1 to ${MAX_OFFSET_PX}`);
    }
    shifts = kind === 'grid' ? gridShifts(k) : lineShifts(k);
  } else if (/^[\d\s,;+-]+$/.test(text)) {
    shifts = explicitShifts(spec, text);
  } else {
    throw badSpec(spec);
  }
  if (shifts.length > MAX_SHIFTS) throw badSpec(spec, `${shifts.length} shifts, at most ${MAX_SHIFTS} allowed`);
  let maxOffsetPx = 0;
  for (const s of shifts) maxOffsetPx = Math.max(maxOffsetPx, s.dx, s.dy);
  return { spec: text, shifts, maxOffsetPx };
}

function gridShifts(k: number): Shift[] {
  const out: Shift[] = [];
  for (let dy = 0; dy <= k; dy++) for (let dx = 0; dx <= k; dx++) out.push({ dx, dy });
  return out;
}

function lineShifts(k: number): Shift[] {
  const out: Shift[] = [{ dx: 0, dy: 0 }];
  for (let dx = 1; dx <= k; dx++) out.push({ dx, dy: 0 });
  for (let dy = 1; dy <= k; dy++) out.push({ dx: 0, dy });
  return out;
}

function explicitShifts(spec: string, text: string): Shift[] {
  const parts = text.split(';').map((p) => p.trim());
  if (parts.length > 0 && parts[parts.length - 1] === '') parts.pop(); // allow a trailing ';'
  const shifts: Shift[] = [];
  const seen = new Set<string>();
  for (const part of parts) {
    const m = /^([+-]?\d+)\s*,\s*([+-]?\d+)$/.exec(part);
    if (!m) throw badSpec(spec, `"${part}" is not a pair dx,dy`);
    const dx = Number(m[1]);
    const dy = Number(m[2]);
    if (dx < 0 || dy < 0) throw badSpec(spec, `offsets must be ≥ 0, got ${dx},${dy}`);
    if (dx > MAX_OFFSET_PX || dy > MAX_OFFSET_PX) {
      throw badSpec(spec, `offsets must be ≤ ${MAX_OFFSET_PX}, got ${dx},${dy}`);
    }
    const key = `${dx},${dy}`;
    if (seen.has(key)) throw badSpec(spec, `shift ${key} appears twice`);
    seen.add(key);
    shifts.push({ dx, dy });
  }
  if (shifts.length === 0) throw badSpec(spec);
  if (shifts[0].dx !== 0 || shifts[0].dy !== 0) throw badSpec(spec, 'the list must start with the reference 0,0');
  if (shifts.length < 2) throw badSpec(spec, 'at least one shift besides 0,0 is needed');
  return shifts;
}

/** File-name-safe label of a shift, e.g. `shift_1_0`. */
export function shiftLabel(s: Shift): string {
  return `shift_${s.dx}_${s.dy}`;
}
