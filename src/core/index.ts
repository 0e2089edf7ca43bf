export * from './types.js';
export * from './errors.js';
export { is } from './is.js';
export { Rng } from './rng.js';
export { Registry } from './registry.js';
export { COCO_CATEGORIES } from './coco.js';
