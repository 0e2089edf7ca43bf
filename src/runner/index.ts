/** The runner: runBenchmark (one run, resumable), runExperiment (a matrix of runs), runDemo, summary tables. */
export { runBenchmark, type RunManifest, type ManifestDetector } from './runBenchmark.js';
export { runExperiment, loadExperimentConfig, type ExperimentConfig, type ExperimentRunOptions, type ExperimentResult } from './matrix.js';
export { resolveRunOptions, RUN_DEFAULTS, type RunOptions, type ResolvedRunOptions } from './options.js';
export { formatRunSummary, formatFamilyTable } from './summary.js';
export type { RunHooks, RunProgress, RunResult, RunnerEnv, RunEvaluator, EvaluatorArgs, RunnerLoadOptions } from './types.js';
export { runDemo, demoPlanFromZoo, DEMO_ALL_MITIGATIONS, type DemoOptions, type DemoResult } from './demo.js';
