/**
 * The public library API of shiftbench: what a library user needs — run a benchmark,
 * evaluate detections, compute bounds, load a detector, datasets, shifts, reports and
 * the types — and what the CLI uses (it imports nothing else). Engine internals (the
 * incremental mAP engine, prepared-case layouts, worker policy, the run store, the
 * decoders' building blocks) stay inside their modules.
 *
 * ```ts
 * import { runBenchmark, evaluateCoco, greedyBounds, loadDetector, parseShiftSet } from 'shiftbench';
 * ```
 */

// ---------------------------------------------------------------- types and errors
export type * from './core/types.js';
export { ShiftbenchError, invalidParameterError, type ErrorCode } from './core/errors.js';
export { COCO_CATEGORIES } from './core/coco.js';
export { VERSION } from './version.js';

// ---------------------------------------------------------------- running a benchmark
export {
  runBenchmark,
  runShard,
  mergeShards,
  parseShard,
  shardOfImage,
  runExperiment,
  loadExperimentConfig,
  rescoreRun,
  pairRuns,
  runDemo,
  DEMO_ALL_MITIGATIONS,
  formatRunSummary,
  formatFamilyTable,
  RUN_DEFAULTS,
  MIN_INTERVAL_RESAMPLES,
  type RunOptions,
  type RunHooks,
  type RunProgress,
  type RunResult,
  type ShardResult,
  type ShardSpec,
  type MergeOptions,
  type MergeResult,
  type RunManifest,
  type ManifestDetector,
  type RescoreOptions,
  type PairRunsOptions,
  type RunPairedDifference,
  type ExperimentConfig,
  type ExperimentRunOptions,
  type ExperimentResult,
  type DemoOptions,
  type DemoResult,
} from './runner/index.js';

// ---------------------------------------------------------------- bring your own inference
export {
  exportInputs,
  scoreExport,
  readExport,
  type ExportOptions,
  type ExportResult,
  type ExportManifest,
  type ScoreExportOptions,
  type ScoreExportResult,
} from './export/index.js';

// ---------------------------------------------------------------- metrics
export {
  evaluateCoco,
  formatCocoEval,
  greedyBounds,
  greedyBoundsParallel,
  prepareBounds,
  parseBoundsCase,
  formatBounds,
  NO_GROUND_TRUTH_NOTE,
  computeConsistency,
  ShiftEvaluator,
  DEFAULT_MAX_PASSES,
  DEFAULT_SCORE_THRESHOLD,
  DEFAULT_BOOTSTRAP_RESAMPLES,
  IOU_THRESHOLDS,
  RECALL_THRESHOLDS,
  AREA_RANGES,
  MAX_DETS,
  type CocoEvalResult,
  type BoundsCase,
  type GreedyOptions,
  type GreedyProgress,
  type ParallelBoundsOptions,
  type ConsistencyImage,
  type ConsistencyOptions,
  type ConsistencyResult,
  type ShiftEvaluatorOptions,
  type ProcessInput,
  type ShiftEvaluation,
} from './metrics/index.js';

// ---------------------------------------------------------------- detectors
export {
  loadDetector,
  loadEntry,
  listModels,
  readRegistry,
  validateModelEntry,
  pullModel,
  isModelCached,
  createFakeDetector,
  FAKE_NAMES,
  DEFAULT_CACHE_DIR,
  DEFAULT_DETECT_TIMEOUT_MS,
  MAX_DETECT_TIMEOUT_MS,
  type LoadDetectorSpecOptions,
  type PullOptions,
} from './detectors/index.js';
export {
  definePlugin,
  PLUGIN_API_VERSION,
  type PluginDefinition,
  type PluginDetectorFactory,
  type PluginMitigationFactory,
} from './detectors/plugin-api.js';
export {
  selectBackend,
  loadTfjsDetector,
  type BackendInfo,
  type SelectBackendOptions,
  type TfjsBackendName,
} from './detectors/tfjs/lazy.js';

// ---------------------------------------------------------------- mitigations
export {
  parseMitigation,
  registerMitigation,
  describeMitigations,
  type Mitigation,
  type MitigationContext,
  type MitigationDefinition,
  type MitigationFactory,
} from './mitigations/index.js';

// ---------------------------------------------------------------- datasets
export {
  loadDataset,
  decodeImage,
  summarizeDataset,
  findUnusableImages,
  generateSynthDataset,
  ensureSynthDataset,
  SYNTH_DEFAULTS,
  SYNTH_SPLITS,
  SYNTH_CLASSES,
  ACCEPTED_DATASETS,
  type DatasetSpec,
  type DatasetSummary,
  type SynthOptions,
  type SynthResult,
  type SynthSplitName,
} from './datasets/index.js';

// ---------------------------------------------------------------- shifts (protocol §1)
export {
  parseShiftSet,
  shiftLabel,
  DEFAULT_SHIFT_SPEC,
  makeShiftedInputs,
  fitGeometry,
  projectBack,
  boxToInput,
  boxToOriginal,
  stableArea,
  groundTruthInStableArea,
  detectionsInStableArea,
  SHIFT_MODES,
  RESAMPLE_KERNELS,
  DEFAULT_RESAMPLE_KERNEL,
  type ResampleKernel,
  type ShiftedInputOptions,
  type ShiftedInputs,
  type FitGeometry,
  type StableArea,
} from './shifts/index.js';

// ---------------------------------------------------------------- reports
export {
  renderReport,
  renderReportText,
  writeReportText,
  checkReportOut,
  runCompatibility,
  compareRuns,
  renderComparisonText,
  renderComparisonHtml,
  type Comparison,
  checkRunDir,
  checkJunitXml,
  checkErrorJunitXml,
  type CheckLimits,
  type CheckResult,
  type CheckOutcome,
  type RunCompatibility,
  REPORT_FORMATS,
  type ReportFormat,
  loadReportRun,
  buildReportSummary,
  type RenderReportOptions,
  type ReportRun,
  type ReportSummary,
  type ReportDetectorSummary,
} from './report/index.js';
