/** Metrics: pycocotools-exact COCO AP, greedy mAP bounds over shifts, consistency. Pure: no model runtime, no files. */
export {
  evaluateCoco,
  validateDetections,
  validateGroundTruth,
  IOU_THRESHOLDS,
  RECALL_THRESHOLDS,
  AREA_RANGES,
  MAX_DETS,
  type CocoEvalResult,
  type EvaluateCocoOptions,
} from './cocoeval.js';
export { greedyBounds, mapForAssignment, TIE_TOLERANCE, type BoundsCase, type GreedyOptions } from './greedy.js';
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
export { ShiftEvaluator, type ShiftEvaluatorOptions, type ProcessInput, type ShiftEvaluation } from './evaluator.js';
