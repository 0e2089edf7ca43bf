/** Datasets: COCO / YOLO / folder loaders and the synthetic generator. */
export {
  generateSynthDataset,
  ensureSynthDataset,
  synthCategories,
  SYNTH_DEFAULTS,
  SYNTH_SPLITS,
  SYNTH_GENERATOR_VERSION,
  SYNTH_CLASSES,
  SYNTH_MAX_OCCLUSION,
} from './synth.js';
export type { SynthOptions, SynthResult, SynthSplitResult, SynthSplitName } from './synth.js';
export type { SynthClass, SynthShape, SynthTexture } from './synthRender.js';
