/**
 * Coordinates between the original image and a shifted model input (protocol §1),
 * and the ground truth each shift is scored against.
 *
 * Projection back is NOT clipped to the original image: pycocotools does not clip,
 * and in `pad` mode the unclipped back-projection is the exact inverse of the
 * forward map, so a detector that is exactly equivariant gives identical results.
 */
import type { BoxXYWH, CocoAnnotation, CocoResult, Detection, InputTransform, ShiftMode } from '../core/types.js';

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

/** Share of a box's area below which a cropped ground-truth box is marked `ignore` (protocol §1). */
export const CROP_MIN_VISIBLE_FRACTION = 0.5;

/**
 * The ground truth of one image at one shift, in ORIGINAL image coordinates:
 * - `pad`: unchanged (the same array is returned);
 * - `crop`: each box is clipped to the back-projection of the Wm × Hm window; a box whose
 *   visible area is under half of its full area gets `ignore: 1`; `area` is scaled by
 *   the visible fraction;
 * - `circular`: a box whose shifted position crosses the right or bottom edge (so it
 *   wraps around) gets `ignore: 1`; its box is unchanged.
 * Annotations already marked ignore or crowd keep their flags. Never mutates the input.
 */
export function groundTruthForShift(
  annotations: readonly CocoAnnotation[],
  t: InputTransform,
  mode: ShiftMode,
  inputSizePx: { width: number; height: number },
): CocoAnnotation[] {
  if (mode === 'pad') return annotations as CocoAnnotation[];
  const { width: wm, height: hm } = inputSizePx;
  const eps = 1e-9;
  if (mode === 'circular') {
    return annotations.map((a) => {
      const [x, y, w, h] = boxToInput(a.bbox, t);
      const wraps = x + w > wm + eps || y + h > hm + eps || x < -eps || y < -eps;
      return wraps ? { ...a, ignore: 1 } : a;
    });
  }
  // crop: the window [0, Wm) × [0, Hm) in input pixels, back in original pixels
  const wx0 = (0 - t.offsetX) / t.scaleX;
  const wy0 = (0 - t.offsetY) / t.scaleY;
  const wx1 = (wm - t.offsetX) / t.scaleX;
  const wy1 = (hm - t.offsetY) / t.scaleY;
  return annotations.map((a) => {
    const [x, y, w, h] = a.bbox;
    const x0 = Math.min(Math.max(x, wx0), wx1);
    const y0 = Math.min(Math.max(y, wy0), wy1);
    const x1 = Math.min(Math.max(x + w, wx0), wx1);
    const y1 = Math.min(Math.max(y + h, wy0), wy1);
    if (x0 === x && y0 === y && x1 === x + w && y1 === y + h) return a;
    const full = w * h;
    const visible = (x1 - x0) * (y1 - y0);
    const fraction = full > 0 ? visible / full : 0;
    const out: CocoAnnotation = { ...a, bbox: [x0, y0, x1 - x0, y1 - y0], area: a.area * fraction };
    if (fraction < CROP_MIN_VISIBLE_FRACTION) out.ignore = 1;
    return out;
  });
}
