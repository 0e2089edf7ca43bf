/** `shiftbench demo`: the offline built-in benchmark (synthetic val split, model zoo or fakes). */
import type { Command } from 'commander';
import { DEMO_ALL_MITIGATIONS, runDemo } from '../../index.js';
import { CLI_TEXT } from '../../core/messages.js';
import { consoleLogger, parseIntFlag, parseTextFlag, printLine } from '../io.js';
import { createProgress } from '../progress.js';

interface DemoFlags {
  out?: string;
  limit?: number;
  shifts?: string;
  datasetDir?: string;
  mitigation: string[];
  allMitigations?: boolean;
  quiet?: boolean;
}

export function register(program: Command): void {
  program
    .command('demo')
    .description(
      'Offline demo: synthetic val split, every zoo model plain and anti-aliased (or built-in fakes without a zoo)',
    )
    .option('-o, --out <dir>', 'run directory (default reports/<run-id>)')
    .option('--limit <n>', 'use only the first N images', parseIntFlag('--limit', 1))
    .option('-s, --shifts <spec>', 'shift set (default grid:1)')
    .option(
      '--dataset-dir <dir>',
      'where the synthetic dataset is kept (default datasets/synth)',
      parseTextFlag('--dataset-dir', 'the folder of the synthetic dataset'),
    )
    .option(
      '--mitigation <spec>',
      'also run every zoo model with this mitigation (repeatable)',
      (v: string, all: string[]) => [...all, v],
      [] as string[],
    )
    .option('--all-mitigations', `also run every mitigation: ${DEMO_ALL_MITIGATIONS.join(', ')}`)
    .option('-q, --quiet', 'no progress output')
    .addHelpText(
      'after',
      '\nExample:\n  shiftbench demo --limit 50\n  shiftbench demo --all-mitigations --limit 50\n  shiftbench ' +
        'report <the run directory it prints>',
    )
    .action(async (flags: DemoFlags) => {
      const progress = createProgress({ quiet: flags.quiet });
      const result = await runDemo(
        { logger: consoleLogger(flags.quiet), onProgress: progress.onProgress },
        {
          out: flags.out,
          limit: flags.limit,
          shifts: flags.shifts,
          datasetDir: flags.datasetDir,
          mitigations: [...(flags.allMitigations ? DEMO_ALL_MITIGATIONS : []), ...flags.mitigation],
        },
      );
      progress.finish();
      if (result.source === 'fakes') printLine(result.note + '\n');
      printLine(`${CLI_TEXT.demoTableTitle}\n`);
      printLine(result.table);
      printLine(`\nrun directory: ${result.runDir}`);
      printLine(result.reportPath ? `report: ${result.reportPath}` : `report: shiftbench report ${result.runDir}`);
    });
}
