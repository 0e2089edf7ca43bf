import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { currentBackend, selectBackend } from '../../../src/detectors/tfjs/index.js';
import { describeEntry } from '../../../src/detectors/index.js';
import * as lib from '../../../src/index.js';

async function importable(spec: string): Promise<boolean> {
  try {
    await import(spec);
    return true;
  } catch {
    return false;
  }
}

describe('selectBackend', () => {
  it('rejects an unknown backend name with the uniform message', async () => {
    await expect(selectBackend('webgpu')).rejects.toMatchObject({
      code: 'ERR_INVALID_OPTION',
      message: 'Expected one of auto, tfjs-node-gpu, tfjs-node, wasm, cpu for --backend but received "webgpu"',
    });
  });

  it('is exported from the library entry (TF.js imported on first call)', async () => {
    await expect(lib.selectBackend('webgpu')).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION' });
    expect(typeof lib.loadTfjsDetector).toBe('function');
  });

  it('rejects a bad thread count', async () => {
    await expect(selectBackend('wasm', { threads: 0 })).rejects.toMatchObject({
      code: 'ERR_INVALID_OPTION',
      message: 'Expected an integer from 1 to 256 for --threads (TF.js models) but received 0',
    });
  });

  it('an explicitly requested native backend that is not installed says how to install it', async (ctx) => {
    if (await importable('@tensorflow/tfjs-node')) ctx.skip('@tensorflow/tfjs-node is installed here');
    const err = await selectBackend('tfjs-node').catch((e) => e);
    expect(err.code).toBe('ERR_MODEL_LOAD');
    expect(err.message).toMatch(/^Could not load the TF\.js backend "tfjs-node"\./);
    expect(err.message).toContain('npm install @tensorflow/tfjs-node@^4.22.0');
    expect(currentBackend()).toBeNull();
  });

  it('auto falls back to wasm (files from node_modules, offline) when no native backend is installed', async (ctx) => {
    if ((await importable('@tensorflow/tfjs-node')) || (await importable('@tensorflow/tfjs-node-gpu')))
      ctx.skip('a native backend is installed here');
    const info = await selectBackend('auto', { threads: 2 });
    expect(info.backend).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(info.threads).toBeGreaterThanOrEqual(1);
    expect(info.version).toMatch(/^tfjs-core 4\.\d+\.\d+, tfjs-backend-wasm 4\.\d+\.\d+$/);
    // asking again returns the same choice; the computation works on it
    expect(await selectBackend('auto')).toBe(info);
    const sum = tf.tidy(() => tf.add(tf.tensor1d([1, 2]), tf.tensor1d([3, 4])));
    expect(Array.from(await sum.data())).toEqual([4, 6]);
    sum.dispose();
  });

  it('an explicit switch to cpu and back is honoured and reported', async () => {
    const warnings: string[] = [];
    const logger = { info: () => {}, warn: (m: string) => warnings.push(m) };
    await selectBackend('wasm');
    const cpu = await selectBackend('cpu', { logger });
    expect(cpu).toMatchObject({ backend: 'cpu', threads: 1 });
    expect(tf.getBackend()).toBe('cpu');
    expect(warnings[0]).toContain('switched from wasm to cpu');
    expect((await selectBackend('wasm')).backend).toBe('wasm');
    expect(currentBackend()?.backend).toBe('wasm');
  });
});

describe('the identity of a TF.js model records the backend that runs it', () => {
  it('--backend auto and the backend auto resolves to describe the same detector (a run resumes with either)', async (ctx) => {
    if ((await importable('@tensorflow/tfjs-node')) || (await importable('@tensorflow/tfjs-node-gpu')))
      ctx.skip('a native backend is installed here: auto resolves to it');
    const entry = {
      name: 'graph-x',
      format: 'tfjs-graph',
      files: [{ name: 'model.json', sha256: 'a'.repeat(64) }],
      source: { kind: 'path', dir: '/nonexistent' },
      inputSize: { width: 32, height: 32 },
    } as never;
    const auto = await describeEntry(entry, {});
    const wasm = await describeEntry(entry, { backend: 'wasm' });
    expect(auto.backend).toBe('wasm');
    expect(wasm).toEqual(auto);
    // the native backend asked for by name stays what was asked (it is refused at load when missing)
    expect((await describeEntry(entry, { backend: 'cpu' })).backend).toBe('cpu');
  });
});
