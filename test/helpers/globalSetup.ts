/**
 * Runs once before any test file: builds the worker entries into dist/ (see
 * workerBuild.ts) and tells the test processes so. Without it, each file that starts
 * workers rebuilt dist/ in its own beforeAll, and a worker of another file running at
 * that moment could load a half-written module ("does not provide an export named …").
 */
import { buildWorkers, WORKERS_BUILT_ENV } from './workerBuild.js';

export default function setup(): void {
  buildWorkers();
  process.env[WORKERS_BUILT_ENV] = '1';
}
