/**
 * Bring your own inference (issue 13.3): `exportInputs` writes the runner's shifted inputs
 * as PNGs, a detector runs on them outside shiftbench (onnxruntime-node directly, here),
 * and `scoreExport` turns its per-shift COCO results into a run directory whose metrics
 * are those of `shiftbench run` with the same model.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RunMetrics, ShiftMode } from '../../src/core/types.js';
import { decodeImage, ensureSynthDataset, loadDataset } from '../../src/datasets/index.js';
import { exportInputs, scoreExport, type ExportManifest } from '../../src/export/index.js';
import { pairRuns, rescoreRun, runBenchmark } from '../../src/runner/index.js';
import { makeShiftedInputs, parseShiftSet } from '../../src/shifts/index.js';
import { REPO_ROOT, rejection } from '../helpers/shared.js';
import { tempDir } from '../runner/fixtures.js';
import { detectExportWithOnnx } from './onnxOutside.js';
import { smallExport } from './smallExport.js';

const ZOO_DIR = path.join(REPO_ROOT, 'models/zoo');
const zoo = JSON.parse(readFileSync(path.join(ZOO_DIR, 'zoo.json'), 'utf8')) as {
  models: Parameters<typeof detectExportWithOnnx>[1][];
};
const fcos = zoo.models.find((m) => m.name === 'zoo-fcos')!;

/** What must be identical between `run` and `score`: everything but the run id, the runtime and the timing. */
function comparable(m: RunMetrics): unknown {
  return { ...m, runId: null, results: m.results.map((r) => ({ ...r, runtime: null, timing: null })) };
}

const VAL_IMAGES = 10;

describe('export → inference outside shiftbench → score', () => {
  let root: string;
  let dataset: string;

  beforeAll(async () => {
    root = await tempDir('shiftbench-export-');
    // 10 images: fewer give no bounds interval, and `compare` pairs nothing
    dataset = (await ensureSynthDataset(path.join(root, 'synth'), { splits: ['val'], valImages: VAL_IMAGES })).splits[0]
      .annotationFile;
  });

  it.each([
    ['grid:1', 'pad'],
    ['line:2', 'crop'],
  ] as [string, ShiftMode][])(
    'zoo-fcos, %s %s: the metrics of `score` are those of `run`, bit for bit',
    async (shifts, mode) => {
      const tag = `${mode}-${shifts.replace(':', '')}`;
      const run = await runBenchmark({
        models: ['zoo-fcos'],
        dataset,
        shifts,
        mode,
        out: path.join(root, `run-${tag}`),
        bootstrapResamples: 100,
      });
      const exportDir = path.join(root, `export-${tag}`);
      const exported = await exportInputs({ model: 'zoo-fcos', dataset, shifts, mode, out: exportDir });
      const shiftCount = parseShiftSet(shifts).shifts.length;
      expect(exported.inputs).toBe(VAL_IMAGES * shiftCount);
      await detectExportWithOnnx(exportDir, fcos, ZOO_DIR);

      const warnings: string[] = [];
      const scored = await scoreExport(
        exportDir,
        {
          name: 'zoo-fcos',
          family: 'one-stage,anchor-free',
          out: path.join(root, `score-${tag}`),
          bootstrapResamples: 100,
        },
        { logger: { info: () => undefined, warn: (m) => warnings.push(m) } },
      );
      // a real detector's boxes in the input's pixels: no wrong-frame warning
      expect(warnings.filter((w) => /outside the picture/.test(w))).toEqual([]);
      expect(scored.metrics.results).toHaveLength(1);
      expect(scored.metrics.results[0].bounds!.mapRef).toBeGreaterThan(0.3);
      expect(comparable(scored.metrics)).toEqual(comparable(run.metrics));
      // the per-shift files of both run directories (original-image coordinates) are the same
      const files = JSON.parse(await readFile(path.join(run.runDir, 'detections/zoo-fcos/shifts.json'), 'utf8')) as {
        file: string;
      }[];
      for (const { file } of files) {
        const a = await readFile(path.join(run.runDir, 'detections/zoo-fcos', file), 'utf8');
        const b = await readFile(path.join(scored.runDir, 'detections/zoo-fcos', file), 'utf8');
        expect(b).toBe(a);
      }
      // the run directory is a complete one: manifest, metrics, report; its identity names the export
      const manifest = JSON.parse(await readFile(path.join(scored.runDir, 'manifest.json'), 'utf8'));
      const exportSha = exported.sha256;
      expect(exportSha).toMatch(/^[0-9a-f]{64}$/);
      expect(manifest.identity.run.detections).toEqual({ source: 'export', exportSha256: exportSha });
      expect(manifest.identity.detectors['zoo-fcos']).toMatchObject({ kind: 'export', exportSha256: exportSha });
      expect(manifest.detectors[0]).toMatchObject({
        key: 'zoo-fcos',
        family: { stages: 'one-stage', anchors: 'anchor-free' },
        inputSizePx: fcos.inputSizePx,
      });
      expect(manifest.detectors[0].runtime).toMatch(/^export/);
      expect(manifest.mode).toBe(mode);
      expect(existsSync(path.join(scored.runDir, 'report.html'))).toBe(true);
      if (mode === 'pad') {
        // `compare` pairs the two run directories image by image: the same detector, so Δ mAP range is exactly 0
        const [paired] = await pairRuns(run.runDir, scored.runDir, { bootstrapBounds: 20 });
        expect(paired.key).toBe('zoo-fcos');
        expect(paired.deltaMapRange).toEqual({ value: 0, lo: 0, hi: 0 });
        expect(paired.significant).toBe(false);
      }
    },
  );

  it('writes each input exactly as the runner makes it (lossless PNG) and export.json with every transform', async () => {
    const exportDir = path.join(root, 'export-pixels');
    const { manifest } = await exportInputs({
      model: 'zoo-fcos',
      dataset,
      shifts: 'line:2',
      mode: 'circular',
      out: exportDir,
      limit: 2,
    });
    const shiftSet = parseShiftSet('line:2');
    expect(manifest.shiftSet.shifts).toEqual(shiftSet.shifts.map((s, index) => ({ index, dx: s.dx, dy: s.dy })));
    expect(manifest.mode).toBe('circular');
    expect(manifest.input).toMatchObject({
      widthPx: 256,
      heightPx: 256,
      fit: 'letterbox',
      padValue: [128, 128, 128],
      model: 'zoo-fcos',
    });
    expect(manifest.input.preprocessing).toMatchObject({
      layout: 'NCHW',
      colorOrder: 'RGB',
      normalize: fcos.normalize,
    });
    const ds = await loadDataset({ dataset, limit: 2 });
    expect(manifest.dataset.hash).toBe(ds.hash);
    expect(manifest.images.map((i) => i.id)).toEqual(ds.images.map((i) => i.id));
    for (const image of ds.images) {
      const rgb = await decodeImage(image.path, { width: image.width, height: image.height });
      const made = await makeShiftedInputs(rgb, {
        inputSizePx: { width: 256, height: 256 },
        fit: 'letterbox',
        padValue: [128, 128, 128],
        mode: 'circular',
        shiftSet,
      });
      const entry = manifest.images.find((i) => i.id === image.id)!;
      expect(entry.sizePx).toEqual([rgb.width, rgb.height]);
      for (let k = 0; k < shiftSet.shifts.length; k++) {
        expect(entry.inputs![k]).toMatchObject({
          index: k,
          file: `inputs/${image.id}/${k}.png`,
          transform: made.transforms[k],
        });
        const png = await sharp(path.join(exportDir, entry.inputs![k].file))
          .raw()
          .toBuffer({ resolveWithObject: true });
        expect(png.info).toMatchObject({ width: 256, height: 256, channels: 3 });
        expect(Buffer.compare(png.data, Buffer.from(made.input(k).data))).toBe(0);
      }
    }
  });

  it('without a model: --input-size, --fit and --pad-value make the inputs', async () => {
    const exportDir = path.join(root, 'export-size');
    const { manifest } = await exportInputs({
      inputSizePx: { width: 64, height: 48 },
      fit: 'stretch',
      padValue: [1, 2, 3],
      dataset,
      shifts: 'grid:2',
      out: exportDir,
      limit: 1,
    });
    expect(manifest.input).toMatchObject({
      widthPx: 64,
      heightPx: 48,
      fit: 'stretch',
      padValue: [1, 2, 3],
      model: null,
      preprocessing: null,
    });
    const first = manifest.images[0].inputs![8];
    expect(first.transform).toEqual({ scaleX: 62 / 256, scaleY: 46 / 256, offsetX: 2, offsetY: 2 });
    const png = await sharp(path.join(exportDir, first.file)).raw().toBuffer({ resolveWithObject: true });
    expect(png.info).toMatchObject({ width: 64, height: 48 });
    expect([...png.data.subarray(0, 3)]).toEqual([1, 2, 3]); // the pad at (0,0) of the (2,2) shift
  });

  it('exports to a new or empty folder only; --force replaces an earlier export', async () => {
    const exportDir = path.join(root, 'export-twice');
    const exportTo = (force?: boolean) =>
      exportInputs({
        inputSizePx: { width: 32, height: 32 },
        fit: 'letterbox',
        padValue: [0, 0, 0],
        dataset,
        out: exportDir,
        limit: 1,
        ...(force ? { force } : {}),
      });
    await exportTo();
    const again = await rejection(exportTo());
    expect(again.code).toBe('ERR_OUTPUT');
    expect(again.message).toContain('--force');
    expect((await exportTo(true)).inputs).toBe(4);
    // an export stopped before export.json leaves only inputs/: refused without --force (saying so), replaced with it
    await rm(path.join(exportDir, 'export.json'));
    const partial = await rejection(exportTo());
    expect(partial.code).toBe('ERR_OUTPUT');
    expect(partial.message).toContain('--force');
    expect((await exportTo(true)).inputs).toBe(4);
    const usage = await rejection(exportInputs({ dataset, out: path.join(root, 'export-none') }));
    expect(usage.code).toBe('ERR_INVALID_OPTION');
    expect(usage.message).toMatch(/--model.*--input-size/);
  });

  it('--force with a dataset that cannot be loaded fails before removing the earlier export and its results', async () => {
    const exportDir = path.join(root, 'export-force-fails');
    const opts = {
      inputSizePx: { width: 32, height: 32 },
      fit: 'letterbox' as const,
      padValue: [0, 0, 0] as [number, number, number],
      out: exportDir,
      limit: 1,
    };
    await exportInputs({ ...opts, dataset });
    const results = path.join(exportDir, 'detections', 'shift_0.json');
    await writeFile(results, '[]');
    const before = await readFile(path.join(exportDir, 'export.json'), 'utf8');
    const err = await rejection(exportInputs({ ...opts, dataset: path.join(root, 'no-such-dataset'), force: true }));
    expect(err.code).toBe('ERR_INVALID_OPTION'); // --dataset names nothing
    expect(await readFile(path.join(exportDir, 'export.json'), 'utf8')).toBe(before);
    expect(await readFile(results, 'utf8')).toBe('[]');
    expect(existsSync(path.join(exportDir, 'inputs'))).toBe(true);
  });

  it('fractional shifts, circular mode: an exactly equivariant detector outside (boxes from export.json) scores mapRange 0', async () => {
    const exportDir = path.join(root, 'export-frac');
    const { manifest } = await exportInputs({
      inputSizePx: { width: 96, height: 80 },
      fit: 'letterbox',
      padValue: [0, 0, 0],
      dataset,
      shifts: 'frac:2',
      mode: 'circular',
      out: exportDir,
    });
    expect(manifest.shiftSet.shifts[1]).toEqual({ index: 1, dx: 0.5, dy: 0 });
    expect(manifest.subpixelKernel).toBe('lanczos3');
    expect(manifest.resample).toMatchObject({ subpixel: { path: 'floating-point', circular: 'fourier' } });
    const gt = (await loadDataset({ dataset })).groundTruth!;
    for (const { index } of manifest.shiftSet.shifts) {
      const results = manifest.images.flatMap((image) =>
        gt.annotations
          .filter((a) => a.image_id === image.id)
          .map((a) => {
            const t = image.inputs![index].transform;
            return {
              image_id: image.id,
              category_id: a.category_id,
              bbox: [
                a.bbox[0] * t.scaleX + t.offsetX,
                a.bbox[1] * t.scaleY + t.offsetY,
                a.bbox[2] * t.scaleX,
                a.bbox[3] * t.scaleY,
              ],
              score: 0.9,
            };
          }),
      );
      await writeFile(path.join(exportDir, 'detections', `shift_${index}.json`), JSON.stringify(results));
    }
    const { metrics } = await scoreExport(exportDir, {
      name: 'oracle-outside',
      family: 'one-stage,anchor-free',
      out: path.join(root, 'score-frac'),
      bootstrapResamples: 50,
    });
    const r = metrics.results[0];
    expect(r.bounds!.perShift).toHaveLength(9);
    expect(r.bounds!.mapRange).toBe(0);
    expect(r.bounds!.mapRef).toBeGreaterThan(0.99);
    expect(r.consistency.detConsistency.mean).toBe(1);
  });

  describe('score refuses detections it cannot trust, naming the file and the fix', () => {
    let exportDir: string;
    let manifest: ExportManifest;
    const write = (k: number, value: unknown) =>
      writeFile(
        path.join(exportDir, 'detections', `shift_${k}.json`),
        typeof value === 'string' ? value : JSON.stringify(value),
      );
    const score = (name = 'x', out = path.join(root, `score-bad-${Math.random().toString(36).slice(2)}`)) =>
      scoreExport(exportDir, { name, family: 'one-stage,anchor-free', out, bootstrapResamples: 20 });
    /** Scores with a logger that keeps the warnings. */
    const scoreWarned = async () => {
      const warnings: string[] = [];
      const result = await scoreExport(
        exportDir,
        {
          name: 'x',
          family: 'one-stage,anchor-free',
          out: path.join(root, `score-warned-${Math.random().toString(36).slice(2)}`),
          bootstrapResamples: 20,
        },
        { logger: { info: () => undefined, warn: (m) => warnings.push(m) } },
      );
      return { ...result, warnings };
    };
    const restore = async () => {
      for (let k = 0; k < 4; k++)
        await write(
          k,
          manifest.images.map((i) => det(i.id)),
        );
    };
    const det = (imageId: number) => ({ image_id: imageId, category_id: 1, bbox: [10, 10, 20, 20], score: 0.9 });

    beforeAll(async () => {
      exportDir = path.join(root, 'export-errors');
      manifest = await smallExport(dataset, exportDir);
      for (let k = 0; k < 4; k++)
        await write(
          k,
          manifest.images.map((i) => det(i.id)),
        );
    });

    it('a good set of files scores (control); timing.json gives the inference time', async () => {
      const { metrics, runDir } = await score();
      expect(metrics.results[0].imagesEvaluated).toBe(2);
      expect(metrics.results[0].scoredContent!.detectionsTotal).toBe(8);
      // not measured: absent, never 0 shown as a time (a warning says so)
      expect(metrics.results[0].timing).toEqual({
        inferenceSeconds: null,
        imagesPerSecond: null,
        costRatio: null,
        medianImageSeconds: null,
      });
      const html = await readFile(path.join(runDir, 'report.html'), 'utf8');
      expect(html).toMatch(/<td>—<\/td><td>—<\/td>/);
      await writeFile(path.join(exportDir, 'detections', 'timing.json'), JSON.stringify({ inferenceSeconds: 3 }));
      const timed = await score();
      // a total for the whole export: no per-image time was measured, so no median per image either (not the mean)
      expect(timed.metrics.results[0].timing).toMatchObject({
        inferenceSeconds: 3,
        imagesPerSecond: 2 / 3,
        medianImageSeconds: null,
      });
      await writeFile(path.join(exportDir, 'detections', 'timing.json'), JSON.stringify({ seconds: 3 }));
      const bad = await rejection(score());
      expect(bad.code).toBe('ERR_EXPORT');
      expect(bad.message).toContain(path.join(exportDir, 'detections', 'timing.json'));
      await rm(path.join(exportDir, 'detections', 'timing.json'));
      // one that exists but cannot be read (here a folder) is an error naming it, not "no timing"
      await mkdir(path.join(exportDir, 'detections', 'timing.json'));
      const unreadable = await rejection(score());
      expect(unreadable.code).toBe('ERR_EXPORT');
      expect(unreadable.message).toContain(path.join(exportDir, 'detections', 'timing.json'));
      await rm(path.join(exportDir, 'detections', 'timing.json'), { recursive: true });
    });

    it('a run directory from score rescores like a run (shiftbench report --score-threshold)', async () => {
      const out = path.join(root, 'score-rescore');
      const first = await scoreExport(exportDir, {
        name: 'x',
        family: 'one-stage,anchor-free',
        out,
        bootstrapResamples: 20,
      });
      expect(first.metrics.results[0].consistency.detConsistency.mean).toBe(1);
      const rescored = await rescoreRun(out, { scoreThreshold: 0.95 }); // from the stored detections, no export needed
      expect(rescored.results[0].consistency.scoreThreshold).toBe(0.95);
      expect(rescored.results[0].bounds).toEqual(first.metrics.results[0].bounds);
      expect(JSON.parse(await readFile(path.join(out, 'manifest.json'), 'utf8')).scoreThreshold).toBe(0.95);
      // score again into the same run directory: analysis-only flags reuse it, changed results are refused
      const again = await scoreExport(exportDir, {
        name: 'x',
        family: 'one-stage,anchor-free',
        out,
        bootstrapResamples: 20,
        scoreThreshold: 0.3,
      });
      expect(again.metrics.results[0].consistency.scoreThreshold).toBe(0.3);
      await write(
        0,
        manifest.images.map((i) => ({ ...det(i.id), score: 0.8 })),
      );
      try {
        const changed = await rejection(
          scoreExport(exportDir, { name: 'x', family: 'one-stage,anchor-free', out, bootstrapResamples: 20 }),
        );
        expect(changed.code).toBe('ERR_RUN_STORE');
        expect(changed.message).toMatch(/detectionsSha256/);
      } finally {
        await write(
          0,
          manifest.images.map((i) => det(i.id)),
        );
      }
    });

    it('a missing shift file', async () => {
      await rm(path.join(exportDir, 'detections', 'shift_2.json'));
      try {
        const err = await rejection(score());
        expect(err.code).toBe('ERR_EXPORT');
        expect(err.message).toContain(path.join(exportDir, 'detections', 'shift_2.json'));
        expect(err.message).toMatch(/shift 2 \(dx 0, dy 1\).*inputs\/<imageId>\/2\.png/);
      } finally {
        await write(
          2,
          manifest.images.map((i) => det(i.id)),
        );
      }
    });

    it('image ids that are not in the export', async () => {
      await write(1, [det(manifest.images[0].id), det(99999)]);
      try {
        const err = await rejection(score());
        expect(err.code).toBe('ERR_EXPORT');
        expect(err.message).toContain(path.join(exportDir, 'detections', 'shift_1.json'));
        expect(err.message).toMatch(/image_id 99999/);
        expect(err.message).toMatch(/export\.json/);
      } finally {
        await write(
          1,
          manifest.images.map((i) => det(i.id)),
        );
      }
    });

    it('a file that is not JSON, not a list, or holds a malformed result', async () => {
      for (const [bad, pattern] of [
        ['{"oops"', /not valid JSON/],
        [{ detections: [] }, /a JSON list of COCO results/],
        [[{ image_id: manifest.images[0].id, category_id: 1, bbox: [1, 2, 3], score: 0.5 }], /entry 0.*bbox/],
        [[{ image_id: manifest.images[0].id, category_id: 1, bbox: [1, 2, 3, 4], score: 'high' }], /entry 0.*score/],
        // what the plug-in path refuses too: a negative width or height, a score outside [0, 1] (entry 1 of 2)
        [
          [det(manifest.images[0].id), { ...det(manifest.images[1].id), bbox: [10, 10, -20, 20] }],
          /has entry 1 whose bbox width and height must be ≥ 0 but the bbox is \[10, 10, -20, 20\]/,
        ],
        [
          [det(manifest.images[0].id), { ...det(manifest.images[1].id), bbox: [10, 10, 20, -0.5] }],
          /has entry 1 whose bbox width and height must be ≥ 0 but the bbox is \[10, 10, 20, -0.5\]/,
        ],
        [
          [det(manifest.images[0].id), { ...det(manifest.images[1].id), score: 1.5 }],
          /has entry 1 whose score must be a number in \[0, 1\] but is 1\.5/,
        ],
        [
          [det(manifest.images[0].id), { ...det(manifest.images[1].id), score: -0.01 }],
          /has entry 1 whose score must be a number in \[0, 1\] but is -0\.01/,
        ],
        // category ids are stored as 32-bit integers: a fraction or a larger id is refused, never truncated
        [
          [det(manifest.images[0].id), { ...det(manifest.images[1].id), category_id: 1.5 }],
          /has entry 1 whose category_id must be a 32-bit integer but is 1\.5/,
        ],
        [
          [det(manifest.images[0].id), { ...det(manifest.images[1].id), category_id: 2 ** 31 }],
          /has entry 1 whose category_id must be a 32-bit integer but is 2147483648/,
        ],
      ] as [unknown, RegExp][]) {
        await write(3, bad);
        const err = await rejection(score());
        expect(err.code).toBe('ERR_EXPORT');
        expect(err.message).toContain(path.join(exportDir, 'detections', 'shift_3.json'));
        expect(err.message).toMatch(pattern);
      }
      await write(
        3,
        manifest.images.map((i) => det(i.id)),
      );
    });

    it('a whole shift file empty while the other shifts have detections (a failed detector run) is refused', async () => {
      const ids = manifest.images.map((i) => i.id);
      expect(ids).toHaveLength(2);
      await write(2, []);
      const out = path.join(root, 'score-empty-shift');
      try {
        const err = await rejection(score('x', out));
        expect(err.code).toBe('ERR_EXPORT');
        expect(err.message).toContain(path.join(exportDir, 'detections', 'shift_2.json'));
        expect(err.message).toMatch(/shift 2 \(dx 0, dy 1\)\) holds no result at all/);
        expect(err.message).toMatch(/2 images have detections at most of the other shifts \(ids \d+, \d+\)/);
        expect(err.message).toMatch(/inputs\/<imageId>\/2\.png/);
        // refused before anything is written
        expect(existsSync(out)).toBe(false);
        // also when the run failed on part of another shift too (images found at 2 of the 3 other shifts)
        await write(1, [det(ids[0])]);
        const twice = await rejection(score());
        expect(twice.code).toBe('ERR_EXPORT');
        expect(twice.message).toContain(path.join(exportDir, 'detections', 'shift_2.json'));
        // a detector that finds nothing anywhere is not a failed run: every file empty scores (and warns)
        for (let k = 0; k < 4; k++) await write(k, []);
        const none = await scoreWarned();
        expect(none.metrics.results[0].imagesEvaluated).toBe(2);
        expect(none.warnings.join('\n')).toMatch(/2 images have no detection at any shift/);
        // one image with detections elsewhere is ambiguous (it may just flicker): warned, not refused
        await restore();
        await write(2, []);
        for (const k of [0, 1, 3]) await write(k, [det(ids[0])]);
        const one = await scoreWarned();
        expect(one.metrics.results[0].imagesEvaluated).toBe(2);
        expect(one.warnings.join('\n')).toContain(path.join(exportDir, 'detections', 'shift_2.json'));
      } finally {
        await restore();
      }
    });

    it('an image with detections at other shifts but absent from one shift file is warned about, naming both', async () => {
      const ids = manifest.images.map((i) => i.id);
      const control = await scoreWarned();
      expect(control.warnings.join('\n')).not.toMatch(/absent from|no detection at any shift/);
      await write(1, [det(ids[0])]);
      try {
        const { metrics, warnings } = await scoreWarned();
        expect(metrics.results[0].imagesEvaluated).toBe(2);
        const warning = warnings.find((w) => w.includes(path.join(exportDir, 'detections', 'shift_1.json')));
        expect(warning, warnings.join('\n')).toBeDefined();
        expect(warning).toMatch(
          new RegExp(`1 of the 2 images with detections at other shifts is absent from it \\(id ${ids[1]}\\)`),
        );
        expect(warning).toMatch(/inputs\/<imageId>\/1\.png/);
        expect(warnings.filter((w) => /absent from/.test(w))).toHaveLength(1);
      } finally {
        await restore();
      }
    });

    it('boxes in the wrong frame (the original image instead of the input) are warned about, naming the files', async () => {
      // a detector that found [30, 30, 20, 20] and [5, 40, 20, 20] on each 64×64 input but wrote them in the
      // original 256×256 image's pixels (projected back by the input's transform): all lie outside the input
      const inInput = [
        [30, 30, 20, 20],
        [5, 40, 20, 20],
      ];
      const original = (k: number, image: ExportManifest['images'][number], b: number[]) => {
        const t = image.inputs![k].transform;
        return [(b[0] - t.offsetX) / t.scaleX, (b[1] - t.offsetY) / t.scaleY, b[2] / t.scaleX, b[3] / t.scaleY];
      };
      const control = await scoreWarned();
      expect(control.warnings.join('\n')).not.toMatch(/outside/);
      for (let k = 0; k < 4; k++)
        await write(
          k,
          manifest.images.flatMap((image) => inInput.map((b) => ({ ...det(image.id), bbox: original(k, image, b) }))),
        );
      try {
        const wrong = await scoreWarned();
        expect(wrong.metrics.results[0].imagesEvaluated).toBe(2); // scored, as asked
        const warning = wrong.warnings.find((w) => /outside/.test(w));
        expect(warning, wrong.warnings.join('\n')).toBeDefined();
        expect(warning).toContain(path.join(exportDir, 'detections'));
        for (let k = 0; k < 4; k++) expect(warning).toContain(`shift_${k}.json (4 of 4 boxes)`);
        expect(warning).toMatch(/in the pixels of the input it was detected on \(64×64, inputs\/<imageId>\/<k>\.png/);
        expect(warning).toMatch(/not in the original image's pixels/);
        // the threshold: more than half of a file's boxes. One file with 2 of 4 outside is not named; 3 of 4 is
        for (let k = 0; k < 4; k++)
          await write(
            k,
            manifest.images.flatMap((image) => inInput.map((b) => ({ ...det(image.id), bbox: b }))),
          );
        await write(
          0,
          manifest.images.flatMap((image, i) =>
            inInput.map((b, j) => ({ ...det(image.id), bbox: i === 0 && j === 1 ? b : original(0, image, b) })),
          ),
        );
        await write(
          1,
          manifest.images.flatMap((image, i) =>
            inInput.map((b) => ({ ...det(image.id), bbox: i === 0 ? b : original(1, image, b) })),
          ),
        );
        const some = await scoreWarned();
        const threshold = some.warnings.find((w) => /outside/.test(w));
        expect(threshold, some.warnings.join('\n')).toBeDefined();
        expect(threshold).toContain('shift_0.json (3 of 4 boxes)');
        expect(threshold).not.toMatch(/shift_[123]\.json/);
      } finally {
        await restore();
      }
    });

    it('a folder that is not an export, and a bad --family', async () => {
      const notExport = await rejection(
        scoreExport(root, { name: 'x', family: 'one-stage,anchor-free', out: path.join(root, 'score-none') }),
      );
      expect(notExport.code).toBe('ERR_EXPORT');
      expect(notExport.message).toMatch(/export\.json.*shiftbench export/);
      const family = await rejection(
        scoreExport(exportDir, { name: 'x', family: 'one-stage', out: path.join(root, 'score-family') }),
      );
      expect(family.code).toBe('ERR_INVALID_OPTION');
      expect(family.message).toMatch(/--family/);
    });
  });
});
