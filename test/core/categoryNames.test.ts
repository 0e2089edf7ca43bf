/**
 * Category ids mean nothing across a detector and a dataset unless their names agree: a run refuses a detector whose
 * class names differ from the dataset's for the same ids (it would score persons as discs), and the COCO names match
 * in any common spelling (Darknet's coco.names: motorbike, aeroplane, sofa, pottedplant, diningtable, tvmonitor).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { COCO_CATEGORIES } from '../../src/core/coco.js';
import { classNameMismatches, sameCategoryName } from '../../src/core/categoryNames.js';
import { yoloCategories } from '../../src/datasets/yolo.js';
import { runBenchmark, type RunnerEnv } from '../../src/runner/index.js';
import { fakeInfo, gtDetector, makeDataset, tempDir } from '../runner/fixtures.js';

const DARKNET = [
  ...COCO_CATEGORIES.map((c) => c.name).slice(0, 3),
  'motorbike',
  'aeroplane',
  ...COCO_CATEGORIES.map((c) => c.name).slice(5, 57),
  'sofa',
  'pottedplant',
  'bed',
  'diningtable',
  'toilet',
  'tvmonitor',
  ...COCO_CATEGORIES.map((c) => c.name).slice(63),
];

describe('category names', () => {
  it('the same name in any common spelling: case, spaces, underscores, hyphens, Darknet COCO names', () => {
    expect(sameCategoryName('Traffic Light', 'traffic_light')).toBe(true);
    expect(sameCategoryName('motorbike', 'motorcycle')).toBe(true);
    expect(sameCategoryName('tvmonitor', 'tv')).toBe(true);
    expect(sameCategoryName('disc', 'person')).toBe(false);
    expect(sameCategoryName('sofa', 'bed')).toBe(false);
  });

  it("a YOLO folder with Darknet's coco.names gets the official COCO ids", () => {
    expect(DARKNET).toHaveLength(80);
    expect(yoloCategories(DARKNET).map((c) => c.id)).toEqual(COCO_CATEGORIES.map((c) => c.id));
    expect(yoloCategories(['a', 'b']).map((c) => c.id)).toEqual([1, 2]);
  });

  it('the shared models ship Darknet names beside them, and they are the COCO 80', async () => {
    const file = path.join(import.meta.dirname, '../../../shared/models/yolox-nano/coco.names');
    const names = await readFile(file, 'utf8').then(
      (t) => t.split('\n').filter((l) => l.trim() !== ''),
      () => null,
    );
    if (names === null) return; // ../shared absent: the list above is the same file's content
    expect(yoloCategories(names).map((c) => c.id)).toEqual(COCO_CATEGORIES.map((c) => c.id));
  });

  it('mismatches: ids both sides have, with different names; ids one side lacks are no mismatch', () => {
    expect(
      classNameMismatches(
        [
          { id: 1, name: 'disc' },
          { id: 2, name: 'square' },
          { id: 99, name: 'star' },
        ],
        [
          { id: 1, name: 'person' },
          { id: 2, name: 'Square' },
          { id: 3, name: 'car' },
        ],
      ),
    ).toEqual([{ id: 1, detector: 'disc', dataset: 'person' }]);
  });
});

describe('a run whose detector names its classes otherwise than the dataset does', () => {
  it('is refused before any image is run, naming the detector, the dataset, the ids and the fix', async () => {
    const root = await tempDir('shiftbench-classes-');
    const ds = await makeDataset(path.join(root, 'ds'), 3, { seed: 5 });
    const base = gtDetector('plug', ds.gt);
    let calls = 0;
    const env: Partial<RunnerEnv> = {
      loadDetector: async () => ({
        ...base,
        info: fakeInfo('plug', {
          classes: [
            { id: 1, name: 'person' },
            { id: 2, name: 'bicycle' },
          ],
        }),
        detect: async (...a: Parameters<typeof base.detect>) => {
          calls++;
          return base.detect(...a);
        },
      }),
      listModels: async () => [],
      describeDetector: async (spec) => ({ kind: 'test detector', spec }),
    };
    const e = (await runBenchmark(
      { models: ['plug'], dataset: ds.file, out: path.join(root, 'out'), bootstrapResamples: 20 },
      { env },
    ).catch((err) => err)) as { code: string; message: string };
    expect(e.code).toBe('ERR_DATASET');
    expect(e.message).toContain('plug');
    expect(e.message).toContain(ds.file);
    expect(e.message).toContain("id 1 is 'person' for the detector but 'disc' in the dataset");
    expect(e.message).toContain("id 2 is 'bicycle' for the detector but 'square' in the dataset");
    expect(calls).toBe(0);
  });
});
