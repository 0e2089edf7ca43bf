/**
 * Run identity: the image library (sharp / libvips) decodes every image and makes every fitted input, so its version
 * is part of what makes the detections. Another version on resume (an `npm update`) or on the machine of another shard
 * must not be taken for the same setup. Another version is simulated by editing `sharp.versions`, which is what the
 * manifest reads.
 */
import path from 'node:path';
import sharp from 'sharp';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mergeShards, runBenchmark, runShard, type RunnerEnv } from '../../src/runner/index.js';
import { resolveRunOptions } from '../../src/runner/options.js';
import { imageLibrary, runLevelIdentity } from '../../src/runner/identity.js';
import { rejection } from '../helpers/shared.js';
import type { CocoGroundTruth } from '../../src/core/types.js';
import { fakeEnv, gtDetector, makeDataset, tempDir } from './fixtures.js';

const realVips = sharp.versions.vips;

describe('run identity: the image library', () => {
  let root: string;
  let dataset: string;
  let gt: CocoGroundTruth;
  const env = (): Partial<RunnerEnv> => fakeEnv({ oracle: () => gtDetector('oracle', gt) });

  beforeAll(async () => {
    root = await tempDir('shiftbench-identity-library-');
    ({ file: dataset, gt } = await makeDataset(path.join(root, 'ds'), 4, { seed: 9 }));
  });

  afterEach(() => {
    sharp.versions.vips = realVips;
  });

  it('is in the run-level identity, as the manifest names it (versions, no path)', () => {
    const id = runLevelIdentity(resolveRunOptions({ models: ['oracle'], dataset }), 'b');
    expect(id.imageLibrary).toBe(`sharp ${sharp.versions.sharp} / libvips ${realVips}`);
    expect(imageLibrary()).toBe(id.imageLibrary);
    expect(JSON.stringify(id)).not.toContain(root);
  });

  it('another libvips version refuses the stored detections on resume, naming it', async () => {
    const options = { models: ['oracle'], dataset, out: path.join(root, 'resume'), bootstrapResamples: 20 };
    await runBenchmark({ ...options, limit: 2 }, { env: env() });
    sharp.versions.vips = '0.0.1';
    const err = await rejection(runBenchmark(options, { env: env() }));
    expect(err.code).toBe('ERR_RUN_STORE');
    expect(err.message).toContain(`imageLibrary: "sharp ${sharp.versions.sharp} / libvips ${realVips}" → `);
  });

  it('shards made with another libvips version are not merged', async () => {
    const base = { models: ['oracle'], dataset, bootstrapResamples: 20 };
    const a = path.join(root, 'shard-0');
    const b = path.join(root, 'shard-1');
    await runShard({ ...base, shard: '0/2', out: a }, { env: env() });
    sharp.versions.vips = '0.0.1';
    await runShard({ ...base, shard: '1/2', out: b }, { env: env() });
    sharp.versions.vips = realVips;
    const err = await rejection(mergeShards({ runs: [a, b], out: path.join(root, 'merged') }, { env: env() }));
    expect(err.code).toBe('ERR_MERGE');
    expect(err.message).toContain('imageLibrary');
  });
});
