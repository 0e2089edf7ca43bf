/**
 * The TF.js adapter's load-time batch probe on a hand-made graph whose batch dim is
 * dynamic and that runs batched, but whose outputs mix the images of a batch (it adds a
 * share of each image's difference from the batch mean, as BatchNorm exported in
 * training mode does). Two identical images hide that; two different ones do not.
 *
 * Graph: x float [-1,2,2,3] → Reshape [-1,2,6] → r; out = det + scale·(r − mean over the
 * batch of r), scale 0.001 for the box and score columns and 0 for the class one, named
 * tower_0/detections, read by the centernet-detections decoder.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import type { Detection, ModelEntry, RgbImage } from '../../../src/core/types.js';
import { loadTfjsDetector } from '../../../src/detectors/tfjs/index.js';
import { concatShard, constNode, dims } from './fakeGraph.js';

const DET = [0.1, 0.2, 1.5, 1.8, 0.9, 0, 0.5, 0.5, 1.9, 1.9, 0.6, 2];

function writeMixingGraph(dir: string): void {
  const det = Float32Array.from(DET);
  const shape = Int32Array.from([-1, 2, 6]);
  const axis = Int32Array.from([0]);
  // the class column (5) is left alone: the decoder refuses a class that is not an integer index
  const scale = Float32Array.from([0.001, 0.001, 0.001, 0.001, 0.001, 0]);
  const shard = concatShard([det, shape, axis, scale]);
  const F = { T: { type: 'DT_FLOAT' } };
  const modelJson = {
    format: 'graph-model',
    generatedBy: 'shiftbench test',
    convertedBy: 'hand-made',
    modelTopology: {
      node: [
        { name: 'x', op: 'Placeholder', attr: { dtype: { type: 'DT_FLOAT' }, shape: { shape: dims([-1, 2, 2, 3]) } } },
        constNode('det', 'DT_FLOAT', [1, 2, 6]),
        constNode('shape', 'DT_INT32', [3]),
        constNode('axis', 'DT_INT32', [1]),
        constNode('scale', 'DT_FLOAT', [6]),
        { name: 'r', op: 'Reshape', input: ['x', 'shape'], attr: { ...F, Tshape: { type: 'DT_INT32' } } },
        {
          name: 'm',
          op: 'Mean',
          input: ['r', 'axis'],
          attr: { ...F, keep_dims: { b: true }, Tidx: { type: 'DT_INT32' } },
        },
        { name: 'd', op: 'Sub', input: ['r', 'm'], attr: F },
        { name: 's', op: 'Mul', input: ['d', 'scale'], attr: F },
        { name: 'tower_0/detections', op: 'AddV2', input: ['det', 's'], attr: F },
      ],
      library: {},
      versions: { producer: 1 },
    },
    weightsManifest: [
      {
        paths: ['group1-shard1of1.bin'],
        weights: [
          { name: 'det', shape: [1, 2, 6], dtype: 'float32' },
          { name: 'shape', shape: [3], dtype: 'int32' },
          { name: 'axis', shape: [1], dtype: 'int32' },
          { name: 'scale', shape: [6], dtype: 'float32' },
        ],
      },
    ],
  };
  writeFileSync(path.join(dir, 'model.json'), JSON.stringify(modelJson));
  writeFileSync(path.join(dir, 'group1-shard1of1.bin'), shard);
}

const tmp = mkdtempSync(path.join(os.tmpdir(), 'sb-tfjs-mix-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

it('a TF.js graph whose batch gives other detections than one input per call runs one input per call, and says so', async () => {
  writeMixingGraph(tmp);
  const entry: ModelEntry = {
    name: 'mixing-graph',
    family: { stages: 'one-stage', anchors: 'anchor-free' },
    format: 'tfjs-graph',
    source: { kind: 'path', dir: tmp },
    files: [
      { name: 'model.json', sha256: null },
      { name: 'group1-shard1of1.bin', sha256: null },
    ],
    inputSizePx: { width: 2, height: 2 },
    layout: 'NHWC',
    colorOrder: 'RGB',
    normalize: { mean: [0, 0, 0], std: [1, 1, 1] },
    fit: 'stretch',
    decoder: { name: 'centernet-detections' },
    classes: 'coco80',
  } as unknown as ModelEntry;
  const logs: string[] = [];
  const det = await loadTfjsDetector(entry, tmp, {
    backend: 'wasm',
    logger: { info: (m) => logs.push(m), warn: (m) => logs.push(m) },
  });
  try {
    const imgs: RgbImage[] = [0, 255, 90].map((v) => ({ width: 2, height: 2, data: new Uint8Array(12).fill(v) }));
    const single: Detection[][] = [];
    for (const im of imgs) single.push(...(await det.detect([im])));
    expect(det.info.maxBatch).toBe(1);
    expect(logs.join('\n')).toContain(
      'TF.js model "mixing-graph" declares a dynamic batch size but a batch of 2 gives other detections than one input per call; running one image per call',
    );
    expect(await det.detect(imgs)).toEqual(single);
  } finally {
    await det.dispose();
  }
});
