/**
 * Sparse labels: resamples that draw only unlabelled images have no mAP and are left out of the bounds bootstrap. When
 * fewer than MIN_INTERVAL_RESAMPLES remain there is no interval and no verdict, and every report, `check` and `compare`
 * give that reason — not "the bootstrap was off" or "no ground truth".
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { CocoGroundTruth } from '../../src/core/types.js';
import { runCli } from '../helpers/cli.js';
import { REPO_ROOT } from '../helpers/shared.js';
import { makeDataset, tempDir } from '../runner/fixtures.js';

const cli = (args: string[]) => runCli(args, { cwd: REPO_ROOT });

describe('a run whose labels are too sparse for a bounds interval', () => {
  let root: string;
  let out: string;
  let dataset: string;
  const REASON = /only \d+ of 20 resamples hold ground truth at \(0,0\)/;

  beforeAll(async () => {
    root = await tempDir('shiftbench-sparse-');
    ({ file: dataset } = await makeDataset(path.join(root, 'ds'), 12, { seed: 4 }));
    // ground truth on image 1 only: about a third of the resamples of 12 images miss it
    const gt = JSON.parse(await readFile(dataset, 'utf8')) as CocoGroundTruth;
    gt.annotations = gt.annotations.filter((a) => a.image_id === 1);
    await writeFile(dataset, JSON.stringify(gt));
    out = path.join(root, 'run');
    const r = await cli([
      ...['run', '--model', 'jitter', '--mitigation', 'input-blur:1', '--dataset', dataset, '--out', out],
      ...['--bootstrap', '20', '--bootstrap-bounds', '20', '-q'],
    ]);
    expect(r.code, r.stderr).toBe(0);
  }, 120_000);

  it('metrics.json: bounds, but no interval and no paired verdict; the note says why', async () => {
    const metrics = JSON.parse(await readFile(path.join(out, 'metrics.json'), 'utf8'));
    for (const res of metrics.results) {
      expect(res.bounds).not.toBeNull();
      expect(res.analysis.boundsInterval).toBeNull();
      expect(res.analysis.paired).toEqual([]);
      expect(res.analysis.notes.join(' ')).toMatch(REASON);
    }
  });

  it('the reports, check and compare give that reason', async () => {
    expect((await cli(['report', out, '--format', 'md', '-q'])).code).toBe(0);
    for (const file of ['report.md', 'report.html']) {
      const text = await readFile(path.join(out, file), 'utf8');
      expect(text, file).toMatch(REASON);
      expect(text, file).not.toContain('bootstrap was off');
    }
    const c = await cli(['check', out, '--max-range', '0.5']);
    expect(c.code).toBe(1);
    expect(c.stderr).toMatch(REASON);
    expect(c.stderr).not.toContain('bootstrap off');
    // the flip rate of the one labelled image: its mean, and no interval to judge a limit on
    const metrics = JSON.parse(await readFile(path.join(out, 'metrics.json'), 'utf8'));
    expect(metrics.results[0].consistency.flipRate.mean).not.toBeNull();
    expect(metrics.results[0].consistency.flipRate.lo).toBeNull();
    const f = await cli(['check', out, '--max-flip-rate', '0.99']);
    expect(f.code).toBe(1);
    expect(f.stderr).toContain(
      'jitter: the flip rate has no interval (1 image holds a ground-truth object: fewer than 10 give no 95% interval)',
    );
    const other = path.join(root, 'run-2');
    expect(
      (
        await cli([
          ...['run', '--model', 'jitter', '--dataset', dataset, '--out', other],
          ...['--bootstrap', '20', '--bootstrap-bounds', '20', '-q'],
        ])
      ).code,
    ).toBe(0);
    const cmp = await cli(['compare', out, other]);
    expect(cmp.code, cmp.stderr).toBe(0);
    expect(cmp.stdout).toMatch(REASON);
    expect(cmp.stdout).not.toContain('no ground truth');
  }, 120_000);
});
