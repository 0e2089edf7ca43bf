/**
 * Shift sets (protocol §1): ordered lists of offsets in model-input pixels, always
 * starting with the reference s0 = (0, 0). Offsets are integers, or fractions
 * ("Fractional shifts": `frac:N` and decimals in explicit lists); `maxOffsetPx` (K) is
 * the largest offset rounded up to a whole pixel.
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

/** Largest N of `frac:N`: (N+1)² shifts stay within MAX_SHIFTS. */
export const MAX_FRAC_STEPS = 63;

const EXPECTED = 'a shift set like grid:1, line:63, frac:4 or 0,0;1,0';

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
 * - `frac:N` — every (i/N, j/N) with 0 ≤ i, j ≤ N, row-major (j outer, i inner): (N+1)² shifts, N in [1, 63];
 * - explicit `dx,dy;dx,dy;…` starting with `0,0`, e.g. `0,0;1,0;0,1;3,2` or `0,0;0.5,0`
 *   (decimals allowed).
 * K of grid/line is an integer in [1, 512]. Whitespace around numbers is ignored.
 * Throws ERR_INVALID_OPTION ("Expected a shift set like grid:1, line:63, frac:4 or 0,0;1,0 for --shifts but received
 * …").
 */
export function parseShiftSet(spec: string = DEFAULT_SHIFT_SPEC): ShiftSet {
  if (typeof spec !== 'string' || spec.trim() === '') throw badSpec(spec);
  const text = spec.trim();
  const preset = /^(grid|line)\s*:\s*(\d+)$/i.exec(text);
  const frac = /^frac\s*:\s*(\d+)$/i.exec(text);
  let shifts: Shift[];
  if (frac) {
    const n = Number(frac[1]);
    if (!Number.isInteger(n) || n < 1 || n > MAX_FRAC_STEPS) {
      throw badSpec(spec, `N must be an integer from 1 to ${MAX_FRAC_STEPS}`);
    }
    shifts = fracShifts(n);
  } else if (preset) {
    const kind = preset[1].toLowerCase();
    const k = Number(preset[2]);
    if (!Number.isInteger(k) || k < 1 || k > MAX_OFFSET_PX) {
      throw badSpec(spec, `K must be an integer from 1 to ${MAX_OFFSET_PX}`);
    }
    shifts = kind === 'grid' ? gridShifts(k) : lineShifts(k);
  } else if (/^[\d\s.,;+-]+$/.test(text)) {
    shifts = explicitShifts(spec, text);
  } else {
    throw badSpec(spec);
  }
  if (shifts.length > MAX_SHIFTS) throw badSpec(spec, `${shifts.length} shifts, at most ${MAX_SHIFTS} allowed`);
  let maxOffsetPx = 0;
  for (const s of shifts) maxOffsetPx = Math.max(maxOffsetPx, s.dx, s.dy);
  return { spec: text, shifts, maxOffsetPx: Math.ceil(maxOffsetPx) };
}

/** True when any offset of the set is not a whole pixel: all its inputs take the floating-point path. */
export function isFractionalSet(set: Pick<ShiftSet, 'shifts'>): boolean {
  return set.shifts.some((s) => !Number.isInteger(s.dx) || !Number.isInteger(s.dy));
}

function fracShifts(n: number): Shift[] {
  const out: Shift[] = [];
  for (let j = 0; j <= n; j++) for (let i = 0; i <= n; i++) out.push({ dx: i / n, dy: j / n });
  return out;
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
    const m = /^([+-]?\d+(?:\.\d+)?)\s*,\s*([+-]?\d+(?:\.\d+)?)$/.exec(part);
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

/** File-name-safe label of an integer shift, e.g. `shift_1_0` (fractional sets use shiftFileStem). */
export function shiftLabel(s: Shift): string {
  return `shift_${s.dx}_${s.dy}`;
}

/**
 * The stem of a per-shift file name: `shift_<dx>_<dy>` for integer sets (as always),
 * `shift_<index>` (index in the set) for sets holding fractions, whose offsets would make
 * ambiguous, unportable names; the offsets are listed in the JSON beside the files.
 */
export function shiftFileStem(set: Pick<ShiftSet, 'shifts'>, index: number): string {
  return isFractionalSet(set) ? `shift_${index}` : shiftLabel(set.shifts[index]);
}

/**
 * One offset as a short label: whole numbers as they are, fractions as `n/d` with the
 * smallest denominator up to 64 (`0.25` → `1/4`, `1/3` → `1/3`), anything else as a decimal.
 */
export function offsetLabel(valuePx: number): string {
  if (Number.isInteger(valuePx)) return String(valuePx);
  for (let d = 2; d <= 64; d++) {
    const n = Math.round(valuePx * d);
    if (Math.abs(valuePx * d - n) < 1e-9) return `${n}/${d}`;
  }
  return String(Number(valuePx.toFixed(6)));
}

/** A shift as `(dx, dy)` with offsetLabel's fractions, e.g. `(1/4, 0)`. */
export function shiftOffsetsLabel(s: Shift): string {
  return `(${offsetLabel(s.dx)}, ${offsetLabel(s.dy)})`;
}
