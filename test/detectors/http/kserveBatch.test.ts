/**
 * A served model whose batch dimension is variable (-1, as Triton reports any model with max_batch_size > 0) but
 * whose outputs or decoder take one image per request: the claim is checked at load with a batch of 2, as for an
 * ONNX model, instead of failing at the run's first batch.
 */
import { describe, expect, it } from 'vitest';
import type { RgbImage } from '../../../src/core/types.js';
import { loadDetector } from '../../../src/detectors/index.js';
import { SIZE, answerJson, greyImage as image, listenLoopback, servedEntryFile } from './loopback.js';

interface InferInput {
  shape: number[];
  data: number[];
}

/**
 * A KServe v2 server of model `name` taking FP32 [-1,3,SIZE,SIZE] "images", with the given output metadata; `answer`
 * gives the outputs of one request. `batches` records each request's batch size.
 */
async function serveModel(
  name: string,
  outputs: { name: string; datatype: string; shape: number[] }[],
  answer: (input: InferInput) => unknown[],
  version: () => string | undefined = () => undefined,
  maxBatch = Infinity,
): Promise<{ url: string; batches: number[] }> {
  const batches: number[] = [];
  const url = await listenLoopback((req, body, res) => {
    if (req.url === '/v2/health/ready') return void res.writeHead(200).end();
    if (req.method === 'GET')
      return answerJson(res, {
        name,
        versions: ['1'],
        platform: 'x',
        inputs: [{ name: 'images', datatype: 'FP32', shape: [-1, 3, SIZE, SIZE] }],
        outputs,
      });
    const input = (JSON.parse(body.toString()) as { inputs: InferInput[] }).inputs[0];
    batches.push(input.shape[0]);
    // Triton's answer to a batch over the model's max_batch_size
    if (input.shape[0] > maxBatch)
      return answerJson(res, { error: `inference request batch-size must be <= ${maxBatch} for '${name}'` }, 400);
    answerJson(res, { model_name: name, model_version: version(), outputs: answer(input) });
  });
  return { url, batches };
}

/** A torchvision-style served model: per image one box [1,2,5,6] of label 2, score 0.75 (answering as `version`). */
const serve = (version?: () => string | undefined) =>
  serveModel(
    'tv',
    [
      { name: 'boxes', datatype: 'FP32', shape: [-1, -1, 4] },
      { name: 'labels', datatype: 'INT64', shape: [-1, -1] },
      { name: 'scores', datatype: 'FP32', shape: [-1, -1] },
    ],
    ({ shape: [n] }) => [
      { name: 'boxes', datatype: 'FP32', shape: [n, 1, 4], data: Array.from({ length: n }, () => [1, 2, 5, 6]).flat() },
      { name: 'labels', datatype: 'INT64', shape: [n, 1], data: new Array(n).fill(2) },
      { name: 'scores', datatype: 'FP32', shape: [n, 1], data: new Array(n).fill(0.75) },
    ],
    version,
  );

/** The registry fields of a torchvision-style served model. */
const TORCHVISION = {
  family: { stages: 'two-stage', anchors: 'anchor-based' },
  decoder: { name: 'torchvision', params: { labels: 'category-id' } },
};

/**
 * A YOLOX-style served model on an 8×8 input (one stride-8 cell, 2 classes) whose objectness is the mean of the input
 * image; `mixing`: every image of a request gets the first image's (a model that mixes the batch, e.g. BatchNorm
 * exported in training mode).
 */
const serveYolox = (mixing: boolean, maxBatch = Infinity) =>
  serveModel(
    'yx',
    [{ name: 'output', datatype: 'FP32', shape: [-1, 1, 7] }],
    ({ shape: [n], data }) => {
      const per = data.length / n;
      const mean = (b: number) => data.slice(b * per, (b + 1) * per).reduce((sum, v) => sum + v, 0) / per;
      const rows = Array.from({ length: n }, (_, b) => [0.5, 0.5, 0, 0, mean(mixing ? 0 : b), 0, 1]);
      return [{ name: 'output', datatype: 'FP32', shape: [n, 1, 7], data: rows.flat() }];
    },
    undefined,
    maxBatch,
  );

/** Loads the served entry of `model` (loopback.ts's, with `entry`'s fields), logging to `infos`. */
async function loadServed(url: string, model: string, entry: Record<string, unknown>, concurrency: number) {
  const name = `${model}-served`;
  const file = await servedEntryFile(name, url, model, entry);
  const infos: string[] = [];
  const logger = { info: (m: string) => infos.push(m), warn: () => undefined, error: () => undefined };
  const detector = await loadDetector(name, { registryFiles: [file], logger, http: { concurrency } });
  return { infos, detector };
}

describe('a served model with a variable batch dimension', () => {
  it('whose decoder takes one image per request (torchvision) runs one per request, checked at load', async () => {
    const s = await serve();
    const { infos, detector } = await loadServed(s.url, 'tv', TORCHVISION, 2);
    try {
      expect(detector.info.maxBatch).toBe(2); // one input per request, two requests in flight
      expect(infos.some((m) => m.includes('tv-served') && m.includes('one image per request'))).toBe(true);
      const out = await detector.detect([image(), image(), image()]);
      expect(out).toEqual(Array.from({ length: 3 }, () => [{ bbox: [1, 2, 4, 4], score: 0.75, categoryId: 2 }]));
      expect(s.batches.slice(-3)).toEqual([1, 1, 1]);
    } finally {
      await detector.dispose();
    }
  });
});

describe('a served model with a variable batch dimension that takes batches', () => {
  const load = async (mixing: boolean, maxBatch = Infinity) => {
    const s = await serveYolox(mixing, maxBatch);
    const entry = {
      family: { stages: 'one-stage', anchors: 'anchor-free' },
      decoder: { name: 'yolox', params: { strides: [8] } },
    };
    return { s, ...(await loadServed(s.url, 'yx', entry, 1)) };
  };
  const filled = (v: number): RgbImage => ({
    width: SIZE,
    height: SIZE,
    data: new Uint8Array(SIZE * SIZE * 3).fill(v),
  });

  it('whose outputs mix the images of a request is found at load (two different images) and sent one per request', async () => {
    const { s, infos, detector } = await load(true);
    try {
      expect(infos.some((m) => m.includes('yx-served') && m.includes('one image per request'))).toBe(true);
      expect(detector.info.maxBatch).toBe(1);
      const out = await detector.detect([filled(51), filled(204)]);
      expect(out.map((d) => d.map((x) => Number(x.score.toFixed(4))))).toEqual([[0.2], [0.8]]);
      expect(s.batches.slice(-2)).toEqual([1, 1]);
    } finally {
      await detector.dispose();
    }
  });

  it('whose server takes at most 4 images per request (Triton max_batch_size 4, metadata -1) sends 4, found at load', async () => {
    // before: the load checked a batch of 2 only, and the run's first request of 8 failed with HTTP 400
    const { s, infos, detector } = await load(false, 4);
    try {
      expect(infos.filter((m) => m.includes('yx-served') && m.includes('at most 4 images per request'))).toHaveLength(
        1,
      );
      expect(detector.info.maxBatch).toBe(4);
      const out = await detector.detect(Array.from({ length: 8 }, (_, k) => filled(51 + k)));
      expect(out.map((d) => d.length)).toEqual(new Array(8).fill(1));
      expect(s.batches.slice(-2)).toEqual([4, 4]);
    } finally {
      await detector.dispose();
    }
  });

  it('whose outputs are per image keeps several images per request', async () => {
    const { s, infos, detector } = await load(false);
    try {
      expect(infos.filter((m) => m.includes('one image per request'))).toEqual([]);
      expect(detector.info.maxBatch).toBe(8);
      const out = await detector.detect([filled(51), filled(204)]);
      expect(out.map((d) => d.map((x) => Number(x.score.toFixed(4))))).toEqual([[0.2], [0.8]]);
      expect(s.batches.slice(-1)).toEqual([2]);
    } finally {
      await detector.dispose();
    }
  });
});

describe('a served model replaced behind its URL during a run', () => {
  it('answering as another model_version than at load is refused (the detections would mix two models)', async () => {
    let version = '1';
    const { url } = await serve(() => version);
    const { detector } = await loadServed(url, 'tv', TORCHVISION, 1);
    expect((await detector.detect([image()]))[0]).toHaveLength(1);
    version = '2'; // a rolling update of the unpinned model
    const e = await detector.detect([image()]).then(
      () => null,
      (err: { code: string; message: string }) => err,
    );
    expect(e?.code).toBe('ERR_MODEL_OUTPUT');
    expect(e?.message).toContain('answered as version 2');
    expect(e?.message).toContain('version 1 when it was loaded');
    expect(e?.message).toContain('pin the version');
    await detector.dispose?.();
  });

  it('a server that keeps naming the version it answered at load is not refused', async () => {
    const { url } = await serve(() => '1');
    const { detector } = await loadServed(url, 'tv', TORCHVISION, 1);
    expect((await detector.detect([image(), image()])).map((d) => d.length)).toEqual([1, 1]);
    await detector.dispose?.();
  });
});
