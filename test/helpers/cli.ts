/**
 * The shiftbench CLI as separate processes, run from the TypeScript source (tsx): `runCli`
 * spawns one, and `writeCliShim` writes a `shiftbench` executable into a folder, for tests
 * that run shell command lines (the scale recipes) with that folder on PATH.
 */
import { spawn, type ChildProcess } from 'node:child_process';
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

/** A process started by startProcess: the child (to signal), what it wrote so far, and how it ended. */
export interface Started {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves when it exits (code, or the signal that killed it); a failure to start is code −1. Never rejects. */
  done: Promise<Finished & { signal: NodeJS.Signals | null }>;
}

/** Where and as whom a process runs (uid/gid: another user, e.g. for a read-only directory when tests run as root). */
export interface ProcessOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  uid?: number;
  gid?: number;
}

/** Starts a command, collecting its output. */
export function startProcess(command: string, args: string[], opts: ProcessOptions = {}): Started {
  const child = spawn(command, args, {
    cwd: opts.cwd ?? REPO_ROOT,
    env: opts.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(opts.uid !== undefined ? { uid: opts.uid, gid: opts.gid ?? opts.uid } : {}),
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const done = new Promise<Finished & { signal: NodeJS.Signals | null }>((resolve) => {
    child.on('error', (err) => resolve({ code: -1, signal: null, stdout, stderr: stderr + String(err) }));
    child.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, stdout: () => stdout, stderr: () => stderr, done };
}

/** Runs a command and collects its output; never rejects. */
export async function runProcess(command: string, args: string[], opts: ProcessOptions = {}): Promise<Finished> {
  const { code, stdout, stderr } = await startProcess(command, args, opts).done;
  return { code, stdout, stderr };
}

/** `shiftbench ARGS…` as a separate process, started. */
export function startCli(args: string[], opts: ProcessOptions = {}): Started {
  return startProcess(process.execPath, ['--import', TSX_LOADER, CLI_ENTRY, ...args], opts);
}

/** `shiftbench ARGS…` as a separate process, to its end. */
export function runCli(args: string[], opts: ProcessOptions = {}): Promise<Finished> {
  return runProcess(process.execPath, ['--import', TSX_LOADER, CLI_ENTRY, ...args], opts);
}

/** The arguments of `shiftbench run --plugin PLUGIN --model MODEL --dataset DATASET --out OUT --bootstrap 20 -q …extra`. */
export function pluginRunArgs(plugin: string, model: string, dataset: string, out: string, extra: string[] = []) {
  return [
    'run',
    '--plugin',
    plugin,
    '--model',
    model,
    '--dataset',
    dataset,
    '--out',
    out,
    '--bootstrap',
    '20',
    '-q',
    ...extra,
  ];
}

/** Waits until `ok()` holds (polling every 20 ms), at most `ms`. */
export async function until(ok: () => boolean, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}

/** A slow plug-in detector (plain-object plug-in, 60 ms a batch) that finds nothing: a run to stop midway. */
export const SLOW_PLUGIN = `
export default {
  apiVersion: 1,
  name: 'slow',
  detectors: {
    sleepy: () => ({
      info: { name: 'sleepy', family: { stages: 'one-stage', anchors: 'anchor-free' }, inputSizePx: { width: 32, height: 32 }, classes: [{ id: 1, name: 'disc' }, { id: 2, name: 'square' }] },
      detect: async (batch) => { await new Promise((r) => setTimeout(r, 60)); return batch.map(() => []); },
      dispose: async () => {},
    }),
  },
};
`;

/** Writes `<dir>/shiftbench` (runs the CLI from source) and returns `dir`, to put first on PATH. */
export async function writeCliShim(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, 'shiftbench');
  await writeFile(file, `#!/bin/sh\nexec "${process.execPath}" --import "${TSX_LOADER}" "${CLI_ENTRY}" "$@"\n`);
  await chmod(file, 0o755);
  return dir;
}
