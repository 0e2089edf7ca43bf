/**
 * `score` reads detections/shift_<k>.json for each shift index k of export.json. A results file for an index the export
 * does not have (shift_4.json beside an export of 4 shifts, 0–3) means the folder holds results made for another
 * export (another shift set: its shift_0…3 are other offsets than this export's) — it was silently ignored and the
 * other files scored as this export's shifts. It is refused (ERR_EXPORT) naming the file and the fix, before anything
 * is written.
 */
import { existsSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { scoreExport, type ExportManifest } from '../../src/export/index.js';
import { rejection } from '../helpers/shared.js';
import { tempDir } from '../runner/fixtures.js';
import { smallExport, synthVal } from './smallExport.js';

describe('score: a results file for a shift index the export does not have', () => {
  let root: string;
  let exportDir: string;
  let manifest: ExportManifest;
  const file = (k: number) => path.join(exportDir, 'detections', `shift_${k}.json`);
  const results = () =>
    JSON.stringify(
      manifest.images.map((im) => ({ image_id: im.id, category_id: 1, bbox: [10, 10, 20, 20], score: 0.9 })),
    );

  beforeAll(async () => {
    root = await tempDir('shiftbench-score-extra-');
    exportDir = path.join(root, 'export');
    manifest = await smallExport(await synthVal(root), exportDir);
    expect(manifest.shiftSet.shifts).toHaveLength(4);
    for (let k = 0; k < 4; k++) await writeFile(file(k), results());
  });

  it('refused naming the file, the indices the export has and the fix; nothing written', async () => {
    await writeFile(file(4), results());
    try {
      const out = path.join(root, 'run-extra');
      const err = await rejection(scoreExport(exportDir, { name: 'x', family: 'one-stage,anchor-free', out }));
      expect(err.code).toBe('ERR_EXPORT');
      expect(err.message).toContain(file(4));
      expect(err.message).toMatch(/0–3/);
      expect(err.message).toContain('export.json');
      expect(existsSync(path.join(out, 'metrics.json'))).toBe(false);
    } finally {
      await rm(file(4));
    }
  });

  it('without it, the same files score (control)', async () => {
    const { metrics } = await scoreExport(exportDir, {
      name: 'x',
      family: 'one-stage,anchor-free',
      out: path.join(root, 'run-ok'),
      bootstrapResamples: 20,
    });
    expect(metrics.results[0].imagesEvaluated).toBe(2);
  });
});
