/**
 * A served model (KServe v2, a loopback node:http server) whose answer does not hold the outputs it was asked for —
 * one missing, one it was not asked for, one twice — is refused with ERR_MODEL_OUTPUT naming the model, the URL and
 * the output, instead of reaching the decoder (whose error blamed the entry's decoder).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { RgbImage } from '../../../src/core/types.js';
import { loadDetector } from '../../../src/detectors/index.js';
import { tempDir } from '../../runner/fixtures.js';

const SIZE = 8;
const servers: http.Server[] = [];

type Output = { name: string; datatype: string; shape: number[]; data: number[] };

/** One box [1,2,5,6] of label 2, score 0.75, as torchvision's three outputs for one image. */
const OUTPUTS: Output[] = [
  { name: 'boxes', datatype: 'FP32', shape: [1, 4], data: [1, 2, 5, 6] },
  { name: 'labels', datatype: 'INT64', shape: [1], data: [2] },
  { name: 'scores', datatype: 'FP32', shape: [1], data: [0.75] },
];

/** A KServe v2 server of a torchvision-style model "tv" (batch 1); `answer` gives each inference's outputs. */
async function serve(answer: () => Output[]): Promise<string> {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const json = (v: unknown) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(v));
      if (req.url === '/v2/health/ready') return void res.writeHead(200).end();
      if (req.method === 'GET')
        return json({
          name: 'tv',
          platform: 'x',
          inputs: [{ name: 'images', datatype: 'FP32', shape: [1, 3, SIZE, SIZE] }],
          outputs: OUTPUTS.map(({ name, datatype }) => ({
            name,
            datatype,
            shape: [-1, ...(name === 'boxes' ? [4] : [])],
          })),
        });
      json({ model_name: 'tv', outputs: answer() });
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function load(url: string) {
  const file = path.join(await tempDir('shiftbench-kserve-answers-'), 'served.json');
  await writeFile(
    file,
    JSON.stringify([
      {
        name: 'tv-served',
        format: 'kserve',
        source: { kind: 'kserve', url, model: 'tv' },
        family: { stages: 'two-stage', anchors: 'anchor-based' },
        decoder: { name: 'torchvision', params: { labels: 'category-id' } },
        inputSizePx: { width: SIZE, height: SIZE },
        layout: 'NCHW',
        colorOrder: 'RGB',
        normalize: { mean: [0, 0, 0], std: [255, 255, 255] },
        fit: 'letterbox',
        padValue: [128, 128, 128],
        classes: [
          { id: 1, name: 'a' },
          { id: 2, name: 'b' },
        ],
      },
    ]),
  );
  return loadDetector('tv-served', { registryFiles: [file], http: { retries: 0 } });
}

afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

const image = (): RgbImage => ({ width: SIZE, height: SIZE, data: new Uint8Array(SIZE * SIZE * 3).fill(90) });
const DETECTION = { bbox: [1, 2, 4, 4], score: 0.75, categoryId: 2 };

describe('a KServe answer whose outputs are not the ones asked for', () => {
  it('missing one, holding one not asked for, or one twice: ERR_MODEL_OUTPUT naming the model, URL and output', async () => {
    let outputs = OUTPUTS;
    const url = await serve(() => outputs);
    const detector = await load(url);
    try {
      expect(await detector.detect([image()])).toEqual([[DETECTION]]);
      const cases: [Output[], string][] = [
        [OUTPUTS.filter((o) => o.name !== 'labels'), 'lacks output "labels"'],
        [[...OUTPUTS.slice(0, 2), { ...OUTPUTS[2], name: 'logits' }], 'output "logits", which it was not asked for'],
        [[...OUTPUTS, OUTPUTS[0]], 'output "boxes" twice'],
      ];
      for (const [answer, said] of cases) {
        outputs = answer;
        const e = await detector.detect([image()]).then(
          () => null,
          (err: { code: string; message: string }) => err,
        );
        expect(e?.code, said).toBe('ERR_MODEL_OUTPUT');
        expect(e?.message).toContain('Served model "tv-served"');
        expect(e?.message).toContain(`POST ${url}/v2/models/tv/infer`);
        expect(e?.message).toContain(said);
      }
    } finally {
      await detector.dispose();
    }
  });

  it('in another order than asked: read by name, the same detections', async () => {
    const url = await serve(() => [...OUTPUTS].reverse());
    const detector = await load(url);
    try {
      expect(await detector.detect([image()])).toEqual([[DETECTION]]);
    } finally {
      await detector.dispose();
    }
  });
});
