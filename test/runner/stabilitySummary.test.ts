import { describe, expect, it } from 'vitest';
import type { DetectorRunSummary, RunMetrics, StabilitySummary } from '../../src/core/types.js';
import { formatFamilyTable, formatRunSummary } from '../../src/runner/index.js';

const stability: StabilitySummary = {
  scoreThreshold: 0.5,
  centerError: {
    mean: 0.013,
    lo: 0.0116,
    hi: 0.0144,
    objects: 164,
    images: 48,
    worst: { value: 0.0664, imageId: 30, annotationId: 142 },
  },
  scaleRatioError: {
    mean: 0.0325,
    lo: 0.0293,
    hi: 0.0362,
    objects: 164,
    images: 48,
    worst: { value: 0.188, imageId: 24, annotationId: 109 },
  },
  fragmentError: null,
  objects: 170,
  bootstrap: { resamples: 1000, seed: 0 },
};

function result(key: string, s: StabilitySummary | null | undefined): DetectorRunSummary {
  return {
    key,
    model: key,
    mitigation: null,
    family: { stages: 'one-stage', anchors: 'anchor-free' },
    runtime: 'fake',
    bounds: null,
    consistency: {
      scoreThreshold: 0.5,
      detConsistency: { mean: 1, lo: 1, hi: 1 },
      boxJitterIou: { mean: 0, lo: 0, hi: 0 },
      boxJitterCenterPx: { mean: 0, lo: 0, hi: 0 },
      scoreJitter: { mean: 0, lo: 0, hi: 0 },
      flipRate: null,
      bootstrap: { resamples: 1000, seed: 0 },
    },
    ...(s !== undefined ? { stability: s } : {}),
    timing: { inferenceSeconds: 1, imagesPerSecond: 1, costRatio: null },
    imagesEvaluated: 50,
    skippedImages: [],
  };
}

const metricsOf = (results: DetectorRunSummary[]) =>
  ({
    schemaVersion: 1,
    runId: 'r',
    dataset: { name: 'd', images: 50, labelFree: false },
    shiftSet: { spec: 'grid:1', shifts: [] },
    mode: 'pad',
    results,
  }) as unknown as RunMetrics;

describe('CLI summary: the video-stability errors (protocol §5)', () => {
  it('a row group per detector: mean, interval, objects and the worst object; — where no object qualifies', () => {
    const text = formatRunSummary(metricsOf([result('zoo-fcos', stability), result('older', undefined)]));
    const lines = text.split('\n');
    const at = lines.indexOf(
      'Video-stability errors over ground-truth objects (protocol §5, score ≥ 0.5; 95% bootstrap intervals over images):',
    );
    expect(at).toBeGreaterThan(0);
    // in % as report.html and report.md show them (a bare fraction 0.0130 before): mean two decimals, the worst one
    expect(lines.slice(at + 1, at + 6)).toEqual([
      'model     error     mean %      95% CI %  objects  worst %  image  annotation',
      '--------  --------  ------  ------------  -------  -------  -----  ----------',
      'zoo-fcos  CPE         1.30  [1.16, 1.44]      164      6.6     30         142',
      '          SRE         3.25  [2.93, 3.62]      164     18.8     24         109',
      '          fragment       —             —        0        —      —           —',
    ]);
    // a run made before the errors existed has no row, not a placeholder
    expect(lines.slice(at + 1).some((l) => l.startsWith('older'))).toBe(false);
    expect(lines).toHaveLength(at + 6);
    expect(formatFamilyTable(metricsOf([result('zoo-fcos', stability)]))).toContain(
      'zoo-fcos  CPE         1.30  [1.16, 1.44]',
    );
  });
  it('no interval over fewer than 10 images: — in the 95% column, never "[NaN, NaN]" (in memory) nor a crash (null, as metrics.json stores it)', () => {
    const few = (lo: number | null): StabilitySummary => ({
      ...stability,
      centerError: { ...stability.centerError!, lo: lo as number, hi: lo as number, objects: 7, images: 3 },
      scaleRatioError: null,
    });
    for (const lo of [NaN, null]) {
      const lines = formatRunSummary(metricsOf([result('m', few(lo))])).split('\n');
      const row = lines.find((l) => /^m +CPE/.test(l));
      expect(row).toBe('m      CPE         1.30         —        7      6.6     30         142');
    }
  });
  it('no lines at all for label-free data (stability null)', () => {
    expect(formatRunSummary(metricsOf([result('m', null)]))).not.toContain('Video-stability');
  });
});
