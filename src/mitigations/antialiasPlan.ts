/**
 * Format-independent rules of the post-hoc anti-aliasing rewrite (antialias:post).
 *
 * A stride-2 op (conv or pool) becomes its stride-1 version followed by a depthwise
 * blur of size b (3 or 5) applied with stride 2. Two things must not change:
 *
 * 1. The output size. Kept by construction: the stride-1 op keeps the original padding,
 *    and the blur pads so its stride-2 output count equals the original's.
 * 2. The sampling phase: which stride-1 positions the original op kept. If it moved by
 *    one pixel at each of the five downsamplings of a detector, the feature grid would
 *    drift by up to 1+2+4+8+16 = 31 input pixels and the decoder's cell centres would
 *    be wrong. So the blur is centred exactly on the positions the original sampled:
 *    - explicit or VALID padding (and SAME with an even kernel or k = 1): the original
 *      kept stride-1 positions 0, 2, 4, … ("start"-aligned) → the blur zero-pads
 *      ⌊b/2⌋ on every side (one more at the end of an axis on which a ceil_mode pool adds an
 *      output: explicit or VALID padding whose end pad is below the effective kernel − 1);
 *    - TF "SAME" / ONNX SAME_UPPER with an odd kernel ≥ 3 kept positions aligned to the
 *      end of the map (1, 3, 5, … for an even size, 0, 2, 4, … for an odd one: the
 *      last position is always H−1) ("end"-aligned) → the blur itself uses SAME /
 *      SAME_UPPER padding, which for an odd b ≥ 3 samples exactly those positions for
 *      every H, so no size needs to be known;
 *    - ONNX SAME_LOWER mirrors this: odd kernels are start-aligned, even ones end-aligned.
 *
 * Padding is zeros, as in the convolutions the blur follows, so no spatial size has to
 * be known in advance. Consequence: on a constant input the rewritten network equals
 * the original away from the borders; within ⌊b/2⌋ stride-1 pixels of a border at
 * each level the blur mixes in the zero padding (the original's own convolutions do
 * the same with their zero padding).
 *
 * As in Zhang (2019, "ConvBlurPool"), the blur goes after the activation: it is placed
 * after the chain of per-pixel ops (bias, batch norm, ReLU…) that follows the op, as
 * long as each tensor of the chain has exactly one consumer and is not a graph output.
 */

export type PadScheme = 'explicit' | 'valid' | 'same-upper' | 'same-lower';
export type Alignment = 'start' | 'end';

/**
 * Which stride-1 positions a stride-2 op with this padding and effective kernel size keeps (see the module comment).
 */
export function samplingAlignment(scheme: PadScheme, kernelPx: number): Alignment {
  if (scheme === 'same-upper') return kernelPx % 2 === 1 && kernelPx >= 3 ? 'end' : 'start';
  if (scheme === 'same-lower') return kernelPx % 2 === 0 ? 'end' : 'start';
  return 'start';
}

/** What the rewrite did, for the manifest (info.details.antialias) and tests. */
export interface AntialiasRewriteStats {
  format: 'onnx' | 'tfjs-graph';
  filterSize: number;
  /** Ops with a spatial stride > 1 found in the graph (rewritten + skipped). */
  stridedOps: number;
  rewritten: { node: string; op: string; channels: number; blurAfter: string; alignment: Alignment }[];
  skipped: { node: string; op: string; reason: string }[];
}
