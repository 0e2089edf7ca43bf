/**
 * shift-ensemble:<shift set> — runs the detector on several shifted copies of its input
 * (the shift-set syntax of protocol §1: grid:K, line:K or an explicit list "0,0;1,1"),
 * moves each copy's detections back by −(dx, dy) and fuses them with weighted box
 * fusion. Copies are made like the runner makes shifted inputs: a circular roll in
 * circular mode, otherwise a move on a canvas of the detector's pad value. All copies
 * of a batch go to the detector together, in chunks of at most `info.maxBatch`.
 */
import { ShiftbenchError } from '../core/errors.js';
import type { DetectContext, Detection, Detector, RgbImage, Shift } from '../core/types.js';
import { markReleasesInputs } from '../core/releasesInputs.js';
import { parseShiftSet } from '../shifts/shiftSet.js';
import { translateRgb } from '../shifts/translate.js';
import type { Mitigation, MitigationContext, MitigationDefinition } from './types.js';
import { DEFAULT_WBF_IOU_THRESHOLD, weightedBoxFusion } from './wbf.js';
import { detectInChunks, movedContext, unmoveBox, wrappedInfo } from './wrap.js';

export const DEFAULT_ENSEMBLE_SHIFTS = 'grid:1';

export interface ShiftEnsembleOptions {
  /** IoU needed to fuse two boxes, default 0.55. */
  iouThreshold?: number;
}

/**
 * Parses the shift set of a shift-ensemble spec; errors name the mitigation. Offsets must be whole pixels (the copies
 * are integer moves of the input): a fractional set (frac:N, 0,0;0.5,0) is refused.
 */
function parseEnsembleShifts(arg: string): { spec: string; shifts: Shift[] } {
  const refuse = (why: string | undefined, cause?: unknown) =>
    new ShiftbenchError(
      'ERR_INVALID_OPTION',
      `Expected a shift set like grid:1, line:2 or 0,0;1,1 for mitigation shift-ensemble but received ` +
        `${JSON.stringify(arg)}${why ? ` (${why})` : ''}`,
      { cause },
    );
  let set: ReturnType<typeof parseShiftSet>;
  try {
    set = parseShiftSet(arg === '' ? DEFAULT_ENSEMBLE_SHIFTS : arg);
  } catch (err) {
    throw refuse(err instanceof Error ? /\(([^()]*)\)$/.exec(err.message)?.[1] : undefined, err);
  }
  const frac = set.shifts.find((s) => !Number.isInteger(s.dx) || !Number.isInteger(s.dy));
  if (frac)
    throw refuse(
      `offsets must be whole pixels: the ensemble moves its input by integer shifts; ${frac.dx},${frac.dy} is fractional`,
    );
  return { spec: set.spec, shifts: set.shifts };
}

/**
 * The shift-ensemble mitigation over `shiftSpec` (default "grid:1"). Throws
 * ERR_INVALID_OPTION for a bad or fractional shift set or an IoU threshold outside (0, 1].
 */
export function shiftEnsemble(
  shiftSpec: string = DEFAULT_ENSEMBLE_SHIFTS,
  options: ShiftEnsembleOptions = {},
): Mitigation {
  const { spec: setSpec, shifts } = parseEnsembleShifts(shiftSpec);
  const iouThreshold = options.iouThreshold ?? DEFAULT_WBF_IOU_THRESHOLD;
  if (!(iouThreshold > 0 && iouThreshold <= 1)) {
    throw new ShiftbenchError(
      'ERR_INVALID_OPTION',
      `Expected an IoU threshold in (0, 1] for mitigation shift-ensemble but received ${iouThreshold}`,
    );
  }
  const spec = `shift-ensemble:${setSpec}`;
  return {
    name: 'shift-ensemble',
    spec,
    wrap(detector: Detector, ctx: MitigationContext): Detector {
      const circular = ctx.mode === 'circular';
      const inner = detector.info;
      const info = wrappedInfo(inner, spec, { ensembleShifts: shifts, wbfIouThreshold: iouThreshold });
      // releasesInputs: the runner's inputs reach it, some unchanged
      return markReleasesInputs(
        {
          info,
          async detect(batch: RgbImage[], contexts?: DetectContext[]): Promise<Detection[][]> {
            const inputs: RgbImage[] = [];
            const ctxs: (DetectContext | undefined)[] = [];
            for (let b = 0; b < batch.length; b++) {
              for (const s of shifts) {
                inputs.push(
                  s.dx === 0 && s.dy === 0
                    ? batch[b]
                    : translateRgb(batch[b], s.dx, s.dy, circular ? 'circular' : 'pad', inner.padValue),
                );
                ctxs.push(movedContext(contexts?.[b], s.dx, s.dy));
              }
            }
            const raw = await detectInChunks(detector, inputs, ctxs);
            const out: Detection[][] = [];
            for (let b = 0; b < batch.length; b++) {
              const wrapSize = circular ? { width: batch[b].width, height: batch[b].height } : undefined;
              const runs = shifts.map((s, k) =>
                raw[b * shifts.length + k].map((d) => ({ ...d, bbox: unmoveBox(d.bbox, s.dx, s.dy, wrapSize) })),
              );
              out.push(weightedBoxFusion(runs, { iouThreshold }));
            }
            return out;
          },
          dispose: () => detector.dispose(),
        },
        detector.releasesInputs === true,
      );
    },
  };
}

export const SHIFT_ENSEMBLE: MitigationDefinition = {
  name: 'shift-ensemble',
  syntax: 'shift-ensemble[:<shift set>]',
  summary: 'detect on shifted copies (default grid:1, or e.g. 0,0;1,1) and fuse them with weighted box fusion',
  create: (arg) => shiftEnsemble(arg === '' ? DEFAULT_ENSEMBLE_SHIFTS : arg),
};
