/**
 * The CLI's only contact with the console: a logger for the library, and helpers
 * for parsing numeric flags with the uniform error text.
 */
import { constants as osConstants } from 'node:os';
import type { Command } from 'commander';
import type { Logger } from '../core/types.js';
import { invalidParameterError } from '../core/errors.js';
import { CLI_TEXT } from '../core/messages.js';
import { MIN_INTERVAL_RESAMPLES } from '../index.js';

const realExit = process.exit.bind(process);

let commandExitCode = 0;

/** Sets the exit code a command ends with when it returns normally (e.g. 3: `check` found a limit exceeded). */
export function setCommandExitCode(code: number): void {
  commandExitCode = code;
}

/** The exit code set by the command that ran (0 unless it set one). */
export function getCommandExitCode(): number {
  return commandExitCode;
}

/** Ends the process now with `code` (the real process.exit, even while plug-ins are guarded from calling it). */
export function exitNow(code: number): never {
  return realExit(code);
}

export function consoleLogger(quiet = false): Logger {
  return {
    info: (m) => {
      if (!quiet) process.stderr.write(`${m}\n`);
    },
    warn: (m) => process.stderr.write(`warning: ${m}\n`),
    debug: (m) => {
      if (process.env.SHIFTBENCH_DEBUG) process.stderr.write(`debug: ${m}\n`);
    },
  };
}

/** "an integer from 1 to 1000", "an integer ≥ 1", "an integer ≤ 9" or "an integer". */
function integerRange(min: number, max: number): string {
  if (min > -Infinity && max < Infinity) return `an integer from ${min} to ${max}`;
  if (min > -Infinity) return `an integer ≥ ${min}`;
  return max < Infinity ? `an integer ≤ ${max}` : 'an integer';
}

/** A flag's text as a number: NaN for an empty or blank text, which Number() would read as 0. */
export function flagNumber(value: string): number {
  return value.trim() === '' ? NaN : Number(value);
}

/** Parses an integer flag; throws ERR_INVALID_OPTION naming the flag. */
export function parseIntFlag(name: string, min = -Infinity, max = Infinity) {
  return (value: string): number => {
    const n = flagNumber(value);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw invalidParameterError(name, integerRange(min, max), value);
    }
    return n;
  };
}

/**
 * `--bootstrap-bounds` of compare and check --baseline: the paired resamples their intervals and verdicts come from,
 * at least MIN_INTERVAL_RESAMPLES (no 0: a pairing without an interval has no verdict).
 */
export const parsePairingResamples = parseIntFlag('--bootstrap-bounds', MIN_INTERVAL_RESAMPLES, 1_000_000);

/**
 * A text flag (a path, a file) that must not be empty: `--out ""` (a script's unset variable) would otherwise read as
 * the flag not given — a default folder, or no file at all. Throws ERR_INVALID_OPTION naming the flag.
 */
export function parseTextFlag(name: string, expected: string) {
  return (value: string): string => {
    if (value.trim() === '') throw invalidParameterError(name, expected, value);
    return value;
  };
}

/** Parses a number flag; throws ERR_INVALID_OPTION naming the flag. */
export function parseNumberFlag(name: string, min = -Infinity, max = Infinity) {
  return (value: string): number => {
    const n = flagNumber(value);
    if (!Number.isFinite(n) || n < min || n > max) {
      throw invalidParameterError(name, `a number in [${min}, ${max}]`, value);
    }
    return n;
  };
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

export function printLine(line = ''): void {
  process.stdout.write(line + '\n');
}

/** The signals that stop a command cleanly: Ctrl-C, kill/`timeout`/an eviction or preemption, a closed terminal. */
export const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
export type StopSignal = (typeof STOP_SIGNALS)[number];

/** A command's handling of the stop signals (stopOnSignals). */
export interface Stop {
  /** Aborted (an AbortError) by the first stop signal. */
  signal: AbortSignal;
  /** The signal that stopped the command; null while none came. */
  readonly received: StopSignal | null;
  /** Removes the handlers (the signals' default action again); safe to call twice. */
  release: () => void;
}

/** The conventional exit code of a process ended by `sig`: 128 + its number (130 SIGINT, 143 SIGTERM, 129 SIGHUP). */
export function signalExitCode(sig: StopSignal): number {
  return 128 + osConstants.signals[sig];
}

/**
 * SIGINT (Ctrl-C), SIGTERM (kill, `timeout`, a Kubernetes eviction, a Slurm preemption) and
 * SIGHUP stop a command cleanly: `signal` is aborted, so a run stops after the current batch
 * of images, or scoring at once (its worker threads terminated; what is computed stays
 * stored), and the command releases its run lock on the way out (exitStopped then ends
 * it with 128 + the signal's number). A second stop signal quits at once.
 */
export function stopOnSignals(): Stop {
  const controller = new AbortController();
  let received: StopSignal | null = null;
  const handlers = STOP_SIGNALS.map((sig) => {
    const handler = () => {
      if (controller.signal.aborted) exitNow(signalExitCode(sig));
      received = sig;
      // the terminal is gone: nothing can show what is written to it any more, and a failed write must not stop the cleanup
      if (sig === 'SIGHUP') process.stderr.on('error', () => undefined);
      process.stderr.write(
        sig === 'SIGINT'
          ? `\n${CLI_TEXT.stopping}\n`
          : `\n${sig}: ${CLI_TEXT.stopping.replace(/ \(Ctrl-C[^)]*\)/, '')}\n`,
      );
      controller.abort();
    };
    process.on(sig, handler);
    return [sig, handler] as const;
  });
  return {
    signal: controller.signal,
    get received() {
      return received;
    },
    release: () => {
      for (const [sig, handler] of handlers) process.off(sig, handler);
    },
  };
}

/**
 * Ends a command that a stop signal stopped: writes `line` — the Ctrl-C text, "stopped: …" —
 * to stderr, naming any other signal ("stopped by SIGTERM: …"), then exits 128 + the
 * signal's number (130 when none is known).
 */
export function exitStopped(stop: Stop, line: string): never {
  const sig = stop.received ?? 'SIGINT';
  process.stderr.write(`${sig === 'SIGINT' ? line : line.replace(/^stopped/, `stopped by ${sig}`)}\n`);
  return exitNow(signalExitCode(sig));
}

/**
 * Runs a command's stoppable `work` (stopOnSignals): a stop signal aborts the signal it is given, and the AbortError
 * it then throws ends the command with `stoppedLine` and 128 + the signal's number (exitStopped).
 */
export async function runStoppable<T>(stoppedLine: string, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const stop = stopOnSignals();
  try {
    return await work(stop.signal);
  } catch (err) {
    if ((err as Error)?.name !== 'AbortError') throw err;
    return exitStopped(stop, stoppedLine);
  } finally {
    stop.release();
  }
}

/** Collects the values of a repeatable flag. */
export const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** The analysis-only flags as commander parses them (run, score, report). */
export interface AnalysisFlags {
  scoreThreshold?: number;
  bootstrap?: number;
  bootstrapSeed?: number;
  bootstrapBounds?: number;
  objective: string[];
}

/**
 * Declares the analysis-only flags — recomputed from stored detections, never a reason to
 * run a model again — once for every command that takes them. `lead` starts each help text
 * (report: 'rescore with: ', where the run's own settings are the defaults).
 */
export function addAnalysisFlags(cmd: Command, lead = ''): Command {
  const byDefault = (value: string) => (lead ? '' : ` (default ${value})`);
  return cmd
    .option(
      '--score-threshold <τ>',
      `${lead}score threshold of the consistency metrics, 0–1${byDefault('0.5')}`,
      parseNumberFlag('--score-threshold', 0, 1),
    )
    .option(
      '--bootstrap <n>',
      `${lead}bootstrap resamples of the consistency intervals${byDefault('1000')}`,
      parseIntFlag('--bootstrap', MIN_INTERVAL_RESAMPLES, 1_000_000),
    )
    .option(
      '--bootstrap-seed <n>',
      `${lead}seed of the bootstrap${byDefault('0')}`,
      parseIntFlag('--bootstrap-seed', 0, 2 ** 32 - 1),
    )
    .option(
      '--bootstrap-bounds <n>',
      `${lead}bootstrap resamples of the mAP bounds (0: no interval; else at least ${MIN_INTERVAL_RESAMPLES})`,
      parseIntFlag('--bootstrap-bounds', 0, 1_000_000),
    )
    .option(
      '--objective <name>',
      `${lead}also the bounds with ap50 or ap75 as the objective (repeatable; ap always)`,
      collect,
      [],
    );
}

/** The library options of the analysis-only flags. */
export function analysisOptions(flags: AnalysisFlags): {
  scoreThreshold?: number;
  bootstrapResamples?: number;
  bootstrapSeed?: number;
  bootstrapBounds?: number;
  objectives?: string[];
} {
  return {
    scoreThreshold: flags.scoreThreshold,
    bootstrapResamples: flags.bootstrap,
    bootstrapSeed: flags.bootstrapSeed,
    bootstrapBounds: flags.bootstrapBounds,
    objectives: flags.objective.length ? flags.objective : undefined,
  };
}
