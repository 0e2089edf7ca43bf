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
export { definePlugin, PLUGIN_API_VERSION } from './detectors/plugin-api.js';
export type { PluginDefinition, PluginDetectorFactory, PluginMitigationFactory } from './detectors/plugin-api.js';
export type { Mitigation } from './mitigations/types.js';
