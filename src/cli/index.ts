#!/usr/bin/env node
/**
 * The shiftbench CLI entry: builds the commander program from one file per command
 * and turns errors into exit codes (2 = usage error, 1 = failure).
 */
import { Command, CommanderError } from 'commander';
import { writeFailed } from '../core/atomicFile.js';
import { ShiftbenchError, USAGE_ERROR_CODES } from '../core/errors.js';
import { CLI_TEXT } from '../core/messages.js';
import { COMMANDS } from './commands/index.js';
import { VERSION } from '../version.js';
import { exitNow, getCommandExitCode } from './io.js';

async function main(argv: string[]): Promise<number> {
  const program = new Command('shiftbench')
    .description("How much do a detector's detections change when the input moves by one pixel?")
    .version(VERSION)
    .showHelpAfterError(CLI_TEXT.helpAfterError)
    .exitOverride();
  for (const register of COMMANDS) register(program);
  try {
    await program.parseAsync(argv);
    return getCommandExitCode();
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
    if (process.env.SHIFTBENCH_DEBUG && err.cause)
      process.stderr.write(`cause: ${String((err.cause as Error).stack ?? err.cause)}\n`);
    return USAGE_ERROR_CODES.has(err.code) ? 2 : 1;
  }
  const io = err as NodeJS.ErrnoException | undefined;
  if (io?.code !== undefined && FILE_SYSTEM_REFUSED.has(io.code)) {
    // a full disk, a file size limit, a read-only file system, a file where a folder should be: the file, the fix,
    // no stack trace (what is stored is kept)
    process.stderr.write(`shiftbench: ${writeFailed(io.path ?? 'a file of the run', io).message}\n`);
    if (process.env.SHIFTBENCH_DEBUG) process.stderr.write(`cause: ${io.stack}\n`);
    return 1;
  }
  process.stderr.write(`shiftbench: ${CLI_TEXT.unexpectedFailure}: ${(err as Error)?.stack ?? String(err)}\n`);
  return 1;
}

/** Errors of a write the machine refused (room, a read-only mount, a file in the path), not a defect of shiftbench. */
const FILE_SYSTEM_REFUSED = new Set(['ENOSPC', 'EDQUOT', 'EFBIG', 'EROFS', 'ENOTDIR', 'EACCES', 'EPERM']);

let finished = false;

// `shiftbench run … | head -1` (or stderr piped so): the reader went away; stop writing quietly (the work is done or
// stored) and keep the command's exit code, which an uncaught EPIPE would replace
for (const stream of [process.stdout, process.stderr])
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
  });

// A plug-in must not end the process: process.exit from its code becomes a plug-in failure
// (thrown where it was called, so the run fails with exit 1 and names the plug-in).
process.exit = ((code?: number | string | null) => {
  if (finished) return exitNow(Number(code ?? 0));
  throw new ShiftbenchError(
    'ERR_PLUGIN',
    `A plug-in called process.exit(${code ?? ''}); plug-ins must not end the process — throw an error from detect() ` +
      `or the factory instead.`,
  );
}) as typeof process.exit;

// The event loop emptied while a command was still waiting (a promise nobody settles,
// e.g. a plug-in factory that never resolves): that is a failure, never exit 0.
process.on('beforeExit', () => {
  if (finished) return;
  finished = true;
  process.stderr.write(`shiftbench: ${CLI_TEXT.neverSettled}\n`);
  process.exitCode = 1;
});

main(process.argv).then((code) => {
  finished = true;
  process.exitCode = code;
});
