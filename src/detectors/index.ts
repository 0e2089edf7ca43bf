/**
 * Detectors: one entry point, `loadDetector(spec, opts)`, for fakes, plug-ins, registry
 * models (ONNX, TF.js) and ad-hoc model files; plus the model registry, pulling, the
 * decoders and NMS for reuse.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ShiftbenchError } from '../core/errors.js';
import type { Detector, LoadDetectorOptions, ModelEntry } from '../core/types.js';
import { createFakeDetector, FAKE_NAMES, isFakeSpec } from './fakes.js';
import { createPluginDetector, findPluginDetector, loadPlugins, pluginDetectorNames } from './plugins.js';
import { modelDir, pullModel, sha256File } from './pull.js';
import { listModels, parseRegistry } from './registry.js';

export { createFakeDetector, FAKE_NAMES, FAKE_DEFAULT_INPUT_PX, JITTER_DEFAULTS, isFakeSpec } from './fakes.js';
export {
  readRegistry,
  parseRegistry,
  listModels,
  validateModelEntry,
  entryClasses,
  entryOrigin,
  builtinRegistryFiles,
  BUILTIN_REGISTRY_FILES,
  PACKAGE_ROOT,
} from './registry.js';
export { pullModel, isModelCached, modelDir, sha256File, DEFAULT_CACHE_DIR, type PullOptions } from './pull.js';
export { loadPlugins, findPluginDetector, createPluginDetector, pluginDetectorNames, DEFAULT_DETECT_TIMEOUT_MS, type LoadedPlugin } from './plugins.js';
export { definePlugin, validatePluginDefinition, PLUGIN_API_VERSION, type PluginDefinition, type PluginDetectorFactory, type PluginMitigationFactory } from './plugin-api.js';
export {
  DECODERS,
  createDecoder,
  finalizeCandidates,
  topKCandidates,
  nms,
  iouXYXY,
  NMS_DEFAULTS,
  decodeGflLevels,
  matchGflOutputs,
  CandidateCollector,
  type NmsOptions,
  type GflLevel,
  type GflOptions,
  type Candidates,
  type Decoder,
  type DecoderFactory,
  type DecodeContext,
  type RawOutput,
  type FinalizeOptions,
} from './decoders/index.js';

export interface LoadDetectorSpecOptions extends LoadDetectorOptions {
  /** Plug-in files to import (`--plugin`). */
  plugins?: string[];
  /** Extra registry files (`--registry`), read after the built-in ones. */
  registryFiles?: string[];
  /** Limit for one detect() call of a plug-in detector in ms (default 60000, `--detect-timeout`). */
  detectTimeoutMs?: number;
}

/**
 * Loads the detector `spec` names, tried in this order:
 * 1. a fake: `oracle`, `jitter` (optionally `:SIZE` or `:WxH`);
 * 2. a plug-in detector: `plugin/detector`, or a detector name only one loaded plug-in has;
 * 3. a registry name (models/registry.json, models/zoo/zoo.json, then `registryFiles`);
 * 4. a path to a registry-entry JSON file;
 * 5. a path to an `.onnx` file with a sibling entry `<file>.json` or `<file minus .onnx>.json`
 *    (where `source` and `files` may be left out: the .onnx beside it is used and hashed).
 * Registry models are pulled into the cache when needed (logged). Throws
 * ERR_INVALID_OPTION for an unknown spec (listing what is available), and the errors of
 * the registry, pulling, plug-ins and model loading.
 */
export async function loadDetector(spec: string, opts: LoadDetectorSpecOptions = {}): Promise<Detector> {
  if (isFakeSpec(spec)) return createFakeDetector(spec, opts);
  const plugins = opts.plugins?.length ? await loadPlugins(opts.plugins) : [];
  const hit = findPluginDetector(plugins, spec);
  if (hit) return createPluginDetector(hit.plugin, hit.detector, opts);
  const entries = listModels({ registryFiles: opts.registryFiles });
  const entry = entries.find((e) => e.name === spec) ?? (await entryFromPath(spec, opts));
  if (!entry) {
    const available = [...FAKE_NAMES, ...pluginDetectorNames(plugins), ...entries.map((e) => e.name)];
    throw new ShiftbenchError(
      'ERR_INVALID_OPTION',
      `Unknown model "${spec}". Available: ${available.join(', ')}. ` +
        'You can also give a registry-entry .json file, an .onnx file with a sibling .json entry, ' +
        'a plug-in detector with --plugin FILE, or more registries with --registry FILE (see docs/models.md).',
    );
  }
  return loadEntry(entry, opts);
}

/**
 * Loads a registry entry: pulls/verifies its files (or uses `opts.weightsDir`), then
 * hands them to the ONNX or TF.js adapter. Format `coco-ssd` skips the pull: the TF.js
 * adapter takes `opts.weightsDir`, else the cache, else fetches model.json and every shard
 * it lists from the entry's URL (offline → ERR_NETWORK saying how to get the files).
 * Throws the errors of those steps.
 */
export async function loadEntry(entry: ModelEntry, opts: LoadDetectorOptions = {}): Promise<Detector> {
  if (entry.format === 'coco-ssd') {
    const { loadTfjsDetector } = await import('./tfjs/index.js');
    return loadTfjsDetector(entry, modelDir(entry, { cacheDir: opts.cacheDir }), opts);
  }
  const source = opts.weightsDir ? ({ kind: 'path', dir: path.resolve(opts.weightsDir) } as const) : null;
  const dir = await pullModel(source ? { ...entry, source } : entry, { cacheDir: opts.cacheDir, logger: opts.logger, allowPull: opts.allowPull });
  if (entry.format === 'onnx') {
    const { loadOnnxDetector } = await import('./onnx/index.js');
    return loadOnnxDetector(entry, dir, opts);
  }
  // imported only here, so ONNX runs never load TF.js
  const { loadTfjsDetector } = await import('./tfjs/index.js');
  return loadTfjsDetector(entry, dir, opts);
}

async function entryFromPath(spec: string, opts: LoadDetectorOptions): Promise<ModelEntry | undefined> {
  const file = path.resolve(spec);
  if (!existsSync(file)) return undefined;
  if (/\.json$/i.test(file)) return adHocEntry(file, readFileSync(file, 'utf8'), undefined, opts);
  if (/\.onnx$/i.test(file)) {
    const candidates = [`${file}.json`, file.replace(/\.onnx$/i, '.json')];
    const json = candidates.find((c) => existsSync(c));
    if (!json) {
      throw new ShiftbenchError(
        'ERR_INVALID_OPTION',
        `Model file ${spec} needs a registry entry beside it (${path.basename(candidates[0])} or ${path.basename(candidates[1])}) saying its input size, ` +
          'colour order, normalisation, fit and decoder. See docs/models.md for a worked example.',
      );
    }
    return adHocEntry(json, readFileSync(json, 'utf8'), file, opts);
  }
  return undefined;
}

/** Reads a single-entry JSON; fills `source` (its folder) and `files` (the .onnx, hashed now) when left out. */
async function adHocEntry(jsonFile: string, text: string, onnxFile: string | undefined, opts: LoadDetectorOptions): Promise<ModelEntry> {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(text) as Record<string, unknown>;
  } catch (err) {
    throw new ShiftbenchError('ERR_REGISTRY', `Model entry ${jsonFile} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  if (raw && typeof raw === 'object' && !Array.isArray(raw) && !('models' in raw)) {
    if (raw.source === undefined) raw.source = { kind: 'path', dir: path.dirname(onnxFile ?? jsonFile) };
    if (raw.files === undefined && onnxFile) {
      const sha256 = await sha256File(onnxFile);
      opts.logger?.info(`Model entry ${jsonFile} lists no files: using ${onnxFile} (sha256 ${sha256}); add "files" to pin it`);
      raw.files = [{ name: path.basename(onnxFile), sha256 }];
    }
  }
  const entries = parseRegistry(JSON.stringify(raw), jsonFile);
  if (entries.length !== 1) {
    throw new ShiftbenchError('ERR_REGISTRY', `Model entry ${jsonFile} holds ${entries.length} entries; give one entry, or pass the file with --registry and the model by name`);
  }
  return entries[0];
}
