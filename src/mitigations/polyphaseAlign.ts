/**
 * polyphase-align[:P] — moves the input so that a phase chosen from the image content
 * lands on the network's stride-P grid (adaptive polyphase sampling, done once at the
 * input instead of inside the network).
 *
 * Phase choice: luma = R+G+B, low-passed by the 3×3 binomial [1,2,1]⊗[1,2,1] (circular
 * boundary in circular mode, replicated edges otherwise); for each phase (px, py) in
 * [0,P)², the energy is the sum of squares of that low-passed luma at (px + kP, py + lP).
 * The phase with the largest energy wins; ties go to the first in row-major order (py,
 * then px). All of this is integer arithmetic (exact below 2^53), so a circular shift of
 * the image permutes the energies exactly. The input is then moved by −(px, py)
 * (circular roll in circular mode, else a move on a canvas of the pad value, which
 * loses at most P−1 columns/rows at the left/top edge), detected, and the boxes moved
 * back by +(px, py) (wrapped onto the canvas in circular mode).
 *
 * Exactness: in circular mode, with W and H multiples of P, a detector whose output
 * depends on the input only through its stride-P samples is made exactly invariant to
 * circular shifts (up to ties between equal phase energies, e.g. for symmetric images).
 */
import { ShiftbenchError, invalidParameterError } from '../core/errors.js';
import type { DetectContext, Detection, Detector, RgbImage } from '../core/types.js';
import { markReleasesInputs } from '../core/releasesInputs.js';
import { translateRgb } from '../shifts/translate.js';
import type { Mitigation, MitigationContext, MitigationDefinition } from './types.js';
import { detectInChunks, movedContext, unmoveBox, wrappedInfo } from './wrap.js';

export const POLYPHASE_MAX_STRIDE_PX = 256;

/**
 * Energy of each phase (index py·P + px) of the low-passed luma of `img` for stride P
 * (see the module comment). `circular` picks the boundary of the low-pass.
 */
export function phaseEnergies(img: RgbImage, strideP: number, circular: boolean): Float64Array {
  const { width: w, height: h, data } = img;
  const luma = new Int32Array(w * h);
  for (let i = 0; i < w * h; i++) luma[i] = data[i * 3] + data[i * 3 + 1] + data[i * 3 + 2];
  const idx = (v: number, n: number): number => (circular ? (v + n) % n : v < 0 ? 0 : v >= n ? n - 1 : v);
  const rows = new Int32Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      rows[y * w + x] = luma[y * w + idx(x - 1, w)] + 2 * luma[y * w + x] + luma[y * w + idx(x + 1, w)];
    }
  }
  const energy = new Float64Array(strideP * strideP);
  for (let y = 0; y < h; y++) {
    const up = idx(y - 1, h) * w,
      mid = y * w,
      down = idx(y + 1, h) * w;
    const py = y % strideP;
    for (let x = 0; x < w; x++) {
      const v = rows[up + x] + 2 * rows[mid + x] + rows[down + x];
      energy[py * strideP + (x % strideP)] += v * v;
    }
  }
  return energy;
}

/** The phase (px, py) in [0,P)² with the largest energy; ties → first in row-major order. */
export function choosePhase(img: RgbImage, strideP: number, circular: boolean): { px: number; py: number } {
  const energy = phaseEnergies(img, strideP, circular);
  let best = 0;
  for (let i = 1; i < energy.length; i++) if (energy[i] > energy[best]) best = i;
  return { px: best % strideP, py: Math.floor(best / strideP) };
}

function checkStride(value: unknown, source: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > POLYPHASE_MAX_STRIDE_PX) {
    throw invalidParameterError(source, `an integer stride P from 1 to ${POLYPHASE_MAX_STRIDE_PX}`, value);
  }
  return value;
}

/**
 * The polyphase-align mitigation for stride P (1–256); without P it uses the detector's
 * `info.totalStridePx` when it wraps and throws ERR_INVALID_OPTION if that is unknown.
 */
export function polyphaseAlign(strideP?: number): Mitigation {
  const fixed = strideP === undefined ? undefined : checkStride(strideP, 'mitigation polyphase-align');
  const spec = fixed === undefined ? 'polyphase-align' : `polyphase-align:${fixed}`;
  return {
    name: 'polyphase-align',
    spec,
    wrap(detector: Detector, ctx: MitigationContext): Detector {
      const inner = detector.info;
      let p = fixed;
      if (p === undefined) {
        if (inner.totalStridePx === undefined) {
          throw new ShiftbenchError(
            'ERR_INVALID_OPTION',
            `Detector "${inner.name}" does not declare its total stride, so polyphase-align needs one: ` +
              `use polyphase-align:<P>, e.g. polyphase-align:32`,
          );
        }
        p = checkStride(inner.totalStridePx, `totalStridePx of detector "${inner.name}"`);
      }
      const stride = p;
      const circular = ctx.mode === 'circular';
      if (circular && (inner.inputSizePx.width % stride !== 0 || inner.inputSizePx.height % stride !== 0)) {
        ctx.logger?.warn(
          `polyphase-align:${stride}: input ${inner.inputSizePx.width}×${inner.inputSizePx.height} is not a ` +
            `multiple of ${stride}, so circular shifts do not permute the phases exactly`,
        );
      }
      const info = wrappedInfo(inner, spec, { polyphaseStridePx: stride });
      // releasesInputs: the runner's inputs reach it, some unchanged
      return markReleasesInputs(
        {
          info,
          async detect(batch: RgbImage[], contexts?: DetectContext[]): Promise<Detection[][]> {
            const phases = batch.map((img) => choosePhase(img, stride, circular));
            const moved = batch.map((img, i) =>
              phases[i].px === 0 && phases[i].py === 0
                ? img
                : translateRgb(img, -phases[i].px, -phases[i].py, circular ? 'circular' : 'pad', inner.padValue),
            );
            const ctxs = batch.map((_, i) => movedContext(contexts?.[i], -phases[i].px, -phases[i].py));
            const raw = await detectInChunks(detector, moved, ctxs);
            return raw.map((dets, i) => {
              const wrapSize = circular ? { width: batch[i].width, height: batch[i].height } : undefined;
              return dets.map((d) => ({ ...d, bbox: unmoveBox(d.bbox, -phases[i].px, -phases[i].py, wrapSize) }));
            });
          },
          dispose: () => detector.dispose(),
        },
        detector.releasesInputs === true,
      );
    },
  };
}

export const POLYPHASE_ALIGN: MitigationDefinition = {
  name: 'polyphase-align',
  syntax: 'polyphase-align[:<P>]',
  summary:
    'move the input so the phase with the most low-passed energy sits on the stride-P grid (P defaults to the ' +
    "detector's total stride)",
  create: (arg) => {
    if (arg === '') return polyphaseAlign();
    // whole decimal numbers only (Number() alone would also read "0x10", "0b10" and "1e1")
    const n = /^\d+$/.test(arg) ? Number(arg) : NaN;
    return polyphaseAlign(checkStride(Number.isInteger(n) ? n : arg, 'mitigation polyphase-align'));
  },
};
