/**
 * Shards: `--shard i/n` runs a deterministic part of a run's images in its own run
 * directory, so n processes (an Indexed Job, a job array) share a run; `shiftbench merge`
 * (merge.ts) joins the parts and scores them once.
 *
 * Which shard an image belongs to depends on its id alone, never on the order or number
 * of images: the SHA-256 of the id written in decimal ("42"), its first four bytes read
 * as an unsigned big-endian integer, modulo n. Every machine and language computes the
 * same split, and ids that share a pattern (all multiples of 10) still spread evenly.
 */
import { createHash } from 'node:crypto';
import { invalidParameterError } from '../core/errors.js';
import type { Dataset } from '../core/types.js';

/** One shard of n: index in [0, count). */
export interface ShardSpec {
  index: number;
  count: number;
}

/** The largest shard count `--shard` accepts. */
export const MAX_SHARDS = 100_000;

/** What a shard's manifest records (manifest.shard): the split and the size of the whole run. */
export interface ManifestShard {
  index: number;
  count: number;
  /** The split rule, in words (see shardOfImage). */
  rule: string;
  /** Images of the whole run (the dataset after --limit) and of this shard. */
  imagesInRun: number;
  images: number;
}

/** The split rule as the manifest and the README state it. */
export const SHARD_RULE = 'sha256(decimal image id), first 4 bytes as unsigned big-endian integer, mod count';

/**
 * Parses `--shard i/n` (0 ≤ i < n ≤ MAX_SHARDS, 0-based like JOB_COMPLETION_INDEX) or a
 * ShardSpec. Throws ERR_INVALID_OPTION naming --shard.
 */
export function parseShard(value: unknown): ShardSpec {
  let index: number;
  let count: number;
  if (typeof value === 'string') {
    const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(value);
    if (!m) throw invalidParameterError('--shard', 'INDEX/COUNT with 0 ≤ INDEX < COUNT, e.g. 0/4', value);
    index = Number(m[1]);
    count = Number(m[2]);
  } else if (typeof value === 'object' && value !== null) {
    ({ index, count } = value as ShardSpec);
  } else {
    throw invalidParameterError('--shard', 'INDEX/COUNT with 0 ≤ INDEX < COUNT, e.g. 0/4', value);
  }
  if (!Number.isInteger(count) || count < 1 || count > MAX_SHARDS) {
    throw invalidParameterError('--shard', `a shard count from 1 to ${MAX_SHARDS} after the slash`, value);
  }
  if (!Number.isInteger(index) || index < 0 || index >= count) {
    throw invalidParameterError(
      '--shard',
      `an index from 0 to ${count - 1} before the slash (shards are numbered from 0)`,
      value,
    );
  }
  return { index, count };
}

/** The shard (0 … count−1) image `imageId` belongs to; see the module comment for the rule. */
export function shardOfImage(imageId: number, count: number): number {
  const digest = createHash('sha256').update(String(imageId)).digest();
  return digest.readUInt32BE(0) % count;
}

/**
 * The part of `dataset` that shard `shard` runs: its images, and the ground truth of those
 * images (categories kept). The dataset hash stays the whole dataset's, so the shards of
 * one run record the same one.
 */
export function shardDataset(dataset: Dataset, shard: ShardSpec): Dataset {
  const images = dataset.images.filter((im) => shardOfImage(im.id, shard.count) === shard.index);
  const keep = new Set(images.map((im) => im.id));
  const gt = dataset.groundTruth;
  return {
    ...dataset,
    images,
    groundTruth: gt
      ? {
          images: gt.images.filter((im) => keep.has(im.id)),
          annotations: gt.annotations.filter((a) => keep.has(a.image_id)),
          categories: gt.categories,
        }
      : null,
  };
}

/** `i/n` as written on the command line. */
export function formatShard(shard: ShardSpec): string {
  return `${shard.index}/${shard.count}`;
}
