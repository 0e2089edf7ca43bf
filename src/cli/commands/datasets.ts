/** `shiftbench datasets synth|check`: write the synthetic dataset, or load and validate a dataset. */
import type { Command } from 'commander';
import {
  generateSynthDataset,
  invalidParameterError,
  loadDataset,
  summarizeDataset,
  findUnusableImages,
  SYNTH_DEFAULTS,
  SYNTH_SPLITS,
  type SynthSplitName,
} from '../../index.js';
import { consoleLogger, parseIntFlag, printJson, printLine, setCommandExitCode } from '../io.js';

interface CheckFlags {
  dataset: string;
  images?: string;
  classes?: string;
  limit?: number;
  json?: boolean;
}

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
  const parts = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (parts.length === 0 || !parts.every((p) => (SYNTH_SPLITS as readonly string[]).includes(p))) {
    throw invalidParameterError('--splits', 'a comma-separated list of train, val', value);
  }
  return parts as SynthSplitName[];
}

export function register(program: Command): void {
  const datasets = program
    .command('datasets')
    .description('Make the synthetic dataset, or check a dataset before a run')
    .addHelpText(
      'after',
      '\nExample:\n  shiftbench datasets synth\n  shiftbench datasets check --dataset ../shared/data/coco128',
    );

  datasets
    .command('synth')
    .description('Write the deterministic synthetic shapes dataset (COCO format, one folder per split)')
    .option('--out <dir>', 'output folder', 'datasets/synth')
    .option(
      '--images <n>',
      'train images',
      parseIntFlag('--images', 1, SYNTH_DEFAULTS.maxImages),
      SYNTH_DEFAULTS.trainImages,
    )
    .option('--val <n>', 'val images', parseIntFlag('--val', 1, SYNTH_DEFAULTS.maxImages), SYNTH_DEFAULTS.valImages)
    .option('--seed <n>', 'seed (integer ≥ 0)', parseIntFlag('--seed', 0, 0xffffffff), SYNTH_DEFAULTS.seed)
    .option('--size <px>', 'square image side in pixels', parseIntFlag('--size', 64, 2048), SYNTH_DEFAULTS.sizePx)
    .option('--splits <list>', 'splits to write: train,val', parseSplits, SYNTH_DEFAULTS.splits)
    .option('-q, --quiet', 'no progress output')
    .addHelpText(
      'after',
      '\nExample:\n  shiftbench datasets synth --out datasets/synth --images 2000 --val 200 --seed 0 --size 256\n  ' +
        "shiftbench datasets synth --out datasets/synth --splits val   # only the val split, identical to a full run's",
    )
    .action(async (flags: SynthFlags) => {
      const logger = consoleLogger(flags.quiet);
      logger.info(
        `synth: out=${flags.out} images(train)=${flags.images} val=${flags.val} seed=${flags.seed} size=` +
          `${flags.size} splits=${flags.splits.join(',')}`,
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
        printLine(
          `${s.name}: ${s.images} images, ${s.annotations} boxes → ${s.annotationFile} (sha256 ` +
            `${s.sha256.slice(0, 16)}…)`,
        );
      }
    });

  datasets
    .command('check')
    .description(
      'Load and validate a dataset; print counts per category and COCO area range, and list the images a run ' +
        'would skip (every image is decoded)',
    )
    .requiredOption(
      '--dataset <path>',
      'COCO instances JSON, folder with instances.json, YOLO folder (images/ + labels/) or image folder',
    )
    .option('--images <dir>', 'image folder of a COCO JSON (default: images/ beside it, else beside its folder)')
    .option('--classes <file>', 'class names of a YOLO folder (txt, *.names or YAML with names:)')
    .option('--limit <n>', 'only the first N images by id', parseIntFlag('--limit', 1))
    .option('--json', 'print the summary as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  shiftbench datasets check --dataset ../shared/data/coco128/annotations/instances.json\n  ' +
        'shiftbench datasets check --dataset datasets/synth/val\n  shiftbench datasets check --dataset ' +
        'my-yolo-set --classes my-yolo-set/data.yaml',
    )
    .action(async (flags: CheckFlags) => {
      const dataset = await loadDataset(
        { dataset: flags.dataset, images: flags.images, classes: flags.classes, limit: flags.limit },
        consoleLogger(true),
      );
      const summary = summarizeDataset(dataset);
      // the images a run would skip (each decoded as the run decodes it): listed, and the check fails (exit 1)
      const unusable = await findUnusableImages(dataset);
      if (unusable.length > 0) setCommandExitCode(1);
      if (flags.json) {
        printJson({ ...summary, unusableImages: unusable });
        return;
      }
      printLine(`${summary.name} (${summary.kind}) from ${summary.source}`);
      printLine(`images: ${summary.images}   sha256: ${summary.hash}`);
      if (unusable.length > 0) {
        printLine(`images a run would skip: ${unusable.length} of ${summary.images}`);
        for (const u of unusable.slice(0, 10)) printLine(`  image ${u.imageId} (${u.fileName}): ${u.reason}`);
        if (unusable.length > 10) printLine(`  … and ${unusable.length - 10} more (--json lists them all)`);
      }
      if (summary.boxes === null || summary.areaRanges === null) {
        printLine('no labels: consistency metrics only');
        return;
      }
      printLine(
        `boxes: ${summary.boxes} (crowd ${summary.crowd})   images without boxes: ${summary.imagesWithoutBoxes}`,
      );
      const r = summary.areaRanges;
      printLine(`area ranges: small (< 32²) ${r.small}   medium (32²–96²) ${r.medium}   large (> 96²) ${r.large}`);
      const present = summary.perCategory.filter((c) => c.boxes > 0).length;
      printLine(`categories: ${summary.perCategory.length} (${present} with boxes)`);
      const width = Math.max(4, ...summary.perCategory.map((c) => c.name.length));
      printLine(`  ${'id'.padStart(4)}  ${'name'.padEnd(width)}  ${'boxes'.padStart(6)}  ${'images'.padStart(6)}`);
      for (const c of summary.perCategory) {
        printLine(
          `  ${String(c.id).padStart(4)}  ${c.name.padEnd(width)}  ${String(c.boxes).padStart(6)}  ` +
            `${String(c.images).padStart(6)}`,
        );
      }
    });
}
