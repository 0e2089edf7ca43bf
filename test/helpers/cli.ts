/**
 * The shiftbench CLI as separate processes, run from the TypeScript source (tsx): `runCli`
 * spawns one, and `writeCliShim` writes a `shiftbench` executable into a folder, for tests
 * that run shell command lines (the scale recipes) with that folder on PATH.
 */
import { spawn } from 'node:child_process';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT } from './shared.js';

/** The tsx loader, by absolute URL, so the CLI starts from any working directory. */
export const TSX_LOADER = pathToFileURL(path.join(REPO_ROOT, 'node_modules/tsx/dist/loader.mjs')).href;
/** The CLI entry (TypeScript source). */
export const CLI_ENTRY = path.join(REPO_ROOT, 'src/cli/index.ts');

/** What a finished process left. */
export interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command and collects its output; never rejects. */
export function runProcess(
  command: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<Finished> {
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      cwd: opts.cwd ?? REPO_ROOT,
      env: opts.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', (err) => resolve({ code: -1, stdout, stderr: stderr + String(err) }));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** `shiftbench ARGS…` as a separate process. */
export function runCli(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Finished> {
  return runProcess(process.execPath, ['--import', TSX_LOADER, CLI_ENTRY, ...args], opts);
}

/** Writes `<dir>/shiftbench` (runs the CLI from source) and returns `dir`, to put first on PATH. */
export async function writeCliShim(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, 'shiftbench');
  await writeFile(file, `#!/bin/sh\nexec "${process.execPath}" --import "${TSX_LOADER}" "${CLI_ENTRY}" "$@"\n`);
  await chmod(file, 0o755);
  return dir;
}
