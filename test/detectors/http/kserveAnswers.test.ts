/**
 * A served model (KServe v2, a loopback node:http server) whose answer does not hold the outputs it was asked for —
 * one missing, one it was not asked for, one twice — is refused with ERR_MODEL_OUTPUT naming the model, the URL and
 * the output, instead of reaching the decoder (whose error blamed the entry's decoder).
 */
import { describe, expect, it } from 'vitest';
import { loadDetector } from '../../../src/detectors/index.js';
import { SIZE, answerJson, greyImage as image, listenLoopback, servedEntryFile } from './loopback.js';

type Output = { name: string; datatype: string; shape: number[]; data: number[] };

/** One box [1,2,5,6] of label 2, score 0.75, as torchvision's three outputs for one image. */
const OUTPUTS: Output[] = [
  { name: 'boxes', datatype: 'FP32', shape: [1, 4], data: [1, 2, 5, 6] },
  { name: 'labels', datatype: 'INT64', shape: [1], data: [2] },
  { name: 'scores', datatype: 'FP32', shape: [1], data: [0.75] },
];

/** A KServe v2 server of a torchvision-style model "tv" (batch 1); `answer` gives each inference's outputs. */
function serve(answer: () => Output[]): Promise<string> {
  return listenLoopback((req, _body, res) => {
    if (req.url === '/v2/health/ready') return void res.writeHead(200).end();
    if (req.method === 'GET')
      return answerJson(res, {
        name: 'tv',
        platform: 'x',
        inputs: [{ name: 'images', datatype: 'FP32', shape: [1, 3, SIZE, SIZE] }],
        outputs: OUTPUTS.map(({ name, datatype }) => ({
          name,
          datatype,
          shape: [-1, ...(name === 'boxes' ? [4] : [])],
        })),
      });
    answerJson(res, { model_name: 'tv', outputs: answer() });
  });
}

async function load(url: string) {
  const file = await servedEntryFile('tv-served', url, 'tv', {
    family: { stages: 'two-stage', anchors: 'anchor-based' },
    decoder: { name: 'torchvision', params: { labels: 'category-id' } },
  });
  return loadDetector('tv-served', { registryFiles: [file], http: { retries: 0 } });
}

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
