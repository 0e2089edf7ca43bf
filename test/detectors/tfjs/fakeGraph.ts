/**
 * A tiny hand-made TF.js graph model in the coco-ssd output layout, written to a folder
 * as model.json + one weight shard, so the TF.js loading path (files, manifest, int32
 * input, graph rewrite, decoding, tensor hygiene) is tested without downloaded weights.
 *
 * Graph: image_tensor int32 [-1,-1,-1,3] → Cast → Sum over H, W, C → × 0 → + scores_const
 * = scores [1, A, 90]; boxes_const → Identity = boxes [1, A, 1, 4]. The outputs therefore
 * equal the constants but depend on the input, as a real graph's do.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface FakeSsdSpec {
  /** [anchors][90] scores. */
  scores: number[][];
  /** [anchors] boxes as [ymin, xmin, ymax, xmax] fractions. */
  boxes: [number, number, number, number][];
}

/** One anchor's 90 class scores: the given columns, 0.0001 elsewhere. */
export const scoreRow = (cols: Record<number, number>): number[] =>
  Array.from({ length: 90 }, (_, j) => cols[j] ?? 0.0001);

/** person (column 0 → id 1) 0.9 and car (column 2 → id 3) 0.7 on two boxes. */
export const TWO_BOXES: FakeSsdSpec = {
  scores: [scoreRow({ 0: 0.9 }), scoreRow({ 2: 0.7 })],
  boxes: [
    [0.1, 0.2, 0.5, 0.6],
    [0.5, 0.5, 1.0, 0.9],
  ],
};

/** A TF.js graph TensorShape. */
export const dims = (shape: number[]) => ({ dim: shape.map((s) => ({ size: String(s) })) });

/** A Const node of a hand-made graph (its value comes from the weight shard). */
export const constNode = (name: string, dtype: string, shape: number[]) => ({
  name,
  op: 'Const',
  attr: { dtype: { type: dtype }, value: { tensor: { dtype, tensorShape: dims(shape) } } },
});

/** The bytes of typed arrays laid end to end: a weight shard in the order of its manifest. */
export function concatShard(parts: readonly (Float32Array | Int32Array)[]): Uint8Array {
  const shard = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let off = 0;
  for (const p of parts) {
    shard.set(new Uint8Array(p.buffer, p.byteOffset, p.byteLength), off);
    off += p.byteLength;
  }
  return shard;
}

/** Writes the fake model into `dir` (model.json + group1-shard1of1.bin); returns the shard's byte length. */
export function writeFakeSsdModel(dir: string, spec: FakeSsdSpec): number {
  const anchors = spec.scores.length;
  const scores = Float32Array.from(spec.scores.flat());
  const boxes = Float32Array.from(spec.boxes.flat());
  const axes = Int32Array.from([1, 2, 3]);
  const zero = Float32Array.from([0]);
  const shard = concatShard([scores, boxes, axes, zero]);
  const modelJson = {
    format: 'graph-model',
    generatedBy: 'shiftbench test',
    convertedBy: 'hand-made',
    modelTopology: {
      node: [
        {
          name: 'image_tensor',
          op: 'Placeholder',
          attr: { dtype: { type: 'DT_INT32' }, shape: { shape: dims([-1, -1, -1, 3]) } },
        },
        constNode('scores_const', 'DT_FLOAT', [1, anchors, 90]),
        constNode('boxes_const', 'DT_FLOAT', [1, anchors, 1, 4]),
        constNode('axes', 'DT_INT32', [3]),
        constNode('zero', 'DT_FLOAT', []),
        {
          name: 'as_float',
          op: 'Cast',
          input: ['image_tensor'],
          attr: { SrcT: { type: 'DT_INT32' }, DstT: { type: 'DT_FLOAT' } },
        },
        {
          name: 'total',
          op: 'Sum',
          input: ['as_float', 'axes'],
          attr: { T: { type: 'DT_FLOAT' }, keep_dims: { b: false }, Tidx: { type: 'DT_INT32' } },
        },
        { name: 'nothing', op: 'Mul', input: ['total', 'zero'], attr: { T: { type: 'DT_FLOAT' } } },
        {
          name: 'Postprocessor/convert_scores',
          op: 'AddV2',
          input: ['scores_const', 'nothing'],
          attr: { T: { type: 'DT_FLOAT' } },
        },
        {
          name: 'Postprocessor/ExpandDims_1',
          op: 'Identity',
          input: ['boxes_const'],
          attr: { T: { type: 'DT_FLOAT' } },
        },
      ],
      library: {},
      versions: { producer: 1 },
    },
    signature: {
      inputs: { image_tensor: { name: 'image_tensor:0', dtype: 'DT_INT32', tensorShape: dims([-1, -1, -1, 3]) } },
      outputs: {
        'Postprocessor/convert_scores': {
          name: 'Postprocessor/convert_scores:0',
          dtype: 'DT_FLOAT',
          tensorShape: dims([1, anchors, 90]),
        },
        'Postprocessor/ExpandDims_1': {
          name: 'Postprocessor/ExpandDims_1:0',
          dtype: 'DT_FLOAT',
          tensorShape: dims([1, anchors, 1, 4]),
        },
      },
    },
    weightsManifest: [
      {
        paths: ['group1-shard1of1.bin'],
        weights: [
          { name: 'scores_const', shape: [1, anchors, 90], dtype: 'float32' },
          { name: 'boxes_const', shape: [1, anchors, 1, 4], dtype: 'float32' },
          { name: 'axes', shape: [3], dtype: 'int32' },
          { name: 'zero', shape: [], dtype: 'float32' },
        ],
      },
    ],
  };
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'model.json'), JSON.stringify(modelJson));
  writeFileSync(path.join(dir, 'group1-shard1of1.bin'), shard);
  return shard.byteLength;
}
