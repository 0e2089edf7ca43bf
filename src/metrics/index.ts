/**
 * Metrics: pycocotools-exact COCO AP, greedy mAP bounds over shifts, consistency, video-stability errors. Pure: no
 * model runtime, no files.
 */
export {
  evaluateCoco,
  validateDetections,
  validateGroundTruth,
  IOU_THRESHOLDS,
  RECALL_THRESHOLDS,
  AREA_RANGES,
  MAX_DETS,
  type CocoEvalResult,
} from './cocoeval.js';
export {
  greedyBounds,
  greedyBoundsParallel,
  prepareBounds,
  prepareBoundsFromSource,
  validateBoundsCase,
  parseBoundsCase,
  TIE_TOLERANCE,
  DEFAULT_MAX_PASSES,
  type BoundsCase,
  type GreedyOptions,
  type GreedyProgress,
  type ParallelBoundsOptions,
  type PreparedBounds,
} from './greedy/index.js';
export {
  computeConsistency,
  matchDetections,
  bootstrapMean,
  iouXYWH,
  DEFAULT_SCORE_THRESHOLD,
  DEFAULT_BOOTSTRAP_RESAMPLES,
  DEFAULT_BOOTSTRAP_SEED,
  type ConsistencyImage,
  type ConsistencyOptions,
  type ConsistencyResult,
  type DetectionPair,
} from './consistency.js';
export {
  computeStability,
  imageStability,
  matchObjects,
  objectBootstrapMean,
  populationStd,
  type ImageSums,
  type ObjectStability,
  type StabilityOptions,
} from './stability.js';
export { ShiftEvaluator, type ShiftEvaluatorOptions, type ProcessInput, type ShiftEvaluation } from './evaluator.js';
export { formatCocoEval, formatBounds, NO_GROUND_TRUTH_NOTE } from './format.js';
export type { BoundsObjective } from './greedy/case.js';
export {
  boundsUncertainty,
  pairedDifference,
  defaultBootstrapBounds,
  ownBoundsResamples,
  percentile,
  interval95,
  sizeCurveSizes,
  DEFAULT_BOOTSTRAP_BOUNDS,
  BOOTSTRAP_BOUNDS_MAX_CELLS,
  MIN_INTERVAL_IMAGES,
  MIN_INTERVAL_RESAMPLES,
  SIZE_CURVE_SUBSAMPLES,
  type BoundsUncertainty,
  type BoundsUncertaintyOptions,
  type PairSide,
} from './uncertainty.js';
export { periodicity, dominantPeriod, axisLines } from './periodicity.js';
export { breakdownAtAssignment, imageFlicker, flickerSummary, FLICKER_TOP_IMAGES } from './breakdown.js';
