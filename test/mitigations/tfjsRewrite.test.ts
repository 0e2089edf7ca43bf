import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { blurFilter2d, rewriteTfjsAntialias } from '../../src/mitigations/index.js';
import { seededValues } from './onnxBuild.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const C = 2;

interface TfNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, unknown>;
}
const list = (v: number[]) => ({ list: { i: v.map(String) } });
const placeholder = (h: number, w: number, c = C): TfNode => ({
  name: 'x',
  op: 'Placeholder',
  attr: {
    dtype: { type: 'DT_FLOAT' },
    shape: { shape: { dim: [{ size: '1' }, { size: String(h) }, { size: String(w) }, { size: String(c) }] } },
  },
});
const constNode = (name: string, shape: number[]): TfNode => ({
  name,
  op: 'Const',
  attr: {
    dtype: { type: 'DT_FLOAT' },
    value: { tensor: { dtype: 'DT_FLOAT', tensorShape: { dim: shape.map((s) => ({ size: String(s) })) } } },
  },
});

type Weight = { name: string; shape: number[]; values: ArrayLike<number>; dtype?: 'float32' | 'int32' };
/** A graph model: nodes + weights (float32 or int32, in this order in the manifest and the bytes). */
function graph(nodes: TfNode[], weights: Weight[]) {
  const total = weights.reduce((a, w) => a + w.values.length, 0);
  const view = new DataView(new ArrayBuffer(total * 4));
  let o = 0;
  for (const w of weights) {
    for (let i = 0; i < w.values.length; i++, o += 4) {
      if (w.dtype === 'int32') view.setInt32(o, w.values[i], true);
      else view.setFloat32(o, w.values[i], true);
    }
  }
  return {
    modelJson: {
      format: 'graph-model',
      modelTopology: { node: nodes, versions: { producer: 1 } },
      weightsManifest: [
        {
          paths: ['w.bin'],
          weights: weights.map((w) => ({ name: w.name, shape: w.shape, dtype: w.dtype ?? 'float32' })),
        },
      ],
    } as Record<string, unknown>,
    weights: view.buffer as ArrayBuffer,
  };
}

async function run(
  g: { modelJson: Record<string, unknown>; weights: ArrayBuffer },
  x: Float32Array,
  dims: number[],
  output: string,
) {
  const j = g.modelJson as { modelTopology: object; weightsManifest: { weights: tf.io.WeightsManifestEntry[] }[] };
  const model = await tf.loadGraphModel(
    tf.io.fromMemory({
      modelTopology: j.modelTopology,
      weightSpecs: j.weightsManifest.flatMap((m) => m.weights),
      weightData: g.weights,
    }),
  );
  const input = tf.tensor4d(x, dims as [number, number, number, number]);
  const out = model.execute({ x: input }, output) as tf.Tensor;
  const data = (await out.data()) as Float32Array;
  const shape = out.shape;
  tf.dispose([input, out]);
  model.dispose();
  return { shape, data };
}

/** NHWC map sampled (and optionally blurred, zero padding) at rows/cols pos. */
function sample(
  f: { shape: number[]; data: Float32Array },
  posY: number[],
  posX: number[],
  blur: Float32Array | null,
  b: number,
) {
  const [, H, W, c] = f.shape;
  const q = (b - 1) / 2;
  const at = (y: number, x: number, ch: number) =>
    y < 0 || x < 0 || y >= H || x >= W ? 0 : f.data[(y * W + x) * c + ch];
  const out: number[] = [];
  for (const y of posY)
    for (const x of posX)
      for (let ch = 0; ch < c; ch++) {
        let v = 0;
        if (!blur) v = at(y, x, ch);
        else
          for (let i = 0; i < b; i++) for (let j = 0; j < b; j++) v += blur[i * b + j] * at(y + i - q, x + j - q, ch);
        out.push(v);
      }
  return Float32Array.from(out);
}
const positions = (n: number, count: number, align: 'start' | 'end') =>
  Array.from({ length: count }, (_, i) => 2 * i + (align === 'end' && n % 2 === 0 ? 1 : 0));
function expectClose(a: Float32Array, b: Float32Array, tol = 1e-4) {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  expect(worst).toBeLessThan(tol);
}

type Case = {
  label: string;
  op: 'Conv2D' | 'DepthwiseConv2dNative' | 'MaxPool' | 'AvgPool';
  k: number;
  padding: 'SAME' | 'VALID' | 'EXPLICIT';
  align: 'start' | 'end';
};
const CASES: Case[] = [
  { label: 'Conv2D 3×3 SAME', op: 'Conv2D', k: 3, padding: 'SAME', align: 'end' },
  { label: 'Conv2D 1×1 SAME', op: 'Conv2D', k: 1, padding: 'SAME', align: 'start' },
  { label: 'Conv2D 3×3 VALID', op: 'Conv2D', k: 3, padding: 'VALID', align: 'start' },
  { label: 'Conv2D 3×3 EXPLICIT 1', op: 'Conv2D', k: 3, padding: 'EXPLICIT', align: 'start' },
  { label: 'DepthwiseConv2dNative 5×5 SAME', op: 'DepthwiseConv2dNative', k: 5, padding: 'SAME', align: 'end' },
  { label: 'MaxPool 3×3 SAME', op: 'MaxPool', k: 3, padding: 'SAME', align: 'end' },
  { label: 'MaxPool 2×2 VALID', op: 'MaxPool', k: 2, padding: 'VALID', align: 'start' },
  { label: 'AvgPool 2×2 SAME', op: 'AvgPool', k: 2, padding: 'SAME', align: 'start' },
];

function singleOp(c: Case, h: number, w: number, stride: number) {
  const attr: Record<string, unknown> = {
    T: { type: 'DT_FLOAT' },
    strides: list([1, stride, stride, 1]),
    padding: { s: b64(c.padding) },
    data_format: { s: b64('NHWC') },
  };
  if (c.padding === 'EXPLICIT') attr.explicit_paddings = list([0, 0, 1, 1, 1, 1, 0, 0]);
  const nodes: TfNode[] = [placeholder(h, w)];
  const weights: { name: string; shape: number[]; values: Float32Array }[] = [];
  if (c.op === 'MaxPool' || c.op === 'AvgPool') {
    attr.ksize = list([1, c.k, c.k, 1]);
    nodes.push({ name: 'y', op: c.op, input: ['x'], attr });
  } else {
    const shape = c.op === 'Conv2D' ? [c.k, c.k, C, 3] : [c.k, c.k, C, 1];
    attr.dilations = list([1, 1, 1, 1]);
    nodes.push(constNode('f', shape));
    weights.push({
      name: 'f',
      shape,
      values: seededValues(
        shape.reduce((a, v) => a * v, 1),
        3,
      ),
    });
    nodes.push({ name: 'y', op: c.op, input: ['x', 'f'], attr });
  }
  return graph(nodes, weights);
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('TF.js antialias rewrite: one strided op', () => {
  for (const c of CASES) {
    for (const n of [10, 11]) {
      it(`${c.label}, input ${n}×${n + 3}: keeps the output size and the sampling phase; the blur is centred on the original samples`, async () => {
        const h = n,
          w = n + 3;
        const x = seededValues(h * w * C, n + c.k);
        const dims = [1, h, w, C];
        const original = singleOp(c, h, w, 2);
        const yOrig = await run(original, x, dims, 'y');
        const f1 = await run(singleOp(c, h, w, 1), x, dims, 'y');
        const posY = positions(f1.shape[1]!, yOrig.shape[1]!, c.align);
        const posX = positions(f1.shape[2]!, yOrig.shape[2]!, c.align);
        expectClose(yOrig.data, sample(f1, posY, posX, null, 1));
        for (const b of [3, 5] as const) {
          const r = rewriteTfjsAntialias(original.modelJson, original.weights, { filterSize: b });
          expect(r.stats.stridedOps).toBe(1);
          expect(r.stats.rewritten.map((s) => s.alignment)).toEqual([c.align]);
          const yNew = await run(r, x, dims, 'y');
          expect(yNew.shape).toEqual(yOrig.shape);
          expectClose(yNew.data, sample(f1, posY, posX, blurFilter2d(b), b));
        }
        // the input objects are not modified
        expect(JSON.stringify(original.modelJson)).toContain('"i":["1","2","2","1"]');
      });
    }
  }
});

describe('TF.js antialias rewrite: graphs', () => {
  it('moves the blur after BiasAdd + Relu, keeps the consumer-facing name, traces channels through Transpose/Pad/ConcatV2', async () => {
    const attr = (s: number, pad = 'SAME') => ({
      T: { type: 'DT_FLOAT' },
      strides: list([1, s, s, 1]),
      padding: { s: b64(pad) },
      data_format: { s: b64('NHWC') },
      dilations: list([1, 1, 1, 1]),
    });
    const intConst = (name: string, n: number): TfNode => ({
      name,
      op: 'Const',
      attr: {
        dtype: { type: 'DT_INT32' },
        value: { tensor: { dtype: 'DT_INT32', tensorShape: { dim: [{ size: String(n) }] } } },
      },
    });
    const nodes: TfNode[] = [
      placeholder(16, 16, 3),
      constNode('f1', [3, 3, 3, 4]),
      constNode('bias', [4]),
      { name: 'conv', op: 'Conv2D', input: ['x', 'f1'], attr: attr(2) },
      { name: 'biased', op: 'BiasAdd', input: ['conv', 'bias'], attr: { T: { type: 'DT_FLOAT' } } },
      { name: 'relu', op: 'Relu', input: ['biased'], attr: { T: { type: 'DT_FLOAT' } } },
      // NHWC → NCHW → pad → NHWC, concat with itself on channels, then a strided max pool
      intConst('perm_nchw', 4),
      intConst('perm_nhwc', 4),
      intConst('pads', 8),
      {
        name: 'axis',
        op: 'Const',
        attr: { dtype: { type: 'DT_INT32' }, value: { tensor: { dtype: 'DT_INT32', tensorShape: {} } } },
      },
      { name: 't1', op: 'Transpose', input: ['relu', 'perm_nchw'], attr: {} },
      { name: 'padded', op: 'Pad', input: ['t1', 'pads'], attr: {} },
      { name: 't2', op: 'Transpose', input: ['padded', 'perm_nhwc'], attr: {} },
      { name: 'cat', op: 'ConcatV2', input: ['t2', 't2', 'axis'], attr: { N: { i: '2' } } },
      { name: 'pool', op: 'MaxPool', input: ['cat'], attr: { ...attr(2, 'VALID'), ksize: list([1, 2, 2, 1]) } },
    ];
    const g = graph(nodes, [
      { name: 'f1', shape: [3, 3, 3, 4], values: seededValues(108, 5) },
      { name: 'bias', shape: [4], values: seededValues(4, 6) },
      // int32 Consts live in the weight bytes: the rewrite has to read them from there
      { name: 'perm_nchw', shape: [4], values: [0, 3, 1, 2], dtype: 'int32' },
      { name: 'perm_nhwc', shape: [4], values: [0, 2, 3, 1], dtype: 'int32' },
      { name: 'pads', shape: [4, 2], values: [0, 0, 0, 0, 1, 1, 1, 1], dtype: 'int32' },
      { name: 'axis', shape: [], values: [3], dtype: 'int32' },
    ]);
    const strided = nodes.filter((n) => JSON.stringify(n.attr ?? {}).includes('"i":["1","2","2","1"]'));
    expect(strided).toHaveLength(2);
    const r = rewriteTfjsAntialias(g.modelJson, g.weights);
    expect(r.stats.rewritten.map((s) => [s.node, s.op, s.channels, s.blurAfter])).toEqual([
      ['conv', 'Conv2D', 4, 'relu'],
      ['pool', 'MaxPool', 8, 'pool'],
    ]);
    const outNodes = (r.modelJson.modelTopology as { node: TfNode[] }).node;
    const blurs = outNodes.filter((n) => n.op === 'DepthwiseConv2dNative');
    expect(blurs.map((n) => n.name)).toEqual(['relu', 'pool']);
    expect(blurs[0].input).toEqual(['relu/shiftbench_aa_pre', 'shiftbench_aa/blur3_c4']);
    expect(outNodes.find((n) => n.name === 'relu/shiftbench_aa_pre')?.op).toBe('Relu');
    expect(r.weights.byteLength).toBe(g.weights.byteLength + 4 * 9 * (4 + 8));
    // it runs and keeps the original output shape
    const x = new Float32Array(16 * 16 * 3).fill(0.5);
    const y0 = await run(g, x, [1, 16, 16, 3], 'pool');
    const y1 = await run(r, x, [1, 16, 16, 3], 'pool');
    expect(y1.shape).toEqual(y0.shape);
    // the inputs were not modified
    expect((g.modelJson.modelTopology as { node: TfNode[] }).node.find((n) => n.name === 'relu')?.op).toBe('Relu');
    expect(g.weights.byteLength).toBe(4 * (112 + 17));
  });

  it('counts and names the strided ops it does not rewrite; a transposed conv (its stride upsamples) is not one', () => {
    const g = graph(
      [
        placeholder(16, 16),
        {
          name: 'argmax',
          op: 'MaxPoolWithArgmax',
          input: ['x'],
          attr: { ksize: list([1, 2, 2, 1]), strides: list([1, 2, 2, 1]), padding: { s: b64('VALID') } },
        },
        constNode('w', [3, 3, C, C]),
        constNode('shape', [4]),
        {
          name: 'up',
          op: 'Conv2DBackpropInput',
          input: ['shape', 'w', 'argmax'],
          attr: { strides: list([1, 2, 2, 1]), padding: { s: b64('SAME') } },
        },
      ],
      [
        { name: 'w', shape: [3, 3, C, C], values: seededValues(9 * C * C, 1) },
        { name: 'shape', shape: [4], values: [1, 16, 16, C], dtype: 'int32' },
      ],
    );
    const r = rewriteTfjsAntialias(g.modelJson, g.weights);
    expect(r.stats.stridedOps).toBe(1);
    expect(r.stats.rewritten).toEqual([]);
    expect(r.stats.skipped).toEqual([
      {
        node: 'argmax',
        op: 'MaxPoolWithArgmax',
        reason:
          'MaxPoolWithArgmax is not rewritten (only Conv2D, _FusedConv2D, DepthwiseConv2dNative, ' +
          'FusedDepthwiseConv2dNative, MaxPool and AvgPool)',
      },
    ]);
  });

  it('rejects a model.json without a node list with ERR_MODEL_LOAD', () => {
    expect(() => rewriteTfjsAntialias({ format: 'graph-model' }, new ArrayBuffer(0))).toThrow(
      expect.objectContaining({
        code: 'ERR_MODEL_LOAD',
        message: 'antialias:post could not rewrite the TF.js graph model: model.json has no modelTopology.node list',
      }),
    );
  });
});
