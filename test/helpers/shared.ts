/**
 * Access to ../shared (real COCO photos, ONNX models, golden answers) for tests.
 * Tests that need it use `describeShared`, which skips with a clear message where
 * ../shared is absent, so a fresh clone without it still passes.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe } from 'vitest';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const SHARED_DIR = path.resolve(process.env.SHIFTBENCH_SHARED ?? path.join(REPO_ROOT, '../shared'));

/** Absolute path inside ../shared, or null if that path is absent. */
export function sharedPath(...parts: string[]): string | null {
  const p = path.join(SHARED_DIR, ...parts);
  return existsSync(p) ? p : null;
}

/** `describe` that runs only when every listed ../shared path exists; otherwise skips and says why. */
export function describeShared(name: string, needs: string[], fn: () => void): void {
  const missing = needs.filter((p) => sharedPath(p) === null);
  if (missing.length > 0) {
    process.stderr.write(
      `[skip] "${name}": needs ${missing.map((m) => path.join(SHARED_DIR, m)).join(', ')} (absent)\n`,
    );
    describe.skip(`${name} (skipped: ../shared/${missing[0]} absent)`, fn);
  } else {
    describe(name, fn);
  }
}

/** Awaits a promise that must reject and returns its error (fails the test if it resolves). */
export async function rejection<E = import('../../src/core/errors.js').ShiftbenchError>(
  p: Promise<unknown>,
): Promise<E> {
  try {
    await p;
  } catch (err) {
    return err as E;
  }
  throw new Error('expected a rejection');
}
