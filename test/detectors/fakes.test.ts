import { describe, expect, it } from 'vitest';
import { loadDetector } from '../../src/detectors/index.js';
import { greedyBounds } from '../../src/metrics/index.js';
import { Rng } from '../../src/core/rng.js';
import type { CocoGroundTruth, CocoResult, DetectContext, Detector, RgbImage, Shift } from '../../src/core/types.js';
import { rejection } from '../helpers/shared.js';

/** A small synthetic ground truth: 12 images of 200×150 with 1–5 boxes of 3 categories. */
function makeGroundTruth(): CocoGroundTruth {
  const rng = new Rng(3);
  const gt: CocoGroundTruth = {
    images: [],
    annotations: [],
    categories: [1, 2, 3].map((id) => ({ id, name: `c${id}` })),
  };
  let annId = 1;
  for (let i = 1; i <= 12; i++) {
    gt.images.push({ id: i, file_name: `${i}.png`, width: 200, height: 150 });
    const n = rng.int(1, 5);
    for (let k = 0; k < n; k++) {
      const w = rng.uniform(10, 80),
        h = rng.uniform(10, 60);
      const bbox: [number, number, number, number] = [rng.uniform(0, 200 - w), rng.uniform(0, 150 - h), w, h];
      gt.annotations.push({ id: annId++, image_id: i, category_id: rng.int(1, 3), bbox, area: w * h, iscrowd: 0 });
    }
  }
  return gt;
}

const SHIFTS: Shift[] = [
  { dx: 0, dy: 0 },
  { dx: 1, dy: 0 },
  { dx: 0, dy: 1 },
  { dx: 1, dy: 1 },
];
const INPUT = 416;

/** pad mode (protocol §1): stretch into (416 − K)², paste at (dx, dy); detections projected back. */
async function runPadMode(det: Detector, gt: CocoGroundTruth): Promise<CocoResult[][]> {
  const K = 1;
  const blank: RgbImage = { width: INPUT, height: INPUT, data: new Uint8Array(INPUT * INPUT * 3) };
  const perShift: CocoResult[][] = [];
  for (const shift of SHIFTS) {
    const results: CocoResult[] = [];
    const contexts: DetectContext[] = gt.images.map((im) => ({
      imageId: im.id,
      shift,
      transform: {
        scaleX: (INPUT - K) / im.width,
        scaleY: (INPUT - K) / im.height,
        offsetX: shift.dx,
        offsetY: shift.dy,
      },
    }));
    const out = await det.detect(
      contexts.map(() => blank),
      contexts,
    );
    out.forEach((dets, i) => {
      const t = contexts[i].transform;
      for (const d of dets) {
        results.push({
          image_id: contexts[i].imageId,
          category_id: d.categoryId,
          score: d.score,
          bbox: [
            (d.bbox[0] - t.offsetX) / t.scaleX,
            (d.bbox[1] - t.offsetY) / t.scaleY,
            d.bbox[2] / t.scaleX,
            d.bbox[3] / t.scaleY,
          ],
        });
      }
    });
    perShift.push(results);
  }
  return perShift;
}

describe('oracle', () => {
  it('returns the ground truth mapped into input pixels, moving exactly with the shift', async () => {
    const gt = makeGroundTruth();
    const det = await loadDetector('oracle', { groundTruth: gt });
    expect(det.info).toMatchObject({
      name: 'oracle',
      runtime: 'fake',
      maxBatch: 64,
      inputSizePx: { width: 416, height: 416 },
      family: { stages: 'one-stage', anchors: 'anchor-free' },
    });
    const t = { scaleX: 2, scaleY: 2, offsetX: 3, offsetY: 1 };
    const [dets] = await det.detect(
      [{ width: 416, height: 416, data: new Uint8Array(416 * 416 * 3) }],
      [{ imageId: 1, shift: { dx: 3, dy: 1 }, transform: t }],
    );
    const anns = gt.annotations.filter((a) => a.image_id === 1);
    expect(dets).toHaveLength(anns.length);
    for (const a of anns) {
      const d = dets.find((x) => Math.abs(x.bbox[0] - (a.bbox[0] * 2 + 3)) < 1e-9)!;
      expect(d.bbox).toEqual(
        [a.bbox[0] * 2 + 3, a.bbox[1] * 2 + 1, a.bbox[2] * 2, a.bbox[3] * 2].map((v) => expect.closeTo(v, 9)),
      );
      expect(d.categoryId).toBe(a.category_id);
      expect(d.score).toBeGreaterThanOrEqual(0.5);
      expect(d.score).toBeLessThan(1);
    }
  });
  it('scores mapRange = 0 and mAP 1 in pad mode', async () => {
    const gt = makeGroundTruth();
    const dets = await runPadMode(await loadDetector('oracle', { groundTruth: gt }), gt);
    const b = greedyBounds({ gt, shifts: SHIFTS, dets });
    expect(b!.mapRange).toBe(0);
    expect(b!.mapRef).toBeCloseTo(1, 12);
  });
  it('clips boxes to the input', async () => {
    const gt = makeGroundTruth();
    const det = await loadDetector('oracle:100x80', { groundTruth: gt });
    expect(det.info.inputSizePx).toEqual({ width: 100, height: 80 });
    const [dets] = await det.detect(
      [{ width: 100, height: 80, data: new Uint8Array(100 * 80 * 3) }],
      [{ imageId: 1, shift: { dx: 0, dy: 0 }, transform: { scaleX: 1, scaleY: 1, offsetX: -50, offsetY: -50 } }],
    );
    for (const d of dets) {
      expect(d.bbox[0]).toBeGreaterThanOrEqual(0);
      expect(d.bbox[1]).toBeGreaterThanOrEqual(0);
      expect(d.bbox[0] + d.bbox[2]).toBeLessThanOrEqual(100);
      expect(d.bbox[1] + d.bbox[3]).toBeLessThanOrEqual(80);
    }
  });
});

describe('jitter', () => {
  it('is deterministic for a seed, differs across shifts and seeds, and has mapRange > 0', async () => {
    const gt = makeGroundTruth();
    const a = await runPadMode(await loadDetector('jitter', { groundTruth: gt, seed: 1 }), gt);
    const b = await runPadMode(await loadDetector('jitter', { groundTruth: gt, seed: 1 }), gt);
    const c = await runPadMode(await loadDetector('jitter', { groundTruth: gt, seed: 2 }), gt);
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    expect(a[0]).not.toEqual(a[1]);
    const bounds = greedyBounds({ gt, shifts: SHIFTS, dets: a });
    expect(bounds!.mapRange).toBeGreaterThan(0.01);
    expect(bounds!.mapRef).toBeGreaterThan(0.3);
    expect(bounds!.mapRef).toBeLessThan(1);
  });
});

describe('fake errors', () => {
  it('needs ground truth', async () => {
    const err = await rejection(loadDetector('oracle', {}));
    expect(err.code).toBe('ERR_INVALID_OPTION');
    expect(err.message).toBe(
      'Fake detector "oracle" reports the dataset\'s ground truth, so it needs a dataset with labels (COCO or YOLO annotations); this one has none',
    );
  });
  it('needs one context per input', async () => {
    const det = await loadDetector('jitter', { groundTruth: makeGroundTruth() });
    const img = { width: 416, height: 416, data: new Uint8Array(416 * 416 * 3) };
    const err = await rejection(det.detect([img]));
    expect(err.code).toBe('ERR_INVALID_OPTION');
    expect(err.message).toBe(
      'Expected one DetectContext (imageId, shift, transform) per input (1) for contexts of fake detector "jitter" but received undefined',
    );
  });
  it('rejects a bad size', async () => {
    const err = await rejection(loadDetector('oracle:huge', { groundTruth: makeGroundTruth() }));
    expect(err.message).toBe(
      'Expected WIDTH or WIDTHxHEIGHT in 16…8192 (e.g. oracle:512 or oracle:640x480) for the size of fake detector "oracle" but received "oracle:huge"',
    );
  });
});
