/** Argument parsing shared by the mitigations, with the uniform error text. */
import { invalidParameterError } from '../core/errors.js';

/** Parses a finite number in [min, max] from a mitigation argument; throws ERR_INVALID_OPTION naming the mitigation. */
export function parseNumberArg(name: string, arg: string, what: string, min: number, max: number): number {
  const n = arg.trim() === '' ? NaN : Number(arg);
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
