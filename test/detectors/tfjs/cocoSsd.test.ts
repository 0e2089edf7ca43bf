import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelEntry, RgbImage } from '../../../src/core/types.js';
import { pullModel } from '../../../src/detectors/pull.js';
import { loadTfjsDetector } from '../../../src/detectors/tfjs/index.js';
import { scoreRow, writeFakeSsdModel } from './fakeGraph.js';

/** A coco-ssd entry whose URL refuses connections at once (port 9, discard), as offline. */
const ENTRY: ModelEntry = {
  name: 'coco-ssd-test',
  family: { stages: 'one-stage', anchors: 'anchor-based' },
  format: 'coco-ssd',
  source: { kind: 'url', baseUrl: 'http://127.0.0.1:9/ssdlite_mobilenet_v2' },
  files: [{ name: 'model.json', sha256: null }],
  inputSizePx: { width: 300, height: 300 },
  layout: 'NHWC',
  colorOrder: 'RGB',
  normalize: { mean: [0, 0, 0], std: [1, 1, 1] },
  fit: 'stretch',
  decoder: { name: 'ssd-boxes' },
  classes: 'coco80',
  dynamicBatch: false,
};

const row = scoreRow;
/**
 * anchor 0: person (column 0 → COCO id 1) 0.9; anchor 1: almost the same box, person 0.8
 * (suppressed by NMS) and car (column 2 → id 3) 0.7; anchor 2: column 11 (id 12, not a
 * COCO category) 0.95 (dropped) and toothbrush (column 89 → id 90) 0.5.
 */
const SPEC = {
  scores: [row({ 0: 0.9 }), row({ 0: 0.8, 2: 0.7 }), row({ 11: 0.95, 89: 0.5 })],
  boxes: [
    [0.1, 0.2, 0.5, 0.6],
    [0.11, 0.2, 0.5, 0.6],
    [0.5, 0.5, 1.0, 0.9],
  ] as [number, number, number, number][],
};

const image = (value = 100): RgbImage => ({ width: 300, height: 300, data: new Uint8Array(300 * 300 * 3).fill(value) });
const close = (a: number[], b: number[]) => a.forEach((v, i) => expect(v).toBeCloseTo(b[i], 3));

let tmp: string;
let weightsDir: string;

beforeAll(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'shiftbench-cocossd-'));
  weightsDir = path.join(tmp, 'weights');
  writeFakeSsdModel(weightsDir, SPEC);
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('coco-ssd format through loadTfjsDetector (hand-made graph in the coco-ssd layout)', () => {
  it('loads from --weights DIR, feeds int32, decodes boxes + classes and applies class-wise NMS', async () => {
    const det = await loadTfjsDetector(ENTRY, path.join(tmp, 'cache'), { backend: 'wasm', weightsDir });
    try {
      expect(det.info.runtime).toBe('tfjs wasm');
      expect(det.info.maxBatch).toBe(1);
      expect(det.info.family).toEqual({ stages: 'one-stage', anchors: 'anchor-based' });
      expect(det.info.details?.inputDtype).toBe('int32');
      const jsonSha = createHash('sha256')
        .update(readFileSync(path.join(weightsDir, 'model.json')))
        .digest('hex');
      expect(det.info.files[0]).toEqual({ path: path.join(weightsDir, 'model.json'), sha256: jsonSha });
      expect(det.info.files[1].path).toBe(path.join(weightsDir, 'group1-shard1of1.bin'));

      const [a, b] = await det.detect([image(10), image(200)]);
      expect(a.map((d) => d.categoryId)).toEqual([1, 3, 90]);
      expect(a.map((d) => d.score)).toEqual([expect.closeTo(0.9, 5), expect.closeTo(0.7, 5), expect.closeTo(0.5, 5)]);
      // [ymin,xmin,ymax,xmax] fractions of 300 px → [x, y, w, h] pixels
      close(a[0].bbox, [60, 30, 120, 120]);
      close(a[1].bbox, [60, 33, 120, 117]);
      close(a[2].bbox, [150, 150, 120, 150]);
      expect(b).toEqual(a);
    } finally {
      await det.dispose();
    }
  });

  it('a graph whose batch dim is declared dynamic but that fails on a batch of 2 runs one input per call, and says so (as the ONNX adapter does)', async () => {
    // the hand-made graph adds a [B] sum to [1, A, 90] scores: it runs for B = 1 only
    const logs: string[] = [];
    const { dynamicBatch: _d, ...rest } = ENTRY;
    const det = await loadTfjsDetector(rest, path.join(tmp, 'cache'), {
      backend: 'wasm',
      weightsDir,
      logger: { info: (m) => logs.push(m), warn: (m) => logs.push(m) },
    });
    try {
      expect(det.info.maxBatch).toBe(1);
      expect(logs.join('\n')).toMatch(
        /TF\.js model "coco-ssd-test" declares a dynamic batch size but fails on a batch of 2 \(.+\); running one image per call/,
      );
      const [a, b] = await det.detect([image(10), image(200)]);
      expect(a.map((d) => d.categoryId)).toEqual([1, 3, 90]);
      expect(b).toEqual(a);
    } finally {
      await det.dispose();
    }
  });

  it('leaves no tensor behind after detect and after dispose', async () => {
    const before = tf.memory().numTensors;
    const det = await loadTfjsDetector(ENTRY, path.join(tmp, 'cache'), { backend: 'wasm', weightsDir });
    const loaded = tf.memory().numTensors;
    await det.detect([image()]);
    await det.detect([image(), image(3)]);
    expect(tf.memory().numTensors).toBe(loaded);
    await det.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('keeps RSS roughly flat over 1,000 detections', async () => {
    // a 128×128 input (the coco-ssd graph takes any size) keeps 1,000 calls quick
    const small: ModelEntry = { ...ENTRY, inputSizePx: { width: 128, height: 128 } };
    const det = await loadTfjsDetector(small, path.join(tmp, 'cache'), { backend: 'wasm', weightsDir });
    try {
      const img: RgbImage = { width: 128, height: 128, data: new Uint8Array(128 * 128 * 3).fill(50) };
      for (let i = 0; i < 50; i++) await det.detect([img]);
      const rssBefore = process.memoryUsage().rss;
      const tensorsBefore = tf.memory().numTensors;
      for (let i = 0; i < 1000; i++) await det.detect([img]);
      expect(tf.memory().numTensors).toBe(tensorsBefore);
      const grownMiB = (process.memoryUsage().rss - rssBefore) / 2 ** 20;
      // one leaked int32 input per call would be 1,000 × 192 KiB ≈ 188 MiB here
      expect(grownMiB).toBeLessThan(64);
    } finally {
      await det.dispose();
    }
  });

  it('applies graphRewrite.tfjsGraph to the model and weights before loading', async () => {
    const det = await loadTfjsDetector(ENTRY, path.join(tmp, 'cache'), {
      backend: 'wasm',
      weightsDir,
      graphRewrite: {
        tfjsGraph: (modelJson, weights) => {
          const w = new Float32Array(weights.slice(0));
          for (let i = 0; i < 3 * 90; i++) w[i] *= 0.5; // scores_const is the first weight
          return { modelJson: { ...modelJson, generatedBy: 'rewritten' }, weights: w.buffer };
        },
      },
    });
    try {
      const [dets] = await det.detect([image()]);
      expect(dets[0].score).toBeCloseTo(0.45, 5);
      expect(det.info.details?.graphRewritten).toBe(true);
    } finally {
      await det.dispose();
    }
  });

  it('rejects an input that is not the model input size', async () => {
    const det = await loadTfjsDetector(ENTRY, path.join(tmp, 'cache'), { backend: 'wasm', weightsDir });
    try {
      await expect(
        det.detect([{ width: 299, height: 300, data: new Uint8Array(299 * 300 * 3) }]),
      ).rejects.toMatchObject({
        code: 'ERR_INVALID_OPTION',
        message: expect.stringContaining('Expected an RGB image of 300×300'),
      });
    } finally {
      await det.dispose();
    }
  });
});

describe('coco-ssd weights missing', () => {
  it('offline, every file pinned: ERR_NETWORK that points to --weights DIR', async () => {
    const pinned = { ...ENTRY, files: await pinnedFiles(weightsDir) };
    const err = await loadTfjsDetector(pinned, path.join(tmp, 'empty-cache'), { backend: 'wasm' }).catch((e) => e);
    expect(err.code).toBe('ERR_NETWORK');
    expect(err.message).toContain('Could not load coco-ssd weights from http://127.0.0.1:9/ssdlite_mobilenet_v2');
    expect(err.message).toContain('Pass a local copy with --weights DIR');
  });

  it('fetching disabled: ERR_MODEL_LOAD naming the cache folder', async () => {
    const cache = path.join(tmp, 'empty-cache');
    const err = await loadTfjsDetector(ENTRY, cache, { backend: 'wasm', allowPull: false }).catch((e) => e);
    expect(err.code).toBe('ERR_MODEL_LOAD');
    expect(err.message).toContain(`they are not in ${cache} and fetching is disabled`);
  });

  it('--weights DIR without a shard: ERR_MODEL_LOAD naming the shard', async () => {
    const partial = path.join(tmp, 'partial');
    writeFakeSsdModel(partial, SPEC);
    unlinkSync(path.join(partial, 'group1-shard1of1.bin'));
    const err = await loadTfjsDetector(ENTRY, path.join(tmp, 'cache'), { backend: 'wasm', weightsDir: partial }).catch(
      (e) => e,
    );
    expect(err.code).toBe('ERR_MODEL_LOAD');
    expect(err.message).toContain(`coco-ssd weights from --weights ${partial}: missing shard(s) group1-shard1of1.bin`);
  });
});

/** The entry's files list pinning model.json and every shard of a model folder. */
async function pinnedFiles(dir: string): Promise<ModelEntry['files']> {
  const sha = (f: string) =>
    createHash('sha256')
      .update(readFileSync(path.join(dir, f)))
      .digest('hex');
  return ['model.json', 'group1-shard1of1.bin'].map((name) => ({ name, sha256: sha(name) }));
}

/** Serves `dir` on localhost (optionally overriding one file's bytes); counts the requests. */
async function serve(
  dir: string,
  override: Record<string, string> = {},
): Promise<{ url: string; requests: string[]; close: () => Promise<void> }> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    const name = (req.url ?? '/').split('/').pop()!;
    requests.push(name);
    try {
      res.end(override[name] ?? readFileSync(path.join(dir, name)));
    } catch {
      res.statusCode = 404;
      res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/ssd`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe('coco-ssd weights from a URL: only pinned files, checked (issue 10, security)', () => {
  it('every file pinned: fetched with their hashes checked, then loaded from the cache', async () => {
    const srv = await serve(weightsDir);
    try {
      const cache = path.join(tmp, 'url-cache');
      const entry = {
        ...ENTRY,
        source: { kind: 'url' as const, baseUrl: srv.url },
        files: await pinnedFiles(weightsDir),
      };
      const det = await loadTfjsDetector(entry, cache, { backend: 'wasm' });
      await det.dispose();
      expect(srv.requests).toEqual(['model.json', 'group1-shard1of1.bin']);
      expect(readFileSync(path.join(cache, 'group1-shard1of1.bin'))).toEqual(
        readFileSync(path.join(weightsDir, 'group1-shard1of1.bin')),
      );
    } finally {
      await srv.close();
    }
  });

  it('pulls of the same entry at the same time all succeed and leave the files in the cache', async () => {
    const srv = await serve(weightsDir);
    try {
      const cacheDir = path.join(tmp, 'url-cache-concurrent');
      const entry = {
        ...ENTRY,
        source: { kind: 'url' as const, baseUrl: srv.url },
        files: await pinnedFiles(weightsDir),
      };
      const dirs = await Promise.all([1, 2, 3, 4].map(() => pullModel(entry, { cacheDir })));
      expect(dirs).toEqual(Array(4).fill(path.join(cacheDir, ENTRY.name)));
      expect(readdirSync(path.join(cacheDir, ENTRY.name)).sort()).toEqual(['group1-shard1of1.bin', 'model.json']);
      expect(readdirSync(cacheDir)).toEqual([ENTRY.name]); // no temporary folder left behind
    } finally {
      await srv.close();
    }
  });

  it('a shard the entry does not pin is refused before it is requested', async () => {
    const srv = await serve(weightsDir);
    try {
      const files = (await pinnedFiles(weightsDir)).filter((f) => f.name === 'model.json');
      const entry = { ...ENTRY, source: { kind: 'url' as const, baseUrl: srv.url }, files };
      const err = await loadTfjsDetector(entry, path.join(tmp, 'url-cache-2'), { backend: 'wasm' }).catch((e) => e);
      expect(err.code).toBe('ERR_MODEL_HASH');
      expect(err.message).toContain('group1-shard1of1.bin has no sha256 in the entry');
      expect(srv.requests).toEqual(['model.json']);
    } finally {
      await srv.close();
    }
  });

  it('a served file that differs from its pin: ERR_MODEL_HASH, nothing left in the cache', async () => {
    const srv = await serve(weightsDir, { 'group1-shard1of1.bin': 'not the weights' });
    try {
      const cache = path.join(tmp, 'url-cache-3');
      const entry = {
        ...ENTRY,
        source: { kind: 'url' as const, baseUrl: srv.url },
        files: await pinnedFiles(weightsDir),
      };
      const err = await loadTfjsDetector(entry, cache, { backend: 'wasm' }).catch((e) => e);
      expect(err.code).toBe('ERR_MODEL_HASH');
      expect(err.message).toContain(`sha256 mismatch for ${srv.url}/group1-shard1of1.bin`);
      expect(existsSync(cache)).toBe(false);
    } finally {
      await srv.close();
    }
  });
});
