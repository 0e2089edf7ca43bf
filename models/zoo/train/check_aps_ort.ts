/**
 * Exact circular-shift equivariance of an APS model in onnxruntime-node (the runtime
 * shiftbench measures with): for each of the first N val images (by id) and each shift
 * (dx, dy), the raw ONNX outputs on the input rolled by (dx, dy), moved back by (−dx, −dy)
 * and unwrapped by their centre (protocol §1), must equal the outputs at shift 0 bit for bit
 * (boxes, scores, labels, order). Session options as loadDetector's (graph optimisation 'all').
 *   npx tsx models/zoo/train/check_aps_ort.ts models/zoo/zoo-fcos-aps.onnx [--images 8] [--threads 1]
 *     [--shifts "1,0;0,1;3,5;17,31;100,200;255,255"] [--data datasets/synth/val]
 * Exit 1 when any pair differs.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { decodeImage } from '../../../src/datasets/index.js';

const args = process.argv.slice(2);
const opt = (name: string, def: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : def);
const file = args[0];
const images = Number(opt('--images', '8'));
const threads = Number(opt('--threads', '1'));
const dataDir = opt('--data', 'datasets/synth/val');
const shifts = opt('--shifts', '1,0;0,1;1,1;3,5;17,31;100,200;255,255')
  .split(';')
  .map((s) => s.split(',').map(Number) as [number, number]);

const session = await ort.InferenceSession.create(readFileSync(file), {
  intraOpNumThreads: threads,
  interOpNumThreads: 1,
  graphOptimizationLevel: 'all',
  logSeverityLevel: 3,
});
const gt = JSON.parse(readFileSync(path.join(dataDir, 'instances.json'), 'utf8')) as {
  images: { id: number; file_name: string }[];
};
const list = [...gt.images].sort((a, b) => a.id - b.id).slice(0, images);

interface Out {
  boxes: Float32Array;
  scores: Float32Array;
  labels: BigInt64Array;
}

async function run(rgb: Uint8Array, w: number, h: number, dx: number, dy: number): Promise<Out> {
  const chw = new Float32Array(3 * w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const src = (y * w + x) * 3;
      const dst = ((y + dy) % h) * w + ((x + dx) % w);
      for (let c = 0; c < 3; c++) chw[c * w * h + dst] = rgb[src + c] / 255;
    }
  }
  const o = await session.run({ images: new ort.Tensor('float32', chw, [1, 3, h, w]) });
  return {
    boxes: o.boxes.data as Float32Array,
    scores: o.scores.data as Float32Array,
    labels: o.labels.data as BigInt64Array,
  };
}

function differ(ref: Out, got: Out, dx: number, dy: number, w: number, h: number): string {
  if (ref.scores.length !== got.scores.length) return `${got.scores.length} detections vs ${ref.scores.length}`;
  let maxBox = 0;
  for (let i = 0; i < ref.scores.length; i++) {
    if (ref.labels[i] !== got.labels[i]) return `label ${i} differs`;
    if (ref.scores[i] !== got.scores[i])
      return `score ${i} differs by ${Math.abs(ref.scores[i] - got.scores[i]).toExponential(2)}`;
    const b = [0, 1, 2, 3].map((j) => got.boxes[4 * i + j] - (j % 2 === 0 ? dx : dy));
    if ((b[0] + b[2]) / 2 < 0) {
      b[0] += w;
      b[2] += w;
    }
    if ((b[1] + b[3]) / 2 < 0) {
      b[1] += h;
      b[3] += h;
    }
    for (let j = 0; j < 4; j++) maxBox = Math.max(maxBox, Math.abs(b[j] - ref.boxes[4 * i + j]));
  }
  return maxBox === 0 ? '' : `boxes differ by up to ${maxBox.toExponential(2)} px`;
}

let failures = 0;
let runs = 0;
let detections = 0;
const t0 = performance.now();
for (const im of list) {
  const img = await decodeImage(path.join(dataDir, 'images', im.file_name));
  const ref = await run(img.data, img.width, img.height, 0, 0);
  detections += ref.scores.length;
  for (const [dx, dy] of shifts) {
    const msg = differ(ref, await run(img.data, img.width, img.height, dx, dy), dx, dy, img.width, img.height);
    runs++;
    if (msg) {
      failures++;
      console.log(`image ${im.id} shift (${dx},${dy}): ${msg}`);
    }
  }
}
console.log(
  `${runs} shifted runs on ${list.length} images (${detections} detections at shift 0), ${threads} thread(s): ${failures} differ (${((performance.now() - t0) / 1000).toFixed(1)} s)`,
);
process.exit(failures ? 1 : 0);
