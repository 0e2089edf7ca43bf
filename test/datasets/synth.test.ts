import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ensureSynthDataset, generateSynthDataset } from '../../src/datasets/synth.js';
import { renderSynthScene, shapeCoverage, SYNTH_CLASSES, SYNTH_MAX_OCCLUSION } from '../../src/datasets/synthRender.js';
import { Rng } from '../../src/core/rng.js';
import type { CocoGroundTruth } from '../../src/core/types.js';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'shiftbench-synth-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function allFiles(dir: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const full = path.join(e.parentPath, e.name);
    out.set(path.relative(dir, full), await readFile(full));
  }
  return out;
}

/** While armed: a mkdir under `prefix` fails as Node's recursive mkdir does on a read-only mount (ENOENT). */
const readOnly = vi.hoisted(() => ({ prefix: '' }));

vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  const mkdir = (async (dir: unknown, opts?: unknown) => {
    if (readOnly.prefix && typeof dir === 'string' && dir.startsWith(readOnly.prefix))
      throw Object.assign(new Error(`ENOENT: no such file or directory, mkdir '${readOnly.prefix}'`), {
        code: 'ENOENT',
        path: readOnly.prefix,
      });
    return real.mkdir(dir as string, opts as Parameters<typeof real.mkdir>[1]);
  }) as typeof real.mkdir;
  return { ...real, default: { ...real, mkdir }, mkdir };
});

describe('synthetic dataset', () => {
  it('is byte-identical for the same options, and a val-only run equals the val split of a full run', async () => {
    const opts = { trainImages: 10, valImages: 6, seed: 7, sizePx: 128 };
    const a = await generateSynthDataset({ ...opts, outDir: path.join(tmp, 'a') });
    const b = await generateSynthDataset({ ...opts, outDir: path.join(tmp, 'b') });
    const filesA = await allFiles(a.dir);
    const filesB = await allFiles(b.dir);
    expect(filesA.size).toBe(2 * 2 + 10 + 6); // instances.json + stamp per split, plus images
    expect([...filesB.keys()].sort()).toEqual([...filesA.keys()].sort());
    for (const [name, bytes] of filesA) expect(bytes.equals(filesB.get(name)!), name).toBe(true);
    expect(a.splits.map((s) => s.sha256)).toEqual(b.splits.map((s) => s.sha256));

    const valOnly = await generateSynthDataset({
      ...opts,
      trainImages: 3,
      splits: ['val'],
      outDir: path.join(tmp, 'v'),
    });
    expect(valOnly.splits.map((s) => s.name)).toEqual(['val']);
    const filesV = await allFiles(path.join(valOnly.dir, 'val'));
    const valA = await allFiles(path.join(a.dir, 'val'));
    expect(filesV.size).toBe(valA.size);
    for (const [name, bytes] of valA) expect(bytes.equals(filesV.get(name)!), name).toBe(true);

    const other = await generateSynthDataset({ ...opts, seed: 8, splits: ['val'], outDir: path.join(tmp, 'c') });
    expect(other.splits[0].sha256).not.toBe(a.splits[1].sha256);
  });

  it('writes COCO with ≥ 6 classes, all three COCO area ranges, boxes inside the image', async () => {
    const r = await generateSynthDataset({
      trainImages: 60,
      valImages: 1,
      seed: 3,
      splits: ['train'],
      outDir: path.join(tmp, 'cov'),
    });
    const gt = JSON.parse(await readFile(r.splits[0].annotationFile, 'utf8')) as CocoGroundTruth;
    expect(gt.categories.length).toBeGreaterThanOrEqual(6);
    expect(gt.categories.map((c) => c.id)).toEqual(SYNTH_CLASSES.map((_, i) => i + 1));
    expect(new Set(gt.categories.map((c) => c.name)).size).toBe(gt.categories.length);
    expect(gt.images).toHaveLength(60);
    const present = new Set(gt.annotations.map((a) => a.category_id));
    expect(present.size).toBe(gt.categories.length);
    const ranges = { small: 0, medium: 0, large: 0 };
    const perImage = new Map<number, number>();
    for (const a of gt.annotations) {
      const [x, y, w, h] = a.bbox;
      expect(x).toBeGreaterThanOrEqual(0);
      expect(y).toBeGreaterThanOrEqual(0);
      expect(x + w).toBeLessThanOrEqual(256);
      expect(y + h).toBeLessThanOrEqual(256);
      expect(a.area).toBe(w * h);
      expect(a.iscrowd).toBe(0);
      if (a.area < 32 * 32) ranges.small++;
      else if (a.area <= 96 * 96) ranges.medium++;
      else ranges.large++;
      perImage.set(a.image_id, (perImage.get(a.image_id) ?? 0) + 1);
    }
    expect(ranges.small).toBeGreaterThan(0);
    expect(ranges.medium).toBeGreaterThan(0);
    expect(ranges.large).toBeGreaterThan(0);
    expect(perImage.size).toBe(60); // every image has at least one object
    expect(Math.max(...perImage.values())).toBeLessThanOrEqual(8);
    expect(new Set(gt.annotations.map((a) => a.id)).size).toBe(gt.annotations.length);
    const files = await readdir(path.join(path.dirname(r.splits[0].annotationFile), 'images'));
    expect(files.sort()).toEqual(gt.images.map((i) => i.file_name).sort());
  });

  it('keeps every object at least half visible, and some objects are really occluded', () => {
    let occluded = 0;
    let objects = 0;
    for (let s = 0; s < 40; s++) {
      const scene = renderSynthScene(new Rng(1000 + s), 256);
      // re-derive ownership independently: paint each object's mask (coverage ≥ 2 of 4) in draw order
      const owner = new Int16Array(256 * 256).fill(-1);
      const total: number[] = [];
      scene.objects.forEach((o, i) => {
        const [x0, y0, w, h] = o.bbox;
        const cov = shapeCoverage(SYNTH_CLASSES[o.categoryId - 1].name, w, h);
        let n = 0;
        for (let y = 0; y < h; y++)
          for (let x = 0; x < w; x++)
            if (cov[y * w + x] >= 2) {
              owner[(y0 + y) * 256 + x0 + x] = i;
              n++;
            }
        total.push(n);
      });
      const visible = total.map(() => 0);
      for (const o of owner) if (o >= 0) visible[o]++;
      scene.objects.forEach((o, i) => {
        const fraction = visible[i] / total[i];
        expect(fraction).toBeGreaterThanOrEqual(1 - SYNTH_MAX_OCCLUSION);
        expect(o.visibleFraction).toBeCloseTo(fraction, 10);
        objects++;
        if (fraction < 0.95) occluded++;
      });
    }
    expect(occluded).toBeGreaterThan(objects * 0.05);
  });

  it('every shape but the star touches all four sides of its box; the star tips stop 1–4 px short (datasets/README.md)', () => {
    // the margin of empty rows / columns on each side of a shape's coverage, for sizes across the three COCO ranges
    const margins = (shape: (typeof SYNTH_CLASSES)[number]['name'], s: number) => {
      const cov = shapeCoverage(shape, s, s);
      let x0 = s;
      let x1 = -1;
      let y0 = s;
      let y1 = -1;
      for (let y = 0; y < s; y++)
        for (let x = 0; x < s; x++)
          if (cov[y * s + x] > 0) {
            x0 = Math.min(x0, x);
            x1 = Math.max(x1, x);
            y0 = Math.min(y0, y);
            y1 = Math.max(y1, y);
          }
      return [x0, y0, s - 1 - x1, s - 1 - y1];
    };
    for (const { name } of SYNTH_CLASSES)
      for (const s of [8, 20, 50, 100, 200]) {
        const m = margins(name, s);
        if (name !== 'star') expect(m, `${name} ${s}`).toEqual([0, 0, 0, 0]);
        else for (const side of m) expect(side >= 1 && side <= 4, `star ${s}: ${m.join(',')}`).toBe(true);
      }
  });

  it('ensureSynthDataset generates once, then reuses the stamped split', async () => {
    const dir = path.join(tmp, 'ensure');
    const first = await ensureSynthDataset(dir, { valImages: 4, splits: ['val'], seed: 2 });
    const jsonPath = first.splits[0].annotationFile;
    const before = (await stat(jsonPath)).mtimeMs;
    await new Promise((r) => setTimeout(r, 20));
    const again = await ensureSynthDataset(dir, { valImages: 4, splits: ['val'], seed: 2 });
    expect(again.splits[0].sha256).toBe(first.splits[0].sha256);
    expect((await stat(jsonPath)).mtimeMs).toBe(before);
    const changed = await ensureSynthDataset(dir, { valImages: 5, splits: ['val'], seed: 2 });
    expect(changed.splits[0].images).toBe(5);
    expect((await readdir(path.join(dir, 'val', 'images'))).length).toBe(5);
  });

  it('refuses to write into a folder holding foreign files, and rejects bad options', async () => {
    const dir = path.join(tmp, 'foreign');
    await generateSynthDataset({ valImages: 1, splits: ['val'], outDir: dir });
    await writeFile(path.join(dir, 'val', 'notes.txt'), 'mine');
    await expect(generateSynthDataset({ valImages: 1, splits: ['val'], outDir: dir })).rejects.toMatchObject({
      code: 'ERR_INVALID_OPTION',
      message: expect.stringContaining('holds files that shiftbench synth did not write (notes.txt'),
    });
    await expect(generateSynthDataset({ outDir: dir, sizePx: 10 })).rejects.toMatchObject({
      code: 'ERR_INVALID_OPTION',
      message: 'Expected an integer from 64 to 2048 for --size but received 10',
    });
  });
});

describe('synthetic dataset on a folder that cannot be made', () => {
  it('a refused mkdir of the split folder is ERR_OUTPUT naming the folder and the fix, not a bare fs error', async () => {
    // before: the CLI printed "unexpected failure: Error: ENOENT: no such file or directory, mkdir …" and a stack
    const out = path.join(await mkdtemp(path.join(os.tmpdir(), 'shiftbench-synth-ro-')), 'ds');
    readOnly.prefix = out;
    let e: { code?: string; message: string } | undefined;
    try {
      await generateSynthDataset({ outDir: out, valImages: 1, splits: ['val'], sizePx: 64 });
    } catch (err) {
      e = err as { code?: string; message: string };
    } finally {
      readOnly.prefix = '';
    }
    expect(e?.code).toBe('ERR_OUTPUT');
    expect(e?.message).toContain(`Could not write ${path.join(out, 'val', 'images')}`);
    expect(e?.message).toContain('then run the same command again');
  });
});
