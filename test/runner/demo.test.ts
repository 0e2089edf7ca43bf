import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ModelEntry } from '../../src/core/types.js';
import { demoPlanFromZoo, formatFamilyTable, formatRunSummary, runDemo } from '../../src/runner/index.js';
import type { RunMetrics } from '../../src/core/types.js';

const entry = (name: string, meta: Record<string, unknown>) => ({ name, meta }) as unknown as ModelEntry;

describe('demo plan and summary tables', () => {
  it('runs plain zoo models with antialias:trained when every one has its twin in the zoo', () => {
    const zoo = [
      entry('a', { twin: 'a-aa' }),
      entry('a-aa', { antialias: 3 }),
      entry('b', { antialias: false, twin: 'b-aa' }),
      entry('b-aa', { antialias: true }),
    ];
    expect(demoPlanFromZoo(zoo)).toEqual({ models: ['a', 'b'], mitigations: ['antialias:trained'] });
  });
  it('leaves out a variant of another zoo model (meta.baseline, e.g. the circular-exact zoo-fcos-aps) so the twins plan holds', () => {
    const zoo = [
      entry('a', { antialias: false, twin: 'a-aa' }),
      entry('a-aa', { antialias: 'blur3', twin: 'a' }),
      entry('a-aps', { antialias: false, twin: null, baseline: 'a' }),
    ];
    expect(demoPlanFromZoo(zoo)).toEqual({ models: ['a'], mitigations: ['antialias:trained'] });
  });
  it('falls back to every zoo model as its own entry when a twin is missing', () => {
    const zoo = [entry('a', { antialias: false, twin: 'a-aa' }), entry('c', {})];
    expect(demoPlanFromZoo(zoo)).toEqual({ models: ['a', 'c'], mitigations: [] });
  });

  const metrics = {
    schemaVersion: 1,
    runId: 'r',
    dataset: { name: 'd', source: 's', images: 2, labelFree: false },
    shiftSet: { spec: 'grid:1', shifts: [] },
    mode: 'pad',
    results: [
      {
        key: 'm',
        model: 'm',
        mitigation: null,
        family: { stages: 'one-stage', anchors: 'anchor-free' },
        runtime: 'fake',
        bounds: {
          mapRef: 0.5,
          mapLower: 0.4,
          mapUpper: 0.6,
          mapRange: 0.2,
          relRange: 0.4,
          perShift: [],
          passes: { lower: 1, upper: 1 },
          assignLower: [],
          assignUpper: [],
        },
        consistency: { detConsistency: { mean: 0.9, lo: 0.8, hi: 1 }, flipRate: { mean: 0.1, lo: 0, hi: 0.2 } },
        timing: { inferenceSeconds: 1, imagesPerSecond: 2, costRatio: null },
        imagesEvaluated: 2,
        skippedImages: [],
        analysis: { boundsInterval: { mapRange: { lo: 0.15, hi: 0.25 } }, paired: [], notes: [] },
      },
      {
        key: 'm+blur',
        model: 'm',
        mitigation: 'blur',
        family: { stages: 'two-stage', anchors: 'anchor-based' },
        runtime: 'fake',
        bounds: null,
        consistency: { detConsistency: { mean: 1, lo: 1, hi: 1 }, flipRate: null },
        timing: { inferenceSeconds: 2, imagesPerSecond: 1, costRatio: 2 },
        imagesEvaluated: 2,
        skippedImages: [],
        analysis: {
          boundsInterval: null,
          paired: [
            {
              key: 'm+blur',
              against: 'm',
              kind: 'mitigation',
              resamples: 200,
              seed: 0,
              deltaMapRange: { value: -0.05, lo: -0.08, hi: -0.01 },
              deltaMapRef: { value: 0.01, lo: -0.02, hi: 0.03 },
              steadierShare: 0.975,
              significant: true,
              verdict: 'steadier (significant)',
            },
          ],
          notes: ['no ground truth: no mAP and no bounds (consistency metrics only)'],
        },
      },
    ],
  } as unknown as RunMetrics;

  it('formats the run summary with one row per detector (mapRange with its interval), dashes for what was not measured, paired differences and notes', () => {
    expect(formatRunSummary(metrics).split('\n')).toEqual([
      'model   family                   mapRef %  mapRange pp       95% CI pp  relRange %  flipRate %  detConsistency %    cost ×',
      '------  -----------------------  --------  -----------  --------------  ----------  ----------  ----------------  --------',
      'm       one-stage, anchor-free       50.0        20.00  [15.00, 25.00]        40.0        10.0              90.0  baseline',
      'm+blur  two-stage, anchor-based         —            —               —           —           —             100.0      2.00',
      '',
      'Paired differences vs the plain detector (same 200 bootstrap resamples of the images, seed 0; 95% intervals):',
      '  m+blur vs m: Δ mapRange −5.00 pp [−8.00, −1.00], Δ mapRef +1.00 pp [−2.00, +3.00], steadier in 97.5% of resamples — mAP range: steadier (significant)',
      '',
      // a note of one detector of two names it
      'note: m+blur: no ground truth: no mAP and no bounds (consistency metrics only)',
    ]);
  });
  it('groups the family table by family', () => {
    const text = formatFamilyTable(metrics);
    expect(text.indexOf('one-stage, anchor-free')).toBeLessThan(text.indexOf('two-stage, anchor-based'));
    // the same columns as the run summary: mapRef, mapRange, relRange, flipRate, detConsistency, cost
    expect(text).toMatch(/ {2}m\s+50\.0\s+20\.00\s+\[15\.00, 25\.00\]\s+40\.0\s+10\.0\s+90\.0\s+baseline/);
    expect(text).toMatch(/ {2}m\+blur\s+—\s+—\s+—\s+—\s+—\s+100\.0\s+2\.00/);
    expect(text).toContain('m+blur vs m: Δ mapRange −5.00 pp [−8.00, −1.00]');
  });
});

describe('runDemo checks its options first', () => {
  it('refuses an unknown mitigation before the synthetic dataset is written', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sb-demo-'));
    try {
      const datasetDir = path.join(dir, 'synth');
      await expect(runDemo({}, { datasetDir, mitigations: ['bogus:x'], out: path.join(dir, 'run') })).rejects.toThrow(
        /no mitigation named "bogus"/,
      );
      expect(existsSync(datasetDir)).toBe(false);
      expect(existsSync(path.join(dir, 'run'))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
