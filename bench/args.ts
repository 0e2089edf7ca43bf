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

/** A string flag, or `def` when absent; throws naming the flag when its value is missing. */
export function strArg(name: string, def: string): string {
  const i = process.argv.indexOf(name);
  if (i < 0) return def;
  const v = process.argv[i + 1];
  if (v === undefined || v.startsWith('--'))
    throw new Error(`Expected a value for ${name} but received ${v ?? 'none'}`);
  return v;
}

/**
 * Refuses what a bench would silently ignore (and then run at its full-size defaults): a flag it does not read
 * (`values`: flags followed by a value, `switches`: flags alone), `--flag=value`, a value flag without its value,
 * and a stray value.
 */
export function checkArgs(
  spec: { values: string[]; switches?: string[] },
  argv: string[] = process.argv.slice(2),
): void {
  const switches = spec.switches ?? [];
  const known = [...spec.values, ...switches].join(', ');
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const eq = a.indexOf('=');
    if (a.startsWith('--') && eq > 0 && spec.values.includes(a.slice(0, eq)))
      throw new Error(`Expected "${a.slice(0, eq)} ${a.slice(eq + 1)}" (a space, not =) but received ${a}`);
    if (switches.includes(a)) continue;
    if (spec.values.includes(a)) {
      const v = argv[i + 1];
      if (v === undefined || v.startsWith('--'))
        throw new Error(`Expected a value for ${a} but received ${v ?? 'none'}`);
      i++;
      continue;
    }
    throw new Error(`Expected one of ${known || 'no flags'} but received ${a}`);
  }
}
