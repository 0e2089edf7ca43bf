import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeDatasetImage } from '../../src/datasets/decode.js';
import { loadDataset } from '../../src/datasets/load.js';
import { findUnusableImages } from '../../src/datasets/summary.js';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'shiftbench-files-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function png(file: string, width: number, height: number): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await sharp({ create: { width, height, channels: 3, background: { r: 10, g: 20, b: 30 } } })
    .png()
    .toFile(file);
}

/** A valid 2×2 24-bit BMP (Windows bitmap): a photo format YOLO tools read, which sharp's libvips does not. */
async function bmp(file: string): Promise<void> {
  const row = Buffer.from([0, 0, 255, 0, 255, 0, 0, 0]); // two BGR pixels, padded to 4 bytes
  const pixels = Buffer.concat([row, row]);
  const header = Buffer.alloc(54);
  header.write('BM', 0, 'latin1');
  header.writeUInt32LE(54 + pixels.length, 2);
  header.writeUInt32LE(54, 10);
  header.writeUInt32LE(40, 14);
  header.writeInt32LE(2, 18);
  header.writeInt32LE(2, 22);
  header.writeUInt16LE(1, 26);
  header.writeUInt16LE(24, 28);
  header.writeUInt32LE(pixels.length, 34);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, Buffer.concat([header, pixels]));
}

describe('listing: photos in formats shiftbench cannot decode are not dropped unseen', () => {
  it('a YOLO background image in .bmp (no label file) is listed and skipped with its reason, not left out of the set', async () => {
    const dir = path.join(tmp, 'yolo-bmp');
    await png(path.join(dir, 'images', 'a.png'), 10, 10);
    await bmp(path.join(dir, 'images', 'b.bmp'));
    await mkdir(path.join(dir, 'labels'), { recursive: true });
    await writeFile(path.join(dir, 'labels', 'a.txt'), '0 0.5 0.5 0.2 0.2\n');
    await writeFile(path.join(dir, 'classes.txt'), 'cat\n');
    const ds = await loadDataset({ dataset: dir });
    expect(ds.images.map((im) => im.fileName)).toEqual(['a.png', 'b.bmp']);
    const skipped = await findUnusableImages(ds);
    expect(skipped).toHaveLength(1);
    expect(skipped[0]).toMatchObject({ imageId: 2, fileName: 'b.bmp' });
    expect(skipped[0].reason).toContain('b.bmp');
    expect(skipped[0].reason).toContain('unsupported image format');
  });

  it('a YOLO .bmp image with labels is skipped with its reason, not refused as "label matches no image"', async () => {
    const dir = path.join(tmp, 'yolo-bmp-labelled');
    await png(path.join(dir, 'images', 'a.png'), 10, 10);
    await bmp(path.join(dir, 'images', 'b.BMP'));
    await mkdir(path.join(dir, 'labels'), { recursive: true });
    await writeFile(path.join(dir, 'labels', 'a.txt'), '0 0.5 0.5 0.2 0.2\n');
    await writeFile(path.join(dir, 'labels', 'b.txt'), '0 0.5 0.5 0.5 0.5\n');
    await writeFile(path.join(dir, 'classes.txt'), 'cat\n');
    const ds = await loadDataset({ dataset: dir });
    expect(ds.images.map((im) => [im.fileName, im.unusable !== undefined])).toEqual([
      ['a.png', false],
      ['b.BMP', true],
    ]);
    await expect(decodeDatasetImage(ds.images[1])).rejects.toMatchObject({ code: 'ERR_DATASET' });
  });

  it('a label-free folder lists its .bmp and .heic photos (the run skips them, saying why)', async () => {
    const dir = path.join(tmp, 'plain-bmp');
    await png(path.join(dir, 'a.png'), 4, 3);
    await bmp(path.join(dir, 'b.bmp'));
    await writeFile(path.join(dir, 'c.heic'), Buffer.from('not decodable here'));
    await writeFile(path.join(dir, 'notes.txt'), 'not an image');
    const ds = await loadDataset({ dataset: dir });
    expect(ds.images.map((im) => im.fileName)).toEqual(['a.png', 'b.bmp', 'c.heic']);
    expect((await findUnusableImages(ds)).map((u) => u.fileName)).toEqual(['b.bmp', 'c.heic']);
  });
});

describe('listing: a symbolic link to a folder is not followed, and says so', () => {
  it('a label-free folder whose subfolder is a link to photos elsewhere warns naming the link (its photos are not read)', async () => {
    const dir = path.join(tmp, 'plain-linked');
    await png(path.join(dir, 'a.png'), 4, 3);
    await png(path.join(tmp, 'elsewhere', 'x.png'), 4, 3);
    await symlink(path.join(tmp, 'elsewhere'), path.join(dir, 'more'));
    const warned: string[] = [];
    const ds = await loadDataset({ dataset: dir }, { info: () => undefined, warn: (m: string) => warned.push(m) });
    expect(ds.images.map((im) => im.fileName)).toEqual(['a.png']);
    expect(warned.join('\n')).toContain(
      `${path.join(dir, 'more')} is a symbolic link to a folder, which is not followed: the images in it are not ` +
        'part of the dataset',
    );
  });

  it('so does a YOLO folder (a background-only subfolder would drop out of the scored set unseen)', async () => {
    const dir = path.join(tmp, 'yolo-linked');
    await png(path.join(dir, 'images', 'a.png'), 10, 10);
    await png(path.join(tmp, 'elsewhere-bg', 'x.png'), 4, 3);
    await symlink(path.join(tmp, 'elsewhere-bg'), path.join(dir, 'images', 'background'));
    await mkdir(path.join(dir, 'labels'), { recursive: true });
    await writeFile(path.join(dir, 'labels', 'a.txt'), '0 0.5 0.5 0.2 0.2\n');
    await writeFile(path.join(dir, 'classes.txt'), 'cat\n');
    const warned: string[] = [];
    await loadDataset({ dataset: dir }, { info: () => undefined, warn: (m: string) => warned.push(m) });
    expect(warned.join('\n')).toContain(`${path.join(dir, 'images', 'background')} is a symbolic link to a folder`);
  });
});
