/**
 * `shiftbench report <runDir>`: (re)score a saved run from its stored detections if asked, then render report.html and
 * report.json.
 */
import type { Command } from 'commander';
import {
  REPORT_FORMATS,
  checkReportOut,
  invalidParameterError,
  loadReportRun,
  renderReport,
  renderReportText,
  rescoreRun,
  writeReportText,
  type ReportFormat,
} from '../../index.js';
import {
  addAnalysisFlags,
  analysisOptions,
  consoleLogger,
  parseIntFlag,
  printLine,
  runStoppable,
  type AnalysisFlags,
} from '../io.js';

interface ReportFlags extends AnalysisFlags {
  out?: string;
  format: ReportFormat;
  rescore?: boolean;
  gallery?: number;
  quiet?: boolean;
}

function parseFormat(value: string): ReportFormat {
  if (!(REPORT_FORMATS as readonly string[]).includes(value))
    throw invalidParameterError('--format', `one of ${REPORT_FORMATS.join(', ')}`, value);
  return value as ReportFormat;
}

export function register(program: Command): void {
  const cmd = program
    .command('report')
    .description(
      'Render report.html (self-contained) and report.json from a saved run directory; with analysis settings, ' +
        'rescore it first. Needs no model',
    )
    .argument('<runDir>', 'the run directory written by `shiftbench run` (holds manifest.json and metrics.json)')
    .option(
      '--format <format>',
      'html (report.html + report.json), md (a Markdown summary for GitHub), csv (the headline table) or json',
      parseFormat,
      'html',
    )
    .option(
      '--out <file>',
      'file to write (default <runDir>/report.<html|md|csv|json>; for html, report.json goes next to it); ' +
        '- writes md, csv or json to stdout',
    )
    .option(
      '--rescore',
      'rescore the run from its stored detections with its own settings first (a run written by an older version)',
    )
    .option(
      '--gallery <n>',
      'html: images per detector in the flicker gallery (default 3; 0: none)',
      parseIntFlag('--gallery', 0, 100),
    )
    .option('-q, --quiet', 'no progress output')
    .addHelpText(
      'after',
      '\nExample:\n  shiftbench report runs/coco128-grid1\n  shiftbench report runs/coco128-grid1 --out ' +
        '/tmp/coco128.html   # also writes /tmp/coco128.json' +
        '\n  shiftbench report runs/coco128-grid1 --score-threshold 0.3        # rescores metrics.json from the ' +
        'stored detections' +
        '\n  shiftbench report runs/coco128-grid1 --format md --out - >> "$GITHUB_STEP_SUMMARY"',
    );
  addAnalysisFlags(cmd, 'rescore with: ').action(async (runDir: string, flags: ReportFlags) => {
    const logger = consoleLogger(flags.quiet);
    const rescore = analysisOptions(flags);
    // the flicker gallery is part of the html report only: with another format --gallery would be ignored
    if (flags.gallery !== undefined && flags.format !== 'html')
      throw invalidParameterError(
        '--gallery',
        `no --gallery with --format ${flags.format} (the flicker gallery is part of the html report)`,
        String(flags.gallery),
      );
    // a refused --out is refused before anything is rescored
    if (flags.format === 'html' && flags.out === '-')
      throw invalidParameterError(
        '--out',
        'a file path for --format html (- writes md, csv or json to stdout)',
        flags.out,
      );
    if (flags.out !== '-') await checkReportOut(flags.format, flags.out);
    if (flags.rescore || Object.values(rescore).some((v) => v !== undefined)) {
      // the rescore holds the run lock: Ctrl-C, SIGTERM or SIGHUP stop it and release the lock
      await runStoppable('stopped: metrics.json is unchanged; rerun the same command to rescore', (signal) =>
        rescoreRun(runDir, rescore, {
          logger,
          signal,
          callerRenders: flags.out === undefined ? flags.format : undefined,
        }),
      );
      logger.info(`rescored ${runDir} from its stored detections (metrics.json rewritten)`);
    }
    if (flags.format === 'html') {
      const { htmlPath, jsonPath } = await renderReport(runDir, {
        outFile: flags.out,
        logger,
        gallery: flags.gallery,
      });
      printLine(htmlPath);
      printLine(jsonPath);
    } else if (flags.out === '-') {
      process.stdout.write(renderReportText(await loadReportRun(runDir), flags.format));
    } else {
      printLine(await writeReportText(runDir, flags.format, { outFile: flags.out, logger }));
    }
  });
}
