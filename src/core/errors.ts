/**
 * The one error class of shiftbench. Every failure carries a stable `code` that
 * tests and callers can rely on, a message that names the file or option and the
 * fix, and optionally the underlying `cause`.
 */
import { ERROR_CODES } from './messages.js';

export type ErrorCode =
  | 'ERR_INVALID_OPTION'
  | 'ERR_DATASET'
  | 'ERR_MODEL_LOAD'
  | 'ERR_EXECUTION_PROVIDER'
  | 'ERR_MODEL_OUTPUT'
  | 'ERR_MODEL_HASH'
  | 'ERR_REGISTRY'
  | 'ERR_PLUGIN'
  | 'ERR_PLUGIN_TIMEOUT'
  | 'ERR_METRICS_INPUT'
  | 'ERR_RUN_STORE'
  | 'ERR_RUN_LOCKED'
  | 'ERR_OUTPUT'
  | 'ERR_NETWORK'
  | 'ERR_CANNOT_JUDGE'
  | 'ERR_EXPORT'
  | 'ERR_MERGE'
  | 'ERR_WORKER'
  | 'ERR_INTERNAL';

/** Error codes that are the user's mistake in how they called us (CLI exit code 2; the table is in messages.ts). */
export const USAGE_ERROR_CODES: ReadonlySet<ErrorCode> = new Set(
  (Object.keys(ERROR_CODES) as ErrorCode[]).filter((code) => ERROR_CODES[code].exitCode === 2),
);

export class ShiftbenchError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ShiftbenchError';
    this.code = code;
  }
}

/** The most elements of an array describeValue lists one by one. */
const LISTED_ARRAY_MAX = 8;

/**
 * Renders a value for an error message: short, JSON-ish, never huge. A short array of
 * numbers, strings, booleans, null or undefined is listed (`[10, NaN, 50, 50]`), so the
 * bad element shows; other arrays are described by their length.
 */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? value.slice(0, 77) + '...' : value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined)
    return String(value);
  if (Array.isArray(value)) {
    const scalar = (v: unknown) => v === null || ['number', 'string', 'boolean', 'undefined'].includes(typeof v);
    if (value.length > 0 && value.length <= LISTED_ARRAY_MAX && value.every(scalar)) {
      const listed = `[${value.map((v) => (typeof v === 'string' ? JSON.stringify(v) : String(v))).join(', ')}]`;
      if (listed.length <= 80) return listed;
    }
    return `an array of length ${value.length}`;
  }
  if (typeof value === 'function') return 'a function';
  try {
    const s = JSON.stringify(value);
    return s.length > 80 ? s.slice(0, 77) + '...' : s;
  } catch {
    return typeof value;
  }
}

/**
 * The uniform bad-option error: "Expected <what> for <name> but received <value>".
 * Defaults to code ERR_INVALID_OPTION.
 */
export function invalidParameterError(
  name: string,
  expected: string,
  actual: unknown,
  code: ErrorCode = 'ERR_INVALID_OPTION',
): ShiftbenchError {
  return new ShiftbenchError(code, `Expected ${expected} for ${name} but received ${describeValue(actual)}`);
}

/**
 * A load failure that gathers its causes: "Could not load X. Possible solutions: - a - b".
 */
export function loadError(code: ErrorCode, what: string, solutions: string[], cause?: unknown): ShiftbenchError {
  const lines = [`Could not load ${what}.`];
  if (cause instanceof Error && cause.message) lines[0] += ` ${cause.message}`;
  if (solutions.length > 0) lines.push('Possible solutions:', ...solutions.map((s) => `- ${s}`));
  return new ShiftbenchError(code, lines.join('\n'), { cause });
}

/**
 * Refuses a field of a library caller's options object that `fields` does not list (a misspelt
 * `scoreThreshhold` would otherwise be ignored for its default): ERR_INVALID_OPTION naming the
 * field and listing the allowed ones. `fields` is a `Record<keyof T, true>`, so the compiler
 * checks it lists every field of T and no other. Call it before anything is written.
 */
export function refuseUnknownFields<T>(
  options: T,
  fields: Record<keyof T, true>,
  what: string,
  name = 'options',
): void {
  if (typeof options !== 'object' || options === null) return; // the caller refuses a non-object its own way
  for (const key of Object.keys(options))
    if (!Object.hasOwn(fields, key))
      throw invalidParameterError(name, `only ${what} (${Object.keys(fields).join(', ')})`, key);
}
