/**
 * antialias:post for ONNX models: rewrites a serialized ModelProto (Uint8Array →
 * Uint8Array). Each Conv / MaxPool / AveragePool with strides [2, 2] becomes its
 * stride-1 version followed by a depthwise blur Conv (group = channels, weights = the
 * normalised binomial filter as a new float initializer, strides 2), placed and padded
 * as antialiasPlan.ts explains.
 *
 * Surgery is done on raw protobuf fields: the ModelProto and GraphProto are split into
 * fields, only changed nodes are re-encoded, new nodes are inserted right after the
 * node whose output they blur (keeping topological order), new initializers are
 * appended, and value_info entries of tensors whose shape changed are dropped. Every
 * other field, known to our schema or not, is kept byte for byte.
 *
 * Channel count of a blur: for a Conv, the weight initializer's dims[0]; otherwise the
 * tensor's shape in value_info / graph inputs, else traced back through the producing
 * ops (per-pixel ops keep channels, Concat on axis 1 sums, Conv gives its weight's
 * dims[0], Reshape to a constant shape gives shape[1]). An op whose channel count
 * cannot be found this way is left unchanged and listed in `stats.skipped`, as is every
 * other op with a stride > 1 (LpPool, QLinearConv, ConvInteger, ops of other domains…;
 * not ConvTranspose, whose stride upsamples).
 */
import { ShiftbenchError } from '../../core/errors.js';
import { blurFilter2d, type BlurSize } from '../blurKernel.js';
import { samplingAlignment, type Alignment, type AntialiasRewriteStats, type PadScheme } from '../antialiasPlan.js';
import { concatBytes, lengthDelimited, splitFields, type RawField } from './raw.js';
import {
  AttrType,
  DataType,
  FIELD,
  ModelProto,
  NodeProto,
  TensorProto,
  TO_OBJECT,
  ValueInfoProto,
  type OnnxAttribute,
  type OnnxNode,
  type OnnxTensor,
  type OnnxValueInfo,
} from './schema.js';

export interface OnnxAntialiasOptions {
  /** Blur size: 3 ([1,2,1]) or 5 ([1,4,6,4,1]); 1 = no blur (plain subsampling, for baselines and tests). Default 3. */
  filterSize?: BlurSize;
}

const STRIDED_OPS = new Set(['Conv', 'MaxPool', 'AveragePool']);
/** Per-pixel ops the blur may move past (they keep shape and channels). */
const PER_PIXEL_OPS = new Set([
  'Relu',
  'LeakyRelu',
  'Clip',
  'Sigmoid',
  'HardSigmoid',
  'HardSwish',
  'Elu',
  'Selu',
  'Tanh',
  'Softplus',
  'BatchNormalization',
  'Identity',
]);
/** Ops whose output has the channel count of their first input. */
const CHANNEL_KEEPING_OPS = new Set([
  ...PER_PIXEL_OPS,
  'PRelu',
  'MaxPool',
  'AveragePool',
  'GlobalAveragePool',
  'GlobalMaxPool',
  'Dropout',
  'Pad',
  'Resize',
  'Upsample',
  'InstanceNormalization',
  'LRN',
  'Softsign',
  'Abs',
  'Neg',
  'Exp',
  'Log',
  'Sqrt',
  'Reciprocal',
  'Cast',
  'Mish',
  'Gelu',
  'Celu',
  'ThresholdedRelu',
]);
const BROADCAST_BINARY_OPS = new Set(['Add', 'Sub', 'Mul', 'Div', 'Max', 'Min', 'Sum', 'Pow', 'Mean']);

function attr(node: OnnxNode, name: string): OnnxAttribute | undefined {
  return node.attribute.find((a) => a.name === name);
}
function attrInts(node: OnnxNode, name: string): number[] | undefined {
  const a = attr(node, name);
  return a?.ints && a.ints.length > 0 ? a.ints.map(Number) : undefined;
}
function attrInt(node: OnnxNode, name: string, dflt: number): number {
  const a = attr(node, name);
  return a?.i !== undefined ? Number(a.i) : dflt;
}
function attrString(node: OnnxNode, name: string): string | undefined {
  const a = attr(node, name);
  return a?.s ? new TextDecoder().decode(a.s) : undefined;
}
function setAttrInts(node: OnnxNode, name: string, ints: number[]): void {
  const a = attr(node, name);
  if (a) {
    a.ints = ints;
    a.type = AttrType.INTS;
  } else node.attribute.push({ name, type: AttrType.INTS, ints });
}
function intsAttr(name: string, ints: number[]): OnnxAttribute {
  return { name, type: AttrType.INTS, ints };
}
function intAttr(name: string, i: number): OnnxAttribute {
  return { name, type: AttrType.INT, i };
}
function stringAttr(name: string, s: string): OnnxAttribute {
  return { name, type: AttrType.STRING, s: new TextEncoder().encode(s) };
}

function padScheme(node: OnnxNode): PadScheme | undefined {
  const autoPad = attrString(node, 'auto_pad') ?? 'NOTSET';
  if (autoPad === 'NOTSET' || autoPad === '') return 'explicit';
  if (autoPad === 'VALID') return 'valid';
  if (autoPad === 'SAME_UPPER') return 'same-upper';
  if (autoPad === 'SAME_LOWER') return 'same-lower';
  return undefined;
}

/**
 * Per axis [y, x]: 1 where a ceil_mode op has one output more than floor mode would give for some input size, else 0.
 * With auto_pad SAME_* the count is ceil(n / stride) either way. Otherwise, with L the stride-1 output count, ceil mode
 * adds an output only when L − 1 is odd, and that last window starts at L − padBegin = n + padEnd − K + 1 (K the
 * effective kernel), which ONNX drops when it starts in the end padding (≥ n): when padEnd ≥ K − 1 no output is added
 * for any n. Where one is added, a blur with one more zero at the end gives ⌊L / 2⌋ + 1 outputs, the ceil count.
 */
function ceilModeExtra(node: OnnxNode, scheme: PadScheme, effectiveKernel: [number, number]): [number, number] {
  if (attrInt(node, 'ceil_mode', 0) !== 1 || scheme === 'same-upper' || scheme === 'same-lower') return [0, 0];
  const pads = scheme === 'explicit' ? (attrInts(node, 'pads') ?? [0, 0, 0, 0]) : [0, 0, 0, 0];
  return [pads[2] < effectiveKernel[0] - 1 ? 1 : 0, pads[3] < effectiveKernel[1] - 1 ? 1 : 0];
}

interface GraphIndex {
  initializers: Map<string, OnnxTensor>;
  shapes: Map<string, number[]>;
  producer: Map<string, OnnxNode>;
  consumers: Map<string, OnnxNode[]>;
  graphOutputs: Set<string>;
}

function shapeOf(vi: OnnxValueInfo): number[] | undefined {
  const dims = vi.type?.tensor_type?.shape?.dim;
  if (!dims) return undefined;
  return dims.map((d) => (d.dim_value !== undefined && Number(d.dim_value) > 0 ? Number(d.dim_value) : -1));
}

function int64Values(t: OnnxTensor): number[] | undefined {
  if (t.int64_data && t.int64_data.length > 0) return t.int64_data.map(Number);
  if (t.raw_data && t.data_type === DataType.INT64) {
    const view = new DataView(t.raw_data.buffer, t.raw_data.byteOffset, t.raw_data.byteLength);
    const out: number[] = [];
    for (let o = 0; o + 8 <= t.raw_data.byteLength; o += 8) out.push(Number(view.getBigInt64(o, true)));
    return out;
  }
  return undefined;
}

/** Channel count (dim 1 of an NCHW tensor) of `name`, or undefined if it cannot be found (see the module comment). */
/**
 * The 4-D weight of a Conv: its initializer, or the value of the Constant node that makes it; undefined when neither
 * (a weight computed at run time).
 */
function convWeight(conv: OnnxNode, g: GraphIndex): OnnxTensor | undefined {
  const name = conv.input[1];
  if (name === undefined) return undefined;
  const init = g.initializers.get(name);
  if (init) return init.dims.length === 4 ? init : undefined;
  const p = g.producer.get(name);
  if (!p || p.op_type !== 'Constant' || (p.domain ?? '') !== '') return undefined;
  const t = attr(p, 'value')?.t as OnnxTensor | undefined;
  return t && t.dims.length === 4 ? t : undefined;
}

function channelsOf(name: string, g: GraphIndex, memo: Map<string, number | undefined>, depth = 0): number | undefined {
  if (memo.has(name)) return memo.get(name);
  if (depth > 2000) return undefined;
  memo.set(name, undefined); // guards cycles
  let c: number | undefined;
  const shape = g.shapes.get(name);
  const init = g.initializers.get(name);
  if (shape && shape.length === 4 && shape[1] > 0) c = shape[1];
  else if (init) c = init.dims.length >= 3 ? Number(init.dims[init.dims.length - 3]) : 1;
  else {
    const p = g.producer.get(name);
    if (p && (p.domain ?? '') === '') {
      const op = p.op_type;
      const weight = p.input[1] !== undefined ? g.initializers.get(p.input[1]) : undefined;
      const convW = op === 'Conv' ? convWeight(p, g) : undefined;
      if (convW) c = Number(convW.dims[0]);
      else if (op === 'ConvTranspose' && weight && weight.dims.length === 4)
        c = Number(weight.dims[1]) * attrInt(p, 'group', 1);
      else if (CHANNEL_KEEPING_OPS.has(op) && p.output[0] === name) c = channelsOf(p.input[0], g, memo, depth + 1);
      else if (BROADCAST_BINARY_OPS.has(op)) {
        let best: number | undefined;
        for (const inp of p.input) {
          const ci = inp === '' ? undefined : channelsOf(inp, g, memo, depth + 1);
          if (ci !== undefined && (best === undefined || ci > best)) best = ci;
        }
        c = best;
      } else if (op === 'Concat' && [1, -3].includes(attrInt(p, 'axis', 1))) {
        let sum = 0;
        for (const inp of p.input) {
          const ci = channelsOf(inp, g, memo, depth + 1);
          if (ci === undefined) {
            sum = NaN;
            break;
          }
          sum += ci;
        }
        c = Number.isNaN(sum) ? undefined : sum;
      } else if (op === 'Reshape' && p.input[1] !== undefined) {
        const target = g.initializers.get(p.input[1]);
        const dims = target ? int64Values(target) : undefined;
        if (dims && dims.length === 4)
          c = dims[1] > 0 ? dims[1] : dims[1] === 0 ? channelsOf(p.input[0], g, memo, depth + 1) : undefined;
      } else if (op === 'Transpose') {
        const perm = attrInts(p, 'perm');
        if (perm && perm[1] === 1) c = channelsOf(p.input[0], g, memo, depth + 1);
      }
    }
  }
  memo.set(name, c);
  return c;
}

interface Plan {
  node: OnnxNode;
  channels: number;
  alignment: Alignment;
  /**
   * The blur's extra end padding [y, x] for a ceil_mode pool: 1 on an axis where ceil_mode adds an output (explicit or
   * VALID padding, and the last window does not start in the end padding), else 0.
   */
  ceilExtra: [number, number];
  /** The last node of the per-pixel chain; the blur goes after it. */
  chainEnd: OnnxNode;
  /** Tensors whose shape changes (value_info entries to drop). */
  changed: string[];
}

/** Whether an op subsamples: a stride > 1, except the transposed convolutions, whose stride upsamples. */
function subsamples(node: OnnxNode): boolean {
  const strides = attrInts(node, 'strides') ?? [1, 1];
  return strides.some((v) => v > 1) && !node.op_type.includes('ConvTranspose');
}

function nodeLabel(node: OnnxNode): string {
  return node.name || node.output[0];
}

/** The op type, prefixed by its domain outside the default one (com.microsoft.FusedConv). */
function qualifiedOp(node: OnnxNode): string {
  const domain = node.domain ?? '';
  return domain === '' || domain === 'ai.onnx' ? node.op_type : `${domain}.${node.op_type}`;
}

/** Counts the subsampling ops inside a node's subgraph attributes (nested ones too) as strided ops left unchanged. */
function skipSubgraphStridedOps(node: OnnxNode, stats: AntialiasRewriteStats): void {
  for (const a of node.attribute) {
    const graphs = [a.g, ...((a.graphs as unknown[] | undefined) ?? [])].filter(
      (x): x is { node?: OnnxNode[] } => typeof x === 'object' && x !== null,
    );
    for (const sub of graphs) {
      for (const inner of sub.node ?? []) {
        const n: OnnxNode = {
          ...inner,
          input: inner.input ?? [],
          output: inner.output ?? [],
          attribute: inner.attribute ?? [],
        };
        skipSubgraphStridedOps(n, stats);
        if (!subsamples(n)) continue;
        stats.stridedOps++;
        stats.skipped.push({
          node: nodeLabel(n),
          op: qualifiedOp(n),
          reason: `inside the ${a.name} of ${node.op_type} "${nodeLabel(node)}" (subgraphs are not rewritten)`,
        });
      }
    }
  }
}

function decodeNode(payload: Uint8Array): OnnxNode {
  const n = NodeProto.toObject(NodeProto.decode(payload), TO_OBJECT) as OnnxNode;
  n.input ??= [];
  n.output ??= [];
  n.attribute ??= [];
  return n;
}

function encodeNode(node: OnnxNode): Uint8Array {
  return NodeProto.encode(NodeProto.fromObject(node)).finish();
}

function floatInitializer(name: string, dims: number[], values: Float32Array): Uint8Array {
  const raw = new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength));
  return TensorProto.encode(TensorProto.fromObject({ name, dims, data_type: DataType.FLOAT, raw_data: raw })).finish();
}

function onnxError(message: string, cause?: unknown): ShiftbenchError {
  return new ShiftbenchError('ERR_MODEL_LOAD', `antialias:post could not rewrite the ONNX model: ${message}`, {
    cause,
  });
}

/**
 * Rewrites an ONNX model for post-hoc anti-aliasing (see the module comment). Returns
 * the new model bytes and what was done. Throws ERR_MODEL_LOAD when the bytes are not
 * an ONNX model.
 */
export function rewriteOnnxAntialias(
  model: Uint8Array,
  options: OnnxAntialiasOptions = {},
): { model: Uint8Array; stats: AntialiasRewriteStats } {
  const b = options.filterSize ?? 3;
  const filter = blurFilter2d(b); // validates b
  const q = (b - 1) / 2;
  let modelFields: RawField[];
  try {
    modelFields = splitFields(model);
  } catch (err) {
    throw onnxError('the file is not a protobuf message', err);
  }
  const graphField = modelFields.find((f) => f.no === FIELD.MODEL_GRAPH && f.wire === 2);
  if (!graphField?.payload) throw onnxError('no graph in the ModelProto');
  let graphFields: RawField[];
  try {
    graphFields = splitFields(graphField.payload);
  } catch (err) {
    throw onnxError('the graph is not a valid GraphProto', err);
  }
  // Index the graph.
  const g: GraphIndex = {
    initializers: new Map(),
    shapes: new Map(),
    producer: new Map(),
    consumers: new Map(),
    graphOutputs: new Set(),
  };
  const nodes: { field: RawField; node: OnnxNode }[] = [];
  for (const f of graphFields) {
    if (!f.payload) continue;
    if (f.no === FIELD.GRAPH_NODE) {
      const node = decodeNode(f.payload);
      nodes.push({ field: f, node });
      for (const o of node.output) g.producer.set(o, node);
      for (const i of node.input) {
        if (i === '') continue;
        const list = g.consumers.get(i) ?? [];
        list.push(node);
        g.consumers.set(i, list);
      }
    } else if (f.no === FIELD.GRAPH_INITIALIZER) {
      const t = TensorProto.toObject(TensorProto.decode(f.payload), TO_OBJECT) as OnnxTensor;
      t.dims = (t.dims ?? []).map(Number);
      g.initializers.set(t.name, t);
    } else if (f.no === FIELD.GRAPH_INPUT || f.no === FIELD.GRAPH_OUTPUT || f.no === FIELD.GRAPH_VALUE_INFO) {
      const vi = ValueInfoProto.toObject(ValueInfoProto.decode(f.payload), TO_OBJECT) as OnnxValueInfo;
      const s = shapeOf(vi);
      if (s) g.shapes.set(vi.name, s);
      if (f.no === FIELD.GRAPH_OUTPUT) g.graphOutputs.add(vi.name);
    }
  }

  const stats: AntialiasRewriteStats = { format: 'onnx', filterSize: b, stridedOps: 0, rewritten: [], skipped: [] };
  const memo = new Map<string, number | undefined>();
  const plans = new Map<OnnxNode, Plan>();
  const chainEnds = new Map<OnnxNode, Plan[]>();
  const usedNames = new Set<string>([...g.producer.keys(), ...g.initializers.keys(), ...g.shapes.keys()]);
  for (const { node } of nodes) {
    // the bodies of If / Loop / Scan are not rewritten: their strided ops are counted and named as left unchanged
    skipSubgraphStridedOps(node, stats);
    if (!subsamples(node)) continue;
    stats.stridedOps++;
    const strides = attrInts(node, 'strides')!;
    const label = nodeLabel(node);
    const op = qualifiedOp(node);
    const skip = (reason: string) => stats.skipped.push({ node: label, op, reason });
    if (!STRIDED_OPS.has(op)) {
      skip(`${op} is not rewritten (only Conv, MaxPool and AveragePool)`);
      continue;
    }
    if (strides.length !== 2 || strides[0] !== 2 || strides[1] !== 2) {
      skip(`strides [${strides.join(', ')}] (only 2-D strides [2, 2] are rewritten)`);
      continue;
    }
    if (node.output.length > 1 && node.output.slice(1).some((o) => o !== '')) {
      skip('MaxPool with an indices output');
      continue;
    }
    const scheme = padScheme(node);
    if (!scheme) {
      skip(`auto_pad ${attrString(node, 'auto_pad')}`);
      continue;
    }
    const weight = node.op_type === 'Conv' ? convWeight(node, g) : undefined;
    const kernel =
      attrInts(node, 'kernel_shape') ??
      (weight && weight.dims.length === 4 ? [Number(weight.dims[2]), Number(weight.dims[3])] : undefined);
    if (!kernel || kernel.length !== 2) {
      skip('unknown 2-D kernel shape');
      continue;
    }
    const dil = attrInts(node, 'dilations') ?? [1, 1];
    const alignY = samplingAlignment(scheme, (kernel[0] - 1) * dil[0] + 1);
    const alignX = samplingAlignment(scheme, (kernel[1] - 1) * dil[1] + 1);
    if (alignY !== alignX) {
      skip('different sampling alignment in y and x');
      continue;
    }
    if (alignY === 'end' && b === 1) {
      skip('filter size 1 cannot reproduce end-aligned (SAME) sampling');
      continue;
    }
    // the blur runs on the op's output: a Conv's output channels (its weight's, else its output's traced count), a
    // pooling op's are its input's
    const channels =
      node.op_type === 'Conv'
        ? weight
          ? Number(weight.dims[0])
          : channelsOf(node.output[0], g, memo)
        : channelsOf(node.input[0], g, memo);
    if (channels === undefined || !(channels > 0)) {
      skip('channel count unknown (no value_info, not traceable to a Conv weight)');
      continue;
    }
    // Follow the per-pixel chain after the op.
    const changed: string[] = [];
    let end = node;
    for (;;) {
      const t = end.output[0];
      if (g.graphOutputs.has(t)) break;
      const cons = g.consumers.get(t) ?? [];
      if (cons.length !== 1) break;
      const next = cons[0];
      if (
        !PER_PIXEL_OPS.has(next.op_type) ||
        (next.domain ?? '') !== '' ||
        next.input[0] !== t ||
        next.input.slice(1).includes(t)
      )
        break;
      if (next.output.filter((o) => o !== '').length !== 1 || plans.has(next)) break;
      changed.push(t);
      end = next;
    }
    const plan: Plan = {
      node,
      channels,
      alignment: alignY,
      ceilExtra: ceilModeExtra(node, scheme, [(kernel[0] - 1) * dil[0] + 1, (kernel[1] - 1) * dil[1] + 1]),
      chainEnd: end,
      changed,
    };
    plans.set(node, plan);
    chainEnds.set(end, [...(chainEnds.get(end) ?? []), plan]);
  }

  // Emit the new graph.
  const dropValueInfo = new Set<string>();
  const newInitializers: Uint8Array[] = [];
  const emitted = new Map<RawField, Uint8Array[]>();
  const blurWeights = new Map<number, string>();
  const fresh = (base: string): string => {
    let name = base;
    for (let k = 1; usedNames.has(name); k++) name = `${base}_${k}`;
    usedNames.add(name);
    return name;
  };
  for (const { field, node } of nodes) {
    const plan = plans.get(node);
    const ends = chainEnds.get(node);
    if (!plan && !ends) continue;
    const out: Uint8Array[] = [];
    if (plan) {
      setAttrInts(node, 'strides', [1, 1]);
      for (const t of plan.changed) dropValueInfo.add(t);
    }
    const blurNodes: OnnxNode[] = [];
    for (const p of ends ?? []) {
      const label = p.node.name || p.node.output[0];
      const target = node.output[0];
      const pre = fresh(`${target}__shiftbench_aa_pre`);
      node.output[0] = pre;
      let wName = blurWeights.get(p.channels);
      if (wName === undefined) {
        wName = fresh(`shiftbench_aa_blur${b}_c${p.channels}`);
        blurWeights.set(p.channels, wName);
        const w = new Float32Array(p.channels * b * b);
        for (let c = 0; c < p.channels; c++) w.set(filter, c * b * b);
        newInitializers.push(floatInitializer(wName, [p.channels, 1, b, b], w));
      }
      const attrs: OnnxAttribute[] = [
        intAttr('group', p.channels),
        intsAttr('kernel_shape', [b, b]),
        intsAttr('strides', [2, 2]),
      ];
      if (p.alignment === 'end') attrs.push(stringAttr('auto_pad', 'SAME_UPPER'));
      else {
        const [ey, ex] = p.ceilExtra;
        attrs.push(intsAttr('pads', [q, q, q + ey, q + ex]));
      }
      blurNodes.push({
        input: [pre, wName],
        output: [target],
        name: fresh(`${label}__shiftbench_blur${b}`),
        op_type: 'Conv',
        attribute: attrs,
      });
      stats.rewritten.push({
        node: label,
        op: p.node.op_type,
        channels: p.channels,
        blurAfter: node.name || target,
        alignment: p.alignment,
      });
    }
    out.push(lengthDelimited(FIELD.GRAPH_NODE, encodeNode(node)));
    // several plans ending on one node (cannot happen with single-consumer chains, but keep order right): innermost
    // first
    for (const bn of blurNodes.reverse()) out.push(lengthDelimited(FIELD.GRAPH_NODE, encodeNode(bn)));
    emitted.set(field, out);
  }
  if (stats.rewritten.length === 0) return { model, stats };

  const graphParts: Uint8Array[] = [];
  for (const f of graphFields) {
    const repl = emitted.get(f);
    if (repl) graphParts.push(...repl);
    else if (
      f.no === FIELD.GRAPH_VALUE_INFO &&
      f.payload &&
      dropValueInfo.has((ValueInfoProto.decode(f.payload) as unknown as { name: string }).name)
    )
      continue;
    else graphParts.push(f.bytes);
  }
  for (const init of newInitializers) graphParts.push(lengthDelimited(FIELD.GRAPH_INITIALIZER, init));
  const newGraph = concatBytes(graphParts);
  const modelParts = modelFields.map((f) =>
    f === graphField ? lengthDelimited(FIELD.MODEL_GRAPH, newGraph) : f.bytes,
  );
  return { model: concatBytes(modelParts), stats };
}

/** Encodes a ModelProto from a plain object (used to build small models in tests and tools). */
export function encodeOnnxModel(obj: Record<string, unknown>): Uint8Array {
  const err = ModelProto.verify(obj);
  if (err) throw new ShiftbenchError('ERR_INTERNAL', `bad ONNX model object: ${err}`);
  return ModelProto.encode(ModelProto.fromObject(obj)).finish();
}

/** Decodes the nodes of a serialized ONNX model (op_type, inputs, outputs, attributes), for tests and reports. */
export function onnxNodes(model: Uint8Array): OnnxNode[] {
  const graph = splitFields(model).find((f) => f.no === FIELD.MODEL_GRAPH && f.payload);
  if (!graph?.payload) return [];
  return splitFields(graph.payload)
    .filter((f) => f.no === FIELD.GRAPH_NODE && f.payload)
    .map((f) => decodeNode(f.payload!));
}
