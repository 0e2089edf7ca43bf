/**
 * Runs once before any test file: builds the worker entries into dist/ (see
 * workerBuild.ts) and tells the test processes so. Without it, each file that starts
 * workers rebuilt dist/ in its own beforeAll, and a worker of another file running at
 * that moment could load a half-written module ("does not provide an export named …").
 *
 * Every temporary directory of the run (the tests' own, and those of the CLI processes they start) goes under one
 * folder, removed when the run ends: a suite run otherwise left ~1,000 folders (~1 GB) in the system's temp folder.
 * SHIFTBENCH_KEEP_TEST_TMP=1 keeps it (its path is printed) to look at what a failing test wrote.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildWorkers, WORKERS_BUILT_ENV } from './workerBuild.js';

export default function setup(): () => void {
  buildWorkers();
  process.env[WORKERS_BUILT_ENV] = '1';
  const root = mkdtempSync(path.join(os.tmpdir(), 'shiftbench-tests-'));
  chmodSync(root, 0o1777); // as the system's temp folder: tests that run the CLI as another user write there too
  process.env.TMPDIR = root; // os.tmpdir() of every test process and of the processes they start
  return () => {
    if (process.env.SHIFTBENCH_KEEP_TEST_TMP === '1') console.log(`test temp files kept in ${root}`);
    else rmSync(root, { recursive: true, force: true });
  };
}
