/**
 * The gallery's "blinking objects" use the IoU rule of every other cross-shift matching (docs/protocol-choices.md:
 * IoU ≥ 0.5 up to MATCH_IOU_TOLERANCE): a detector that moves exactly with its input, its box at IoU 0.5 with an
 * object, has flipRate 0 and no blinking object — projecting back from each shift must not make it blink.
 */
import { describe, expect, it } from 'vitest';
import type { CocoAnnotation, CocoGroundTruth, CocoResult } from '../../src/core/types.js';
import { foundPerObject } from '../../src/report/index.js';
import { computeConsistency, iouXYWH } from '../../src/metrics/consistency.js';
import { boxToInput, boxToOriginal } from '../../src/shifts/project.js';

describe('foundPerObject at IoU exactly 0.5 (float noise of projecting back)', () => {
  // pad mode, a 1000-px image in a 640-px input with grid:1: scale 639/1000, the offset is the shift
  const r = 639 / 1000;
  const at = (dx: number, dy: number) => ({ scaleX: r, scaleY: r, offsetX: dx, offsetY: dy });
  const object: CocoAnnotation = { id: 1, image_id: 1, category_id: 1, bbox: [87, 99, 45, 27], area: 1215, iscrowd: 0 };
  // the detection 15 px right of the object (IoU 30·27 / 60·27 = 0.5), moving exactly with the input
  const perShift: CocoResult[][] = [
    [0, 0],
    [1, 0],
    [0, 1],
    [1, 1],
  ].map(([dx, dy]) => [
    {
      image_id: 1,
      category_id: 1,
      score: 0.9,
      bbox: boxToOriginal(boxToInput([102, 99, 45, 27], at(dx, dy)), at(dx, dy)),
    },
  ]);

  it('finds the object at every shift, as flipRate does (flipRate 0)', () => {
    // the premise: float noise puts the IoU a hair below 0.5 at some shifts
    expect(perShift.some((d) => iouXYWH(d[0].bbox, object.bbox) < 0.5)).toBe(true);
    const gt: CocoGroundTruth = {
      images: [{ id: 1, file_name: 'a', width: 1000, height: 1000 }],
      categories: [{ id: 1, name: 'one' }],
      annotations: [object],
    };
    const c = computeConsistency([{ imageId: 1, inputScale: { x: r, y: r }, dets: perShift }], 4, {
      groundTruth: gt,
      bootstrapResamples: 10,
    });
    expect(c.flipRate!.mean).toBe(0);
    expect(foundPerObject([object], perShift).map((x) => x.foundAt)).toEqual([4]);
  });
});
