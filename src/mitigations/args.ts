/** Argument parsing shared by the mitigations, with the uniform error text. */
import { invalidParameterError } from '../core/errors.js';

/** A decimal number: optional sign, digits with an optional fraction (or a fraction alone), optional exponent. */
const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/** Parses a finite number in [min, max] from a mitigation argument; throws ERR_INVALID_OPTION naming the mitigation. */
export function parseNumberArg(name: string, arg: string, what: string, min: number, max: number): number {
  // a decimal number only (Number() alone would also read "0x1", "0b1", " 1 " and "Infinity")
  const n = DECIMAL.test(arg) ? Number(arg) : NaN;
  if (!Number.isFinite(n) || n < min || n > max) {
    throw invalidParameterError(
      `mitigation ${name}`,
      `${what} from ${min} to ${max} (e.g. ${name}:${min === 0 ? 1 : min})`,
      arg,
    );
  }
  return n;
}

/** Formats a number for a canonical spec: shortest round-trip text ("1.5", "2"). */
export function formatNumber(n: number): string {
  return String(n);
}
