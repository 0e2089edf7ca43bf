/**
 * The built-in demo: offline, no arguments. It makes sure the synthetic val split is on
 * disk, then runs every model of the zoo (models/zoo/zoo.json), each plain and as its
 * anti-aliased twin; without a zoo it runs the built-in fake detectors (an exactly
 * equivariant oracle and a jittering one) and says so.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { invalidParameterError, refuseUnknownFields } from '../core/errors.js';
import { is } from '../core/is.js';
import type { Logger, ModelEntry, RunMetrics } from '../core/types.js';
import { ensureSynthDataset } from '../datasets/index.js';
import { resolveRunOptions } from './options.js';
import { runBenchmark, runnerEnv } from './runBenchmark.js';
import { formatFamilyTable } from './summary.js';
import type { RunHooks } from './types.js';

/** The package folder (repository root in a checkout): src/runner/ or dist/runner/ → ../../ */
const PACKAGE_ROOT = path.resolve(fileURLToPath(new URL('../../', import.meta.url)));

export interface DemoOptions {
  /** Where the synthetic dataset lives (default datasets/synth under the current folder). */
  datasetDir?: string;
  /** The zoo registry (default <package>/models/zoo/zoo.json). */
  zooFile?: string;
  /** Run directory (default reports/<run-id>, resuming an unfinished demo). */
  out?: string;
  /** Use only the first N val images. */
  limit?: number;
  /** Shift set (default grid:1). */
  shifts?: string;
  /** Bootstrap resamples (default 1000). */
  bootstrapResamples?: number;
  /** Extra mitigations run on every zoo model, besides its anti-aliased twin (see DEMO_ALL_MITIGATIONS). */
  mitigations?: string[];
}

/** Every field of DemoOptions (the compiler checks the list is complete and has no other). */
const DEMO_OPTION_FIELDS: Record<keyof DemoOptions, true> = {
  datasetDir: true,
  zooFile: true,
  out: true,
  limit: true,
  shifts: true,
  bootstrapResamples: true,
  mitigations: true,
};

/** What `shiftbench demo --all-mitigations` adds: every mitigation that applies to any model (protocol §7). */
export const DEMO_ALL_MITIGATIONS: readonly string[] = [
  'input-blur:1',
  'antialias:post:3',
  'polyphase-align',
  'shift-ensemble:grid:1',
];

export interface DemoResult {
  runDir: string;
  metrics: RunMetrics;
  /** 'zoo' when the model zoo ran, 'fakes' when only the built-in fakes were available. */
  source: 'zoo' | 'fakes';
  /** One line on what ran (say it when fakes stood in for the zoo). */
  note: string;
  /** mapRange per model, grouped by family. */
  table: string;
  /** The rendered report.html, or null when rendering failed. */
  reportPath: string | null;
}

/**
 * The demo's model plan from a zoo file: plain models plus the antialias:trained mitigation
 * when every one has a twin. A variant of another zoo model (`meta.baseline` names it, e.g.
 * the circular-exact zoo-fcos-aps) is not a demo model.
 */
export function demoPlanFromZoo(allEntries: ModelEntry[]): { models: string[]; mitigations: string[] } {
  const entries = allEntries.filter((e) => typeof e.meta?.baseline !== 'string');
  const isTwin = (e: ModelEntry) =>
    e.meta?.antialias !== undefined && e.meta?.antialias !== null && e.meta?.antialias !== false;
  const plain = entries.filter((e) => !isTwin(e));
  const allHaveTwins =
    plain.length > 0 &&
    plain.every((e) => typeof e.meta?.twin === 'string' && entries.some((t) => t.name === e.meta!.twin));
  if (allHaveTwins) return { models: plain.map((e) => e.name), mitigations: ['antialias:trained'] };
  return { models: entries.map((e) => e.name), mitigations: [] };
}

function readZoo(file: string, logger?: Logger): ModelEntry[] {
  if (!existsSync(file)) return [];
  try {
    const json = JSON.parse(readFileSync(file, 'utf8')) as { models?: ModelEntry[] } | ModelEntry[];
    const list = Array.isArray(json) ? json : (json.models ?? []);
    return list.filter((e) => typeof e?.name === 'string');
  } catch (err) {
    logger?.warn(
      `the model zoo ${file} could not be read (${(err as Error).message}); running the built-in fakes instead`,
    );
    return [];
  }
}

/**
 * Runs the demo (see the module note) and returns the run with a family-grouped table.
 * Throws like runBenchmark, and ERR_INVALID_OPTION for an empty `datasetDir` (--dataset-dir); bad options are
 * refused before the synthetic dataset is written.
 */
export async function runDemo(hooks: RunHooks = {}, options: DemoOptions = {}): Promise<DemoResult> {
  if (!is.object(hooks as unknown)) throw invalidParameterError('hooks', 'an object of hooks', hooks);
  if (!is.object(options as unknown)) throw invalidParameterError('options', 'an object of demo options', options);
  refuseUnknownFields(options, DEMO_OPTION_FIELDS, 'demo options');
  const logger = hooks.logger;
  // an empty folder name would resolve to the current folder, and the dataset would be written there
  if (options.datasetDir !== undefined && !is.string(options.datasetDir))
    throw invalidParameterError('--dataset-dir', 'the folder of the synthetic dataset', options.datasetDir);
  const datasetDir = path.resolve(options.datasetDir ?? 'datasets/synth');
  // the user's options are checked before the synthetic dataset is written (200 images), not after
  resolveRunOptions({
    models: ['oracle'],
    dataset: datasetDir,
    shifts: options.shifts,
    limit: options.limit,
    out: options.out,
    mitigations: options.mitigations,
    bootstrapResamples: options.bootstrapResamples,
  });
  // so is every --mitigation spec (the demo loads no plugins: the built-in mitigations and the hooks' own)
  const env = runnerEnv(hooks);
  for (const spec of options.mitigations ?? []) env.parseMitigation(spec);
  const synth = await ensureSynthDataset(datasetDir, { splits: ['val'], logger });
  const val = synth.splits.find((s) => s.name === 'val')!;
  const zooFile = path.resolve(options.zooFile ?? path.join(PACKAGE_ROOT, 'models/zoo/zoo.json'));
  const zoo = readZoo(zooFile, logger);
  let source: DemoResult['source'];
  let plan: { models: string[]; mitigations: string[] };
  let note: string;
  const registryFiles: string[] = [];
  if (zoo.length > 0) {
    source = 'zoo';
    plan = demoPlanFromZoo(zoo);
    if (path.resolve(PACKAGE_ROOT, 'models/zoo/zoo.json') !== zooFile) registryFiles.push(zooFile);
    note = `model zoo (${zooFile}): ${plan.models.join(', ')}${
      plan.mitigations.length ? ', each plain and as its anti-aliased twin' : ''
    }`;
  } else {
    source = 'fakes';
    plan = { models: ['oracle', 'jitter'], mitigations: [] };
    note =
      `NOTE: no model zoo at ${zooFile}, so the demo runs the built-in FAKE detectors instead of real models: ` +
      '"oracle" (reports the ground truth, exactly shift-equivariant: mapRange 0) and "jitter" (the ground truth ' +
      'with shift-dependent noise).';
  }
  logger?.info(note);
  if (source === 'fakes' && options.mitigations?.length)
    logger?.warn(
      `no model zoo, so the mitigations asked for (${options.mitigations.join(', ')}) did not run: they run on the ` +
        'zoo models, not on the built-in fakes. Build the zoo (models/zoo/README.md) or use ' +
        '`shiftbench run --model … --mitigation …`',
    );
  const { runDir, metrics, reportPath } = await runBenchmark(
    {
      models: plan.models,
      mitigations: [...plan.mitigations, ...(source === 'zoo' ? (options.mitigations ?? []) : [])],
      dataset: val.annotationFile,
      shifts: options.shifts,
      limit: options.limit,
      out: options.out,
      registryFiles,
      bootstrapResamples: options.bootstrapResamples,
    },
    hooks,
  );
  return { runDir, metrics, source, note, table: formatFamilyTable(metrics), reportPath };
}
