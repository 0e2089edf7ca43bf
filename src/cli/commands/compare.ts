/**
 * `shiftbench compare RUN_A RUN_B …`: runs side by side, paired against RUN_A where they can be (terminal table,
 * optional HTML).
 */
import path from 'node:path';
import type { Command } from 'commander';
import { writeFileAtomic } from '../../core/atomicFile.js';
import {
  MIN_INTERVAL_RESAMPLES,
  ShiftbenchError,
  compareRuns,
  pairRuns,
  renderComparisonHtml,
  renderComparisonText,
} from '../../index.js';
import { consoleLogger, parsePairingResamples, parseTextFlag, printLine } from '../io.js';

interface CompareFlags {
  out?: string;
  bootstrapBounds?: number;
  quiet?: boolean;
}

export function register(program: Command): void {
  program
    .command('compare')
    .description(
      'Put saved runs side by side; each run that shares dataset, images, shifts, mode, preprocessing, ' +
        '--score-threshold and --objective with the first is paired with it (Δ with 95% intervals from the stored ' +
        'detections). Needs no model',
    )
    .argument('<runDirs...>', 'two or more run directories; the first is the reference A')
    .option(
      '--out <file.html>',
      'also write the comparison as one self-contained HTML page',
      parseTextFlag('--out', 'an HTML file to write'),
    )
    .option(
      '--bootstrap-bounds <n>',
      `bootstrap resamples of the pairing (at least ${MIN_INTERVAL_RESAMPLES}; default: the first run's own)`,
      parsePairingResamples,
    )
    .option('-q, --quiet', 'no progress output')
    .addHelpText('after', '\nExample:\n  shiftbench compare reports/main reports/pr --out compare.html')
    .action(async (runDirs: string[], flags: CompareFlags) => {
      const logger = consoleLogger(flags.quiet);
      const comparison = await compareRuns(runDirs, async (a, b, keys) => {
        logger.info(`compare: pairing ${a} with ${b} from the stored detections…`);
        // b is the first run: every run is paired with it on its bootstrap (B and seed), as README says
        return pairRuns(a, b, { keys, bootstrapBounds: flags.bootstrapBounds, defaultsFrom: 'b', logger });
      });
      process.stdout.write(renderComparisonText(comparison));
      if (flags.out) {
        const file = path.resolve(flags.out);
        try {
          await writeFileAtomic(file, renderComparisonHtml(comparison));
        } catch (err) {
          throw new ShiftbenchError(
            'ERR_OUTPUT',
            `Could not write ${file} (--out): ${(err as Error).message}. Check that the folder is writable, ` +
              `or pass another --out file.`,
            { cause: err },
          );
        }
        printLine(file);
      }
    });
}
