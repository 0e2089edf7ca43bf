/**
 * Worker threads run the built JavaScript (src/metrics/greedy/workers.ts). Tests that
 * start workers call `buildWorkers()` first: it compiles the worker entry and what it
 * imports into dist/ (a few seconds), so the workers run the code under test, never a
 * stale build. A lock directory keeps two test processes from writing at once.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// not from shared.ts: that imports vitest, which the global setup (globalSetup.ts) cannot load
const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const LOCK = path.join(REPO_ROOT, 'dist', '.workers-build.lock');

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Set (by globalSetup.ts) in the test processes of a vitest run whose worker build is already done. */
export const WORKERS_BUILT_ENV = 'SHIFTBENCH_TEST_WORKERS_BUILT';

/**
 * Compiles the worker entries (src/metrics/greedy/worker.ts, src/runner/prepareWorker.ts) and
 * their imports into dist/ — once per vitest run: where the global setup has built them, it
 * returns at once, so no test rewrites dist/ while another file's workers load it.
 */
export function buildWorkers(): void {
  if (process.env[WORKERS_BUILT_ENV] === '1') return;
  mkdirSync(path.dirname(LOCK), { recursive: true });
  for (let waited = 0; ; waited += 100) {
    try {
      mkdirSync(LOCK);
      break;
    } catch {
      // a lock older than two minutes is left over from a killed process
      const st = statSync(LOCK, { throwIfNoEntry: false });
      if (!st) continue;
      if (waited > 120_000 || Date.now() - st.mtimeMs > 120_000) {
        rmdirSync(LOCK);
        continue;
      }
      sleep(100);
    }
  }
  try {
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    execFileSync(process.execPath, [tsc, '-p', path.join(REPO_ROOT, 'test/helpers/tsconfig.workers.json')], {
      stdio: 'pipe',
    });
  } finally {
    rmdirSync(LOCK);
  }
}
