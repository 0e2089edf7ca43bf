/** Mitigations (protocol §7): each wraps a Detector and is one. */
export type { Mitigation, MitigationContext, MitigationDefinition, MitigationFactory } from './types.js';
export { MITIGATIONS, parseMitigation, registerMitigation, describeMitigations } from './registry.js';
export { antialiasPost, antialiasTrained, cannotRewrite, twinOf } from './antialias.js';
export { inputBlur, gaussianBlurRgb, gaussianKernel1d, INPUT_BLUR_MAX_SIGMA_PX } from './inputBlur.js';
export { shiftEnsemble, DEFAULT_ENSEMBLE_SHIFTS, type ShiftEnsembleOptions } from './shiftEnsemble.js';
export { weightedBoxFusion, DEFAULT_WBF_IOU_THRESHOLD, type WbfOptions } from './wbf.js';
export { polyphaseAlign, choosePhase, phaseEnergies, POLYPHASE_MAX_STRIDE_PX } from './polyphaseAlign.js';
export { blurFilter2d, binomialRow, BLUR_SIZES, DEFAULT_BLUR_SIZE, type BlurSize } from './blurKernel.js';
export { samplingAlignment, type AntialiasRewriteStats, type Alignment, type PadScheme } from './antialiasPlan.js';
export { rewriteOnnxAntialias, type OnnxAntialiasOptions } from './onnx/rewrite.js';
export { rewriteTfjsAntialias, type TfjsAntialiasOptions } from './tfjs/rewrite.js';
