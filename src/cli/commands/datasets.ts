/** `shiftbench datasets synth|check`: write the synthetic dataset, or load and validate a dataset. */
import type { Command } from 'commander';
import { generateSynthDataset, SYNTH_DEFAULTS, SYNTH_SPLITS, invalidParameterError, type SynthSplitName } from '../../index.js';
import { consoleLogger, parseIntFlag, printLine } from '../io.js';

interface SynthFlags {
  out: string;
  images: number;
  val: number;
  seed: number;
  size: number;
  splits: SynthSplitName[];
  quiet?: boolean;
}

function parseSplits(value: string): SynthSplitName[] {
  const parts = value.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (parts.length === 0 || !parts.every((p) => (SYNTH_SPLITS as readonly string[]).includes(p))) {
    throw invalidParameterError('--splits', 'a comma-separated list of train, val', value);
  }
  return parts as SynthSplitName[];
}

export function register(program: Command): void {
  const datasets = program.command('datasets').description('Make the synthetic dataset, or check a dataset before a run');

  datasets
    .command('synth')
    .description('Write the deterministic synthetic shapes dataset (COCO format, one folder per split)')
    .option('--out <dir>', 'output folder', 'datasets/synth')
    .option('--images <n>', 'train images', parseIntFlag('--images', 1), SYNTH_DEFAULTS.trainImages)
    .option('--val <n>', 'val images', parseIntFlag('--val', 1), SYNTH_DEFAULTS.valImages)
    .option('--seed <n>', 'seed (integer ≥ 0)', parseIntFlag('--seed', 0, 0xffffffff), SYNTH_DEFAULTS.seed)
    .option('--size <px>', 'square image side in pixels', parseIntFlag('--size', 64, 2048), SYNTH_DEFAULTS.sizePx)
    .option('--splits <list>', 'splits to write: train,val', parseSplits, SYNTH_DEFAULTS.splits)
    .option('-q, --quiet', 'no progress output')
    .addHelpText('after', '\nExample:\n  shiftbench datasets synth --out datasets/synth --images 2000 --val 200 --seed 0 --size 256\n  shiftbench datasets synth --out datasets/synth --splits val   # only the val split, identical to a full run\'s')
    .action(async (flags: SynthFlags) => {
      const logger = consoleLogger(flags.quiet);
      logger.info(
        `synth: out=${flags.out} images(train)=${flags.images} val=${flags.val} seed=${flags.seed} size=${flags.size} splits=${flags.splits.join(',')}`,
      );
      let lastPct = -1;
      const result = await generateSynthDataset({
        outDir: flags.out,
        trainImages: flags.images,
        valImages: flags.val,
        seed: flags.seed,
        sizePx: flags.size,
        splits: flags.splits,
        logger,
        onProgress: ({ split, done, total }) => {
          const pct = Math.floor((done / total) * 10) * 10;
          if (pct !== lastPct) {
            lastPct = pct;
            logger.info(`  ${split}: ${done}/${total}`);
          }
        },
      });
      for (const s of result.splits) {
        printLine(`${s.name}: ${s.images} images, ${s.annotations} boxes → ${s.annotationFile} (sha256 ${s.sha256.slice(0, 16)}…)`);
      }
    });
}
