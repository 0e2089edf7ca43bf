/**
 * Detectors: one entry point, `loadDetector(spec, opts)`, for fakes, plug-ins, registry
 * models (ONNX, TF.js) and ad-hoc model files; plus the model registry, pulling, the
 * decoders and NMS for reuse.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { ShiftbenchError, invalidParameterError, refuseUnknownFields } from '../core/errors.js';
import { is } from '../core/is.js';
import type { Detector, LoadDetectorOptions, ModelEntry } from '../core/types.js';
import { DEFAULT_EXECUTION_PROVIDER } from './executionProviders.js';
import { createFakeDetector, FAKE_NAMES, isFakeSpec } from './fakes.js';
import {
  createPluginDetector,
  findPluginDetector,
  loadPlugins,
  pluginCodeHashes,
  pluginDetectorNames,
  type LoadedPlugin,
} from './plugins.js';
import { modelDir, pullModel, sha256File } from './pull.js';
import { listModels, parseRegistry } from './registry.js';
import { describeKserve, loadKserveDetector } from './http/kserve.js';
import { describePlainHttp, isHttpSpec, loadPlainHttpDetector } from './http/plainHttp.js';

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
export { EXECUTION_PROVIDERS, DEFAULT_EXECUTION_PROVIDER, type ExecutionProvider } from './executionProviders.js';
export { pullModel, isModelCached, modelDir, sha256File, DEFAULT_CACHE_DIR, type PullOptions } from './pull.js';
export {
  loadPlugins,
  pluginCodeHashes,
  findPluginDetector,
  createPluginDetector,
  guardPluginMitigation,
  pluginDetectorNames,
  DEFAULT_DETECT_TIMEOUT_MS,
  MAX_DETECT_TIMEOUT_MS,
  type LoadedPlugin,
} from './plugins.js';
export {
  definePlugin,
  validatePluginDefinition,
  PLUGIN_API_VERSION,
  type PluginDefinition,
  type PluginDetectorFactory,
  type PluginMitigationFactory,
} from './plugin-api.js';
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
  /** Limit for one detect() call of a plug-in detector in ms, 1 to 2147483647 (default 60000, `--detect-timeout`). */
  detectTimeoutMs?: number;
}

/** Every field of LoadDetectorSpecOptions (the compiler checks the list is complete and has no other). */
const LOAD_DETECTOR_OPTION_FIELDS: Record<keyof LoadDetectorSpecOptions, true> = {
  backend: true,
  executionProvider: true,
  threads: true,
  onnxSpinWait: true,
  weightsDir: true,
  scoreThreshold: true,
  cacheDir: true,
  allowPull: true,
  logger: true,
  groundTruth: true,
  seed: true,
  plugins: true,
  registryFiles: true,
  detectTimeoutMs: true,
  http: true,
  graphRewrite: true,
};

/**
 * Loads the detector `spec` names, tried in this order:
 * 1. a fake: `oracle`, `jitter` (optionally `:SIZE` or `:WxH`);
 * 2. a plug-in detector: `plugin/detector`, or a detector name only one loaded plug-in has;
 * 3. a registry name (models/registry.json, models/zoo/zoo.json, then `registryFiles`);
 * 4. a path to a registry-entry JSON file;
 * 5. a path to an `.onnx` file with a sibling entry `<file>.json` or `<file minus .onnx>.json`
 *    (where `source` and `files` may be left out: the .onnx beside it is used and hashed),
 *    or to a folder holding exactly one `.onnx` file: that file.
 * Registry models are pulled into the cache when needed (logged). Throws
 * ERR_INVALID_OPTION for an unknown spec (listing what is available), and the errors of
 * the registry, pulling, plug-ins and model loading.
 */
export async function loadDetector(spec: string, opts: LoadDetectorSpecOptions = {}): Promise<Detector> {
  if (!is.string(spec))
    throw invalidParameterError(
      '--model',
      'a model spec (registry name, model file or folder, plug-in detector)',
      spec,
    );
  if (!is.object(opts as unknown)) throw invalidParameterError('options', 'an object of detector options', opts);
  refuseUnknownFields(opts, LOAD_DETECTOR_OPTION_FIELDS, 'detector options');
  if (isFakeSpec(spec)) return createFakeDetector(spec, opts);
  if (isHttpSpec(spec)) return loadPlainHttpDetector(spec, opts);
  const plugins = opts.plugins?.length ? await loadPlugins(opts.plugins) : [];
  const hit = findPluginDetector(plugins, spec);
  if (hit) return createPluginDetector(hit.plugin, hit.detector, opts);
  const entries = listModels({ registryFiles: opts.registryFiles });
  const entry = entries.find((e) => e.name === spec) ?? (await entryFromPath(spec, opts));
  if (!entry) throw unknownModel(spec, plugins, entries);
  return loadEntry(entry, opts);
}

function unknownModel(spec: string, plugins: LoadedPlugin[], entries: ModelEntry[]): ShiftbenchError {
  // a path (absolute, ./ or ../, or a model file's extension) that names nothing: say so, not "unknown model"
  const looksLikePath = /\.(onnx|json)$/i.test(spec) || path.isAbsolute(spec) || /^\.\.?[\\/]/.test(spec); // not plugin/detector
  if (looksLikePath && !existsSync(spec) && !spec.includes('://')) {
    return new ShiftbenchError(
      'ERR_INVALID_OPTION',
      `--model ${path.resolve(spec)}: no such file. Give an existing .onnx file (with its sibling .json entry), a ` +
        `registry-entry .json file, or a registry name (\`shiftbench models list\`).`,
    );
  }
  const available = [...FAKE_NAMES, ...pluginDetectorNames(plugins), ...entries.map((e) => e.name)];
  return new ShiftbenchError(
    'ERR_INVALID_OPTION',
    `Unknown model "${spec}". Available: ${available.join(', ')}. ` +
      'You can also give a registry-entry .json file, an .onnx file with a sibling .json entry, ' +
      'a plug-in detector with --plugin FILE, or more registries with --registry FILE (see docs/models.md).',
  );
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
  if (entry.format === 'kserve') return loadKserveDetector(entry, opts);
  const source = opts.weightsDir ? ({ kind: 'path', dir: path.resolve(opts.weightsDir) } as const) : null;
  const dir = await pullModel(source ? { ...entry, source } : entry, {
    cacheDir: opts.cacheDir,
    logger: opts.logger,
    allowPull: opts.allowPull,
  });
  if (entry.format === 'onnx') {
    const { loadOnnxDetector } = await import('./onnx/index.js');
    return loadOnnxDetector(entry, dir, opts);
  }
  // imported only here, so ONNX runs never load TF.js
  const { loadTfjsDetector } = await import('./tfjs/index.js');
  return loadTfjsDetector(entry, dir, opts);
}

/**
 * What determines the detections of the detector `spec` names, as content hashes and
 * values — no absolute paths, so the same setup describes the same on any machine —
 * without loading any weights. Resolves `spec` like `loadDetector`:
 * - a fake: its spec, the seed, `readsGroundTruth: true` (so each image's identity
 *   includes its boxes) and a hash of the categories;
 * - a plug-in detector: plug-in name, detector, the seed, the sha256 of the plug-in
 *   file and of every local module it imports (pluginCodeHashes), and what else its
 *   factory is given and may use: `readsGroundTruth: true` with the categories' hash (it
 *   gets the labels), the `--backend` and the `--ep` as asked for;
 * - a registry entry or entry file: every field of the resolved entry except its
 *   description, recorded facts (`meta`) and where the files come from (`source`), the
 *   sha256 of each model file (pinned, or hashed from `--weights`; an unpinned file of a
 *   url source is compared after loading, from the manifest's files), the runtime
 *   package with its version and the `--ep` (ONNX) or `--backend` (TF.js) asked for.
 * Throws what `loadDetector` throws for an unknown spec or a broken plug-in.
 */
export async function describeDetector(
  spec: string,
  opts: LoadDetectorSpecOptions = {},
): Promise<Record<string, unknown>> {
  if (isFakeSpec(spec)) {
    // a fake reports the ground truth: its categories here, each image's boxes in the per-image identity
    // (readsGroundTruth)
    return { kind: 'fake', spec, seed: opts.seed ?? 0, readsGroundTruth: true, categoriesSha256: categoriesHash(opts) };
  }
  if (isHttpSpec(spec)) return describePlainHttp(spec, opts);
  const plugins = opts.plugins?.length ? await loadPlugins(opts.plugins) : [];
  const hit = findPluginDetector(plugins, spec);
  if (hit) {
    // a factory is given the load options (docs/plugins.md): the labels, and the runtime settings it may pass on
    return {
      kind: 'plugin',
      plugin: hit.plugin.name,
      detector: hit.detector,
      seed: opts.seed ?? 0,
      code: await pluginCodeHashes(hit.plugin.file),
      readsGroundTruth: true,
      categoriesSha256: categoriesHash(opts),
      backend: opts.backend ?? 'auto',
      executionProvider: opts.executionProvider ?? DEFAULT_EXECUTION_PROVIDER,
    };
  }
  const entries = listModels({ registryFiles: opts.registryFiles });
  const entry = entries.find((e) => e.name === spec) ?? (await entryFromPath(spec, opts));
  if (!entry) throw unknownModel(spec, plugins, entries);
  return describeEntry(entry, opts);
}

/** sha256 of the dataset's categories (null without labels), for detectors that are given the labels. */
function categoriesHash(opts: LoadDetectorOptions): string | null {
  return opts.groundTruth
    ? createHash('sha256').update(JSON.stringify(opts.groundTruth.categories)).digest('hex')
    : null;
}

/** describeDetector for a registry entry (see there). */
export async function describeEntry(
  entry: ModelEntry,
  opts: LoadDetectorOptions = {},
): Promise<Record<string, unknown>> {
  if (entry.format === 'kserve') return describeKserve(entry, opts);
  const { description: _d, meta: _m, source: _s, files, ...rest } = entry;
  const dir = opts.weightsDir ? path.resolve(opts.weightsDir) : modelDir(entry, { cacheDir: opts.cacheDir });
  const fileHashes: Record<string, string> = {};
  for (const f of files) {
    const local = path.join(dir, f.name);
    if (opts.weightsDir) fileHashes[f.name] = existsSync(local) ? await sha256File(local) : 'missing';
    // unpinned (url source): what was loaded is recorded in the manifest and compared when more is computed
    else fileHashes[f.name] = f.sha256 ?? 'unpinned';
  }
  const pkg = entry.format === 'onnx' ? 'onnxruntime-node' : '@tensorflow/tfjs';
  return {
    kind: 'model',
    ...rest,
    files: fileHashes,
    runtime: `${pkg} ${packageVersion(pkg)}`,
    ...(entry.format === 'onnx'
      ? { executionProvider: opts.executionProvider ?? DEFAULT_EXECUTION_PROVIDER }
      : { backend: await (await import('./tfjs/index.js')).identityBackend(opts) }),
  };
}

/** The installed version of an npm package, or "not installed". */
function packageVersion(name: string): string {
  const require = createRequire(import.meta.url);
  try {
    let dir = path.dirname(require.resolve(name));
    for (;;) {
      const file = path.join(dir, 'package.json');
      if (existsSync(file)) {
        const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
        if (pkg.name === name) return pkg.version ?? 'unknown';
      }
      const up = path.dirname(dir);
      if (up === dir) return 'unknown';
      dir = up;
    }
  } catch {
    return 'not installed';
  }
}

async function entryFromPath(spec: string, opts: LoadDetectorOptions): Promise<ModelEntry | undefined> {
  let file = path.resolve(spec);
  if (!existsSync(file)) return undefined;
  if (statSync(file).isDirectory()) {
    file = onlyModelFileIn(file);
    opts.logger?.info(`--model ${path.resolve(spec)}: using ${file}, the one .onnx file in it`);
    spec = file;
  }
  if (/\.json$/i.test(file)) return adHocEntry(file, readFileSync(file, 'utf8'), undefined, opts);
  if (/\.onnx$/i.test(file)) {
    const candidates = [`${file}.json`, file.replace(/\.onnx$/i, '.json')];
    const json = candidates.find((c) => existsSync(c));
    if (!json) {
      throw new ShiftbenchError(
        'ERR_INVALID_OPTION',
        `Model file ${spec} needs a registry entry beside it (${path.basename(candidates[0])} or ` +
          `${path.basename(candidates[1])}) saying its input size, ` +
          'colour order, normalisation, fit and decoder. See docs/models.md for a worked example.',
      );
    }
    return adHocEntry(json, readFileSync(json, 'utf8'), file, opts);
  }
  return undefined;
}

/**
 * The one .onnx file of a model folder given to --model (e.g. a folder of ../shared/models).
 * Throws ERR_INVALID_OPTION naming the files when it holds several, or none.
 */
function onlyModelFileIn(dir: string): string {
  const models = readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isFile() && /\.onnx$/i.test(d.name))
    .map((d) => d.name)
    .sort();
  if (models.length === 1) return path.join(dir, models[0]);
  if (models.length > 1) {
    throw new ShiftbenchError(
      'ERR_INVALID_OPTION',
      `--model ${dir} is a folder holding ${models.length} .onnx files (${models.join(', ')}); give one of them, ` +
        `e.g. --model ${path.join(dir, models[0])}`,
    );
  }
  throw new ShiftbenchError(
    'ERR_INVALID_OPTION',
    `--model ${dir} is a folder with no .onnx file in it. Give an .onnx file (with its sibling .json entry), a ` +
      'folder holding exactly one such file, a registry-entry .json file, or a registry name (`shiftbench models list`).',
  );
}

/** Reads a single-entry JSON; fills `source` (its folder) and `files` (the .onnx, hashed now) when left out. */
async function adHocEntry(
  jsonFile: string,
  text: string,
  onnxFile: string | undefined,
  opts: LoadDetectorOptions,
): Promise<ModelEntry> {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(text) as Record<string, unknown>;
  } catch (err) {
    throw new ShiftbenchError('ERR_REGISTRY', `Model entry ${jsonFile} is not valid JSON: ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (raw && typeof raw === 'object' && !Array.isArray(raw) && !('models' in raw)) {
    if (raw.source === undefined) raw.source = { kind: 'path', dir: path.dirname(onnxFile ?? jsonFile) };
    if (raw.files === undefined && onnxFile) {
      const sha256 = await sha256File(onnxFile);
      opts.logger?.info(
        `Model entry ${jsonFile} lists no files: using ${onnxFile} (sha256 ${sha256}); add "files" to pin it`,
      );
      raw.files = [{ name: path.basename(onnxFile), sha256 }];
    }
  }
  const entries = parseRegistry(JSON.stringify(raw), jsonFile);
  if (entries.length !== 1) {
    throw new ShiftbenchError(
      'ERR_REGISTRY',
      `Model entry ${jsonFile} holds ${entries.length} entries; give one entry, or pass the file with --registry ` +
        `and the model by name`,
    );
  }
  return entries[0];
}
