/**
 * `evaluateCoco` / `shiftbench eval` are literal pycocotools (protocol §3): only `iscrowd`
 * marks ignore regions, unknown category ids are left out, and every results file a run
 * writes scores in them exactly as the run scored it.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { CocoAnnotation, CocoGroundTruth, CocoResult } from '../../src/core/types.js';
import { evaluateCoco } from '../../src/metrics/index.js';
import { runBenchmark } from '../../src/runner/index.js';
import { componentDetector, writeFlatShapes } from '../helpers/flatShapes.js';
import { REPO_ROOT } from '../helpers/shared.js';
import { tempDir } from '../runner/fixtures.js';

const gtFile = path.join(REPO_ROOT, 'test/fixtures/metrics/case1_gt.json');
const detsFile = path.join(REPO_ROOT, 'test/fixtures/metrics/case1_dets.json');

describe('evaluateCoco reads what pycocotools reads', () => {
  it('an `ignore` flag has no effect (pycocotools overwrites it with iscrowd); iscrowd does', async () => {
    const gt: CocoGroundTruth = JSON.parse(await readFile(gtFile, 'utf8'));
    const dets: CocoResult[] = JSON.parse(await readFile(detsFile, 'utf8'));
    const plain = evaluateCoco(gt, dets);
    const flagged = (extra: Partial<CocoAnnotation> & Record<string, unknown>): CocoGroundTruth => ({
      ...gt,
      annotations: gt.annotations.map((a, i) => (i % 3 === 0 ? { ...a, ...extra } : a)),
    });
    expect(evaluateCoco(flagged({ ignore: 1 }), dets)).toEqual(plain);
    expect(evaluateCoco(flagged({ iscrowd: 1 }), dets).stats[0]).not.toBe(plain.stats[0]);
  });

  it('detections of category ids the ground truth does not have are left out, not an error', async () => {
    const gt: CocoGroundTruth = JSON.parse(await readFile(gtFile, 'utf8'));
    const dets: CocoResult[] = JSON.parse(await readFile(detsFile, 'utf8'));
    const unknown = dets.slice(0, 20).map((d) => ({ ...d, category_id: 777, score: 0.99 }));
    expect(evaluateCoco(gt, [...unknown, ...dets])).toEqual(evaluateCoco(gt, dets));
  });
});

describe("a run's per-shift results files score in `eval` exactly as the run scored them", () => {
  it('crop mode, --limit: ground_truth.json beside the shift files (crowd regions included) reproduces perShift', async () => {
    const root = await tempDir('shiftbench-evalfiles-');
    const ds = await writeFlatShapes(path.join(root, 'ds'), 10, 66);
    const out = path.join(root, 'run');
    const { metrics } = await runBenchmark(
      {
        models: ['components'],
        dataset: ds.file,
        out,
        mode: 'crop',
        shifts: 'grid:2',
        limit: 6,
        bootstrapResamples: 20,
      },
      {
        env: {
          loadDetector: async () => componentDetector('components', { snapPx: 2 }),
          listModels: async () => [],
          describeDetector: async (spec) => ({ kind: 'test detector', spec }),
        },
      },
    );
    const r = metrics.results[0];
    const dir = path.join(out, 'detections', 'components');
    const gt: CocoGroundTruth = JSON.parse(await readFile(path.join(dir, 'ground_truth.json'), 'utf8'));
    expect(gt.images.map((i) => i.id)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(gt.annotations.filter((a) => a.iscrowd).length).toBe(r.scoredContent!.groundTruthIgnored);
    expect(gt.annotations.every((a) => !('ignore' in a))).toBe(true);
    for (const [s, { dx, dy }] of metrics.shiftSet.shifts.entries()) {
      const dets: CocoResult[] = JSON.parse(await readFile(path.join(dir, `shift_${dx}_${dy}.json`), 'utf8'));
      expect(
        Math.abs(evaluateCoco(gt, dets).stats[0] - r.bounds!.perShift[s]!),
        `shift ${dx},${dy}`,
      ).toBeLessThanOrEqual(1e-12);
    }
    // and through the CLI, as the README shows
    const { stdout } = await promisify(execFile)(
      'npx',
      [
        'tsx',
        'src/cli/index.ts',
        'eval',
        '--gt',
        path.join(dir, 'ground_truth.json'),
        '--dets',
        path.join(dir, 'shift_2_1.json'),
        '--json',
      ],
      { cwd: REPO_ROOT },
    );
    const s21 = metrics.shiftSet.shifts.findIndex((s) => s.dx === 2 && s.dy === 1);
    expect(Math.abs(JSON.parse(stdout).stats[0] - r.bounds!.perShift[s21]!)).toBeLessThanOrEqual(1e-12);
  });
});
