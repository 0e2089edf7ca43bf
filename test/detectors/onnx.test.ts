import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { beforeAll, expect, it } from 'vitest';
import { loadDetector, readRegistry } from '../../src/detectors/index.js';
import type { RgbImage } from '../../src/core/types.js';
import { describeShared, REPO_ROOT, sharedPath, rejection } from '../helpers/shared.js';

const REGISTRY = path.join(REPO_ROOT, 'test/fixtures/registry-shared.json');

async function photo(file: string, size: number): Promise<RgbImage> {
  const data = await sharp(file).resize(size, size, { fit: 'fill' }).removeAlpha().raw().toBuffer();
  return { width: size, height: size, data: new Uint8Array(data) };
}

describeShared(
  'ONNX adapter on ../shared models',
  ['models/fastestdet/FastestDet.onnx', 'data/coco128/images/000000000009.jpg'],
  () => {
    let tmp: string;
    let fastest: Record<string, unknown>;
    const modelFile = () => sharedPath('models/fastestdet/FastestDet.onnx')!;
    beforeAll(() => {
      tmp = mkdtempSync(path.join(os.tmpdir(), 'sb-onnx-'));
      fastest = JSON.parse(JSON.stringify(readRegistry([REGISTRY]).find((e) => e.name === 'fastestdet')));
      fastest.source = { kind: 'path', dir: path.dirname(modelFile()) };
    });
    const entryFile = (name: string, patch: Record<string, unknown>) => {
      const p = path.join(tmp, `${name}.json`);
      writeFileSync(p, JSON.stringify({ ...fastest, name, ...patch }));
      return p;
    };

    it('loads a registry model and describes it; detections are in input pixels with known categories', async () => {
      const det = await loadDetector('fastestdet', { registryFiles: [REGISTRY], threads: 1 });
      expect(det.info).toMatchObject({
        name: 'fastestdet',
        family: { stages: 'one-stage', anchors: 'anchor-free' },
        inputSizePx: { width: 352, height: 352 },
        fit: 'stretch',
        maxBatch: 1,
        totalStridePx: 16,
        files: [{ path: modelFile(), sha256: '31cb14c017fce347cb4c846ec62fdf00d76bb3beecdf4be21e7116ac67feb880' }],
      });
      expect(det.info.runtime).toMatch(/^onnxruntime-node \d+\.\d+\.\d+ cpu$/);
      expect(det.info.details).toMatchObject({ decoder: { name: 'fastestdet' }, scoreThreshold: 0.001, threads: 1 });
      const a = await photo(sharedPath('data/coco128/images/000000000009.jpg')!, 352);
      const b = await photo(sharedPath('data/coco128/images/000000000025.jpg')!, 352);
      // maxBatch 1: a batch of 3 runs as 3 calls, results in input order
      const [da, db, da2] = await det.detect([a, b, a]);
      expect(da2).toEqual(da);
      expect(db).not.toEqual(da);
      const ids = new Set(det.info.classes.map((c) => c.id));
      for (const d of [...da, ...db]) {
        expect(ids.has(d.categoryId)).toBe(true);
        expect(d.bbox[0]).toBeGreaterThanOrEqual(0);
        expect(d.bbox[0] + d.bbox[2]).toBeLessThanOrEqual(352);
        expect(d.bbox[1] + d.bbox[3]).toBeLessThanOrEqual(352);
      }
      expect(da.length).toBeGreaterThan(0);
      expect(da.length).toBeLessThanOrEqual(100);
      // 000000000025.jpg shows giraffes (COCO id 25): the best detection says so
      expect(db[0].categoryId).toBe(25);
      const err = await rejection(det.detect([await photo(sharedPath('data/coco128/images/000000000009.jpg')!, 320)]));
      expect(err.code).toBe('ERR_INVALID_OPTION');
      expect(err.message).toBe(
        'Expected an RGB image of 352×352 (the model input size; fitting is the runner\'s job) for batch[0] of detector "fastestdet" but received "320×320 with 307200 bytes"',
      );
      await det.dispose();
      expect((await rejection(det.detect([a]))).message).toBe('Detector "fastestdet" was disposed; load it again');
    });

    it('applies graphRewrite.onnx to the model bytes before the session', async () => {
      let seen = 0;
      const det = await loadDetector('fastestdet', {
        registryFiles: [REGISTRY],
        graphRewrite: {
          onnx: (bytes) => {
            seen = bytes.length;
            return bytes;
          },
        },
      });
      expect(seen).toBeGreaterThan(100_000);
      expect(det.info.details).toMatchObject({
        graphRewritten: true,
        rewrittenModelSha256: '31cb14c017fce347cb4c846ec62fdf00d76bb3beecdf4be21e7116ac67feb880',
      });
      await det.dispose();
      // the session is built from what the rewrite returns
      const err = await rejection(
        loadDetector('fastestdet', {
          registryFiles: [REGISTRY],
          graphRewrite: { onnx: (bytes) => bytes.subarray(0, 1000) },
        }),
      );
      expect(err.code).toBe('ERR_MODEL_LOAD');
    });

    it('loads an .onnx path with a sibling entry that omits source and files', async () => {
      const dir = mkdtempSync(path.join(tmp, 'adhoc-'));
      const onnx = path.join(dir, 'FastestDet.onnx');
      copyFileSync(modelFile(), onnx);
      const { source: _s, files: _f, ...rest } = fastest;
      writeFileSync(path.join(dir, 'FastestDet.json'), JSON.stringify({ ...rest, name: 'my-fastestdet' }));
      const logs: string[] = [];
      const det = await loadDetector(onnx, { logger: { info: (m) => logs.push(m), warn: (m) => logs.push(m) } });
      expect(det.info.name).toBe('my-fastestdet');
      expect(det.info.files[0]).toEqual({
        path: onnx,
        sha256: '31cb14c017fce347cb4c846ec62fdf00d76bb3beecdf4be21e7116ac67feb880',
      });
      expect(logs.join('\n')).toContain('lists no files: using');
      await det.dispose();
      const bare = path.join(dir, 'lonely.onnx');
      copyFileSync(modelFile(), bare);
      const err = await rejection(loadDetector(bare));
      expect(err.code).toBe('ERR_INVALID_OPTION');
      expect(err.message).toContain('needs a registry entry beside it (lonely.onnx.json or lonely.json)');
    });

    it('rejects a file that is not an ONNX model with ERR_MODEL_LOAD', async () => {
      const dir = mkdtempSync(path.join(tmp, 'garbage-'));
      writeFileSync(path.join(dir, 'garbage.onnx'), 'this is not a protobuf');
      const { source: _s, files: _f, ...rest } = fastest;
      writeFileSync(path.join(dir, 'garbage.onnx.json'), JSON.stringify({ ...rest, name: 'garbage' }));
      const err = await rejection(loadDetector(path.join(dir, 'garbage.onnx')));
      expect(err.code).toBe('ERR_MODEL_LOAD');
      expect(err.message).toMatch(/^Could not load ONNX model "garbage" from .*garbage\.onnx\. /);
      expect(err.message).toContain('Possible solutions:\n- check that');
      expect(err.message).toContain('is an ONNX model (a protobuf ModelProto, usually *.onnx) and not truncated');
    });

    it('rejects outputs that do not fit the decoder with ERR_MODEL_OUTPUT, expected vs found', async () => {
      const err = await rejection(loadDetector(entryFile('wrong-decoder', { decoder: { name: 'yolo-fastestv2' } })));
      expect(err.code).toBe('ERR_MODEL_OUTPUT');
      expect(err.message).toBe(
        `ONNX model "wrong-decoder" (${modelFile()}): Model outputs do not fit decoder "yolo-fastestv2": expected one output [605,95] ` +
          '(cells of strides 16/32 × 3 anchors × (x,y,w,h) + 3 objectness + 80 classes) but found "758" [1,85,22,22]. ' +
          "Check the entry's decoder name and params (see docs/models.md).",
      );
    });

    it('rejects an entry whose input size does not match the model', async () => {
      const file = entryFile('wrong-size', { inputSizePx: { width: 416, height: 416 } });
      const err = await rejection(loadDetector(file));
      expect(err.code).toBe('ERR_MODEL_LOAD');
      expect(err.message).toBe(
        `ONNX model "wrong-size" input "input.1" has shape [1,3,352,352] but the entry (${file}) says NCHW 416×416, i.e. [B,3,416,416]. Fix inputSizePx or layout in the entry.`,
      );
    });

    it('lists what is available for an unknown name', async () => {
      const err = await rejection(loadDetector('fastestdett', { registryFiles: [REGISTRY] }));
      expect(err.code).toBe('ERR_INVALID_OPTION');
      expect(err.message).toMatch(
        /^Unknown model "fastestdett"\. Available: oracle, jitter, .*fastestdet, yolo-fastestv2, nanodet-m-416, nanodet-m-320, yolox-nano\. /,
      );
    });
  },
);
