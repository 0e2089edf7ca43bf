/**
 * What the runner needs from the other modules, as one small interface. `env.ts`
 * wires the real datasets/detectors/mitigations/metrics modules; tests may replace a
 * part of it (e.g. a counting detector loader) through `RunHooks.env`.
 */
import type {
  CocoGroundTruth,
  CocoResult,
  Dataset,
  DatasetImage,
  Detector,
  LoadDetectorOptions,
  Logger,
  ModelEntry,
  RgbImage,
  RunMetrics,
  ShiftSet,
} from '../core/types.js';
import type { BoundsObjective, ShiftEvaluation } from '../metrics/index.js';
import type { Mitigation } from '../mitigations/types.js';
import type { LeaseTiming } from '../core/lock.js';
import type { ManifestShard } from './shard.js';

export interface RunnerLoadOptions extends LoadDetectorOptions {
  plugins?: string[];
  registryFiles?: string[];
  detectTimeoutMs?: number;
}

export interface EvaluatorArgs {
  /** Ground truth of the evaluated images (skipped images removed); null for label-free datasets. */
  groundTruth: CocoGroundTruth | null;
  shiftSet: ShiftSet;
  /**
   * One ground truth per shift, in original coordinates (shiftbench's own modes pass one ground truth: protocol §1).
   */
  groundTruthPerShift?: CocoGroundTruth[];
  scoreThreshold: number;
  bootstrapResamples: number;
  /** Seed of the bootstrap intervals (`--bootstrap-seed`; not the seed of the detectors). */
  bootstrapSeed: number;
  /** Bootstrap resamples of the mAP bounds (`--bootstrap-bounds`); undefined: the metrics module's default. */
  bootstrapBounds?: number;
  /** Objectives of the bounds (`--objective`); undefined: AP only. */
  objectives?: BoundsObjective[];
  /** At most this many detections will be processed (sizes the evaluator's columns once); undefined: unknown. */
  detectionCapacity?: number;
  /** false: the bounds bootstrap computes no size curve (a pairing uses only the resamples); default true. */
  sizeCurve?: boolean;
}

/** The evaluator contract (detectron2 style): fed per (image, shift), then evaluated once. */
export interface RunEvaluator {
  process(
    input: { imageId: number; shiftIndex: number; inputScale: { x: number; y: number } },
    results: CocoResult[],
  ): void;
  /** May run asynchronously (e.g. in worker threads); the runner awaits it. `signal` stops it (an AbortError). */
  evaluate(opts?: { signal?: AbortSignal }): ShiftEvaluation | Promise<ShiftEvaluation>;
}

export interface RunnerEnv {
  /** Loads the dataset; `logger` (optional) hears the loader's warnings (e.g. annotation files it did not read). */
  loadDataset(
    opts: { dataset: string; images?: string; classes?: string; limit?: number },
    logger?: Logger,
  ): Promise<Dataset>;
  /** Decodes a dataset image to RGB; throws (ERR_DATASET) when it cannot or its size differs from the dataset's. */
  decodeImage(image: DatasetImage): Promise<RgbImage>;
  loadDetector(spec: string, opts: RunnerLoadOptions): Promise<Detector>;
  /** Registry entries known with these options (to find an anti-aliased twin); [] if unknown. */
  listModels(opts: { registryFiles?: string[] }): Promise<ModelEntry[]>;
  parseMitigation(spec: string): Mitigation;
  /** Imports plug-ins and registers their mitigations (before mitigations are parsed). */
  registerPluginMitigations(plugins: string[], logger?: Logger): Promise<void>;
  createEvaluator(args: EvaluatorArgs): RunEvaluator;
  /**
   * What determines the detections of `spec`, as values and content hashes, without
   * loading weights (run identity). When RunHooks.env replaces loadDetector but not this,
   * a spec is described by its name alone.
   */
  describeDetector(spec: string, opts: RunnerLoadOptions): Promise<Record<string, unknown>>;
  /** What determines a mitigation's effect beyond its spec (a plug-in mitigation's code); {} for built-ins. */
  describeMitigation(m: Mitigation): Promise<Record<string, unknown>>;
  /** Hash of the built code that makes detections (identity.ts computeBuildId). */
  buildId(): Promise<string>;
}

export interface RunProgress {
  /** Images done for this detector (stored earlier + computed now). */
  done: number;
  total: number;
  /** Images per second computed in this session (wall clock), 0 before the first. */
  imagesPerSecond: number;
  /** Seconds left for this detector, null until a rate is known. */
  etaSeconds: number | null;
  /** Key of the detector being run. */
  detector: string;
  /** 0-based index of the detector among `detectorCount`. */
  detectorIndex: number;
  detectorCount: number;
}

export interface RunHooks {
  logger?: Logger;
  onProgress?: (p: RunProgress) => void;
  /** Stops the run between batches; what is computed stays stored (rerun to resume). */
  signal?: AbortSignal;
  /** Replaces parts of the module wiring (tests, embedding). */
  env?: Partial<RunnerEnv>;
  /** Timing of the run-directory lease (default: heartbeat every 5 s, stale after 30 s). */
  lease?: LeaseTiming;
}

export interface RunResult {
  runDir: string;
  metrics: RunMetrics;
  /** Wall-clock seconds spent on each detector in this session (by key); not part of metrics.json. */
  wallSeconds: Record<string, number>;
  /**
   * Where each detector's wall time went in this session (by key): loading the model
   * (with its warm-up), the detect loop (decode, inputs, detect, store), evaluation.
   */
  phases: Record<string, { loadSeconds: number; loopSeconds: number; evaluateSeconds: number }>;
  /** Images computed in this session, per detector key (0 when everything was stored). */
  computedImages: Record<string, number>;
  /** The rendered report.html, or null when rendering failed (the metrics are kept either way). */
  reportPath: string | null;
}

/** What runShard returns: the shard's run directory and split; it has no metrics (merge the shards for them). */
export interface ShardResult {
  runDir: string;
  shard: ManifestShard;
  /** Images of this shard. */
  images: number;
  wallSeconds: Record<string, number>;
  phases: Record<string, { loadSeconds: number; loopSeconds: number; evaluateSeconds: number }>;
  computedImages: Record<string, number>;
}
