import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDataset } from '../../src/datasets/load.js';
import { decodeDatasetImage, decodeImage } from '../../src/datasets/decode.js';
import { generateSynthDataset } from '../../src/datasets/synth.js';
import { findUnusableImages, summarizeDataset } from '../../src/datasets/summary.js';
import { ACCEPTED_DATASETS, findJsonErrorOffset } from '../../src/datasets/files.js';
import { parseYamlNames } from '../../src/datasets/yolo.js';
import { COCO_CATEGORIES } from '../../src/core/coco.js';
import { evaluateCoco } from '../../src/metrics/cocoeval.js';
import { runCli } from '../helpers/cli.js';
import { describeShared, sharedPath } from '../helpers/shared.js';

let tmp: string;
let fixture = 0;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'shiftbench-load-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function png(
  file: string,
  width: number,
  height: number,
  rgb: [number, number, number] = [10, 20, 30],
): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await sharp({ create: { width, height, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } })
    .png()
    .toFile(file);
}

/** A small valid COCO set in a fresh folder: images a.png, b.png; returns the folder. */
async function cocoFixture(edit?: (gt: any) => void, raw?: string): Promise<{ dir: string; json: string }> {
  const dir = path.join(tmp, `coco${fixture++}`);
  await png(path.join(dir, 'images', 'a.png'), 40, 30);
  await png(path.join(dir, 'images', 'b.png'), 20, 20);
  const gt: any = {
    images: [
      { id: 2, file_name: 'b.png', width: 20, height: 20 },
      { id: 1, file_name: 'a.png', width: 40, height: 30 },
    ],
    annotations: [
      {
        id: 5,
        image_id: 1,
        category_id: 1,
        bbox: [1, 2, 10, 8],
        area: 80,
        iscrowd: 0,
        segmentation: [[1, 2, 11, 2, 11, 10]],
      },
      { id: 6, image_id: 2, category_id: 2, bbox: [0, 0, 5, 5], area: 25, iscrowd: 1 },
    ],
    categories: [
      { id: 1, name: 'cat', supercategory: 'animal' },
      { id: 2, name: 'dog' },
    ],
  };
  edit?.(gt);
  const json = path.join(dir, 'instances.json');
  await writeFile(json, raw ?? JSON.stringify(gt, null, 1));
  return { dir, json };
}

describe('findUnusableImages (datasets check): every image a run would skip, with its reason', () => {
  it('a size that differs from the annotations, an unreadable file; none for a good set; the CLI check fails listing them', async () => {
    const { json, dir } = await cocoFixture();
    expect(await findUnusableImages(await loadDataset({ dataset: json }))).toEqual([]);
    await png(path.join(dir, 'images', 'a.png'), 41, 30); // the annotations say 40×30
    await writeFile(path.join(dir, 'images', 'b.png'), 'not a png');
    const bad = await findUnusableImages(await loadDataset({ dataset: json }));
    expect(bad.map((b) => [b.imageId, b.fileName])).toEqual([
      [1, 'a.png'],
      [2, 'b.png'],
    ]);
    expect(bad[0].reason).toContain('it is 41×30 but the annotations say 40×30');
    expect(bad[1].reason).toContain('Could not');
    // the CLI lists them and fails the check
    const r = await runCli(['datasets', 'check', '--dataset', json]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toContain('images a run would skip: 2 of 2');
    expect(r.stdout).toContain('  image 1 (a.png): Could not decode image');
  }, 60_000);
});

describe('findUnusableImages decodes every image as a run does', () => {
  it('a truncated JPEG (header intact, data cut) is listed with the reason the run would give, and the CLI check fails', async () => {
    const { json, dir } = await cocoFixture((gt) => {
      gt.images[1].file_name = 'a.jpg';
    });
    const jpg = path.join(dir, 'images', 'a.jpg');
    const noise = Buffer.from(Array.from({ length: 40 * 30 * 3 }, (_, i) => (i * 7919) % 251));
    const full = await sharp(noise, { raw: { width: 40, height: 30, channels: 3 } })
      .jpeg({ quality: 95 })
      .toBuffer();
    await writeFile(jpg, full.subarray(0, Math.floor(full.length / 2)));
    expect((await sharp(jpg).metadata()).width).toBe(40); // the header still reads
    const ds = await loadDataset({ dataset: json });
    const bad = await findUnusableImages(ds);
    expect(bad.map((b) => [b.imageId, b.fileName])).toEqual([[1, 'a.jpg']]);
    const runError = await decodeDatasetImage(ds.images[0]).catch((e) => e);
    expect(runError.code).toBe('ERR_DATASET');
    // the run's message; libvips words a truncated JPEG in one of two ways, depending on which of its threads
    // reports first, so the check's reason and the run's agree up to that wording
    const truncated = /: (VipsJpeg: premature end of JPEG image|Warning treated as error due to failOn setting)/;
    const prefix = `Could not decode image ${jpg}: `;
    for (const message of [bad[0].reason, runError.message]) {
      expect(message.startsWith(prefix), message).toBe(true);
      expect(message).toMatch(truncated);
    }
    const r = await runCli(['datasets', 'check', '--dataset', json]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toContain('images a run would skip: 1 of 2');
    expect(r.stdout).toContain(`  image 1 (a.jpg): Could not decode image ${jpg}`);
  }, 60_000);
});

describe('loadDataset: COCO — what the audit found accepted silently', () => {
  it('two image ids with one file_name are refused (the photo would count twice)', async () => {
    const { json } = await cocoFixture((gt) => gt.images.push({ id: 3, file_name: 'a.png', width: 40, height: 30 }));
    const err = await loadDataset({ dataset: json }).catch((e) => e);
    expect(err.code).toBe('ERR_DATASET');
    expect(err.message).toContain('- images[2]: image id 3 has the file_name "a.png" of image id 1');
  });

  it('two categories with one name load with a warning naming their ids (a detector class can match only one)', async () => {
    const { json } = await cocoFixture((gt) => gt.categories.push({ id: 3, name: 'Cat' }));
    const warned: string[] = [];
    await loadDataset({ dataset: json }, { info: () => undefined, warn: (m: string) => warned.push(m) });
    expect(warned.join('\n')).toContain(`${json}: categories 1 and 3 have the same name ("cat", "Cat")`);
  });

  it('boxes wholly outside their image load with a warning naming them (no detection can ever match them)', async () => {
    const { json } = await cocoFixture((gt) =>
      gt.annotations.push(
        { id: 7, image_id: 1, category_id: 1, bbox: [5000, 5000, 10, 10], area: 100, iscrowd: 0 },
        { id: 8, image_id: 2, category_id: 2, bbox: [-30, 0, 10, 10], area: 100, iscrowd: 0 },
        // partly inside: an ordinary box at the border, no warning
        { id: 9, image_id: 2, category_id: 2, bbox: [15, 15, 10, 10], area: 100, iscrowd: 0 },
      ),
    );
    const warned: string[] = [];
    const ds = await loadDataset({ dataset: json }, { info: () => undefined, warn: (m: string) => warned.push(m) });
    expect(ds.groundTruth!.annotations).toHaveLength(5); // loaded as they are: pycocotools scores them too
    const text = warned.join('\n');
    expect(text).toContain(`${json}: 2 annotations lie wholly outside their image`);
    expect(text).toContain('annotation id 7 (image 1, 40×30)');
    expect(text).toContain('annotation id 8 (image 2, 20×20)');
    expect(text).not.toContain('annotation id 9');
    const clean = await cocoFixture();
    const none: string[] = [];
    await loadDataset({ dataset: clean.json }, { info: () => undefined, warn: (m: string) => none.push(m) });
    expect(none.join('\n')).not.toContain('outside their image');
  });

  it('a JSON file that starts with a UTF-8 byte-order mark (as Windows tools write) loads', async () => {
    const { json } = await cocoFixture();
    const text = await readFile(json, 'utf8');
    await writeFile(json, '\uFEFF' + text);
    const ds = await loadDataset({ dataset: json });
    expect(ds.images.map((im) => im.id)).toEqual([1, 2]);
  });

  it('--classes with a COCO dataset is refused (the COCO file names its categories), as for a plain image folder', async () => {
    const { dir, json } = await cocoFixture();
    const names = path.join(dir, 'names.txt');
    await writeFile(names, 'lion\ntiger\n');
    for (const dataset of [json, dir]) {
      const err = await loadDataset({ dataset, classes: names }).catch((e) => e);
      expect(err.code).toBe('ERR_DATASET');
      expect(err.message).toContain('--classes was given but');
      expect(err.message).toContain(json);
    }
    const cli = await runCli(['datasets', 'check', '--dataset', json, '--classes', names]);
    expect(cli.code).toBe(1);
    expect(cli.stderr).toContain('--classes was given but');
  });
});

describe('loadDataset: COCO', () => {
  it('loads a valid file: images sorted by id, absolute paths, segmentation dropped, hash over bytes', async () => {
    const { dir, json } = await cocoFixture();
    const ds = await loadDataset({ dataset: json });
    expect(ds.kind).toBe('coco');
    expect(ds.images.map((im) => im.id)).toEqual([1, 2]);
    expect(ds.images[0]).toEqual({
      id: 1,
      fileName: 'a.png',
      path: path.join(dir, 'images', 'a.png'),
      width: 40,
      height: 30,
    });
    expect(ds.groundTruth!.annotations[0]).toEqual({
      id: 5,
      image_id: 1,
      category_id: 1,
      bbox: [1, 2, 10, 8],
      area: 80,
      iscrowd: 0,
    });
    expect(ds.categories).toEqual([
      { id: 1, name: 'cat', supercategory: 'animal' },
      { id: 2, name: 'dog' },
    ]);
    expect(ds.hash).toMatch(/^[0-9a-f]{64}$/);
    // same via the folder, and the hash follows the image bytes
    const again = await loadDataset({ dataset: dir });
    expect(again.hash).toBe(ds.hash);
    await png(path.join(dir, 'images', 'b.png'), 20, 20, [11, 20, 30]);
    expect((await loadDataset({ dataset: json })).hash).not.toBe(ds.hash);
    const limited = await loadDataset({ dataset: json, limit: 1 });
    expect(limited.images.map((im) => im.id)).toEqual([1]);
    expect(limited.groundTruth!.annotations.map((a) => a.id)).toEqual([5]);
  });

  it('finds images/ beside the JSON folder (annotations/instances.json) and honours --images', async () => {
    const dir = path.join(tmp, 'layout');
    await png(path.join(dir, 'images', 'a.png'), 8, 8);
    await png(path.join(dir, 'elsewhere', 'a.png'), 8, 8);
    const gt = {
      images: [{ id: 1, file_name: 'a.png', width: 8, height: 8 }],
      annotations: [],
      categories: [{ id: 1, name: 'x' }],
    };
    await mkdir(path.join(dir, 'annotations'));
    await writeFile(path.join(dir, 'annotations', 'instances.json'), JSON.stringify(gt));
    const ds = await loadDataset({ dataset: dir });
    expect(ds.images[0].path).toBe(path.join(dir, 'images', 'a.png'));
    expect(ds.name).toBe('layout');
    const other = await loadDataset({
      dataset: path.join(dir, 'annotations', 'instances.json'),
      images: path.join(dir, 'elsewhere'),
    });
    expect(other.images[0].path).toBe(path.join(dir, 'elsewhere', 'a.png'));
  });

  it('a --dataset or --images path that names nothing is a usage error (exit 2), as a missing --model file is', async () => {
    const dir = path.join(tmp, 'missing-images');
    await mkdir(dir, { recursive: true });
    const json = path.join(dir, 'instances.json');
    await writeFile(json, JSON.stringify({ images: [], annotations: [], categories: [{ id: 1, name: 'x' }] }));
    const nope = path.join(dir, 'nope');
    await expect(loadDataset({ dataset: json, images: nope })).rejects.toMatchObject({
      code: 'ERR_INVALID_OPTION',
      message: `Images folder ${nope} (from --images) does not exist or is not a folder.`,
    });
    for (const args of [
      ['--dataset', nope],
      ['--dataset', json, '--images', nope],
    ]) {
      const r = await runCli(['datasets', 'check', ...args]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain(nope);
    }
  });

  it('reports malformed JSON with file, line and column', async () => {
    const { json } = await cocoFixture(undefined, '{"images": [],\n  "annotations": [,]}');
    await expect(loadDataset({ dataset: json })).rejects.toMatchObject({
      code: 'ERR_DATASET',
      message: expect.stringMatching(
        new RegExp(`^Could not parse ${json.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} as JSON \\(line 2, column 19\\): `),
      ),
    });
  });

  it('locates JSON syntax errors where V8 does', () => {
    for (const text of [
      '{"a":1,}',
      '[1,2',
      '{"a" 1}',
      '"ab',
      '[1] x',
      '[-01]',
      '{"a":[1,{"b":"\\q"}]}',
      '{"a":tru}',
      '[1,]',
    ]) {
      let v8: number | null = null;
      try {
        JSON.parse(text);
      } catch (e) {
        const m = /position (\d+)/.exec((e as Error).message);
        v8 = m ? Number(m[1]) : null;
      }
      const ours = findJsonErrorOffset(text);
      expect(ours, text).not.toBeNull();
      if (v8 !== null) expect(ours, text).toBe(v8);
    }
    expect(findJsonErrorOffset('{"a": [1, 2.5e3, "x\\u00e9", null, true]}')).toBeNull();
  });

  it('rejects a negative box naming the file, the annotation id and the fix', async () => {
    const { json } = await cocoFixture((gt) => (gt.annotations[0].bbox = [1, 2, -3, 4]));
    await expect(loadDataset({ dataset: json })).rejects.toMatchObject({
      code: 'ERR_DATASET',
      message:
        `${json} has 1 invalid entry:\n- annotation id 5 (image 1): bbox [1,2,-3,4] has a negative width or height; ` +
        'fix it to [x, y, width, height] with width, height ≥ 0 (COCO boxes are x, y, width, height — not x1, y1, x2, y2)',
    });
  });

  it('lists the first few offending entries, not just the first', async () => {
    const { json } = await cocoFixture((gt) => {
      for (let i = 0; i < 7; i++)
        gt.annotations.push({ id: 100 + i, image_id: 1, category_id: 1, bbox: [0, 0, 1, -1], area: 0, iscrowd: 0 });
      gt.annotations.push({ id: 200, image_id: 1, category_id: 99, bbox: [0, 0, 1, 1], area: 1, iscrowd: 0 });
    });
    const err = await loadDataset({ dataset: json }).catch((e) => e);
    expect(err.code).toBe('ERR_DATASET');
    expect(err.message.split('\n')[0]).toBe(`${json} has 8 invalid entries:`);
    expect(err.message).toContain('annotation id 104 (image 1): bbox');
    expect(err.message).not.toContain('annotation id 105 (image 1)');
    expect(err.message).toContain('- … more bbox issues not listed');
    expect(err.message).toContain('- annotation id 200 (image 1): category_id 99 is not in "categories"');
  });

  it('rejects duplicate ids, unknown image ids and unknown categories', async () => {
    const { json } = await cocoFixture((gt) => {
      gt.images.push({ id: 2, file_name: 'b.png', width: 20, height: 20 });
      gt.annotations[1].id = 5;
      gt.annotations[1].category_id = 7;
      gt.annotations.push({ id: 9, image_id: 42, category_id: 1, bbox: [0, 0, 1, 1], area: 1, iscrowd: 0 });
      gt.categories.push({ id: 1, name: 'again' });
    });
    const err = await loadDataset({ dataset: json }).catch((e) => e);
    expect(err.code).toBe('ERR_DATASET');
    expect(err.message).toContain('- categories[2]: duplicate category id 1');
    expect(err.message).toContain('- images[2]: duplicate image id 2');
    expect(err.message).toContain('- annotations[1]: duplicate annotation id 5');
    expect(err.message).toContain('- annotation id 5 (image 2): category_id 7 is not in "categories"');
    expect(err.message).toContain('- annotation id 9 (image 42): image_id 42 is not in "images"');
  });

  it('rejects schema errors: missing arrays and fields of the wrong type', async () => {
    const { json } = await cocoFixture(undefined, JSON.stringify({ images: [], categories: [] }));
    await expect(loadDataset({ dataset: json })).rejects.toMatchObject({
      code: 'ERR_DATASET',
      message: expect.stringContaining(`${json} is not a COCO instances file: "annotations" is missing.`),
    });
    const bad = await cocoFixture((gt) => {
      gt.images[0].width = '20';
      gt.annotations[0].bbox = [1, 2, 3];
    });
    const err = await loadDataset({ dataset: bad.json }).catch((e) => e);
    expect(err.message).toContain(
      '- images[0] {"id":2,"file_name":"b.png","width":"20","height":20}: needs an integer "id", a string "file_name" and positive integer "width" and "height"',
    );
    expect(err.message).toContain(
      '- annotation id 5 (image 1): bbox [1,2,3] is not 4 finite numbers [x, y, width, height]',
    );
    // category ids are stored as 32-bit integers: a fraction or a larger id is refused, never truncated
    const bigCategory = await cocoFixture((gt) => {
      gt.categories.push({ id: 2 ** 31, name: 'huge' }, { id: 2.5, name: 'half' });
    });
    const e2 = await loadDataset({ dataset: bigCategory.json }).catch((e) => e);
    expect(e2.code).toBe('ERR_DATASET');
    expect(e2.message).toContain('{"id":2147483648,"name":"huge"}: needs a 32-bit integer "id"');
    expect(e2.message).toContain('{"id":2.5,"name":"half"}: needs a 32-bit integer "id"');
  });

  it('rejects a file_name that leaves the image folder', async () => {
    const { json } = await cocoFixture((gt) => {
      gt.images[0].file_name = '../b.png';
      gt.images[1].file_name = '/etc/passwd';
    });
    const err = await loadDataset({ dataset: json }).catch((e) => e);
    expect(err.code).toBe('ERR_DATASET');
    expect(err.message).toContain('- image id 2: file_name "../b.png" leaves the image folder;');
    expect(err.message).toContain('- image id 1: file_name "/etc/passwd" leaves the image folder;');
  });

  it('reports missing image files by name with the fix', async () => {
    const { dir, json } = await cocoFixture();
    await rm(path.join(dir, 'images', 'b.png'));
    await expect(loadDataset({ dataset: json })).rejects.toMatchObject({
      code: 'ERR_DATASET',
      message: `1 of 2 images listed in ${json} are missing from ${path.join(dir, 'images')}:\n- b.png\nFix: pass --images <folder holding them>, or remove those images from the annotation file.`,
    });
  });

  it('says a missing dataset path does not exist and what is accepted (a usage error, as a missing --model file)', async () => {
    const missing = path.join(tmp, 'nope');
    await expect(loadDataset({ dataset: missing })).rejects.toMatchObject({
      code: 'ERR_INVALID_OPTION',
      message:
        `Dataset path ${missing} does not exist. Accepted for --dataset: a COCO instances JSON file, a folder holding instances.json or ` +
        'annotations/instances.json, a YOLO folder with images/ and labels/, or a folder of images (label-free).',
    });
    await expect(loadDataset({ dataset: missing, limit: 0 })).rejects.toMatchObject({
      code: 'ERR_INVALID_OPTION',
      message: 'Expected an integer ≥ 1 for --limit but received 0',
    });
  });

  it('names the command that writes a missing synthetic split (the plug-in example of the README reads datasets/synth/val)', async () => {
    const split = path.join(tmp, 'fresh', 'datasets', 'synth', 'val');
    for (const dataset of [split, path.join(split, 'instances.json')]) {
      await expect(loadDataset({ dataset })).rejects.toMatchObject({
        code: 'ERR_INVALID_OPTION',
        message:
          `Dataset path ${dataset} does not exist. Accepted for --dataset: ${ACCEPTED_DATASETS}. ` +
          `Fix: \`shiftbench datasets synth --out ${path.dirname(split)} --splits val\` writes the synthetic val split there ` +
          '(`shiftbench demo` writes both splits into datasets/synth).',
      });
    }
  });

  it('loads a synthetic split with the same hash the generator stamped', async () => {
    const r = await generateSynthDataset({ outDir: path.join(tmp, 'synth'), valImages: 5, splits: ['val'], seed: 4 });
    const ds = await loadDataset({ dataset: r.splits[0].annotationFile });
    expect(ds.hash).toBe(r.splits[0].sha256);
    expect(ds.name).toBe('synth/val');
    expect(ds.images).toHaveLength(5);
  });
});

describeShared('loadDataset: coco128 from ../shared', ['data/coco128/annotations/instances.json'], () => {
  it('loads 128 images, 939 boxes (10 crowd), 80 categories', async () => {
    const file = sharedPath('data/coco128/annotations/instances.json')!;
    const ds = await loadDataset({ dataset: file });
    expect(ds.name).toBe('coco128');
    expect(ds.images).toHaveLength(128);
    expect(ds.groundTruth!.annotations).toHaveLength(939);
    expect(ds.groundTruth!.annotations.filter((a) => a.iscrowd === 1)).toHaveLength(10);
    expect(ds.categories).toHaveLength(80);
    expect(ds.categories.map((c) => c.id)).toEqual(COCO_CATEGORIES.map((c) => c.id));
    const ids = ds.images.map((im) => im.id);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(ds.images.every((im) => path.isAbsolute(im.path) && existsSync(im.path))).toBe(true);
    expect(Object.keys(ds.groundTruth!.annotations[0]).sort()).toEqual([
      'area',
      'bbox',
      'category_id',
      'id',
      'image_id',
      'iscrowd',
    ]);
    const summary = summarizeDataset(ds);
    expect(summary.imagesWithoutBoxes).toBe(2);
    expect(summary.perCategory.filter((c) => c.boxes > 0)).toHaveLength(71);
    const sum = summary.areaRanges!;
    expect(sum.small + sum.medium + sum.large).toBe(939);
    // the folder form finds annotations/instances.json
    const viaFolder = await loadDataset({ dataset: sharedPath('data/coco128')!, limit: 10 });
    expect(viaFolder.images).toHaveLength(10);
    expect(viaFolder.images.map((im) => im.id)).toEqual(ids.slice(0, 10));
  });

  it('decodes a COCO photo to RGB at the annotated size', async () => {
    const ds = await loadDataset({ dataset: sharedPath('data/coco128/annotations/instances.json')!, limit: 3 });
    for (const im of ds.images) {
      const rgb = await decodeImage(im.path, im);
      expect(rgb.data.length).toBe(im.width * im.height * 3);
    }
  });
});

describe('loadDataset: YOLO and plain folders', () => {
  async function yoloFixture(names: { file: string; text: string }, labels: Record<string, string>): Promise<string> {
    const dir = path.join(tmp, `yolo${fixture++}`);
    await png(path.join(dir, 'images', 'a.png'), 100, 50);
    await png(path.join(dir, 'images', 'sub', 'b.png'), 10, 10);
    await mkdir(path.join(dir, 'labels', 'sub'), { recursive: true });
    for (const [f, t] of Object.entries(labels)) await writeFile(path.join(dir, 'labels', f), t);
    await writeFile(path.join(dir, names.file), names.text);
    return dir;
  }

  it('converts normalised labels to COCO pixel boxes, ids 1..K in names order', async () => {
    const dir = await yoloFixture(
      { file: 'classes.txt', text: 'cat\ndog\n' },
      { 'a.txt': '0 0.5 0.5 0.2 0.4\n1 0.25 0.25 0.1 0.1\n', 'sub/b.txt': '' },
    );
    const ds = await loadDataset({ dataset: dir });
    expect(ds.kind).toBe('yolo');
    expect(ds.categories).toEqual([
      { id: 1, name: 'cat' },
      { id: 2, name: 'dog' },
    ]);
    expect(ds.images.map((im) => [im.id, im.fileName, im.width, im.height])).toEqual([
      [1, 'a.png', 100, 50],
      [2, 'sub/b.png', 10, 10],
    ]);
    const anns = ds.groundTruth!.annotations;
    expect(anns).toHaveLength(2);
    expect(anns[0].bbox.map((v) => +v.toFixed(9))).toEqual([40, 15, 20, 20]);
    expect(anns[0].category_id).toBe(1);
    expect(anns[1].bbox.map((v) => +v.toFixed(9))).toEqual([20, 10, 10, 5]);
    expect(anns[1].category_id).toBe(2);
    expect(anns[1].area).toBeCloseTo(50, 9);
  });

  it('class names in two files that disagree (classes.txt and data.yaml) are refused, naming both; agreeing ones load', async () => {
    const dir = await yoloFixture({ file: 'classes.txt', text: 'cat\ndog\n' }, { 'a.txt': '0 0.5 0.5 0.2 0.4\n' });
    await writeFile(path.join(dir, 'data.yaml'), 'names: [dog, cat]\n');
    const err = await loadDataset({ dataset: dir }).catch((e) => e);
    expect(err.code).toBe('ERR_DATASET');
    expect(err.message).toContain(path.join(dir, 'classes.txt'));
    expect(err.message).toContain(path.join(dir, 'data.yaml'));
    expect(err.message).toContain('--classes');
    // --classes chooses
    const chosen = await loadDataset({ dataset: dir, classes: path.join(dir, 'data.yaml') });
    expect(chosen.categories!.map((c) => c.name)).toEqual(['dog', 'cat']);
    // the same names in both: no question which
    await writeFile(path.join(dir, 'data.yaml'), 'nc: 2\nnames: [cat, dog]\n');
    const ds = await loadDataset({ dataset: dir });
    expect(ds.categories!.map((c) => c.name)).toEqual(['cat', 'dog']);
  });

  it('two images whose label file is the same (a.png and a.jpg → labels/a.txt) are refused: their boxes would count twice', async () => {
    const dir = await yoloFixture({ file: 'classes.txt', text: 'cat\ndog\n' }, { 'a.txt': '0 0.5 0.5 0.2 0.4\n' });
    await sharp({ create: { width: 8, height: 8, channels: 3, background: '#000' } })
      .jpeg()
      .toFile(path.join(dir, 'images', 'a.jpg'));
    const err = await loadDataset({ dataset: dir }).catch((e) => e);
    expect(err.code).toBe('ERR_DATASET');
    expect(err.message).toContain('a.jpg');
    expect(err.message).toContain('a.png');
    expect(err.message).toContain(path.join('labels', 'a.txt'));
  });

  it('reads names from data.yaml and maps the 80 COCO names to COCO ids', async () => {
    const yaml = `path: .\nnc: 80\nnames:\n${COCO_CATEGORIES.map((c, i) => `  ${i}: ${c.name}`).join('\n')}\n`;
    const dir = await yoloFixture({ file: 'data.yaml', text: yaml }, { 'a.txt': '11 0.5 0.5 0.2 0.2\n' });
    const ds = await loadDataset({ dataset: dir });
    expect(ds.categories).toHaveLength(80);
    expect(ds.groundTruth!.annotations[0].category_id).toBe(13); // index 11 = stop sign = COCO id 13
  });

  it('parses the YAML names forms', () => {
    expect(parseYamlNames('names: [\'a b\', "c", d]  # three')).toEqual(['a b', 'c', 'd']);
    expect(parseYamlNames('nc: 2\nnames:\n  - x\n  - "y z"\ntrain: t')).toEqual(['x', 'y z']);
    expect(parseYamlNames('names:\n  1: b\n  0: a\n')).toEqual(['a', 'b']);
    expect(parseYamlNames('names: {0: a, 1: b}')).toEqual(['a', 'b']);
    expect(parseYamlNames('nc: 2')).toBeNull();
  });

  it('reads a names: flow list written over several lines (YOLOv5 coco.yaml), and refuses an nc: that differs', async () => {
    expect(parseYamlNames("nc: 3\nnames: ['cat', 'dog',  # two\n        'bird']\ntrain: t")).toEqual([
      'cat',
      'dog',
      'bird',
    ]);
    expect(parseYamlNames('names: {0: a,\n  1: b}\n')).toEqual(['a', 'b']);
    const yaml = "nc: 3\nnames: ['cat', 'dog',\n        'bird']\n";
    const dir = await yoloFixture({ file: 'data.yaml', text: yaml }, { 'a.txt': '2 0.5 0.5 0.2 0.2\n' });
    const ds = await loadDataset({ dataset: dir });
    expect(ds.categories.map((c) => c.name)).toEqual(['cat', 'dog', 'bird']);
    expect(ds.groundTruth!.annotations.map((a) => a.category_id)).toEqual([3]);
    const file = path.join(dir, 'data.yaml');
    await writeFile(file, 'nc: 4\nnames: [cat, dog, bird]\n');
    await expect(loadDataset({ dataset: dir })).rejects.toMatchObject({
      code: 'ERR_DATASET',
      message: `${file} says nc: 4 but its names: list has 3 names. Fix: make nc the number of names (or drop nc).`,
    });
    await writeFile(file, 'nc: three\nnames: [cat, dog, bird]\n');
    await expect(loadDataset({ dataset: dir })).rejects.toMatchObject({
      code: 'ERR_DATASET',
      message: expect.stringContaining(`${file} says nc: three`),
    });
  });

  it('reads a data.yaml that starts with a UTF-8 byte-order mark (valid YAML, as Windows tools write), nc: checked too', async () => {
    const dir = await yoloFixture(
      { file: 'data.yaml', text: '\uFEFFnames: [cat, dog]\n' },
      { 'a.txt': '1 0.5 0.5 0.2 0.2\n' },
    );
    const ds = await loadDataset({ dataset: dir });
    expect(ds.categories.map((c) => c.name)).toEqual(['cat', 'dog']);
    expect(ds.groundTruth!.annotations.map((a) => a.category_id)).toEqual([2]);
    const file = path.join(dir, 'data.yaml');
    await writeFile(file, '\uFEFFnc: 3\nnames: [cat, dog]\n');
    await expect(loadDataset({ dataset: dir })).rejects.toMatchObject({
      code: 'ERR_DATASET',
      message: expect.stringContaining(`${file} says nc: 3 but its names: list has 2 names.`),
    });
  });

  it('reads a names: block list at column 0 (valid YAML: PyYAML reads it), stopping at the next key', async () => {
    expect(parseYamlNames('names:\n- cat\n- "dog"\n\n- bird  # last\ntrain: t\n- not a name')).toEqual([
      'cat',
      'dog',
      'bird',
    ]);
    const dir = await yoloFixture(
      { file: 'data.yaml', text: 'names:\n- cat\n- dog\n- bird\n' },
      { 'a.txt': '2 0.5 0.5 0.2 0.2\n' },
    );
    const ds = await loadDataset({ dataset: dir });
    expect(ds.categories.map((c) => c.name)).toEqual(['cat', 'dog', 'bird']);
    expect(ds.groundTruth!.annotations.map((a) => a.category_id)).toEqual([3]);
    // an item without a name is refused, not dropped (that would shift every later class index)
    await writeFile(path.join(dir, 'data.yaml'), 'names:\n- cat\n-\n- bird\n');
    await expect(loadDataset({ dataset: dir })).rejects.toMatchObject({
      code: 'ERR_DATASET',
      message: `${path.join(dir, 'data.yaml')}: names: item 1 is empty. Fix: give every class index a name, in order.`,
    });
  });

  it('reports bad label lines as file:line', async () => {
    const dir = await yoloFixture(
      { file: 'classes.txt', text: 'cat\ndog' },
      { 'a.txt': '0 0.5 0.5 0.2 0.4\n5 0.5 0.5 0.1 0.1\n0 50 20 10 10\n' },
    );
    const err = await loadDataset({ dataset: dir }).catch((e) => e);
    const labels = path.join(dir, 'labels', 'a.txt');
    expect(err.code).toBe('ERR_DATASET');
    expect(err.message).toBe(
      `YOLO labels in ${path.join(dir, 'labels')} have 2 invalid lines:\n` +
        `- ${labels}:2: class "5" is not an integer in 0..1 (2 names in ${path.join(dir, 'classes.txt')})\n` +
        `- ${labels}:3: coordinates must be normalised to 0–1 (are these pixels?), got "0 50 20 10 10"`,
    );
  });

  it('clips a box running past the image edge to the image (a perfect detector then matches it), and refuses a non-positive or clipped-away size as file:line', async () => {
    const dir = await yoloFixture({ file: 'classes.txt', text: 'cat\n' }, {});
    await png(path.join(dir, 'images', 'c.png'), 320, 240);
    await writeFile(path.join(dir, 'labels', 'c.txt'), '0 0.9 0.9 0.5 0.5\n');
    const ds = await loadDataset({ dataset: dir });
    const c = ds.images.find((im) => im.fileName === 'c.png')!;
    const [gtBox] = ds.groundTruth!.annotations;
    // corners clipped to [0, 1]: x 0.65..1.15 → 0.65..1, y 0.65..1.15 → 0.65..1
    expect(gtBox.bbox.map((v) => +v.toFixed(9))).toEqual([208, 156, 112, 84]);
    expect(gtBox.area).toBeCloseTo(112 * 84, 9);
    // a detector whose box is the object's visible extent (it cannot box pixels outside the image) scores AP 1;
    // against the unclipped [208, 156, 160, 120] its IoU would be 0.49 and it would miss at IoU 0.5
    const perfect = [
      { image_id: c.id, category_id: 1, bbox: [208, 156, 112, 84] as [number, number, number, number], score: 0.9 },
    ];
    const stats = evaluateCoco(ds.groundTruth!, perfect).stats;
    expect(stats[0]).toBeCloseTo(1, 9);
    expect(stats[1]).toBeCloseTo(1, 9);

    await writeFile(
      path.join(dir, 'labels', 'c.txt'),
      '0 0.5 0.5 -0.005 0.2\n0 0.5 0.5 0.2 0\n0 1.005 0.5 0.01 0.2\n0 0.1 0.1 0.1 0.5 0.1 0.9\n0 0.5 0.5 0.2 0.2\n',
    );
    const err = await loadDataset({ dataset: dir }).catch((e) => e);
    const labels = path.join(dir, 'labels', 'c.txt');
    expect(err.code).toBe('ERR_DATASET');
    expect(err.message).toBe(
      `YOLO labels in ${path.join(dir, 'labels')} have 4 invalid lines:\n` +
        `- ${labels}:1: width and height must be positive, got "0 0.5 0.5 -0.005 0.2"\n` +
        `- ${labels}:2: width and height must be positive, got "0 0.5 0.5 0.2 0"\n` +
        `- ${labels}:3: the box has no area inside the image (clipped to 0–1), got "0 1.005 0.5 0.01 0.2"\n` +
        `- ${labels}:4: the box has no area inside the image (clipped to 0–1), got "0 0.1 0.1 0.1 0.5 0.1 0.9"`,
    );
  });

  it('asks for class names when a YOLO folder has none', async () => {
    const dir = await yoloFixture({ file: 'README', text: '' }, {});
    await expect(loadDataset({ dataset: dir })).rejects.toMatchObject({
      code: 'ERR_DATASET',
      message: expect.stringContaining(`YOLO folder ${dir} has no class names. Fix: add classes.txt`),
    });
  });

  it('a YOLO image with an EXIF orientation is listed as skipped (its labels cannot be placed), with the fix', async () => {
    const dir = await yoloFixture({ file: 'classes.txt', text: 'cat\n' }, { 'a.txt': '0 0.5 0.5 0.2 0.4\n' });
    await sharp({ create: { width: 30, height: 20, channels: 3, background: '#808080' } })
      .withMetadata({ orientation: 8 })
      .jpeg()
      .toFile(path.join(dir, 'images', 'c.jpg'));
    await writeFile(path.join(dir, 'labels', 'c.txt'), '0 0.5 0.5 0.2 0.4\n');
    const warned: string[] = [];
    const ds = await loadDataset({ dataset: dir }, { info: () => undefined, warn: (m: string) => warned.push(m) });
    const c = ds.images.find((im) => im.fileName === 'c.jpg')!;
    expect([c.width, c.height]).toEqual([0, 0]); // kept, so the run lists it as skipped
    expect(warned.join('\n')).toContain(`${path.join(dir, 'images', 'c.jpg')} has EXIF orientation 8`);
    expect(ds.groundTruth!.annotations.filter((a) => a.image_id === c.id)).toEqual([]);
    // the run skips it with that reason (not a size mismatch)
    await expect(decodeDatasetImage(c)).rejects.toMatchObject({
      code: 'ERR_DATASET',
      message: expect.stringContaining('has EXIF orientation 8'),
    });
  });

  it('refuses a YOLO folder whose label files match no image (labels/train/a.txt for images/a.png): no silent zero boxes', async () => {
    const dir = await yoloFixture({ file: 'classes.txt', text: 'cat\n' }, {});
    await mkdir(path.join(dir, 'labels', 'train'), { recursive: true });
    await writeFile(path.join(dir, 'labels', 'train', 'a.txt'), '0 0.5 0.5 0.2 0.4\n');
    await expect(loadDataset({ dataset: dir })).rejects.toMatchObject({
      code: 'ERR_DATASET',
      message: expect.stringContaining(
        `YOLO folder ${dir}: labels/ holds 1 label file but none is named after an image of images/ (e.g. ` +
          `${path.join(dir, 'labels', 'train', 'a.txt')})`,
      ),
    });
  });

  it('a label file whose extension differs in case (labels/a.TXT) is refused as matching no image, not skipped unseen', async () => {
    const dir = await yoloFixture({ file: 'classes.txt', text: 'cat\n' }, { 'sub/b.txt': '0 0.5 0.5 0.2 0.4\n' });
    await writeFile(path.join(dir, 'labels', 'a.TXT'), '0 0.5 0.5 0.2 0.4\n');
    const err = await loadDataset({ dataset: dir }).catch((e) => e);
    expect(err.code).toBe('ERR_DATASET');
    expect(err.message).toContain(path.join(dir, 'labels', 'a.TXT'));
  });

  it('refuses label files that match no image even when others do (their boxes would be ignored), naming a few and the layout', async () => {
    const dir = await yoloFixture(
      { file: 'classes.txt', text: 'cat\n' },
      { 'a.txt': '0 0.5 0.5 0.2 0.4\n', 'sub/c.txt': '0 0.5 0.5 0.2 0.4\n', 'classes.txt': 'cat\n' },
    );
    await mkdir(path.join(dir, 'labels', 'train'), { recursive: true });
    for (const f of ['b.txt', 'd.txt', 'e.txt', 'f.txt'])
      await writeFile(path.join(dir, 'labels', 'train', f), '0 0.5 0.5 0.2 0.4\n');
    const labels = path.join(dir, 'labels');
    await expect(loadDataset({ dataset: dir })).rejects.toMatchObject({
      code: 'ERR_DATASET',
      message:
        `YOLO folder ${dir}: 5 label files in labels/ match no image of images/, so their boxes would be ignored: ` +
        `${path.join(labels, 'sub', 'c.txt')}, ${path.join(labels, 'train', 'b.txt')}, ` +
        `${path.join(labels, 'train', 'd.txt')} and 2 more. Fix: an image images/P.jpg has its labels in labels/P.txt ` +
        `(the same path under labels/); move each file to its image's path, or delete it if its image is gone.`,
    });
    // LabelImg's classes.txt in labels/ is not a label file; with the strays gone the folder loads
    await rm(path.join(labels, 'train'), { recursive: true });
    await rm(path.join(labels, 'sub', 'c.txt'));
    const ds = await loadDataset({ dataset: dir });
    expect(ds.groundTruth!.annotations).toHaveLength(1);
  });

  it('a folder loaded label-free says which JSON it did not read as annotations', async () => {
    const dir = path.join(tmp, 'plain-json');
    await png(path.join(dir, 'images', 'a.png'), 5, 6);
    await mkdir(path.join(dir, 'annotations'), { recursive: true });
    await writeFile(path.join(dir, 'annotations', 'val.json'), '{}');
    await writeFile(path.join(dir, '_annotations.coco.json'), '{}');
    const warned: string[] = [];
    const ds = await loadDataset({ dataset: dir }, { info: () => undefined, warn: (m: string) => warned.push(m) });
    expect(ds.groundTruth).toBeNull();
    expect(warned.join('\n')).toContain(
      `${dir} is read without labels, and these JSON files in it were not read as annotations: ` +
        `${path.join(dir, '_annotations.coco.json')}, ${path.join(dir, 'annotations', 'val.json')}`,
    );
    expect(warned.join('\n')).toContain('give it with --dataset');
  });

  it('a folder loaded label-free names the YOLO folders (images/ and labels/) inside it, whose labels it did not read', async () => {
    // a Roboflow / Ultralytics export given at its root: data.yaml beside train/ and valid/, each images/ + labels/
    const dir = path.join(tmp, 'yolo-root');
    for (const split of ['train', 'valid']) {
      await png(path.join(dir, split, 'images', 'a.png'), 5, 6);
      await mkdir(path.join(dir, split, 'labels'), { recursive: true });
      await writeFile(path.join(dir, split, 'labels', 'a.txt'), '0 0.5 0.5 0.2 0.2\n');
    }
    await writeFile(path.join(dir, 'data.yaml'), 'names: [cat]\n');
    const warned: string[] = [];
    const ds = await loadDataset({ dataset: dir }, { info: () => undefined, warn: (m: string) => warned.push(m) });
    expect(ds.groundTruth).toBeNull();
    expect(ds.images).toHaveLength(2);
    expect(warned.join('\n')).toContain(
      `${dir} is read without labels, and these YOLO folders (images/ and labels/) in it were not read: ` +
        `${path.join(dir, 'train')}, ${path.join(dir, 'valid')}. Give one with --dataset`,
    );
  });

  it('a label-free folder whose images lie in images/ is named after the folder, not "images"', async () => {
    const dir = path.join(tmp, 'val2017-photos');
    await png(path.join(dir, 'images', 'a.png'), 5, 6);
    const ds = await loadDataset({ dataset: dir });
    expect(ds.kind).toBe('folder');
    expect(ds.images).toHaveLength(1);
    expect(ds.name).toBe('val2017-photos');
  });

  it('an image file that is a symbolic link is listed, not dropped unseen: one inside the folder loads, one pointing outside is skipped with its reason', async () => {
    const dir = path.join(tmp, 'plain-links');
    await png(path.join(dir, 'pool', 'real.png'), 8, 4);
    await symlink(path.join(dir, 'pool', 'real.png'), path.join(dir, 'inside.png'));
    const outside = path.join(tmp, 'outside-link-target.png');
    await png(outside, 3, 2);
    await symlink(outside, path.join(dir, 'outside.png'));
    const ds = await loadDataset({ dataset: dir });
    expect(ds.images.map((im) => [im.fileName, im.width, im.height])).toEqual([
      ['inside.png', 8, 4],
      ['outside.png', 3, 2],
      ['pool/real.png', 8, 4],
    ]);
    expect((await decodeDatasetImage(ds.images[0])).width).toBe(8);
    await expect(decodeDatasetImage(ds.images[1])).rejects.toThrow(/symbolic link.*outside the image folder/);

    // a YOLO image that is a link gets its labels (before, its label file "matched no image" and the load failed)
    const yolo = path.join(tmp, 'yolo-links');
    await png(path.join(yolo, 'pool', 'c.png'), 10, 10);
    await mkdir(path.join(yolo, 'images'), { recursive: true });
    await mkdir(path.join(yolo, 'labels'), { recursive: true });
    await symlink(path.join(yolo, 'pool', 'c.png'), path.join(yolo, 'images', 'c.png'));
    await writeFile(path.join(yolo, 'labels', 'c.txt'), '0 0.5 0.5 0.2 0.4\n');
    await writeFile(path.join(yolo, 'classes.txt'), 'cat\n');
    const y = await loadDataset({ dataset: yolo });
    expect(y.images.map((im) => im.fileName)).toEqual(['c.png']);
    expect(y.groundTruth!.annotations.map((a) => a.bbox.map((v) => +v.toFixed(9)))).toEqual([[4, 3, 2, 4]]);
  });

  it('images inside hidden folders (.ipynb_checkpoints copies, .thumbs) are not listed, as hidden files are not', async () => {
    const dir = path.join(tmp, 'plain-hidden');
    await png(path.join(dir, 'a.png'), 8, 4);
    await png(path.join(dir, '.ipynb_checkpoints', 'a-checkpoint.png'), 8, 4);
    await png(path.join(dir, 'sub', '.thumbs', 'b.png'), 4, 4);
    await png(path.join(dir, 'sub', 'c.png'), 4, 4);
    await png(path.join(dir, '.hidden.png'), 4, 4);
    const ds = await loadDataset({ dataset: dir });
    expect(ds.images.map((im) => im.fileName)).toEqual(['a.png', 'sub/c.png']);
    // a YOLO folder: a checkpoint copy would be an image without objects, its detections all false positives
    const yolo = path.join(tmp, 'yolo-hidden');
    await png(path.join(yolo, 'images', 'c.png'), 10, 10);
    await png(path.join(yolo, 'images', '.ipynb_checkpoints', 'c-checkpoint.png'), 10, 10);
    await mkdir(path.join(yolo, 'labels'), { recursive: true });
    await writeFile(path.join(yolo, 'labels', 'c.txt'), '0 0.5 0.5 0.2 0.4\n');
    await writeFile(path.join(yolo, 'classes.txt'), 'cat\n');
    expect((await loadDataset({ dataset: yolo })).images.map((im) => im.fileName)).toEqual(['c.png']);
  });

  it('loads a plain image folder as label-free', async () => {
    const dir = path.join(tmp, 'plain');
    await png(path.join(dir, 'z.png'), 12, 7);
    await png(path.join(dir, 'a.png'), 5, 6);
    await writeFile(path.join(dir, 'notes.txt'), 'not an image');
    const ds = await loadDataset({ dataset: dir });
    expect(ds.kind).toBe('folder');
    expect(ds.groundTruth).toBeNull();
    expect(ds.categories).toEqual([]);
    expect(ds.images.map((im) => [im.id, im.fileName, im.width, im.height])).toEqual([
      [1, 'a.png', 5, 6],
      [2, 'z.png', 12, 7],
    ]);
    expect(summarizeDataset(ds).boxes).toBeNull();
    const empty = path.join(tmp, 'empty');
    await mkdir(empty);
    await expect(loadDataset({ dataset: empty })).rejects.toMatchObject({
      code: 'ERR_DATASET',
      message: expect.stringContaining(`Found no images (.jpg, .png, .webp, …) in ${empty}.`),
    });
  });
});

describe('decodeImage', () => {
  it('returns 8-bit RGB for RGBA and greyscale input', async () => {
    const rgba = path.join(tmp, 'rgba.png');
    await sharp({ create: { width: 3, height: 2, channels: 4, background: { r: 200, g: 100, b: 50, alpha: 0.5 } } })
      .png()
      .toFile(rgba);
    const a = await decodeImage(rgba);
    expect([a.width, a.height, a.data.length]).toEqual([3, 2, 18]);
    expect([...a.data.slice(0, 3)]).toEqual([200, 100, 50]);
    const grey = path.join(tmp, 'grey16.png');
    await sharp(Buffer.alloc(4 * 4 * 2, 0x80), { raw: { width: 4, height: 4, channels: 1 } })
      .toColourspace('b-w')
      .png()
      .toFile(grey);
    const g = await decodeImage(grey);
    expect(g.data.length).toBe(4 * 4 * 3);
    expect(g.data[0]).toBe(g.data[1]);
    expect(g.data[1]).toBe(g.data[2]);
  });

  it('keeps the stored orientation (EXIF rotation is not applied)', async () => {
    const jpg = path.join(tmp, 'rotated.jpg');
    await sharp({ create: { width: 40, height: 20, channels: 3, background: '#808080' } })
      .withMetadata({ orientation: 6 })
      .jpeg()
      .toFile(jpg);
    expect((await sharp(jpg).metadata()).orientation).toBe(6);
    const img = await decodeImage(jpg);
    expect([img.width, img.height]).toEqual([40, 20]);
  });

  it('a size mismatch that is the EXIF rotation says so (the annotations follow the displayed image), not "fix the size"', async () => {
    const jpg = path.join(tmp, 'rotated-coco.jpg');
    await sharp({ create: { width: 40, height: 20, channels: 3, background: '#808080' } })
      .withMetadata({ orientation: 6 })
      .jpeg()
      .toFile(jpg);
    const e = (await decodeImage(jpg, { width: 20, height: 40 }).catch((err) => err)) as Error;
    expect(e.message).toContain('EXIF orientation 6');
    expect(e.message).toContain('mogrify -auto-orient');
    expect(e.message).not.toContain("Fix the image's width/height");
  });

  it('throws ERR_DATASET naming the file for a corrupt image or a size mismatch', async () => {
    const bad = path.join(tmp, 'corrupt.jpg');
    await writeFile(bad, Buffer.from('this is not a jpeg at all'));
    await expect(decodeImage(bad)).rejects.toMatchObject({
      code: 'ERR_DATASET',
      message: expect.stringMatching(
        new RegExp(`^Could not decode image ${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: .+`),
      ),
    });
    const ok = path.join(tmp, 'ok.png');
    await png(ok, 4, 3);
    await expect(decodeImage(ok, { width: 3, height: 4 })).rejects.toMatchObject({
      code: 'ERR_DATASET',
      message: `Could not decode image ${ok}: it is 4×3 but the annotations say 3×4. Fix the image's width/height in the annotation file.`,
    });
    expect((await readFile(ok)).length).toBeGreaterThan(0);
  });
});
