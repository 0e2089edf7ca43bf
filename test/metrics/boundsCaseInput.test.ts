/**
 * Input validation of bounds case files (protocol §4; `shiftbench bounds --case`): malformed detections and ground
 * truth are refused with ERR_METRICS_INPUT naming the field, never scored as something else.
 */
import { describe, expect, it } from 'vitest';
import { ShiftbenchError } from '../../src/core/errors.js';
import type { BoxXYWH, CocoGroundTruth } from '../../src/core/types.js';
import { ShiftEvaluator, parseBoundsCase } from '../../src/metrics/index.js';

const ann = (id: number, imageId: number, bbox: number[]) => ({
  id,
  image_id: imageId,
  category_id: 1,
  bbox: bbox as BoxXYWH,
  area: bbox[2] * bbox[3],
  iscrowd: 0 as const,
});
const gt = (): CocoGroundTruth => ({
  images: [
    { id: 1, file_name: '1.png', width: 100, height: 100 },
    { id: 2, file_name: '2.png', width: 100, height: 100 },
  ],
  categories: [{ id: 1, name: 'a' }],
  annotations: [ann(1, 1, [0, 0, 10, 10]), ann(2, 2, [0, 0, 10, 10])],
});
const det = (imageId: number, bbox: number[], score: number) => ({
  image_id: imageId,
  category_id: 1,
  bbox: bbox as BoxXYWH,
  score,
});
const caseWith = (over: Record<string, unknown>) => ({
  gt: gt(),
  shifts: [
    [0, 0],
    [1, 0],
  ],
  dets: [[det(1, [0, 0, 10, 10], 0.9)], [det(1, [5, 5, 10, 10], 0.9)]],
  ...over,
});

function refusal(json: unknown): string {
  try {
    parseBoundsCase(json);
  } catch (e) {
    expect(e).toBeInstanceOf(ShiftbenchError);
    expect((e as ShiftbenchError).code).toBe('ERR_METRICS_INPUT');
    return (e as ShiftbenchError).message;
  }
  throw new Error('expected the case to be refused');
}

describe('bounds case files: malformed detections are refused', () => {
  it('a detection without a numeric category_id is refused (it was silently left out of every shift)', () => {
    const noCat = { image_id: 1, bbox: [0, 0, 10, 10], score: 0.9 };
    expect(refusal(caseWith({ dets: [[noCat], []] }))).toBe(
      'Expected a finite number for detections of shift 0[0].category_id but received undefined',
    );
    const strCat = { ...det(1, [0, 0, 10, 10], 0.9), category_id: '1' };
    expect(refusal(caseWith({ dets: [[], [strCat]] }))).toBe(
      'Expected a finite number for detections of shift 1[0].category_id but received "1"',
    );
    // a category the ground truth does not have stays allowed (pycocotools leaves it out)
    expect(() =>
      parseBoundsCase(caseWith({ dets: [[{ ...det(1, [0, 0, 10, 10], 0.9), category_id: 7 }], []] })),
    ).not.toThrow();
  });
  it('a box with a negative width or height is refused (it was accepted and scored; the dataset loader refuses it)', () => {
    expect(refusal(caseWith({ dets: [[det(1, [10, 0, -10, 10], 0.9)], []] }))).toBe(
      'Expected [x, y, width, height] with width and height ≥ 0 for detections of shift 0[0].bbox but received ' +
        '[10, 0, -10, 10] (COCO boxes are x, y, width, height — not x1, y1, x2, y2)',
    );
    const g = gt();
    g.annotations[1].bbox = [0, 10, 10, -10];
    expect(refusal(caseWith({ gt: [gt(), g] }))).toBe(
      'Expected [x, y, width, height] with width and height ≥ 0 for gt[1].annotations[1].bbox but received ' +
        '[0, 10, 10, -10] (COCO boxes are x, y, width, height — not x1, y1, x2, y2)',
    );
    // an empty box (width or height 0) stays allowed
    expect(() => parseBoundsCase(caseWith({ dets: [[det(1, [0, 0, 0, 10], 0.9)], []] }))).not.toThrow();
    // the evaluator refuses it when it is given, not after the search when the breakdowns score it
    const ev = new ShiftEvaluator({
      shifts: [
        { dx: 0, dy: 0 },
        { dx: 1, dy: 0 },
      ],
      groundTruth: gt(),
    });
    expect(() =>
      ev.process({ imageId: 1, shiftIndex: 0, inputScale: { x: 1, y: 1 } }, [det(1, [10, 0, -10, 10], 0.9)]),
    ).toThrow(
      'Expected a width and height ≥ 0 for the bbox of detection 0 of image 1 at shift 0 but received [10, 0, -10, 10]',
    );
  });
});

describe('bounds case files: malformed ground truth is refused', () => {
  it('a duplicate image id is refused (its two entries were merged into one image)', () => {
    const g = gt();
    g.images.push({ id: 2, file_name: 'other.png', width: 50, height: 50 });
    expect(refusal(caseWith({ gt: g }))).toBe('Expected each image id once in gt.images but images[2] repeats id 2');
  });
  it('a duplicate annotation id is refused (pycocotools loads the last annotation of that id for both)', () => {
    const g = gt();
    g.annotations[1].id = 1;
    expect(refusal(caseWith({ gt: [gt(), g] }))).toBe(
      'Expected each annotation id once in gt[1].annotations but annotations[1] repeats id 1',
    );
  });
});
