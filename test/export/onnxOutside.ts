/**
 * A detector run OUTSIDE shiftbench, as a user's own inference would be: onnxruntime-node
 * directly on the exported PNGs of an export folder, the model entry's preprocessing written
 * out here (RGB, NCHW, (v − mean) · (1 / std) in float32 — the same arithmetic the ONNX
 * adapter does, so the network sees the same floats), torchvision outputs decoded here
 * (score ≥ 0.001, the 100 best, clipped to the input, empty boxes dropped, by descending
 * score), and `detections/shift_<k>.json` written as COCO results in input pixels.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';

interface ZooEntry {
  name: string;
  files: { name: string }[];
  inputSizePx: { width: number; height: number };
  normalize: { mean: [number, number, number]; std: [number, number, number] };
  classes: { id: number }[];
}

interface ExportJson {
  shiftSet: { shifts: { index: number; dx: number; dy: number }[] };
  images: { id: number; skipped?: string; inputs?: { index: number; file: string }[] }[];
}

/** COCO results, one list per shift index. */
export type PerShiftResults = { image_id: number; category_id: number; bbox: number[]; score: number }[][];

/** Runs `entry` (an ONNX model of models/zoo) on every exported input; writes and returns the per-shift results. */
export async function detectExportWithOnnx(
  exportDir: string,
  entry: ZooEntry,
  modelDir: string,
): Promise<PerShiftResults> {
  const exp = JSON.parse(await readFile(path.join(exportDir, 'export.json'), 'utf8')) as ExportJson;
  const session = await ort.InferenceSession.create(path.join(modelDir, entry.files[0].name), {
    intraOpNumThreads: os.availableParallelism(),
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionProviders: ['cpu'],
  });
  const { width, height } = entry.inputSizePx;
  const known = new Set(entry.classes.map((c) => c.id));
  const perShift: PerShiftResults = exp.shiftSet.shifts.map(() => []);
  try {
    for (const image of exp.images) {
      if (image.skipped) continue;
      for (const input of image.inputs!) {
        const { data, info } = await sharp(path.join(exportDir, input.file))
          .raw()
          .toBuffer({ resolveWithObject: true });
        if (info.width !== width || info.height !== height || info.channels !== 3)
          throw new Error(`${input.file}: ${info.width}×${info.height}×${info.channels}`);
        const plane = width * height;
        const x = new Float32Array(3 * plane);
        for (let c = 0; c < 3; c++) {
          const k = 1 / entry.normalize.std[c];
          for (let i = 0; i < plane; i++) x[c * plane + i] = (data[i * 3 + c] - entry.normalize.mean[c]) * k;
        }
        const out = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', x, [1, 3, height, width]) });
        const byName = (s: string) => out[session.outputNames.find((n) => n.toLowerCase().includes(s))!] as ort.Tensor;
        const boxes = byName('box').data as Float32Array;
        const labels = byName('label').data as BigInt64Array;
        const scores = byName('score').data as Float32Array;
        const found: { x1: number; y1: number; x2: number; y2: number; score: number; label: number }[] = [];
        for (let i = 0; i < scores.length; i++) {
          const label = Number(labels[i]);
          if (!(scores[i] >= 0.001) || !known.has(label)) continue;
          found.push({
            x1: boxes[4 * i],
            y1: boxes[4 * i + 1],
            x2: boxes[4 * i + 2],
            y2: boxes[4 * i + 3],
            score: scores[i],
            label,
          });
        }
        found.sort((a, b) => b.score - a.score); // stable: ties keep the model's order
        for (const d of found.slice(0, 100)) {
          const x1 = Math.min(Math.max(d.x1, 0), width);
          const y1 = Math.min(Math.max(d.y1, 0), height);
          const x2 = Math.min(Math.max(d.x2, 0), width);
          const y2 = Math.min(Math.max(d.y2, 0), height);
          if (!(x2 > x1 && y2 > y1)) continue;
          perShift[input.index].push({
            image_id: image.id,
            category_id: d.label,
            bbox: [x1, y1, x2 - x1, y2 - y1],
            score: d.score,
          });
        }
      }
    }
  } finally {
    await session.release();
  }
  await mkdir(path.join(exportDir, 'detections'), { recursive: true });
  for (let k = 0; k < perShift.length; k++) {
    await writeFile(path.join(exportDir, 'detections', `shift_${k}.json`), JSON.stringify(perShift[k]));
  }
  return perShift;
}
