/** Builds tiny ONNX models with our own encoder, and runs them with onnxruntime-node. */
import * as ort from 'onnxruntime-node';
import { encodeOnnxModel } from '../../src/mitigations/onnx/rewrite.js';

export type Attr = { name: string; type: number; i?: number; ints?: number[]; s?: Uint8Array; f?: number };
export const ints = (name: string, v: number[]): Attr => ({ name, type: 7, ints: v });
export const int = (name: string, v: number): Attr => ({ name, type: 2, i: v });
export const str = (name: string, v: string): Attr => ({ name, type: 3, s: new TextEncoder().encode(v) });

export interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  attrs?: Attr[];
  name?: string;
}

export function floatTensor(name: string, dims: number[], values: ArrayLike<number>) {
  const f = Float32Array.from(values);
  return { name, dims, data_type: 1, raw_data: new Uint8Array(f.buffer) };
}

export function seededValues(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 4294967296) * 2 - 1;
  }
  return out;
}

export function valueInfo(name: string, dims: (number | string)[]) {
  return {
    name,
    type: {
      tensor_type: {
        elem_type: 1,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) },
      },
    },
  };
}

/** A model with input "X" of `inDims`, the given nodes and initializers, output "Y" (shape left unknown). */
export function buildModel(opts: {
  inDims: (number | string)[];
  nodes: NodeSpec[];
  initializers?: ReturnType<typeof floatTensor>[];
  valueInfo?: ReturnType<typeof valueInfo>[];
  outputs?: string[];
  opset?: number;
}): Uint8Array {
  return encodeOnnxModel({
    ir_version: 7,
    opset_import: [{ domain: '', version: opts.opset ?? 13 }],
    producer_name: 'shiftbench-test',
    graph: {
      name: 'g',
      node: opts.nodes.map((n, k) => ({
        input: n.inputs,
        output: n.outputs,
        op_type: n.op,
        name: n.name ?? `${n.op}_${k}`,
        attribute: n.attrs ?? [],
      })),
      initializer: opts.initializers ?? [],
      input: [valueInfo('X', opts.inDims)],
      output: (opts.outputs ?? ['Y']).map((o) => ({ name: o, type: { tensor_type: { elem_type: 1 } } })),
      value_info: opts.valueInfo ?? [],
    },
  });
}

export interface Out {
  dims: number[];
  data: Float32Array;
}

/** Runs a model on X; returns the named output (default Y). */
export async function runModel(model: Uint8Array, x: Float32Array, dims: number[], output = 'Y'): Promise<Out> {
  const session = await ort.InferenceSession.create(model, {
    graphOptimizationLevel: 'disabled',
    intraOpNumThreads: 1,
  });
  try {
    const res = await session.run({ X: new ort.Tensor('float32', x, dims) });
    const t = res[output];
    return { dims: [...t.dims], data: t.data as Float32Array };
  } finally {
    await session.release();
  }
}
