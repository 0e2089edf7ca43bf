/**
 * Issue 13 item 5: `--ep cpu|cuda|tensorrt|coreml|dml` is passed to ONNX Runtime as the
 * one execution provider asked for (default cpu), recorded in the manifest and in the
 * run identity; a provider this machine cannot start is a clear ERR_EXECUTION_PROVIDER
 * listing those available — never a silent fall-back to the CPU. Only the error path of
 * the GPU providers can run here (their libraries are not installable on these machines).
 */
import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ShiftbenchError } from '../../src/core/errors.js';
import { describeDetector, loadDetector } from '../../src/detectors/index.js';
import { EXECUTION_PROVIDERS } from '../../src/detectors/executionProviders.js';
import { resolveRunOptions, runBenchmark } from '../../src/runner/index.js';
import { REPO_ROOT, rejection } from '../helpers/shared.js';
import { makeDataset, tempDir } from '../runner/fixtures.js';

/** A provider onnxruntime-node does not know on this platform (DirectML is Windows-only, Core ML Apple-only). */
const UNKNOWN_HERE = (['dml', 'coreml'] as const).find(
  (ep) => !ort.listSupportedBackends().some((b) => b.name === ep),
)!;

describe('ONNX execution providers (--ep)', () => {
  it('lists the five providers the CLI accepts', () => {
    expect([...EXECUTION_PROVIDERS]).toEqual(['cpu', 'cuda', 'tensorrt', 'coreml', 'dml']);
  });

  it('defaults to cpu and records it in the detector details and runtime', async () => {
    const det = await loadDetector('zoo-fcos', { threads: 1 });
    try {
      expect(det.info.details).toMatchObject({ executionProvider: 'cpu' });
      expect(det.info.runtime).toMatch(/ cpu$/);
    } finally {
      await det.dispose();
    }
  });

  it(`a provider this onnxruntime-node does not have (${UNKNOWN_HERE}) → ERR_EXECUTION_PROVIDER listing the available ones`, async () => {
    expect(UNKNOWN_HERE).toBeDefined();
    const err = await rejection<ShiftbenchError>(
      loadDetector('zoo-fcos', { threads: 1, executionProvider: UNKNOWN_HERE }),
    );
    expect(err.code).toBe('ERR_EXECUTION_PROVIDER');
    expect(err.message).toContain(`execution provider "${UNKNOWN_HERE}"`);
    expect(err.message).toContain('zoo-fcos');
    expect(err.message).toMatch(/available here: cpu\b/);
    expect(err.message).toContain('--ep cpu');
  });

  it('cuda either runs on cuda or fails with ERR_EXECUTION_PROVIDER — never silently on the cpu', async () => {
    let det;
    try {
      det = await loadDetector('zoo-fcos', { threads: 1, executionProvider: 'cuda' });
    } catch (err) {
      const e = err as ShiftbenchError;
      expect(e.code).toBe('ERR_EXECUTION_PROVIDER');
      expect(e.message).toContain('execution provider "cuda"');
      expect(e.message).toMatch(/available here: cpu\b/);
      return;
    }
    try {
      expect(det.info.details).toMatchObject({ executionProvider: 'cuda' });
    } finally {
      await det.dispose();
    }
  });

  it('is part of an ONNX detector identity (stored detections of another provider are not reused), not of a TF.js one', async () => {
    const cpu = await describeDetector('zoo-fcos', {});
    const cuda = await describeDetector('zoo-fcos', { executionProvider: 'cuda' });
    expect(cpu.executionProvider).toBe('cpu');
    expect(cuda.executionProvider).toBe('cuda');
    const tfjs = await describeDetector('centernet', { executionProvider: 'cuda', allowPull: false });
    expect(tfjs.executionProvider).toBeUndefined();
  });

  it('--ep with another value is a usage error naming the flag and the choices', () => {
    let err: ShiftbenchError | undefined;
    try {
      resolveRunOptions({ models: ['zoo-fcos'], dataset: 'x', executionProvider: 'tpu' });
    } catch (e) {
      err = e as ShiftbenchError;
    }
    expect(err?.code).toBe('ERR_INVALID_OPTION');
    expect(err?.message).toContain('--ep');
    expect(err?.message).toContain('cpu, cuda, tensorrt, coreml, dml');
    expect(resolveRunOptions({ models: ['zoo-fcos'], dataset: 'x' }).executionProvider).toBe('cpu');
  });

  describe('in a run', () => {
    let root: string;
    let dataset: string;
    beforeAll(async () => {
      root = await tempDir('shiftbench-ep-');
      ({ file: dataset } = await makeDataset(path.join(root, 'ds'), 1));
    });

    it('the manifest records the provider (top level, options, detector details, identity); another provider is not mixed in', async () => {
      const out = path.join(root, 'cpu');
      await runBenchmark({
        models: ['zoo-fcos'],
        dataset,
        out,
        threads: 1,
        bootstrapResamples: 20,
        bootstrapBounds: 0,
      });
      const manifest = JSON.parse(await readFile(path.join(out, 'manifest.json'), 'utf8'));
      expect(manifest.executionProvider).toBe('cpu');
      expect(manifest.options.executionProvider).toBe('cpu');
      expect(manifest.detectors[0].details.executionProvider).toBe('cpu');
      expect(manifest.identity.detectors[manifest.detectors[0].key].executionProvider).toBe('cpu');
      // resuming it with another provider is refused before any model loads, naming the difference
      const err = await rejection<ShiftbenchError>(
        runBenchmark({
          models: ['zoo-fcos'],
          dataset,
          out,
          threads: 1,
          bootstrapResamples: 20,
          bootstrapBounds: 0,
          executionProvider: 'cuda',
        }),
      );
      expect(err.code).toBe('ERR_RUN_STORE');
      expect(err.message).toContain('executionProvider: "cpu" → "cuda"');
    }, 120_000);

    it(`shiftbench run --ep ${UNKNOWN_HERE} exits 1 with the message; --ep tpu exits 2`, () => {
      const cli = (extra: string[]) =>
        spawnSync(
          process.execPath,
          [
            '--import',
            'tsx',
            path.join(REPO_ROOT, 'src/cli/index.ts'),
            'run',
            '--model',
            'zoo-fcos',
            '--dataset',
            dataset,
            '-q',
            ...extra,
          ],
          { cwd: REPO_ROOT, encoding: 'utf8', timeout: 120_000 },
        );
      const r = cli(['--ep', UNKNOWN_HERE, '--out', path.join(root, 'bad')]);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(
        `ONNX Runtime execution provider "${UNKNOWN_HERE}" is not available for model "zoo-fcos"`,
      );
      expect(r.stderr).toMatch(/available here: cpu\b/);
      const u = cli(['--ep', 'tpu', '--out', path.join(root, 'usage')]);
      expect(u.status).toBe(2);
      expect(u.stderr).toContain('--ep');
    }, 240_000);
  });
});
