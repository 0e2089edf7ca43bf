/** Shift sets, shifted inputs and coordinate projection (protocol §1). */
export { parseShiftSet, shiftLabel, DEFAULT_SHIFT_SPEC, MAX_SHIFTS, MAX_OFFSET_PX } from './shiftSet.js';
export {
  makeShiftedInputs,
  shiftedInputsFromFitted,
  fitGeometry,
  resampleRgb,
  RESAMPLE_KERNELS,
  DEFAULT_RESAMPLE_KERNEL,
  SHIFT_MODES,
  type ResampleKernel,
  type ShiftedInputOptions,
  type ShiftedInputs,
  type FitGeometry,
} from './inputs.js';
export { projectBack, boxToInput, boxToOriginal } from './project.js';
export {
  stableArea,
  toContentBox,
  boxInside,
  centreInside,
  groundTruthInStableArea,
  detectionsInStableArea,
  STABLE_AREA_EPS_PX,
  type StableArea,
} from './stableArea.js';
export { translateRgb } from './translate.js';
