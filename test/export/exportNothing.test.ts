/**
 * An export none of whose images could be decoded has no input to run a detector on: it is refused (as `run` refuses a
 * run none of whose images could be scored), naming an image and why, and leaves the folder as it was.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { exportInputs } from '../../src/export/index.js';
import { rejection } from '../helpers/shared.js';
import { tempDir } from '../runner/fixtures.js';
import { smallExport, synthVal } from './smallExport.js';

describe('export of a dataset whose every image fails to decode', () => {
  let root: string;
  let garbage: string;
  const opts = { inputSizePx: { width: 32, height: 32 }, fit: 'letterbox' as const, padValue: [0, 0, 0] as const };

  beforeAll(async () => {
    root = await tempDir('shiftbench-export-nothing-');
    garbage = path.join(root, 'garbage');
    await mkdir(garbage);
    await writeFile(path.join(garbage, 'a.jpg'), 'not an image');
    await writeFile(path.join(garbage, 'b.png'), 'not an image either');
  });

  it('is refused with ERR_DATASET naming an image and the reason; nothing is written', async () => {
    const out = path.join(root, 'export-garbage');
    const err = await rejection(exportInputs({ ...opts, padValue: [0, 0, 0], dataset: garbage, out }));
    expect(err.code).toBe('ERR_DATASET');
    expect(err.message).toMatch(/none of the 2 images of .* could be decoded/);
    expect(err.message).toMatch(/a\.jpg|b\.png/);
    expect(err.message).toContain(garbage);
    // no export a detector could be run on: no export.json, no inputs
    const left = existsSync(out) ? await readdir(out) : [];
    expect(left).toEqual([]);
  });

  it('--force over an earlier export keeps the earlier one', async () => {
    const out = path.join(root, 'export-kept');
    await smallExport(await synthVal(root), out);
    const before = await readFile(path.join(out, 'export.json'), 'utf8');
    const err = await rejection(exportInputs({ ...opts, padValue: [0, 0, 0], dataset: garbage, out, force: true }));
    expect(err.code).toBe('ERR_DATASET');
    expect(await readFile(path.join(out, 'export.json'), 'utf8')).toBe(before);
  });
});
