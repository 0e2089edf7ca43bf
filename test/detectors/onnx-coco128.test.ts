/**
 * Correctness of the ONNX decoders on real photos: each ../shared model over all 128
 * coco128 images, fitted as the model was trained (entry.fit), detections projected back
 * to the photo and scored with the project's COCO evaluation. coco128 images are
 * training images of these models, so the numbers are optimistic; the targets only
 * catch decoding mistakes (a wrong layout or formula drops mAP to near 0).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { loadDetector, readRegistry } from '../../src/detectors/index.js';
import { evaluateCoco } from '../../src/metrics/index.js';
import type { CocoGroundTruth, CocoResult, ModelEntry } from '../../src/core/types.js';
import { describeShared, REPO_ROOT, sharedPath } from '../helpers/shared.js';

const REGISTRY = path.join(REPO_ROOT, 'test/fixtures/registry-shared.json');
/** mAP@[.5:.95] floors over coco128 (measured: about 0.21, 0.18, 0.31, 0.31, 0.34 — YOLOX-nano: AP50 0.52, as ../shared/models/README.md reports). */
const TARGETS: Record<string, number> = {
  fastestdet: 0.15,
  'yolo-fastestv2': 0.12,
  'nanodet-m-416': 0.15,
  'nanodet-m-320': 0.15,
  'yolox-nano': 0.3,
};

/** Fits a photo into the model input: stretch, or letterbox placed top-left with the pad value. */
async function fit(file: string, im: { width: number; height: number }, entry: ModelEntry) {
  const { width: W, height: H } = entry.inputSizePx;
  if (entry.fit === 'stretch') {
    const data = await sharp(file).resize(W, H, { fit: 'fill' }).removeAlpha().raw().toBuffer();
    return { data, scaleX: W / im.width, scaleY: H / im.height };
  }
  const r = Math.min(W / im.width, H / im.height);
  const w = Math.round(im.width * r);
  const h = Math.round(im.height * r);
  const [pr, pg, pb] = entry.padValue ?? [0, 0, 0];
  const data = await sharp(file)
    .resize(w, h, { fit: 'fill' })
    .removeAlpha()
    .extend({ top: 0, left: 0, right: W - w, bottom: H - h, background: { r: pr, g: pg, b: pb } })
    .raw()
    .toBuffer();
  return { data, scaleX: w / im.width, scaleY: h / im.height };
}

describeShared(
  'ONNX decoders on coco128 (COCO mAP)',
  ['models/README.md', 'data/coco128/annotations/instances_bbox_only.json'],
  () => {
    const entries = readRegistry([REGISTRY]);
    for (const [name, target] of Object.entries(TARGETS)) {
      it(`${name}: mAP@[.5:.95] ≥ ${target} over the 128 images`, async () => {
        const gt = JSON.parse(
          readFileSync(sharedPath('data/coco128/annotations/instances_bbox_only.json')!, 'utf8'),
        ) as CocoGroundTruth;
        const entry = entries.find((e) => e.name === name)!;
        const det = await loadDetector(name, { registryFiles: [REGISTRY] });
        const results: CocoResult[] = [];
        for (const im of gt.images) {
          const f = await fit(path.join(sharedPath('data/coco128/images')!, im.file_name), im, entry);
          const [dets] = await det.detect([
            { data: new Uint8Array(f.data), width: entry.inputSizePx.width, height: entry.inputSizePx.height },
          ]);
          for (const d of dets) {
            results.push({
              image_id: im.id,
              category_id: d.categoryId,
              score: d.score,
              bbox: [d.bbox[0] / f.scaleX, d.bbox[1] / f.scaleY, d.bbox[2] / f.scaleX, d.bbox[3] / f.scaleY],
            });
          }
        }
        await det.dispose();
        const { stats } = evaluateCoco(gt, results);
        process.stderr.write(
          `[coco128] ${name} (${entry.fit}): mAP ${stats[0].toFixed(4)}  AP50 ${stats[1].toFixed(4)}  AP75 ${stats[2].toFixed(4)}  (${results.length} detections)\n`,
        );
        expect(stats[0]).toBeGreaterThanOrEqual(target);
      }, 600_000);
    }
  },
);

describe('coco128 targets', () => {
  it('cover every ../shared model of the fixture registry', () => {
    expect(Object.keys(TARGETS).sort()).toEqual(
      readRegistry([REGISTRY])
        .map((e) => e.name)
        .sort(),
    );
  });
});
