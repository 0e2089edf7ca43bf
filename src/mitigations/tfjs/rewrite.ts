/**
 * antialias:post for TF.js graph models: rewrites model.json's node list and appends
 * the blur filters to the weights manifest and weight bytes.
 *
 * Each Conv2D / _FusedConv2D / DepthwiseConv2dNative / FusedDepthwiseConv2dNative /
 * MaxPool / AvgPool with NHWC strides [1, 2, 2, 1] gets strides [1, 1, 1, 1]; a
 * DepthwiseConv2dNative blur (filter [b, b, C, 1] = the normalised binomial filter,
 * strides 2) then takes over the name of the last node of the per-pixel chain after
 * it (BiasAdd, FusedBatchNorm, Relu…), which is renamed, so every consumer and the
 * signature still read the name they read before. Placement and padding follow
 * antialiasPlan.ts: TF "SAME" with an odd kernel ≥ 3 → blur padding SAME; otherwise
 * EXPLICIT zero padding of ⌊b/2⌋ on each side.
 *
 * Channel count of a blur: the last axis of the op's output shape, propagated forward
 * from the Placeholder and Const shapes through the producers (conv filters give the
 * channels; Transpose with a constant perm, Pad with constant paddings, ConcatV2,
 * Reshape to a constant shape and broadcasting binary ops are followed; small int32
 * Consts are read from the weight bytes). Ops whose channel count cannot be found are
 * left unchanged and listed in `stats.skipped`, as is every other op with a stride > 1
 * (MaxPoolWithArgmax, Conv3D…; not Conv2DBackpropInput, whose stride upsamples).
 */
import { ShiftbenchError } from '../../core/errors.js';
import { blurFilter2d, type BlurSize } from '../blurKernel.js';
import { samplingAlignment, type AntialiasRewriteStats, type PadScheme } from '../antialiasPlan.js';

export interface TfjsAntialiasOptions {
  /** Blur size: 3 or 5; 1 = no blur (plain subsampling, for baselines and tests). Default 3. */
  filterSize?: BlurSize;
}

interface TfAttr {
  s?: string;
  i?: string | number;
  f?: number;
  b?: boolean;
  type?: string;
  list?: { i?: (string | number)[]; s?: string[]; f?: number[] };
  shape?: { dim?: { size?: string | number }[]; unknownRank?: boolean };
  tensor?: { dtype?: string; tensorShape?: { dim?: { size?: string | number }[] } };
}
interface TfNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, TfAttr>;
  device?: string;
  [other: string]: unknown;
}
interface WeightSpec {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype: string; scale?: number; min?: number };
  [other: string]: unknown;
}

const STRIDED_OPS = new Set([
  'Conv2D',
  '_FusedConv2D',
  'DepthwiseConv2dNative',
  'FusedDepthwiseConv2dNative',
  'MaxPool',
  'AvgPool',
]);
const PER_PIXEL_OPS = new Set([
  'Relu',
  'Relu6',
  'Elu',
  'Selu',
  'Sigmoid',
  'Tanh',
  'LeakyRelu',
  'Identity',
  'BiasAdd',
  'FusedBatchNorm',
  'FusedBatchNormV3',
  'Prelu',
]);
const CHANNEL_KEEPING_OPS = new Set([
  ...PER_PIXEL_OPS,
  'MaxPool',
  'AvgPool',
  'Pad',
  'PadV2',
  'MirrorPad',
  'ResizeBilinear',
  'ResizeNearestNeighbor',
  'Softplus',
  'Abs',
  'Neg',
  'Square',
  'Sqrt',
  'Exp',
  'Cast',
]);
const BROADCAST_OPS = new Set(['Add', 'AddV2', 'Sub', 'Mul', 'Maximum', 'Minimum', 'RealDiv', 'Div']);

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
const unb64 = (s: string | undefined): string | undefined =>
  s === undefined ? undefined : Buffer.from(s, 'base64').toString('utf8');

function ints(a: TfAttr | undefined): number[] | undefined {
  return a?.list?.i ? a.list.i.map(Number) : undefined;
}
/** "name", "name:k" and "^name" → { node, output }; control inputs give output −1. */
function parseInput(input: string): { node: string; output: number } {
  if (input.startsWith('^')) return { node: input.slice(1), output: -1 };
  const m = /^(.*):(\d+)$/.exec(input);
  return m ? { node: m[1], output: Number(m[2]) } : { node: input, output: 0 };
}

function tfError(message: string): ShiftbenchError {
  return new ShiftbenchError('ERR_MODEL_LOAD', `antialias:post could not rewrite the TF.js graph model: ${message}`);
}

/**
 * Rewrites a TF.js graph model (model.json object + concatenated weight bytes in
 * manifest order) for post-hoc anti-aliasing. Returns new objects; the inputs are not
 * modified. Throws ERR_MODEL_LOAD when modelJson has no modelTopology.node list.
 */
export function rewriteTfjsAntialias(
  modelJson: Record<string, unknown>,
  weights: ArrayBuffer,
  options: TfjsAntialiasOptions = {},
): { modelJson: Record<string, unknown>; weights: ArrayBuffer; stats: AntialiasRewriteStats } {
  const b = options.filterSize ?? 3;
  const filter = blurFilter2d(b);
  const q = (b - 1) / 2;
  const json = structuredClone(modelJson) as Record<string, unknown> & {
    modelTopology?: { node?: TfNode[] };
    weightsManifest?: { paths: string[]; weights: WeightSpec[] }[];
  };
  const nodes = json.modelTopology?.node;
  if (!Array.isArray(nodes)) throw tfError('model.json has no modelTopology.node list');
  const manifest = json.weightsManifest ?? [];
  const weightShapes = new Map<string, number[]>();
  for (const group of manifest) for (const w of group.weights ?? []) weightShapes.set(w.name, w.shape);

  const byName = new Map<string, TfNode>();
  for (const n of nodes) byName.set(n.name, n);
  /** consumers of each node: [consumer, input index, output index] */
  const consumers = new Map<string, { node: TfNode; index: number; output: number }[]>();
  for (const n of nodes) {
    (n.input ?? []).forEach((inp, index) => {
      const { node, output } = parseInput(inp);
      const list = consumers.get(node) ?? [];
      list.push({ node: n, index, output });
      consumers.set(node, list);
    });
  }
  const signatureOutputs = new Set<string>();
  const sig = json.signature as { outputs?: Record<string, { name?: string }> } | undefined;
  for (const o of Object.values(sig?.outputs ?? {})) if (o?.name) signatureOutputs.add(parseInput(o.name).node);

  const constShape = (name: string): number[] | undefined => {
    const n = byName.get(parseInput(name).node);
    if (!n) return undefined;
    if (n.op === 'Const') {
      const dims = n.attr?.value?.tensor?.tensorShape?.dim;
      if (dims) return dims.map((d) => Number(d.size ?? 1));
      return weightShapes.get(n.name);
    }
    if (n.op === 'Identity' && n.input?.[0]) return constShape(n.input[0]);
    return undefined;
  };
  // Values of small int32 Consts (perms, paddings, axes): inline intVal, else read from the weight bytes.
  const weightOffsets = new Map<string, { offset: number; spec: WeightSpec }>();
  {
    let offset = 0;
    const bytesPer: Record<string, number> = {
      float32: 4,
      int32: 4,
      bool: 1,
      uint8: 1,
      float16: 2,
      uint16: 2,
      complex64: 8,
    };
    outer: for (const group of manifest) {
      for (const w of group.weights ?? []) {
        const per = bytesPer[w.quantization?.dtype ?? w.dtype];
        if (per === undefined) break outer; // string weights have variable size: stop, later offsets are unknown
        weightOffsets.set(w.name, { offset, spec: w });
        offset += w.shape.reduce((a, v) => a * v, 1) * per;
      }
    }
  }
  const constInts = (name: string): number[] | undefined => {
    const n = byName.get(parseInput(name).node);
    if (!n || n.op !== 'Const') return undefined;
    const inline = (n.attr?.value?.tensor as { intVal?: (string | number)[] } | undefined)?.intVal;
    if (inline && inline.length > 0) {
      const count = constShape(name)?.reduce((a, v) => a * v, 1) ?? inline.length;
      return inline.length === count ? inline.map(Number) : Array(count).fill(Number(inline[0]));
    }
    const at = weightOffsets.get(n.name);
    if (!at || at.spec.dtype !== 'int32' || at.spec.quantization) return undefined;
    const count = at.spec.shape.reduce((a, v) => a * v, 1);
    if (at.offset + count * 4 > weights.byteLength) return undefined;
    return Array.from(new Int32Array(weights.slice(at.offset, at.offset + count * 4)));
  };

  /** Best-known 4-D shape of a node's output 0 (undefined entries are unknown), by propagation from the producers. */
  type Shape4 = (number | undefined)[];
  const memo = new Map<string, Shape4 | undefined>();
  const shape4 = (name: string, depth = 0): Shape4 | undefined => {
    const { node: nodeName } = parseInput(name);
    if (memo.has(nodeName)) return memo.get(nodeName);
    memo.set(nodeName, undefined);
    const n = byName.get(nodeName);
    let out: Shape4 | undefined;
    if (n && depth < 4000) {
      const ins = (n.input ?? []).filter((i) => !i.startsWith('^'));
      const u = undefined;
      if (n.op === 'Conv2D' || n.op === '_FusedConv2D') {
        const f = constShape(ins[1] ?? '');
        if (f?.length === 4) out = [shape4(ins[0], depth + 1)?.[0], u, u, f[3]];
      } else if (n.op === 'DepthwiseConv2dNative' || n.op === 'FusedDepthwiseConv2dNative') {
        const f = constShape(ins[1] ?? '');
        if (f?.length === 4) out = [shape4(ins[0], depth + 1)?.[0], u, u, f[2] * f[3]];
      } else if (n.op === 'Placeholder') {
        const dims = n.attr?.shape?.shape?.dim;
        if (dims?.length === 4) out = dims.map((d) => (Number(d.size) > 0 ? Number(d.size) : u));
      } else if (n.op === 'Const') {
        const s = constShape(n.name);
        if (s?.length === 4) out = s;
      } else if (['MaxPool', 'AvgPool', 'ResizeBilinear', 'ResizeNearestNeighbor'].includes(n.op)) {
        const s = shape4(ins[0], depth + 1);
        if (s) out = [s[0], u, u, s[3]];
      } else if (n.op === 'Pad' || n.op === 'PadV2' || n.op === 'MirrorPad') {
        const s = shape4(ins[0], depth + 1);
        const pads = constInts(ins[1] ?? '');
        if (s && pads?.length === 8) out = s.map((v, i) => (v === undefined ? u : v + pads[2 * i] + pads[2 * i + 1]));
      } else if (n.op === 'Transpose') {
        const s = shape4(ins[0], depth + 1);
        const perm = constInts(ins[1] ?? '');
        if (s && perm?.length === 4) out = perm.map((p) => s[p]);
      } else if (CHANNEL_KEEPING_OPS.has(n.op)) {
        out = shape4(ins[0], depth + 1);
      } else if (BROADCAST_OPS.has(n.op)) {
        const shapes = ins.map((i) => {
          const c = byName.get(parseInput(i).node);
          if (c?.op === 'Const') {
            const s = constShape(i) ?? [];
            return [...Array(Math.max(0, 4 - s.length)).fill(1), ...s].slice(-4) as Shape4;
          }
          return shape4(i, depth + 1);
        });
        if (shapes.some((s) => s !== undefined)) {
          out = [0, 1, 2, 3].map((k) => {
            let v: number | undefined = 1;
            for (const s of shapes) {
              const d = s?.[k];
              if (d === undefined) v = v === 1 ? u : v;
              else if (d !== 1) v = d;
            }
            return v;
          });
        }
      } else if (n.op === 'ConcatV2' && ins.length >= 2) {
        const axisRaw = constInts(ins[ins.length - 1])?.[0];
        const parts = ins.slice(0, -1).map((i) => shape4(i, depth + 1));
        if (axisRaw !== undefined && parts.every((p) => p !== undefined)) {
          const axis = axisRaw < 0 ? axisRaw + 4 : axisRaw;
          out = [0, 1, 2, 3].map((k) => {
            if (k !== axis) return parts.find((p) => p![k] !== undefined)?.[k];
            let sum = 0;
            for (const p of parts) {
              if (p![k] === undefined) return u;
              sum += p![k]!;
            }
            return sum;
          });
        }
      } else if (n.op === 'Reshape') {
        const target = constInts(ins[1] ?? '');
        if (target?.length === 4) {
          const s = shape4(ins[0], depth + 1);
          out = target.map((v, k) => (v > 0 ? v : v === 0 ? s?.[k] : u));
        }
      }
    }
    memo.set(nodeName, out);
    return out;
  };
  const channelsOf = (name: string): number | undefined => shape4(name)?.[3];

  const stats: AntialiasRewriteStats = {
    format: 'tfjs-graph',
    filterSize: b,
    stridedOps: 0,
    rewritten: [],
    skipped: [],
  };
  const usedNames = new Set(byName.keys());
  const fresh = (base: string): string => {
    let name = base;
    for (let k = 1; usedNames.has(name); k++) name = `${base}_${k}`;
    usedNames.add(name);
    return name;
  };
  const newNodes: TfNode[] = [];
  const newWeights: { spec: WeightSpec; data: Float32Array }[] = [];
  const blurConsts = new Map<number, string>();
  const claimedChainNodes = new Set<TfNode>();
  for (const node of [...nodes]) {
    // every op with a stride > 1 subsamples (and is counted), except the transposed convolutions (Conv2DBackpropInput…),
    // whose stride upsamples
    const strides = ints(node.attr?.strides) ?? [1, 1, 1, 1];
    if (!strides.some((s) => s > 1) || node.op.includes('BackpropInput')) continue;
    stats.stridedOps++;
    const skip = (reason: string) => stats.skipped.push({ node: node.name, op: node.op, reason });
    if (!STRIDED_OPS.has(node.op)) {
      skip(
        `${node.op} is not rewritten (only ${[...STRIDED_OPS].slice(0, -1).join(', ')} and ${[...STRIDED_OPS].at(-1)})`,
      );
      continue;
    }
    const dataFormat = unb64(node.attr?.data_format?.s) ?? 'NHWC';
    if (dataFormat !== 'NHWC') {
      skip(`data_format ${dataFormat}`);
      continue;
    }
    if (strides.length !== 4 || strides[1] !== 2 || strides[2] !== 2 || strides[0] !== 1 || strides[3] !== 1) {
      skip(`strides [${strides.join(', ')}] (only [1, 2, 2, 1] is rewritten)`);
      continue;
    }
    const padding = unb64(node.attr?.padding?.s) ?? 'VALID';
    const scheme: PadScheme | undefined =
      padding === 'SAME'
        ? 'same-upper'
        : padding === 'VALID'
          ? 'valid'
          : padding === 'EXPLICIT'
            ? 'explicit'
            : undefined;
    if (!scheme) {
      skip(`padding ${padding}`);
      continue;
    }
    const isPool = node.op === 'MaxPool' || node.op === 'AvgPool';
    const ins = (node.input ?? []).filter((i) => !i.startsWith('^'));
    const filterShape = isPool ? undefined : constShape(ins[1] ?? '');
    const kernel = isPool ? ints(node.attr?.ksize)?.slice(1, 3) : filterShape?.slice(0, 2);
    if (!kernel || kernel.length !== 2) {
      skip('unknown kernel size');
      continue;
    }
    const dil = ints(node.attr?.dilations) ?? [1, 1, 1, 1];
    const alignY = samplingAlignment(scheme, (kernel[0] - 1) * (dil[1] ?? 1) + 1);
    const alignX = samplingAlignment(scheme, (kernel[1] - 1) * (dil[2] ?? 1) + 1);
    if (alignY !== alignX) {
      skip('different sampling alignment in y and x');
      continue;
    }
    if (alignY === 'end' && b === 1) {
      skip('filter size 1 cannot reproduce end-aligned (SAME) sampling');
      continue;
    }
    const channels = channelsOf(node.name);
    if (channels === undefined || !(channels > 0)) {
      skip('channel count unknown');
      continue;
    }
    // Per-pixel chain after the op.
    let end = node;
    for (;;) {
      if (signatureOutputs.has(end.name)) break;
      const cons = consumers.get(end.name) ?? [];
      if (cons.length !== 1 || cons[0].output !== 0 || cons[0].index !== 0) break;
      const next = cons[0].node;
      if (!PER_PIXEL_OPS.has(next.op) || claimedChainNodes.has(next)) break;
      end = next;
    }
    if ((consumers.get(end.name) ?? []).some((c) => c.output > 0)) {
      skip('the node after it has consumers of a second output');
      continue;
    }
    claimedChainNodes.add(end);
    node.attr = { ...node.attr, strides: { list: { i: ['1', '1', '1', '1'] } } };
    let constName = blurConsts.get(channels);
    if (constName === undefined) {
      constName = fresh(`shiftbench_aa/blur${b}_c${channels}`);
      blurConsts.set(channels, constName);
      const data = new Float32Array(b * b * channels);
      for (let y = 0; y < b; y++)
        for (let x = 0; x < b; x++)
          for (let c = 0; c < channels; c++) data[(y * b + x) * channels + c] = filter[y * b + x];
      newWeights.push({ spec: { name: constName, shape: [b, b, channels, 1], dtype: 'float32' }, data });
      const constNode: TfNode = {
        name: constName,
        op: 'Const',
        attr: {
          value: {
            tensor: {
              dtype: 'DT_FLOAT',
              tensorShape: {
                dim: [{ size: String(b) }, { size: String(b) }, { size: String(channels) }, { size: '1' }],
              },
            },
          },
          dtype: { type: 'DT_FLOAT' },
        },
      };
      newNodes.push(constNode);
      byName.set(constName, constNode);
      weightShapes.set(constName, [b, b, channels, 1]);
    }
    const original = end.name;
    const pre = fresh(`${original}/shiftbench_aa_pre`);
    end.name = pre;
    byName.set(pre, end);
    const blurAttr: Record<string, TfAttr> = {
      T: { type: 'DT_FLOAT' },
      strides: { list: { i: ['1', '2', '2', '1'] } },
      data_format: { s: b64('NHWC') },
      dilations: { list: { i: ['1', '1', '1', '1'] } },
    };
    if (alignY === 'end') blurAttr.padding = { s: b64('SAME') };
    else {
      blurAttr.padding = { s: b64('EXPLICIT') };
      blurAttr.explicit_paddings = { list: { i: ['0', '0', String(q), String(q), String(q), String(q), '0', '0'] } };
    }
    const blurNode: TfNode = { name: original, op: 'DepthwiseConv2dNative', input: [pre, constName], attr: blurAttr };
    byName.set(original, blurNode);
    newNodes.push(blurNode);
    stats.rewritten.push({
      node: node.name === pre ? original : node.name,
      op: node.op,
      channels,
      blurAfter: original,
      alignment: alignY,
    });
  }
  if (stats.rewritten.length === 0) return { modelJson: json, weights, stats };
  nodes.push(...newNodes);
  if (manifest.length === 0) manifest.push({ paths: [], weights: [] });
  const last = manifest[manifest.length - 1];
  last.weights = [...(last.weights ?? []), ...newWeights.map((w) => w.spec)];
  json.weightsManifest = manifest;
  let extra = 0;
  for (const w of newWeights) extra += w.data.byteLength;
  const out = new Uint8Array(weights.byteLength + extra);
  out.set(new Uint8Array(weights), 0);
  let o = weights.byteLength;
  for (const w of newWeights) {
    out.set(new Uint8Array(w.data.buffer, w.data.byteOffset, w.data.byteLength), o);
    o += w.data.byteLength;
  }
  return { modelJson: json, weights: out.buffer, stats };
}
