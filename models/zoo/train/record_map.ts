/**
 * Records each zoo model's val mAP, measured through the harness (loadDetector +
 * evaluateCoco, see zooEval.ts), into models/zoo/zoo.json meta.valMap.
 *   npx tsx models/zoo/train/record_map.ts [name ...] [--data datasets/synth]
 * The val split is (re)generated deterministically by ensureSynthDataset if missing.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ModelEntry } from '../../../src/core/types.js';
import { ensureSynthDataset } from '../../../src/datasets/index.js';
import { evaluateZooModel, ZOO_VAL_IMAGES } from './zooEval.js';

const zooDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const zooFile = path.join(zooDir, 'zoo.json');
const args = process.argv.slice(2);
const dataIdx = args.indexOf('--data');
const dataDir = path.resolve(dataIdx >= 0 ? args[dataIdx + 1] : 'datasets/synth');
const names = args.filter((a, i) => !a.startsWith('--') && (dataIdx < 0 || i !== dataIdx + 1));

await ensureSynthDataset(dataDir, { splits: ['val'], valImages: ZOO_VAL_IMAGES, seed: 0, sizePx: 256 });
const zoo = JSON.parse(readFileSync(zooFile, 'utf8')) as { models: ModelEntry[] };
for (const entry of zoo.models) {
  if (names.length > 0 && !names.includes(entry.name)) continue;
  if (!existsSync(path.join(zooDir, entry.files[0].name))) {
    console.log(`${entry.name}: ${entry.files[0].name} missing, skipped`);
    continue;
  }
  const r = await evaluateZooModel(entry.name, path.join(dataDir, 'val'));
  entry.meta = {
    ...entry.meta,
    valMap: Number(r.valMap.toFixed(4)),
    valAp50: Number(r.valAp50.toFixed(4)),
    valImages: r.images,
    valEvaluator: 'shiftbench evaluateCoco on loadDetector (onnxruntime-node), synth val seed 0',
  };
  console.log(
    `${entry.name}: val mAP ${r.valMap.toFixed(4)} (AP50 ${r.valAp50.toFixed(4)}) on ${r.images} images in ${r.seconds.toFixed(1)}s`,
  );
  // write after each model so a long run keeps what it measured
  writeFileSync(zooFile, `${JSON.stringify(zoo, null, 2)}\n`);
}
