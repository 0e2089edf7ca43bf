/**
 * Protocol §1 "What is scored in crop and circular", end to end through runBenchmark,
 * with a detector that reads pixels (connected components of flat colours) on data
 * whose objects touch every image edge.
 */
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Detector, DetectorRunSummary } from '../../src/core/types.js';
import { runBenchmark, type RunnerEnv } from '../../src/runner/index.js';
import { componentDetector, writeFlatShapes, type FlatShapesData } from '../helpers/flatShapes.js';
import { tempDir } from '../runner/fixtures.js';

function env(detectors: Record<string, () => Detector>): Partial<RunnerEnv> {
  return {
    loadDetector: async (spec) => detectors[spec](),
    listModels: async () => [],
  };
}

const MODES = ['pad', 'crop', 'circular'] as const;

describe('scored content in pad, crop and circular modes (pixel-reading detector)', () => {
  let root: string;
  let data: FlatShapesData;
  const results = new Map<string, DetectorRunSummary>();

  beforeAll(async () => {
    root = await tempDir('shiftbench-scored-');
    data = await writeFlatShapes(path.join(root, 'ds'), 12);
    for (const mode of MODES) {
      const { metrics } = await runBenchmark(
        { models: ['components', 'snapped'], dataset: data.file, out: path.join(root, mode), mode, shifts: 'grid:2', kernel: 'nearest', bootstrapResamples: 20 },
        { env: env({ components: () => componentDetector('components'), snapped: () => componentDetector('snapped', { snapPx: 4 }) }) },
      );
      for (const r of metrics.results) results.set(`${mode}/${r.key}`, r);
    }
  });

  it('the data has objects touching every image edge', () => {
    expect(data.edgeObjects).toBe(4 * 12);
  });

  for (const mode of MODES) {
    it(`${mode}: the exactly equivariant detector scores mapRange 0 and detConsistency 1 exactly`, () => {
      const r = results.get(`${mode}/components`)!;
      expect(r.bounds!.mapRange).toBe(0);
      expect(r.bounds!.perShift.every((m) => m === r.bounds!.mapRef)).toBe(true);
      expect(r.consistency.detConsistency.mean).toBe(1);
      expect(r.consistency.detConsistency.lo).toBe(1);
      expect(r.consistency.flipRate!.mean).toBe(0);
    });

    it(`${mode}: not met by ignoring everything — mapRef stays high and most objects are scored`, () => {
      const r = results.get(`${mode}/components`)!;
      expect(r.bounds!.mapRef).toBeGreaterThan(0.9);
      const s = r.scoredContent;
      expect(s.groundTruthTotal).toBe(data.gt.annotations.length);
      if (mode === 'pad') {
        expect(s.groundTruthIgnored).toBe(0);
        expect(s.detectionsDropped).toBe(0);
      } else {
        // edge objects leave the stable area on some sides only; inner objects never do
        expect(s.groundTruthIgnored).toBeGreaterThan(0);
        expect(s.groundTruthIgnored).toBeLessThan(s.groundTruthTotal / 2);
        expect(s.detectionsDropped).toBeGreaterThan(0);
        expect(s.detectionsDropped).toBeLessThan(s.detectionsTotal / 4);
      }
    });

    it(`${mode}: a detector whose boxes snap to the input grid keeps a non-zero range`, () => {
      const r = results.get(`${mode}/snapped`)!;
      expect(r.bounds!.mapRange).toBeGreaterThan(0.02);
      expect(r.bounds!.mapRef).toBeGreaterThan(0.3);
    });
  }
});
