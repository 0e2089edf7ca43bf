/** Shift sets, shifted inputs and coordinate projection (protocol §1). */
export {
  parseShiftSet,
  shiftLabel,
  shiftFileStem,
  isFractionalSet,
  offsetLabel,
  shiftOffsetsLabel,
  DEFAULT_SHIFT_SPEC,
  MAX_SHIFTS,
  MAX_OFFSET_PX,
  MAX_FRAC_STEPS,
} from './shiftSet.js';
export {
  makeShiftedInputs,
  shiftedInputsFromFitted,
  shiftedInputsFromFloat,
  shiftedInputsFromMade,
  resampleRgbFloat,
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
export { InputBufferPool, inputBufferCapacity, INPUT_BUFFERS_MAX_BYTES } from './inputBuffers.js';
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
export {
  SUBPIXEL_KERNELS,
  DEFAULT_SUBPIXEL_KERNEL,
  translateFloat,
  shiftTaps,
  kernelValue,
  roundHalfEvenByte,
  toBytes,
  type SubpixelKernel,
} from './subpixel.js';
export { Fft, FourierShifter } from './fourier.js';
