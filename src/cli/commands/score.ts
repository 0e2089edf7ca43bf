/** `shiftbench score`: flags → ScoreExportOptions → scoreExport (an export's results → a run directory). */
import type { Command } from 'commander';
import { formatRunSummary, scoreExport } from '../../index.js';
import {
  addAnalysisFlags,
  analysisOptions,
  consoleLogger,
  parseIntFlag,
  printLine,
  runStoppable,
  type AnalysisFlags,
} from '../io.js';

interface ScoreFlags extends AnalysisFlags {
  name: string;
  family: string;
  out?: string;
  dataset?: string;
  images?: string;
  maxDetections?: number;
  force?: boolean;
  quiet?: boolean;
}

export function register(program: Command): void {
  const cmd = program
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
      '--max-detections <n>',
      'detections kept per input, the highest-scoring (default 1000)',
      parseIntFlag('--max-detections', 1, 1_000_000),
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
    );
  addAnalysisFlags(cmd).action(async (exportDir: string, flags: ScoreFlags) => {
    const logger = consoleLogger(flags.quiet);
    // scoring holds the run lock: Ctrl-C, SIGTERM or SIGHUP stop it and release the lock
    const { runDir, metrics, reportPath } = await runStoppable(
      'stopped: metrics.json was not written; rerun the same command to score',
      (signal) =>
        scoreExport(
          exportDir,
          {
            name: flags.name,
            family: flags.family,
            out: flags.out,
            dataset: flags.dataset,
            images: flags.images,
            ...analysisOptions(flags),
            maxDetections: flags.maxDetections,
            force: flags.force,
          },
          { logger, signal },
        ),
    );
    printLine(formatRunSummary(metrics));
    printLine(`\nrun directory: ${runDir}`);
    printLine(reportPath ? `report: ${reportPath}` : `report: shiftbench report ${runDir}`);
  });
}
