/**
 * A detector that READS PIXELS, and data made for it: the proof of protocol §1's
 * "a detector whose output moves exactly with its input scores mapRange = 0".
 *
 * - `writeFlatShapes` paints flat-coloured rectangles (one pure colour per category) on
 *   a flat grey background, with objects touching every image edge, and writes a COCO
 *   dataset whose boxes are the painted rectangles.
 * - `componentDetector` finds the 4-connected components of each category colour in the
 *   input it is given (it is never told the image id or the shift) and reports one box
 *   per component: the exact pixel extent. Its score depends only on the component's
 *   pixel count and colour, so its output moves exactly with the content: it is shift
 *   equivariant wherever the content is shown whole.
 * - with `snapPx > 1` the box edges are snapped to a grid of the INPUT (as a strided
 *   network's outputs are), so its boxes do not move with the content: a detector that
 *   must keep a non-zero mAP range in every mode.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { Rng } from '../../src/core/rng.js';
import type { CocoAnnotation, CocoGroundTruth, Detection, Detector, DetectorInfo, RgbImage } from '../../src/core/types.js';

/** Category id → its pure colour. The background (128,128,128) and the pad (114,114,114) are neither. */
export const SHAPE_COLOURS: Record<number, [number, number, number]> = {
  1: [255, 0, 0],
  2: [0, 255, 0],
  3: [0, 0, 255],
};
const BACKGROUND: [number, number, number] = [128, 128, 128];

export interface FlatShapesData {
  file: string;
  gt: CocoGroundTruth;
  /** Annotations touching an image edge. */
  edgeObjects: number;
}

/**
 * Writes `<dir>/instances.json` + `<dir>/images/NNN.png`: `count` images of sizes around
 * 64 px, each with one object touching each of its four edges and 1–3 objects inside,
 * all at least 3 px apart, painted with exact category colours.
 */
export async function writeFlatShapes(dir: string, count: number, seed = 7): Promise<FlatShapesData> {
  const rng = new Rng(seed);
  await mkdir(path.join(dir, 'images'), { recursive: true });
  const gt: CocoGroundTruth = {
    images: [],
    annotations: [],
    categories: [
      { id: 1, name: 'red' },
      { id: 2, name: 'green' },
      { id: 3, name: 'blue' },
    ],
  };
  let edgeObjects = 0;
  for (let id = 1; id <= count; id++) {
    const width = [64, 80, 56][id % 3];
    const height = [64, 56, 72][id % 3];
    const boxes: [number, number, number, number][] = [];
    const free = (b: [number, number, number, number]): boolean =>
      boxes.every((o) => b[0] >= o[0] + o[2] + 3 || o[0] >= b[0] + b[2] + 3 || b[1] >= o[1] + o[3] + 3 || o[1] >= b[1] + b[3] + 3);
    const place = (make: () => [number, number, number, number]): boolean => {
      for (let tries = 0; tries < 50; tries++) {
        const b = make();
        if (free(b)) {
          boxes.push(b);
          return true;
        }
      }
      return false;
    };
    const side = () => rng.int(8, 14);
    // one object on each edge: left, top, right, bottom
    if (place(() => { const w = side(), h = side(); return [0, rng.int(0, height - h), w, h]; })) edgeObjects++;
    if (place(() => { const w = side(), h = side(); return [rng.int(0, width - w), 0, w, h]; })) edgeObjects++;
    if (place(() => { const w = side(), h = side(); return [width - w, rng.int(0, height - h), w, h]; })) edgeObjects++;
    if (place(() => { const w = side(), h = side(); return [rng.int(0, width - w), height - h, w, h]; })) edgeObjects++;
    const inner = rng.int(1, 3);
    for (let k = 0; k < inner; k++) place(() => { const w = side(), h = side(); return [rng.int(8, width - w - 8), rng.int(8, height - h - 8), w, h]; });
    const data = Buffer.alloc(width * height * 3);
    for (let p = 0; p < width * height; p++) data.set(BACKGROUND, p * 3);
    for (const b of boxes) {
      const categoryId = rng.int(1, 3);
      for (let y = b[1]; y < b[1] + b[3]; y++) for (let x = b[0]; x < b[0] + b[2]; x++) data.set(SHAPE_COLOURS[categoryId], (y * width + x) * 3);
      const a: CocoAnnotation = { id: gt.annotations.length + 1, image_id: id, category_id: categoryId, bbox: b, area: b[2] * b[3], iscrowd: 0 };
      gt.annotations.push(a);
    }
    const fileName = `${String(id).padStart(3, '0')}.png`;
    gt.images.push({ id, file_name: fileName, width, height });
    await sharp(data, { raw: { width, height, channels: 3 } }).png().toFile(path.join(dir, 'images', fileName));
  }
  const file = path.join(dir, 'instances.json');
  await writeFile(file, JSON.stringify(gt));
  return { file, gt, edgeObjects };
}

/** Connected components (4-neighbour) of each exact category colour; one detection per component. */
export function detectComponents(img: RgbImage, snapPx = 1): Detection[] {
  const { data, width, height } = img;
  const label = new Int32Array(width * height).fill(-1);
  const category = new Int32Array(width * height);
  for (let p = 0; p < width * height; p++) {
    for (const [id, c] of Object.entries(SHAPE_COLOURS)) {
      if (data[3 * p] === c[0] && data[3 * p + 1] === c[1] && data[3 * p + 2] === c[2]) category[p] = Number(id);
    }
  }
  const out: Detection[] = [];
  const stack: number[] = [];
  for (let start = 0; start < width * height; start++) {
    if (category[start] === 0 || label[start] >= 0) continue;
    const cat = category[start];
    let x1 = width, y1 = height, x2 = 0, y2 = 0, pixels = 0;
    label[start] = out.length;
    stack.push(start);
    while (stack.length > 0) {
      const p = stack.pop()!;
      const x = p % width;
      const y = (p - x) / width;
      pixels++;
      x1 = Math.min(x1, x);
      y1 = Math.min(y1, y);
      x2 = Math.max(x2, x + 1);
      y2 = Math.max(y2, y + 1);
      const next = [x > 0 ? p - 1 : -1, x < width - 1 ? p + 1 : -1, y > 0 ? p - width : -1, y < height - 1 ? p + width : -1];
      for (const n of next) {
        if (n >= 0 && label[n] < 0 && category[n] === cat) {
          label[n] = out.length;
          stack.push(n);
        }
      }
    }
    if (snapPx > 1) {
      x1 = Math.floor(x1 / snapPx) * snapPx;
      y1 = Math.floor(y1 / snapPx) * snapPx;
      x2 = Math.ceil(x2 / snapPx) * snapPx;
      y2 = Math.ceil(y2 / snapPx) * snapPx;
    }
    // a score from what the component is (size, colour), never from where it is: distinct for distinct sizes
    const score = 0.5 + 0.4 * (1 - 1 / (1 + pixels / 100)) + 0.001 * cat;
    out.push({ bbox: [x1, y1, x2 - x1, y2 - y1], score, categoryId: cat });
  }
  return out;
}

/** The pixel-reading detector as a shiftbench Detector (model input 64 × 64, letterbox, pad 114). */
export function componentDetector(name: string, opts: { snapPx?: number; info?: Partial<DetectorInfo> } = {}): Detector & { inputs: number } {
  const d = {
    inputs: 0,
    info: {
      name,
      family: { stages: 'one-stage', anchors: 'anchor-free' },
      inputSizePx: { width: 64, height: 64 },
      classes: [
        { id: 1, name: 'red' },
        { id: 2, name: 'green' },
        { id: 3, name: 'blue' },
      ],
      fit: 'letterbox',
      padValue: [114, 114, 114],
      maxBatch: 4,
      runtime: 'fake',
      files: [],
      ...opts.info,
    } satisfies DetectorInfo,
    async detect(batch: RgbImage[]): Promise<Detection[][]> {
      d.inputs += batch.length;
      return batch.map((img) => detectComponents(img, opts.snapPx ?? 1));
    },
    async dispose(): Promise<void> {},
  };
  return d;
}
