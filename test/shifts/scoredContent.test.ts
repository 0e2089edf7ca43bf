/**
 * Protocol §1 "What is scored in crop and circular", end to end through runBenchmark,
 * with a detector that reads pixels (connected components of flat colours) on data
 * whose objects touch every image edge.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Detector, DetectorRunSummary } from '../../src/core/types.js';
import { loadReportRun, renderReportText } from '../../src/report/index.js';
import { runBenchmark, type RunnerEnv } from '../../src/runner/index.js';
import { componentDetector, writeFlatShapes, type FlatShapesData } from '../helpers/flatShapes.js';
import { tempDir } from '../runner/fixtures.js';

function env(detectors: Record<string, () => Detector>): Partial<RunnerEnv> {
  return {
    loadDetector: async (spec) => detectors[spec](),
    listModels: async () => [],
    describeDetector: async (spec) => ({ kind: 'test detector', spec }),
  };
}

const MODES = ['pad', 'crop', 'circular'] as const;

describe('scored content in pad, crop and circular modes (pixel-reading detector)', () => {
  const data = new Map<string, FlatShapesData>();
  const results = new Map<string, DetectorRunSummary>();
  const reports = new Map<string, string>();
  const runDirs = new Map<string, string>();
  // model input 64 × 64, grid:2 (K = 2): the picture is fitted into 62, 66 and 64 px by mode
  const fitPx = { pad: 62, crop: 66, circular: 64 };

  beforeAll(async () => {
    const root = await tempDir('shiftbench-scored-');
    for (const mode of MODES) {
      const ds = await writeFlatShapes(path.join(root, `ds-${mode}`), 12, fitPx[mode]);
      data.set(mode, ds);
      const { metrics, reportPath } = await runBenchmark(
        {
          models: ['components', 'snapped'],
          dataset: ds.file,
          out: path.join(root, mode),
          mode,
          shifts: 'grid:2',
          bootstrapResamples: 20,
        },
        {
          env: env({
            components: () => componentDetector('components', { wrap: mode === 'circular' }),
            snapped: () => componentDetector('snapped', { snapPx: 4, wrap: mode === 'circular' }),
          }),
        },
      );
      for (const r of metrics.results) results.set(`${mode}/${r.key}`, r);
      reports.set(mode, await readFile(reportPath!, 'utf8'));
      runDirs.set(mode, path.join(root, mode));
    }
  });

  it('the data has objects touching every image edge', () => {
    for (const mode of MODES) expect(data.get(mode)!.edgeObjects).toBe(4 * 12);
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
      expect(r.bounds!.mapRef).toBeGreaterThan(0.6);
      expect(r.bounds!.mapRef).toBeLessThan(0.95); // AP is not saturated: counting an object or not moves it
      const s = r.scoredContent!;
      expect(s.groundTruthTotal).toBe(data.get(mode)!.gt.annotations.length);
      if (mode === 'pad') {
        expect(s.groundTruthIgnored).toBe(0);
        expect(s.detectionsDropped).toBe(0);
      } else {
        // edge objects leave the stable area on some sides only; inner objects never do
        expect(s.groundTruthIgnored).toBeGreaterThan(0);
        expect(s.groundTruthIgnored).toBeLessThan(s.groundTruthTotal / 2);
        expect(s.detectionsDropped).toBeGreaterThan(0); // slivers cut at the border
        expect(s.detectionsDropped).toBeLessThan(s.detectionsTotal / 4);
        // the report says so
        expect(reports.get(mode)).toContain('Ground-truth boxes outside the stable area');
        expect(reports.get(mode)).toContain(
          `<td>${s.groundTruthIgnored} of ${s.groundTruthTotal}</td><td>${s.detectionsDropped} of ${s.detectionsTotal}</td>`,
        );
      }
    });

    it(`${mode}: report.json and report.csv carry the stable-area counts of metrics.json`, async () => {
      const run = await loadReportRun(runDirs.get(mode)!);
      const json = JSON.parse(renderReportText(run, 'json')) as {
        detectors: Record<string, { scoredContent: unknown }>;
      };
      const [header, ...rows] = renderReportText(run, 'csv')
        .trimEnd()
        .split('\n')
        .map((l) => l.split(','));
      const col = (name: string) => header.indexOf(name);
      for (const key of ['components', 'snapped']) {
        const s = results.get(`${mode}/${key}`)!.scoredContent!;
        expect(json.detectors[key].scoredContent).toEqual(s);
        const row = rows.find((r) => r[col('key')] === key)!;
        expect(row[col('gt_boxes')]).toBe(String(s.groundTruthTotal));
        expect(row[col('gt_boxes_crowd_outside_stable_area')]).toBe(String(s.groundTruthIgnored));
        expect(row[col('detections')]).toBe(String(s.detectionsTotal));
        expect(row[col('detections_dropped_outside_stable_area')]).toBe(String(s.detectionsDropped));
      }
    });

    it(`${mode}: video-stability errors (protocol §5) are 0 for the equivariant detector, over the objects not turned to crowd regions`, () => {
      const r = results.get(`${mode}/components`)!;
      const st = r.stability!;
      expect(st.objects).toBe(r.scoredContent!.groundTruthTotal - r.scoredContent!.groundTruthIgnored);
      expect(st.centerError!.mean).toBeCloseTo(0, 9);
      expect(st.scaleRatioError!.mean).toBeCloseTo(0, 9);
      expect(st.fragmentError!.mean).toBe(0);
      const snapped = results.get(`${mode}/snapped`)!.stability!;
      expect(snapped.centerError!.mean).toBeGreaterThan(0.01);
      expect(snapped.centerError!.worst.value).toBeGreaterThanOrEqual(snapped.centerError!.hi);
    });

    it(`${mode}: a detector whose boxes snap to the input grid keeps a non-zero range`, () => {
      const r = results.get(`${mode}/snapped`)!;
      expect(r.bounds!.mapRange).toBeGreaterThan(0.02);
      expect(r.bounds!.mapRef).toBeGreaterThan(0.15);
    });
  }
});
