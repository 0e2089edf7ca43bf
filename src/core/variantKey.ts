/**
 * A detector variant's key is its plain detector's key, then `+` and the mitigation spec (runBenchmark). Two model files
 * named alike have keys `best` and `best#2` but one display name, so a variant finds its plain detector by key.
 */

/** The key of a variant's plain detector (the key itself for a plain one): the variants of one model share it. */
export function plainKeyOf(variant: { key: string; mitigation: string | null }): string {
  const { key, mitigation } = variant;
  return mitigation === null ? key : key.slice(0, key.length - mitigation.length - 1);
}
