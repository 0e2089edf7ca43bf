#!/usr/bin/env node
/**
 * The shiftbench CLI entry: builds the commander program from one file per command
 * and turns errors into exit codes (2 = usage error, 1 = failure).
 */
import { Command, CommanderError } from 'commander';
import { ShiftbenchError, USAGE_ERROR_CODES } from '../core/errors.js';
import { COMMANDS } from './commands/index.js';
import { VERSION } from '../version.js';

async function main(argv: string[]): Promise<number> {
  const program = new Command('shiftbench')
    .description('How much do a detector\'s detections change when the input moves by one pixel?')
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage and an example)')
    .exitOverride();
  for (const register of COMMANDS) register(program);
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    return reportError(err);
  }
}

function reportError(err: unknown): number {
  if (err instanceof CommanderError) {
    // help and version end here too, with exit code 0
    if (err.exitCode === 0) return 0;
    return 2; // commander already printed the one-line reason
  }
  if (err instanceof ShiftbenchError) {
    process.stderr.write(`shiftbench: ${err.message}\n`);
    if (process.env.SHIFTBENCH_DEBUG && err.cause) process.stderr.write(`cause: ${String((err.cause as Error).stack ?? err.cause)}\n`);
    return USAGE_ERROR_CODES.has(err.code) ? 2 : 1;
  }
  process.stderr.write(`shiftbench: unexpected failure: ${(err as Error)?.stack ?? String(err)}\n`);
  return 1;
}

main(process.argv).then((code) => {
  process.exitCode = code;
});
