/**
 * A `node:fs/promises` whose `rename` "dies" on cue, for tests that kill a command at each rename in turn (vi.mock
 * factories of rescoreKill.test.ts and experimentSummary.test.ts).
 */

/** While armed (`under` set): renames into `under` left before the process dies; `seen` counts them. */
export interface RenameKill {
  under: string;
  left: number;
  seen: number;
}

/** The module with `rename` replaced: a rename into `kill.under` with none left throws `killed (SIGKILL) <when>`. */
export async function fsWithDyingRename(
  importOriginal: <T>() => Promise<T>,
  kill: RenameKill,
  when: string,
): Promise<Record<string, unknown>> {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  const rename = (async (from: unknown, to: unknown) => {
    if (kill.under && typeof to === 'string' && to.startsWith(kill.under)) {
      kill.seen++;
      if (kill.left <= 0) throw new Error(`killed (SIGKILL) ${when}`);
      kill.left--;
    }
    return real.rename(from as string, to as string);
  }) as typeof real.rename;
  return { ...real, default: { ...real, rename }, rename };
}
