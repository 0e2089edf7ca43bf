/** `shiftbench score`: flags → ScoreExportOptions → scoreExport (an export's results → a run directory). */
import type { Command } from 'commander';
import { formatRunSummary, scoreExport } from '../../index.js';
import { consoleLogger, parseIntFlag, parseNumberFlag, printLine } from '../io.js';

interface ScoreFlags {
  name: string;
  family: string;
  out?: string;
  dataset?: string;
  images?: string;
  scoreThreshold?: number;
  bootstrap?: number;
  bootstrapSeed?: number;
  bootstrapBounds?: number;
  objective: string[];
  maxDetections?: number;
  force?: boolean;
  quiet?: boolean;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

export function register(program: Command): void {
  program
    .command('score')
    .description(
      'Score the detections a framework wrote for an export folder (detections/shift_<k>.json) into a run ' +
        'directory, as `run` does',
    )
    .argument('<exportDir>', 'the folder `shiftbench export` wrote (export.json, inputs/, detections/)')
    .requiredOption('--name <name>', "the detector's name in the run")
    .requiredOption(
      '--family <stages,anchors>',
      'its family: one-stage|two-stage and anchor-based|anchor-free, e.g. one-stage,anchor-free',
    )
    .option('-o, --out <dir>', 'run directory (default reports/<run-id>)')
    .option('-d, --dataset <dir|json>', 'the exported dataset, when it moved since the export (its hash must match)')
    .option('--images <dir>', 'its image folder, when it moved')
    .option(
      '--score-threshold <τ>',
      'score threshold of the consistency metrics, 0–1 (default 0.5)',
      parseNumberFlag('--score-threshold', 0, 1),
    )
    .option(
      '--max-detections <n>',
      'detections kept per input, the highest-scoring (default 1000)',
      parseIntFlag('--max-detections', 1, 1_000_000),
    )
    .option(
      '--bootstrap <n>',
      'bootstrap resamples of the consistency intervals (default 1000)',
      parseIntFlag('--bootstrap', 1, 1_000_000),
    )
    .option(
      '--bootstrap-seed <n>',
      'seed of the bootstrap (default 0)',
      parseIntFlag('--bootstrap-seed', 0, 2 ** 32 - 1),
    )
    .option(
      '--bootstrap-bounds <n>',
      'bootstrap resamples of the mAP bounds',
      parseIntFlag('--bootstrap-bounds', 0, 1_000_000),
    )
    .option(
      '--objective <name>',
      'also search the bounds with ap50 or ap75 as the objective (repeatable; ap always)',
      collect,
      [],
    )
    .option('--force', 'replace a run directory that holds a different run')
    .option('-q, --quiet', 'no progress output')
    .addHelpText(
      'after',
      [
        '',
        'Example:',
        '  shiftbench score exports/synth --name fasterrcnn-mnv3 --family two-stage,anchor-based --out ' +
          'reports/fasterrcnn-synth',
        '',
        'Every shift index k needs detections/shift_<k>.json: a JSON list of COCO results [{ "image_id", ' +
          '"category_id",',
        '"bbox": [x, y, w, h], "score" }] of every exported image, boxes in the pixels of inputs/<imageId>/<k>.png.',
        'Analysis-only settings are recomputed later without the detector: shiftbench report RUN --score-threshold τ.',
      ].join('\n'),
    )
    .action(async (exportDir: string, flags: ScoreFlags) => {
      const logger = consoleLogger(flags.quiet);
      const { runDir, metrics, reportPath } = await scoreExport(
        exportDir,
        {
          name: flags.name,
          family: flags.family,
          out: flags.out,
          dataset: flags.dataset,
          images: flags.images,
          scoreThreshold: flags.scoreThreshold,
          bootstrapResamples: flags.bootstrap,
          bootstrapSeed: flags.bootstrapSeed,
          bootstrapBounds: flags.bootstrapBounds,
          objectives: flags.objective.length ? flags.objective : undefined,
          maxDetections: flags.maxDetections,
          force: flags.force,
        },
        { logger },
      );
      printLine(formatRunSummary(metrics));
      printLine(`\nrun directory: ${runDir}`);
      printLine(reportPath ? `report: ${reportPath}` : `report: shiftbench report ${runDir}`);
    });
}
