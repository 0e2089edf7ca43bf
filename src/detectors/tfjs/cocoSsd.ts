/**
 * Where the coco-ssd (SSD MobileNet v2 / lite, TF Object Detection API) weights come
 * from. `@tensorflow-models/coco-ssd` loads them from a URL at run time; shiftbench
 * takes, in order: a local copy given with `--weights DIR` (`opts.weightsDir`), the
 * cache folder, or the entry's URL (fetched once into the cache, model.json then every
 * shard its manifest lists, each only when the entry pins its sha256, with the url-source
 * size limit and timeout). The sha256 of every file read is recorded in the manifest.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { renameDurable, writeFileAtomic } from '../../core/atomicFile.js';
import { loadError, ShiftbenchError } from '../../core/errors.js';
import type { LoadDetectorOptions, ModelEntry } from '../../core/types.js';
import { fetchLimited, sha256File } from '../pull.js';
import { entryOrigin } from '../registry.js';
import { manifestGroups } from './graphFiles.js';

/** The model file of a TF.js graph model folder. */
export const COCO_SSD_MODEL_FILE = 'model.json';

/**
 * Names of the files a model.json needs besides itself (its weight shards), or null when model.json is
 * absent/unreadable.
 */
async function missingShards(dir: string): Promise<string[] | null> {
  const modelPath = path.join(dir, COCO_SSD_MODEL_FILE);
  if (!existsSync(modelPath)) return null;
  try {
    const json = JSON.parse(await readFile(modelPath, 'utf8')) as Record<string, unknown>;
    return manifestGroups(json, modelPath)
      .flatMap((g) => g.paths)
      .filter((p) => !existsSync(path.join(dir, p)));
  } catch {
    return null;
  }
}

function solutions(entry: ModelEntry, dir: string): string[] {
  const url = entry.source.kind === 'url' ? entry.source.baseUrl.replace(/\/+$/, '') : undefined;
  return [
    `Pass a local copy with --weights DIR: a folder holding model.json and every weight shard its "weightsManifest" ` +
      `lists (group1-shard…)${url ? `, as served at ${url}/` : ''}`,
    ...(url
      ? [
          `To get them on a machine that can reach ${url}: run \`shiftbench models pull ${entry.name} --cache-dir ` +
            `DIR\` (writes DIR/${entry.name}/), ` +
            `or download ${url}/${COCO_SSD_MODEL_FILE} and then each file named in its weightsManifest[].paths from ` +
            `the same folder; copy that folder here and pass it with --weights`,
        ]
      : []),
    `Or copy the files into ${dir} (the cache, used without --weights)`,
  ];
}

/** Checks the entry's pinned files (sha256 not null) in `dir`; unpinned ones are only recorded later. */
async function verifyPinned(entry: ModelEntry, dir: string): Promise<void> {
  for (const f of entry.files) {
    if (f.sha256 === null) continue;
    const file = path.join(dir, f.name);
    const found = existsSync(file) ? await sha256File(file) : 'no file';
    if (found !== f.sha256) {
      throw new ShiftbenchError(
        'ERR_MODEL_HASH',
        `sha256 mismatch for ${file} of model "${entry.name}": expected ${f.sha256} (pinned in ` +
          `${entryOrigin(entry) ?? 'the model entry'}) but found ${found}. ` +
          'Use the files the entry was pinned for, or set that "sha256" to null (url sources) to accept other bytes.',
      );
    }
  }
}

/** The sha256 the entry pins for `name`, or an ERR_MODEL_HASH refusal: a URL source fetches only pinned files. */
function pinnedSha(entry: ModelEntry, name: string, base: string, dir: string): string {
  const sha = entry.files.find((f) => f.name === name)?.sha256 ?? null;
  if (sha !== null) return sha;
  throw loadError(
    'ERR_MODEL_HASH',
    `coco-ssd weights from ${base}: ${name} has no sha256 in the entry, and files are fetched from a URL only when ` +
      `pinned`,
    [
      `Pin every file: copy the entry into a --registry file and list model.json and each shard of its ` +
        `weightsManifest in "files" with its "sha256"`,
      ...solutions(entry, dir),
    ],
  );
}

/** Fetches `${base}/${name}` (size limit + timeout) into `tmp` and checks it against `sha`. */
async function fetchPinned(entry: ModelEntry, base: string, name: string, sha: string, tmp: string): Promise<void> {
  const file = path.join(tmp, name);
  await writeFileAtomic(file, await fetchLimited(`${base}/${name}`));
  const found = await sha256File(file);
  if (found !== sha) {
    throw new ShiftbenchError(
      'ERR_MODEL_HASH',
      `sha256 mismatch for ${base}/${name} of model "${entry.name}": expected ${sha} (pinned in ` +
        `${entryOrigin(entry) ?? 'the model entry'}) but the URL served ${found}. ` +
        "Check the entry's baseUrl and hashes; nothing was written to the cache.",
    );
  }
}

/**
 * Returns the folder holding coco-ssd's model.json and all its shards, with the entry's
 * pinned files (sha256 not null) verified; unpinned files are not checked (the manifest
 * records the sha256 of what is loaded). `dir` is the entry's cache folder (where a URL
 * source is fetched to).
 * @throws ShiftbenchError ERR_MODEL_LOAD when `--weights DIR` lacks files, or files are
 *   missing and fetching is disabled; ERR_NETWORK when the URL cannot be fetched (offline);
 *   ERR_MODEL_HASH when a pinned file differs.
 */
export async function resolveCocoSsdDir(entry: ModelEntry, dir: string, opts: LoadDetectorOptions): Promise<string> {
  const found = await locateCocoSsdDir(entry, dir, opts);
  await verifyPinned(entry, found);
  return found;
}

async function locateCocoSsdDir(entry: ModelEntry, dir: string, opts: LoadDetectorOptions): Promise<string> {
  if (opts.weightsDir !== undefined) {
    const wdir = path.resolve(opts.weightsDir);
    const missing = await missingShards(wdir);
    if (missing === null || missing.length > 0) {
      throw loadError(
        'ERR_MODEL_LOAD',
        `coco-ssd weights from --weights ${wdir}: ${
          missing === null ? `no readable ${COCO_SSD_MODEL_FILE} there` : `missing shard(s) ${missing.join(', ')}`
        }`,
        [
          'Point --weights at the folder holding model.json and every shard its "weightsManifest" lists',
          ...solutions(entry, dir).slice(1),
        ],
      );
    }
    return wdir;
  }
  const missing = await missingShards(dir);
  if (missing !== null && missing.length === 0) return dir;
  if (entry.source.kind === 'path') {
    throw loadError('ERR_MODEL_LOAD', `coco-ssd weights in ${dir}`, solutions(entry, dir));
  }
  if (entry.source.kind !== 'url') {
    throw new ShiftbenchError(
      'ERR_REGISTRY',
      `Model "${entry.name}" (format coco-ssd) needs a url or path source, not ${entry.source.kind}`,
    );
  }
  if (opts.allowPull === false) {
    throw loadError(
      'ERR_MODEL_LOAD',
      `coco-ssd weights: they are not in ${dir} and fetching is disabled`,
      solutions(entry, dir),
    );
  }
  const base = entry.source.baseUrl.replace(/\/+$/, '');
  opts.logger?.info(`Fetching coco-ssd weights from ${base} into ${dir}`);
  await mkdir(path.dirname(dir), { recursive: true });
  const tmp = await mkdtemp(path.join(path.dirname(dir), `.pull-${entry.name}-`));
  const shards: string[] = [];
  try {
    try {
      await fetchPinned(entry, base, COCO_SSD_MODEL_FILE, pinnedSha(entry, COCO_SSD_MODEL_FILE, base, dir), tmp);
      const json = JSON.parse(await readFile(path.join(tmp, COCO_SSD_MODEL_FILE), 'utf8')) as Record<string, unknown>;
      for (const p of manifestGroups(json, `${base}/${COCO_SSD_MODEL_FILE}`).flatMap((g) => g.paths)) {
        if (path.isAbsolute(p) || p.split(/[\\/]/).includes('..'))
          throw new Error(`unsafe shard path "${p}" in model.json`);
        await fetchPinned(entry, base, p, pinnedSha(entry, p, base, dir), tmp);
        shards.push(p);
      }
    } catch (err) {
      if (err instanceof ShiftbenchError) throw err;
      throw loadError('ERR_NETWORK', `coco-ssd weights from ${base}`, solutions(entry, dir), err);
    }
    // file by file, each replacing its old copy atomically, model.json last (it marks the folder complete): never
    // deleting the folder, which another pull of the same entry may have just filled and a run may be loading from
    await mkdir(dir, { recursive: true });
    for (const p of [...new Set(shards), COCO_SSD_MODEL_FILE]) {
      await mkdir(path.dirname(path.join(dir, p)), { recursive: true });
      await renameDurable(path.join(tmp, p), path.join(dir, p));
    }
    return dir;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
