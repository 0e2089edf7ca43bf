/**
 * Coordinates between the original image and a shifted model input (protocol §1).
 * What is scored in crop and circular modes is in stableArea.ts.
 *
 * Projection back is NOT clipped to the original image: pycocotools does not clip,
 * and in `pad` mode the unclipped back-projection is the exact inverse of the
 * forward map, so a detector that is exactly equivariant gives identical results.
 */
import type { BoxXYWH, CocoResult, Detection, InputTransform } from '../core/types.js';

/** Maps a box of the original image into input pixels: `x·scale + offset` per axis. */
export function boxToInput(box: BoxXYWH, t: InputTransform): BoxXYWH {
  return [box[0] * t.scaleX + t.offsetX, box[1] * t.scaleY + t.offsetY, box[2] * t.scaleX, box[3] * t.scaleY];
}

/** Maps a box in input pixels back to the original image: `(x − offset) / scale` per axis. */
export function boxToOriginal(box: BoxXYWH, t: InputTransform): BoxXYWH {
  return [(box[0] - t.offsetX) / t.scaleX, (box[1] - t.offsetY) / t.scaleY, box[2] / t.scaleX, box[3] / t.scaleY];
}

/**
 * Projects detections made on a shifted input back to the original image as COCO
 * results for `imageId` (unclipped; see the module note).
 */
export function projectBack(dets: readonly Detection[], t: InputTransform, imageId: number): CocoResult[] {
  const out: CocoResult[] = new Array(dets.length);
  for (let i = 0; i < dets.length; i++) {
    const d = dets[i];
    out[i] = { image_id: imageId, category_id: d.categoryId, bbox: boxToOriginal(d.bbox, t), score: d.score };
  }
  return out;
}
