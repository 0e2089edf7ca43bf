/**
 * What a plug-in author imports: the detector types and `definePlugin`.
 */
export type {
  Detector,
  DetectorInfo,
  Detection,
  DetectContext,
  DetectorFamily,
  RgbImage,
  CocoCategory,
  LoadDetectorOptions,
  BoxXYWH,
} from './core/types.js';
