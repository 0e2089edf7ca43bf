/**
 * ShiftEvaluator: the detectron2-shaped evaluator the runner feeds with one image at
 * one shift at a time (`reset / process / evaluate`); it never runs a model. It keeps
 * detections in compact typed arrays and computes at the end: the greedy mAP bounds
 * (protocol §4) with their bootstrap intervals, size curve and other objectives, the
 * consistency metrics and video-stability errors (§5), periodicity along line sets (§8)
 * and the breakdowns (§9).
 */
import type {
  BoundsSummary,
  CocoGroundTruth,
  CocoResult,
  ConsistencySummary,
  DetectorAnalysis,
  ObjectiveBounds,
  Shift,
  StabilitySummary,
} from '../core/types.js';
import { ShiftbenchError, invalidParameterError, refuseUnknownFields } from '../core/errors.js';
import { is } from '../core/is.js';
import { breakdownAtAssignment, flickerSummary } from './breakdown.js';
import type { BoundsObjective } from './greedy/case.js';
import { DEFAULT_MAX_PASSES, greedyBoundsParallel, prepareBoundsFromSource } from './greedy/index.js';
import { periodicity } from './periodicity.js';
import {
  MIN_INTERVAL_IMAGES,
  MIN_INTERVAL_RESAMPLES,
  boundsUncertainty,
  defaultBootstrapBounds,
  relRangeIntervalNote,
  type BoundsUncertainty,
} from './uncertainty.js';
import { NO_GROUND_TRUTH_NOTE } from './format.js';
import { computeConsistency, type ConsistencyImage, type ConsistencyResult } from './consistency.js';
import { computeStability } from './stability.js';
import { DetectionStore } from './detectionStore.js';
import type { DetectionColumns } from './cocoeval.js';
import { countOf } from '../core/units.js';

export interface ShiftEvaluatorOptions {
  shifts: Shift[];
  /** Ground truth in original-image coordinates; null for label-free datasets (no bounds, no flipRate). */
  groundTruth: CocoGroundTruth | null;
  /**
   * One ground truth per shift (a case file's own; shiftbench's modes score one ground truth); overrides groundTruth
   * for metrics.
   */
  groundTruthPerShift?: CocoGroundTruth[];
  /** τ for the consistency metrics (default 0.5). */
  scoreThreshold?: number;
  /** Bootstrap resamples (default 1000). */
  bootstrapResamples?: number;
  /** Bootstrap seed (default 0). */
  seed?: number;
  /** Greedy passes per search (default 5). */
  maxPasses?: number;
  /** Bootstrap resamples of the bounds (--bootstrap-bounds; default: defaultBootstrapBounds; 0: off). */
  bootstrapBounds?: number;
  /** Seed of the bounds bootstrap and size curve (--bootstrap-seed, default 0). */
  bootstrapSeed?: number;
  /** Objectives of the bounds (--objective, default ['ap']); 'ap' is always the headline. */
  objectives?: BoundsObjective[];
  /**
   * Worker threads of the bounds bootstrap (default one per core, 2–8; 0: this thread). The numbers do not depend on
   * it.
   */
  workers?: number;
  /** Detections expected in all (sizes the columns once instead of growing them); default: grown as needed. */
  detectionCapacity?: number;
  /** Whether the bounds bootstrap also computes the size curve (default true; a pairing needs only the resamples). */
  sizeCurve?: boolean;
}

/** Every field of ShiftEvaluatorOptions (the compiler checks the list is complete and has no other). */
const EVALUATOR_OPTION_FIELDS: Record<keyof ShiftEvaluatorOptions, true> = {
  shifts: true,
  groundTruth: true,
  groundTruthPerShift: true,
  scoreThreshold: true,
  bootstrapResamples: true,
  seed: true,
  maxPasses: true,
  bootstrapBounds: true,
  bootstrapSeed: true,
  objectives: true,
  workers: true,
  detectionCapacity: true,
  sizeCurve: true,
};

export interface ProcessInput {
  imageId: number;
  shiftIndex: number;
  /** Model-input pixels per original pixel. */
  inputScale: { x: number; y: number };
}

export interface ShiftEvaluation {
  /** Null for label-free data and where there is no ground truth (no mAP; see notes). */
  bounds: BoundsSummary | null;
  consistency: ConsistencySummary;
  /**
   * Protocol §5 video-stability errors, with the consistency metrics' τ, resamples and seed; null without ground truth.
   */
  stability: StabilitySummary | null;
  /** Issue 11's numbers: intervals, size curve, objectives, breakdowns, flicker, periodicity (paired: empty here). */
  analysis: DetectorAnalysis;
  /** Per-resample bounds, for paired differences across detectors (pairedDifference); null when off. */
  uncertainty: BoundsUncertainty | null;
  /** One-line notes for the reader (e.g. no ground truth: consistency metrics only). */
  notes: string[];
}

interface ImageRecord {
  inputScale: { x: number; y: number };
  /** Per shift: [start, end) into the store, or undefined if not processed. */
  ranges: ([number, number] | undefined)[];
}

/**
 * Collects per-image, per-shift detections and evaluates them (detectron2 evaluator shape).
 * Images that were not processed at every shift are left out of the bounds (their
 * ground truth too); consistency uses every shift an image has.
 */
export class ShiftEvaluator {
  private readonly opts: ShiftEvaluatorOptions;
  private store: DetectionStore;
  private images = new Map<number, ImageRecord>();

  constructor(opts: ShiftEvaluatorOptions) {
    if (!is.object(opts as unknown))
      throw invalidParameterError(
        'ShiftEvaluator',
        'an object of evaluator options { shifts, groundTruth, … }',
        opts,
        'ERR_METRICS_INPUT',
      );
    refuseUnknownFields(opts, EVALUATOR_OPTION_FIELDS, 'evaluator options', 'ShiftEvaluator');
    if (!Array.isArray(opts.shifts) || opts.shifts.length === 0) {
      throw new ShiftbenchError(
        'ERR_METRICS_INPUT',
        'Expected a non-empty list of shifts for ShiftEvaluator but received none',
      );
    }
    if (opts.groundTruthPerShift && opts.groundTruthPerShift.length !== opts.shifts.length) {
      throw new ShiftbenchError(
        'ERR_METRICS_INPUT',
        `Expected one ground truth per shift (${opts.shifts.length}) for groundTruthPerShift but received ` +
          `${opts.groundTruthPerShift.length}`,
      );
    }
    if (opts.maxPasses !== undefined && (!Number.isInteger(opts.maxPasses) || opts.maxPasses < 1)) {
      throw new ShiftbenchError(
        'ERR_METRICS_INPUT',
        `Expected an integer ≥ 1 for maxPasses but received ${opts.maxPasses}`,
      );
    }
    this.opts = opts;
    this.store = new DetectionStore(opts.detectionCapacity);
  }

  /** Forgets everything processed so far. */
  reset(): void {
    this.store = new DetectionStore(this.opts.detectionCapacity);
    this.images = new Map();
  }

  /**
   * Records the detections of one image at one shift, in ORIGINAL image coordinates.
   * Throws ERR_METRICS_INPUT for an unknown shift index, non-finite numbers, a negative box width or height, a
   * category id that is not a 32-bit integer, or an (image, shift) pair given twice.
   */
  process(input: ProcessInput, outputs: readonly CocoResult[]): void {
    const { imageId, shiftIndex, inputScale } = input;
    if (!Number.isInteger(shiftIndex) || shiftIndex < 0 || shiftIndex >= this.opts.shifts.length) {
      throw new ShiftbenchError(
        'ERR_METRICS_INPUT',
        `Expected a shift index in [0, ${this.opts.shifts.length - 1}] but received ${shiftIndex}`,
      );
    }
    if (!(Number.isFinite(inputScale?.x) && Number.isFinite(inputScale?.y) && inputScale.x > 0 && inputScale.y > 0)) {
      throw new ShiftbenchError(
        'ERR_METRICS_INPUT',
        `Expected positive finite inputScale {x, y} for image ${imageId} but received ${JSON.stringify(inputScale)}`,
      );
    }
    for (let k = 0; k < outputs.length; k++) {
      const d = outputs[k];
      if (
        !Number.isFinite(d.score) ||
        !Array.isArray(d.bbox) ||
        d.bbox.length !== 4 ||
        !d.bbox.every(Number.isFinite)
      ) {
        throw new ShiftbenchError(
          'ERR_METRICS_INPUT',
          `Expected finite bbox and score for detection ${k} of image ${imageId} at shift ${shiftIndex}`,
        );
      }
      if (d.bbox[2] < 0 || d.bbox[3] < 0) {
        throw new ShiftbenchError(
          'ERR_METRICS_INPUT',
          `Expected a width and height ≥ 0 for the bbox of detection ${k} of image ${imageId} at shift ${shiftIndex} ` +
            `but received [${d.bbox.join(', ')}]`,
        );
      }
      // the store keeps categories in an Int32Array: any other id would be truncated or wrapped into another class
      if (!is.int32(d.category_id)) {
        throw new ShiftbenchError(
          'ERR_METRICS_INPUT',
          `Expected an integer category_id in [-2147483648, 2147483647] for detection ${k} of image ${imageId} at ` +
            `shift ${shiftIndex} but received ${d.category_id}`,
        );
      }
    }
    let rec = this.images.get(imageId);
    if (!rec) {
      rec = { inputScale: { ...inputScale }, ranges: new Array(this.opts.shifts.length).fill(undefined) };
      this.images.set(imageId, rec);
    }
    if (rec.ranges[shiftIndex]) {
      throw new ShiftbenchError(
        'ERR_METRICS_INPUT',
        `Image ${imageId} at shift ${shiftIndex} was already processed; each (image, shift) must be given once`,
      );
    }
    const start = this.store.append(outputs);
    rec.ranges[shiftIndex] = [start, start + outputs.length];
  }

  /**
   * Greedy bounds (null without ground truth), consistency metrics and stability errors of
   * everything processed. `opts.signal` stops it between steps, and terminates the worker
   * threads of the bound searches at once: it then rejects with an AbortError. Throws
   * ERR_WORKER when a worker thread fails (the others terminated).
   */
  async evaluate(opts: { signal?: AbortSignal } = {}): Promise<ShiftEvaluation> {
    const signal = opts.signal;
    signal?.throwIfAborted();
    const S = this.opts.shifts.length;
    const ids = [...this.images.keys()].sort((a, b) => a - b);
    const store = this.store;
    const images = this.images;
    // one image's objects at a time
    function* consImages(): Generator<ConsistencyImage> {
      for (const id of ids) {
        const rec = images.get(id)!;
        yield {
          imageId: id,
          inputScale: rec.inputScale,
          dets: rec.ranges.map((r) => (r ? store.toResults(id, r[0], r[1]) : undefined)),
        };
      }
    }
    const consistency: ConsistencyResult = computeConsistency(consImages(), S, {
      scoreThreshold: this.opts.scoreThreshold,
      bootstrapResamples: this.opts.bootstrapResamples,
      seed: this.opts.seed,
      groundTruth: this.opts.groundTruth,
      groundTruthPerShift: this.opts.groundTruthPerShift,
    });
    const stability = computeStability(consImages(), S, {
      scoreThreshold: this.opts.scoreThreshold,
      bootstrapResamples: this.opts.bootstrapResamples,
      seed: this.opts.seed,
      groundTruth: this.opts.groundTruth,
      groundTruthPerShift: this.opts.groundTruthPerShift,
    });
    const notes: string[] = [];
    const analysis: DetectorAnalysis = {
      boundsInterval: null,
      sizeCurve: null,
      boundsByObjective: {},
      breakdown: null,
      flicker: flickerSummary(consImages(), consistency.scoreThreshold),
      periodicity: [],
      paired: [],
      notes,
    };
    let bounds: BoundsSummary | null = null;
    let uncertainty: BoundsUncertainty | null = null;
    const gts = this.opts.groundTruthPerShift ?? (this.opts.groundTruth ? [this.opts.groundTruth] : null);
    if (gts) {
      const complete = ids.filter((id) => images.get(id)!.ranges.every((r) => r !== undefined));
      const completeSet = new Set(complete);
      const restrict = (gt: CocoGroundTruth): CocoGroundTruth => ({
        images: gt.images.filter((im) => completeSet.has(im.id)),
        annotations: gt.annotations.filter((a) => completeSet.has(a.image_id)),
        categories: gt.categories,
      });
      const gtArg = this.opts.groundTruthPerShift ? gts.map(restrict) : restrict(gts[0]);
      const detsOf = (id: number, s: number): CocoResult[] => {
        const r = images.get(id)!.ranges[s]!;
        return store.toResults(id, r[0], r[1]);
      };
      // one shift's detections as columns over the store: no objects made
      const detsOfShift = (s: number): DetectionColumns => {
        const ranges = complete.map((id) => images.get(id)!.ranges[s]!);
        return store.columns(
          complete,
          ranges.map((r) => r[0]),
          ranges.map((r) => r[1]),
        );
      };
      const prepared = prepareBoundsFromSource(gtArg, this.opts.shifts, detsOfShift);
      const maxPasses = this.opts.maxPasses ?? DEFAULT_MAX_PASSES;
      signal?.throwIfAborted();
      bounds = await greedyBoundsParallel(prepared, maxPasses, { workers: 'auto', signal });
      if (bounds === null) notes.push(NO_GROUND_TRUTH_NOTE);
      else {
        const full = bounds;
        // a "—" in every rel. range column: the notes under each table say why
        if (full.relRange === null)
          notes.push('no rel. range: mAP at (0,0) is 0, and a range relative to 0 is undefined');
        const ref = new Array<number>(prepared.numImages).fill(0);
        analysis.breakdown = {
          ref: breakdownAtAssignment(gtArg, prepared.imageIds, ref, detsOf),
          lower: breakdownAtAssignment(gtArg, prepared.imageIds, full.assignLower, detsOf),
          upper: breakdownAtAssignment(gtArg, prepared.imageIds, full.assignUpper, detsOf),
        };
        let B = this.opts.bootstrapBounds;
        if (B === undefined) {
          const d = defaultBootstrapBounds(prepared.numImages, prepared.numShifts);
          B = d.resamples;
          if (d.note) notes.push(d.note);
        }
        if (B > 0 && prepared.numImages < MIN_INTERVAL_IMAGES) {
          notes.push(
            `bounds intervals off: ${countOf(prepared.numImages, 'image')} — fewer than ${MIN_INTERVAL_IMAGES} give no bounds ` +
              'interval and no paired verdict (nor the consistency metrics: their means are given without intervals)',
          );
          B = 0;
        }
        // each other objective's own search, with its interval from resamples drawn as the headline's (B, seed)
        for (const objective of new Set(this.opts.objectives ?? [])) {
          if (objective === 'ap') continue;
          const b = await greedyBoundsParallel(prepared, maxPasses, { workers: 'auto', objective, signal });
          if (!b) continue;
          const own =
            B > 0
              ? await boundsUncertainty(prepared, b.mapRange, {
                  resamples: B,
                  seed: this.opts.bootstrapSeed ?? 0,
                  maxPasses,
                  workers: this.opts.workers,
                  signal,
                  sizeCurve: false,
                  objective,
                })
              : null;
          analysis.boundsByObjective[objective] = {
            ...objectiveBounds(b),
            interval: own?.interval ?? null,
            breakdown: {
              lower: breakdownAtAssignment(gtArg, prepared.imageIds, b.assignLower, detsOf),
              upper: breakdownAtAssignment(gtArg, prepared.imageIds, b.assignUpper, detsOf),
            },
          };
        }
        if (B > 0) {
          uncertainty = await boundsUncertainty(prepared, full.mapRange, {
            resamples: B,
            seed: this.opts.bootstrapSeed ?? 0,
            maxPasses,
            workers: this.opts.workers,
            signal,
            sizeCurve: this.opts.sizeCurve ?? true,
          });
          analysis.boundsInterval = uncertainty.interval;
          analysis.sizeCurve = uncertainty.sizeCurve;
          const relNote = uncertainty.interval === null ? null : relRangeIntervalNote(uncertainty.perResample);
          if (relNote !== null) notes.push(relNote);
          if (uncertainty.interval === null) {
            const valid = uncertainty.perResample.filter((r) => r !== null).length;
            notes.push(
              `bounds intervals off: only ${valid} of ${B} resamples hold ground truth at (0,0) — fewer than ` +
                `${MIN_INTERVAL_RESAMPLES} give no 95 % interval and no paired verdict (few images are labelled; ` +
                'a larger --bootstrap-bounds gives more)',
            );
          }
        }
      }
    } else notes.push(NO_GROUND_TRUTH_NOTE);
    notes.push(...fewLabelledImagesNotes(consistency, stability));
    analysis.periodicity = periodicity(this.opts.shifts, {
      map: bounds ? bounds.perShift : null,
      meanScore: this.meanScorePerShift(),
      detConsistency: consistency.perShiftDetConsistency,
    });
    return { bounds, consistency, stability, notes, analysis, uncertainty };
  }

  /**
   * Mean score of all processed detections at each shift (null where there are none). Each image's scores are summed
   * in ascending order, so the same detections listed in another order give the same bits: a difference in the last
   * bit would be a variance for §8 to explain, and a period found in rounding.
   */
  private meanScorePerShift(): (number | null)[] {
    const S = this.opts.shifts.length;
    const sum = new Float64Array(S);
    const count = new Float64Array(S);
    for (const rec of this.images.values()) {
      rec.ranges.forEach((r, s) => {
        if (!r) return;
        for (const v of this.store.scores.slice(r[0], r[1]).sort()) sum[s] += v;
        count[s] += r[1] - r[0];
      });
    }
    return Array.from(sum, (v, s) => (count[s] > 0 ? v / count[s] : null));
  }
}

/** The protocol §4 numbers of a bounds result without its assignments and per-shift values. */
function objectiveBounds(b: BoundsSummary): ObjectiveBounds {
  return {
    mapRef: b.mapRef,
    mapLower: b.mapLower,
    mapUpper: b.mapUpper,
    mapRange: b.mapRange,
    relRange: b.relRange,
    passes: b.passes,
  };
}

/**
 * Why the metrics over ground-truth objects (flip rate, video-stability errors) or over matched detections (box and
 * score jitter) have no interval in a run whose other metrics have one: fewer than MIN_INTERVAL_IMAGES images hold
 * what they are computed over (sparse labels, images with crowd regions only, few detections). Nothing when the run
 * itself has fewer images: the "bounds intervals off" note says it then.
 */
function fewLabelledImagesNotes(consistency: ConsistencyResult, stability: StabilitySummary | null): string[] {
  if (consistency.imagesUsed.detConsistency < MIN_INTERVAL_IMAGES) return [];
  const images = (n: number) => (n === 1 ? '1 image holds' : `${n} images hold`);
  const few = (n: number) => n > 0 && n < MIN_INTERVAL_IMAGES;
  const notes: string[] = [];
  const flip = consistency.imagesUsed.flipRate;
  if (few(flip) && Number.isFinite(consistency.flipRate?.mean))
    notes.push(
      `flip rate without interval: only ${images(flip)} a ground-truth object — fewer than ${MIN_INTERVAL_IMAGES} ` +
        'give no 95 % interval',
    );
  const jitter = consistency.imagesUsed.boxJitter;
  if (few(jitter) && Number.isFinite(consistency.boxJitterIou?.mean))
    notes.push(
      `box and score jitter without intervals: only ${jitter === 1 ? '1 image has' : `${jitter} images have`} ` +
        `detections matched across shifts — fewer than ${MIN_INTERVAL_IMAGES} give no 95 % interval`,
    );
  const errors = stability
    ? ([
        ['CPE', stability.centerError],
        ['SRE', stability.scaleRatioError],
        ['fragment', stability.fragmentError],
      ] as const)
    : [];
  const byCount = new Map<number, string[]>();
  for (const [name, e] of errors) {
    if (e && few(e.images) && !(Number.isFinite(e.lo) && Number.isFinite(e.hi))) {
      byCount.set(e.images, [...(byCount.get(e.images) ?? []), name]);
    }
  }
  for (const [n, names] of byCount)
    notes.push(
      `video-stability errors (${names.join(', ')}) without intervals: only ${images(n)} an object they are ` +
        `computed over — fewer than ${MIN_INTERVAL_IMAGES} give no 95 % interval`,
    );
  return notes;
}
