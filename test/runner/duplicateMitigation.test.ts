/**
 * Two --mitigation values written differently that mean the same mitigation (`input-blur:1` and `input-blur:1.0`,
 * `shift-ensemble` and `shift-ensemble:grid:1`) would make two detectors of one key: the run scored both, wrote a
 * metrics.json no report could read and exited 0. Refused as a usage error naming both, before the run directory is
 * made (as the same text twice is).
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runBenchmark } from '../../src/runner/index.js';
import { rejection } from '../helpers/shared.js';
import { makeDataset, tempDir } from './fixtures.js';

describe('one mitigation given twice in two spellings', () => {
  for (const pair of [
    ['input-blur:1', 'input-blur:1.0'],
    ['shift-ensemble', 'shift-ensemble:grid:1'],
    ['input-blur:1', 'input-blur:1'],
  ]) {
    it(`${pair.join(' and ')}: ERR_INVALID_OPTION naming both, no run directory made`, async () => {
      const root = await tempDir('shiftbench-dup-mitigation-');
      const { file: dataset } = await makeDataset(path.join(root, 'ds'), 3, { seed: 41 });
      const out = path.join(root, 'run');
      const e = await rejection(runBenchmark({ models: ['jitter:96'], dataset, mitigations: pair, out }));
      expect(e.code).toBe('ERR_INVALID_OPTION');
      expect(e.message).toContain('--mitigation');
      for (const m of pair) expect(e.message).toContain(m);
      expect(await stat(out).catch(() => null)).toBeNull();
    });
  }
});
