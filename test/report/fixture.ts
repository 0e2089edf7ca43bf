/**
 * Hand-made run directories for the report tests: small manifest.json and
 * metrics.json files whose numbers are chosen so the formatted output is known.
 */
import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type {
  DetectorAnalysis,
  DetectorRunSummary,
  Interval,
  PairedDifference,
  RunMetrics,
} from '../../src/core/types.js';

export const iv = (mean: number, lo: number, hi: number): Interval => ({ mean, lo, hi });

const GRID1 = [
  { dx: 0, dy: 0 },
  { dx: 1, dy: 0 },
  { dx: 0, dy: 1 },
  { dx: 1, dy: 1 },
];

function result(over: Partial<DetectorRunSummary> & Pick<DetectorRunSummary, 'key' | 'model'>): DetectorRunSummary {
  return {
    mitigation: null,
    family: { stages: 'one-stage', anchors: 'anchor-free' },
    runtime: 'onnxruntime-node cpu',
    bounds: {
      mapRef: 0.4123,
      mapLower: 0.3951,
      mapUpper: 0.4241,
      mapRange: 0.029,
      relRange: 0.029 / 0.4123,
      perShift: [0.4123, 0.4101, 0.4087, 0.4132],
      passes: { lower: 2, upper: 3 },
      assignLower: [1, 3],
      assignUpper: [0, 2],
    },
    consistency: {
      scoreThreshold: 0.5,
      detConsistency: iv(0.912, 0.89, 0.931),
      boxJitterIou: iv(0.0421, 0.0388, 0.0456),
      boxJitterCenterPx: iv(1.234, 1.1, 1.37),
      scoreJitter: iv(0.0312, 0.028, 0.0345),
      flipRate: iv(0.087, 0.071, 0.104),
      bootstrap: { resamples: 1000, seed: 0 },
    },
    timing: { inferenceSeconds: 12.5, imagesPerSecond: 40.96, costRatio: null },
    imagesEvaluated: 128,
    skippedImages: [],
    ...over,
  };
}

/** Three detectors in two families plus one mitigation: the numbers the tests look for. */
export function labelledMetrics(): RunMetrics {
  return {
    schemaVersion: 1,
    runId: 'coco128-grid1-pad',
    dataset: { name: 'coco128', source: '/data/coco128/annotations.json', images: 128, labelFree: false },
    shiftSet: { spec: 'grid:1', shifts: GRID1 },
    mode: 'pad',
    results: [
      result({ key: 'centernet', model: 'centernet' }),
      result({
        key: 'ssd-mobilenet',
        model: 'ssd-mobilenet',
        family: { stages: 'one-stage', anchors: 'anchor-based' },
        bounds: {
          mapRef: 0.2218,
          mapLower: 0.2001,
          mapUpper: 0.2377,
          mapRange: 0.0376,
          relRange: 0.0376 / 0.2218,
          perShift: [0.2218, 0.2154, 0.2199, 0.2163],
          passes: { lower: 3, upper: 2 },
          assignLower: [2, 1],
          assignUpper: [0, 3],
        },
        consistency: {
          scoreThreshold: 0.5,
          detConsistency: iv(0.8345, 0.81, 0.859),
          boxJitterIou: iv(0.0712, 0.065, 0.078),
          boxJitterCenterPx: iv(2.5, 2.2, 2.8),
          scoreJitter: iv(0.0555, 0.05, 0.061),
          flipRate: iv(0.1523, 0.13, 0.17),
          bootstrap: { resamples: 1000, seed: 0 },
        },
        skippedImages: [{ imageId: 77, fileName: '000000000077.jpg', reason: 'decode failed: truncated JPEG' }],
        imagesEvaluated: 127,
      }),
      result({
        key: 'centernet+input-blur:1',
        model: 'centernet',
        mitigation: 'input-blur:1',
        bounds: {
          mapRef: 0.4011,
          mapLower: 0.3912,
          mapUpper: 0.4103,
          mapRange: 0.0191,
          relRange: 0.0191 / 0.4011,
          perShift: [0.4011, 0.4003, 0.3998, 0.4015],
          passes: { lower: 2, upper: 2 },
          assignLower: [1, 1],
          assignUpper: [0, 0],
        },
        timing: { inferenceSeconds: 23.125, imagesPerSecond: 22.14, costRatio: 1.85 },
      }),
      result({
        key: 'faster-rcnn',
        model: 'faster-rcnn',
        family: { stages: 'two-stage', anchors: 'anchor-based' },
        runtime: 'tfjs wasm',
      }),
    ],
  };
}

/** A label-free run: no bounds, no flip rate. */
export function labelFreeMetrics(): RunMetrics {
  const m = labelledMetrics();
  m.runId = 'photos-line2';
  m.dataset = { name: 'my-photos', source: '/photos', images: 12, labelFree: true };
  m.shiftSet = {
    spec: 'line:2',
    shifts: [
      { dx: 0, dy: 0 },
      { dx: 1, dy: 0 },
      { dx: 2, dy: 0 },
      { dx: 0, dy: 1 },
      { dx: 0, dy: 2 },
    ],
  };
  m.results = m.results
    .slice(0, 2)
    .map((r) => ({ ...r, bounds: null, consistency: { ...r.consistency, flipRate: null } }));
  return m;
}

/** A manifest in the runner's layout (src/runner/runBenchmark.ts RunManifest), trimmed. */
export function manifest(): Record<string, unknown> {
  const det = (key: string, model: string, mitigation: string | null, sha256: string) => ({
    key,
    model,
    mitigation,
    runtime: 'onnxruntime-node cpu',
    inputSizePx: { width: 512, height: 512 },
    totalStridePx: 32,
    batchSize: 8,
    files: [{ path: `models/${model}.onnx`, sha256 }],
  });
  return {
    schemaVersion: 1,
    runId: 'coco128-grid1-pad',
    createdAt: '2025-11-25T08:00:00.000Z',
    toolVersion: '0.1.0',
    nodeVersion: 'v20.20.2',
    platform: 'linux x64',
    cpus: 16,
    backend: 'auto',
    threads: null,
    seed: 0,
    dataset: {
      name: 'coco128',
      source: '/data/coco128/annotations.json',
      kind: 'coco',
      images: 128,
      hash: 'd4t4s3th4sh',
      labelFree: false,
    },
    shiftSet: { spec: 'grid:1', maxOffsetPx: 1 },
    mode: 'pad',
    scoreThreshold: 0.5,
    identity: { datasetHash: 'd4t4s3th4sh' },
    detectors: [
      det('centernet', 'centernet', null, 'abc123model'),
      det('ssd-mobilenet', 'ssd-mobilenet', null, 'def456model'),
    ],
  };
}

/** Writes a run directory; `metrics`/`manifest` given as strings are written verbatim, null leaves the file out. */
export async function writeRunDir(
  metrics: RunMetrics | string | null = labelledMetrics(),
  man: Record<string, unknown> | string | null = manifest(),
): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'shiftbench-report-'));
  const put = (name: string, v: unknown) =>
    writeFile(path.join(dir, name), typeof v === 'string' ? v : JSON.stringify(v, null, 2));
  if (metrics !== null) await put('metrics.json', metrics);
  if (man !== null) await put('manifest.json', man);
  await mkdir(path.join(dir, 'detections', 'centernet'), { recursive: true });
  await writeFile(path.join(dir, 'detections', 'centernet', 'shift_0_0.json'), '[]');
  return dir;
}

/** centernet+input-blur:1 against centernet: steadier, significant (Δ mAP range −0.99 pp [−1.60, −0.40]); a fresh copy. */
export const blurPaired = (): PairedDifference => ({
  key: 'centernet+input-blur:1',
  against: 'centernet',
  kind: 'mitigation',
  resamples: 200,
  seed: 7,
  deltaMapRange: { value: -0.0099, lo: -0.016, hi: -0.004 },
  deltaMapRef: { value: -0.0112, lo: -0.02, hi: -0.003 },
  steadierShare: 0.985,
  significant: true,
  verdict: 'steadier (significant)',
});

/** labelledMetrics whose mitigated detector (results[2]) has only `paired` in its analysis. */
export function metricsWithPaired(paired: PairedDifference[]): RunMetrics {
  const m = labelledMetrics();
  const a: DetectorAnalysis = {
    boundsInterval: null,
    sizeCurve: null,
    boundsByObjective: {},
    breakdown: null,
    flicker: { scoreThreshold: 0.5, images: 0, meanFlicker: 0, top: [] },
    periodicity: [],
    paired,
    notes: [],
  };
  m.results[2].analysis = a;
  return m;
}

/** A detector's analysis (metrics.json) with every part filled; `over` replaces parts. */
export function analysisOf(over: Partial<DetectorAnalysis> = {}): DetectorAnalysis {
  const bd = {
    ap: 0.41,
    ap50: 0.6,
    ap75: 0.42,
    apSmall: null,
    apMedium: 0.3,
    apLarge: 0.5,
    perCategoryAP: { '1': 0.4, '2': null },
  };
  return {
    boundsInterval: {
      resamples: 200,
      validResamples: 200,
      seed: 7,
      mapRef: { lo: 0.4, hi: 0.43 },
      mapLower: { lo: 0.38, hi: 0.41 },
      mapUpper: { lo: 0.41, hi: 0.44 },
      mapRange: { lo: 0.021, hi: 0.037 },
      relRange: { lo: 0.05, hi: 0.09 },
    },
    sizeCurve: [
      { images: 16, subsamples: 50, medianMapRange: 0.061 },
      { images: 128, subsamples: 1, medianMapRange: 0.029 },
    ],
    boundsByObjective: {
      ap50: {
        mapRef: 0.6,
        mapLower: 0.58,
        mapUpper: 0.63,
        mapRange: 0.05,
        relRange: 0.083,
        passes: { lower: 2, upper: 2 },
      },
    },
    breakdown: { ref: bd, lower: { ...bd, perCategoryAP: { '1': 0.35, '2': null } }, upper: bd },
    flicker: {
      scoreThreshold: 0.5,
      images: 3,
      meanFlicker: 0.2,
      top: [{ imageId: 4242, flicker: 0.5, detections: 6 }],
    },
    periodicity: [],
    paired: [],
    notes: [],
    ...over,
  };
}
