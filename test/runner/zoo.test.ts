/** The runner on a real ONNX model of the zoo (models/zoo), on the synthetic val split. */
import { existsSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { keyFileName } from '../../src/core/fileNames.js';
import type { RunMetrics } from '../../src/core/types.js';
import { ensureSynthDataset } from '../../src/datasets/index.js';
import { runBenchmark } from '../../src/runner/index.js';
import { REPO_ROOT } from '../helpers/shared.js';
import { tempDir } from './fixtures.js';

const ZOO = path.join(REPO_ROOT, 'models/zoo/zoo.json');
const zoo = existsSync(ZOO)
  ? (JSON.parse(readFileSync(ZOO, 'utf8')) as { models: { name: string; files: { name: string; sha256: string }[] }[] })
  : null;
// the zoo is committed with the repository: its absence is a failure, not a reason to skip
const fcos = zoo?.models.find((m) => m.name === 'zoo-fcos');

function withoutTiming(m: RunMetrics): unknown {
  return { ...m, results: m.results.map((r) => ({ ...r, timing: null })) };
}

describe('runner on the zoo model zoo-fcos', () => {
  it('runs plain and input-blur, writes hashes, and a resumed run reproduces the metrics exactly', async () => {
    expect(fcos, 'models/zoo/zoo.json has an entry zoo-fcos').toBeDefined();
    expect(existsSync(path.join(REPO_ROOT, 'models/zoo', fcos!.files[0].name))).toBe(true);
    const root = await tempDir();
    const synth = await ensureSynthDataset(path.join(root, 'synth'), { splits: ['val'] });
    const dataset = synth.splits[0].annotationFile;
    const out = path.join(root, 'run');
    const options = {
      models: ['zoo-fcos'],
      mitigations: ['input-blur:1'],
      dataset,
      out,
      limit: 8,
      bootstrapResamples: 100,
    };
    const a = await runBenchmark(options);
    const [plain, blur] = a.metrics.results;
    expect(plain.key).toBe('zoo-fcos');
    expect(blur.key).toBe('zoo-fcos+input-blur:1');
    for (const r of [plain, blur]) {
      const b = r.bounds!;
      expect(b.mapRange).toBeCloseTo(b.mapUpper - b.mapLower, 12);
      expect(b.perShift).toHaveLength(4);
      expect(b.perShift[0]).toBe(b.mapRef);
      expect(r.imagesEvaluated).toBe(8);
    }
    expect(plain.bounds!.mapRef).toBeGreaterThan(0.3);
    // the cost ratio is the median per-image inference time of the mitigation over the plain detector's
    expect(blur.timing.costRatio).toBe(blur.timing.medianImageSeconds! / plain.timing.medianImageSeconds!);
    const manifest = JSON.parse(readFileSync(path.join(out, 'manifest.json'), 'utf8'));
    expect(manifest.detectors[0].files.map((f: { sha256: string }) => f.sha256)).toContain(fcos!.files[0].sha256);
    expect(manifest.detectors[0].runtime).toMatch(/onnxruntime/);
    // resume after losing the metrics and the blur detector's store: same numbers
    await rm(path.join(out, 'metrics.json'));
    await rm(path.join(out, 'detections', `${keyFileName('zoo-fcos+input-blur:1')}.jsonl`));
    const b = await runBenchmark(options);
    expect(b.computedImages).toEqual({ 'zoo-fcos': 0, 'zoo-fcos+input-blur:1': 8 });
    expect(withoutTiming(b.metrics)).toEqual(withoutTiming(a.metrics));
  });
});
