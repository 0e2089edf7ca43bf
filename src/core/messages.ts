/**
 * User-facing text in one place: what each error code means and the exit code it ends the
 * CLI with, the CLI flag of each library option (errors name an option as the CLI user
 * types it: `--bootstrap`, never `bootstrapResamples`), the units of printed numbers, and
 * the fixed lines the CLI prints. test/core/messages.test.ts checks that every error code
 * used in src/ has its entry here and that every flag a message names exists in the CLI.
 */
import type { ErrorCode } from './errors.js';
import type { RunMetrics } from './types.js';

/** One error code: what it tells the user, and the CLI exit code (2: usage error, 1: failure). */
export interface ErrorCodeText {
  meaning: string;
  exitCode: 1 | 2;
}

/** Every error code of ShiftbenchError with its meaning and exit code. */
export const ERROR_CODES: Readonly<Record<ErrorCode, ErrorCodeText>> = {
  ERR_INVALID_OPTION: { meaning: 'a flag or option has a bad value, or flags that do not go together', exitCode: 2 },
  ERR_DATASET: { meaning: 'the dataset cannot be read: missing files, malformed annotations or images', exitCode: 1 },
  ERR_MODEL_LOAD: {
    meaning: 'a model cannot be loaded (missing files, unknown format, runtime unavailable)',
    exitCode: 1,
  },
  ERR_EXECUTION_PROVIDER: {
    meaning: 'the ONNX Runtime execution provider asked for (--ep) cannot run the model here',
    exitCode: 1,
  },
  ERR_MODEL_OUTPUT: { meaning: "a model's outputs do not match its decoder", exitCode: 1 },
  ERR_MODEL_HASH: { meaning: "a model file's sha256 differs from its registry entry", exitCode: 1 },
  ERR_REGISTRY: { meaning: 'a model registry entry is unknown or malformed', exitCode: 1 },
  ERR_PLUGIN: { meaning: 'a plug-in cannot be loaded or broke its contract', exitCode: 1 },
  ERR_PLUGIN_TIMEOUT: { meaning: "a plug-in detector's detect() took longer than --detect-timeout", exitCode: 1 },
  ERR_METRICS_INPUT: { meaning: 'detections, ground truth or a bounds case are malformed', exitCode: 1 },
  ERR_RUN_STORE: { meaning: 'a run directory holds another run, or its stored files are damaged', exitCode: 1 },
  ERR_MERGE: {
    meaning: 'the run directories given to `shiftbench merge` are not the shards of one run',
    exitCode: 1,
  },
  ERR_RUN_LOCKED: { meaning: 'another process is writing the run directory', exitCode: 1 },
  ERR_OUTPUT: { meaning: 'an output file or folder cannot be written', exitCode: 1 },
  ERR_NETWORK: { meaning: 'a model cannot be fetched (npm registry or URL unreachable)', exitCode: 1 },
  ERR_CANNOT_JUDGE: {
    meaning: '`shiftbench check` cannot judge the run (no interval, no mAP, incompatible baseline)',
    exitCode: 1,
  },
  ERR_EXPORT: { meaning: 'a shiftbench export folder is missing, malformed or does not match its spec', exitCode: 1 },
  ERR_WORKER: {
    meaning: 'a worker thread computing the metrics failed; the others were stopped and nothing stored changed',
    exitCode: 1,
  },
  ERR_INTERNAL: { meaning: 'a bug in shiftbench: please report it with the command that caused it', exitCode: 1 },
};

/**
 * The CLI flag of each library option (RunOptions and the rescore options). Library
 * validation names an option by its flag, so a CLI user reads what they typed.
 */
export const OPTION_FLAGS = {
  models: '--model',
  mitigations: '--mitigation',
  dataset: '--dataset',
  images: '--images',
  classes: '--classes',
  shifts: '--shifts',
  mode: '--mode',
  scoreThreshold: '--score-threshold',
  limit: '--limit',
  out: '--out',
  force: '--force',
  seed: '--seed',
  bootstrapSeed: '--bootstrap-seed',
  bootstrapBounds: '--bootstrap-bounds',
  objectives: '--objective',
  backend: '--backend',
  executionProvider: '--ep',
  threads: '--threads',
  weightsDir: '--weights',
  plugins: '--plugin',
  registryFiles: '--registry',
  detectTimeoutMs: '--detect-timeout',
  batchSize: '--batch',
  maxDetections: '--max-detections',
  prepareWorkers: '--prepare-workers',
  bootstrapResamples: '--bootstrap',
  kernel: '--kernel',
  subpixelKernel: '--subpixel-kernel',
  shard: '--shard',
  httpConcurrency: '--http-concurrency',
  httpTimeoutMs: '--http-timeout',
  httpRetries: '--http-retries',
} as const;

/** The flag of each option of `generateSynth` (`shiftbench datasets synth`). */
export const SYNTH_OPTION_FLAGS = {
  outDir: '--out',
  seed: '--seed',
  sizePx: '--size',
  trainImages: '--images',
  valImages: '--val',
  splits: '--splits',
} as const;

/** A library option key with a CLI flag. */
export type FlaggedOption = keyof typeof OPTION_FLAGS;

/** The positional argument of `report`, `check` and `compare`: a run directory, as their help names it. */
export const RUN_DIR_ARG = '<runDir>';

/**
 * Column headers of the terminal tables, each with its unit: metrics are shown in % and
 * ranges in percentage points (pp) there (core/units.ts), fractions 0–1 everywhere else.
 * `run`, `demo` and `bounds` use the same header for the same number.
 */
export const HEADINGS = {
  mapRef: 'mapRef %',
  mapLower: 'mapLower %',
  mapUpper: 'mapUpper %',
  mapRange: 'mapRange pp',
  mapRangeInterval: '95% CI pp',
  relRange: 'relRange %',
  flipRate: 'flipRate %',
  detConsistency: 'detConsistency %',
  cost: 'cost ×',
  passes: 'passes lower/upper',
  shift: 'shift dx,dy',
  shiftMap: 'mAP %',
} as const;

/** Fixed lines the CLI prints (errors and results have their own text where they are made). */
export const CLI_TEXT = {
  /** After commander's one-line reason for a bad flag. */
  helpAfterError: '(run with --help for usage and an example)',
  /** The first Ctrl-C during `run` or `merge` (a second one quits at once). */
  stopping:
    'stopping after the current batch of images, or at once while scoring (Ctrl-C again to quit now); ' +
    'rerun the same command to resume',
  /** Ctrl-C during `run` (exit 130). */
  stoppedResumable: 'stopped: everything computed so far is stored; rerun the same command to resume',
  /** The event loop emptied while a command still waited (exit 1). */
  neverSettled:
    'the command stopped before it finished: something it waited on (a plug-in?) never settled and nothing else was ' +
    'left to run. No results were written.',
  /** Prefix of an error that is not a ShiftbenchError (a bug, exit 1). */
  unexpectedFailure: 'unexpected failure',
  /** Above the table of `demo`. */
  demoTableTitle: 'mAP bounds per model, by family (mAP in %, ranges in percentage points):',
  /** Under the text output of `bounds`. */
  boundsJsonHint: '(--json prints the same numbers as fractions 0–1, with the assignments)',
} as const;

/** Whether a crop or circular run scored no ground truth (a label-free dataset, or none in its images). */
export function stableAreaWithoutGroundTruth(metrics: RunMetrics): boolean {
  if (metrics.dataset.labelFree) return true;
  const counted = metrics.results.filter((r) => r.scoredContent);
  return counted.length > 0 && counted.every((r) => r.scoredContent?.groundTruthTotal === 0);
}

/**
 * Protocol §1 for crop and circular runs, as every text output says it: only the stable area is scored, so the mAP is
 * not the whole image's COCO mAP — with each detector's counts (its input size sets its stable area). Without ground
 * truth it says only what it means there: detections centred outside the stable area are dropped from the consistency
 * metrics. Null in pad mode.
 */
export function stableAreaNote(metrics: RunMetrics): string | null {
  if (metrics.mode === 'pad') return null;
  const what = metrics.mode === 'crop' ? 'the content shown whole at every shift' : 'the content never wrapped';
  const labelFree = stableAreaWithoutGroundTruth(metrics);
  const each = metrics.results.flatMap(({ key, scoredContent: sc }) =>
    sc
      ? [
          `${key}: ` +
            (labelFree ? '' : `${sc.groundTruthIgnored} of ${sc.groundTruthTotal} ground-truth boxes, `) +
            `${sc.detectionsDropped} of ${sc.detectionsTotal} detections`,
        ]
      : [],
  );
  const counts = each.length ? ` (${each.join('; ')})` : '';
  if (labelFree) {
    return (
      `${metrics.mode} mode scores only the stable area (${what}): detections centred outside it are dropped from ` +
      `the consistency metrics${counts}`
    );
  }
  return (
    `${metrics.mode} mode scores only the stable area (${what}): ground truth outside it is a crowd region and ` +
    `detections centred outside it are dropped, so this mAP is not the whole image's COCO mAP${counts}`
  );
}
