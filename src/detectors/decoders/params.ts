/**
 * Validation of a registry entry's `decoder.params`: each read names the parameter,
 * the decoder and the expected value, and unknown keys are rejected (code ERR_REGISTRY).
 */
import { invalidParameterError, ShiftbenchError } from '../../core/errors.js';
import { is } from '../../core/is.js';

/** Parameters every decoder accepts. */
export const COMMON_PARAM_KEYS = ['iouThreshold', 'topK', 'preNmsTopK', 'multiLabel'] as const;

export class ParamReader {
  constructor(
    readonly decoder: string,
    readonly params: Record<string, unknown>,
    allowed: readonly string[],
  ) {
    if (!is.object(params))
      throw invalidParameterError(`decoder.params of decoder "${decoder}"`, 'an object', params, 'ERR_REGISTRY');
    const known = new Set([...allowed, ...COMMON_PARAM_KEYS]);
    for (const key of Object.keys(params)) {
      if (!known.has(key)) {
        throw new ShiftbenchError(
          'ERR_REGISTRY',
          `Unknown parameter decoder.params.${key} for decoder "${decoder}". Known: ${[...known].sort().join(', ')}`,
        );
      }
    }
  }
  private fail(key: string, expected: string): never {
    throw invalidParameterError(
      `decoder.params.${key} (decoder "${this.decoder}")`,
      expected,
      this.params[key],
      'ERR_REGISTRY',
    );
  }
  number(key: string, def: number, min = -Infinity, max = Infinity): number {
    const v = this.params[key];
    if (v === undefined) return def;
    if (!is.number(v) || v < min || v > max) this.fail(key, `a number in [${min}, ${max}]`);
    return v;
  }
  integer(key: string, def: number, min = 1, max = Number.MAX_SAFE_INTEGER): number {
    const v = this.params[key];
    if (v === undefined) return def;
    if (!is.integer(v) || (v as number) < min || (v as number) > max) this.fail(key, `an integer in [${min}, ${max}]`);
    return v as number;
  }
  bool(key: string, def: boolean): boolean {
    const v = this.params[key];
    if (v === undefined) return def;
    if (!is.bool(v)) this.fail(key, 'true or false');
    return v;
  }
  oneOf<T extends string>(key: string, values: readonly T[], def: T): T {
    const v = this.params[key];
    if (v === undefined) return def;
    if (!is.inArray(v, values)) this.fail(key, `one of ${values.map((x) => JSON.stringify(x)).join(', ')}`);
    return v as T;
  }
  /** A non-empty array of numbers (of `length` when given); `positive`: each > 0. */
  numbers(key: string, def: number[], length?: number, positive = false): number[] {
    const v = this.params[key];
    if (v === undefined) return def;
    const what = positive ? 'positive numbers' : 'numbers';
    if (
      !Array.isArray(v) ||
      !v.every((x) => is.number(x) && (!positive || x > 0)) ||
      (length !== undefined && v.length !== length) ||
      v.length === 0
    ) {
      this.fail(key, length !== undefined ? `an array of ${length} ${what}` : `a non-empty array of ${what}`);
    }
    return v as number[];
  }
  /** Feature strides in input pixels: a non-empty array of positive integers. */
  strides(def: number[]): number[] {
    const v = this.params.strides;
    if (v === undefined) return def;
    if (!Array.isArray(v) || v.length === 0 || !v.every((x) => is.integer(x) && (x as number) >= 1))
      this.fail('strides', 'positive integers');
    return v as number[];
  }
  /** The parameters every decoder takes: NMS IoU, pre-NMS top-k, multi-label candidates. */
  common(defaults: { iouThreshold: number | null; preNmsTopK?: number; multiLabel?: boolean }) {
    return {
      iouThreshold:
        defaults.iouThreshold === null && this.params.iouThreshold === undefined
          ? null
          : this.number('iouThreshold', defaults.iouThreshold ?? 0.6, 0, 1),
      preNmsTopK: this.integer('preNmsTopK', defaults.preNmsTopK ?? 3000, 1),
      topK: this.integer('topK', 100, 1),
      multiLabel: this.bool('multiLabel', defaults.multiLabel ?? true),
    };
  }
}
