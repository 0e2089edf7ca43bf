/**
 * Bad flag values as a user types them (or a script passes an unset variable, `--seed "$SEED"`): each is a usage
 * error (exit 2) naming the flag, never read as some number the user did not give.
 */
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

describe('numeric flags refuse an empty or blank value', () => {
  it('run --seed "" and --score-threshold " " are usage errors naming the flag, not 0', async () => {
    const seed = await runCli(['run', '--model', 'fake-exact', '--dataset', 'nowhere', '--seed', '', '-q']);
    expect(seed.stderr).toBe('shiftbench: Expected an integer from 0 to 4294967295 for --seed but received ""\n');
    expect(seed.code).toBe(2);
    const tau = await runCli(['run', '--model', 'fake-exact', '--dataset', 'nowhere', '--score-threshold', ' ', '-q']);
    expect(tau.stderr).toBe('shiftbench: Expected a number in [0, 1] for --score-threshold but received " "\n');
    expect(tau.code).toBe(2);
  });

  it('export --pad-value ",," is a usage error naming the flag, not black', async () => {
    const r = await runCli([
      'export',
      '--dataset',
      'nowhere',
      '--input-size',
      '8x8',
      '--pad-value',
      ',,',
      '--out',
      'x',
    ]);
    expect(r.stderr).toBe(
      'shiftbench: Expected R,G,B with integers from 0 to 255, e.g. 114,114,114 for --pad-value but received ",,"\n',
    );
    expect(r.code).toBe(2);
  });
});
