/**
 * Pure-JS renderer of one synthetic scene: a high-frequency background with 1–8
 * textured shapes on top. No I/O; everything comes from the Rng it is given, so a
 * scene is a pure function of (rng seed, size).
 *
 * Design (see datasets/README.md):
 * - 8 classes, each a distinct shape with its own fill texture; colours vary.
 * - Shapes are axis-aligned; the ground-truth box is the ideal shape's full box (also where
 *   the object is occluded). Every shape but the star touches all four sides of it in pixels;
 *   the star's thin tips stop 1–4 px short (datasets/README.md).
 * - Sizes cover COCO's small (< 32²), medium (32²–96²) and large (> 96²) areas.
 * - Later objects are drawn over earlier ones; a placement is rejected if it would
 *   leave any earlier object with less than half of its own pixels visible.
 * - Edges are antialiased with 2×2 supersampling; textures live in object-local
 *   pixel coordinates, so they move with the object.
 */
import { Rng } from '../core/rng.js';
import type { BoxXYWH, RgbImage } from '../core/types.js';

export type SynthShape = 'disc' | 'square' | 'triangle' | 'ring' | 'cross' | 'hexagon' | 'diamond' | 'star';
export type SynthTexture = 'solid' | 'h-stripes' | 'dots' | 'checker' | 'v-stripes' | 'diag-stripes' | 'grid' | 'rings';

export interface SynthClass {
  id: number;
  name: SynthShape;
  texture: SynthTexture;
}

/** The synthetic classes, ids 1..8: shape and fill texture differ per class. */
export const SYNTH_CLASSES: readonly SynthClass[] = [
  { id: 1, name: 'disc', texture: 'solid' },
  { id: 2, name: 'square', texture: 'h-stripes' },
  { id: 3, name: 'triangle', texture: 'dots' },
  { id: 4, name: 'ring', texture: 'checker' },
  { id: 5, name: 'cross', texture: 'v-stripes' },
  { id: 6, name: 'hexagon', texture: 'diag-stripes' },
  { id: 7, name: 'diamond', texture: 'grid' },
  { id: 8, name: 'star', texture: 'rings' },
];

export type SynthBackground = 'stripes' | 'checker' | 'noise' | 'mixed';

export interface SynthObject {
  categoryId: number;
  /** Full object box [x, y, w, h], integer pixels, inside the image. */
  bbox: BoxXYWH;
  /** Fraction of the object's own pixels (coverage ≥ ½) still visible in the final image, ≥ 1 − SYNTH_MAX_OCCLUSION. */
  visibleFraction: number;
}

export interface SynthScene {
  image: RgbImage;
  objects: SynthObject[];
  background: string;
}

/** Largest fraction of an object's own pixels that later objects may cover. */
export const SYNTH_MAX_OCCLUSION = 0.5;
export const SYNTH_MIN_OBJECTS = 1;
export const SYNTH_MAX_OBJECTS = 8;
/** Side ranges (px) for small, medium and large objects. */
const SIDE_RANGES: Record<'small' | 'medium' | 'large', [number, number]> = {
  small: [8, 31],
  medium: [33, 95],
  large: [97, 200],
};
const PLACEMENT_TRIES = 30;

type Rgb = [number, number, number];

// ---------------------------------------------------------------- shapes (u, v in [-1, 1])

function insideShape(shape: SynthShape, u: number, v: number): boolean {
  const au = Math.abs(u);
  const av = Math.abs(v);
  switch (shape) {
    case 'disc':
      return u * u + v * v <= 1;
    case 'square':
      return au <= 1 && av <= 1;
    case 'triangle': // apex at the top centre, base along the bottom edge
      return av <= 1 && au <= (v + 1) / 2;
    case 'ring': {
      const r2 = u * u + v * v;
      return r2 <= 1 && r2 >= 0.36;
    }
    case 'cross':
      return au <= 1 && av <= 1 && (au <= 0.34 || av <= 0.34);
    case 'hexagon': // flat top and bottom, points left and right
      return av <= 1 && au + 0.5 * av <= 1;
    case 'diamond':
      return au + av <= 1;
    case 'star': // four-pointed star (superellipse with exponent 0.6)
      return Math.pow(au, 0.6) + Math.pow(av, 0.6) <= 1;
  }
}

/** Texture value 0 (colour A) or 1 (colour B) at object-local pixel centre (lx, ly); p = period px. */
function textureAt(texture: SynthTexture, lx: number, ly: number, w: number, h: number, p: number): number {
  switch (texture) {
    case 'solid':
      return 0;
    case 'h-stripes':
      return Math.floor(ly / p) & 1;
    case 'v-stripes':
      return Math.floor(lx / p) & 1;
    case 'diag-stripes':
      return Math.floor((lx + ly) / p) & 1;
    case 'checker':
      return (Math.floor(lx / p) + Math.floor(ly / p)) & 1;
    case 'grid':
      return lx % p < p / 3 || ly % p < p / 3 ? 1 : 0;
    case 'dots': {
      const dx = (lx % p) - p / 2;
      const dy = (ly % p) - p / 2;
      return dx * dx + dy * dy <= (0.32 * p) ** 2 ? 1 : 0;
    }
    case 'rings': {
      const dx = lx - w / 2;
      const dy = ly - h / 2;
      return Math.floor(Math.sqrt(dx * dx + dy * dy) / p) & 1;
    }
  }
}

// ---------------------------------------------------------------- colours

function hsv(h: number, s: number, v: number): Rgb {
  const hh = (((h % 1) + 1) % 1) * 6;
  const i = Math.floor(hh);
  const f = hh - i;
  const p = v * (1 - s);
  const q = v * (1 - s * f);
  const t = v * (1 - s * (1 - f));
  const table: Rgb[] = [
    [v, t, p],
    [q, v, p],
    [p, v, t],
    [p, q, v],
    [t, p, v],
    [v, p, q],
  ];
  const c = table[i % 6];
  return [c[0] * 255, c[1] * 255, c[2] * 255];
}

/** Two background colours of clear contrast, low saturation. */
function backgroundPair(rng: Rng): [Rgb, Rgb] {
  const hue = rng.next();
  const sat = rng.uniform(0, 0.45);
  const dark = rng.uniform(0.04, 0.45);
  const light = rng.uniform(0.55, 0.97);
  const a = hsv(hue, sat, dark);
  const b = hsv(hue + rng.uniform(-0.15, 0.15), sat, light);
  return rng.next() < 0.5 ? [a, b] : [b, a];
}

// ---------------------------------------------------------------- backgrounds (write t in [0,1] per pixel)

function stripesField(rng: Rng, size: number, out: Float32Array): string {
  const angles = [0, 90, 45, 135];
  const angleDeg = rng.next() < 0.75 ? rng.pick(angles) : rng.uniform(0, 180);
  const periodPx = rng.pick([2, 3, 4, 5, 6, 8, 11, 16]);
  const square = rng.next() < 0.5;
  const c = Math.cos((angleDeg * Math.PI) / 180);
  const s = Math.sin((angleDeg * Math.PI) / 180);
  const k = (2 * Math.PI) / periodPx;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const phase = Math.sin((x * c + y * s) * k);
      out[y * size + x] = square ? (phase >= 0 ? 1 : 0) : 0.5 + 0.5 * phase;
    }
  }
  return `stripes(${square ? 'square' : 'sine'},${Math.round(angleDeg)}deg,${periodPx}px)`;
}

function checkerField(rng: Rng, size: number, out: Float32Array): string {
  const cellPx = rng.pick([1, 2, 3, 4, 6, 8]);
  const rotated = rng.next() < 0.3;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const a = rotated ? x + y : x;
      const b = rotated ? x - y + size : y;
      out[y * size + x] = (Math.floor(a / cellPx) + Math.floor(b / cellPx)) & 1;
    }
  }
  return `checker(${cellPx}px${rotated ? ',45deg' : ''})`;
}

/** Value noise: random values on a grid of `cellPx` spacing, bilinearly interpolated. */
function valueNoise(rng: Rng, size: number, cellPx: number, out: Float32Array): void {
  const g = Math.ceil(size / cellPx) + 2;
  const grid = new Float32Array(g * g);
  for (let i = 0; i < grid.length; i++) grid[i] = rng.next();
  for (let y = 0; y < size; y++) {
    const gy = y / cellPx;
    const y0 = Math.floor(gy);
    const fy = gy - y0;
    for (let x = 0; x < size; x++) {
      const gx = x / cellPx;
      const x0 = Math.floor(gx);
      const fx = gx - x0;
      const i = y0 * g + x0;
      const top = grid[i] + (grid[i + 1] - grid[i]) * fx;
      const bottom = grid[i + g] + (grid[i + g + 1] - grid[i + g]) * fx;
      out[y * size + x] = top + (bottom - top) * fy;
    }
  }
}

function noiseField(rng: Rng, size: number, out: Float32Array): string {
  const cellPx = rng.pick([1, 2, 3, 4, 8]);
  valueNoise(rng, size, cellPx, out);
  return `noise(${cellPx}px)`;
}

function fillBackground(rng: Rng, size: number, data: Uint8Array): string {
  const kind: SynthBackground = rng.pick(['stripes', 'checker', 'noise', 'mixed'] as const);
  const n = size * size;
  const t = new Float32Array(n);
  const [c0, c1] = backgroundPair(rng);
  const single = (r: Rng, field: Float32Array): string => {
    const which = r.pick(['stripes', 'checker', 'noise'] as const);
    if (which === 'stripes') return stripesField(r, size, field);
    if (which === 'checker') return checkerField(r, size, field);
    return noiseField(r, size, field);
  };
  let description: string;
  if (kind === 'stripes') description = stripesField(rng, size, t);
  else if (kind === 'checker') description = checkerField(rng, size, t);
  else if (kind === 'noise') description = noiseField(rng, size, t);
  else {
    // two patterns blended by a smooth low-frequency mask
    const a = single(rng, t);
    const other = new Float32Array(n);
    const b = single(rng, other);
    const mask = new Float32Array(n);
    valueNoise(rng, size, rng.pick([32, 48, 64]), mask);
    for (let i = 0; i < n; i++) {
      const m = Math.min(1, Math.max(0, (mask[i] - 0.5) * 4 + 0.5));
      t[i] = t[i] * (1 - m) + other[i] * m;
    }
    description = `mixed(${a}+${b})`;
  }
  for (let i = 0; i < n; i++) {
    const v = t[i];
    data[i * 3] = Math.round(c0[0] + (c1[0] - c0[0]) * v);
    data[i * 3 + 1] = Math.round(c0[1] + (c1[1] - c0[1]) * v);
    data[i * 3 + 2] = Math.round(c0[2] + (c1[2] - c0[2]) * v);
  }
  return description;
}

// ---------------------------------------------------------------- objects

function sampleSize(rng: Rng, sizePx: number): [number, number] {
  const maxSide = Math.floor(sizePx * 0.8);
  const r = rng.next();
  let range = r < 0.35 ? SIDE_RANGES.small : r < 0.75 ? SIDE_RANGES.medium : SIDE_RANGES.large;
  if (range[0] > maxSide) range = SIDE_RANGES.small;
  const hi = Math.min(range[1], maxSide);
  const side = Math.exp(rng.uniform(Math.log(range[0]), Math.log(hi)));
  const aspect = Math.exp(rng.uniform(Math.log(0.67), Math.log(1.5)));
  const w = Math.max(8, Math.min(sizePx, Math.round(side * Math.sqrt(aspect))));
  const h = Math.max(8, Math.min(sizePx, Math.round(side / Math.sqrt(aspect))));
  return [w, h];
}

/** Coverage 0..4 (of 2×2 subsamples inside the shape) per pixel of a w×h box, row-major. */
export function shapeCoverage(shape: SynthShape, w: number, h: number): Uint8Array {
  const cov = new Uint8Array(w * h);
  const offsets = [0.25, 0.75];
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let c = 0;
      for (const oy of offsets) {
        const v = ((y + oy) / h) * 2 - 1;
        for (const ox of offsets) {
          if (insideShape(shape, ((x + ox) / w) * 2 - 1, v)) c++;
        }
      }
      cov[y * w + x] = c;
    }
  }
  return cov;
}

/**
 * Renders one scene of `sizePx`×`sizePx` pixels from `rng`. Deterministic: the same
 * rng state and size give the same pixels and boxes.
 */
export function renderSynthScene(rng: Rng, sizePx: number): SynthScene {
  const data = new Uint8Array(sizePx * sizePx * 3);
  const background = fillBackground(rng.fork(1), sizePx, data);
  const objRng = rng.fork(2);
  const target = objRng.int(SYNTH_MIN_OBJECTS, SYNTH_MAX_OBJECTS);
  const owner = new Int16Array(sizePx * sizePx).fill(-1);
  const owned: number[] = [];
  const total: number[] = [];
  const objects: SynthObject[] = [];
  for (let k = 0; k < target; k++) {
    const cls = objRng.pick(SYNTH_CLASSES);
    const [w, h] = sampleSize(objRng, sizePx);
    const cov = shapeCoverage(cls.name, w, h);
    const colourA = hsv(objRng.next(), objRng.uniform(0.6, 1), objRng.uniform(0.7, 1));
    const colourB = hsv(objRng.next(), objRng.uniform(0.3, 1), objRng.uniform(0.1, 0.45));
    const periodPx = Math.max(2, Math.min(16, Math.round(Math.min(w, h) / 5)));
    let placed: [number, number] | null = null;
    for (let attempt = 0; attempt < PLACEMENT_TRIES && placed === null; attempt++) {
      const x0 = objRng.int(0, sizePx - w);
      const y0 = objRng.int(0, sizePx - h);
      const taken = new Map<number, number>();
      for (let y = 0; y < h; y++) {
        const row = (y0 + y) * sizePx + x0;
        for (let x = 0; x < w; x++) {
          if (cov[y * w + x] < 2) continue;
          const o = owner[row + x];
          if (o >= 0) taken.set(o, (taken.get(o) ?? 0) + 1);
        }
      }
      let ok = true;
      for (const [o, n] of taken) {
        if (owned[o] - n < (1 - SYNTH_MAX_OCCLUSION) * total[o]) ok = false;
      }
      if (ok) {
        for (const [o, n] of taken) owned[o] -= n;
        placed = [x0, y0];
      }
    }
    if (placed === null) continue;
    const [x0, y0] = placed;
    const index = objects.length;
    let count = 0;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const c = cov[y * w + x];
        if (c === 0) continue;
        const p = (y0 + y) * sizePx + x0 + x;
        const col = textureAt(cls.texture, x + 0.5, y + 0.5, w, h, periodPx) ? colourB : colourA;
        const a = c / 4;
        for (let ch = 0; ch < 3; ch++) {
          data[p * 3 + ch] = Math.round(data[p * 3 + ch] * (1 - a) + col[ch] * a);
        }
        if (c >= 2) {
          owner[p] = index;
          count++;
        }
      }
    }
    owned.push(count);
    total.push(count);
    objects.push({ categoryId: cls.id, bbox: [x0, y0, w, h], visibleFraction: 1 });
  }
  objects.forEach((o, i) => (o.visibleFraction = owned[i] / total[i]));
  return { image: { data, width: sizePx, height: sizePx }, objects, background };
}
