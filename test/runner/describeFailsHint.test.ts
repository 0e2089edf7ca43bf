/**
 * `run` again into a finished run directory, e.g. only to change --score-threshold, must describe its detectors
 * first (an HTTP detector asks its server). When that fails — the server is down, the model file moved — the error
 * now says that `shiftbench report DIR` with the analysis settings rescores the stored detections without any
 * detector; the finished results stay as they were.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ShiftbenchError } from '../../src/core/errors.js';
import { runBenchmark } from '../../src/runner/index.js';
import { rejection } from '../helpers/shared.js';
import { fakeEnv, gtDetector, makeDataset, runDirFiles, tempDir } from './fixtures.js';

describe('a finished run whose detector can no longer be described', () => {
  it('the error names report as the way to change analysis settings; nothing stored changes', async () => {
    const root = await tempDir('shiftbench-describe-fails-');
    const { file: dataset, gt } = await makeDataset(path.join(root, 'ds'), 4, { seed: 59 });
    const out = path.join(root, 'run');
    const options = { models: ['served'], dataset, out, bootstrapBounds: 0 };
    await runBenchmark(options, { env: fakeEnv({ served: () => gtDetector('served', gt) }) });
    const before = await runDirFiles(out);
    const down = fakeEnv(
      {},
      {
        describeDetector: async () => {
          throw new ShiftbenchError('ERR_NETWORK', 'Could not reach http://localhost:9/detect (connection refused).');
        },
      },
    );
    const e = await rejection(runBenchmark({ ...options, scoreThreshold: 0.3 }, { env: down }));
    expect(e.code).toBe('ERR_NETWORK');
    expect(e.message).toContain('connection refused');
    expect(e.message).toContain(`shiftbench report ${out} --score-threshold`);
    expect(await runDirFiles(out)).toEqual(before);
  });

  it('into a new directory: the error as it was, without that hint', async () => {
    const root = await tempDir('shiftbench-describe-fails-new-');
    const { file: dataset } = await makeDataset(path.join(root, 'ds'), 2, { seed: 61 });
    const down = fakeEnv(
      {},
      {
        describeDetector: async () => {
          throw new ShiftbenchError('ERR_NETWORK', 'Could not reach http://localhost:9/detect (connection refused).');
        },
      },
    );
    const e = await rejection(
      runBenchmark({ models: ['served'], dataset, out: path.join(root, 'run') }, { env: down }),
    );
    expect(e.message).not.toContain('shiftbench report');
  });
});
