/** Bring your own inference: export the runner's shifted inputs, score results made anywhere (issue 13.3). */
export { exportInputs, type ExportOptions, type ExportResult } from './exportInputs.js';
export { scoreExport, parseFamily, type ScoreExportOptions, type ScoreExportResult } from './scoreExport.js';
export {
  readExport,
  inputFile,
  detectionsFile,
  EXPORT_FILE,
  INPUTS_DIR,
  EXPORT_DETECTIONS_DIR,
  TIMING_FILE,
  EXPORT_FORMAT,
  type ExportManifest,
  type ExportedImage,
  type ExportedInput,
  type ReadExport,
} from './format.js';
