/**
 * Val mAP of a zoo model the way the harness sees it: the ONNX file through
 * `loadDetector` (onnxruntime-node, decoder 'torchvision'), every image of a COCO split
 * at shift 0, scored by the project's pycocotools-exact `evaluateCoco`.
 * Used by record_map.ts (writes meta.valMap) and test/zoo/zoo.test.ts (checks it).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { CocoGroundTruth, CocoResult, Detector } from '../../../src/core/types.js';
import { decodeImage } from '../../../src/datasets/index.js';
import { loadDetector } from '../../../src/detectors/index.js';
import { evaluateCoco } from '../../../src/metrics/index.js';

/** Images of the synth val split that the zoo's valMap is measured on (the whole split of `datasets synth --val 200`). */
export const ZOO_VAL_IMAGES = 200;

export interface ZooEval {
  /** COCO mAP@[.5:.95], 0–1. */
  valMap: number;
  /** AP@.5, 0–1. */
  valAp50: number;
  images: number;
  seconds: number;
}

/**
 * Runs model `name` (a registry name, e.g. 'zoo-fcos') on the split whose annotation file
 * is `<splitDir>/instances.json` and images `<splitDir>/images/`. Images must already have
 * the model's input size (the synth split and the zoo share 256 px). Score threshold 0.001.
 * @throws ShiftbenchError from loadDetector / evaluateCoco; Error if an image has another size.
 */
export async function evaluateZooModel(
  name: string,
  splitDir: string,
  opts: { threads?: number } = {},
): Promise<ZooEval> {
  const gt = JSON.parse(await readFile(path.join(splitDir, 'instances.json'), 'utf8')) as CocoGroundTruth;
  const t0 = performance.now();
  const detector: Detector = await loadDetector(name, { threads: opts.threads ?? 1, scoreThreshold: 0.001 });
  const results: CocoResult[] = [];
  try {
    const { width, height } = detector.info.inputSizePx;
    for (const image of [...gt.images].sort((a, b) => a.id - b.id)) {
      if (image.width !== width || image.height !== height) {
        throw new Error(
          `zoo eval: image ${image.file_name} is ${image.width}x${image.height}, model ${name} wants ${width}x${height}`,
        );
      }
      const rgb = await decodeImage(path.join(splitDir, 'images', image.file_name), { width, height });
      const [dets] = await detector.detect([rgb]);
      for (const d of dets)
        results.push({ image_id: image.id, category_id: d.categoryId, bbox: d.bbox, score: d.score });
    }
  } finally {
    await detector.dispose();
  }
  const coco = evaluateCoco(gt, results);
  return {
    valMap: coco.stats[0],
    valAp50: coco.stats[1],
    images: gt.images.length,
    seconds: (performance.now() - t0) / 1000,
  };
}
