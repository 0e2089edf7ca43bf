/**
 * A manifest.json that parses but is not a shiftbench run manifest (damaged by hand, another tool's file) is named as
 * such with the fix, by every command that opens a finished run from it (rescore, pairing, merge) — not a TypeError.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { pairRuns, rescoreRun } from '../../src/runner/index.js';
import { rejection } from '../helpers/shared.js';
import { tempDir } from './fixtures.js';

async function runDirWith(manifest: unknown): Promise<string> {
  const dir = path.join(await tempDir('shiftbench-manifest-shape-'), 'run');
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
  return dir;
}

describe('a manifest.json that is not a run manifest', () => {
  for (const [what, manifest] of [
    ['an empty object', {}],
    ['no detectors or shift set', { schemaVersion: 1, runId: 'r', options: {}, dataset: { hash: 'h' } }],
    ['an array', [1, 2]],
  ] as const) {
    it(`${what}: rescore and pairing say ERR_RUN_STORE naming the file and the field, with the fix`, async () => {
      const dir = await runDirWith(manifest);
      for (const e of [
        await rejection(rescoreRun(dir, { scoreThreshold: 0.3 })),
        await rejection(pairRuns(dir, await runDirWith(manifest))),
      ]) {
        expect(e.code).toBe('ERR_RUN_STORE');
        expect(e.message).toContain(path.join(dir, 'manifest.json'));
        expect(e.message).toContain('is not a shiftbench run manifest');
        expect(e.message).toContain('--force');
      }
    });
  }
});
