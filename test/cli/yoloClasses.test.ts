/**
 * README, Datasets: a YOLO folder whose class names are in two files that disagree is refused, naming both, and
 * "`--classes FILE` chooses". The refusal tells a run to pass --classes, so `run` must take it, record it, and a
 * rescore (`report --score-threshold`, which loads the dataset again without a model) must read the same file.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { REPO_ROOT } from '../helpers/shared.js';
import { tempDir } from '../runner/fixtures.js';

const cli = (args: string[]) => runCli(args, { cwd: REPO_ROOT });

describe('run --classes on a YOLO folder whose classes.txt and data.yaml disagree', () => {
  let root: string;
  let dir: string;

  beforeAll(async () => {
    root = await tempDir('shiftbench-yolo-classes-');
    dir = path.join(root, 'yolo');
    await mkdir(path.join(dir, 'images'), { recursive: true });
    await mkdir(path.join(dir, 'labels'), { recursive: true });
    for (const name of ['a', 'b']) {
      await sharp({ create: { width: 64, height: 64, channels: 3, background: '#404040' } })
        .png()
        .toFile(path.join(dir, 'images', `${name}.png`));
      await writeFile(path.join(dir, 'labels', `${name}.txt`), '0 0.5 0.5 0.4 0.4\n1 0.25 0.25 0.2 0.2\n');
    }
    await writeFile(path.join(dir, 'classes.txt'), 'cat\ndog\n');
    await writeFile(path.join(dir, 'data.yaml'), 'names: [dog, cat]\n');
  });

  it('without --classes: refused naming both files and --classes (exit 1)', async () => {
    const r = await cli(['run', '--model', 'jitter', '--dataset', dir, '--out', path.join(root, 'none'), '-q']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('data.yaml');
    expect(r.stderr).toContain('--classes');
  }, 60_000);

  it('with --classes: the run reads that file, records it, and a rescore reads it again', async () => {
    const out = path.join(root, 'run');
    const classes = path.join(dir, 'data.yaml');
    const r = await cli(['run', '--model', 'jitter', '--dataset', dir, '--classes', classes, '--out', out, '-q']);
    expect(r.code, r.stderr).toBe(0);
    const manifest = JSON.parse(await readFile(path.join(out, 'manifest.json'), 'utf8'));
    expect(manifest.options.classes).toBe(classes);
    const gt = JSON.parse(await readFile(path.join(out, 'detections', 'jitter', 'ground_truth.json'), 'utf8'));
    expect(gt.categories.map((c: { name: string }) => c.name)).toEqual(['dog', 'cat']);
    const rescore = await cli(['report', out, '--score-threshold', '0.3', '-q']);
    expect(rescore.code, rescore.stderr).toBe(0);
  }, 120_000);

  it('export --classes records the file in export.json, and score reads the dataset with it', async () => {
    const exp = path.join(root, 'export');
    const classes = path.join(dir, 'data.yaml');
    const e = await cli([
      'export',
      '--dataset',
      dir,
      '--classes',
      classes,
      '--input-size',
      '64x64',
      '--out',
      exp,
      '-q',
    ]);
    expect(e.code, e.stderr).toBe(0);
    const manifest = JSON.parse(await readFile(path.join(exp, 'export.json'), 'utf8'));
    expect(manifest.dataset.spec.classes).toBe(classes);
    for (const s of manifest.shiftSet.shifts) {
      const results = manifest.images.map((im: { id: number }) => ({
        ...{ image_id: im.id, category_id: 1, bbox: [16, 16, 24, 24], score: 0.9 },
      }));
      await writeFile(path.join(exp, 'detections', `shift_${s.index}.json`), JSON.stringify(results));
    }
    const out = path.join(root, 'scored');
    const r = await cli(['score', exp, '--name', 'd', '--family', 'one-stage,anchor-free', '--out', out, '-q']);
    expect(r.code, r.stderr).toBe(0);
    const gt = JSON.parse(await readFile(path.join(out, 'detections', 'd', 'ground_truth.json'), 'utf8'));
    expect(gt.categories.map((c: { name: string }) => c.name)).toEqual(['dog', 'cat']);
  }, 120_000);
});

describe('merge of shards run with --classes, on a machine where that file is elsewhere', () => {
  it('without --classes: refused naming the recorded file and --classes; with --classes: merged (exit 0)', async () => {
    const root = await tempDir('shiftbench-merge-classes-');
    const dir = path.join(root, 'yolo');
    await mkdir(path.join(dir, 'images'), { recursive: true });
    await mkdir(path.join(dir, 'labels'), { recursive: true });
    for (const name of ['a', 'b', 'c']) {
      await sharp({ create: { width: 64, height: 64, channels: 3, background: '#404040' } })
        .png()
        .toFile(path.join(dir, 'images', `${name}.png`));
      await writeFile(path.join(dir, 'labels', `${name}.txt`), '0 0.5 0.5 0.4 0.4\n1 0.25 0.25 0.2 0.2\n');
    }
    const classes = path.join(root, 'cls', 'names.txt');
    await mkdir(path.dirname(classes));
    await writeFile(classes, 'dog\ncat\n');
    const shards = [0, 1].map((i) => path.join(root, `shard-${i}`));
    for (const [i, out] of shards.entries()) {
      const r = await cli(
        ['run', '--model', 'jitter', '--dataset', dir, '--classes', classes, '--shard', `${i}/2`].concat([
          '--out',
          out,
          '-q',
        ]),
      );
      expect(r.code, r.stderr).toBe(0);
    }
    const moved = path.join(root, 'elsewhere', 'names.txt');
    await mkdir(path.dirname(moved));
    await rename(classes, moved);
    const refused = await cli(['merge', ...shards, '--out', path.join(root, 'merged'), '-q']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(classes);
    expect(refused.stderr).toContain('--classes');
    const merged = await cli(['merge', ...shards, '--out', path.join(root, 'merged'), '--classes', moved, '-q']);
    expect(merged.code, merged.stderr).toBe(0);
    const manifest = JSON.parse(await readFile(path.join(root, 'merged', 'manifest.json'), 'utf8'));
    expect(manifest.options.classes).toBe(moved);
  }, 120_000);
});
