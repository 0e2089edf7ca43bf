/** The evaluator's column store of detections. */
import type { CocoResult } from '../core/types.js';
import type { DetectionColumns } from './cocoeval.js';

/**
 * Growable column store of detections (boxes, scores, categories in typed arrays): the evaluator's one copy of
 * them, made into CocoResult objects only for a range at a time.
 */
export class DetectionStore {
  count = 0;
  boxes: Float64Array;
  scores: Float64Array;
  categories: Int32Array;
  constructor(capacity = 1024) {
    const cap = Number.isFinite(capacity) && capacity >= 1 ? Math.floor(capacity) : 1;
    this.boxes = new Float64Array(4 * cap);
    this.scores = new Float64Array(cap);
    this.categories = new Int32Array(cap);
  }
  private grow(need: number): void {
    let cap = this.scores.length;
    if (need <= cap) return;
    while (cap < need) cap *= 2;
    const b = new Float64Array(4 * cap);
    b.set(this.boxes);
    const s = new Float64Array(cap);
    s.set(this.scores);
    const c = new Int32Array(cap);
    c.set(this.categories);
    this.boxes = b;
    this.scores = s;
    this.categories = c;
  }
  /** Appends detections; returns the index of the first (they occupy [start, start + dets.length)). */
  append(dets: readonly CocoResult[]): number {
    const start = this.count;
    this.grow(start + dets.length);
    for (let k = 0; k < dets.length; k++) {
      const d = dets[k];
      const n = start + k;
      this.boxes[4 * n] = d.bbox[0];
      this.boxes[4 * n + 1] = d.bbox[1];
      this.boxes[4 * n + 2] = d.bbox[2];
      this.boxes[4 * n + 3] = d.bbox[3];
      this.scores[n] = d.score;
      this.categories[n] = d.category_id;
    }
    this.count += dets.length;
    return start;
  }
  /**
   * Detections of several images as columns over this store, copying nothing: image imageIds[r]'s are entries
   * [starts[r], ends[r]).
   */
  columns(imageIds: ArrayLike<number>, starts: ArrayLike<number>, ends: ArrayLike<number>): DetectionColumns {
    return { imageIds, starts, ends, categoryIds: this.categories, scores: this.scores, boxes: this.boxes };
  }
  /** The detections [start, end) as results of image `imageId`. */
  toResults(imageId: number, start: number, end: number): CocoResult[] {
    const out: CocoResult[] = [];
    for (let n = start; n < end; n++) {
      out.push({
        image_id: imageId,
        category_id: this.categories[n],
        bbox: [this.boxes[4 * n], this.boxes[4 * n + 1], this.boxes[4 * n + 2], this.boxes[4 * n + 3]],
        score: this.scores[n],
      });
    }
    return out;
  }
}
