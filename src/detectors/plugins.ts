/**
 * Loading plug-ins (`--plugin ./my-detector.mjs`) and wrapping their detectors so a
 * faulty plug-in fails with an error that names the plug-in, the detector and the
 * image instead of corrupting a run: every result is validated, a throwing detect
 * becomes ERR_PLUGIN, a detect that never returns becomes ERR_PLUGIN_TIMEOUT.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describeValue, invalidParameterError, ShiftbenchError } from '../core/errors.js';
import { is } from '../core/is.js';
import type {
  CocoCategory,
  DetectContext,
  Detection,
  Detector,
  DetectorInfo,
  LoadDetectorOptions,
  RgbImage,
} from '../core/types.js';
import { markReleasesInputs } from '../core/releasesInputs.js';
import type { Mitigation, MitigationContext, MitigationFactory } from '../mitigations/types.js';
import { resolvePackageImportsToThisTool } from './packageSelfResolve.js';
import { validatePluginDefinition, type PluginDefinition } from './plugin-api.js';

/** Default limit for one detect() call of a plug-in detector. */
export const DEFAULT_DETECT_TIMEOUT_MS = 60_000;

/**
 * The largest limit of one detect() call (--detect-timeout), in ms (about 24.8 days): the most a
 * timer holds. Node turns a longer one into 1 ms, which would time out every call at once.
 */
export const MAX_DETECT_TIMEOUT_MS = 2_147_483_647;

/**
 * The largest input side a plug-in detector may declare (info.inputSizePx), in pixels:
 * beyond it one fitted input alone needs gigabytes, and the run would end in an
 * out-of-memory crash at the first image instead of a message (docs/plugins.md).
 */
export const MAX_PLUGIN_INPUT_PX = 16384;

const SHA256_RE = /^[0-9a-fA-F]{64}$/;

export interface LoadedPlugin {
  name: string;
  /** Absolute path of the plug-in file. */
  file: string;
  sha256: string;
  definition: PluginDefinition;
}

/**
 * Imports plug-in files (paths relative to the current folder) and validates their
 * default exports. Throws ERR_INVALID_OPTION for a missing file (a bad --plugin value), and
 * ERR_PLUGIN naming the file for an import failure, no default export, a wrong apiVersion
 * or shape, two plug-ins with the same name.
 */
export async function loadPlugins(files: readonly string[]): Promise<LoadedPlugin[]> {
  const out: LoadedPlugin[] = [];
  for (const given of files) {
    const file = path.resolve(given);
    if (!existsSync(file)) {
      // a bad flag value (exit 2), as a --model path that names nothing
      throw new ShiftbenchError(
        'ERR_INVALID_OPTION',
        `--plugin ${file}: no such file. Give the path of an existing plug-in module (.mjs or .js, see docs/plugins.md).`,
      );
    }
    let mod: Record<string, unknown>;
    resolvePackageImportsToThisTool(); // `import … from 'shiftbench/plugin'` in the plug-in resolves to this tool
    try {
      mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
    } catch (err) {
      // Node's import() error of a syntax error has no file or line: ask the parser where it is
      const syntax = await syntaxErrorIn(file);
      throw new ShiftbenchError(
        'ERR_PLUGIN',
        `Could not load plug-in ${given}: importing it failed: ` + (syntax ?? (err as Error)?.message ?? String(err)),
        { cause: err },
      );
    }
    if (mod.default === undefined) {
      throw new ShiftbenchError(
        'ERR_PLUGIN',
        `Invalid plug-in ${given}: it has no default export. ` +
          `End it with \`export default definePlugin({ apiVersion: 1, name, detectors })\`; see docs/plugins.md`,
      );
    }
    const definition = validatePluginDefinition(mod.default, given);
    const clash = out.find((p) => p.name === definition.name);
    if (clash)
      throw new ShiftbenchError(
        'ERR_PLUGIN',
        `Plug-ins ${clash.file} and ${file} are both named "${definition.name}"; rename one`,
      );
    const sha256 = createHash('sha256').update(readFileSync(file)).digest('hex');
    out.push({ name: definition.name, file, sha256, definition });
  }
  return out;
}

const LOCAL_IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|\brequire\s*\(\s*)(['"])(\.{1,2}\/[^'"]+)\1/g;
const RESOLVE_SUFFIXES = [
  '',
  '.js',
  '.mjs',
  '.cjs',
  '.ts',
  '.mts',
  '.cts',
  '.json',
  '/index.js',
  '/index.mjs',
  '/index.ts',
];

function resolveLocal(fromFile: string, specifier: string): string | null {
  const base = path.resolve(path.dirname(fromFile), specifier.split(/[?#]/)[0]);
  for (const suffix of RESOLVE_SUFFIXES) {
    const candidate = base + suffix;
    try {
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      /* try the next form */
    }
  }
  return null;
}

/**
 * The code of a plug-in as content hashes: its file and every local module it imports
 * (`import … from './x'`, `export … from`, `import('./x')`, `require('./x')`), followed
 * transitively through relative imports. Keys are paths relative to the plug-in's folder
 * (forward slashes), values sha256 hex — so the same code gives the same hashes on any
 * machine. Package imports (`shiftbench/plugin`, npm packages) are not followed.
 */
export async function pluginCodeHashes(file: string): Promise<Record<string, string>> {
  const root = path.dirname(path.resolve(file));
  const seen = await localModules(file);
  const out: Record<string, string> = {};
  for (const [f, sha] of [...seen.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    out[path.relative(root, f).split(path.sep).join('/')] = sha;
  }
  return out;
}

/**
 * The plug-in file and every local module it imports, transitively (see pluginCodeHashes),
 * as absolute path → sha256 hex, in the order they were reached (the plug-in first).
 */
async function localModules(file: string): Promise<Map<string, string>> {
  const seen = new Map<string, string>();
  const queue = [path.resolve(file)];
  while (queue.length > 0) {
    const current = queue.shift()!;
    if (seen.has(current)) continue;
    const bytes = await readFile(current);
    seen.set(current, createHash('sha256').update(bytes).digest('hex'));
    for (const m of bytes.toString('utf8').matchAll(LOCAL_IMPORT)) {
      const next = resolveLocal(current, m[2]);
      if (next && !seen.has(next)) queue.push(next);
    }
  }
  return seen;
}

/** The most modules of a plug-in syntaxErrorIn parses. */
const SYNTAX_CHECK_MAX_FILES = 50;

/**
 * Where a syntax error of a plug-in is, for the message of a failed import (Node's own
 * error of a dynamic import names neither file nor line): parses the plug-in file and its
 * local modules with `node --check`, and returns the first error as
 * `<message> at <file>:<line>[:<column>]` followed by the source line and a caret line —
 * or null when every module parses (or none is plain JavaScript).
 */
async function syntaxErrorIn(file: string): Promise<string | null> {
  let modules: string[];
  try {
    modules = [...(await localModules(file)).keys()];
  } catch {
    modules = [path.resolve(file)];
  }
  for (const module of modules.filter((m) => /\.(m|c)?js$/i.test(m)).slice(0, SYNTAX_CHECK_MAX_FILES)) {
    const r = spawnSync(process.execPath, ['--check', module], { encoding: 'utf8', timeout: 10_000 });
    if (r.status === 0 || typeof r.stderr !== 'string') continue;
    // "<file>:<line>\n<source line>\n<caret line>\n\nSyntaxError: <message>"
    const lines = r.stderr.split(/\r?\n/);
    const at = lines.findIndex((l) => l.startsWith(`${module}:`) && /:\d+$/.test(l));
    const error = lines.map((l) => /^SyntaxError: (.*)$/.exec(l)).find((m) => m !== null);
    if (at < 0 || !error) continue;
    const source = lines[at + 1] ?? '';
    const caret = lines[at + 2] ?? '';
    const column = caret.indexOf('^');
    const where = `${lines[at]}${column >= 0 ? `:${column + 1}` : ''}`;
    return `${error[1]} at ${where}` + (column >= 0 && source.trim() ? `\n${source}\n${caret.trimEnd()}` : '');
  }
  return null;
}

/** All detectors of the plug-ins as `plugin/detector`. */
export function pluginDetectorNames(plugins: readonly LoadedPlugin[]): string[] {
  return plugins.flatMap((p) => Object.keys(p.definition.detectors).map((d) => `${p.name}/${d}`));
}

/**
 * Finds the plug-in detector `spec` names: `plugin/detector`, or a detector name that
 * exactly one plug-in defines. Returns null when none matches; throws
 * ERR_INVALID_OPTION when a bare name is ambiguous.
 */
export function findPluginDetector(
  plugins: readonly LoadedPlugin[],
  spec: string,
): { plugin: LoadedPlugin; detector: string } | null {
  const slash = spec.indexOf('/');
  if (slash > 0) {
    const plugin = plugins.find((p) => p.name === spec.slice(0, slash));
    const detector = spec.slice(slash + 1);
    if (plugin && Object.hasOwn(plugin.definition.detectors, detector)) return { plugin, detector };
    return null;
  }
  const hits = plugins.filter((p) => Object.hasOwn(p.definition.detectors, spec));
  if (hits.length > 1) {
    throw new ShiftbenchError(
      'ERR_INVALID_OPTION',
      `Detector name "${spec}" is defined by several plug-ins (${hits.map((p) => p.name).join(', ')}); ` +
        `write ${hits.map((p) => `${p.name}/${spec}`).join(' or ')}`,
    );
  }
  return hits.length === 1 ? { plugin: hits[0], detector: spec } : null;
}

function checkInfo(raw: unknown, label: string): Omit<DetectorInfo, 'runtime' | 'files'> & Partial<DetectorInfo> {
  const fail = (field: string, expected: string, value: unknown): never => {
    throw new ShiftbenchError(
      'ERR_PLUGIN',
      `${label} returned a detector with an invalid info: expected ${expected} for info.${field} but received ` +
        `${describeValue(value)}`,
    );
  };
  if (!is.object(raw)) return fail('', 'an object', raw);
  const info = raw as Record<string, unknown>;
  const family = info.family as Record<string, unknown> | undefined;
  if (!is.object(family)) fail('family', '{ stages, anchors }', family);
  if (!is.inArray(family!.stages, ['one-stage', 'two-stage']))
    fail('family.stages', '"one-stage" or "two-stage"', family!.stages);
  if (!is.inArray(family!.anchors, ['anchor-based', 'anchor-free']))
    fail('family.anchors', '"anchor-based" or "anchor-free"', family!.anchors);
  const size = info.inputSizePx as Record<string, unknown> | undefined;
  if (
    !is.object(size) ||
    !is.integer(size.width) ||
    !is.integer(size.height) ||
    (size.width as number) < 1 ||
    (size.height as number) < 1 ||
    (size.width as number) > MAX_PLUGIN_INPUT_PX ||
    (size.height as number) > MAX_PLUGIN_INPUT_PX
  ) {
    fail('inputSizePx', `{ width, height } as integers from 1 to ${MAX_PLUGIN_INPUT_PX} (pixels a side)`, size);
  }
  const classes = info.classes;
  if (
    !Array.isArray(classes) ||
    classes.length === 0 ||
    !classes.every((c) => is.object(c) && is.int32(c.id) && is.string(c.name))
  ) {
    fail('classes', 'a non-empty array of { id: 32-bit integer, name: string }', classes);
  }
  const ids = (classes as { id: number }[]).map((c) => c.id);
  const twice = ids.find((id, k) => ids.indexOf(id) !== k);
  if (twice !== undefined)
    fail('classes', `each id once (id ${twice} twice: which name its detections mean is unknowable)`, classes);
  if (info.fit !== undefined && !is.inArray(info.fit, ['letterbox', 'stretch']))
    fail('fit', '"letterbox" or "stretch"', info.fit);
  if (info.maxBatch !== undefined && (!is.integer(info.maxBatch) || (info.maxBatch as number) < 1))
    fail('maxBatch', 'a positive integer', info.maxBatch);
  if (
    info.padValue !== undefined &&
    (!Array.isArray(info.padValue) ||
      info.padValue.length !== 3 ||
      !info.padValue.every((v) => is.integer(v) && v >= 0 && v <= 255))
  ) {
    fail('padValue', 'an array of 3 integers 0–255', info.padValue);
  }
  // as the registry and served detectors must give it (polyphase-align reads it)
  if (info.totalStridePx !== undefined && (!is.integer(info.totalStridePx) || (info.totalStridePx as number) < 1))
    fail('totalStridePx', 'a positive integer', info.totalStridePx);
  // the manifest records them, and a resume compares their sha256 with the stored run's
  if (info.files !== undefined) {
    if (!Array.isArray(info.files)) fail('files', 'an array of { path, sha256 }', info.files);
    (info.files as unknown[]).forEach((f, k) => {
      if (!is.object(f) || !is.string(f.path) || !is.string(f.sha256) || !SHA256_RE.test(f.sha256))
        fail(`files[${k}]`, '{ path: string, sha256: 64 hex digits }', f);
    });
  }
  return info as unknown as Omit<DetectorInfo, 'runtime' | 'files'> & Partial<DetectorInfo>;
}

function checkResults(
  result: unknown,
  batchSize: number,
  classIds: ReadonlySet<number>,
  label: string,
  imageLabel: (i: number) => string,
): Detection[][] {
  if (!Array.isArray(result) || result.length !== batchSize) {
    throw new ShiftbenchError(
      'ERR_PLUGIN',
      `${label} returned ${Array.isArray(result) ? `${result.length} result lists` : describeValue(result)} for a ` +
        `batch of ${batchSize} (${imageLabel(0)}${batchSize > 1 ? ', …' : ''}); detect() must return one list of ` +
        `detections per input`,
    );
  }
  // indexed loops, not forEach: an array with holes (new Array(n) never filled in) has its length but forEach skips the
  // holes, which would pass undefined on to the runner
  for (let i = 0; i < result.length; i++) {
    const list: unknown = result[i];
    const bad = (j: number, what: string): never => {
      throw new ShiftbenchError(
        'ERR_PLUGIN',
        `${label} returned an invalid detection for ${imageLabel(i)} (detection ${j}): ${what}`,
      );
    };
    if (!Array.isArray(list)) {
      throw new ShiftbenchError(
        'ERR_PLUGIN',
        `${label} returned ${describeValue(list)} for ${imageLabel(i)}; expected an array of detections`,
      );
    }
    for (let j = 0; j < list.length; j++) {
      const d: unknown = list[j];
      if (!is.object(d)) bad(j, `expected an object { bbox, score, categoryId } but received ${describeValue(d)}`);
      const det = d as Record<string, unknown>;
      if (!is.box(det.bbox))
        bad(j, `bbox must be 4 finite numbers [x, y, width, height] in input pixels but is ${describeValue(det.bbox)}`);
      const [, , w, h] = det.bbox as number[];
      if (w < 0 || h < 0)
        bad(j, `bbox width and height must be ≥ 0 but the bbox is [${(det.bbox as number[]).join(', ')}]`);
      if (!is.number(det.score) || det.score < 0 || det.score > 1)
        bad(j, `score must be a number in [0, 1] but is ${describeValue(det.score)}`);
      if (!classIds.has(det.categoryId as number)) {
        bad(
          j,
          `categoryId ${describeValue(det.categoryId)} is not one of the detector's info.classes (` +
            `${[...classIds].slice(0, 10).join(', ')}${classIds.size > 10 ? ', …' : ''})`,
        );
      }
    }
  }
  return result as Detection[][];
}

/**
 * One detect() call of a plug-in's detector, checked: a throw becomes ERR_PLUGIN naming `label` (a
 * ShiftbenchError passes unchanged when `passShiftbenchErrors`: the inner detector's own, already named),
 * a call that has not settled after `timeoutMs` (null: no limit) ERR_PLUGIN_TIMEOUT, and the result is
 * validated (checkResults).
 */
async function guardedDetect(
  inner: Detector,
  batch: RgbImage[],
  contexts: DetectContext[] | undefined,
  label: string,
  classIds: ReadonlySet<number>,
  timeoutMs: number | null,
  passShiftbenchErrors = false,
): Promise<Detection[][]> {
  const imageLabel = (i: number) => (contexts?.[i] ? `image ${contexts[i].imageId}` : `input ${i}`);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    if (timeoutMs === null) return;
    timer = setTimeout(() => {
      reject(
        new ShiftbenchError(
          'ERR_PLUGIN_TIMEOUT',
          `${label} did not return from detect() within ${timeoutMs} ms (${imageLabel(0)}${
            batch.length > 1 ? ` and ${batch.length - 1} more` : ''
          }). If it is just slow, raise the limit with --detect-timeout <ms>; otherwise fix the plug-in.`,
        ),
      );
    }, timeoutMs); // not unref()'d: a detect() that never settles must end in this error, not in an empty event loop
  });
  let result: unknown;
  try {
    result = await Promise.race([Promise.resolve().then(() => inner.detect(batch, contexts)), timeout]);
  } catch (err) {
    if (err instanceof ShiftbenchError && (err.code === 'ERR_PLUGIN_TIMEOUT' || passShiftbenchErrors)) throw err;
    throw new ShiftbenchError(
      'ERR_PLUGIN',
      `${label} threw in detect() on ${imageLabel(0)}${batch.length > 1 ? ` (batch of ${batch.length})` : ''}: ` +
        `${(err as Error)?.message ?? String(err)}`,
      { cause: err },
    );
  } finally {
    clearTimeout(timer);
  }
  return checkResults(result, batch.length, classIds, label, imageLabel);
}

/**
 * Creates and wraps one plug-in detector (see the module note). The wrapper's info.name
 * is `plugin/detector`, its runtime "plugin <name>", and its files include the plug-in
 * file with its sha256. Throws ERR_PLUGIN when the factory throws or returns something
 * that is not a detector, ERR_INVALID_OPTION for a detectTimeoutMs that is not an integer from 1
 * to MAX_DETECT_TIMEOUT_MS. A dispose() that throws is a warning (`opts.logger`, else a
 * process warning), not an error.
 */
export async function createPluginDetector(
  plugin: LoadedPlugin,
  detectorName: string,
  opts: LoadDetectorOptions & { detectTimeoutMs?: number } = {},
): Promise<Detector> {
  const label = `Plug-in "${plugin.name}" (${plugin.file}) detector "${detectorName}"`;
  const timeoutMs = opts.detectTimeoutMs ?? DEFAULT_DETECT_TIMEOUT_MS;
  if (!is.integer(timeoutMs) || timeoutMs < 1 || timeoutMs > MAX_DETECT_TIMEOUT_MS)
    throw invalidParameterError('--detect-timeout', `an integer from 1 to ${MAX_DETECT_TIMEOUT_MS}`, timeoutMs);
  let inner: Detector;
  try {
    inner = await plugin.definition.detectors[detectorName](opts);
  } catch (err) {
    throw new ShiftbenchError('ERR_PLUGIN', `${label} failed to load: ${(err as Error)?.message ?? String(err)}`, {
      cause: err,
    });
  }
  if (!is.object(inner) || typeof inner.detect !== 'function') {
    throw new ShiftbenchError(
      'ERR_PLUGIN',
      `${label}: the factory must return a detector { info, detect(batch, contexts), dispose() } but returned ` +
        `${describeValue(inner)}`,
    );
  }
  const raw = checkInfo(inner.info, label);
  const classes: CocoCategory[] = raw.classes.map((c) => ({ ...c }));
  const classIds = new Set(classes.map((c) => c.id));
  const info: DetectorInfo = {
    name: `${plugin.name}/${detectorName}`,
    family: { stages: raw.family.stages, anchors: raw.family.anchors },
    inputSizePx: { width: raw.inputSizePx.width, height: raw.inputSizePx.height },
    classes,
    fit: raw.fit ?? 'stretch',
    padValue: raw.padValue ? ([...raw.padValue] as [number, number, number]) : [0, 0, 0],
    totalStridePx: raw.totalStridePx,
    maxBatch: raw.maxBatch ?? 1,
    runtime: `plugin ${plugin.name}${typeof raw.runtime === 'string' ? ` (${raw.runtime})` : ''}`,
    files: [
      { path: plugin.file, sha256: plugin.sha256 },
      ...(raw.files ?? []).map((f) => ({ path: f.path, sha256: f.sha256 })),
    ],
    details: {
      ...(is.object(raw.details) ? raw.details : {}),
      plugin: plugin.name,
      pluginDetector: detectorName,
      detectTimeoutMs: timeoutMs,
    },
  };

  // releasesInputs: the plug-in's own word (docs/plugins.md)
  return markReleasesInputs(
    {
      info,
      async detect(batch: RgbImage[], contexts?: DetectContext[]): Promise<Detection[][]> {
        const out: Detection[][] = [];
        for (let i = 0; i < batch.length; i += info.maxBatch) {
          const part = batch.slice(i, i + info.maxBatch);
          out.push(
            ...(await guardedDetect(inner, part, contexts?.slice(i, i + info.maxBatch), label, classIds, timeoutMs)),
          );
        }
        return out;
      },
      // a dispose() that throws comes after every detection is stored: a warning, never the end of the run
      async dispose(): Promise<void> {
        try {
          await inner.dispose?.();
        } catch (err) {
          const message =
            `${label} threw in dispose(): ${(err as Error)?.message ?? String(err)}; ` +
            'its detections are stored and the run goes on';
          if (opts.logger) opts.logger.warn(message);
          else process.emitWarning(message, { code: 'ERR_PLUGIN' });
        }
      },
    },
    inner.releasesInputs === true,
  );
}

/**
 * The factory of a plug-in's mitigation `name`, held to the contract that plug-in detectors are: a
 * factory or wrap() that throws, or returns something else than a mitigation or a detector, is ERR_PLUGIN
 * naming the plug-in, its file and the mitigation; the wrapped detector's info is checked as a plug-in
 * detector's (missing fields are the inner detector's) and each of its detect() results is validated
 * (checkResults), and a dispose() that throws is a warning, as a plug-in detector's. Errors of the inner detector pass
 * unchanged.
 */
export function guardPluginMitigation(plugin: LoadedPlugin, name: string): MitigationFactory {
  const factory = plugin.definition.mitigations![name];
  const label = `Plug-in "${plugin.name}" (${plugin.file}) mitigation "${name}"`;
  const message = (err: unknown) => (err as Error)?.message ?? String(err);
  return (arg: string): Mitigation => {
    let m: unknown;
    try {
      m = factory(arg);
    } catch (err) {
      if (err instanceof ShiftbenchError) throw err;
      const spec = arg === '' ? name : `${name}:${arg}`;
      throw new ShiftbenchError('ERR_PLUGIN', `${label} failed to create "${spec}": ${message(err)}`, { cause: err });
    }
    if (!is.object(m) || !is.string(m.name) || !is.string(m.spec) || typeof m.wrap !== 'function') {
      throw new ShiftbenchError(
        'ERR_PLUGIN',
        `${label}: the factory must return a mitigation { name, spec, wrap(detector, context) } but returned ` +
          describeValue(m),
      );
    }
    const given = m as unknown as Mitigation;
    return {
      name: given.name,
      spec: given.spec,
      ...(given.loadOptions !== undefined ? { loadOptions: given.loadOptions } : {}),
      ...(typeof given.replacementModel === 'function' ? { replacementModel: given.replacementModel.bind(given) } : {}),
      wrap(detector: Detector, ctx: MitigationContext): Detector {
        let wrapped: unknown;
        try {
          wrapped = given.wrap(detector, ctx);
        } catch (err) {
          if (err instanceof ShiftbenchError) throw err;
          throw new ShiftbenchError(
            'ERR_PLUGIN',
            `${label} threw in wrap() on detector "${detector.info.name}": ${message(err)}`,
            { cause: err },
          );
        }
        const on = `${label} on detector "${detector.info.name}"`;
        if (!is.object(wrapped) || typeof wrapped.detect !== 'function') {
          throw new ShiftbenchError(
            'ERR_PLUGIN',
            `${on}: wrap() must return a detector { info, detect(batch, contexts), dispose() } but returned ` +
              describeValue(wrapped),
          );
        }
        const d = wrapped as unknown as Detector;
        const givenInfo = is.object(d.info) ? d.info : {};
        const info: DetectorInfo = { ...detector.info, ...givenInfo };
        // the inner detector's files are already checked, in its own way (a model's, a plug-in's)
        checkInfo(info.files === detector.info.files ? { ...info, files: undefined } : info, on);
        const classIds = new Set(info.classes.map((c) => c.id));
        // releasesInputs: the plug-in's own word for its wrapper (docs/plugins.md)
        return markReleasesInputs(
          {
            info,
            detect: (batch, contexts) => guardedDetect(d, batch, contexts, on, classIds, null, true),
            // as a plug-in detector's: a dispose() that throws comes after the detections are stored, so a warning naming
            // the plug-in (errors of the inner detector pass unchanged)
            dispose: async () => {
              try {
                await d.dispose?.();
              } catch (err) {
                if (err instanceof ShiftbenchError) throw err;
                const warning =
                  `${on} threw in dispose(): ${message(err)}; ` + 'its detections are stored and the run goes on';
                if (ctx.logger) ctx.logger.warn(warning);
                else process.emitWarning(warning, { code: 'ERR_PLUGIN' });
              }
            },
          },
          d.releasesInputs === true,
        );
      },
    };
  };
}
