/** The runner: runBenchmark (one run, resumable), runExperiment (a matrix of runs), runDemo, summary tables. */
export { runBenchmark, runShard } from './runBenchmark.js';
export { mergeShards, type MergeOptions, type MergeResult } from './merge.js';
export { parseShard, shardOfImage, SHARD_RULE, type ShardSpec, type ManifestShard } from './shard.js';
export { RunStore, type RunManifest, type ManifestDetector, type SkippedImage } from './runStore.js';
export { scoreRun, type ScoreRunArgs, type ScoredVariant } from './score.js';
export { rescoreRun, type RescoreOptions } from './rescore.js';
export { pairRuns, type PairRunsOptions, type RunPairedDifference } from './pairRuns.js';
export {
  runExperiment,
  loadExperimentConfig,
  type ExperimentConfig,
  type ExperimentRunOptions,
  type ExperimentResult,
} from './matrix.js';
export {
  resolveRunOptions,
  RUN_DEFAULTS,
  MIN_INTERVAL_RESAMPLES,
  type RunOptions,
  type ResolvedRunOptions,
} from './options.js';
export { formatRunSummary, formatFamilyTable } from './summary.js';
export type {
  RunHooks,
  RunProgress,
  RunResult,
  ShardResult,
  RunnerEnv,
  RunEvaluator,
  EvaluatorArgs,
  RunnerLoadOptions,
} from './types.js';
export { runDemo, demoPlanFromZoo, DEMO_ALL_MITIGATIONS, type DemoOptions, type DemoResult } from './demo.js';
