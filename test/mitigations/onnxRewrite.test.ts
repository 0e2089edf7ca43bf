import { describe, expect, it } from 'vitest';
import { blurFilter2d, rewriteOnnxAntialias } from '../../src/mitigations/index.js';
import { concatBytes, lengthDelimited, splitFields } from '../../src/mitigations/onnx/raw.js';
import { ValueInfoProto } from '../../src/mitigations/onnx/schema.js';
import { encodeOnnxModel, onnxNodes } from '../../src/mitigations/onnx/rewrite.js';
import {
  buildModel,
  floatTensor,
  int,
  ints,
  runModel,
  seededValues,
  str,
  valueInfo,
  type Attr,
  type NodeSpec,
  type Out,
} from './onnxBuild.js';

const C = 2;

function valueInfoNames(model: Uint8Array): string[] {
  const graph = splitFields(model).find((f) => f.no === 7)!.payload!;
  return splitFields(graph)
    .filter((f) => f.no === 13)
    .map((f) => (ValueInfoProto.decode(f.payload!) as unknown as { name: string }).name);
}

/** One strided op on X [1, C, h, w] → Y, plus the same op with strides [1, 1]. */
function singleOp(op: 'Conv' | 'MaxPool' | 'AveragePool', k: number, attrs: Attr[], stride: number) {
  const inits = op === 'Conv' ? [floatTensor('W', [C, C, k, k], seededValues(C * C * k * k, 11))] : [];
  const node: NodeSpec = {
    op,
    inputs: op === 'Conv' ? ['X', 'W'] : ['X'],
    outputs: ['Y'],
    attrs: [...attrs, ints('strides', [stride, stride]), ...(op === 'Conv' ? [] : [ints('kernel_shape', [k, k])])],
  };
  return (h: number, w: number) => buildModel({ inDims: [1, C, h, w], nodes: [node], initializers: inits });
}

/** Samples a stride-1 map [1, C, H, W] at rows/cols `pos` (out of range → 0). */
function sample(f: Out, posY: number[], posX: number[], blur: Float32Array | null, b: number): Float32Array {
  const [, c, H, W] = f.dims;
  const q = (b - 1) / 2;
  const out = new Float32Array(c * posY.length * posX.length);
  const at = (ch: number, y: number, x: number) =>
    y < 0 || x < 0 || y >= H || x >= W ? 0 : f.data[(ch * H + y) * W + x];
  let o = 0;
  for (let ch = 0; ch < c; ch++) {
    for (const y of posY) {
      for (const x of posX) {
        let v = 0;
        if (!blur) v = at(ch, y, x);
        else
          for (let i = 0; i < b; i++) for (let j = 0; j < b; j++) v += blur[i * b + j] * at(ch, y + i - q, x + j - q);
        out[o++] = v;
      }
    }
  }
  return out;
}
const positions = (n: number, count: number, align: 'start' | 'end') =>
  Array.from({ length: count }, (_, i) => 2 * i + (align === 'end' && n % 2 === 0 ? 1 : 0));

function expectClose(a: Float32Array, b: Float32Array, tol = 1e-5) {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  expect(worst).toBeLessThan(tol);
}

const CASES: {
  label: string;
  op: 'Conv' | 'MaxPool' | 'AveragePool';
  k: number;
  attrs: Attr[];
  align: 'start' | 'end';
  sizes: number[];
}[] = [
  { label: 'Conv 3×3 pads 1', op: 'Conv', k: 3, attrs: [ints('pads', [1, 1, 1, 1])], align: 'start', sizes: [10, 11] },
  { label: 'Conv 3×3 no pads', op: 'Conv', k: 3, attrs: [], align: 'start', sizes: [10, 11] },
  {
    label: 'Conv 3×3 SAME_UPPER',
    op: 'Conv',
    k: 3,
    attrs: [str('auto_pad', 'SAME_UPPER')],
    align: 'end',
    sizes: [10, 11],
  },
  {
    label: 'Conv 5×5 SAME_UPPER',
    op: 'Conv',
    k: 5,
    attrs: [str('auto_pad', 'SAME_UPPER')],
    align: 'end',
    sizes: [12, 9],
  },
  {
    label: 'Conv 1×1 SAME_UPPER',
    op: 'Conv',
    k: 1,
    attrs: [str('auto_pad', 'SAME_UPPER')],
    align: 'start',
    sizes: [10, 11],
  },
  {
    label: 'Conv 3×3 SAME_LOWER',
    op: 'Conv',
    k: 3,
    attrs: [str('auto_pad', 'SAME_LOWER')],
    align: 'start',
    sizes: [10, 11],
  },
  {
    label: 'Conv 2×2 SAME_LOWER',
    op: 'Conv',
    k: 2,
    attrs: [str('auto_pad', 'SAME_LOWER')],
    align: 'end',
    sizes: [10, 11],
  },
  { label: 'MaxPool 2×2', op: 'MaxPool', k: 2, attrs: [], align: 'start', sizes: [10, 11] },
  {
    label: 'MaxPool 3×3 pads 1',
    op: 'MaxPool',
    k: 3,
    attrs: [ints('pads', [1, 1, 1, 1])],
    align: 'start',
    sizes: [10, 11],
  },
  {
    label: 'MaxPool 3×3 SAME_UPPER',
    op: 'MaxPool',
    k: 3,
    attrs: [str('auto_pad', 'SAME_UPPER')],
    align: 'end',
    sizes: [10, 11],
  },
  {
    label: 'AveragePool 3×3 pads 1 count_include_pad',
    op: 'AveragePool',
    k: 3,
    attrs: [ints('pads', [1, 1, 1, 1]), int('count_include_pad', 1)],
    align: 'start',
    sizes: [10, 11],
  },
];

describe('ONNX antialias rewrite: one strided op', () => {
  for (const c of CASES) {
    for (const n of c.sizes) {
      it(`${c.label}, input ${n}×${n + 1}: keeps the output size and the sampling phase; the blur is centred on the original samples`, async () => {
        const h = n,
          w = n + 1;
        const x = seededValues(C * h * w, n * 7 + c.k);
        const dims = [1, C, h, w];
        const original = singleOp(c.op, c.k, c.attrs, 2)(h, w);
        const stride1 = singleOp(c.op, c.k, c.attrs, 1)(h, w);
        const yOrig = await runModel(original, x, dims);
        const f1 = await runModel(stride1, x, dims);
        const [, , oh, ow] = yOrig.dims;
        const posY = positions(f1.dims[2], oh, c.align);
        const posX = positions(f1.dims[3], ow, c.align);
        // the derivation: the strided op keeps exactly these stride-1 positions
        expectClose(yOrig.data, sample(f1, posY, posX, null, 1));
        for (const b of [3, 5] as const) {
          const { model, stats } = rewriteOnnxAntialias(original, { filterSize: b });
          expect(stats.stridedOps).toBe(1);
          expect(stats.rewritten).toHaveLength(1);
          expect(stats.rewritten[0].alignment).toBe(c.align);
          const yNew = await runModel(model, x, dims);
          expect(yNew.dims).toEqual(yOrig.dims);
          expectClose(yNew.data, sample(f1, posY, posX, blurFilter2d(b), b));
        }
        if (c.align === 'start') {
          // filter size 1 = plain subsampling: the rewritten model computes the original exactly
          const { model } = rewriteOnnxAntialias(original, { filterSize: 1 });
          expectClose((await runModel(model, x, dims)).data, yOrig.data);
        }
      });
    }
  }
});

describe('ONNX antialias rewrite: graphs', () => {
  // X → Conv s2 (pads 1) → Relu → MaxPool 2 s2 → Conv 1×1 s2 → Add(Conv s1 branch … ) → Y
  const nodes: NodeSpec[] = [
    {
      op: 'Conv',
      inputs: ['X', 'W1'],
      outputs: ['c1'],
      attrs: [ints('pads', [1, 1, 1, 1]), ints('strides', [2, 2])],
      name: 'conv1',
    },
    { op: 'Relu', inputs: ['c1'], outputs: ['r1'], name: 'relu1' },
    {
      op: 'MaxPool',
      inputs: ['r1'],
      outputs: ['p1'],
      attrs: [ints('kernel_shape', [2, 2]), ints('strides', [2, 2])],
      name: 'pool1',
    },
    { op: 'Conv', inputs: ['p1', 'W2'], outputs: ['c2'], attrs: [ints('strides', [2, 2])], name: 'conv2' },
    { op: 'Conv', inputs: ['c2', 'W3'], outputs: ['c3'], attrs: [ints('pads', [1, 1, 1, 1])], name: 'conv3' },
    { op: 'Add', inputs: ['c2', 'c3'], outputs: ['Y'], name: 'add' },
  ];
  const inits = [
    floatTensor('W1', [4, 3, 3, 3], seededValues(108, 1)),
    floatTensor('W2', [5, 4, 1, 1], seededValues(20, 2)),
    floatTensor('W3', [5, 5, 3, 3], seededValues(225, 3)),
  ];
  const model = buildModel({
    inDims: [1, 3, 32, 32],
    nodes,
    initializers: inits,
    valueInfo: [valueInfo('c1', [1, 4, 16, 16]), valueInfo('p1', [1, 4, 8, 8])],
  });

  it('inserts one blur per strided op, after the activation, and drops stale value_info', async () => {
    const before = onnxNodes(model);
    const strided = before.filter((n) =>
      n.attribute.some((a) => a.name === 'strides' && (a.ints ?? []).some((s) => Number(s) > 1)),
    );
    expect(strided).toHaveLength(3);
    const { model: out, stats } = rewriteOnnxAntialias(model);
    const after = onnxNodes(out);
    const blurs = after.filter((n) => n.name?.includes('shiftbench_blur'));
    expect(blurs).toHaveLength(strided.length);
    expect(
      after.filter(
        (n) =>
          !n.name?.includes('shiftbench_blur') &&
          n.attribute.some((a) => a.name === 'strides' && (a.ints ?? []).some((s) => Number(s) > 1)),
      ),
    ).toHaveLength(0);
    expect(after.map((n) => n.name)).toEqual([
      'conv1',
      'relu1',
      'conv1__shiftbench_blur3',
      'pool1',
      'pool1__shiftbench_blur3',
      'conv2',
      'conv2__shiftbench_blur3',
      'conv3',
      'add',
    ]);
    expect(stats.rewritten.map((r) => [r.node, r.channels, r.blurAfter])).toEqual([
      ['conv1', 4, 'relu1'],
      ['pool1', 4, 'pool1'],
      ['conv2', 5, 'conv2'],
    ]);
    // the relu's output keeps its name (the blur now produces it); c1 changed shape so its value_info is gone, p1's shape did not change
    expect(blurs[0].output).toEqual(['r1']);
    expect(valueInfoNames(model)).toEqual(['c1', 'p1']);
    expect(valueInfoNames(out)).toEqual(['p1']);
    const x = seededValues(3 * 32 * 32, 5);
    const y0 = await runModel(model, x, [1, 3, 32, 32]);
    const y1 = await runModel(out, x, [1, 3, 32, 32]);
    expect(y1.dims).toEqual(y0.dims);
  });

  it('on a constant input the rewritten model equals the original away from the borders', async () => {
    // Same graph at 128 px (output 16×16): the blur's zero padding reaches at most 3 output cells in from each border.
    const big = buildModel({ inDims: [1, 3, 128, 128], nodes, initializers: inits });
    const x = new Float32Array(3 * 128 * 128).fill(0.7);
    const y0 = await runModel(big, x, [1, 3, 128, 128]);
    const y1 = await runModel(rewriteOnnxAntialias(big).model, x, [1, 3, 128, 128]);
    expect(y1.dims).toEqual([1, 5, 16, 16]);
    const [, c, h, w] = y0.dims;
    const margin = 3;
    let interior = 0;
    let worstInterior = 0;
    let worstBorder = 0;
    for (let ch = 0; ch < c; ch++) {
      for (let yy = 0; yy < h; yy++) {
        for (let xx = 0; xx < w; xx++) {
          const i = (ch * h + yy) * w + xx;
          const d = Math.abs(y1.data[i] - y0.data[i]);
          if (yy >= margin && yy < h - margin && xx >= margin && xx < w - margin) {
            worstInterior = Math.max(worstInterior, d);
            interior++;
          } else worstBorder = Math.max(worstBorder, d);
        }
      }
    }
    expect(interior).toBe(5 * 10 * 10);
    expect(worstInterior).toBeLessThan(1e-4);
    // at the borders it does differ (the blur zero-pads), so the comparison above is not vacuous
    expect(worstBorder).toBeGreaterThan(1e-3);
  });

  it('traces channels through Concat without value_info, and skips (with the reason) what it cannot trace', () => {
    const m = buildModel({
      inDims: [1, 3, 16, 16],
      nodes: [
        { op: 'Conv', inputs: ['X', 'Wa'], outputs: ['a'], name: 'ca' },
        { op: 'Conv', inputs: ['X', 'Wb'], outputs: ['b'], name: 'cb' },
        { op: 'Concat', inputs: ['a', 'b'], outputs: ['ab'], attrs: [int('axis', 1)], name: 'cat' },
        {
          op: 'MaxPool',
          inputs: ['ab'],
          outputs: ['Y'],
          attrs: [ints('kernel_shape', [2, 2]), ints('strides', [2, 2])],
          name: 'pool',
        },
        { op: 'Transpose', inputs: ['X'], outputs: ['t'], attrs: [ints('perm', [0, 2, 1, 3])], name: 'tr' },
        {
          op: 'MaxPool',
          inputs: ['t'],
          outputs: ['Z'],
          attrs: [ints('kernel_shape', [2, 2]), ints('strides', [2, 2])],
          name: 'pool2',
        },
      ],
      initializers: [
        floatTensor('Wa', [2, 3, 1, 1], seededValues(6, 1)),
        floatTensor('Wb', [5, 3, 1, 1], seededValues(15, 2)),
      ],
      outputs: ['Y', 'Z'],
    });
    const { stats } = rewriteOnnxAntialias(m);
    expect(stats.stridedOps).toBe(2);
    expect(stats.rewritten.map((r) => [r.node, r.channels])).toEqual([['pool', 7]]);
    expect(stats.skipped).toEqual([
      { node: 'pool2', op: 'MaxPool', reason: 'channel count unknown (no value_info, not traceable to a Conv weight)' },
    ]);
  });

  it("a strided Conv whose weight is not an initializer (a Constant node) gets the blur of its output channels, or is skipped, never its input's", async () => {
    const w = seededValues(5 * 3 * 3 * 3, 3);
    const constant = (name: string, output: string) => ({
      op: 'Constant',
      inputs: [],
      outputs: [output],
      name,
      attrs: [{ name: 'value', type: 4, t: floatTensor('', [5, 3, 3, 3], w) } as never],
    });
    const conv = {
      op: 'Conv',
      inputs: ['X', 'W'],
      outputs: ['Y'],
      attrs: [ints('kernel_shape', [3, 3]), ints('strides', [2, 2]), ints('pads', [1, 1, 1, 1])],
      name: 'conv',
    };
    const m = buildModel({ inDims: [1, 3, 16, 16], nodes: [constant('w', 'W'), conv] });
    const { model, stats } = rewriteOnnxAntialias(m);
    expect(stats.stridedOps).toBe(1);
    // the blur runs on the Conv's output: 5 channels (3 would be the input's, which onnxruntime refuses)
    for (const r of stats.rewritten) expect(r.channels).toBe(5);
    if (stats.rewritten.length > 0) {
      const out = await runModel(model, seededValues(3 * 16 * 16, 4), [1, 3, 16, 16]);
      expect(out.dims).toEqual([1, 5, 8, 8]);
    } else expect(stats.skipped.map((s) => s.node)).toEqual(['conv']);
  });

  it('keeps fields it does not know byte for byte, and returns the model untouched when nothing is strided', () => {
    const unknownField = lengthDelimited(99, new TextEncoder().encode('keep me'));
    const withUnknown = concatBytes([model, unknownField]);
    const { model: out } = rewriteOnnxAntialias(withUnknown);
    const tail = out.subarray(out.length - unknownField.length);
    expect(Array.from(tail)).toEqual(Array.from(unknownField));
    const flat = buildModel({ inDims: [1, 3, 8, 8], nodes: [{ op: 'Relu', inputs: ['X'], outputs: ['Y'] }] });
    const r = rewriteOnnxAntialias(flat);
    expect(r.model).toBe(flat);
    expect(r.stats.stridedOps).toBe(0);
  });

  it('counts and names the strided ops it does not rewrite (other conv and pooling kinds, other domains); not ConvTranspose', () => {
    const m = encodeOnnxModel({
      ir_version: 7,
      opset_import: [
        { domain: '', version: 13 },
        { domain: 'com.microsoft', version: 1 },
      ],
      graph: {
        name: 'g',
        node: [
          {
            op_type: 'LpPool',
            name: 'lp',
            input: ['X'],
            output: ['a'],
            attribute: [ints('kernel_shape', [2, 2]), ints('strides', [2, 2])],
          },
          {
            op_type: 'FusedConv',
            domain: 'com.microsoft',
            name: 'fused',
            input: ['a', 'W'],
            output: ['b'],
            attribute: [ints('strides', [2, 2])],
          },
          {
            op_type: 'ConvTranspose',
            name: 'up',
            input: ['b', 'W'],
            output: ['Y'],
            attribute: [ints('strides', [2, 2])],
          },
        ],
        initializer: [floatTensor('W', [3, 3, 1, 1], seededValues(9, 1))],
        input: [valueInfo('X', [1, 3, 16, 16])],
        output: [{ name: 'Y', type: { tensor_type: { elem_type: 1 } } }],
      },
    });
    const { model, stats } = rewriteOnnxAntialias(m);
    expect(model).toBe(m);
    expect(stats.stridedOps).toBe(2);
    expect(stats.rewritten).toEqual([]);
    expect(stats.skipped).toEqual([
      { node: 'lp', op: 'LpPool', reason: 'LpPool is not rewritten (only Conv, MaxPool and AveragePool)' },
      {
        node: 'fused',
        op: 'com.microsoft.FusedConv',
        reason: 'com.microsoft.FusedConv is not rewritten (only Conv, MaxPool and AveragePool)',
      },
    ]);
  });

  it('counts and names strided ops inside subgraphs (If / Loop bodies), which it does not rewrite', () => {
    const pool = (name: string, input: string, output: string) => ({
      op_type: 'MaxPool',
      name,
      input: [input],
      output: [output],
      attribute: [ints('kernel_shape', [2, 2]), ints('strides', [2, 2])],
    });
    const branch = (name: string, node: ReturnType<typeof pool>) => ({
      name,
      node: [node],
      output: [{ name: node.output[0], type: { tensor_type: { elem_type: 1 } } }],
    });
    const m = encodeOnnxModel({
      ir_version: 7,
      opset_import: [{ domain: '', version: 13 }],
      graph: {
        name: 'g',
        node: [
          {
            op_type: 'If',
            name: 'choose',
            input: ['cond'],
            output: ['Y'],
            attribute: [
              { name: 'then_branch', type: 5, g: branch('then', pool('pool_then', 'X', 'p1')) },
              { name: 'else_branch', type: 5, g: branch('else', pool('pool_else', 'X', 'p2')) },
            ],
          },
        ],
        input: [valueInfo('X', [1, 3, 16, 16]), { name: 'cond', type: { tensor_type: { elem_type: 9 } } }],
        output: [{ name: 'Y', type: { tensor_type: { elem_type: 1 } } }],
      },
    });
    const { stats } = rewriteOnnxAntialias(m);
    expect(stats.stridedOps).toBe(2);
    expect(stats.rewritten).toEqual([]);
    expect(stats.skipped).toEqual([
      {
        node: 'pool_then',
        op: 'MaxPool',
        reason: 'inside the then_branch of If "choose" (subgraphs are not rewritten)',
      },
      {
        node: 'pool_else',
        op: 'MaxPool',
        reason: 'inside the else_branch of If "choose" (subgraphs are not rewritten)',
      },
    ]);
  });

  it('rejects bytes that are not a model with ERR_MODEL_LOAD', () => {
    expect(() => rewriteOnnxAntialias(new Uint8Array([0xff, 0xff, 0xff]))).toThrow(
      expect.objectContaining({ code: 'ERR_MODEL_LOAD' }),
    );
    expect(() => rewriteOnnxAntialias(new Uint8Array([8, 7]))).toThrow(
      'antialias:post could not rewrite the ONNX model: no graph in the ModelProto',
    );
  });
});

describe('ONNX antialias rewrite: ceil_mode pools', () => {
  // ceil_mode adds an output only where the last window starts inside the input or its left padding (ONNX, and
  // onnxruntime, drop a window that would start in the right padding), and never with auto_pad SAME_*, whose output
  // count is ceil(n / 2) either way: the blur must add its extra output exactly there.
  const variants: { label: string; attrs: (k: number) => Attr[] }[] = [
    { label: 'pads 0', attrs: () => [] },
    { label: 'pads 1 on every side', attrs: () => [ints('pads', [1, 1, 1, 1])] },
    { label: 'pads 1 at the end only', attrs: () => [ints('pads', [0, 0, 1, 1])] },
    { label: 'pads 1 at the end of x only', attrs: () => [ints('pads', [0, 0, 0, 1])] },
    { label: 'VALID', attrs: () => [str('auto_pad', 'VALID')] },
    { label: 'SAME_UPPER', attrs: () => [str('auto_pad', 'SAME_UPPER')] },
    { label: 'SAME_LOWER', attrs: () => [str('auto_pad', 'SAME_LOWER')] },
  ];
  for (const op of ['MaxPool', 'AveragePool'] as const) {
    for (const v of variants) {
      it(`${op} ceil_mode 1, ${v.label}: the rewritten op keeps the output size for kernels 2 and 3, sizes 9–12`, async () => {
        for (const k of [2, 3]) {
          for (const n of [9, 10, 11, 12]) {
            const dims = [1, C, n, n + 1];
            const original = buildModel({
              inDims: dims,
              nodes: [
                {
                  op,
                  inputs: ['X'],
                  outputs: ['Y'],
                  attrs: [...v.attrs(k), ints('kernel_shape', [k, k]), ints('strides', [2, 2]), int('ceil_mode', 1)],
                },
              ],
            });
            const x = seededValues(C * n * (n + 1), 3 * n + k);
            const y0 = await runModel(original, x, dims);
            for (const b of [3, 5] as const) {
              const { model, stats } = rewriteOnnxAntialias(original, { filterSize: b });
              expect(stats.rewritten).toHaveLength(1);
              expect((await runModel(model, x, dims)).dims, `k ${k}, n ${n}, b ${b}`).toEqual(y0.dims);
            }
          }
        }
      });
    }
  }
});
