/**
 * A rescore that cannot write the new metrics.json (a full disk, a file size limit) fails naming the file and the
 * fix — and loses nothing already computed: the previous metrics.json, the manifest that names its settings and the
 * reports made from it stay as they were, so `report`, `compare` and `check` keep working until there is room.
 */
import path from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { writeReportText } from '../../src/report/index.js';
import { rescoreRun, runBenchmark } from '../../src/runner/index.js';
import { rejection } from '../helpers/shared.js';
import { makeDataset, runDirFiles as snapshot, tempDir } from './fixtures.js';

/** While armed: writing into a file whose path starts with `prefix` fails as on a full disk. */
const full = vi.hoisted(() => ({ prefix: '' }));
vi.mock('node:fs/promises', async (real) => (await import('../helpers/fullDisk.js')).fullDiskFs(real, full));

describe('a rescore with no room for the new metrics.json', () => {
  let dir: string;

  beforeAll(async () => {
    const root = await tempDir('shiftbench-rescore-noroom-');
    const { file: dataset } = await makeDataset(path.join(root, 'ds'), 5, { seed: 71 });
    dir = path.join(root, 'run');
    await runBenchmark({ models: ['jitter:96'], dataset, bootstrapResamples: 20, bootstrapBounds: 0, out: dir });
    await writeReportText(dir, 'md');
  });

  it.each(['manifest.json', 'metrics.json'])(
    'no room for %s: the rescore fails naming it and the fix; the ' +
      'previous metrics.json, manifest and reports are as they were',
    async (name) => {
      const before = await snapshot(dir);
      expect(Object.keys(before)).toEqual(expect.arrayContaining(['metrics.json', 'manifest.json', 'report.html']));
      full.prefix = path.join(dir, name);
      let e;
      try {
        e = await rejection(rescoreRun(dir, { scoreThreshold: 0.2 }));
      } finally {
        full.prefix = '';
      }
      expect(e.code).toBe('ERR_OUTPUT');
      expect(e.message).toContain(path.join(dir, name));
      expect(e.message).toContain('Free disk space');
      expect(await snapshot(dir)).toEqual(before);
      // once there is room, the same rescore completes
      const tau = name === 'metrics.json' ? 0.3 : 0.35;
      await rescoreRun(dir, { scoreThreshold: tau });
      const after = await snapshot(dir);
      expect(JSON.parse(after['metrics.json']).results[0].consistency.scoreThreshold).toBe(tau);
      expect(JSON.parse(after['manifest.json']).scoreThreshold).toBe(tau);
      expect(after['report.md']).toContain(`τ = ${tau}`);
    },
  );
});
