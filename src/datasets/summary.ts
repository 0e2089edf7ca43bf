/** Counts for `datasets check`: boxes per category and per COCO area range. */
import type { Dataset } from '../core/types.js';
import { decodeDatasetImage } from './decode.js';

export interface DatasetSummary {
  name: string;
  kind: Dataset['kind'];
  source: string;
  images: number;
  /** Null for label-free datasets. */
  boxes: number | null;
  crowd: number | null;
  imagesWithoutBoxes: number | null;
  /** COCO area ranges: small < 32², medium 32²–96², large > 96² (of `area`). */
  areaRanges: { small: number; medium: number; large: number } | null;
  perCategory: { id: number; name: string; boxes: number; images: number }[];
  hash: string;
}

/** Summarises a loaded dataset: boxes per category and per COCO area range (crowd boxes included in counts). */
export function summarizeDataset(dataset: Dataset): DatasetSummary {
  const gt = dataset.groundTruth;
  const base = {
    name: dataset.name,
    kind: dataset.kind,
    source: dataset.source,
    images: dataset.images.length,
    hash: dataset.hash,
  };
  if (gt === null)
    return { ...base, boxes: null, crowd: null, imagesWithoutBoxes: null, areaRanges: null, perCategory: [] };
  const areaRanges = { small: 0, medium: 0, large: 0 };
  const boxes = new Map<number, number>();
  const images = new Map<number, Set<number>>();
  const withBoxes = new Set<number>();
  let crowd = 0;
  for (const a of gt.annotations) {
    if (a.area < 32 * 32) areaRanges.small++;
    else if (a.area <= 96 * 96) areaRanges.medium++;
    else areaRanges.large++;
    if (a.iscrowd === 1) crowd++;
    boxes.set(a.category_id, (boxes.get(a.category_id) ?? 0) + 1);
    if (!images.has(a.category_id)) images.set(a.category_id, new Set());
    images.get(a.category_id)!.add(a.image_id);
    withBoxes.add(a.image_id);
  }
  return {
    ...base,
    boxes: gt.annotations.length,
    crowd,
    imagesWithoutBoxes: gt.images.filter((im) => !withBoxes.has(im.id)).length,
    areaRanges,
    perCategory: gt.categories.map((c) => ({
      id: c.id,
      name: c.name,
      boxes: boxes.get(c.id) ?? 0,
      images: images.get(c.id)?.size ?? 0,
    })),
  };
}

/** An image a run would skip, and why. */
export interface UnusableImage {
  imageId: number;
  fileName: string;
  reason: string;
}

/** Images decoded at once by findUnusableImages (each is held as full RGB until checked). */
const DECODE_BATCH = 4;

/**
 * Every image of a dataset that a run would skip, found by decoding each one fully as a run does
 * (decodeDatasetImage): a loader's reason (an EXIF orientation its labels cannot follow), a file outside the image
 * folder, a file that does not decode — a truncated or corrupt one whose header reads fine included — or a stored
 * size other than the annotated one. The reason is the run's own skip message. `datasets check` lists them before a
 * run finds out.
 */
export async function findUnusableImages(dataset: Dataset): Promise<UnusableImage[]> {
  const out: UnusableImage[] = [];
  for (let i = 0; i < dataset.images.length; i += DECODE_BATCH) {
    const batch = dataset.images.slice(i, i + DECODE_BATCH);
    const reasons = await Promise.all(
      batch.map((im) =>
        decodeDatasetImage(im).then(
          () => null,
          (err: unknown) => (err instanceof Error ? err.message : String(err)),
        ),
      ),
    );
    batch.forEach((im, k) => {
      const reason = reasons[k];
      if (reason !== null) out.push({ imageId: im.id, fileName: im.fileName, reason });
    });
  }
  return out;
}
