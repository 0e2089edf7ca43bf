/**
 * zoo-fcos-aps, the zoo's FCOS built to be exactly equivariant to circular shifts
 * (adaptive polyphase sampling, circular padding; models/zoo/train/aps.py), certified by
 * the harness: in `circular` mode on the first 50 synth val images by id its mAP is the
 * same at every shift (mapRange exactly 0) and every detection comes back (consistency 1),
 * while its plain twin zoo-fcos, scored the same way, moves. Its valMap is reproduced by
 * zoo.test.ts like every zoo model's.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ModelEntry } from '../../src/core/types.js';
import { ensureSynthDataset } from '../../src/datasets/index.js';
import { runBenchmark } from '../../src/runner/index.js';
import { REPO_ROOT } from '../helpers/shared.js';
import { tempDir } from '../runner/fixtures.js';

const ZOO_DIR = path.join(REPO_ROOT, 'models/zoo');
const zoo: ModelEntry[] = existsSync(path.join(ZOO_DIR, 'zoo.json'))
  ? (JSON.parse(readFileSync(path.join(ZOO_DIR, 'zoo.json'), 'utf8')) as { models: ModelEntry[] }).models
  : [];

// The models are committed and need nothing from ../shared: a missing file or entry is a failure, never a skip.
describe('zoo-fcos-aps: exactly equivariant to circular shifts, measured by shiftbench', () => {
  let dataset = '';
  beforeAll(async () => {
    const root = await tempDir();
    dataset = (await ensureSynthDataset(path.join(root, 'synth'), { splits: ['val'] })).splits[0].annotationFile;
  });

  it('is registered as the circular-exact variant of zoo-fcos, unclipped', () => {
    for (const name of ['zoo-fcos-aps', 'zoo-fcos']) {
      const entry = zoo.find((m) => m.name === name);
      expect(entry, `${name} in models/zoo/zoo.json`).toBeDefined();
      expect(existsSync(path.join(ZOO_DIR, entry!.files[0].name)), `${entry!.files[0].name} in models/zoo`).toBe(true);
    }
    const e = zoo.find((m) => m.name === 'zoo-fcos-aps')!;
    expect(e.decoder).toEqual({ name: 'torchvision', params: { labels: 'category-id', clipBoxes: false } });
    expect(e.meta).toMatchObject({ equivariance: 'circular-exact (APS)', baseline: 'zoo-fcos', antialias: false });
    expect(e.family).toEqual(zoo.find((m) => m.name === 'zoo-fcos')!.family);
  });

  it(
    'circular mode, grid:1, first 50 val images: mapRange === 0 and detConsistency 1; zoo-fcos moves',
    { timeout: 600_000 },
    async () => {
      const out = path.join(await tempDir(), 'run');
      const r = await runBenchmark({
        models: ['zoo-fcos-aps', 'zoo-fcos'],
        dataset,
        mode: 'circular',
        shifts: 'grid:1',
        limit: 50,
        out,
        threads: 1,
        bootstrapResamples: 100,
        bootstrapBounds: 0,
      });
      const [aps, plain] = r.metrics.results;
      expect(aps.key).toBe('zoo-fcos-aps');
      expect(aps.imagesEvaluated).toBe(50);
      expect(aps.bounds!.mapRef).toBeGreaterThan(0.3);
      expect(aps.bounds!.perShift).toEqual(aps.bounds!.perShift.map(() => aps.bounds!.mapRef));
      expect(aps.bounds!.mapRange).toBe(0);
      expect(aps.consistency.detConsistency.mean).toBe(1);
      expect(plain.bounds!.mapRange).toBeGreaterThan(0);
      expect(plain.consistency.detConsistency.mean).toBeLessThan(1);
    },
  );
});
