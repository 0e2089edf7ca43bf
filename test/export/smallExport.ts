/** A small export for `score` tests: 2 synth val images, 64×64 letterboxed inputs, grid:1 (4 shifts). */
import path from 'node:path';
import { ensureSynthDataset } from '../../src/datasets/index.js';
import { exportInputs, type ExportManifest } from '../../src/export/index.js';

/** The synth val split (3 images) under `root`: its annotation file. */
export async function synthVal(root: string): Promise<string> {
  return (await ensureSynthDataset(path.join(root, 'synth'), { splits: ['val'], valImages: 3 })).splits[0]
    .annotationFile;
}

/** Exports the first 2 images of `dataset` into `exportDir`. */
export async function smallExport(dataset: string, exportDir: string): Promise<ExportManifest> {
  const { manifest } = await exportInputs({
    inputSizePx: { width: 64, height: 64 },
    fit: 'letterbox',
    padValue: [0, 0, 0],
    dataset,
    out: exportDir,
    limit: 2,
  });
  return manifest;
}
