/**
 * Fractional shift sets end to end through runBenchmark (protocol §1 "Fractional shifts"):
 * frac:4 in every mode with the oracle fake (boxes placed by the runner's own transform,
 * so ground truth and detections move by the exact fraction), the per-shift files named
 * by index with their offsets in shifts.json, the manifest's record of the floating-point
 * path, and the report's shift axis in fractions.
 */
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { CocoGroundTruth, RunMetrics } from '../../src/core/types.js';
import type { ShiftbenchError } from '../../src/core/errors.js';
import { runBenchmark } from '../../src/runner/index.js';
import { fakeEnv, gtDetector, makeDataset, tempDir } from '../runner/fixtures.js';

const MODES = ['pad', 'crop', 'circular'] as const;

describe('frac:4 end to end', () => {
  let root: string;
  let dataset: string;
  let gt: CocoGroundTruth;
  const runs = new Map<string, { metrics: RunMetrics; report: string; dir: string }>();

  beforeAll(async () => {
    root = await tempDir('shiftbench-frac-');
    ({ file: dataset, gt } = await makeDataset(path.join(root, 'ds'), 4));
    for (const mode of MODES) {
      const dir = path.join(root, mode);
      const { metrics, reportPath } = await runBenchmark(
        { models: ['oracle'], dataset, out: dir, mode, shifts: 'frac:4', bootstrapResamples: 20 },
        { env: fakeEnv({ oracle: () => gtDetector('oracle', gt) }) },
      );
      runs.set(mode, { metrics, report: await readFile(reportPath!, 'utf8'), dir });
    }
  }, 120_000);

  for (const mode of MODES) {
    it(`${mode}: an exactly equivariant detector scores mapRange 0 over the 25 fractional shifts`, () => {
      const r = runs.get(mode)!.metrics.results[0];
      expect(r.bounds!.perShift).toHaveLength(25);
      expect(r.bounds!.mapRange).toBe(0);
      expect(r.bounds!.mapRef).toBeGreaterThan(0);
      expect(r.consistency.detConsistency.mean).toBe(1);
    });
  }

  it('names the per-shift files by index and lists their offsets beside them', async () => {
    const dir = path.join(runs.get('pad')!.dir, 'detections', 'oracle');
    const files = (await readdir(dir)).sort();
    expect(files).toEqual(
      ['ground_truth.json', ...Array.from({ length: 25 }, (_, i) => `shift_${i}.json`), 'shifts.json'].sort(),
    );
    const index = JSON.parse(await readFile(path.join(dir, 'shifts.json'), 'utf8'));
    expect(index).toHaveLength(25);
    expect(index[1]).toEqual({ index: 1, dx: 0.25, dy: 0, file: 'shift_1.json' });
    expect(index[24]).toEqual({ index: 24, dx: 1, dy: 1, file: 'shift_24.json' });
  });

  it('records the floating-point path in the manifest (kernel of pad/crop, Fourier in circular)', async () => {
    const manifest = JSON.parse(await readFile(path.join(runs.get('crop')!.dir, 'manifest.json'), 'utf8'));
    expect(manifest.resample.subpixel).toEqual({
      path: 'floating-point',
      fit: '16-bit',
      circular: 'fourier',
      padCrop: 'lanczos3',
      rounding: 'half-to-even',
    });
    expect(manifest.identity.run.subpixelKernel).toBe('lanczos3');
    expect(manifest.shiftSet.maxOffsetPx).toBe(1);
  });

  it('labels the shift axis in fractions and says that fractional shifts include resampling effects', () => {
    for (const mode of MODES) {
      const html = runs.get(mode)!.report;
      expect(html).toContain('(1/4, 0)');
      expect(html).toContain('(3/4, 1/2)');
      expect(html).toContain('fractional shifts include resampling effects');
      expect(html).toContain('<th scope="col">1/4</th>'); // the grid view's dx axis
    }
    expect(runs.get('circular')!.report).toContain('the ideal (Fourier) shift');
    expect(runs.get('pad')!.report).toContain('the lanczos3 kernel');
  });

  it('another --subpixel-kernel is another run: a stored run refuses it; integer sets do not record it', async () => {
    let code = 'no error';
    try {
      await runBenchmark(
        {
          models: ['oracle'],
          dataset,
          out: runs.get('pad')!.dir,
          mode: 'pad',
          shifts: 'frac:4',
          subpixelKernel: 'linear',
          bootstrapResamples: 20,
        },
        { env: fakeEnv({ oracle: () => gtDetector('oracle', gt) }) },
      );
    } catch (e) {
      code = (e as ShiftbenchError).code;
    }
    expect(code).toBe('ERR_RUN_STORE');
    const dir = path.join(root, 'int');
    await runBenchmark(
      { models: ['oracle'], dataset, out: dir, shifts: 'grid:1', subpixelKernel: 'linear', bootstrapResamples: 20 },
      { env: fakeEnv({ oracle: () => gtDetector('oracle', gt) }) },
    );
    const manifest = JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8'));
    expect(manifest.resample.subpixel).toBeUndefined();
    expect(manifest.identity.run.subpixelKernel).toBeUndefined();
  });

  it('rejects an unknown --subpixel-kernel with ERR_INVALID_OPTION naming the flag', async () => {
    await expect(
      runBenchmark(
        { models: ['oracle'], dataset, shifts: 'frac:2', subpixelKernel: 'cubic' as never },
        { env: fakeEnv({ oracle: () => gtDetector('oracle', gt) }) },
      ),
    ).rejects.toThrowError(/--subpixel-kernel/);
  });
});
