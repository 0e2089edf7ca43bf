/**
 * `score` of results whose category ids are none of the dataset's (a framework writing its own class indices, e.g.
 * 0-based, or another label map): every result would be left out as "a category the dataset does not have", so the run
 * scored mAP 0 with a detection consistency of 100 % (nothing scored, nothing flickers) and exited 0 — a number from
 * the wrong id space shown as a result. It is refused (ERR_EXPORT) naming the file, the ids and the fix, before
 * anything is written; results where some ids are the dataset's still score (the others warned about).
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { scoreExport, type ExportManifest } from '../../src/export/index.js';
import { rejection } from '../helpers/shared.js';
import { tempDir } from '../runner/fixtures.js';
import { smallExport, synthVal } from './smallExport.js';

describe('score: results whose category ids are not the dataset’s', () => {
  let root: string;
  let exportDir: string;
  let manifest: ExportManifest;
  const write = (k: number, value: unknown) =>
    writeFile(path.join(exportDir, 'detections', `shift_${k}.json`), JSON.stringify(value));
  const det = (imageId: number, categoryId: number) => ({
    image_id: imageId,
    category_id: categoryId,
    bbox: [10, 10, 20, 20],
    score: 0.9,
  });
  const writeAll = async (categoryOf: (k: number, i: number) => number) => {
    for (let k = 0; k < manifest.shiftSet.shifts.length; k++)
      await write(
        k,
        manifest.images.map((im, i) => det(im.id, categoryOf(k, i))),
      );
  };

  beforeAll(async () => {
    root = await tempDir('shiftbench-score-categories-');
    exportDir = path.join(root, 'export');
    manifest = await smallExport(await synthVal(root), exportDir);
    expect(manifest.dataset.categories.map((c) => c.id)).not.toContain(0);
  });

  it('none of the ids is a category of the dataset: refused naming a file, the ids and the fix; nothing written', async () => {
    await writeAll(() => 0); // 0-based class indices; the synth categories are 1…8
    const out = path.join(root, 'run-none');
    const err = await rejection(scoreExport(exportDir, { name: 'x', family: 'one-stage,anchor-free', out }));
    expect(err.code).toBe('ERR_EXPORT');
    expect(err.message).toContain(path.join(exportDir, 'detections', 'shift_0.json'));
    expect(err.message).toMatch(/category_id/);
    expect(err.message).toMatch(/\b0\b/);
    expect(err.message).toContain('export.json');
    expect(existsSync(path.join(out, 'metrics.json'))).toBe(false);
  });

  it('one file whose results are all of categories the dataset lacks, the others scorable: refused naming that file', async () => {
    // scored, that file would count as a shift where every object vanished: flicker that is a label map, not the model
    expect(manifest.shiftSet.shifts.length).toBeGreaterThan(2);
    expect(manifest.images.length).toBeGreaterThanOrEqual(2);
    await writeAll((k) => (k === 2 ? 99 : 1));
    const out = path.join(root, 'run-one-file');
    const err = await rejection(scoreExport(exportDir, { name: 'x', family: 'one-stage,anchor-free', out }));
    expect(err.code).toBe('ERR_EXPORT');
    expect(err.message).toContain(path.join(exportDir, 'detections', 'shift_2.json'));
    expect(err.message).toMatch(/category_id 99\b/);
    expect(existsSync(path.join(out, 'metrics.json'))).toBe(false);
  });

  it('some ids are the dataset’s: scored as before (the others are left out with a warning)', async () => {
    await writeAll((k, i) => (i === 0 ? 1 : 1000));
    const warnings: string[] = [];
    const { metrics } = await scoreExport(
      exportDir,
      { name: 'x', family: 'one-stage,anchor-free', out: path.join(root, 'run-some'), bootstrapResamples: 20 },
      { logger: { info: () => undefined, warn: (m) => warnings.push(m) } },
    );
    expect(metrics.results[0].imagesEvaluated).toBe(2);
    expect(warnings.join('\n')).toMatch(/categories the dataset does not have/);
  });
});
