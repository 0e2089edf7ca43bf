/**
 * A run that adds work to a finished run directory (another mitigation, more images) and then stops — Ctrl-C, a
 * detector that fails — must not lose the finished results: they no longer describe the directory (its manifest
 * names the new detectors), so they move, whole, to `<run>/previous/` (their manifest, metrics.json, the reports and
 * the per-shift files), where `report`, `compare` and `check` read them, running no model. Before, they were deleted
 * when the run started, and only running the model again could bring them back. Once the new run's metrics are
 * written, previous/ goes.
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { compareRuns, renderReport } from '../../src/report/index.js';
import { pairRuns, rescoreRun, runBenchmark } from '../../src/runner/index.js';
import { rejection } from '../helpers/shared.js';
import { makeDataset, tempDir } from './fixtures.js';

const exists = async (f: string) => (await stat(f).catch(() => null)) !== null;

describe('a finished run directory, then a run adding a mitigation that is stopped', () => {
  let dir: string;
  let dataset: string;
  let finishedMetrics: string;
  let finishedManifest: string;
  let twin: string;
  const base = () => ({ models: ['jitter:96'], dataset, bootstrapResamples: 20, bootstrapBounds: 0, out: dir });

  beforeAll(async () => {
    const root = await tempDir('shiftbench-previous-');
    dataset = (await makeDataset(path.join(root, 'ds'), 12, { seed: 43 })).file; // 10+ images: an interval
    dir = path.join(root, 'run');
    await runBenchmark(base());
    finishedMetrics = await readFile(path.join(dir, 'metrics.json'), 'utf8');
    finishedManifest = await readFile(path.join(dir, 'manifest.json'), 'utf8');
    twin = path.join(root, 'twin');
    await runBenchmark({ ...base(), out: twin });
  });

  it('stopped while the mitigation runs: the finished results are whole in previous/, and report reads them', async () => {
    const stop = new AbortController();
    const e = await rejection<Error>(
      runBenchmark(
        { ...base(), mitigations: ['input-blur:1'] },
        {
          signal: stop.signal,
          onProgress: (p) => {
            if (p.detector.includes('input-blur') && p.done >= 2) stop.abort();
          },
        },
      ),
    );
    expect(e.name).toBe('AbortError');
    expect(await exists(path.join(dir, 'metrics.json'))).toBe(false); // the directory's run is not finished
    const previous = path.join(dir, 'previous');
    expect(await readFile(path.join(previous, 'metrics.json'), 'utf8')).toBe(finishedMetrics);
    expect(await readFile(path.join(previous, 'manifest.json'), 'utf8')).toBe(finishedManifest);
    expect(await exists(path.join(previous, 'report.html'))).toBe(true);
    const [keyDir, ...more] = await readdir(path.join(previous, 'detections'));
    expect(more).toEqual([]);
    expect(keyDir).toMatch(/^jitter_96_/); // the detector's per-shift files, beside the metrics made from them
    expect(await exists(path.join(previous, 'detections', keyDir, 'shifts.json'))).toBe(true);
    // report of the unfinished directory names where the finished results are
    const refused = await rejection(renderReport(dir));
    expect(refused.message).toContain(previous);
    // and report of previous/ renders them, running no model
    const { htmlPath } = await renderReport(previous);
    expect(await readFile(htmlPath, 'utf8')).toContain('jitter:96');
    // a rescore of previous/ cannot read detections there: refused saying where they are and what to do
    const rescore = await rejection(rescoreRun(previous, { scoreThreshold: 0.3 }));
    expect(rescore.code).toBe('ERR_RUN_STORE');
    expect(rescore.message).toContain(`finish that run (its \`shiftbench run\` command again) and rescore ${dir}`);
    expect(await readFile(path.join(previous, 'metrics.json'), 'utf8')).toBe(finishedMetrics);
    // compare and check --baseline pair previous/ with another run from the detections it was made from (they stay
    // in the directory's own log): the same detections as a twin run of the same command, so Δ 0 [0, 0]
    for (const [a, b] of [
      [previous, twin],
      [twin, previous],
    ]) {
      const deltas = await pairRuns(a, b, { bootstrapBounds: 20 });
      expect(deltas.map((d) => d.key)).toEqual(['jitter:96']);
      expect([deltas[0].deltaMapRange.value, deltas[0].deltaMapRange.lo, deltas[0].deltaMapRange.hi]).toEqual([
        0, 0, 0,
      ]);
    }
    const c = await compareRuns([previous, twin], (a, b, keys) => pairRuns(a, b, { keys, bootstrapBounds: 20 }));
    expect(c.pairs[0].paired).toBe(true);
    expect(c.pairs[0].deltas).toHaveLength(1);
  });

  it('the same command run to the end: metrics of both detectors, previous/ gone', async () => {
    await runBenchmark({ ...base(), mitigations: ['input-blur:1'] });
    const metrics = JSON.parse(await readFile(path.join(dir, 'metrics.json'), 'utf8'));
    expect(metrics.results.map((r: { key: string }) => r.key)).toEqual(['jitter:96', 'jitter:96+input-blur:1']);
    expect(await exists(path.join(dir, 'previous'))).toBe(false);
  });
});

describe('a run directory the user named "previous"', () => {
  it('is a run directory like any other: rescored from its own detections, and paired with them', async () => {
    const root = await tempDir('shiftbench-named-previous-');
    const dataset = (await makeDataset(path.join(root, 'ds'), 12, { seed: 43 })).file;
    const run = { models: ['jitter:96'], dataset, bootstrapResamples: 20, bootstrapBounds: 20 };
    const named = path.join(root, 'previous');
    await runBenchmark({ ...run, out: named });
    const other = path.join(root, 'other');
    await runBenchmark({ ...run, out: other });
    // before, its name alone made it the previous/ of a run in its parent folder: the rescore was refused and
    // pairing looked for detections in <root>/detections
    const deltas = await pairRuns(named, other, { bootstrapBounds: 20 });
    expect(deltas.map((d) => d.key)).toEqual(['jitter:96']);
    expect([deltas[0].deltaMapRange.value, deltas[0].deltaMapRange.lo, deltas[0].deltaMapRange.hi]).toEqual([0, 0, 0]);
    const rescored = await rescoreRun(named, { scoreThreshold: 0.3 });
    expect(rescored.results.map((r) => r.key)).toEqual(['jitter:96']);
  });
});
