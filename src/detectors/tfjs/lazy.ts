/**
 * The TF.js adapter's public entry points for `src/index.ts`, importing TF.js only when
 * called: loading `@tensorflow/tfjs` takes about a second, which ONNX-only runs and the
 * CLI's start should not pay. Same signatures and errors as `./index.ts`.
 */
import { refuseUnknownFields } from '../../core/errors.js';
import type { Detector, LoadDetectorOptions, ModelEntry } from '../../core/types.js';
import type { BackendInfo, SelectBackendOptions } from './backend.js';

export type { BackendInfo, SelectBackendOptions, TfjsBackendName } from './backend.js';

/** Every field of SelectBackendOptions (the compiler checks the list is complete and has no other). */
const SELECT_BACKEND_OPTION_FIELDS: Record<keyof SelectBackendOptions, true> = { threads: true, logger: true };

/**
 * Chooses the TF.js backend for this process (`auto` | `tfjs-node-gpu` | `tfjs-node` |
 * `wasm` | `cpu`); see `selectBackend` in `./backend.ts`.
 * @throws ShiftbenchError ERR_INVALID_OPTION (unknown name, bad threads), ERR_MODEL_LOAD (requested backend not
 * installed).
 */
export async function selectBackend(name: string = 'auto', opts: SelectBackendOptions = {}): Promise<BackendInfo> {
  // a misspelt option is refused before TF.js is imported (about a second)
  refuseUnknownFields(opts, SELECT_BACKEND_OPTION_FIELDS, 'backend options');
  return (await import('./index.js')).selectBackend(name, opts);
}

/**
 * Loads a `tfjs-graph` or `coco-ssd` detector from `dir`; see `loadTfjsDetector` in `./index.ts`.
 * @throws ShiftbenchError ERR_MODEL_LOAD, ERR_MODEL_OUTPUT, ERR_REGISTRY, ERR_NETWORK, ERR_INVALID_OPTION.
 */
export async function loadTfjsDetector(
  entry: ModelEntry,
  dir: string,
  opts: LoadDetectorOptions = {},
): Promise<Detector> {
  return (await import('./index.js')).loadTfjsDetector(entry, dir, opts);
}
