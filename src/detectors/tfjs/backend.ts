/**
 * TF.js backend selection: one backend per process, chosen once at start and
 * reported (name, threads, versions) for the run manifest.
 *
 * - `tfjs-node-gpu` / `tfjs-node`: optional peer packages (native libtensorflow);
 *   detected at run time with a dynamic import, never required.
 * - `wasm`: `@tensorflow/tfjs-backend-wasm`, its `.wasm` binaries read from the
 *   package's own `dist/` folder, so it works offline.
 * - `cpu`: the plain JS backend, always available (slow).
 */
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { ShiftbenchError, invalidParameterError, loadError } from '../../core/errors.js';
import { OPTION_FLAGS } from '../../core/messages.js';
import type { Logger } from '../../core/types.js';

export const TFJS_BACKENDS = ['auto', 'tfjs-node-gpu', 'tfjs-node', 'wasm', 'cpu'] as const;
export type TfjsBackendName = (typeof TFJS_BACKENDS)[number];

/** What was chosen, for the run manifest. */
export interface BackendInfo {
  /** Our name of the backend: 'tfjs-node-gpu' | 'tfjs-node' | 'wasm' | 'cpu'. */
  backend: string;
  /** Threads the backend computes with (1 for wasm in Node, which has no worker threads). */
  threads: number;
  /** Versions of the packages involved, e.g. "tfjs-core 4.22.0, tfjs-backend-wasm 4.22.0". */
  version: string;
}

export interface SelectBackendOptions {
  /** Threads to ask for (default: number of CPU cores). Honoured where the backend supports it. */
  threads?: number;
  logger?: Logger;
}

/** TF.js's own name of the backend for each of ours. */
const TF_NAME: Record<Exclude<TfjsBackendName, 'auto'>, string> = {
  'tfjs-node-gpu': 'tensorflow',
  'tfjs-node': 'tensorflow',
  wasm: 'wasm',
  cpu: 'cpu',
};

const INSTALL_HINT: Record<Exclude<TfjsBackendName, 'auto'>, string> = {
  'tfjs-node-gpu':
    'Install the optional peer: npm install @tensorflow/tfjs-node-gpu@^4.22.0 (needs CUDA; its install downloads ' +
    'libtensorflow)',
  'tfjs-node':
    'Install the optional peer: npm install @tensorflow/tfjs-node@^4.22.0 (its install downloads libtensorflow)',
  wasm: 'Reinstall the dependency: npm install @tensorflow/tfjs-backend-wasm@^4.22.0',
  cpu: 'Reinstall the dependency: npm install @tensorflow/tfjs@^4.22.0',
};

let chosen: BackendInfo | null = null;
let pending: Promise<BackendInfo> | null = null;
let wasmConfigured = false;

/** The backend chosen in this process, or null before `selectBackend` ran. */
export function currentBackend(): BackendInfo | null {
  return chosen;
}

/**
 * Chooses and initialises the TF.js backend for this process.
 *
 * `auto` (default) prefers `tfjs-node-gpu`, then `tfjs-node` when those optional
 * peers are importable, else `wasm`, else `cpu`. Calling again with `auto` or the
 * same name returns the backend already chosen; asking for a different one
 * switches (with a warning) — models loaded before keep working but slowly, so
 * load detectors after choosing.
 *
 * Also switches TF.js to production mode so it does not write to the console.
 * @throws ShiftbenchError ERR_INVALID_OPTION for an unknown name or bad `threads`;
 *   ERR_MODEL_LOAD (with how to install it) when an explicitly requested backend is unavailable.
 */
export async function selectBackend(name: string = 'auto', opts: SelectBackendOptions = {}): Promise<BackendInfo> {
  if (!TFJS_BACKENDS.includes(name as TfjsBackendName)) {
    throw invalidParameterError(OPTION_FLAGS.backend, `one of ${TFJS_BACKENDS.join(', ')}`, name);
  }
  if (opts.threads !== undefined && !(Number.isInteger(opts.threads) && opts.threads >= 1 && opts.threads <= 256)) {
    throw invalidParameterError(`${OPTION_FLAGS.threads} (TF.js models)`, 'an integer from 1 to 256', opts.threads);
  }
  // Serialise concurrent calls: backend initialisation is global state.
  while (pending) await pending.catch(() => undefined);
  if (
    chosen &&
    (name === 'auto' || name === chosen.backend) &&
    tf.getBackend() === TF_NAME[chosen.backend as keyof typeof TF_NAME]
  ) {
    return chosen;
  }
  pending = doSelect(name as TfjsBackendName, opts);
  try {
    const info = await pending;
    if (chosen && chosen.backend !== info.backend) {
      opts.logger?.warn(
        `TF.js backend switched from ${chosen.backend} to ${info.backend} in one process; timings of models loaded ` +
          `before are not comparable.`,
      );
    }
    chosen = info;
    return info;
  } finally {
    pending = null;
  }
}

async function doSelect(name: TfjsBackendName, opts: SelectBackendOptions): Promise<BackendInfo> {
  tf.enableProdMode();
  const threads = opts.threads ?? os.cpus().length;
  const candidates: Exclude<TfjsBackendName, 'auto'>[] =
    name === 'auto' ? ['tfjs-node-gpu', 'tfjs-node', 'wasm', 'cpu'] : [name];
  const failures: string[] = [];
  for (const candidate of candidates) {
    try {
      const info = await tryBackend(candidate, threads, opts.logger);
      opts.logger?.debug?.(`TF.js backend: ${info.backend}, ${info.threads} thread(s), ${info.version}`);
      return info;
    } catch (err) {
      failures.push(`${candidate}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
      if (name !== 'auto') {
        throw loadError(
          'ERR_MODEL_LOAD',
          `the TF.js backend "${candidate}"`,
          [INSTALL_HINT[candidate], 'Or choose another backend: --backend auto | wasm | cpu'],
          err,
        );
      }
      opts.logger?.debug?.(`TF.js backend ${candidate} unavailable: ${failures[failures.length - 1]}`);
    }
  }
  throw loadError('ERR_MODEL_LOAD', 'any TF.js backend', [`Tried: ${failures.join('; ')}`, INSTALL_HINT.wasm]);
}

/** Dynamic import whose specifier TypeScript does not resolve (optional peers may be absent). */
async function importOptional(specifier: string): Promise<Record<string, unknown>> {
  return (await import(specifier)) as Record<string, unknown>;
}

function coreVersion(): string {
  return `tfjs-core ${tf.version_core}`;
}

async function tryBackend(
  name: Exclude<TfjsBackendName, 'auto'>,
  threads: number,
  logger?: Logger,
): Promise<BackendInfo> {
  switch (name) {
    case 'tfjs-node-gpu':
    case 'tfjs-node': {
      // libtensorflow reads its thread pool sizes from the environment when it starts.
      process.env.TF_NUM_INTRAOP_THREADS ??= String(threads);
      process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
      const pkg = `@tensorflow/${name}`;
      const mod = await importOptional(pkg);
      if (!(await tf.setBackend('tensorflow')))
        throw new Error(`${pkg} loaded but its "tensorflow" backend did not initialise`);
      const v = (mod.version as Record<string, string> | undefined)?.[name] ?? 'unknown';
      return {
        backend: name,
        threads: Number(process.env.TF_NUM_INTRAOP_THREADS),
        version: `${coreVersion()}, ${name} ${v}`,
      };
    }
    case 'wasm': {
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      const distDir =
        path.dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm/package.json')) + '/dist/';
      if (!wasmConfigured) {
        // Paths and threads must be set before the backend initialises; once initialised they are fixed.
        wasm.setWasmPaths(distDir);
        wasm.setThreadsCount(threads);
        wasmConfigured = true;
      }
      // The emscripten runtime adds process listeners that rethrow every uncaught error and
      // print its whole minified source; take back the ones added during initialisation.
      const before = {
        uncaught: process.listeners('uncaughtException'),
        rejection: process.listeners('unhandledRejection'),
      };
      const ok = await tf.setBackend('wasm');
      for (const l of process.listeners('uncaughtException'))
        if (!before.uncaught.includes(l)) process.removeListener('uncaughtException', l);
      for (const l of process.listeners('unhandledRejection'))
        if (!before.rejection.includes(l)) process.removeListener('unhandledRejection', l);
      if (!ok) throw new Error('the wasm backend did not initialise');
      let actual = 1;
      try {
        actual = wasm.getThreadsCount();
      } catch {
        /* not reported before init */
      }
      if (threads > 1 && actual < threads) {
        logger?.debug?.(
          `wasm backend runs ${actual} thread(s): Node has no SharedArrayBuffer workers for it (asked for ${threads}).`,
        );
      }
      return { backend: 'wasm', threads: actual, version: `${coreVersion()}, tfjs-backend-wasm ${wasm.version_wasm}` };
    }
    case 'cpu': {
      if (!(await tf.setBackend('cpu'))) throw new Error('the cpu backend did not initialise');
      return { backend: 'cpu', threads: 1, version: coreVersion() };
    }
  }
}

/** Throws if the active TF.js backend is not the one a detector was loaded on. */
export function assertBackend(expected: string): void {
  const active = tf.getBackend();
  if (active !== TF_NAME[expected as keyof typeof TF_NAME]) {
    throw new ShiftbenchError(
      'ERR_INTERNAL',
      `The TF.js backend changed from ${expected} to ${active} after the detector was loaded; ` +
        `reload the detector after choosing a backend.`,
    );
  }
}
