import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import type { CocoGroundTruth, CocoResult, Shift } from '../../src/core/types.js';
import { flattenDetectionColumns, flattenDetections, indexGroundTruth } from '../../src/metrics/cocoeval.js';
import { DetectionStore } from '../../src/metrics/detectionStore.js';
import { prepareBoundsFromSource } from '../../src/metrics/greedy/index.js';

/** Ground truth of `images` images (ids not in order of the detections), 4 categories, a few boxes each. */
function groundTruth(rng: Rng, images: number): CocoGroundTruth {
  const ims = Array.from({ length: images }, (_, i) => ({
    id: 7 + 5 * i,
    file_name: `${i}.png`,
    width: 100,
    height: 100,
  }));
  const annotations = ims.flatMap((im, i) =>
    Array.from({ length: 1 + (i % 3) }, (_, k) => ({
      id: 1 + 10 * i + k,
      image_id: im.id,
      category_id: 1 + ((i + k) % 4),
      bbox: [rng.uniform(0, 50), rng.uniform(0, 50), rng.uniform(5, 40), rng.uniform(5, 40)] as [
        number,
        number,
        number,
        number,
      ],
      area: 400,
      iscrowd: (k === 2 ? 1 : 0) as 0 | 1,
    })),
  );
  return { images: ims, annotations, categories: [1, 2, 3, 4].map((id) => ({ id, name: `c${id}` })) };
}

/**
 * Detections per image: tied scores, a category the ground truth lacks (9: skipped), one image with 130 detections of
 * one category (cut to maxDets 100), one image with none.
 */
function detections(rng: Rng, gt: CocoGroundTruth): Map<number, CocoResult[]> {
  const out = new Map<number, CocoResult[]>();
  gt.images.forEach((im, i) => {
    if (i === 3) return;
    const n = i === 1 ? 130 : rng.int(1, 12);
    out.set(
      im.id,
      Array.from({ length: n }, () => ({
        image_id: im.id,
        category_id: i === 1 ? 2 : rng.pick([1, 2, 3, 4, 9]),
        bbox: [rng.uniform(0, 60), rng.uniform(0, 60), rng.uniform(2, 40), rng.uniform(2, 40)],
        score: rng.next() < 0.4 ? rng.pick([0.5, 0.25]) : rng.next(),
      })),
    );
  });
  return out;
}

/** The detections in a DetectionStore, images stored in reverse id order, and as columns over it. */
function stored(byImage: Map<number, CocoResult[]>) {
  const store = new DetectionStore(4);
  const ids = [...byImage.keys()].reverse();
  const starts: number[] = [];
  const ends: number[] = [];
  for (const id of ids) {
    starts.push(store.append(byImage.get(id)!));
    ends.push(store.count);
  }
  return { store, columns: store.columns(ids, starts, ends), objects: ids.flatMap((id) => byImage.get(id)!) };
}

describe('detections as columns (no objects)', () => {
  it('flattenDetectionColumns groups exactly as flattenDetections: maxDets cut, tied scores, unknown categories', () => {
    const rng = new Rng(11);
    const gt = groundTruth(rng, 12);
    const idx = indexGroundTruth(gt);
    const { columns, objects } = stored(detections(rng, gt));
    const a = flattenDetectionColumns(columns, idx, 100);
    const b = flattenDetections(objects, idx, 100);
    expect(a).toEqual(b);
    // the cut and the skipped category happened: 130 detections of one cell kept as 100, category 9 left out
    const cellSizes = Array.from(a.keys, (_, c) => a.start[c + 1] - a.start[c]);
    expect(Math.max(...cellSizes)).toBe(100);
    expect(a.scores.length).toBeLessThan(objects.length - 30);
  });

  it('prepareBoundsFromSource gives the same prepared case from columns as from objects', () => {
    const rng = new Rng(12);
    const gt = groundTruth(rng, 15);
    const shifts: Shift[] = [
      { dx: 0, dy: 0 },
      { dx: 1, dy: 0 },
      { dx: 0, dy: 1 },
    ];
    const perShift = shifts.map(() => stored(detections(rng, gt)));
    const fromObjects = prepareBoundsFromSource(gt, shifts, (s) => perShift[s].objects);
    const fromColumns = prepareBoundsFromSource(gt, shifts, (s) => perShift[s].columns);
    expect(fromColumns).toEqual(fromObjects);
    expect(fromColumns.detScore.length).toBeGreaterThan(100);
  });

  it('names the shift, the image and the detection of a score that is not a finite number', () => {
    const rng = new Rng(13);
    const gt = groundTruth(rng, 6);
    const byImage = detections(rng, gt);
    const { store, columns } = stored(byImage);
    store.scores[2] = Number.NaN; // the third detection of the first image stored (the last id)
    const id = [...byImage.keys()].reverse()[0];
    expect(() => prepareBoundsFromSource(gt, [{ dx: 0, dy: 0 }], () => columns)).toThrow(
      new RegExp(`detection 2 of image ${id} in detections of shift 0 .*score NaN`),
    );
  });

  it('names image ids that the ground truth does not have', () => {
    const rng = new Rng(14);
    const gt = groundTruth(rng, 6);
    const { store } = stored(detections(rng, gt));
    const cols = store.columns([7, 4242], [0, 1], [1, 2]);
    expect(() => flattenDetectionColumns(cols, indexGroundTruth(gt), 100, 'detections of shift 3')).toThrow(
      /Detections of shift 3 name image ids that are not in the ground truth: 4242\b/,
    );
  });
});
