/**
 * Non-maximum suppression for decoders that emit raw candidates. Pure functions on
 * flat arrays, reused by the ONNX and TF.js adapters.
 */

/** IoU of boxes i and j of a flat [x1,y1,x2,y2,...] array (continuous coordinates, no +1). */
export function iouXYXY(boxes: ArrayLike<number>, i: number, j: number): number {
  const ax1 = boxes[4 * i],
    ay1 = boxes[4 * i + 1],
    ax2 = boxes[4 * i + 2],
    ay2 = boxes[4 * i + 3];
  const bx1 = boxes[4 * j],
    by1 = boxes[4 * j + 1],
    bx2 = boxes[4 * j + 2],
    by2 = boxes[4 * j + 3];
  const iw = Math.min(ax2, bx2) - Math.max(ax1, bx1);
  const ih = Math.min(ay2, by2) - Math.max(ay1, by1);
  if (iw <= 0 || ih <= 0) return 0;
  const inter = iw * ih;
  const union =
    Math.max(0, ax2 - ax1) * Math.max(0, ay2 - ay1) + Math.max(0, bx2 - bx1) * Math.max(0, by2 - by1) - inter;
  return union > 0 ? inter / union : 0;
}

export interface NmsOptions {
  /** A candidate is suppressed when its IoU with a kept box of the same class is above this (default 0.6). */
  iouThreshold?: number;
  /** Keep at most this many boxes over all classes (default 100). */
  topK?: number;
}

/** Defaults of the project's NMS: IoU 0.6 (NanoDet's convention), top-100 per image (COCO's maxDets). */
export const NMS_DEFAULTS = { iouThreshold: 0.6, topK: 100 } as const;

/**
 * Greedy class-wise NMS. `boxesXYXY` is flat (4 per candidate), `classIndices` null for
 * class-agnostic NMS. Returns the kept candidate indices in descending score order (ties:
 * lower index first), at most `topK`. Equivalent to per-class greedy NMS followed by a
 * global top-k by score.
 */
export function nms(
  boxesXYXY: ArrayLike<number>,
  scores: ArrayLike<number>,
  classIndices: ArrayLike<number> | null,
  options: NmsOptions = {},
): number[] {
  const iouThreshold = options.iouThreshold ?? NMS_DEFAULTS.iouThreshold;
  const topK = options.topK ?? NMS_DEFAULTS.topK;
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i);
  order.sort((a, b) => scores[b] - scores[a] || a - b);
  const keptByClass = new Map<number, number[]>();
  const kept: number[] = [];
  for (const i of order) {
    if (kept.length >= topK) break;
    const cls = classIndices ? classIndices[i] : 0;
    let list = keptByClass.get(cls);
    if (!list) keptByClass.set(cls, (list = []));
    let suppressed = false;
    for (const j of list) {
      if (iouXYXY(boxesXYXY, i, j) > iouThreshold) {
        suppressed = true;
        break;
      }
    }
    if (!suppressed) {
      list.push(i);
      kept.push(i);
    }
  }
  return kept;
}
