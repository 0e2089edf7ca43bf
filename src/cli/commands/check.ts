/**
 * `shiftbench check RUN --max-range 0.03 …`: a CI gate on a saved run (exit 0 pass, 3 a limit exceeded, 1 cannot
 * judge).
 */
import type { Command } from 'commander';
import { writeFileAtomic } from '../../core/atomicFile.js';
import {
  MIN_INTERVAL_RESAMPLES,
  ShiftbenchError,
  checkErrorJunitXml,
  checkJunitXml,
  checkRunDir,
  invalidParameterError,
  pairRuns,
  type CheckLimits,
} from '../../index.js';
import {
  consoleLogger,
  parseNumberFlag,
  parsePairingResamples,
  parseTextFlag,
  printLine,
  setCommandExitCode,
} from '../io.js';

interface CheckFlags {
  maxRange?: number;
  maxRelRange?: number;
  maxFlipRate?: number;
  baseline?: string;
  maxIncrease?: number;
  bootstrapBounds?: number;
  junit?: string;
  quiet?: boolean;
}

/**
 * A limit flag: a fraction in [0, 1]. One written with a unit (3%, 0.5pp) is refused with its value as a fraction;
 * so is a number above 1 up to 100, which reads as a percentage (a range above the mAP itself is no limit).
 */
function parseLimit(name: string) {
  const parse = parseNumberFlag(name, 0, 1);
  return (value: string): number => {
    const unit = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*(%|pp)\s*$/i.exec(value);
    if (unit)
      throw invalidParameterError(
        name,
        `a number in [0, 1] — limits are fractions: ${value.trim()} is ${Number(unit[1]) / 100}`,
        value,
      );
    const n = Number(value);
    if (Number.isFinite(n) && n > 1 && n <= 100)
      throw invalidParameterError(
        name,
        `a number in [0, 1] — limits are fractions: for ${value.trim()} % write ${n / 100}`,
        value,
      );
    return parse(value);
  };
}

/** Exit code when a limit is exceeded (the interval's lower end is above it). */
export const CHECK_FAILED_EXIT_CODE = 3;

async function writeJunit(file: string, text: string): Promise<void> {
  try {
    await writeFileAtomic(file, text);
  } catch (err) {
    throw new ShiftbenchError(
      'ERR_OUTPUT',
      `Could not write ${file} (--junit): ${(err as Error).message}. Check that the folder exists and is writable.`,
      { cause: err },
    );
  }
}

export function register(program: Command): void {
  program
    .command('check')
    .description(
      'CI gate: exit 0 when every detector of a saved run is within the limits, 3 when one exceeds a limit (judged ' +
        'on the 95% interval), 1 when the run cannot be judged. Needs no model',
    )
    .argument('<runDir>', 'the run directory written by `shiftbench run`')
    .option(
      '--max-range <fraction>',
      'largest mAP range allowed, as a fraction (0.03 = 3 pp)',
      parseLimit('--max-range'),
    )
    .option(
      '--max-rel-range <fraction>',
      'largest relative range (range ÷ mAP at (0,0)) allowed, as a fraction (0.1 = 10 %)',
      parseLimit('--max-rel-range'),
    )
    .option('--max-flip-rate <fraction>', 'largest flip rate allowed', parseLimit('--max-flip-rate'))
    .option(
      '--baseline <runDir>',
      'a run to compare with (same dataset, images, shifts, mode, preprocessing, --score-threshold, ' +
        '--objective): paired per detector from the stored detections',
    )
    .option(
      '--max-increase <fraction>',
      'with --baseline: largest increase of the mAP range over the baseline allowed (0.005 = 0.5 pp)',
      parseLimit('--max-increase'),
    )
    .option(
      '--bootstrap-bounds <n>',
      `with --baseline: bootstrap resamples of the pairing (at least ${MIN_INTERVAL_RESAMPLES}; default: the run's own)`,
      parsePairingResamples,
    )
    .option(
      '--junit <file>',
      'also write the results as JUnit XML (CI systems show it)',
      parseTextFlag('--junit', 'a JUnit XML file to write'),
    )
    .option('-q, --quiet', 'only the failures and warnings')
    .addHelpText(
      'after',
      '\nA limit fails when the whole 95% interval is above it, warns when only the value is.\nExample:\n  ' +
        'shiftbench check reports/my-run --max-range 0.03 --junit shiftbench.xml' +
        '\n  shiftbench check reports/new --baseline reports/main --max-increase 0.005',
    )
    .action(async (runDir: string, flags: CheckFlags) => {
      const limits: CheckLimits = {
        maxRange: flags.maxRange,
        maxRelRange: flags.maxRelRange,
        maxFlipRate: flags.maxFlipRate,
        maxIncrease: flags.maxIncrease,
      };
      // the limits are judged on the run's stored intervals: only the pairing with a baseline resamples again
      if (flags.bootstrapBounds !== undefined && flags.baseline === undefined)
        throw new ShiftbenchError(
          'ERR_INVALID_OPTION',
          '--bootstrap-bounds needs --baseline RUN: it sets the resamples of the pairing with a baseline; the limits ' +
            "are judged on the run's own intervals (`shiftbench report RUN --bootstrap-bounds B` recomputes them).",
        );
      const logger = consoleLogger(flags.quiet);
      let result;
      try {
        result = await checkRunDir(runDir, limits, {
          baselineDir: flags.baseline,
          pair: async (a, b, keys) => pairRuns(a, b, { keys, bootstrapBounds: flags.bootstrapBounds, logger }),
        });
      } catch (err) {
        if (flags.junit && err instanceof ShiftbenchError && err.code !== 'ERR_INVALID_OPTION')
          await writeJunit(flags.junit, checkErrorJunitXml(runDir, err.message));
        throw err;
      }
      for (const o of result.outcomes) if (!flags.quiet || o.status !== 'pass') printLine(o.message);
      const n = (s: string) => result.outcomes.filter((o) => o.status === s).length;
      printLine(
        `${result.status === 'fail' ? 'FAILED' : 'passed'}: ${n('pass')} pass, ${n('warn')} warn, ${n('fail')} fail` +
          `${result.baselineRunId ? ` (baseline ${result.baselineRunId})` : ''}`,
      );
      if (flags.junit) await writeJunit(flags.junit, checkJunitXml(result));
      if (result.status === 'fail') setCommandExitCode(CHECK_FAILED_EXIT_CODE);
    });
}
