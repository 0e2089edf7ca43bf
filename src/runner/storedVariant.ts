/**
 * The stored detections of one detector of a saved run, checked before anything scores them again (a rescore,
 * `compare`, `check --baseline`): read only, nothing in the run directory is written.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { isKeptPrevious } from '../core/fileNames.js';
import { ShiftbenchError } from '../core/errors.js';
import { hashChange, imageIdentityFor, type imageHashes } from './identity.js';
import { plainKeysOf } from './options.js';
import type { RunManifest, RunStore } from './runStore.js';
import type { ScoredVariant } from './score.js';
import { isSkipped } from './store.js';

/**
 * What of the manifest's command (`options.models`, each with every `--mitigation`) has no detector listed — a model's
 * plain detector, or some of its mitigated ones (counted, as their keys hold each mitigation's canonical spelling): the
 * run stopped before they ran (a model that could not load, Ctrl-C), since a detector is listed once it has loaded.
 * Scoring the others alone would give metrics of part of the command. One phrase each, e.g. `the model "x" (--model)`
 * or `the --mitigation detectors of "x"`; empty when everything ran.
 */
export function detectorsNotRun(manifest: RunManifest): string[] {
  const options = manifest.options as { models?: unknown; mitigations?: unknown };
  const models = Array.isArray(options.models) ? options.models.filter((m): m is string => typeof m === 'string') : [];
  const mitigations = Array.isArray(options.mitigations) ? options.mitigations.length : 0;
  const keys = manifest.detectors.map((d) => d.key);
  const bases = plainKeysOf(models);
  return models.flatMap((model, i) =>
    !keys.includes(bases[i])
      ? [`the model "${model}" (--model)`]
      : keys.filter((k) => k.startsWith(`${bases[i]}+`)).length < mitigations
        ? [`the --mitigation detectors of "${model}"`]
        : [],
  );
}

/**
 * Detector `key` of the run in `store` over `images`: its manifest entry and its detection log, with every image
 * finished and unchanged since it was run (`ids`: the images' content hashes now). `doing` names what would be
 * wrong otherwise ("rescoring", "pairing"). Throws ERR_RUN_STORE naming the file or image and the fix: no such
 * detector, a missing log, an unfinished image, a changed image.
 */
export async function readStoredVariant(
  store: RunStore,
  manifest: RunManifest,
  key: string,
  images: readonly { id: number; fileName: string }[],
  ids: Awaited<ReturnType<typeof imageHashes>>,
  doing: 'rescoring' | 'pairing' | 'scoring',
): Promise<ScoredVariant> {
  const entry = manifest.detectors.find((d) => d.key === key);
  if (!entry)
    throw new ShiftbenchError(
      'ERR_RUN_STORE',
      `${store.manifestFile} has no detector "${key}"; the run directory is damaged. ` +
        `Run it again with \`shiftbench run\`.`,
    );
  // previous/ (the finished results kept while a run adds to its directory) holds no detections: they stay in the
  // directory's own log, which that run only appends to. Pairing reads them there; a rescore, which would write its
  // metrics into previous/, is refused
  const previous = isKeptPrevious(store.dir);
  const file = store.logFile(key, previous && doing === 'pairing' ? path.dirname(store.dir) : store.dir);
  if (previous && doing !== 'pairing')
    throw new ShiftbenchError(
      'ERR_RUN_STORE',
      `${store.dir} holds the finished results kept while a run added to ${path.dirname(store.dir)}: its metrics ` +
        `and reports, not the detections (those stay in ${path.dirname(store.dir)}), so ${doing} cannot read them ` +
        `here. \`shiftbench report ${store.dir}\` (without analysis settings), \`compare\` and \`check\` read it as ` +
        `it is; to rescore, finish that run (its \`shiftbench run\` command again) and rescore ` +
        `${path.dirname(store.dir)}.`,
    );
  // a merged directory's detections come from its shards: the fix is its merge, not a run
  const again = manifest.merged
    ? `Run the same \`shiftbench merge SHARD… --out ${store.dir}\` command again`
    : 'Run the same `shiftbench run` command again';
  if ((await stat(file).catch(() => null)) === null)
    throw new ShiftbenchError(
      'ERR_RUN_STORE',
      `${file} is missing: the stored detections of "${key}" are gone, so ${doing} has nothing to read. ${again} ` +
        `to compute them${manifest.merged ? '' : " (the other detectors' are kept)"}.`,
    );
  const sha256 = imageIdentityFor(manifest.identity?.detectors?.[key], ids);
  const stored = await store.readLog(key, manifest.shiftSet.shifts.length, file);
  for (const image of images) {
    const r = stored.get(image.id);
    if (!r)
      throw new ShiftbenchError(
        'ERR_RUN_STORE',
        `The run in ${store.dir} is not finished: "${key}" has no detections for image ${image.id} (` +
          `${image.fileName}). ${again} to finish it.`,
      );
    if (!isSkipped(r) && r.sha256 !== undefined && r.sha256 !== sha256.get(image.id))
      throw new ShiftbenchError(
        'ERR_RUN_STORE',
        `Image ${image.id} (${image.fileName}) changed since "${key}" of ${store.dir} was run (sha256 ` +
          `${hashChange(r.sha256, sha256.get(image.id))}); ${doing} would mix datasets. Run it again with ` +
          `\`shiftbench run\`.`,
      );
  }
  return { entry, records: stored, file };
}

/**
 * The detectors a run directory holds besides those a command runs now (`named`): a run directory's metrics cover every
 * detector stored in it, so a `run` or `score` that names only some scores the others from their stored detections,
 * run by no model. Each must be stored for every image of this run, unchanged: else throws ERR_RUN_STORE naming it,
 * why, and `finish(entry)` — how to complete it in this command — or another --out.
 */
export async function readOtherDetectors(
  store: RunStore,
  stored: RunManifest | null,
  named: readonly string[],
  images: readonly { id: number; fileName: string }[],
  ids: Awaited<ReturnType<typeof imageHashes>>,
  finish: (entry: RunManifest['detectors'][number]) => string,
): Promise<ScoredVariant[]> {
  const others: ScoredVariant[] = [];
  for (const entry of stored?.detectors ?? []) {
    if (named.includes(entry.key)) continue;
    try {
      others.push(await readStoredVariant(store, stored!, entry.key, images, ids, 'scoring'));
    } catch (err) {
      if (!(err instanceof ShiftbenchError) || err.code !== 'ERR_RUN_STORE') throw err;
      throw new ShiftbenchError(
        'ERR_RUN_STORE',
        `${store.dir} also holds the detector "${entry.key}", stored earlier, and its metrics are part of this ` +
          `run's, but its stored detections do not cover this run (${firstSentence(err.message)}). ` +
          `${finish(entry)}, or give another --out. Nothing was run or changed.`,
        { cause: err },
      );
    }
  }
  return others;
}

/** A message's first sentence, without its full stop. */
function firstSentence(message: string): string {
  const end = message.search(/\.(\s|$)/);
  return end < 0 ? message : message.slice(0, end);
}
