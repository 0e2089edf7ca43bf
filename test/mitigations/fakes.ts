/** Fake detectors for the mitigation tests: known answers, no model. */
import type { DetectContext, Detection, Detector, DetectorInfo, RgbImage } from '../../src/core/types.js';

export interface FakeDetector extends Detector {
  /** Batch sizes of every detect call. */
  calls: number[];
  contexts: (DetectContext[] | undefined)[];
}

export function fakeInfo(overrides: Partial<DetectorInfo> = {}): DetectorInfo {
  return {
    name: 'fake',
    family: { stages: 'one-stage', anchors: 'anchor-free' },
    inputSizePx: { width: 32, height: 32 },
    classes: [{ id: 1, name: 'thing' }],
    fit: 'letterbox',
    padValue: [0, 0, 0],
    maxBatch: 8,
    runtime: 'fake',
    files: [],
    ...overrides,
  };
}

export function fakeDetector(fn: (img: RgbImage) => Detection[], overrides: Partial<DetectorInfo> = {}): FakeDetector {
  const calls: number[] = [];
  const contexts: (DetectContext[] | undefined)[] = [];
  return {
    info: fakeInfo(overrides),
    calls,
    contexts,
    async detect(batch, ctx) {
      if (batch.length > this.info.maxBatch) throw new Error(`batch ${batch.length} > maxBatch ${this.info.maxBatch}`);
      calls.push(batch.length);
      contexts.push(ctx);
      return batch.map(fn);
    },
    async dispose() {},
  };
}

/** An image of `width × height` filled with `rgb`, with a rectangle [x, y, w, h] of `fg`. */
export function rectImage(
  width: number,
  height: number,
  rect: [number, number, number, number],
  fg = 255,
  bg = 0,
): RgbImage {
  const data = new Uint8Array(width * height * 3).fill(bg);
  const [rx, ry, rw, rh] = rect;
  for (let y = ry; y < ry + rh; y++)
    for (let x = rx; x < rx + rw; x++) data.fill(fg, (y * width + x) * 3, (y * width + x) * 3 + 3);
  return { data, width, height };
}

/** Bounding box of the pixels whose red value is > 128, or null. */
export function brightBox(img: RgbImage): [number, number, number, number] | null {
  let x1 = Infinity,
    y1 = Infinity,
    x2 = -Infinity,
    y2 = -Infinity;
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < img.width; x++) {
      if (img.data[(y * img.width + x) * 3] > 128) {
        x1 = Math.min(x1, x);
        y1 = Math.min(y1, y);
        x2 = Math.max(x2, x + 1);
        y2 = Math.max(y2, y + 1);
      }
    }
  }
  return x1 === Infinity ? null : [x1, y1, x2 - x1, y2 - y1];
}

/** Random RGB image from a seeded LCG. */
export function randomImage(width: number, height: number, seed: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  let s = seed >>> 0;
  for (let i = 0; i < data.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    data[i] = s >>> 24;
  }
  return { data, width, height };
}
