import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDataset } from '../../src/datasets/load.js';
import { evaluateCoco } from '../../src/metrics/cocoeval.js';

let tmp: string;
let fixture = 0;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'shiftbench-yolo-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** A YOLO folder: images/a.png (100×50), classes cat and dog, labels/a.txt holding `labels`. */
async function yoloFolder(labels: string): Promise<string> {
  const dir = path.join(tmp, `yolo${fixture++}`);
  await mkdir(path.join(dir, 'images'), { recursive: true });
  await mkdir(path.join(dir, 'labels'), { recursive: true });
  await sharp({ create: { width: 100, height: 50, channels: 3, background: { r: 10, g: 20, b: 30 } } })
    .png()
    .toFile(path.join(dir, 'images', 'a.png'));
  await writeFile(path.join(dir, 'labels', 'a.txt'), labels);
  await writeFile(path.join(dir, 'classes.txt'), 'cat\ndog\n');
  return dir;
}

describe('YOLO labels: duplicate lines', () => {
  it('a box written twice in one label file is one object (as Ultralytics reads it), with a warning naming file:line', async () => {
    // lines 1 and 3 are the same cat box; line 2 is a dog box at the same place (another object); line 4 the same cat
    // box as a polygon (its bounding box is the box of line 1)
    const dir = await yoloFolder(
      '0 0.5 0.5 0.2 0.4\n1 0.5 0.5 0.2 0.4\n0 0.50 0.5 0.2 0.4\n0 0.4 0.3 0.6 0.3 0.6 0.7 0.4 0.7\n',
    );
    const warned: string[] = [];
    const ds = await loadDataset({ dataset: dir }, { info: () => undefined, warn: (m: string) => warned.push(m) });
    const anns = ds.groundTruth!.annotations;
    // 100×50 image: cx 0.5 w 0.2 → x 40..60, cy 0.5 h 0.4 → y 15..35
    expect(anns.map((a) => [a.category_id, ...a.bbox.map((v) => +v.toFixed(9))])).toEqual([
      [1, 40, 15, 20, 20],
      [2, 40, 15, 20, 20],
    ]);
    expect(warned.join('\n')).toContain(`2 duplicate label lines`);
    expect(warned.join('\n')).toContain(`${path.join(dir, 'labels', 'a.txt')}:3`);
    // a detector that finds the cat exactly once scores AP 1 on it, not 1/3 recall
    const cat = evaluateCoco(ds.groundTruth!, [{ image_id: 1, category_id: 1, bbox: [40, 15, 20, 20], score: 0.9 }]);
    expect(cat.perCategoryAP['1']).toBeCloseTo(1, 12);
  });
});

describe('YOLO labels: a label file that exists but cannot be read', () => {
  it('is refused naming it, not read as "no label file" (an image without objects)', async () => {
    // labels/a.txt a dangling symbolic link (its target moved away), labels/b.txt a folder
    const dir = await yoloFolder('0 0.5 0.5 0.2 0.4\n');
    await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 0, g: 0, b: 0 } } })
      .png()
      .toFile(path.join(dir, 'images', 'b.png'));
    await rm(path.join(dir, 'labels', 'a.txt'));
    await symlink(path.join(tmp, 'moved-away.txt'), path.join(dir, 'labels', 'a.txt'));
    await mkdir(path.join(dir, 'labels', 'b.txt'));
    const err = await loadDataset({ dataset: dir }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_DATASET' });
    const message = (err as Error).message;
    expect(message).toContain(`YOLO labels in ${path.join(dir, 'labels')} have 2 unreadable label files:\n`);
    expect(message).toContain(`${path.join(dir, 'labels', 'a.txt')}: cannot read the label file`);
    expect(message).toContain(`${path.join(dir, 'labels', 'b.txt')}: cannot read the label file`);
  });

  it('an image whose label file is absent still has no objects', async () => {
    const dir = await yoloFolder('0 0.5 0.5 0.2 0.4\n');
    await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 0, g: 0, b: 0 } } })
      .png()
      .toFile(path.join(dir, 'images', 'b.png'));
    const ds = await loadDataset({ dataset: dir });
    expect(ds.images.map((im) => im.fileName)).toEqual(['a.png', 'b.png']);
    expect(ds.groundTruth!.annotations.map((a) => a.image_id)).toEqual([1]);
  });
});

describe('YOLO folders: images/ holding several splits', () => {
  it('an Ultralytics layout (images/train2017 and images/val2017) is read as one set, with a warning naming the splits', async () => {
    const dir = path.join(tmp, `yolo-splits`);
    for (const split of ['train2017', 'val2017']) {
      await mkdir(path.join(dir, 'images', split), { recursive: true });
      await mkdir(path.join(dir, 'labels', split), { recursive: true });
      await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 0, g: 0, b: 0 } } })
        .png()
        .toFile(path.join(dir, 'images', split, 'a.png'));
      await writeFile(path.join(dir, 'labels', split, 'a.txt'), '0 0.5 0.5 0.5 0.5\n');
    }
    await writeFile(path.join(dir, 'classes.txt'), 'cat\n');
    const warned: string[] = [];
    const ds = await loadDataset({ dataset: dir }, { info: () => undefined, warn: (m: string) => warned.push(m) });
    expect(ds.images.map((im) => im.fileName)).toEqual(['train2017/a.png', 'val2017/a.png']);
    expect(warned.join('\n')).toContain(
      `YOLO folder ${dir}: images/ holds the splits train2017, val2017, which are read together as one dataset`,
    );
  });

  it('one split below images/ (images/val/…) says nothing', async () => {
    const dir = path.join(tmp, `yolo-one-split`);
    await mkdir(path.join(dir, 'labels', 'val'), { recursive: true });
    await mkdir(path.join(dir, 'images', 'val'), { recursive: true });
    await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 0, g: 0, b: 0 } } })
      .png()
      .toFile(path.join(dir, 'images', 'val', 'a.png'));
    await writeFile(path.join(dir, 'labels', 'val', 'a.txt'), '0 0.5 0.5 0.5 0.5\n');
    await writeFile(path.join(dir, 'classes.txt'), 'cat\n');
    const warned: string[] = [];
    await loadDataset({ dataset: dir }, { info: () => undefined, warn: (m: string) => warned.push(m) });
    expect(warned).toEqual([]);
  });
});
