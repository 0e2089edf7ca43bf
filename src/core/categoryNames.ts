/**
 * Category names across a detector and a dataset: a category id means the same object only when both name it the
 * same. Names compare case-blind, without spaces, underscores or hyphens, and the COCO names also in the spellings of
 * Darknet's coco.names (the VOC-era names many YOLO models ship with).
 */
import type { CocoCategory } from './types.js';

/** Darknet's spellings of COCO names → the COCO name (both compared in normalised form). */
const COCO_ALIASES: Readonly<Record<string, string>> = {
  motorbike: 'motorcycle',
  aeroplane: 'airplane',
  sofa: 'couch',
  tvmonitor: 'tv',
};

/** A category name in the form names are compared in (see the file comment). */
export function normaliseCategoryName(name: string): string {
  const n = name.toLowerCase().replace(/[\s_-]+/g, '');
  return COCO_ALIASES[n] ?? n;
}

/** Whether two category names name the same category (see the file comment). */
export function sameCategoryName(a: string, b: string): boolean {
  return normaliseCategoryName(a) === normaliseCategoryName(b);
}

/** One id that a detector and a dataset both have, under different names. */
export interface ClassNameMismatch {
  id: number;
  detector: string;
  dataset: string;
}

/** The ids both lists have whose names differ (an id only one side has is no mismatch), in the detector's order. */
export function classNameMismatches(
  detector: readonly Pick<CocoCategory, 'id' | 'name'>[],
  dataset: readonly Pick<CocoCategory, 'id' | 'name'>[],
): ClassNameMismatch[] {
  const byId = new Map(dataset.map((c) => [c.id, c.name]));
  const out: ClassNameMismatch[] = [];
  for (const c of detector) {
    const theirs = byId.get(c.id);
    if (theirs !== undefined && !sameCategoryName(c.name, theirs))
      out.push({ id: c.id, detector: c.name, dataset: theirs });
  }
  return out;
}
