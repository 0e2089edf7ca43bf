/**
 * Input validation of bounds case files (protocol §4; `shiftbench bounds --case`): malformed detections and ground
 * truth are refused with ERR_METRICS_INPUT naming the field, never scored as something else.
 */
import { describe, expect, it } from 'vitest';
import { ShiftbenchError } from '../../src/core/errors.js';
import { parseBoundsCase } from '../../src/metrics/index.js';

const ann = (id: number, imageId: number, bbox: number[]) => ({
  id,
  image_id: imageId,
  category_id: 1,
  bbox,
  area: bbox[2] * bbox[3],
  iscrowd: 0,
});
const gt = () => ({
  images: [{ id: 1 }, { id: 2 }],
  categories: [{ id: 1 }],
  annotations: [ann(1, 1, [0, 0, 10, 10]), ann(2, 2, [0, 0, 10, 10])],
});
const det = (imageId: number, bbox: number[], score: number) => ({ image_id: imageId, category_id: 1, bbox, score });
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
});
