/**
 * The TF.js adapter: loads `tfjs-graph` models (CenterNet, NanoDet, user models) and
 * `coco-ssd` from local files, on the backend chosen once per process.
 */
import path from 'node:path';
import { invalidParameterError } from '../../core/errors.js';
import type { Detector, LoadDetectorOptions, ModelEntry } from '../../core/types.js';
import { currentBackend, selectBackend, TFJS_BACKENDS } from './backend.js';
import { COCO_SSD_MODEL_FILE, resolveCocoSsdDir } from './cocoSsd.js';
import { createTfjsDecoder } from './decoders.js';
import { createGraphDetector } from './graphDetector.js';
import { applyGraphRewrite, loadGraphFromFiles, readTfjsGraphFiles } from './graphFiles.js';

export {
  selectBackend,
  currentBackend,
  TFJS_BACKENDS,
  type BackendInfo,
  type SelectBackendOptions,
  type TfjsBackendName,
} from './backend.js';
export {
  createTfjsDecoder,
  TFJS_DECODERS,
  createCenternetDecoder,
  createSsdDecoder,
  type TfjsDecoder,
} from './decoders.js';
export { readTfjsGraphFiles, applyGraphRewrite, type TfjsGraphFiles } from './graphFiles.js';
export { TFJS_DYNAMIC_MAX_BATCH } from './graphDetector.js';
export { resolveCocoSsdDir } from './cocoSsd.js';

/** Backend names other runtimes use that mean the same TF.js backend. */
const BACKEND_ALIASES: Record<string, string> = { cuda: 'tfjs-node-gpu', gpu: 'tfjs-node-gpu', native: 'tfjs-node' };

/** The backend `opts.backend` asks for (aliases resolved, default auto); ERR_INVALID_OPTION naming --backend. */
function requestedBackend(opts: LoadDetectorOptions): string {
  const requested = opts.backend === undefined ? 'auto' : (BACKEND_ALIASES[opts.backend] ?? opts.backend);
  if (!TFJS_BACKENDS.includes(requested as never)) {
    throw invalidParameterError('--backend', `one of ${TFJS_BACKENDS.join(', ')} for TF.js models`, opts.backend);
  }
  return requested;
}

/**
 * The backend a TF.js model loaded with `opts` runs on, for the run identity: a named one as named; `auto` as it
 * resolves in this process (the backend already chosen, else the first that initialises), so that a run made with
 * `auto` and one made with the backend it resolved to are the same detector.
 */
export async function identityBackend(opts: LoadDetectorOptions): Promise<string> {
  const requested = requestedBackend(opts);
  if (requested !== 'auto') return requested;
  return (currentBackend() ?? (await selectBackend('auto', { threads: opts.threads, logger: opts.logger }))).backend;
}

/**
 * Loads a TF.js detector for `entry` from `dir` (the folder holding `entry.files`; for
 * `coco-ssd` the cache folder, overridden by `opts.weightsDir`).
 *
 * Chooses the backend first (`opts.backend`, default `auto`: native if installed, else
 * wasm, else cpu), applies `opts.graphRewrite.tfjsGraph` to the model before loading,
 * and runs one warm-up inference. Detections are in model-input pixels; the default
 * score threshold is 0.001.
 * @throws ShiftbenchError ERR_INVALID_OPTION (unknown backend), ERR_MODEL_LOAD (missing or
 *   bad files, unavailable backend), ERR_MODEL_OUTPUT (outputs do not fit the decoder),
 *   ERR_REGISTRY (unknown decoder / params), ERR_NETWORK (coco-ssd weights unreachable).
 */
export async function loadTfjsDetector(
  entry: ModelEntry,
  dir: string,
  opts: LoadDetectorOptions = {},
): Promise<Detector> {
  if (entry.format !== 'tfjs-graph' && entry.format !== 'coco-ssd') {
    throw invalidParameterError(
      `format of model "${entry.name}"`,
      '"tfjs-graph" or "coco-ssd" for the TF.js adapter',
      entry.format,
    );
  }
  const requested = requestedBackend(opts);
  const decoder = createTfjsDecoder(entry.decoder);
  const backend = await selectBackend(requested, { threads: opts.threads, logger: opts.logger });

  let modelDir = dir;
  let modelFile = entry.files[0]?.name ?? COCO_SSD_MODEL_FILE;
  if (entry.format === 'coco-ssd') {
    modelDir = await resolveCocoSsdDir(entry, dir, opts);
    modelFile = COCO_SSD_MODEL_FILE;
  }
  const where = path.join(modelDir, modelFile);
  const files = applyGraphRewrite(await readTfjsGraphFiles(modelDir, modelFile), opts, where);
  const model = await loadGraphFromFiles(files, where);
  try {
    return await createGraphDetector({
      entry,
      model,
      decoder,
      backend,
      files: files.files,
      inputDtype: entry.format === 'coco-ssd' ? 'int32' : 'float32',
      where,
      opts,
      details: opts.graphRewrite?.tfjsGraph ? { graphRewritten: true } : undefined,
    });
  } catch (err) {
    model.dispose();
    throw err;
  }
}
