/**
 * Two detectors scored from exports into one run directory: the second `score` scores the first again from its stored
 * detections beside itself — the folder's metrics, reports and per-shift files cover both. Before, the second dropped
 * the first's metrics and per-shift files while the manifest still listed it, with exit 0.
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { scoreExport, type ExportManifest } from '../../src/export/index.js';
import { tempDir } from '../runner/fixtures.js';
import { smallExport, synthVal } from './smallExport.js';

describe('score of a second detector into the same folder', () => {
  let root: string;
  let exportDir: string;
  let manifest: ExportManifest;
  /** Every shift file: one box per image, `dx` px to the right at odd shifts. */
  const writeDetections = async (dx: number) => {
    for (let k = 0; k < 4; k++) {
      const dets = manifest.images.map((i) => ({
        image_id: i.id,
        category_id: 1,
        bbox: [10 + (k % 2) * dx, 10, 20, 20],
        score: 0.9,
      }));
      await writeFile(path.join(exportDir, 'detections', `shift_${k}.json`), JSON.stringify(dets));
    }
  };

  beforeAll(async () => {
    root = await tempDir('shiftbench-score-two-');
    exportDir = path.join(root, 'export');
    manifest = await smallExport(await synthVal(root), exportDir);
  });

  it('scores both; the first keeps its numbers', async () => {
    const out = path.join(root, 'run');
    const score = (name: string) =>
      scoreExport(exportDir, { name, family: 'one-stage,anchor-free', out, bootstrapResamples: 20 });
    await writeDetections(0);
    const first = await score('first');
    await writeDetections(3);
    const second = await score('second');
    expect(second.metrics.results.map((r) => r.key).sort()).toEqual(['first', 'second']);
    const a1 = first.metrics.results.find((r) => r.key === 'first')!;
    const a2 = second.metrics.results.find((r) => r.key === 'first')!;
    expect({ ...a2, timing: null }).toEqual({ ...a1, timing: null });
    // the two detectors differ: the second's boxes move at odd shifts
    expect(second.metrics.results.find((r) => r.key === 'second')!.consistency.boxJitterCenterPx!.mean).toBeGreaterThan(
      0,
    );
    for (const key of ['first', 'second'])
      expect(existsSync(path.join(out, 'detections', key, 'shifts.json')), key).toBe(true);
    const onDisk = JSON.parse(await readFile(path.join(out, 'manifest.json'), 'utf8')) as {
      detectors: { key: string }[];
    };
    expect(onDisk.detectors.map((d) => d.key).sort()).toEqual(['first', 'second']);
  });
});
