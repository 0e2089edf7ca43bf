/**
 * `export --force` over an earlier export loses nothing when the new export fails: the new one is written aside and
 * moved in only once it is complete. Before, the earlier export.json, inputs/ and the results a framework had written
 * into detections/ were removed first, so a full disk half-way through left neither export.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { exportInputs } from '../../src/export/index.js';
import { EXPORT_STAGING_DIR } from '../../src/export/format.js';
import { rejection } from '../helpers/shared.js';
import { makeDataset, tempDir } from '../runner/fixtures.js';

/** While armed: writing into a file whose path starts with `prefix` fails as on a full disk. */
const full = vi.hoisted(() => ({ prefix: '' }));
vi.mock('node:fs/promises', async (real) => (await import('../helpers/fullDisk.js')).fullDiskFs(real, full));

/** Every file under `dir` (relative path → sha256), sorted. */
async function tree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const names = (await readdir(dir, { recursive: true })).map(String).sort();
  for (const name of names) {
    const file = path.join(dir, name);
    const bytes = await readFile(file).catch(() => null); // a folder
    if (bytes !== null) out[name] = createHash('sha256').update(bytes).digest('hex');
  }
  return out;
}

describe('export --force replaces an earlier export only once the new one is complete', () => {
  let root: string;
  let dataset: string;
  const options = (out: string, force?: boolean) => ({
    inputSizePx: { width: 32, height: 32 },
    fit: 'letterbox' as const,
    padValue: [0, 0, 0] as [number, number, number],
    dataset,
    out,
    limit: 2,
    ...(force ? { force } : {}),
  });

  beforeAll(async () => {
    root = await tempDir('shiftbench-export-force-');
    ({ file: dataset } = await makeDataset(path.join(root, 'ds'), 3, { seed: 5 }));
  });

  it('a full disk during the new export: the earlier export and its results are kept byte for byte', async () => {
    const out = path.join(root, 'full');
    await exportInputs(options(out));
    await writeFile(path.join(out, 'detections', 'shift_0.json'), '[{"image_id": 1}]');
    const before = await tree(out);
    full.prefix = out;
    let err;
    try {
      err = await rejection(exportInputs(options(out, true)));
    } finally {
      full.prefix = '';
    }
    expect(err.code).toBe('ERR_OUTPUT');
    expect(err.message).toMatch(/^Could not write \S+\.png: ENOSPC/);
    expect(err.message).toContain('Free disk space');
    expect(err.message).toContain(`the earlier export in ${out} is kept as it was`);
    expect(await tree(out)).toEqual(before);
    expect((await readdir(out)).sort()).toEqual(['detections', 'export.json', 'inputs']);
  });

  it('a successful --force leaves exactly the new export', async () => {
    const out = path.join(root, 'ok');
    await exportInputs(options(out));
    await writeFile(path.join(out, 'detections', 'shift_0.json'), '[]');
    const { inputs } = await exportInputs(options(out, true));
    expect(inputs).toBe(8);
    expect((await readdir(out)).sort()).toEqual(['detections', 'export.json', 'inputs']);
    expect(await readdir(path.join(out, 'detections'))).toEqual([]); // the earlier results went with their inputs
    expect(Object.keys(await tree(path.join(out, 'inputs'))).filter((f) => f.endsWith('.png'))).toHaveLength(8);
  });

  it('what a killed --force left aside neither blocks the next export nor stays behind', async () => {
    const out = path.join(root, 'killed');
    await exportInputs(options(out));
    await mkdir(path.join(out, EXPORT_STAGING_DIR, 'inputs', '1'), { recursive: true });
    await writeFile(path.join(out, EXPORT_STAGING_DIR, 'inputs', '1', '0.png'), 'half');
    // without --force: the earlier export is still refused as such (not as a folder of unknown files)
    const again = await rejection(exportInputs(options(out)));
    expect(again.message).toContain('already holds an export');
    await exportInputs(options(out, true));
    expect((await readdir(out)).sort()).toEqual(['detections', 'export.json', 'inputs']);
    // a folder holding only what a killed export left aside counts as empty
    const only = path.join(root, 'only-staging');
    await mkdir(path.join(only, EXPORT_STAGING_DIR), { recursive: true });
    await exportInputs(options(only));
    expect((await readdir(only)).sort()).toEqual(['detections', 'export.json', 'inputs']);
  });
});
