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
export { loadDataset } from './load.js';
export type { DatasetSpec } from './load.js';
export { decodeImage, decodeDatasetImage, readImageSize } from './decode.js';
export { parseCocoFile } from './coco.js';
export { parseYamlNames, yoloCategories } from './yolo.js';
export { IMAGE_EXTENSIONS, ACCEPTED_DATASETS, MissingDatasetPathError } from './files.js';
export { findUnusableImages, summarizeDataset, type UnusableImage } from './summary.js';
export type { DatasetSummary } from './summary.js';
