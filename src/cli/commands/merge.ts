/**
 * `shiftbench merge RUN… --out DIR`: joins the shard run directories of one run (`run --shard i/n`) and scores them
 * once.
 */
import type { Command } from 'commander';
import { formatRunSummary, mergeShards } from '../../index.js';
import { consoleLogger, parseTextFlag, printLine, runStoppable } from '../io.js';

interface MergeFlags {
  out: string;
  dataset?: string;
  images?: string;
  classes?: string;
  force?: boolean;
  quiet?: boolean;
}

export function register(program: Command): void {
  program
    .command('merge')
    .description(
      'Join the shards of one run (`shiftbench run --shard i/n`) into one run directory and compute its metrics once',
    )
    .argument(
      '<runs...>',
      'the run directory of every shard (each `--out` of `shiftbench run --shard i/n`), in any order',
    )
    .requiredOption(
      '-o, --out <dir>',
      'the merged run directory (new or empty; an earlier merge of the same shards is redone)',
    )
    .option(
      '-d, --dataset <dir|json>',
      'the dataset on this machine, when not where the shards recorded it (same content)',
      parseTextFlag('--dataset', 'a dataset folder or COCO JSON'),
    )
    .option(
      '--images <dir>',
      'image folder of that dataset, if not beside it',
      parseTextFlag('--images', 'an image folder'),
    )
    .option(
      '--classes <file>',
      "class names file of that YOLO dataset (the shards' --classes), when not where the shards recorded it",
      parseTextFlag('--classes', 'a class names file'),
    )
    .option('--force', 'replace a run directory at --out that holds another run')
    .option('-q, --quiet', 'no progress output')
    .addHelpText(
      'after',
      [
        '',
        'Example:',
        '  shiftbench run --model zoo-fcos --dataset datasets/synth/val --shard 0/2 --out runs/shard-0',
        '  shiftbench run --model zoo-fcos --dataset datasets/synth/val --shard 1/2 --out runs/shard-1',
        '  shiftbench merge runs/shard-0 runs/shard-1 --out runs/all',
        '',
        'The shards must be of one run (same identity, dataset and settings), each index once and finished;',
        'the merged metrics equal those of one process running every image.',
      ].join('\n'),
    )
    .action(async (runs: string[], flags: MergeFlags) => {
      const logger = consoleLogger(flags.quiet);
      const r = await runStoppable('stopped: the shards are unchanged; rerun the same command to merge', (signal) =>
        mergeShards(
          {
            runs,
            out: flags.out,
            dataset: flags.dataset,
            images: flags.images,
            classes: flags.classes,
            force: flags.force,
          },
          { logger, signal },
        ),
      );
      printLine(formatRunSummary(r.metrics));
      printLine(`\nmerged ${r.shards} shards, ${r.images} images: ${r.runDir}`);
      printLine(r.reportPath ? `report: ${r.reportPath}` : `report: shiftbench report ${r.runDir}`);
    });
}
