/**
 * The ONNX adapter on tiny models built here (no ../shared needed): dynamic batch,
 * a batch dim that is declared dynamic but does not batch, and uint8 inputs.
 * Each model is Sigmoid(Conv(x)) with a 4×4 stride-4 kernel: input [N,3,8,8] →
 * output [N,7,2,2], which the `fastestdet` decoder reads as 2 classes on a 2×2 grid.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { loadDetector } from '../../src/detectors/index.js';
import { sha256File } from '../../src/detectors/pull.js';
import { Rng } from '../../src/core/rng.js';
import type { Detection, RgbImage } from '../../src/core/types.js';

const PROTO = `
syntax = "proto2";
message OperatorSetIdProto { optional string domain = 1; optional int64 version = 2; }
message AttributeProto { optional string name = 1; optional int32 type = 20; optional int64 i = 3; repeated int64 ints = 8; }
message NodeProto { repeated string input = 1; repeated string output = 2; optional string op_type = 4; repeated AttributeProto attribute = 5; }
message TensorProto { repeated int64 dims = 1; optional int32 data_type = 2; repeated float float_data = 4 [packed = true]; repeated int64 int64_data = 7 [packed = true]; optional string name = 8; }
message TensorShapeProto { message Dimension { optional int64 dim_value = 1; optional string dim_param = 2; } repeated Dimension dim = 1; }
message TypeProto { message Tensor { optional int32 elem_type = 1; optional TensorShapeProto shape = 2; } optional Tensor tensor_type = 1; }
message ValueInfoProto { optional string name = 1; optional TypeProto type = 2; }
message GraphProto { repeated NodeProto node = 1; optional string name = 2; repeated TensorProto initializer = 5; repeated ValueInfoProto input = 11; repeated ValueInfoProto output = 12; }
message ModelProto { optional int64 ir_version = 1; repeated OperatorSetIdProto opset_import = 8; optional GraphProto graph = 7; }
`;
const ModelProto = protobuf.parse(PROTO, { keepCase: true }).root.lookupType('ModelProto');

const INTS = 7;
const INT = 2;
function tinyModel(opts: {
  batch: 'dynamic' | 1;
  fixedReshape?: boolean;
  uint8?: boolean;
  batchMix?: boolean;
}): Uint8Array {
  const rng = new Rng(5);
  const weights = Array.from({ length: 7 * 3 * 4 * 4 }, () => rng.uniform(-0.05, 0.05));
  const batchDim = opts.batch === 'dynamic' ? { dim_param: 'N' } : { dim_value: 1 };
  const nodes: Record<string, unknown>[] = [];
  const initializer: Record<string, unknown>[] = [{ name: 'W', dims: [7, 3, 4, 4], data_type: 1, float_data: weights }];
  let x = 'x';
  if (opts.uint8) {
    nodes.push({ input: ['x'], output: ['xf'], op_type: 'Cast', attribute: [{ name: 'to', type: INT, i: 1 }] });
    x = 'xf';
  }
  nodes.push({
    input: [x, 'W'],
    output: ['c'],
    op_type: 'Conv',
    attribute: [
      { name: 'kernel_shape', type: INTS, ints: [4, 4] },
      { name: 'strides', type: INTS, ints: [4, 4] },
    ],
  });
  let c = 'c';
  if (opts.fixedReshape) {
    initializer.push({ name: 'shape', dims: [4], data_type: 7, int64_data: [1, 7, 2, 2] });
    nodes.push({ input: ['c', 'shape'], output: ['r'], op_type: 'Reshape' });
    c = 'r';
  }
  if (opts.batchMix) {
    // adds the mean over the batch, as a model exported with BatchNorm in training mode uses batch statistics
    nodes.push({
      input: [c],
      output: ['m'],
      op_type: 'ReduceMean',
      attribute: [
        { name: 'axes', type: INTS, ints: [0] },
        { name: 'keepdims', type: INT, i: 1 },
      ],
    });
    nodes.push({ input: [c, 'm'], output: ['cm'], op_type: 'Add' });
    c = 'cm';
  }
  nodes.push({ input: [c], output: ['y'], op_type: 'Sigmoid' });
  const tensor = (name: string, elem: number, dims: Record<string, unknown>[]) => ({
    name,
    type: { tensor_type: { elem_type: elem, shape: { dim: dims } } },
  });
  const model = {
    ir_version: 7,
    opset_import: [{ domain: '', version: 13 }],
    graph: {
      name: 'tiny',
      node: nodes,
      initializer,
      input: [tensor('x', opts.uint8 ? 2 : 1, [batchDim, { dim_value: 3 }, { dim_value: 8 }, { dim_value: 8 }])],
      output: [tensor('y', 1, [batchDim, { dim_value: 7 }, { dim_value: 2 }, { dim_value: 2 }])],
    },
  };
  return ModelProto.encode(ModelProto.fromObject(model)).finish();
}

async function writeModel(name: string, bytes: Uint8Array, patch: Record<string, unknown> = {}): Promise<string> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sb-tiny-'));
  const file = path.join(dir, `${name}.onnx`);
  writeFileSync(file, bytes);
  writeFileSync(
    path.join(dir, `${name}.json`),
    JSON.stringify({
      name,
      family: { stages: 'one-stage', anchors: 'anchor-free' },
      format: 'onnx',
      files: [{ name: `${name}.onnx`, sha256: await sha256File(file) }],
      inputSizePx: { width: 8, height: 8 },
      layout: 'NCHW',
      colorOrder: 'RGB',
      normalize: { mean: [0, 0, 0], std: [255, 255, 255] },
      fit: 'stretch',
      decoder: { name: 'fastestdet' },
      classes: [
        { id: 1, name: 'a' },
        { id: 2, name: 'b' },
      ],
      ...patch,
    }),
  );
  return file;
}

function images(n: number): RgbImage[] {
  const rng = new Rng(11);
  return Array.from({ length: n }, () => ({
    width: 8,
    height: 8,
    data: Uint8Array.from({ length: 8 * 8 * 3 }, () => rng.int(0, 255)),
  }));
}

describe('ONNX adapter batching (tiny generated models)', () => {
  it('batches up to 8 inputs when the batch dim is dynamic, with the same results as one by one', async () => {
    const det = await loadDetector(await writeModel('dyn', tinyModel({ batch: 'dynamic' })), { threads: 1 });
    expect(det.info.maxBatch).toBe(8);
    const imgs = images(5);
    const batched = await det.detect(imgs);
    const single: Detection[][] = [];
    for (const im of imgs) single.push(...(await det.detect([im])));
    expect(batched).toHaveLength(5);
    expect(batched.every((l) => l.length > 0)).toBe(true);
    batched.forEach((list, i) => {
      expect(list.length).toBe(single[i].length);
      list.forEach((d, j) => {
        expect(d.categoryId).toBe(single[i][j].categoryId);
        expect(d.score).toBeCloseTo(single[i][j].score, 5);
        d.bbox.forEach((v, k) => expect(v).toBeCloseTo(single[i][j].bbox[k], 4));
      });
    });
    expect(batched[0]).not.toEqual(batched[1]);
    await det.dispose();
  });
  it('calls that overlap (detect not awaited before the next) each get the detections of their own input', async () => {
    for (const batch of ['dynamic', 1] as const) {
      const det = await loadDetector(await writeModel(`overlap-${batch}`, tinyModel({ batch })), { threads: 1 });
      const imgs = images(4);
      const sequential: Detection[][] = [];
      for (const im of imgs) sequential.push(...(await det.detect([im])));
      expect(sequential[0]).not.toEqual(sequential[1]);
      const overlapping = await Promise.all(imgs.map((im) => det.detect([im])));
      expect(
        overlapping.map((l) => l[0]),
        `batch ${batch}`,
      ).toEqual(sequential);
      // and batches of 2 (one call each where the model batches)
      const pairs = await Promise.all([det.detect(imgs.slice(0, 2)), det.detect(imgs.slice(2, 4))]);
      expect(pairs.flat(), `batch ${batch}`).toEqual(sequential);
      await det.dispose();
    }
  });
  it('runs one input per call when the batch dim is fixed', async () => {
    const det = await loadDetector(await writeModel('fixed', tinyModel({ batch: 1 })));
    expect(det.info.maxBatch).toBe(1);
    expect(await det.detect(images(3))).toHaveLength(3);
    await det.dispose();
  });
  it('falls back to one per call when a "dynamic" model fails on a batch of 2, and says so', async () => {
    const logs: string[] = [];
    const det = await loadDetector(await writeModel('reshape', tinyModel({ batch: 'dynamic', fixedReshape: true })), {
      logger: { info: (m) => logs.push(m), warn: (m) => logs.push(m) },
    });
    expect(det.info.maxBatch).toBe(1);
    expect(logs.join('\n')).toMatch(
      /ONNX model "reshape" declares a dynamic batch size but fails on a batch of 2 \(.*\); running one image per call/,
    );
    expect(await det.detect(images(2))).toHaveLength(2);
    await det.dispose();
  });
  it('runs one input per call when a batch gives other detections than one by one (outputs that mix the batch), and says so', async () => {
    const logs: string[] = [];
    const det = await loadDetector(await writeModel('mix', tinyModel({ batch: 'dynamic', batchMix: true })), {
      threads: 1,
      logger: { info: (m) => logs.push(m), warn: (m) => logs.push(m) },
    });
    expect(det.info.maxBatch).toBe(1);
    expect(logs.join('\n')).toContain(
      'ONNX model "mix" declares a dynamic batch size but a batch of 2 gives other detections than one input per call; running one image per call',
    );
    const imgs = images(3);
    const single: Detection[][] = [];
    for (const im of imgs) single.push(...(await det.detect([im])));
    expect(await det.detect(imgs)).toEqual(single);
    await det.dispose();
  });
  it('feeds uint8 inputs raw and honours dynamicBatch: false', async () => {
    const raw = { mean: [0, 0, 0], std: [1, 1, 1] };
    const det = await loadDetector(
      await writeModel('u8', tinyModel({ batch: 'dynamic', uint8: true }), { dynamicBatch: false, normalize: raw }),
    );
    expect(det.info.maxBatch).toBe(1);
    expect(det.info.details).toMatchObject({ inputType: 'uint8' });
    const [dets] = await det.detect(images(1));
    expect(dets.length).toBeGreaterThan(0);
    await det.dispose();
  });
  it('refuses a uint8-input model whose entry asks for a normalisation it cannot apply (raw pixels go in)', async () => {
    const file = await writeModel('u8norm', tinyModel({ batch: 'dynamic', uint8: true })); // std 255
    const e = await loadDetector(file).then(
      () => null,
      (err: { code: string; message: string }) => err,
    );
    expect(e?.code).toBe('ERR_REGISTRY');
    expect(e?.message).toContain('takes uint8 input');
    expect(e?.message).toContain('"normalize": { "mean": [0, 0, 0], "std": [1, 1, 1] }');
  });
});
