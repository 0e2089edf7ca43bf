/** README: "Every command has `--help` with an example." — every command and subcommand the CLI registers. */
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../src/cli/commands/index.js';

/** The full --help text of a command, as commander prints it (its own text and the text added after). */
function helpOf(cmd: Command): string {
  let out = '';
  cmd.configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (out += s) });
  cmd.outputHelp();
  return out;
}

function* allCommands(cmd: Command, prefix = ''): Generator<[string, Command]> {
  for (const c of cmd.commands) {
    const name = `${prefix}${c.name()}`;
    yield [name, c];
    yield* allCommands(c, `${name} `);
  }
}

describe('--help', () => {
  it('every command and subcommand shows an example', () => {
    const program = new Command('shiftbench');
    for (const register of COMMANDS) register(program);
    const names = [...allCommands(program)].map(([n]) => n);
    expect(names).toEqual(expect.arrayContaining(['run', 'models', 'models list', 'models pull', 'datasets']));
    const without = [...allCommands(program)].filter(([, c]) => !/Example/.test(helpOf(c))).map(([n]) => n);
    expect(without).toEqual([]);
  });
});
