/**
 * The model registry: JSON files of `ModelEntry` objects (models/registry.json,
 * models/zoo/zoo.json, and the user's own files), read and validated with errors that
 * name the file, the entry and the field.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { COCO_CATEGORIES } from '../core/coco.js';
import { describeValue, ShiftbenchError } from '../core/errors.js';
import { is } from '../core/is.js';
import type { CocoCategory, DetectorInfo, ModelEntry } from '../core/types.js';

/** The shiftbench package folder (the repository root in a checkout): src/detectors/ or dist/detectors/ → ../../ */
export const PACKAGE_ROOT = path.resolve(fileURLToPath(new URL('../../', import.meta.url)));

/** Built-in registry files, relative to PACKAGE_ROOT; a missing one is skipped. */
export const BUILTIN_REGISTRY_FILES = ['models/registry.json', 'models/zoo/zoo.json'];

const origins = new WeakMap<ModelEntry, string>();

/** The registry file an entry was read from (undefined for entries built in code). */
export function entryOrigin(entry: ModelEntry): string | undefined {
  return origins.get(entry);
}

/** Whether an entry comes from one of the built-in registry files (its relative paths are relative to PACKAGE_ROOT). */
export function isBuiltinEntry(entry: ModelEntry): boolean {
  const file = origins.get(entry);
  return file !== undefined && BUILTIN_REGISTRY_FILES.some((f) => path.resolve(PACKAGE_ROOT, f) === file);
}

/** Whether `normalize` leaves pixels as they are (mean 0, std 1): what a model fed raw 0–255 values must say. */
export function isRawNormalize(normalize: ModelEntry['normalize']): boolean {
  return normalize.mean.every((m) => m === 0) && normalize.std.every((v) => v === 1);
}

/** The category list of an entry: 'coco80' → the 80 COCO categories in model order. */
export function entryClasses(entry: ModelEntry): CocoCategory[] {
  return entry.classes === 'coco80' ? COCO_CATEGORIES.map((c) => ({ ...c })) : entry.classes.map((c) => ({ ...c }));
}

/**
 * The DetectorInfo fields that come straight from a registry entry (name, family, input
 * size, classes, fit, pad value, stride); adapters add maxBatch, runtime, files, details.
 */
export function entryInfoBase(
  entry: ModelEntry,
  classes: CocoCategory[],
): Pick<DetectorInfo, 'name' | 'family' | 'inputSizePx' | 'classes' | 'fit' | 'padValue' | 'totalStridePx'> {
  const padValue = entry.padValue ?? [0, 0, 0];
  return {
    name: entry.name,
    family: { ...entry.family },
    inputSizePx: { ...entry.inputSizePx },
    classes,
    fit: entry.fit,
    padValue: [...padValue] as [number, number, number],
    totalStridePx: entry.totalStridePx,
  };
}

class EntryChecker {
  constructor(private readonly where: string) {}
  fail(field: string, expected: string, actual: unknown): never {
    throw new ShiftbenchError(
      'ERR_REGISTRY',
      `Invalid model entry ${this.where}: expected ${expected} for ${field} but received ${describeValue(actual)}`,
    );
  }
  oneOf(obj: Record<string, unknown>, field: string, values: readonly string[], prefix = ''): void {
    if (!is.inArray(obj[field], values))
      this.fail(prefix + field, `one of ${values.map((v) => JSON.stringify(v)).join(', ')}`, obj[field]);
  }
  string(obj: Record<string, unknown>, field: string, prefix = '', optional = false): void {
    if (optional && obj[field] === undefined) return;
    if (!is.string(obj[field])) this.fail(prefix + field, 'a non-empty string', obj[field]);
  }
  object(obj: Record<string, unknown>, field: string, prefix = '', optional = false): Record<string, unknown> {
    if (optional && obj[field] === undefined) return {};
    if (!is.object(obj[field])) this.fail(prefix + field, 'an object', obj[field]);
    return obj[field] as Record<string, unknown>;
  }
  /**
   * Refuses a field not in `fields`: a misspelt optional one (padvalue, dynamic_batch) would otherwise be ignored and
   * the model run with the default.
   */
  known(obj: Record<string, unknown>, fields: readonly string[], prefix = ''): void {
    const squash = (k: string) => k.toLowerCase().replace(/[^a-z0-9]/g, '');
    for (const k of Object.keys(obj)) {
      if (fields.includes(k)) continue;
      const like = fields.find((f) => squash(f) === squash(k));
      throw new ShiftbenchError(
        'ERR_REGISTRY',
        `Invalid model entry ${this.where}: unknown field "${prefix}${k}"${like ? ` (did you mean "${prefix}${like}"?)` : ''}; ` +
          `remove it or correct its name (known fields${prefix ? ` of ${prefix.slice(0, -1)}` : ''}: ${fields.join(', ')})`,
      );
    }
  }
  triple(obj: Record<string, unknown>, field: string, test: (v: number) => boolean, what: string, prefix = ''): void {
    const v = obj[field];
    if (!Array.isArray(v) || v.length !== 3 || !v.every((x) => is.number(x) && test(x)))
      this.fail(prefix + field, `an array of 3 ${what}`, v);
  }
}

/** The fields of a model entry (ModelEntry) and of its source, by kind. */
const ENTRY_FIELDS = [
  'name',
  'description',
  'family',
  'format',
  'source',
  'files',
  'inputSizePx',
  'layout',
  'colorOrder',
  'normalize',
  'fit',
  'padValue',
  'totalStridePx',
  'decoder',
  'classes',
  'inputName',
  'dynamicBatch',
  'binary',
  'meta',
];
const SOURCE_FIELDS: Record<string, readonly string[]> = {
  npm: ['kind', 'package', 'version', 'files'],
  path: ['kind', 'dir'],
  url: ['kind', 'baseUrl'],
  kserve: ['kind', 'url', 'model', 'version'],
};

const SAFE_RELATIVE = (p: string) => !path.isAbsolute(p) && !p.split(/[\\/]/).includes('..');

/**
 * Validates one raw entry (throws ERR_REGISTRY naming `where` and the field) and returns
 * it typed. Every file needs a 64-hex sha256, except files of a `url` source, which may
 * say `"sha256": null` (unpinned: not verified; the run manifest records the sha256 of
 * the bytes actually loaded). A pinned hash is always verified. `where` reads like `in models/registry.json at
 * models[2] ("centernet")`.
 */
export function validateModelEntry(raw: unknown, where: string): ModelEntry {
  const c: EntryChecker = new EntryChecker(where);
  if (!is.object(raw)) c.fail('the entry', 'an object', raw);
  const e = raw as Record<string, unknown>;
  c.known(e, ENTRY_FIELDS);
  c.string(e, 'name');
  if (!/^[A-Za-z0-9][A-Za-z0-9._:+-]*$/.test(e.name as string))
    c.fail('name', 'letters, digits, ".", "_", ":", "+" or "-" (no "/", which names plug-in detectors)', e.name);
  c.string(e, 'description', '', true);
  const family = c.object(e, 'family');
  c.known(family, ['stages', 'anchors'], 'family.');
  c.oneOf(family, 'stages', ['one-stage', 'two-stage'], 'family.');
  c.oneOf(family, 'anchors', ['anchor-based', 'anchor-free'], 'family.');
  c.oneOf(e, 'format', ['onnx', 'tfjs-graph', 'coco-ssd', 'kserve']);
  const source = c.object(e, 'source');
  const served = e.format === 'kserve';
  c.oneOf(source, 'kind', served ? ['kserve'] : ['npm', 'path', 'url'], 'source.');
  c.known(source, SOURCE_FIELDS[source.kind as string], 'source.');
  if (served) {
    // a model served over the Open Inference Protocol: no files, the server's URL and the model's name (and version)
    c.string(source, 'url', 'source.');
    if (!/^https?:\/\/[^/]+/.test(source.url as string))
      c.fail('source.url', 'an http(s) URL of the server, e.g. "http://localhost:8000"', source.url);
    c.string(source, 'model', 'source.');
    if (source.version !== undefined && !(is.string(source.version) || is.integer(source.version)))
      c.fail('source.version', 'a version string, e.g. "1"', source.version);
    if (source.version !== undefined) source.version = String(source.version);
    if (e.files !== undefined && !(Array.isArray(e.files) && e.files.length === 0))
      c.fail('files', 'nothing (a served model has no files)', e.files);
    e.files = [];
    if (e.binary !== undefined && !is.bool(e.binary)) c.fail('binary', 'true or false', e.binary);
  } else if (e.binary !== undefined) {
    c.fail('binary', 'nothing ("binary" is for "format": "kserve")', e.binary);
  } else if (source.kind === 'npm') {
    c.string(source, 'package', 'source.');
    c.string(source, 'version', 'source.');
    const files = source.files;
    if (!Array.isArray(files) || files.length === 0 || !files.every((f) => is.string(f) && SAFE_RELATIVE(f))) {
      c.fail('source.files', 'a non-empty array of relative paths inside the package', files);
    }
  } else if (source.kind === 'path') {
    c.string(source, 'dir', 'source.');
  } else {
    c.string(source, 'baseUrl', 'source.');
    if (!/^https?:\/\//.test(source.baseUrl as string)) c.fail('source.baseUrl', 'an http(s) URL', source.baseUrl);
  }
  const files = e.files;
  if (!served && (!Array.isArray(files) || files.length === 0))
    c.fail('files', 'a non-empty array of { name, sha256 } (the first is the model file)', files);
  const fileIndex = new Map<string, number>();
  (files as unknown[]).forEach((f, i) => {
    if (!is.object(f)) c.fail(`files[${i}]`, 'an object { name, sha256 }', f);
    c.known(f, ['name', 'sha256'], `files[${i}].`);
    if (!is.string(f.name) || !SAFE_RELATIVE(f.name)) c.fail(`files[${i}].name`, 'a relative file name', f.name);
    // one file on disk per name: a second entry of the same name would be fetched, moved and verified twice
    const key = path.posix.normalize(f.name.replace(/\\/g, '/'));
    const first = fileIndex.get(key);
    if (first !== undefined)
      c.fail(
        `files[${i}].name`,
        `a file name not listed before (files[${first}] is ${JSON.stringify((files as { name: string }[])[first].name)} too)`,
        f.name,
      );
    fileIndex.set(key, i);
    if (f.sha256 === null) {
      // unpinned: only where the bytes come from a URL whose content we cannot know in advance (coco-ssd's shards)
      if (source.kind !== 'url')
        c.fail(
          `files[${i}].sha256`,
          'a sha256 as 64 lower-case hex digits (null, unpinned, is allowed only for a "url" source)',
          f.sha256,
        );
    } else if (typeof f.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(f.sha256)) {
      c.fail(
        `files[${i}].sha256`,
        `a sha256 as 64 lower-case hex digits${source.kind === 'url' ? ' or null (unpinned)' : ''}`,
        f.sha256,
      );
    }
  });
  if (e.format === 'coco-ssd' && !is.inArray(source.kind, ['path', 'url']))
    // its model.json names the shards to fetch: a folder or a URL, never a package's listed files
    c.fail('source.kind', 'one of "path", "url" (format "coco-ssd")', source.kind);
  if (source.kind === 'npm') {
    const inPackage = source.files as string[];
    for (const f of files as { name: string }[]) {
      if (!inPackage.some((p) => p === f.name || path.posix.basename(p) === f.name)) {
        c.fail('source.files', `a package path for every file (none ends in "${f.name}")`, inPackage);
      }
    }
  }
  const size = c.object(e, 'inputSizePx');
  c.known(size, ['width', 'height'], 'inputSizePx.');
  for (const k of ['width', 'height']) {
    if (!is.integer(size[k]) || (size[k] as number) < 1) c.fail(`inputSizePx.${k}`, 'a positive integer', size[k]);
  }
  c.oneOf(e, 'layout', ['NHWC', 'NCHW']);
  c.oneOf(e, 'colorOrder', ['RGB', 'BGR']);
  const normalize = c.object(e, 'normalize');
  c.known(normalize, ['mean', 'std'], 'normalize.');
  c.triple(normalize, 'mean', () => true, 'numbers', 'normalize.');
  c.triple(normalize, 'std', (v) => v > 0, 'positive numbers', 'normalize.');
  if (e.format === 'coco-ssd' && !isRawNormalize(normalize as ModelEntry['normalize']))
    // the graph takes raw 0–255 pixels as int32: a mean/std would be recorded but never applied
    c.fail(
      'normalize',
      '{ "mean": [0, 0, 0], "std": [1, 1, 1] } (format "coco-ssd" feeds raw 0–255 pixels; the graph normalises)',
      normalize,
    );
  c.oneOf(e, 'fit', ['letterbox', 'stretch']);
  if (e.padValue !== undefined)
    c.triple(e, 'padValue', (v) => Number.isInteger(v) && v >= 0 && v <= 255, 'integers 0–255');
  if (e.totalStridePx !== undefined && (!is.integer(e.totalStridePx) || (e.totalStridePx as number) < 1))
    c.fail('totalStridePx', 'a positive integer', e.totalStridePx);
  const decoder = c.object(e, 'decoder');
  c.known(decoder, ['name', 'params'], 'decoder.');
  c.string(decoder, 'name', 'decoder.');
  if (decoder.params !== undefined) c.object(decoder, 'params', 'decoder.');
  if (e.classes !== 'coco80') {
    const cls = e.classes;
    if (!Array.isArray(cls) || cls.length === 0)
      c.fail('classes', '"coco80" or a non-empty array of { id, name }', cls);
    const seen = new Set<number>();
    (cls as unknown[]).forEach((k, i) => {
      if (!is.object(k) || !is.int32(k.id) || !is.string(k.name))
        c.fail(`classes[${i}]`, 'an object { id: 32-bit integer, name: string }', k);
      if (seen.has(k.id as number)) c.fail(`classes[${i}].id`, 'a unique id', k.id);
      seen.add(k.id as number);
    });
  }
  c.string(e, 'inputName', '', true);
  if (e.dynamicBatch !== undefined && !is.bool(e.dynamicBatch)) c.fail('dynamicBatch', 'true or false', e.dynamicBatch);
  if (e.meta !== undefined) c.object(e, 'meta');
  return raw as unknown as ModelEntry;
}

/**
 * Parses registry JSON text: `{ "models": [...] }`, a bare array of entries, or a single
 * entry object. `file` is used in error messages and recorded as the entries' origin.
 * Throws ERR_REGISTRY for bad JSON, bad entries and duplicate names within the file.
 */
export function parseRegistry(text: string, file: string): ModelEntry[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ShiftbenchError('ERR_REGISTRY', `Registry file ${file} is not valid JSON: ${(err as Error).message}`, {
      cause: err,
    });
  }
  let list: unknown[];
  let label: (i: number) => string;
  if (Array.isArray(json)) {
    list = json;
    label = (i) => `[${i}]`;
  } else if (is.object(json) && Array.isArray(json.models)) {
    list = json.models;
    label = (i) => `models[${i}]`;
  } else if (is.object(json) && 'name' in json) {
    list = [json];
    label = () => 'the entry';
  } else {
    throw new ShiftbenchError(
      'ERR_REGISTRY',
      `Registry file ${file} must hold { "models": [ ...entries ] }, an array of entries, or one entry object`,
    );
  }
  const seen = new Set<string>();
  return list.map((raw, i) => {
    const name = is.object(raw) && typeof raw.name === 'string' ? ` ("${raw.name}")` : '';
    const entry = validateModelEntry(raw, `in ${file} at ${label(i)}${name}`);
    if (seen.has(entry.name))
      throw new ShiftbenchError('ERR_REGISTRY', `Registry file ${file} has two entries named "${entry.name}"`);
    seen.add(entry.name);
    origins.set(entry, path.resolve(file));
    return entry;
  });
}

/**
 * Reads and validates registry files in order; a later entry with the same name as an
 * earlier one replaces it (so user files can override built-ins). Throws ERR_REGISTRY when
 * a file cannot be read or is invalid, ERR_INVALID_OPTION when it does not exist.
 */
/**
 * The error of a registry file that cannot be read: ERR_INVALID_OPTION (a bad --registry value, as a
 * --plugin or --model path that names nothing) when it does not exist, else ERR_REGISTRY.
 */
export function registryReadError(file: string, err: unknown): ShiftbenchError {
  const missing = (err as NodeJS.ErrnoException)?.code === 'ENOENT';
  return new ShiftbenchError(
    missing ? 'ERR_INVALID_OPTION' : 'ERR_REGISTRY',
    `Could not read registry file ${file}: ${missing ? 'it does not exist' : ((err as Error)?.message ?? String(err))}. ` +
      'Check the path given to --registry.',
    { cause: err },
  );
}

export function readRegistry(files: string[]): ModelEntry[] {
  const byName = new Map<string, ModelEntry>();
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw registryReadError(file, err);
    }
    for (const entry of parseRegistry(text, file)) byName.set(entry.name, entry);
  }
  return [...byName.values()];
}

/** The built-in registry files that exist, as absolute paths. */
export function builtinRegistryFiles(): string[] {
  return BUILTIN_REGISTRY_FILES.map((f) => path.join(PACKAGE_ROOT, f)).filter((f) => existsSync(f));
}

/**
 * Every known model entry: the built-in registries, then `registryFiles` (user files win
 * on name clashes). Throws ERR_REGISTRY for invalid files.
 */
export function listModels(opts: { registryFiles?: string[] } = {}): ModelEntry[] {
  return readRegistry([...builtinRegistryFiles(), ...(opts.registryFiles ?? [])]);
}
