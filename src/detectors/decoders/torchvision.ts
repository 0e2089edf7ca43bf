/**
 * torchvision detection models exported to ONNX: boxes [N, 4] (x1, y1, x2, y2 in input
 * pixels), labels [N] (int64) and scores [N], for one image (a leading batch dim of 1 is
 * accepted). The model has already applied its own NMS, so no NMS runs here unless
 * `params.iouThreshold` is given. `params.labels`: 'category-id' (labels are COCO
 * category ids, torchvision's convention) or 'class-index' (0-based into the classes);
 * labels outside the classes are dropped, a label that is not a whole number (float labels
 * of another output, say) is ERR_MODEL_OUTPUT.
 * `params.clipBoxes: false` keeps boxes past the input border (a model exactly equivariant
 * to circular shifts reports an object that wraps around whole; clipping would cut it).
 * Outputs are found by name (boxes / labels / scores) or else by shape and type.
 */
import { ShiftbenchError } from '../../core/errors.js';
import { ParamReader } from './params.js';
import {
  emptyCandidates,
  numAt,
  outputMismatch,
  splitBatch,
  type Candidates,
  type Decoder,
  type DecoderFactory,
  type RawOutput,
} from './types.js';

function pick(outputs: RawOutput[], name: string, test: (o: RawOutput) => boolean): RawOutput | undefined {
  return outputs.find((o) => o.name.toLowerCase().includes(name)) ?? outputs.find(test);
}

export const createTorchvisionDecoder: DecoderFactory = (params) => {
  const p = new ParamReader('torchvision', params, ['labels', 'clipBoxes']);
  const common = p.common({ iouThreshold: null, preNmsTopK: 1000 });
  const labels = p.oneOf('labels', ['category-id', 'class-index'] as const, 'category-id');
  const clipBoxes = p.bool('clipBoxes', true);
  const decoder: Decoder = {
    name: 'torchvision',
    nmsIouThreshold: common.iouThreshold,
    preNmsTopK: common.preNmsTopK,
    topK: common.topK,
    clipBoxes,
    params: { ...common, labels, clipBoxes },
    decode(outputs, ctx) {
      const expected = 'three outputs for one image: boxes [N,4] float (x1,y1,x2,y2), labels [N] int, scores [N] float';
      if (ctx.batchSize !== 1)
        throw new ShiftbenchError(
          'ERR_MODEL_OUTPUT',
          `decoder "torchvision" handles one image per call, got a batch of ${ctx.batchSize}`,
        );
      const isInt = (o: RawOutput) => o.data instanceof BigInt64Array || o.data instanceof Int32Array;
      const boxesOut = pick(outputs, 'box', (o) => o.dims[o.dims.length - 1] === 4 && !isInt(o));
      const labelsOut = pick(outputs, 'label', (o) => isInt(o));
      const scoresOut = pick(outputs, 'score', (o) => o !== boxesOut && o !== labelsOut && !isInt(o));
      if (outputs.length !== 3 || !boxesOut || !labelsOut || !scoresOut)
        throw outputMismatch('torchvision', expected, outputs);
      const b = splitBatch(boxesOut, 2, 1);
      const l = splitBatch(labelsOut, 1, 1);
      const s = splitBatch(scoresOut, 1, 1);
      if (!b || !l || !s || b.dims[1] !== 4 || l.dims[0] !== b.dims[0] || s.dims[0] !== b.dims[0])
        throw outputMismatch('torchvision', expected, outputs);
      const n = b.dims[0];
      const indexOfCategory = new Map(ctx.categoryIds.map((id, i) => [id, i]));
      const out: Candidates = emptyCandidates();
      const boxes = b.views[0];
      for (let i = 0; i < n; i++) {
        const score = numAt(s.views[0], i);
        if (!(score >= ctx.scoreThreshold)) continue;
        const label = numAt(l.views[0], i);
        if (!Number.isInteger(label))
          throw new ShiftbenchError(
            'ERR_MODEL_OUTPUT',
            `decoder "torchvision": output "${labelsOut.name}" holds ${label} at index ${i}, not an integer class ` +
              `label; the labels output must hold ${labels === 'category-id' ? 'category ids' : 'class indices'} ` +
              '(check which output the model names "labels", and params.labels).',
          );
        const classIndex = labels === 'category-id' ? indexOfCategory.get(label) : label;
        // ids outside the class list (torchvision's "N/A" slots, background 0) are dropped
        if (classIndex === undefined || classIndex < 0 || classIndex >= ctx.numClasses) continue;
        out.boxesXYXY.push(
          numAt(boxes, 4 * i),
          numAt(boxes, 4 * i + 1),
          numAt(boxes, 4 * i + 2),
          numAt(boxes, 4 * i + 3),
        );
        out.scores.push(score);
        out.classIndices.push(classIndex);
      }
      return [out];
    },
  };
  return decoder;
};
