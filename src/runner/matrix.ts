/**
 * Experiment matrix: one config file names models, mitigations, shift sets, modes and
 * datasets; every (dataset, shift set, mode) combination is one sub-run (all models and
 * mitigations inside it), each resumable on its own, plus a combined summary.json.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ShiftbenchError, describeValue, invalidParameterError, refuseUnknownFields } from '../core/errors.js';
import { is } from '../core/is.js';
import type { RunMetrics, ShiftMode } from '../core/types.js';
import { SHIFT_MODES, parseShiftSet } from '../shifts/index.js';
import { makeRunId, resolveRunOptions, RUN_DEFAULTS, RUN_OPTION_FIELDS, type RunOptions } from './options.js';
import { runBenchmark } from './runBenchmark.js';
import { ensureWritableDir, safeFileName, writeJsonAtomic } from './store.js';
import {
  EXPERIMENT_SUMMARY_FILE,
  experimentAnalysis,
  experimentResults,
  withSummaryLock,
} from './experimentSummary.js';
import type { RunHooks } from './types.js';
import { SILENT_LOGGER } from '../core/logger.js';

export interface ExperimentConfig {
  models: string[];
  mitigations?: string[];
  /** Shift set specs (default ["grid:1"]). */
  shifts?: string[];
  /** Modes (default ["pad"]). */
  modes?: ShiftMode[];
  datasets: string[];
  /** Optional common settings; options given to runExperiment win. */
  limit?: number;
  seed?: number;
  scoreThreshold?: number;
  backend?: string;
  plugins?: string[];
  registryFiles?: string[];
}

/** Every field of ExperimentConfig (the compiler checks the list is complete and has no other). */
const EXPERIMENT_CONFIG_FIELDS: Record<keyof ExperimentConfig, true> = {
  models: true,
  mitigations: true,
  shifts: true,
  modes: true,
  datasets: true,
  limit: true,
  seed: true,
  scoreThreshold: true,
  backend: true,
  plugins: true,
  registryFiles: true,
};

/** The run options a config's matrix sets for each sub-run (not runExperiment options). */
const MATRIX_RUN_FIELDS: readonly string[] = ['models', 'mitigations', 'shifts', 'mode', 'dataset'];

/** Every field of ExperimentRunOptions: RunOptions' but the matrix's (a shard has its own refusal, naming --shard). */
const EXPERIMENT_OPTION_FIELDS = Object.fromEntries(
  Object.keys(RUN_OPTION_FIELDS)
    .filter((k) => !MATRIX_RUN_FIELDS.includes(k))
    .map((k) => [k, true]),
) as Record<keyof ExperimentRunOptions, true>;

/** Options shared by every sub-run (the matrix fields come from the config). */
export type ExperimentRunOptions = Omit<RunOptions, 'models' | 'mitigations' | 'shifts' | 'mode' | 'dataset' | 'shard'>;

export interface ExperimentResult {
  outDir: string;
  summaryFile: string;
  runs: { dataset: string; shifts: string; mode: ShiftMode; runDir: string; metrics: RunMetrics }[];
}

function bad(file: string, field: string, expected: string, actual: unknown): ShiftbenchError {
  return new ShiftbenchError(
    'ERR_INVALID_OPTION',
    `Expected ${expected} for ${field} in ${file} (--config) but received ${describeValue(actual)}`,
  );
}

function strings(file: string, raw: Record<string, unknown>, field: string, required: boolean): string[] | undefined {
  const v = raw[field];
  if (v === undefined && !required) return undefined;
  if (!Array.isArray(v) || !v.every(is.string) || (required && v.length === 0)) {
    throw bad(file, field, required ? 'a non-empty list of strings' : 'a list of strings', v);
  }
  return v as string[];
}

/**
 * Reads and validates an experiment config (JSON). Relative paths in it (datasets,
 * plug-ins, registry files, path-like models) are resolved against the file's folder.
 * Throws ERR_INVALID_OPTION naming the file and the field.
 */
export async function loadExperimentConfig(file: string): Promise<ExperimentConfig> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new ShiftbenchError(
      'ERR_INVALID_OPTION',
      `Could not read the experiment config ${file} (--config): ${(err as Error).message}`,
      { cause: err },
    );
  }
  if (!is.object(raw)) throw bad(file, 'the config', 'an object { models, mitigations, shifts, modes, datasets }', raw);
  for (const k of Object.keys(raw))
    if (!Object.hasOwn(EXPERIMENT_CONFIG_FIELDS, k))
      throw bad(file, 'the config', `only the fields ${Object.keys(EXPERIMENT_CONFIG_FIELDS).join(', ')}`, k);
  const dir = path.dirname(path.resolve(file));
  const rel = (p: string) => path.resolve(dir, p);
  // a model that names an existing file next to the config is a path; otherwise a name (registry, plugin/detector,
  // fake)
  const isPathy = (m: string) =>
    (m.includes('/') || m.includes('\\') || /\.(onnx|json)$/i.test(m)) && existsSync(rel(m));
  const modes = strings(file, raw, 'modes', false) as ShiftMode[] | undefined;
  // an empty list would run no combination: refused rather than read as the default
  if (modes?.length === 0) throw bad(file, 'modes', `a non-empty list (leave modes out for ${RUN_DEFAULTS.mode})`, []);
  for (const m of modes ?? [])
    if (!SHIFT_MODES.includes(m)) throw bad(file, 'modes', 'a list of pad, crop, circular', m);
  const shifts = strings(file, raw, 'shifts', false);
  if (shifts?.length === 0)
    throw bad(file, 'shifts', `a non-empty list (leave shifts out for ${RUN_DEFAULTS.shifts})`, []);
  for (const spec of shifts ?? []) {
    try {
      parseShiftSet(spec);
    } catch {
      throw bad(file, 'shifts', 'a list of shift sets like grid:1, line:63, frac:4 or 0,0;1,0', spec);
    }
  }
  // the ranges of their flags (--limit, --seed, --score-threshold), named as the config's fields
  const num = (field: string, expected: string, ok: (v: number) => boolean) => {
    const v = raw[field];
    if (v !== undefined && (!is.number(v) || !ok(v))) throw bad(file, field, expected, v);
    return v as number | undefined;
  };
  const datasets = strings(file, raw, 'datasets', true)!.map(rel);
  for (const d of datasets)
    if (!existsSync(d))
      throw new ShiftbenchError(
        'ERR_INVALID_OPTION',
        `The dataset ${d} of ${file} (--config) does not exist: relative paths in ${file} are read from its folder ` +
          `(${dir}), not from the current one. Give a path relative to that folder, or an absolute one.`,
      );
  const backend = raw.backend;
  if (backend !== undefined && !is.string(backend)) throw bad(file, 'backend', 'a backend name', backend);
  return {
    models: strings(file, raw, 'models', true)!.map((m) => (isPathy(m) ? rel(m) : m)),
    mitigations: strings(file, raw, 'mitigations', false),
    shifts,
    modes,
    datasets,
    limit: num('limit', 'an integer ≥ 1', (v) => Number.isInteger(v) && v >= 1),
    seed: num('seed', 'an integer from 0 to 4294967295', (v) => Number.isInteger(v) && v >= 0 && v <= 2 ** 32 - 1),
    scoreThreshold: num('scoreThreshold', 'a number from 0 to 1', (v) => v >= 0 && v <= 1),
    backend: backend as string | undefined,
    plugins: strings(file, raw, 'plugins', false)?.map(rel),
    registryFiles: strings(file, raw, 'registryFiles', false)?.map(rel),
  };
}

/**
 * Runs every (dataset × shift set × mode) combination of `config` into
 * `<out>/<dataset>__<shifts>__<mode>/` and writes `<out>/summary.json` with the headline
 * numbers of every detector of every sub-run. `options.out` defaults to
 * reports/<timestamp>-<hash>. Each sub-run resumes like a plain run.
 */
export async function runExperiment(
  config: ExperimentConfig,
  options: ExperimentRunOptions = {},
  hooks: RunHooks = {},
): Promise<ExperimentResult> {
  // a library caller's config is not read by loadExperimentConfig: its shape is checked here, before anything is written
  if (!is.object(config))
    throw invalidParameterError('config', 'an experiment config { models, datasets, shifts?, modes?, … }', config);
  refuseUnknownFields(config, EXPERIMENT_CONFIG_FIELDS, 'experiment config fields', 'config');
  if (!Array.isArray(config.datasets) || config.datasets.length === 0 || !config.datasets.every(is.string))
    throw invalidParameterError('datasets', 'a non-empty list of dataset paths', config.datasets);
  for (const field of ['shifts', 'modes'] as const) {
    const list: unknown = config[field];
    // an empty list would run no combination: refused, as loadExperimentConfig does (leave it out for the default)
    if (list !== undefined && (!Array.isArray(list) || list.length === 0 || !list.every(is.string)))
      throw invalidParameterError(field, 'a non-empty list of strings', list);
  }
  if (!is.object(options)) throw invalidParameterError('options', 'an object of run options', options);
  // each sub-run is a whole run (runBenchmark refuses a shard): refused here, before the output folder is made
  const { shard } = options as { shard?: unknown };
  if (shard !== undefined && shard !== null)
    throw invalidParameterError('--shard', 'no shard for runExperiment (its sub-runs are whole runs)', shard);
  // a matrix field (dataset, mode, …) among the options would be overridden by the config's: refused with any unknown one
  refuseUnknownFields(options, EXPERIMENT_OPTION_FIELDS, 'experiment run options (the matrix comes from the config)');
  const shiftsList = config.shifts?.length ? config.shifts : [RUN_DEFAULTS.shifts];
  const modes = config.modes?.length ? config.modes : [RUN_DEFAULTS.mode];
  const common = {
    limit: config.limit,
    seed: config.seed,
    scoreThreshold: config.scoreThreshold,
    backend: config.backend,
    plugins: config.plugins,
    registryFiles: config.registryFiles,
    ...stripUndefined(options),
    models: config.models,
    mitigations: config.mitigations ?? [],
  };
  // every combination's options are checked before the first sub-run: a bad shift set or mode further down the matrix
  // is refused now, not after the sub-runs before it have run
  for (const dataset of config.datasets)
    for (const shifts of shiftsList) for (const mode of modes) resolveRunOptions({ ...common, dataset, shifts, mode });
  const outDir = path.resolve(
    options.out ?? path.join(options.reportsDir ?? RUN_DEFAULTS.reportsDir, makeRunId({ config })),
  );
  await ensureWritableDir(outDir);
  const runs: ExperimentResult['runs'] = [];
  const usedNames = new Set<string>();
  for (const dataset of config.datasets) {
    for (const shifts of shiftsList) {
      for (const mode of modes) {
        let name = safeFileName(`${path.basename(dataset).replace(/\.json$/i, '')}__${shifts}__${mode}`);
        for (let i = 2; usedNames.has(name); i++) name = `${name}-${i}`;
        usedNames.add(name);
        hooks.logger?.info(`experiment: ${name}`);
        const { runDir, metrics } = await runBenchmark(
          {
            ...common,
            dataset,
            shifts,
            mode,
            out: path.join(outDir, name),
          },
          hooks,
        );
        runs.push({ dataset, shifts, mode, runDir, metrics });
      }
    }
  }
  const summaryFile = path.join(outDir, EXPERIMENT_SUMMARY_FILE);
  const summary = {
    schemaVersion: 1,
    config,
    runs: await Promise.all(
      runs.map(async (r) => ({
        dataset: r.dataset,
        shifts: r.shifts,
        mode: r.mode,
        runDir: path.relative(outDir, r.runDir),
        runId: r.metrics.runId,
        analysis: await experimentAnalysis(r.runDir, r.metrics),
        results: experimentResults(r.metrics),
      })),
    ),
  };
  await withSummaryLock(outDir, hooks.logger ?? SILENT_LOGGER, () => writeJsonAtomic(summaryFile, summary));
  return { outDir, summaryFile, runs };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
