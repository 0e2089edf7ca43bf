/**
 * `shiftbench export` and `shiftbench score` from the command line (issue 13.3): an oracle
 * written here (each ground-truth box moved into each input by export.json's transform —
 * a detector whose output moves exactly with its input) scores mapRange 0 and
 * detConsistency 1; bad usage exits 2, a missing results file exits 1 naming it.
 */
import { spawnSync } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { CocoGroundTruth, RunMetrics } from '../../src/core/types.js';
import type { ExportManifest } from '../../src/export/index.js';
import { REPO_ROOT } from '../helpers/shared.js';
import { makeDataset, tempDir } from '../runner/fixtures.js';

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'src/cli/index.ts'), ...args], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('shiftbench export / score (CLI)', () => {
  let root: string;
  let dataset: string;
  let gt: CocoGroundTruth;

  beforeAll(async () => {
    root = await tempDir('shiftbench-cli-export-');
    ({ file: dataset, gt } = await makeDataset(path.join(root, 'ds'), 3, { seed: 5 }));
  });

  it('export → oracle results → score: mapRange 0, detConsistency 1; a missing file exits 1 naming it', async () => {
    const exportDir = path.join(root, 'export');
    const ex = cli(
      'export',
      '--dataset',
      dataset,
      '--input-size',
      '64x48',
      '--fit',
      'letterbox',
      '--pad-value',
      '114,114,114',
      '--shifts',
      'grid:2',
      '--out',
      exportDir,
      '--quiet',
    );
    expect(ex.code, ex.stderr).toBe(0);
    expect(ex.stdout).toMatch(/27 inputs \(3 images × 9 shifts, 64×48, pad\)/);
    const manifest = JSON.parse(await readFile(path.join(exportDir, 'export.json'), 'utf8')) as ExportManifest;
    expect(manifest.input).toMatchObject({ widthPx: 64, heightPx: 48, fit: 'letterbox', padValue: [114, 114, 114] });
    for (const { index } of manifest.shiftSet.shifts) {
      const results = manifest.images.flatMap((image) =>
        gt.annotations
          .filter((a) => a.image_id === image.id)
          .map((a) => {
            const t = image.inputs![index].transform;
            return {
              image_id: image.id,
              category_id: a.category_id,
              bbox: [
                a.bbox[0] * t.scaleX + t.offsetX,
                a.bbox[1] * t.scaleY + t.offsetY,
                a.bbox[2] * t.scaleX,
                a.bbox[3] * t.scaleY,
              ],
              score: 0.9,
            };
          }),
      );
      await writeFile(path.join(exportDir, 'detections', `shift_${index}.json`), JSON.stringify(results));
    }
    const runDir = path.join(root, 'run');
    const sc = cli(
      'score',
      exportDir,
      '--name',
      'oracle-outside',
      '--family',
      'anchor-free,one-stage',
      '--out',
      runDir,
      '--bootstrap',
      '50',
      '--quiet',
    );
    expect(sc.code, sc.stderr).toBe(0);
    expect(sc.stdout).toContain('oracle-outside');
    const metrics = JSON.parse(await readFile(path.join(runDir, 'metrics.json'), 'utf8')) as RunMetrics;
    expect(metrics.results[0].bounds!.mapRange).toBe(0);
    expect(metrics.results[0].bounds!.mapRef).toBeGreaterThan(0.99);
    expect(metrics.results[0].consistency.detConsistency.mean).toBe(1);

    await rm(path.join(exportDir, 'detections', 'shift_4.json'));
    /** `score` of the export into a new run directory under root. */
    const scoreInto = (out: string) =>
      cli(
        'score',
        exportDir,
        '--name',
        'oracle-outside',
        '--family',
        'one-stage,anchor-free',
        '--out',
        path.join(root, out),
      );
    const missing = scoreInto('run2');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(path.join(exportDir, 'detections', 'shift_4.json'));
    expect(missing.stderr).toMatch(/is missing.*inputs\/<imageId>\/4\.png/);

    // a detector run that failed on one shift and wrote [] is refused, not scored as flicker
    await writeFile(path.join(exportDir, 'detections', 'shift_4.json'), '[]');
    const empty = scoreInto('run3');
    expect(empty.code, empty.stdout).toBe(1);
    expect(empty.stderr).toContain(path.join(exportDir, 'detections', 'shift_4.json'));
    expect(empty.stderr).toMatch(/holds no result at all.*inputs\/<imageId>\/4\.png/);
    expect(empty.stdout).not.toMatch(/mapRange|oracle-outside/);
  });

  it('usage errors exit 2 naming the flag', () => {
    const noInput = cli('export', '--dataset', dataset, '--out', path.join(root, 'x1'));
    expect(noInput.code).toBe(2);
    expect(noInput.stderr).toMatch(/--model or --input-size/);
    const badSize = cli('export', '--dataset', dataset, '--input-size', '64by48', '--out', path.join(root, 'x2'));
    expect(badSize.code).toBe(2);
    expect(badSize.stderr).toMatch(/--input-size/);
    const noFamily = cli('score', path.join(root, 'export'), '--name', 'x');
    expect(noFamily.code).toBe(2);
    expect(noFamily.stderr).toMatch(/--family/);
  });
});
