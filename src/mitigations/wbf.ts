/**
 * Weighted box fusion (Solovyev et al. 2019, re-derived): fuses the detections that
 * `runCount` runs of a detector made on the same image.
 *
 * Per class, detections are taken in descending score (ties: earlier run, then
 * earlier index first). Each joins the cluster whose current fused box overlaps it
 * most, if that IoU ≥ `iouThreshold` (ties: the older cluster), else starts a new
 * cluster. A cluster's fused box is the score-weighted mean of its members' corners
 * (plain mean if all scores are 0); its fused score is the mean member score ×
 * min(members, runCount) / runCount, so a box that only some runs found is damped.
 */
import type { BoxXYWH, Detection } from '../core/types.js';

export const DEFAULT_WBF_IOU_THRESHOLD = 0.55;

export interface WbfOptions {
  /** IoU with a cluster's fused box needed to join it, in (0, 1]. Default 0.55. */
  iouThreshold?: number;
}

interface Cluster {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
  sumScore: number;
  sx1: number;
  sy1: number;
  sx2: number;
  sy2: number;
  ux1: number;
  uy1: number;
  ux2: number;
  uy2: number;
  count: number;
}

function iouXYXY(a: Cluster, x1: number, y1: number, x2: number, y2: number): number {
  const iw = Math.min(a.x2, x2) - Math.max(a.x1, x1);
  const ih = Math.min(a.y2, y2) - Math.max(a.y1, y1);
  if (iw <= 0 || ih <= 0) return 0;
  const inter = iw * ih;
  const union = (a.x2 - a.x1) * (a.y2 - a.y1) + (x2 - x1) * (y2 - y1) - inter;
  return union > 0 ? inter / union : 0;
}

/**
 * Fuses `runs` (one detection list per run, same coordinates) into one list sorted by
 * descending score. `runCount` defaults to `runs.length`.
 */
export function weightedBoxFusion(
  runs: readonly (readonly Detection[])[],
  options: WbfOptions = {},
  runCount = runs.length,
): Detection[] {
  const thr = options.iouThreshold ?? DEFAULT_WBF_IOU_THRESHOLD;
  const n = Math.max(1, runCount);
  const byClass = new Map<number, { det: Detection; order: number }[]>();
  let order = 0;
  for (const run of runs) {
    for (const det of run) {
      let list = byClass.get(det.categoryId);
      if (!list) byClass.set(det.categoryId, (list = []));
      list.push({ det, order: order++ });
    }
  }
  const out: Detection[] = [];
  for (const categoryId of [...byClass.keys()].sort((a, b) => a - b)) {
    const list = byClass.get(categoryId)!;
    list.sort((a, b) => b.det.score - a.det.score || a.order - b.order);
    const clusters: Cluster[] = [];
    for (const { det } of list) {
      const [x, y, w, h] = det.bbox;
      const x2 = x + w,
        y2 = y + h,
        s = det.score;
      let best: Cluster | undefined;
      let bestIou = -1;
      for (const c of clusters) {
        const iou = iouXYXY(c, x, y, x2, y2);
        if (iou >= thr && iou > bestIou) {
          best = c;
          bestIou = iou;
        }
      }
      if (!best) {
        best = {
          x1: x,
          y1: y,
          x2,
          y2,
          sumScore: 0,
          sx1: 0,
          sy1: 0,
          sx2: 0,
          sy2: 0,
          ux1: 0,
          uy1: 0,
          ux2: 0,
          uy2: 0,
          count: 0,
        };
        clusters.push(best);
      }
      best.count++;
      best.sumScore += s;
      best.sx1 += s * x;
      best.sy1 += s * y;
      best.sx2 += s * x2;
      best.sy2 += s * y2;
      best.ux1 += x;
      best.uy1 += y;
      best.ux2 += x2;
      best.uy2 += y2;
      if (best.sumScore > 0) {
        best.x1 = best.sx1 / best.sumScore;
        best.y1 = best.sy1 / best.sumScore;
        best.x2 = best.sx2 / best.sumScore;
        best.y2 = best.sy2 / best.sumScore;
      } else {
        best.x1 = best.ux1 / best.count;
        best.y1 = best.uy1 / best.count;
        best.x2 = best.ux2 / best.count;
        best.y2 = best.uy2 / best.count;
      }
    }
    for (const c of clusters) {
      const bbox: BoxXYWH = [c.x1, c.y1, c.x2 - c.x1, c.y2 - c.y1];
      const score = (c.sumScore / c.count) * (Math.min(c.count, n) / n);
      out.push({ bbox, score, categoryId });
    }
  }
  out.sort((a, b) => b.score - a.score);
  return out;
}
