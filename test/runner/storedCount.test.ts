/**
 * The counts a resumed run prints are of the images of this run: a detection log may hold records of images the
 * dataset no longer selects (a run made with a larger --limit resumed with a smaller one, or with --images), and those
 * are neither "stored" for this run nor scored.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { CocoGroundTruth, Logger } from '../../src/core/types.js';
import { runBenchmark } from '../../src/runner/index.js';
import { fakeEnv, gtDetector, makeDataset, tempDir } from './fixtures.js';

function capture(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const put = (m: string) => void lines.push(m);
  return { logger: { info: put, warn: put, debug: put }, lines };
}

describe('resume counts', () => {
  let root: string;
  let dataset: string;
  let gt: CocoGroundTruth;

  beforeAll(async () => {
    root = await tempDir('shiftbench-stored-count-');
    ({ file: dataset, gt } = await makeDataset(path.join(root, 'ds'), 6));
  });

  const env = () => fakeEnv({ gt: () => gtDetector('gt', gt) });

  it('a log holding images the run does not select counts only the selected ones as stored', async () => {
    const out = path.join(root, 'run');
    const base = { models: ['gt'], dataset, shifts: 'grid:1', out, bootstrapResamples: 20, prepareWorkers: 0 };
    await runBenchmark({ ...base, limit: 6 }, { env: env(), logger: capture().logger });

    const fewer = capture();
    const r = await runBenchmark({ ...base, limit: 4 }, { env: env(), logger: fewer.logger });
    expect(r.metrics.results[0].imagesEvaluated).toBe(4);
    expect(fewer.lines.filter((l) => l.includes(' stored'))).toEqual(['gt: all 4 images already stored']);

    // images 1–3 of the stored ones and a new one: 1 to run, 3 of them stored (not the 6 records of the log)
    const other = path.join(path.dirname(dataset), 'other.json');
    const image7 = { ...gt.images[3], id: 7 };
    await writeFile(
      other,
      JSON.stringify({
        images: [...gt.images.slice(0, 3), image7],
        annotations: gt.annotations
          .filter((a) => a.image_id <= 4)
          .map((a) => (a.image_id === 4 ? { ...a, image_id: 7 } : a)),
        categories: gt.categories,
      }),
    );
    const mixed = capture();
    const m = await runBenchmark({ ...base, dataset: other }, { env: env(), logger: mixed.logger });
    expect(m.metrics.results[0].imagesEvaluated).toBe(4);
    expect(mixed.lines.filter((l) => l.includes(' stored'))).toEqual(['gt: 1 image to run (3 stored)']);
  }, 60_000);
});
