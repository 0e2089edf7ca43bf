/**
 * The check that a detector's classes and the dataset's categories give each id one name (runBenchmark
 * checkClassNames) guards the scoring, not the detecting: it must hold when every detection is already stored too.
 * Otherwise a resumed run whose annotations (or --classes file) now name the ids otherwise is scored silently, while
 * the same command with one image left to compute is refused.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CocoGroundTruth } from '../../src/core/types.js';
import { runBenchmark } from '../../src/runner/index.js';
import { rejection } from '../helpers/shared.js';
import { fakeEnv, gtDetector, makeDataset, tempDir } from './fixtures.js';

describe('class names on resume', () => {
  it('categories renamed after every detection was stored: refused with ERR_DATASET, as with images left', async () => {
    const root = await tempDir('shiftbench-class-names-');
    const ds = await makeDataset(path.join(root, 'ds'), 3, { seed: 5 });
    const env = fakeEnv({ tiny: () => gtDetector('tiny', ds.gt) });
    const options = { models: ['tiny'], dataset: ds.file, out: path.join(root, 'run'), bootstrapResamples: 20 };
    await runBenchmark(options, { env });
    const edited = JSON.parse(await readFile(ds.file, 'utf8')) as CocoGroundTruth;
    edited.categories[1].name = 'triangle';
    await writeFile(ds.file, JSON.stringify(edited));
    const err = await rejection(runBenchmark(options, { env }));
    expect(err.code).toBe('ERR_DATASET');
    expect(err.message).toContain("id 2 is 'square' for the detector but 'triangle' in the dataset");
  });
});
