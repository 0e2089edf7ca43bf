/**
 * The public library API of shiftbench. The CLI uses only what is exported here.
 * Each module adds its exports below.
 */
export * from './core/index.js';
export { VERSION } from './version.js';
export * from './shifts/index.js';
export * from './datasets/index.js';
export * from './report/index.js';
export * from './metrics/index.js';
export * from './runner/index.js';
export * from './mitigations/index.js';
export * from './detectors/index.js';
export { selectBackend, loadTfjsDetector, type BackendInfo, type SelectBackendOptions, type TfjsBackendName } from './detectors/tfjs/lazy.js';
