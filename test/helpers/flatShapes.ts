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
import type {
  CocoAnnotation,
  CocoGroundTruth,
  Detection,
  Detector,
  DetectorInfo,
  RgbImage,
} from '../../src/core/types.js';

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
 * Writes `<dir>/instances.json` + `<dir>/images/NNN.png`: `count` images, each with one
 * object touching each of its four edges, up to 5 objects inside, an unannotated shape
 * and an annotated one in a faded colour, all at least 3 px apart. The images are `fitPx` wide or high and
 * not larger in the other side (square, landscape, portrait), so a letterbox fit into
 * an area of `fitPx × fitPx` has scale 1: the fitted picture has exactly the annotated
 * pixels (no resampling blurs an edge or moves it by a fraction of a pixel).
 */
export async function writeFlatShapes(dir: string, count: number, fitPx: number, seed = 7): Promise<FlatShapesData> {
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
    const width = [fitPx, fitPx, fitPx - 10][id % 3];
    const height = [fitPx, fitPx - 14, fitPx][id % 3];
    const boxes: [number, number, number, number][] = [];
    const free = (b: [number, number, number, number]): boolean =>
      boxes.every(
        (o) => b[0] >= o[0] + o[2] + 3 || o[0] >= b[0] + b[2] + 3 || b[1] >= o[1] + o[3] + 3 || o[1] >= b[1] + b[3] + 3,
      );
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
    // how far an edge object reaches into the image: some are slivers of 1–2 px. Not 3 px: in crop mode with
    // K = 2 a 3-px object is cut to 1, 2 or 3 px with its centre inside the stable area at some shifts only,
    // so the consistency metrics see it come and go (protocol §1 keeps detections by their centre)
    const depth = () => [1, 2, 4, 5, 6, 8, 10, 12, 14][rng.int(0, 8)];
    // one object on each edge: left, top, right, bottom
    if (
      place(() => {
        const w = depth(),
          h = side();
        return [0, rng.int(0, height - h), w, h];
      })
    )
      edgeObjects++;
    if (
      place(() => {
        const w = side(),
          h = depth();
        return [rng.int(0, width - w), 0, w, h];
      })
    )
      edgeObjects++;
    if (
      place(() => {
        const w = depth(),
          h = side();
        return [width - w, rng.int(0, height - h), w, h];
      })
    )
      edgeObjects++;
    if (
      place(() => {
        const w = side(),
          h = depth();
        return [rng.int(0, width - w), height - h, w, h];
      })
    )
      edgeObjects++;
    const innerCount = rng.int(3, 5);
    for (let k = 0; k < innerCount; k++)
      place(() => {
        const w = side(),
          h = side();
        return [rng.int(8, width - w - 8), rng.int(8, height - h - 8), w, h];
      });
    // so that AP is not 1 and moves when an object is counted or not: an unannotated shape (a false
    // positive) and an annotated shape in a faded colour the detector does not see (a miss)
    const annotated = boxes.length;
    const inner = () => {
      const w = side(),
        h = side();
      return [rng.int(8, width - w - 8), rng.int(8, height - h - 8), w, h] as [number, number, number, number];
    };
    place(inner);
    const distractor = boxes.length > annotated ? boxes.pop()! : null;
    place(inner);
    const faded = boxes.length > annotated ? boxes[boxes.length - 1] : null;
    const data = Buffer.alloc(width * height * 3);
    for (let p = 0; p < width * height; p++) data.set(BACKGROUND, p * 3);
    const paint = (b: [number, number, number, number], rgb: [number, number, number]) => {
      for (let y = b[1]; y < b[1] + b[3]; y++)
        for (let x = b[0]; x < b[0] + b[2]; x++) data.set(rgb, (y * width + x) * 3);
    };
    for (const b of boxes) {
      const categoryId = rng.int(1, 3);
      const rgb = SHAPE_COLOURS[categoryId];
      paint(b, b === faded ? (rgb.map((v) => (v === 0 ? 40 : 215)) as [number, number, number]) : rgb);
      const a: CocoAnnotation = {
        id: gt.annotations.length + 1,
        image_id: id,
        category_id: categoryId,
        bbox: b,
        area: b[2] * b[3],
        iscrowd: 0,
      };
      gt.annotations.push(a);
    }
    if (distractor) paint(distractor, SHAPE_COLOURS[rng.int(1, 3)]);
    const fileName = `${String(id).padStart(3, '0')}.png`;
    gt.images.push({ id, file_name: fileName, width, height });
    await sharp(data, { raw: { width, height, channels: 3 } })
      .png()
      .toFile(path.join(dir, 'images', fileName));
  }
  const file = path.join(dir, 'instances.json');
  await writeFile(file, JSON.stringify(gt));
  return { file, gt, edgeObjects };
}

/**
 * The extent of a set of occupied positions along an axis of `size` positions: plain
 * [min, max + 1), or on a circle (`wrap`) starting after the longest run of unoccupied
 * positions, so a run crossing the seam is one interval that may end past `size`.
 */
function extent(occupied: Uint8Array, wrap: boolean): [number, number] {
  const n = occupied.length;
  if (!wrap) {
    const first = occupied.indexOf(1);
    return [first, occupied.lastIndexOf(1) + 1];
  }
  let bestLength = 0;
  let bestEnd = 0; // the first occupied position after the longest gap
  for (let start = 0; start < n; start++) {
    if (occupied[start] || !occupied[(start + n - 1) % n]) continue; // a gap starts here
    let length = 0;
    while (length < n && !occupied[(start + length) % n]) length++;
    if (length > bestLength) {
      bestLength = length;
      bestEnd = (start + length) % n;
    }
  }
  return bestLength === 0 ? [0, n] : [bestEnd, bestEnd + n - bestLength];
}

/**
 * Connected components (4-neighbour) of each exact category colour; one detection per
 * component with its exact pixel extent. With `wrap` the image is a torus (as a network
 * with circular padding sees it): components connect across the borders and a
 * component crossing the right (bottom) border gets one box that ends past it.
 */
export function detectComponents(img: RgbImage, opts: { snapPx?: number; wrap?: boolean } = {}): Detection[] {
  const { data, width, height } = img;
  const wrap = opts.wrap ?? false;
  const snapPx = opts.snapPx ?? 1;
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
    const columns = new Uint8Array(width);
    const rows = new Uint8Array(height);
    let pixels = 0;
    label[start] = out.length;
    stack.push(start);
    while (stack.length > 0) {
      const p = stack.pop()!;
      const x = p % width;
      const y = (p - x) / width;
      pixels++;
      columns[x] = 1;
      rows[y] = 1;
      const left = x > 0 ? p - 1 : wrap ? p + width - 1 : -1;
      const right = x < width - 1 ? p + 1 : wrap ? p - width + 1 : -1;
      const up = y > 0 ? p - width : wrap ? p + width * (height - 1) : -1;
      const down = y < height - 1 ? p + width : wrap ? p - width * (height - 1) : -1;
      for (const n of [left, right, up, down]) {
        if (n >= 0 && label[n] < 0 && category[n] === cat) {
          label[n] = out.length;
          stack.push(n);
        }
      }
    }
    let [x1, x2] = extent(columns, wrap);
    let [y1, y2] = extent(rows, wrap);
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

/**
 * The pixel-reading detector as a shiftbench Detector (model input 64 × 64, letterbox,
 * pad 114). `wrap` for circular mode (connectivity on the torus, like circular padding).
 */
export function componentDetector(
  name: string,
  opts: { snapPx?: number; wrap?: boolean; info?: Partial<DetectorInfo> } = {},
): Detector & { inputs: number } {
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
      return batch.map((img) => detectComponents(img, opts));
    },
    async dispose(): Promise<void> {},
  };
  return d;
}
