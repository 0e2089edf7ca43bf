/**
 * Issue 12 item 1: the flicker gallery, from a real small run (fake detectors through the
 * real runner) and its dataset images: the most-flickering images per detector, the
 * reference beside the shift that changes most, boxes coloured by match state with class
 * and score on hover, thumbnails that decode; no gallery item for a detector that does not
 * flicker; a missing dataset leaves a note instead of failing.
 */
import { cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CocoResult, RunMetrics } from '../../src/core/types.js';
import {
  buildGallery,
  foundPerObject,
  gallerySection,
  loadReportRun,
  matchStates,
  renderReport,
} from '../../src/report/index.js';
import type { CocoAnnotation } from '../../src/core/types.js';
import { imageFlicker } from '../../src/metrics/index.js';
import { decodeImage } from '../../src/datasets/decode.js';
import { makeRun, makeRunFixture, type RunFixture } from './runs.js';
import { labelledMetrics, writeRunDir } from './fixture.js';

const det = (x: number, y: number, w: number, h: number, score: number, category_id = 1): CocoResult => ({
  image_id: 1,
  category_id,
  bbox: [x, y, w, h],
  score,
});

describe('matchStates', () => {
  it('same class and IoU ≥ 0.5: kept / vanished / appeared, each list by score', () => {
    const ref = [det(0, 0, 10, 10, 0.9), det(50, 50, 10, 10, 0.8), det(100, 0, 10, 10, 0.7, 2)];
    // moved by 1 px (IoU 81/119 = 0.68: kept); moved by 6 px (IoU 16/184: vanished + appeared); same box, other class
    const sh = [det(1, 1, 10, 10, 0.85), det(56, 56, 10, 10, 0.8), det(100, 0, 10, 10, 0.7, 1)];
    const m = matchStates(ref, sh);
    expect(m.reference.map((b) => b.state)).toEqual(['kept', 'vanished', 'vanished']);
    expect(m.shifted.map((b) => b.state)).toEqual(['kept', 'appeared', 'appeared']);
  });
});

describe('matchStates pairs detections as protocol §2 does (the matching per-image flicker counts)', () => {
  it('greedy by descending IoU, not by score: an image whose detections all match at the shift shows no change', () => {
    // A (0.9) overlaps Y by 8/12 and X by 7/13; B (0.8) overlaps Y by 9/11 and X by 6/14 (< 0.5). §2 pairs B–Y first
    // (the largest IoU), then A–X: every detection is matched, flicker 0. Taking A first (by score) would give it Y and
    // leave B and X unmatched.
    const ref = [det(2, 0, 10, 10, 0.9), det(1, 0, 10, 10, 0.8)];
    const sh = [det(5, 0, 10, 10, 0.85), det(0, 0, 10, 10, 0.8)];
    expect(imageFlicker({ imageId: 1, inputScale: { x: 1, y: 1 }, dets: [ref, sh] }, 0.5)!.flicker).toBe(0);
    const m = matchStates(ref, sh);
    expect(m.reference.map((b) => b.state)).toEqual(['kept', 'kept']);
    expect(m.shifted.map((b) => b.state)).toEqual(['kept', 'kept']);
  });
});

describe('foundPerObject', () => {
  it('counts the shifts at which each ground-truth object is matched one to one (class, IoU ≥ 0.5); crowd regions are not objects', () => {
    const ann = (id: number, x: number, category_id = 1, iscrowd: 0 | 1 = 0): CocoAnnotation => ({
      id,
      image_id: 1,
      category_id,
      bbox: [x, 0, 10, 10],
      area: 100,
      iscrowd,
    });
    const objects = [ann(1, 0), ann(2, 50), ann(3, 100, 2), ann(4, 200, 1, 1)];
    const perShift = [
      [det(0, 0, 10, 10, 0.9), det(50, 0, 10, 10, 0.8), det(100, 0, 10, 10, 0.7, 2), det(200, 0, 10, 10, 0.9)],
      [det(1, 0, 10, 10, 0.9), det(1, 0, 10, 10, 0.95), det(100, 0, 10, 10, 0.7, 1)], // two on object 1 (one to one: 1 match), object 2 missed, wrong class on 3
      [det(56, 0, 10, 10, 0.9), det(102, 0, 10, 10, 0.6, 2)], // IoU 4×10/(200−40) = 0.25 on object 2: missed; object 3 found
    ];
    expect(foundPerObject(objects, perShift).map((r) => [r.annotation.id, r.foundAt])).toEqual([
      [1, 2],
      [2, 1],
      [3, 2],
    ]);
  });
});

describe('flicker gallery of a labelled run whose detector has classes the ground truth lacks', () => {
  it('draws and compares only the detections scoring counted (categories of the ground truth), as flicker did', async () => {
    // shift (1,0): three detections of category 99 (not in the ground truth: not evaluated, not in flicker) vanish;
    // shift (0,1): the category-1 detection vanishes — the change flicker counted, and the one to show
    const m = labelledMetrics();
    const r = m.results[0];
    r.analysis = {
      boundsInterval: null,
      sizeCurve: null,
      boundsByObjective: {},
      breakdown: null,
      flicker: { scoreThreshold: 0.5, images: 1, meanFlicker: 0.5, top: [{ imageId: 1, flicker: 0.5, detections: 4 }] },
      periodicity: [],
      paired: [],
      notes: [],
    };
    const dir = await writeRunDir(m);
    try {
      const keyDir = path.join(dir, 'detections', r.key);
      const a = det(10, 10, 20, 20, 0.9);
      const others = [det(60, 10, 20, 20, 0.9, 99), det(60, 60, 20, 20, 0.9, 99), det(10, 60, 20, 20, 0.9, 99)];
      const files: Record<string, CocoResult[]> = {
        shift_0_0: [a, ...others],
        shift_1_0: [a],
        shift_0_1: [...others],
        shift_1_1: [a, ...others],
      };
      for (const [name, list] of Object.entries(files))
        await writeFile(path.join(keyDir, `${name}.json`), JSON.stringify(list));
      const gt = {
        images: [{ id: 1, file_name: 'a.png', width: 100, height: 100 }],
        annotations: [{ id: 1, image_id: 1, category_id: 1, bbox: [10, 10, 20, 20], area: 400, iscrowd: 0 }],
        categories: [{ id: 1, name: 'thing' }],
      };
      await writeFile(path.join(keyDir, 'ground_truth.json'), JSON.stringify(gt));
      const image = path.join(dir, 'a.png');
      await sharp({ create: { width: 100, height: 100, channels: 3, background: '#888' } })
        .png()
        .toFile(image);
      const g = await buildGallery(await loadReportRun(dir), () => image, { perDetector: 1 });
      expect(g.items).toHaveLength(1);
      const it = g.items[0];
      expect(it.shift).toEqual({ dx: 0, dy: 1 });
      expect(it.reference.map((b) => [b.categoryId, b.state])).toEqual([[1, 'vanished']]);
      expect(it.shifted).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('flicker gallery (real run with fakes)', () => {
  let fx: RunFixture;
  let dir: string;
  let metrics: RunMetrics;

  beforeAll(async () => {
    fx = await makeRunFixture(16);
    ({ dir, metrics } = await makeRun(fx, 'run', { models: ['shaky'] }));
  });
  afterAll(async () => {
    await rm(fx.root, { recursive: true, force: true });
  });
  const imageFile = (id: number) => path.join(fx.root, 'ds', 'images', `${String(id).padStart(3, '0')}.png`);
  /** The shaky detector's per-shift results files, in shift order. */
  const shakyShiftFiles = () =>
    Promise.all(
      metrics.shiftSet.shifts.map(
        async (s) =>
          JSON.parse(
            await readFile(path.join(dir, 'detections', 'shaky', `shift_${s.dx}_${s.dy}.json`), 'utf8'),
          ) as CocoResult[],
      ),
    );

  it("shows each flickering detector's top images against the shift that changes most, with the stored detections", async () => {
    const g = await buildGallery(await loadReportRun(dir), imageFile, { perDetector: 2 });
    const shaky = metrics.results.find((r) => r.key === 'shaky')!;
    const fix = metrics.results.find((r) => r.key === 'shaky+fix')!;
    expect(fix.analysis!.flicker.top.every((t) => t.flicker === 0)).toBe(true);
    expect(g.items.filter((i) => i.key === 'shaky+fix')).toEqual([]); // an exact detector does not flicker
    const items = g.items.filter((i) => i.key === 'shaky');
    expect(items.map((i) => i.imageId)).toEqual(shaky.analysis!.flicker.top.slice(0, 2).map((t) => t.imageId));
    const shifts = metrics.shiftSet.shifts;
    const files = await shakyShiftFiles();
    for (const it of items) {
      const at = files.map((f) => f.filter((d) => d.image_id === it.imageId && d.score >= 0.5));
      const s = shifts.findIndex((x) => x.dx === it.shift.dx && x.dy === it.shift.dy);
      expect(it.reference.map((b) => b.bbox)).toEqual(at[0].sort((a, b) => b.score - a.score).map((d) => d.bbox));
      expect(it.shifted).toHaveLength(at[s].length);
      const changed = (k: number) => {
        const m = matchStates(at[0], at[k]);
        return [...m.reference, ...m.shifted].filter((b) => b.state !== 'kept').length;
      };
      for (let k = 1; k < shifts.length; k++) expect(changed(s)).toBeGreaterThanOrEqual(changed(k));
      expect(changed(s)).toBeGreaterThan(0);
      // the blinking objects drawn are found at some shifts and missed at others
      for (const o of it.blinking) expect(o.foundAt > 0 && o.foundAt < shifts.length).toBe(true);
      // the thumbnail decodes, fits 240 px and is not blank
      const png = Buffer.from(it.thumbnail.replace(/^data:image\/jpeg;base64,/, ''), 'base64');
      const meta = await sharp(png).metadata();
      expect(meta.format).toBe('jpeg');
      expect(Math.max(meta.width!, meta.height!)).toBe(240);
      const stats = await sharp(png).stats();
      expect(stats.channels[0].stdev).toBeGreaterThan(5);
    }
  });

  it('counts the blinking objects over every image and shift: foundPerObject of each image with all its shifts at once', async () => {
    const g = await buildGallery(await loadReportRun(dir), imageFile, { perDetector: 2 });
    const shifts = metrics.shiftSet.shifts;
    const files = await shakyShiftFiles();
    const gt = JSON.parse(await readFile(path.join(dir, 'detections', 'shaky', 'ground_truth.json'), 'utf8')) as {
      annotations: CocoAnnotation[];
      images: { id: number }[];
    };
    let objects = 0;
    const blinking: { imageId: number; annotationId: number; foundAt: number }[] = [];
    for (const { id } of gt.images) {
      const anns = gt.annotations.filter((a) => a.image_id === id);
      if (anns.length === 0) continue;
      const rows = foundPerObject(
        anns,
        files.map((f) => f.filter((d) => d.image_id === id && d.score >= 0.5)),
      );
      objects += rows.length;
      for (const r of rows)
        if (r.foundAt > 0 && r.foundAt < shifts.length)
          blinking.push({ imageId: id, annotationId: r.annotation.id, foundAt: r.foundAt });
    }
    expect(blinking.length).toBeGreaterThan(2); // the fixture's shaky detector makes objects blink on several images
    expect(g.blinking.shaky.objects).toBe(objects);
    expect(g.blinking.shaky.blinking).toBe(blinking.length);
    const even = (o: { foundAt: number }) => Math.abs(o.foundAt / shifts.length - 0.5);
    blinking.sort((x, y) => even(x) - even(y) || x.imageId - y.imageId || x.annotationId - y.annotationId);
    expect(g.blinking.shaky.top.map((o) => [o.imageId, o.annotationId, o.foundAt])).toEqual(
      blinking.slice(0, 10).map((o) => [o.imageId, o.annotationId, o.foundAt]),
    );
  });

  it('a per-shift file that is there but cannot be read is named with the reason, not called missing', async () => {
    const copy = path.join(fx.root, 'run-unreadable');
    await cp(dir, copy, { recursive: true });
    const shifts = metrics.shiftSet.shifts;
    const file = path.join(copy, 'detections', 'shaky', `shift_${shifts[1].dx}_${shifts[1].dy}.json`);
    await writeFile(file, '[{"image_id": 1, "category_id"'); // cut short, as a full disk or a killed copy leaves it
    const g = await buildGallery(await loadReportRun(copy), imageFile, { perDetector: 2 });
    expect(g.items.filter((i) => i.key === 'shaky')).toEqual([]);
    const note = g.notes.find((n) => n.startsWith('shaky:'));
    expect(note).toContain(`shift_${shifts[1].dx}_${shifts[1].dy}.json`);
    expect(note).toMatch(/could not be read.*JSON/);
    expect(note).not.toMatch(/missing/);
    await rm(file);
    const g2 = await buildGallery(await loadReportRun(copy), () => null, { perDetector: 2 });
    expect(g2.notes.find((n) => n.startsWith('shaky:'))).toMatch(/missing from detections/);
  });

  it('a labelled run whose ground_truth.json cannot be read says so instead of drawing it as label-free', async () => {
    const copy = path.join(fx.root, 'run-gt-unreadable');
    await cp(dir, copy, { recursive: true });
    await writeFile(path.join(copy, 'detections', 'shaky', 'ground_truth.json'), '{"images": ['); // cut short
    const g = await buildGallery(await loadReportRun(copy), imageFile, { perDetector: 2 });
    const note = g.notes.find((n) => n.startsWith('shaky:') && n.includes('ground_truth.json'));
    expect(note).toMatch(/could not be read.*JSON.*blinking objects are not counted/);
    expect(g.blinking.shaky).toBeUndefined();
  });

  it('the report carries the gallery: boxes with class and score on hover; --gallery 0 leaves it out; a missing dataset leaves a note', async () => {
    const { htmlPath } = await renderReport(dir);
    const html = await readFile(htmlPath, 'utf8');
    expect(html).toContain('<section id="gallery"><h2>Flicker gallery</h2>');
    expect(html).toMatch(
      /<rect class="g-(kept|vanished|appeared)" data-state="\1"[^>]*><title>(disc|square) · score 0\.90 · \1<\/title><\/rect>/,
    );
    expect(html.match(/class="g-item"/g)!.length).toBe(3);
    expect(html).toMatch(
      /<table class="details blinking">.*<th scope="row"><code>shaky<\/code><\/th><td>\d+ of \d+<\/td>/s,
    );
    expect(Buffer.byteLength(html)).toBeLessThan(8 * 1024 * 1024);
    const off = await readFile(
      (await renderReport(dir, { gallery: 0, outFile: path.join(fx.root, 'off.html') })).htmlPath,
      'utf8',
    );
    expect(off).not.toContain('id="gallery"');
    const elsewhere = await readFile(
      (await renderReport(dir, { imagePaths: new Map(), outFile: path.join(fx.root, 'no-images.html') })).htmlPath,
      'utf8',
    );
    expect(elsewhere).not.toContain('class="g-item"');
    expect(elsewhere).toContain('could not be read, so it is left out');
  });

  it('draws thumbnails in the stored orientation (the frame the boxes are in), not turned by the EXIF tag', async () => {
    // the same pixels as JPEGs tagged EXIF orientation 6 (shown turned 90° by a viewer that applies it); scoring
    // decodes the stored pixels, so the boxes are in the stored frame and the thumbnail must be too
    const exifDir = path.join(fx.root, 'exif');
    await mkdir(exifDir, { recursive: true });
    const file = (id: number) => path.join(exifDir, `${String(id).padStart(3, '0')}.jpg`);
    for (const im of fx.gt.images)
      await sharp(path.join(fx.root, 'ds', 'images', im.file_name))
        .jpeg({ quality: 95 })
        .withMetadata({ orientation: 6 })
        .toFile(file(im.id));
    expect((await sharp(file(1)).metadata()).orientation).toBe(6);
    const g = await buildGallery(await loadReportRun(dir), file, { perDetector: 3 });
    expect(g.items.length).toBeGreaterThan(0);
    const size = new Map(fx.gt.images.map((im) => [im.id, im]));
    expect(g.items.some((it) => size.get(it.imageId)!.width !== size.get(it.imageId)!.height)).toBe(true);
    for (const it of g.items) {
      const { width, height } = size.get(it.imageId)!;
      expect([it.widthPx, it.heightPx]).toEqual([width, height]);
      const thumb = Buffer.from(it.thumbnail.replace(/^data:image\/jpeg;base64,/, ''), 'base64');
      const meta = await sharp(thumb).metadata();
      expect([meta.width, meta.height]).toEqual([it.thumbWidthPx, it.thumbHeightPx]);
      expect(meta.orientation ?? 1).toBe(1); // no tag left for a browser to turn it by
      expect(Math.max(meta.width!, meta.height!)).toBe(240);
      expect(Math.abs(meta.width! / meta.height! - width / height)).toBeLessThan(0.02);
      // every box drawn lies inside the picture
      for (const b of [...it.reference, ...it.shifted]) {
        expect((b.bbox[0] + b.bbox[2]) * (it.thumbWidthPx / it.widthPx)).toBeLessThanOrEqual(it.thumbWidthPx + 8);
        expect((b.bbox[1] + b.bbox[3]) * (it.thumbHeightPx / it.heightPx)).toBeLessThanOrEqual(it.thumbHeightPx + 8);
      }
    }
  });

  it('draws thumbnails from the stored pixel values, as scoring decodes them: an embedded colour profile is not applied', async () => {
    // the same pictures converted to Display P3 and tagged with it: a viewer (and sharp by default) would convert them
    // back to sRGB, but decodeImage gives the detector the stored values, so the thumbnail must show those
    const p3Dir = path.join(fx.root, 'p3');
    await mkdir(p3Dir, { recursive: true });
    const file = (id: number) => path.join(p3Dir, `${String(id).padStart(3, '0')}.png`);
    for (const im of fx.gt.images)
      await sharp(path.join(fx.root, 'ds', 'images', im.file_name))
        .withIccProfile('p3')
        .png()
        .toFile(file(im.id));
    const g = await buildGallery(await loadReportRun(dir), file, { perDetector: 3 });
    expect(g.items.length).toBeGreaterThan(0);
    const means = async (img: ReturnType<typeof sharp>) => (await img.stats()).channels.slice(0, 3).map((c) => c.mean);
    for (const it of g.items) {
      const stored = await decodeImage(file(it.imageId));
      const storedMeans = await means(
        sharp(stored.data, { raw: { width: stored.width, height: stored.height, channels: 3 } }),
      );
      const viewed = await sharp(file(it.imageId)).removeAlpha().raw().toBuffer({ resolveWithObject: true });
      const converted = await means(
        sharp(viewed.data, { raw: { width: viewed.info.width, height: viewed.info.height, channels: 3 } }),
      );
      // the fixture tells the two apart: applying the profile moves some channel's mean by more than 3 levels
      expect(Math.max(...converted.map((m, k) => Math.abs(m - storedMeans[k])))).toBeGreaterThan(3);
      const thumb = await means(sharp(Buffer.from(it.thumbnail.replace(/^data:image\/jpeg;base64,/, ''), 'base64')));
      for (let k = 0; k < 3; k++) expect(Math.abs(thumb[k] - storedMeans[k])).toBeLessThan(1.5);
    }
  });

  it('reads the per-shift files of a fractional shift set (named by index)', async () => {
    const { dir: fracDir } = await makeRun(fx, 'frac', { models: ['shaky'], mitigations: [], shifts: 'frac:2' });
    const g = await buildGallery(await loadReportRun(fracDir), (id) =>
      path.join(fx.root, 'ds', 'images', `${String(id).padStart(3, '0')}.png`),
    );
    expect(g.notes).toEqual([]);
    expect(g.items.length).toBeGreaterThan(0);
    expect(g.items.some((i) => !Number.isInteger(i.shift.dx) || !Number.isInteger(i.shift.dy))).toBe(true);
    // labelled in fractions, as the rest of the report labels the shifts of a fractional set
    const html = gallerySection(g);
    expect(html).not.toMatch(/shift \([^)]*0\.5/);
    expect(html).toMatch(/shift \((1\/2|0|1), (1\/2|0|1)\)/);
  });
});

describe('flicker gallery of a label-free run (a folder of images)', () => {
  let fx: RunFixture;

  beforeAll(async () => {
    fx = await makeRunFixture(8);
  });
  afterAll(async () => {
    await rm(fx.root, { recursive: true, force: true });
  });

  const items = (html: string) => [...html.matchAll(/<p class="g-cap">([^<]*)<\/p>/g)].map((m) => m[1]);
  const boxTitles = (html: string) =>
    [...html.matchAll(/<rect class="g-(?:kept|vanished|appeared)"[^>]*><title>([^<]*)<\/title>/g)].map((m) => m[1]);

  it("captions carry the image's file name from the dataset, and boxes the detector's class names", async () => {
    // a registry model's description carries its class list (describeEntry: the entry's `classes`)
    const classes = fx.gt.categories.map((c) => ({ id: c.id, name: `${c.name}-class` }));
    const { dir, metrics } = await makeRun(
      fx,
      'lf',
      { dataset: path.join(fx.root, 'ds', 'images'), models: ['shaky'], mitigations: [] },
      3,
      { describeDetector: async (spec) => ({ kind: 'test fake', spec, classes }) },
    );
    expect(metrics.dataset.labelFree).toBe(true);
    const html = await readFile((await renderReport(dir)).htmlPath, 'utf8');
    const caps = items(html);
    expect(caps.length).toBeGreaterThan(0);
    for (const cap of caps) {
      const id = Number(/^image (\d+) /.exec(cap)![1]);
      expect(cap).toMatch(new RegExp(`^image ${id} \\(${String(id).padStart(3, '0')}\\.png\\) · flicker`));
    }
    const titles = boxTitles(html);
    expect(titles.length).toBeGreaterThan(0);
    for (const t of titles) expect(t).toMatch(/^(disc|square)-class · score /);
  });

  it('a detector whose description has no class list (plug-in, HTTP) names its boxes by its own info.classes', async () => {
    const { dir } = await makeRun(fx, 'lf-plain', {
      dataset: path.join(fx.root, 'ds', 'images'),
      models: ['shaky'],
      mitigations: [],
    });
    const manifestFile = path.join(dir, 'manifest.json');
    const manifest = JSON.parse(await readFile(manifestFile, 'utf8'));
    expect(manifest.identity.detectors.shaky.classes).toBeUndefined(); // the description has none
    expect(manifest.detectors[0].classes).toEqual(fx.gt.categories.map((c) => ({ id: c.id, name: c.name })));
    let html = await readFile((await renderReport(dir)).htmlPath, 'utf8');
    for (const cap of items(html)) expect(cap).toMatch(/^image (\d+) \(\d{3}\.png\) · flicker/);
    const titles = boxTitles(html);
    expect(titles.length).toBeGreaterThan(0);
    for (const t of titles) expect(t).toMatch(/^(disc|square) · score /);
    // a manifest written before detectors recorded their classes: boxes are named by id
    for (const d of manifest.detectors) delete d.classes;
    await writeFile(manifestFile, JSON.stringify(manifest, null, 2));
    html = await readFile((await renderReport(dir)).htmlPath, 'utf8');
    for (const t of boxTitles(html)) expect(t).toMatch(/^class \d+ · score /);
    // given only the image files (no dataset), the caption names the file, never the id as its name
    const g = await buildGallery(await loadReportRun(dir), (id) =>
      path.join(fx.root, 'ds', 'images', `${String(id).padStart(3, '0')}.png`),
    );
    expect(g.items.length).toBeGreaterThan(0);
    for (const it of g.items) expect(it.fileName).toBe(`${String(it.imageId).padStart(3, '0')}.png`);
  });
});

describe('flicker gallery of a run whose dataset images changed since', () => {
  it('draws no thumbnail of an image other than the one scored: no items, a note saying the dataset changed', async () => {
    const fx = await makeRunFixture(12);
    try {
      const { dir, metrics } = await makeRun(fx, 'run', { models: ['shaky'] });
      const top = metrics.results.find((r) => r.key === 'shaky')!.analysis!.flicker.top[0];
      expect(top.flicker).toBeGreaterThan(0);
      // the most-flickering image's file replaced by other pixels of the same size (its boxes would be drawn on them)
      const file = path.join(fx.root, 'ds', 'images', `${String(top.imageId).padStart(3, '0')}.png`);
      await writeFile(file, await sharp(file).flop().negate({ alpha: false }).png().toBuffer());
      const html = await readFile((await renderReport(dir)).htmlPath, 'utf8');
      expect(html).toContain('<section id="gallery"><h2>Flicker gallery</h2>');
      expect(html.includes('class="g-item"')).toBe(false);
      expect(html.includes('changed since the run')).toBe(true);
    } finally {
      await rm(fx.root, { recursive: true, force: true });
    }
  });
});
