/** `shiftbench report <runDir>`: render report.html and report.json from a saved run. */
import type { Command } from 'commander';
import { renderReport } from '../../index.js';
import { consoleLogger, printLine } from '../io.js';

interface ReportFlags {
  out?: string;
  quiet?: boolean;
}

export function register(program: Command): void {
  program
    .command('report')
    .description('Render report.html (self-contained) and report.json from a saved run directory; needs no model')
    .argument('<runDir>', 'the run directory written by `shiftbench run` (holds manifest.json and metrics.json)')
    .option('--out <file>', 'HTML file to write (default <runDir>/report.html); report.json goes next to it')
    .option('-q, --quiet', 'no progress output')
    .addHelpText(
      'after',
      '\nExample:\n  shiftbench report runs/coco128-grid1\n  shiftbench report runs/coco128-grid1 --out /tmp/coco128.html   # also writes /tmp/coco128.json',
    )
    .action(async (runDir: string, flags: ReportFlags) => {
      const { htmlPath, jsonPath } = await renderReport(runDir, { outFile: flags.out, logger: consoleLogger(flags.quiet) });
      printLine(htmlPath);
      printLine(jsonPath);
    });
}
