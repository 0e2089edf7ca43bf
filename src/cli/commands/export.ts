/** `shiftbench export`: flags → ExportOptions → exportInputs (the runner's shifted inputs as PNGs + export.json). */
import type { Command } from 'commander';
import { exportInputs, invalidParameterError, type ExportOptions, type FitMode, type ShiftMode } from '../../index.js';
import { collect, consoleLogger, flagNumber, parseIntFlag, printLine } from '../io.js';

interface ExportFlags {
  dataset?: string;
  images?: string;
  classes?: string;
  limit?: number;
  shifts?: string;
  mode?: string;
  model?: string;
  inputSize?: { width: number; height: number };
  fit?: string;
  padValue?: [number, number, number];
  kernel?: string;
  subpixelKernel?: string;
  plugin: string[];
  registry: string[];
  weights?: string;
  out?: string;
  force?: boolean;
  quiet?: boolean;
}

/** `640x480` → { width, height }. */
function parseSize(value: string): { width: number; height: number } {
  const m = /^(\d+)[x×](\d+)$/i.exec(value.trim());
  if (!m) throw invalidParameterError('--input-size', 'WxH in pixels, e.g. 640x640', value);
  return { width: Number(m[1]), height: Number(m[2]) };
}

/** `114,114,114` → [r, g, b] (range checked by the library). */
function parseRgb(value: string): [number, number, number] {
  const parts = value.split(',').map(flagNumber);
  if (parts.length !== 3 || !parts.every((v) => Number.isInteger(v)))
    throw invalidParameterError('--pad-value', 'R,G,B with integers from 0 to 255, e.g. 114,114,114', value);
  return [parts[0], parts[1], parts[2]];
}

export function register(program: Command): void {
  program
    .command('export')
    .description(
      'Write every shifted input exactly as `run` makes it (PNG) and export.json, for a detector run in any ' +
        'framework (then `shiftbench score`)',
    )
    .option('-d, --dataset <dir|json>', 'COCO JSON, COCO/YOLO folder, or a folder of images (label-free)')
    .option('--images <dir>', 'image folder of a COCO JSON, if not beside it')
    .option('--classes <file>', 'class names of a YOLO folder (txt, *.names or YAML with names:)')
    .option('--limit <n>', 'use only the first N images', parseIntFlag('--limit', 1))
    .option('-s, --shifts <spec>', 'shift set: grid:K, line:K, frac:N or an explicit list (default grid:1)')
    .option('--mode <mode>', 'how shifted inputs are made: pad | crop | circular (default pad)')
    .option(
      '-m, --model <name|path>',
      'take the input size, fit and pad value of this model (registry name, entry file, plug-in detector)',
    )
    .option('--input-size <WxH>', "without --model: the detector's input size in pixels, e.g. 640x640", parseSize)
    .option('--fit <fit>', 'with --input-size: letterbox (default; aspect kept, top-left) or stretch')
    .option(
      '--pad-value <R,G,B>',
      'with --input-size: colour of the canvas outside the image (default 0,0,0)',
      parseRgb,
    )
    .option('--kernel <name>', 'resampling kernel, applied once per image (default linear)')
    .option('--subpixel-kernel <name>', 'kernel of fractional shifts in pad/crop (default lanczos3)')
    .option('--plugin <file>', 'load a plug-in module (for a plug-in --model)', collect, [])
    .option('--registry <file>', 'extra model registry JSON (repeatable)', collect, [])
    .option('--weights <dir>', 'local model weights (when the model must be loaded to know its input)')
    .option('-o, --out <dir>', 'the export folder (new or empty)')
    .option('--force', 'replace an earlier export in --out (its inputs and detections)')
    .option('-q, --quiet', 'no progress output')
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  shiftbench export --model zoo-fcos --dataset datasets/synth/val --limit 20 --shifts grid:1 --out ' +
          'exports/synth',
        '  shiftbench export --input-size 320x320 --fit stretch --pad-value 0,0,0 --dataset ' +
          '../shared/data/coco128 --out exports/coco128',
        '',
        'Then run your detector on every inputs/<imageId>/<k>.png, write detections/shift_<k>.json (COCO results, ' +
          'boxes in',
        "the input's pixels) and score them: shiftbench score exports/synth --name my-detector --family " +
          'one-stage,anchor-free',
        '(examples/python/detect_export.py does it with a torchvision detector).',
      ].join('\n'),
    )
    .action(async (flags: ExportFlags) => {
      const logger = consoleLogger(flags.quiet);
      if (!flags.dataset) throw invalidParameterError('--dataset', 'a dataset folder or COCO JSON', flags.dataset);
      if (!flags.out) throw invalidParameterError('--out', 'the export folder to write', flags.out);
      const options: ExportOptions = {
        dataset: flags.dataset,
        images: flags.images,
        classes: flags.classes,
        limit: flags.limit,
        shifts: flags.shifts,
        mode: flags.mode as ShiftMode | undefined,
        model: flags.model,
        inputSizePx: flags.inputSize,
        fit: flags.fit as FitMode | undefined,
        padValue: flags.padValue,
        kernel: flags.kernel as ExportOptions['kernel'],
        subpixelKernel: flags.subpixelKernel as ExportOptions['subpixelKernel'],
        plugins: flags.plugin.length ? flags.plugin : undefined,
        registryFiles: flags.registry.length ? flags.registry : undefined,
        weightsDir: flags.weights,
        out: flags.out,
        force: flags.force,
      };
      const res = await exportInputs(options, { logger });
      const m = res.manifest;
      printLine(
        `${res.inputs} inputs (${m.images.length - res.skipped} images × ${m.shiftSet.shifts.length} shifts, ` +
          `${m.input.widthPx}×${m.input.heightPx}, ${m.mode}) in ${res.dir}`,
      );
      if (res.skipped > 0) printLine(`${res.skipped} images could not be decoded (listed in export.json)`);
      printLine(`export sha256: ${res.sha256}`);
      printLine(
        `next: write ${res.dir}/detections/shift_<k>.json, then \`shiftbench score ${res.dir} --name NAME --family ` +
          `STAGES,ANCHORS\``,
      );
    });
}
