/**
 * A complete shiftbench plug-in in plain JavaScript: a "saturated blob" detector.
 *
 * It needs no model. It marks pixels that are bright and strongly saturated (the
 * objects of `shiftbench datasets synth` are painted in such colours on low-saturation
 * backgrounds) and sorts them into 12 hue bins, since each object has one main colour.
 * Per hue bin it groups them into blobs on a 4-px grid, merges blobs that nearly touch
 * (textured shapes fall apart into stripes otherwise), and reports one box per blob.
 * It cannot tell the eight synthetic shapes apart reliably, so like a real multi-label
 * detector it reports each box once per class, with a score from how well the blob's
 * fill ratio (blob pixels / box area) matches that shape's expected fill ratio.
 *
 * Run it:
 *   shiftbench run --plugin ./examples/plugins/blob-detector.mjs --model blobs/saturated \
 *     --dataset datasets/synth/val/instances.json --limit 50
 *
 * In your own plug-in write `import { definePlugin } from 'shiftbench/plugin'` and
 * `export default definePlugin({ ... })`: definePlugin checks the object early and
 * gives your editor the types. This example lives inside the shiftbench repository
 * and stays free of imports, so it exports the plain object, which the loader checks
 * in the same way.
 */

/** The synthetic dataset's classes with the fraction of its box a solid shape fills. */
const CLASSES = [
  { id: 1, name: 'disc', fill: Math.PI / 4 },
  { id: 2, name: 'square', fill: 1 },
  { id: 3, name: 'triangle', fill: 0.5 },
  { id: 4, name: 'ring', fill: 0.55 },
  { id: 5, name: 'cross', fill: 0.56 },
  { id: 6, name: 'hexagon', fill: 0.75 },
  { id: 7, name: 'diamond', fill: 0.5 },
  { id: 8, name: 'star', fill: 0.4 },
];

const INPUT_PX = 256;
const CELL_PX = 4;
const MERGE_GAP_PX = 16;
const MIN_SIDE_PX = 6;

const HUE_BINS = 12;

/** Per pixel: 0, or 1 + its hue bin where it is bright (max ≥ 0.6) and saturated ((max − min) / max ≥ 0.55). */
function saturationMask(img) {
  const { data, width, height } = img;
  const mask = new Uint8Array(width * height);
  for (let i = 0, p = 0; i < mask.length; i++, p += 3) {
    const r = data[p],
      g = data[p + 1],
      b = data[p + 2];
    const max = Math.max(r, g, b);
    const min = Math.min(r, g, b);
    if (max < 153 || max - min < 0.55 * max) continue;
    const d = max - min;
    let hue = max === r ? (g - b) / d : max === g ? 2 + (b - r) / d : 4 + (r - g) / d; // 0..6
    if (hue < 0) hue += 6;
    mask[i] = 1 + (Math.floor((hue / 6) * HUE_BINS) % HUE_BINS);
  }
  return mask;
}

/** Connected blobs (8-neighbour) of the cells holding a pixel of hue bin `bin`; each with its pixel box and pixel count. */
function blobs(mask, width, height, bin) {
  const gw = Math.ceil(width / CELL_PX);
  const gh = Math.ceil(height / CELL_PX);
  const cellOn = new Uint8Array(gw * gh);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++)
      if (mask[y * width + x] === bin) cellOn[Math.floor(y / CELL_PX) * gw + Math.floor(x / CELL_PX)] = 1;
  }
  const label = new Int32Array(gw * gh).fill(-1);
  const found = [];
  for (let start = 0; start < cellOn.length; start++) {
    if (!cellOn[start] || label[start] >= 0) continue;
    const cells = [start];
    label[start] = found.length;
    for (let k = 0; k < cells.length; k++) {
      const cx = cells[k] % gw;
      const cy = (cells[k] - cx) / gw;
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const nx = cx + dx;
          const ny = cy + dy;
          if (nx < 0 || ny < 0 || nx >= gw || ny >= gh) continue;
          const n = ny * gw + nx;
          if (cellOn[n] && label[n] < 0) {
            label[n] = found.length;
            cells.push(n);
          }
        }
      }
    }
    // exact pixel extent and count of the mask inside the blob's cells
    let x1 = Infinity,
      y1 = Infinity,
      x2 = -Infinity,
      y2 = -Infinity,
      pixels = 0;
    for (const c of cells) {
      const cx = (c % gw) * CELL_PX;
      const cy = Math.floor(c / gw) * CELL_PX;
      for (let y = cy; y < Math.min(cy + CELL_PX, height); y++) {
        for (let x = cx; x < Math.min(cx + CELL_PX, width); x++) {
          if (mask[y * width + x] !== bin) continue;
          pixels++;
          if (x < x1) x1 = x;
          if (y < y1) y1 = y;
          if (x + 1 > x2) x2 = x + 1;
          if (y + 1 > y2) y2 = y + 1;
        }
      }
    }
    found.push({ x1, y1, x2, y2, pixels });
  }
  return found;
}

/** Merges blobs whose boxes come within MERGE_GAP_PX of each other, until none do. */
function mergeNear(list) {
  const boxes = list.map((b) => ({ ...b }));
  let merged = true;
  while (merged) {
    merged = false;
    for (let i = 0; i < boxes.length && !merged; i++) {
      for (let j = i + 1; j < boxes.length; j++) {
        const a = boxes[i];
        const b = boxes[j];
        const gapX = Math.max(a.x1, b.x1) - Math.min(a.x2, b.x2);
        const gapY = Math.max(a.y1, b.y1) - Math.min(a.y2, b.y2);
        if (gapX <= MERGE_GAP_PX && gapY <= MERGE_GAP_PX) {
          boxes[i] = {
            x1: Math.min(a.x1, b.x1),
            y1: Math.min(a.y1, b.y1),
            x2: Math.max(a.x2, b.x2),
            y2: Math.max(a.y2, b.y2),
            pixels: a.pixels + b.pixels,
          };
          boxes.splice(j, 1);
          merged = true;
          break;
        }
      }
    }
  }
  return boxes;
}

/** Detections of one RGB image, in its pixels. */
export function detectBlobs(img, scoreThreshold = 0.001) {
  const mask = saturationMask(img);
  const found = [];
  for (let bin = 1; bin <= HUE_BINS; bin++) found.push(...mergeNear(blobs(mask, img.width, img.height, bin)));
  const out = [];
  for (const b of found) {
    const w = b.x2 - b.x1;
    const h = b.y2 - b.y1;
    if (w < MIN_SIDE_PX || h < MIN_SIDE_PX) continue;
    const fill = b.pixels / (w * h);
    // textures paint part of a shape in a dark second colour: about half the shape is masked
    const solidFill = Math.min(1, fill * 2);
    const confidence = Math.min(1, 0.5 + 0.5 * Math.min(1, Math.min(w, h) / 24));
    for (const c of CLASSES) {
      const score = confidence * Math.exp(-(((solidFill - c.fill) / 0.15) ** 2));
      if (score >= scoreThreshold) out.push({ bbox: [b.x1, b.y1, w, h], score, categoryId: c.id });
    }
  }
  return out.sort((p, q) => q.score - p.score).slice(0, 100);
}

function createSaturatedBlobDetector(opts) {
  const scoreThreshold = opts.scoreThreshold ?? 0.001;
  return {
    info: {
      name: 'saturated',
      // nominal tags: there is no network; a grid of cells without anchors is closest to anchor-free
      family: { stages: 'one-stage', anchors: 'anchor-free' },
      inputSizePx: { width: INPUT_PX, height: INPUT_PX },
      classes: CLASSES.map(({ id, name }) => ({ id, name })),
      fit: 'stretch',
      padValue: [0, 0, 0],
      totalStridePx: CELL_PX,
      maxBatch: 16,
      runtime: 'plain JavaScript',
      files: [],
      details: { cellPx: CELL_PX, mergeGapPx: MERGE_GAP_PX },
    },
    // reads each input's pixels inside detect() and keeps none of them: the runner may reuse their buffers
    releasesInputs: true,
    async detect(batch) {
      return batch.map((img) => detectBlobs(img, scoreThreshold));
    },
    async dispose() {},
  };
}

export default {
  apiVersion: 1,
  name: 'blobs',
  detectors: { saturated: createSaturatedBlobDetector },
};
