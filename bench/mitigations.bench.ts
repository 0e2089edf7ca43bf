/**
 * Mitigation cost benchmark: inference time of each mitigation ÷ the plain detector's,
 * measured in the same process on the same inputs, on a real ONNX detector from
 * ../shared (FastestDet by default; --model yolo-fastestv2 | nanodet-m).
 *
 *   npm run bench:mitigations [-- --images N] [--rounds R] [--threads T] [--model NAME]
 *
 * Inputs: the first N coco128 photos stretched to the model input. Each round times
 * every variant once over all images (batch of one image per detect call, as the
 * runner's default), variants in a rotating order; a variant's time is the median
 * over rounds. Prints JSON.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import type { Detector, ModelEntry, RgbImage } from '../src/core/types.js';
import { loadEntry } from '../src/detectors/index.js';
import { parseMitigation } from '../src/mitigations/index.js';
import { checkArgs, intArg, strArg } from './args.js';

checkArgs({ values: ['--images', '--rounds', '--threads', '--model'] });

const IMAGES = intArg('--images', 8);
const ROUNDS = intArg('--rounds', 3);
const THREADS = intArg('--threads', 1);
const MODEL = strArg('--model', 'fastestdet');
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SHARED = path.resolve(process.env.SHIFTBENCH_SHARED ?? path.join(ROOT, '../shared'));

const MODELS: Record<
  string,
  {
    dir: string;
    file: string;
    sizePx: number;
    stridePx: number;
    entry: Pick<ModelEntry, 'colorOrder' | 'normalize' | 'decoder' | 'family'>;
  }
> = {
  fastestdet: {
    dir: 'models/fastestdet',
    file: 'FastestDet.onnx',
    sizePx: 352,
    stridePx: 16,
    entry: {
      colorOrder: 'BGR',
      normalize: { mean: [0, 0, 0], std: [255, 255, 255] },
      decoder: { name: 'fastestdet' },
      family: { stages: 'one-stage', anchors: 'anchor-free' },
    },
  },
  'yolo-fastestv2': {
    dir: 'models/yolo-fastestv2',
    file: 'model.onnx',
    sizePx: 352,
    stridePx: 32,
    entry: {
      colorOrder: 'BGR',
      normalize: { mean: [0, 0, 0], std: [255, 255, 255] },
      decoder: { name: 'yolo-fastestv2' },
      family: { stages: 'one-stage', anchors: 'anchor-based' },
    },
  },
  'nanodet-m': {
    dir: 'models/nanodet-m',
    file: 'nanodet_m_320.onnx',
    sizePx: 320,
    stridePx: 32,
    entry: {
      colorOrder: 'BGR',
      normalize: { mean: [103.53, 116.28, 123.675], std: [57.375, 57.12, 58.395] },
      decoder: { name: 'nanodet-gfl' },
      family: { stages: 'one-stage', anchors: 'anchor-free' },
    },
  },
};

const VARIANTS = ['input-blur:1', 'shift-ensemble:grid:1', 'polyphase-align', 'antialias:post:3', 'antialias:post:5'];

async function main(): Promise<void> {
  const m = MODELS[MODEL];
  if (!m) throw new Error(`Expected one of ${Object.keys(MODELS).join(', ')} for --model but received ${MODEL}`);
  const dir = path.join(SHARED, m.dir);
  const imageDir = path.join(SHARED, 'data/coco128/images');
  if (!existsSync(path.join(dir, m.file)) || !existsSync(imageDir)) {
    process.stdout.write(JSON.stringify({ skipped: `needs ${path.join(dir, m.file)} and ${imageDir}` }) + '\n');
    return;
  }
  const entry: ModelEntry = {
    name: MODEL,
    format: 'onnx',
    source: { kind: 'path', dir },
    files: [
      {
        name: m.file,
        sha256: createHash('sha256')
          .update(readFileSync(path.join(dir, m.file)))
          .digest('hex'),
      },
    ],
    inputSizePx: { width: m.sizePx, height: m.sizePx },
    layout: 'NCHW',
    fit: 'stretch',
    classes: 'coco80',
    totalStridePx: m.stridePx,
    ...m.entry,
  };
  const files = readdirSync(imageDir)
    .filter((f) => f.endsWith('.jpg'))
    .sort()
    .slice(0, IMAGES);
  const inputs: RgbImage[] = [];
  for (const f of files) {
    const { data, info } = await sharp(path.join(imageDir, f))
      .resize(m.sizePx, m.sizePx, { fit: 'fill' })
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    inputs.push({ data: new Uint8Array(data), width: info.width, height: info.height });
  }

  const plain = await loadEntry(entry, { threads: THREADS });
  const detectors: { key: string; det: Detector }[] = [{ key: 'plain', det: plain }];
  for (const spec of VARIANTS) {
    const mit = parseMitigation(spec);
    const base = mit.loadOptions ? await loadEntry(entry, { threads: THREADS, ...mit.loadOptions }) : plain;
    detectors.push({ key: mit.spec, det: mit.wrap(base, { mode: 'pad' }) });
  }
  const times = new Map<string, number[]>(detectors.map((d) => [d.key, []]));
  const detections = new Map<string, number>();
  for (let round = 0; round < ROUNDS; round++) {
    const order = detectors.map((_, i) => detectors[(i + round) % detectors.length]);
    for (const { key, det } of order) {
      let count = 0;
      const t0 = process.hrtime.bigint();
      for (const img of inputs) count += (await det.detect([img]))[0].length;
      times.get(key)!.push(Number(process.hrtime.bigint() - t0) / 1e9);
      detections.set(key, count);
    }
  }
  const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
  const basePlain = median(times.get('plain')!);
  const results = detectors.map(({ key }) => {
    const med = median(times.get(key)!);
    return {
      mitigation: key === 'plain' ? null : key,
      secondsPerImage: med / inputs.length,
      costRatio: key === 'plain' ? 1 : med / basePlain,
      detectionsPerImage: detections.get(key)! / inputs.length,
      roundsSeconds: times.get(key)!,
    };
  });
  process.stdout.write(
    JSON.stringify(
      {
        bench: 'mitigations',
        model: MODEL,
        runtime: plain.info.runtime,
        threads: THREADS,
        images: inputs.length,
        rounds: ROUNDS,
        cpu: os.cpus()[0]?.model ?? 'unknown',
        cores: os.availableParallelism(),
        node: process.version,
        results,
      },
      null,
      2,
    ) + '\n',
  );
  for (const d of new Set([plain, ...detectors.map((x) => x.det)])) await d.dispose();
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
