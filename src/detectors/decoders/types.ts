/**
 * What a decoder sees (raw model outputs) and what it returns (candidate boxes in
 * model-input pixels, before NMS).
 */
import { ShiftbenchError } from '../../core/errors.js';

/** One raw output tensor, already read into memory. */
export interface RawOutput {
  name: string;
  dims: readonly number[];
  data: Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array | Int8Array;
}

export interface DecodeContext {
  /** Model input size; every input of the batch has it. */
  inputSizePx: { width: number; height: number };
  /** Number of images in this call. */
  batchSize: number;
  /** Number of classes the entry declares (length of `info.classes`). */
  numClasses: number;
  /** Candidates below this score are dropped before NMS (0–1). */
  scoreThreshold: number;
  /** Category ids of the classes, index-aligned (for decoders whose model outputs category ids). */
  categoryIds: readonly number[];
}

/**
 * Candidate detections of one image: flat xyxy boxes in input pixels, scores 0–1, class indices into `info.classes`.
 */
export interface Candidates {
  boxesXYXY: number[];
  scores: number[];
  classIndices: number[];
}

export interface Decoder {
  readonly name: string;
  /** NMS IoU threshold to apply after decoding, or null when the model already did NMS. */
  readonly nmsIouThreshold: number | null;
  /** Keep at most this many candidates (highest scores) per image before NMS. */
  readonly preNmsTopK: number;
  /** Keep at most this many detections per image after NMS (COCO's maxDets, default 100). */
  readonly topK: number;
  /** False: boxes are kept as decoded instead of clipped to the input (absent = true). */
  readonly clipBoxes?: boolean;
  /** Checks the output shapes (throws ERR_MODEL_OUTPUT) and decodes one candidate list per image. */
  decode(outputs: RawOutput[], ctx: DecodeContext): Candidates[];
  /** Parameters in effect, for the run manifest. */
  readonly params: Record<string, unknown>;
}

/** Builds a decoder from the registry entry's `decoder.params` (validated; throws ERR_REGISTRY). */
export type DecoderFactory = (params: Record<string, unknown>) => Decoder;

export function emptyCandidates(): Candidates {
  return { boxesXYXY: [], scores: [], classIndices: [] };
}

/**
 * Collects at most `capacity` candidates with the highest scores (≥ `scoreThreshold`)
 * in a min-heap, so decoders never materialise the hundreds of thousands of
 * (anchor, class) pairs a low COCO threshold admits. On equal scores the earlier
 * candidate wins. `minScore` is the lowest score that can still enter: decoders skip
 * computing a box whose best score is below it.
 */
export class CandidateCollector {
  private readonly scores: Float64Array;
  private readonly order: Float64Array;
  private readonly boxes: Float64Array;
  private readonly classes: Int32Array;
  private readonly heap: Int32Array;
  private size = 0;
  private counter = 0;
  constructor(
    readonly capacity: number,
    readonly scoreThreshold: number,
  ) {
    this.scores = new Float64Array(capacity);
    this.order = new Float64Array(capacity);
    this.boxes = new Float64Array(4 * capacity);
    this.classes = new Int32Array(capacity);
    this.heap = new Int32Array(capacity);
  }
  get minScore(): number {
    return this.size < this.capacity ? this.scoreThreshold : Math.max(this.scoreThreshold, this.scores[this.heap[0]]);
  }
  /** true when slot a ranks below slot b (lower score, or same score and later). */
  private below(a: number, b: number): boolean {
    return this.scores[a] < this.scores[b] || (this.scores[a] === this.scores[b] && this.order[a] > this.order[b]);
  }
  add(x1: number, y1: number, x2: number, y2: number, score: number, classIndex: number): void {
    const seq = this.counter++;
    if (!(score >= this.scoreThreshold)) return;
    const replacing = this.size === this.capacity;
    let slot: number;
    if (!replacing) {
      slot = this.size;
      this.heap[this.size++] = slot;
    } else {
      slot = this.heap[0];
      if (!(score > this.scores[slot])) return;
    }
    this.scores[slot] = score;
    this.order[slot] = seq;
    this.classes[slot] = classIndex;
    const b = 4 * slot;
    this.boxes[b] = x1;
    this.boxes[b + 1] = y1;
    this.boxes[b + 2] = x2;
    this.boxes[b + 3] = y2;
    if (replacing) this.siftDown(0);
    else this.siftUp(this.size - 1);
  }
  private siftUp(i: number): void {
    const h = this.heap;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.below(h[i], h[parent])) break;
      [h[i], h[parent]] = [h[parent], h[i]];
      i = parent;
    }
  }
  private siftDown(i: number): void {
    const h = this.heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < this.size && this.below(h[l], h[m])) m = l;
      if (r < this.size && this.below(h[r], h[m])) m = r;
      if (m === i) return;
      [h[i], h[m]] = [h[m], h[i]];
      i = m;
    }
  }
  /** The collected candidates, in the order they were added. */
  finish(): Candidates {
    const slots = Array.from(this.heap.subarray(0, this.size)).sort((a, b) => this.order[a] - this.order[b]);
    const out = emptyCandidates();
    for (const s of slots) {
      out.boxesXYXY.push(this.boxes[4 * s], this.boxes[4 * s + 1], this.boxes[4 * s + 2], this.boxes[4 * s + 3]);
      out.scores.push(this.scores[s]);
      out.classIndices.push(this.classes[s]);
    }
    return out;
  }
}

export function shapeText(dims: readonly number[]): string {
  return `[${dims.join(',')}]`;
}

/** ERR_MODEL_OUTPUT "Model outputs do not fit decoder X: expected … but found …". */
export function outputMismatch(decoder: string, expected: string, outputs: RawOutput[]): ShiftbenchError {
  const found = outputs.map((o) => `"${o.name}" ${shapeText(o.dims)}`).join(', ') || '(no outputs)';
  return new ShiftbenchError(
    'ERR_MODEL_OUTPUT',
    `Model outputs do not fit decoder "${decoder}": expected ${expected} but found ${found}. ` +
      `Check the entry's decoder name and params (see docs/models.md).`,
  );
}

/**
 * Per-image views of an output whose per-image shape has rank `rank`: accepts
 * [B, ...] with B = batchSize, or [...] without a batch dim when batchSize is 1.
 * Returns null when the shape does not fit.
 */
export function splitBatch(
  out: RawOutput,
  rank: number,
  batchSize: number,
): { dims: number[]; views: RawOutput['data'][] } | null {
  let dims: number[];
  if (out.dims.length === rank + 1 && out.dims[0] === batchSize) dims = out.dims.slice(1);
  else if (out.dims.length === rank && batchSize === 1) dims = [...out.dims];
  else return null;
  const per = dims.reduce((a, b) => a * b, 1);
  if (out.data.length !== per * batchSize) return null;
  const views: RawOutput['data'][] = [];
  for (let b = 0; b < batchSize; b++) views.push(out.data.subarray(b * per, (b + 1) * per) as RawOutput['data']);
  return { dims, views };
}

/** Reads a numeric element as a JS number (int64 included). */
export function numAt(data: RawOutput['data'], i: number): number {
  const v = data[i];
  return typeof v === 'bigint' ? Number(v) : v;
}

export const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));
