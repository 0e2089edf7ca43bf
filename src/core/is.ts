/** Tiny type checks used by every validator, so bad input is reported the same way everywhere. */
export const is = {
  defined: (v: unknown): boolean => v !== undefined && v !== null,
  object: (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v),
  string: (v: unknown): v is string => typeof v === 'string' && v.length > 0,
  number: (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v),
  integer: (v: unknown): v is number => Number.isInteger(v),
  /** An integer that a 32-bit signed integer holds exactly (category ids: detection columns store them as Int32). */
  int32: (v: unknown): v is number => typeof v === 'number' && (v | 0) === v,
  inRange: (v: number, min: number, max: number): boolean => v >= min && v <= max,
  bool: (v: unknown): v is boolean => typeof v === 'boolean',
  fn: (v: unknown): v is (...args: unknown[]) => unknown => typeof v === 'function',
  inArray: <T>(v: unknown, list: readonly T[]): v is T => list.includes(v as T),
  box: (v: unknown): v is [number, number, number, number] =>
    Array.isArray(v) && v.length === 4 && v.every((x) => typeof x === 'number' && Number.isFinite(x)),
};
