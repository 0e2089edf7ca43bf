/** Issue 10 item 8: at most --max-detections per input (default 1000), the highest-scoring, with a warning naming the detector. */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Detector, Logger } from '../../src/core/types.js';
import { runBenchmark } from '../../src/runner/index.js';
import { fakeInfo, makeDataset, tempDir } from './fixtures.js';

/** Returns `count` boxes per input with scores (i + 1) / (count + 1), in a shuffled order. */
function flood(count: number): Detector {
  return {
    info: fakeInfo('flood'),
    detect: async (batch) =>
      batch.map(() =>
        Array.from({ length: count }, (_, k) => (k * 7919) % count).map((i) => ({
          bbox: [1 + (i % 50), 1, 5, 5] as [number, number, number, number],
          score: (i + 1) / (count + 1),
          categoryId: 1,
        })),
      ),
    dispose: async () => undefined,
  };
}

describe('--max-detections', () => {
  let root: string;
  let dataset: string;
  beforeAll(async () => {
    root = await tempDir('shiftbench-maxdet-');
    ({ file: dataset } = await makeDataset(path.join(root, 'ds'), 2));
  });

  async function stored(out: string): Promise<number[][][][]> {
    const lines = (await readFile(path.join(out, 'detections', 'flood.jsonl'), 'utf8')).trim().split('\n');
    return lines.map((l) => JSON.parse(l).shifts);
  }

  it('keeps the 1000 highest-scoring detections per input by default and warns naming the detector', async () => {
    const out = path.join(root, 'default');
    const lines: string[] = [];
    const logger: Logger = { info: () => undefined, warn: (m) => lines.push(m) };
    await runBenchmark(
      { models: ['flood'], dataset, out, bootstrapResamples: 20 },
      { env: { loadDetector: async () => flood(1500), listModels: async () => [] }, logger },
    );
    for (const shifts of await stored(out)) {
      for (const dets of shifts) {
        expect(dets).toHaveLength(1000);
        const minScore = Math.min(...dets.map((d) => d[4]));
        expect(minScore).toBeCloseTo(501 / 1501, 12); // the 500 lowest scores were dropped
      }
    }
    expect(lines.join('\n')).toMatch(/flood: .*more than 1000 detections.*--max-detections/);
  });

  it('--max-detections N keeps N', async () => {
    const out = path.join(root, 'ten');
    await runBenchmark(
      { models: ['flood'], dataset, out, maxDetections: 10, bootstrapResamples: 20 },
      { env: { loadDetector: async () => flood(50), listModels: async () => [] } },
    );
    for (const shifts of await stored(out))
      for (const dets of shifts)
        expect(dets.map((d) => d[4]).sort()).toEqual(Array.from({ length: 10 }, (_, i) => (41 + i) / 51).sort());
  });

  it('--max-detections must be a positive integer (usage error before any model work)', async () => {
    const err = await runBenchmark({ models: ['flood'], dataset, maxDetections: 0 }).catch((e) => e);
    expect(err.code).toBe('ERR_INVALID_OPTION');
    expect(err.message).toContain('--max-detections');
  });
});
