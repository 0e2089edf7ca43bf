/** Command-line flags of the benchmarks (`npm run bench:… -- --images 500`). */

/** A positive integer flag, or `def` when absent; throws naming the flag on anything else. */
export function intArg(name: string, def: number): number {
  const i = process.argv.indexOf(name);
  if (i < 0) return def;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v < 1)
    throw new Error(`Expected a positive integer for ${name} but received ${process.argv[i + 1]}`);
  return v;
}

/** A string flag, or `def` when absent. */
export function strArg(name: string, def: string): string {
  const i = process.argv.indexOf(name);
  return i < 0 ? def : process.argv[i + 1];
}
