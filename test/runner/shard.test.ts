/**
 * Shards (issue 14.4): `--shard i/n` runs a deterministic part of the images (by id) into its
 * own run directory; mergeShards checks the shards are of one run (same identity, disjoint,
 * complete — each violation an ERR_MERGE naming the directories) and scores them once, with
 * metrics equal to one process's. The built-in `jitter` fake makes the detections (no model).
 */
import { createHash } from 'node:crypto';
import { appendFile, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { keyFileName } from '../../src/core/fileNames.js';
import type { RunMetrics } from '../../src/core/types.js';
import { loadReportRun, runCompatibility } from '../../src/report/index.js';
import {
  mergeShards,
  parseShard,
  rescoreRun,
  runBenchmark,
  runShard,
  shardOfImage,
  type RunOptions,
} from '../../src/runner/index.js';
import { rejection } from '../helpers/shared.js';
import { buildWorkers } from '../helpers/workerBuild.js';
import { comparable, leaseTakenAtScoring, makeDataset, tempDir } from './fixtures.js';

describe('--shard i/n', () => {
  it('parses i/n (0-based) and refuses anything else, naming --shard', () => {
    expect(parseShard('2/5')).toEqual({ index: 2, count: 5 });
    expect(parseShard({ index: 0, count: 1 })).toEqual({ index: 0, count: 1 });
    for (const bad of ['3/3', '1', '-1/2', '0/0', 'a/b', '1/2/3']) {
      const e = (() => {
        try {
          parseShard(bad);
        } catch (err) {
          return err as { code: string; message: string };
        }
        throw new Error(`accepted ${bad}`);
      })();
      expect(e.code).toBe('ERR_INVALID_OPTION');
      expect(e.message).toContain('--shard');
    }
  });

  it('splits by the documented rule: sha256 of the decimal id, first 4 bytes big-endian, mod n — evenly even for patterned ids', () => {
    for (const id of [0, 1, 42, 139, 581929, 2 ** 31]) {
      const expected = createHash('sha256').update(`${id}`).digest().readUInt32BE(0) % 7;
      expect(shardOfImage(id, 7)).toBe(expected);
    }
    // COCO-like ids that are all multiples of 10: `id mod 10` would put every image in shard 0
    const counts = new Array(10).fill(0);
    for (let k = 1; k <= 5000; k++) counts[shardOfImage(k * 10, 10)]++;
    expect(Math.min(...counts)).toBeGreaterThan(400);
    expect(Math.max(...counts)).toBeLessThan(600);
  });
});

describe('runShard + mergeShards', () => {
  let root: string;
  let dataset: string;
  const N = 14;
  let base: RunOptions;
  let shardDirs: string[];
  let whole: RunMetrics;

  beforeAll(async () => {
    root = await tempDir('shiftbench-shard-');
    ({ file: dataset } = await makeDataset(path.join(root, 'ds'), N, { seed: 11 }));
    base = {
      models: ['jitter:96'],
      dataset,
      shifts: 'grid:1',
      bootstrapResamples: 50,
      bootstrapBounds: 20,
      objectives: ['ap50'],
    };
    shardDirs = [0, 1, 2].map((i) => path.join(root, `shard-${i}`));
    for (let i = 0; i < 3; i++) await runShard({ ...base, shard: `${i}/3`, out: shardDirs[i] });
    whole = (await runBenchmark({ ...base, out: path.join(root, 'whole') })).metrics;
  });

  it('each shard stores only its own images, and records the split in its manifest', async () => {
    let total = 0;
    for (let i = 0; i < 3; i++) {
      const manifest = JSON.parse(await readFile(path.join(shardDirs[i], 'manifest.json'), 'utf8'));
      expect(manifest.shard).toMatchObject({ index: i, count: 3, imagesInRun: N });
      const lines = (await readFile(path.join(shardDirs[i], 'detections', `${keyFileName('jitter:96')}.jsonl`), 'utf8'))
        .trim()
        .split('\n');
      const ids = lines.map((l) => JSON.parse(l).imageId as number);
      expect(ids.every((id) => shardOfImage(id, 3) === i)).toBe(true);
      expect(manifest.shard.images).toBe(ids.length);
      total += ids.length;
    }
    expect(total).toBe(N);
  });

  it('merged metrics equal a one-process run, number for number (order of the shards given does not matter)', async () => {
    const out = path.join(root, 'merged');
    const r = await mergeShards({ runs: [shardDirs[2], shardDirs[0], shardDirs[1]], out });
    expect(r.shards).toBe(3);
    expect(r.images).toBe(N);
    expect(whole.results[0].bounds!.mapRange).toBeGreaterThan(0); // the jitter fake flickers: the numbers are not trivial
    expect(whole.results[0].analysis!.boundsInterval).not.toBeNull();
    expect(comparable(r.metrics)).toEqual(comparable(whole));
    const stored = JSON.parse(await readFile(path.join(out, 'metrics.json'), 'utf8')) as RunMetrics;
    expect(JSON.stringify(comparable(stored))).toBe(
      JSON.stringify(comparable(JSON.parse(await readFile(path.join(root, 'whole', 'metrics.json'), 'utf8')))),
    );
    // the merged directory is a run: its per-shift files are those of the one-process run
    for (const f of ['shift_0_0.json', 'shift_1_1.json', 'ground_truth.json']) {
      expect(await readFile(path.join(out, 'detections', keyFileName('jitter:96'), f), 'utf8')).toBe(
        await readFile(path.join(root, 'whole', 'detections', keyFileName('jitter:96'), f), 'utf8'),
      );
    }
    // merging again into the same directory redoes it with the same numbers
    const again = await mergeShards({ runs: shardDirs, out });
    expect(comparable(again.metrics)).toEqual(comparable(whole));
  });

  it('`run` again into a merged directory that only rescores it keeps the record of the merge: merging again redoes it', async () => {
    const out = path.join(root, 'merged-rescored-by-run');
    await mergeShards({ runs: shardDirs, out });
    const r = await runBenchmark({ ...base, out, scoreThreshold: 0.3 });
    expect(r.metrics.results[0].consistency.scoreThreshold).toBe(0.3);
    const m = JSON.parse(await readFile(path.join(out, 'manifest.json'), 'utf8'));
    expect(m.merged).toMatchObject({ count: 3 });
    const again = await mergeShards({ runs: shardDirs, out });
    expect(comparable(again.metrics)).toEqual(comparable(whole));
  });

  it('a rescore of a merged directory whose merge did not finish names the merge as the fix, not `shiftbench run`', async () => {
    const out = path.join(root, 'merged-torn');
    await mergeShards({ runs: shardDirs, out });
    // as a merge killed while writing the merged log: some images' records missing, no metrics yet
    await rm(path.join(out, 'metrics.json'));
    const log = path.join(out, 'detections', `${keyFileName('jitter:96')}.jsonl`);
    const lines = (await readFile(log, 'utf8')).trim().split('\n');
    await writeFile(log, lines.slice(0, 3).join('\n') + '\n');
    const e = await rejection(rescoreRun(out, { scoreThreshold: 0.3 }));
    expect(e.message).toContain('is not finished');
    expect(e.message).toContain('shiftbench merge');
    expect(e.message).not.toContain('shiftbench run');
  });

  it('a merge by another build than the shards records that build as the one that computed the metrics', async () => {
    const same = path.join(root, 'merged-same-build');
    await mergeShards({ runs: shardDirs, out: same });
    expect(JSON.parse(await readFile(path.join(same, 'manifest.json'), 'utf8')).rescored).toBeUndefined();
    const other = path.join(root, 'merged-other-build');
    await mergeShards({ runs: shardDirs, out: other }, { env: { buildId: async () => 'build-of-the-merge' } });
    const m = JSON.parse(await readFile(path.join(other, 'manifest.json'), 'utf8'));
    expect(m.rescored).toMatchObject({ buildId: 'build-of-the-merge', nodeVersion: process.version });
    expect(m.identity.run.buildId).not.toBe('build-of-the-merge');
    expect((await loadReportRun(other)).essentials.rescored?.buildId).toBe('build-of-the-merge');
  });

  it('the merged run pairs with a one-process run of the same images however --limit and --images were written (compare, check)', async () => {
    const merged = path.join(root, 'merged-pair');
    await mergeShards({ runs: shardDirs, out: merged });
    // the same images: --limit above the dataset's size, the image folder given explicitly
    const other = path.join(root, 'whole-written-otherwise');
    await runBenchmark({ ...base, limit: N + 5, images: path.join(root, 'ds', 'images'), out: other });
    const c = runCompatibility(await loadReportRun(merged), await loadReportRun(other));
    expect(c.differences).toEqual([]);
    expect(c.pairable).toBe(true);
    // other images are still refused: the first N − 2 by id
    const fewer = path.join(root, 'whole-fewer');
    await runBenchmark({ ...base, limit: N - 2, out: fewer });
    const d = runCompatibility(await loadReportRun(merged), await loadReportRun(fewer));
    expect(d.pairable).toBe(false);
    expect(d.differences.join('\n')).toContain(`images: ${N} → ${N - 2}`);
  });

  it('a merge has a cost ratio only where every shard timed the plain detector and the mitigation in the same run', async () => {
    const opts = { ...base, mitigations: ['input-blur:1'], bootstrapBounds: 0 };
    const together = [0, 1].map((i) => path.join(root, `cost-${i}`));
    for (let i = 0; i < 2; i++) await runShard({ ...opts, shard: `${i}/2`, out: together[i] });
    const m1 = await mergeShards({ runs: together, out: path.join(root, 'cost-merged') });
    expect(m1.metrics.results[1].timing.costRatio).not.toBeNull();
    // shard 1 detected the plain detector in one run and the mitigation in a later one
    const apart = path.join(root, 'cost-apart-1');
    await runShard({ ...base, bootstrapBounds: 0, shard: '1/2', out: apart });
    await runShard({ ...opts, shard: '1/2', out: apart });
    const m2 = await mergeShards({ runs: [together[0], apart], out: path.join(root, 'cost-merged-2') });
    expect(m2.metrics.results[1].timing.costRatio).toBeNull();
    expect(m2.metrics.results[1].timing.costRatioNote).toContain('timed in different runs');
  });

  it('a missing shard, a shard given twice, or another split is refused naming the directories', async () => {
    const out = path.join(root, 'bad-merge');
    let e = await rejection(mergeShards({ runs: [shardDirs[0], shardDirs[2]], out }));
    expect(e.code).toBe('ERR_MERGE');
    expect(e.message).toContain('shard 1/3 missing');
    expect(e.message).toContain(shardDirs[2]);
    e = await rejection(mergeShards({ runs: [shardDirs[0], shardDirs[1], shardDirs[1], shardDirs[2]], out }));
    expect(e.code).toBe('ERR_MERGE');
    expect(e.message).toContain(`${shardDirs[1]} is given twice`);
    const copy = path.join(root, 'copy-1');
    await runShard({ ...base, shard: '1/3', out: copy });
    e = await rejection(mergeShards({ runs: [...shardDirs, copy], out }));
    expect(e.message).toContain(`${shardDirs[1]} and ${copy} are both shard 1/3`);
    const two = path.join(root, 'two-0');
    await runShard({ ...base, shard: '0/2', out: two });
    e = await rejection(mergeShards({ runs: [...shardDirs, two], out }));
    expect(e.code).toBe('ERR_MERGE');
    expect(e.message).toContain(`${two} is shard 0/2 but ${shardDirs[0]} is shard 0/3`);
    e = await rejection(mergeShards({ runs: [path.join(root, 'whole')], out }));
    expect(e.code).toBe('ERR_MERGE');
    expect(e.message).toContain('is not a shard');
  });

  it('a shard of another run (another identity or analysis setting) is refused, naming both directories and each difference', async () => {
    const other = path.join(root, 'other-seed-1');
    await runShard({ ...base, seed: 5, shard: '1/3', out: other });
    let e = await rejection(mergeShards({ runs: [shardDirs[0], other, shardDirs[2]], out: path.join(root, 'm2') }));
    expect(e.code).toBe('ERR_MERGE');
    expect(e.message).toContain(`${other} is not a shard of the same run as ${shardDirs[0]}`);
    expect(e.message).toContain('identity.detectors.jitter:96.seed: 0 → 5');
    const tau = path.join(root, 'other-tau-1');
    await runShard({ ...base, scoreThreshold: 0.7, shard: '1/3', out: tau });
    e = await rejection(mergeShards({ runs: [shardDirs[0], tau, shardDirs[2]], out: path.join(root, 'm3') }));
    expect(e.message).toContain('analysis.scoreThreshold: 0.5 → 0.7');
  });

  it('shards whose settings differ only in how they were written merge: --limit at the dataset size or none, --bootstrap-bounds at its default or none', async () => {
    const limitN = path.join(root, 'limit-n-1');
    await runShard({ ...base, limit: N, shard: '1/3', out: limitN });
    const bDefault = path.join(root, 'default-b-2');
    const { bootstrapBounds: _given, ...noB } = base;
    expect(_given).toBe(20); // the other shards give B explicitly
    await runShard({ ...noB, shard: '2/3', out: bDefault });
    // the default B here is DEFAULT_BOOTSTRAP_BOUNDS (200): another effective value than 20, so refused …
    const e = await rejection(mergeShards({ runs: [shardDirs[0], limitN, bDefault], out: path.join(root, 'm-eq') }));
    expect(e.code).toBe('ERR_MERGE');
    expect(e.message).toContain('analysis.bootstrapBounds: 20 → 200');
    expect(e.message).not.toContain('limit');
    // … while the explicit default merges with none given
    const b200 = [0, 1].map((i) => path.join(root, `b200-${i}`));
    await runShard({ ...base, bootstrapBounds: 200, shard: '0/3', out: b200[0] });
    await runShard({ ...base, bootstrapBounds: 200, limit: N + 5, shard: '1/3', out: b200[1] });
    const merged = await mergeShards({ runs: [b200[0], b200[1], bDefault], out: path.join(root, 'm-eq2') });
    expect(merged.images).toBe(N);
    // --limit N on an N-image dataset is the whole dataset
    const whole3 = await mergeShards({ runs: [shardDirs[0], limitN, shardDirs[2]], out: path.join(root, 'm-eq3') });
    expect(comparable(whole3.metrics)).toEqual(comparable(whole));
  });

  it("an unfinished shard or one holding another shard's images is refused, naming it; a shard directory resumes only its shard", async () => {
    const dir = path.join(root, 'partial-1');
    await runShard({ ...base, shard: '1/3', out: dir });
    const log = path.join(dir, 'detections', `${keyFileName('jitter:96')}.jsonl`);
    const lines = (await readFile(log, 'utf8')).trim().split('\n');
    await writeFile(log, lines.slice(0, -1).join('\n') + '\n');
    const missing = JSON.parse(lines[lines.length - 1]).imageId as number;
    let e = await rejection(mergeShards({ runs: [shardDirs[0], dir, shardDirs[2]], out: path.join(root, 'm4') }));
    expect(e.code).toBe('ERR_MERGE');
    expect(e.message).toContain(
      `${dir} (shard 1/3) is not finished: "jitter:96" has no detections for image ${missing}`,
    );
    // an image of shard 0 in shard 1's directory
    const foreign = (
      await readFile(path.join(shardDirs[0], 'detections', `${keyFileName('jitter:96')}.jsonl`), 'utf8')
    ).split('\n')[0];
    await writeFile(log, lines.join('\n') + '\n');
    await appendFile(log, foreign + '\n');
    e = await rejection(mergeShards({ runs: [shardDirs[0], dir, shardDirs[2]], out: path.join(root, 'm5') }));
    expect(e.code).toBe('ERR_MERGE');
    expect(e.message).toContain(
      `${dir} (shard 1/3) holds detections of "jitter:96" for image ${JSON.parse(foreign).imageId}, which belongs to shard 0/3 (${shardDirs[0]})`,
    );
    e = await rejection(runShard({ ...base, shard: '2/3', out: dir }));
    expect(e.code).toBe('ERR_RUN_STORE');
    expect(e.message).toContain(`${dir} holds shard 1/3, not shard 2/3`);
    e = await rejection(runBenchmark({ ...base, shard: '0/3', out: path.join(root, 'x') }));
    expect(e.code).toBe('ERR_INVALID_OPTION');
  });

  it('a shard has no metrics of its own: report and rescore say to merge the shards first', async () => {
    let e = await rejection(loadReportRun(shardDirs[1]));
    expect(e.code).toBe('ERR_OUTPUT');
    expect(e.message).toContain(
      `${shardDirs[1]} is shard 1/3 of a run: a shard has no metrics of its own. Merge the run's 3 shard directories`,
    );
    e = await rejection(rescoreRun(shardDirs[1]));
    expect(e.code).toBe('ERR_RUN_STORE');
    expect(e.message).toContain('shiftbench merge');
  });
});

describe('the run identity holds no absolute paths (shards made on different machines merge)', () => {
  const PLUGIN = `
import { boxes } from './lib/boxes.mjs';
export default {
  apiVersion: 1,
  name: 'local',
  detectors: {
    fixed: () => ({
      info: { name: 'fixed', family: { stages: 'one-stage', anchors: 'anchor-free' }, inputSizePx: { width: 32, height: 32 }, classes: [{ id: 1, name: 'disc' }, { id: 2, name: 'square' }] },
      detect: async (batch) => batch.map(() => boxes()),
      dispose: async () => {},
    }),
  },
};
`;
  const LIB = `export const boxes = () => [{ bbox: [2, 3, 10, 12], score: 0.9, categoryId: 1 }];\n`;

  /** The same dataset, plug-in (with a module it imports) and ONNX model entry under `dir`. */
  async function machine(dir: string): Promise<{ dataset: string; plugin: string; onnx: string }> {
    const { file: dataset } = await makeDataset(path.join(dir, 'data', 'ds'), 6, { seed: 2 });
    const { mkdir } = await import('node:fs/promises');
    await mkdir(path.join(dir, 'plugins', 'lib'), { recursive: true });
    await writeFile(path.join(dir, 'plugins', 'local.mjs'), PLUGIN);
    await writeFile(path.join(dir, 'plugins', 'lib', 'boxes.mjs'), LIB);
    await mkdir(path.join(dir, 'models'), { recursive: true });
    const onnx = path.join(dir, 'models', 'tiny.onnx');
    await writeFile(onnx, 'tiny weights');
    const entry = {
      name: 'tiny',
      family: { stages: 'one-stage', anchors: 'anchor-free' },
      format: 'onnx',
      inputSizePx: { width: 64, height: 64 },
      layout: 'NCHW',
      colorOrder: 'RGB',
      normalize: { mean: [0, 0, 0], std: [255, 255, 255] },
      fit: 'letterbox',
      decoder: { name: 'torchvision', params: { labels: 'category-id' } },
      classes: [{ id: 1, name: 'disc' }],
    };
    await writeFile(`${onnx}.json`, JSON.stringify(entry));
    return { dataset, plugin: path.join(dir, 'plugins', 'local.mjs'), onnx };
  }

  it('the same setup in two folders has the same identity, with no folder in it, and their shards merge', async () => {
    const root = await tempDir('shiftbench-machines-');
    const a = await machine(path.join(root, 'machine-a'));
    const b = await machine(path.join(root, 'machine-b'));
    const { defaultEnv } = await import('../../src/runner/env.js');
    const describeDetector = defaultEnv().describeDetector;
    const [da, db] = [await describeDetector(a.onnx, {}), await describeDetector(b.onnx, {})];
    expect(da).toEqual(db);
    expect(JSON.stringify(da)).not.toContain(root);

    const opts = (m: typeof a, i: number) => ({
      models: ['local/fixed'],
      plugins: [m.plugin],
      dataset: m.dataset,
      bootstrapResamples: 20,
      bootstrapBounds: 0,
      shard: `${i}/2`,
    });
    const shardA = path.join(root, 'machine-a', 'shard-0');
    const shardB = path.join(root, 'machine-b', 'shard-1');
    await runShard({ ...opts(a, 0), out: shardA });
    await runShard({ ...opts(b, 1), out: shardB });
    const identity = async (dir: string) =>
      JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8')).identity;
    const [ia, ib] = [await identity(shardA), await identity(shardB)];
    expect(ia).toEqual(ib);
    expect(JSON.stringify(ia)).not.toContain(root);
    expect(JSON.stringify(ia)).toContain('lib/boxes.mjs'); // the imported module, by its path relative to the plug-in
    const merged = await mergeShards({ runs: [shardA, shardB], out: path.join(root, 'merged'), dataset: b.dataset });
    expect(merged.images).toBe(6);
    expect(merged.metrics.dataset.source).toBe(b.dataset);
  });
});

describe('a refused run --shard or merge touches nothing already computed', () => {
  let root: string;
  let base: RunOptions;
  let shards: string[];
  const bytes = async (dir: string) =>
    Object.fromEntries(
      await Promise.all(
        [
          'metrics.json',
          'report.html',
          'manifest.json',
          path.join('detections', `${keyFileName('jitter:96')}.jsonl`),
        ].map(async (f) => [f, await readFile(path.join(dir, f), 'utf8').catch(() => null)] as const),
      ),
    );

  beforeAll(async () => {
    root = await tempDir('shiftbench-refusals-');
    const { file: dataset } = await makeDataset(path.join(root, 'ds'), 8, { seed: 12 });
    base = { models: ['jitter:96'], dataset, bootstrapResamples: 20, bootstrapBounds: 0 };
    shards = [0, 1].map((i) => path.join(root, `shard-${i}`));
    for (let i = 0; i < 2; i++) await runShard({ ...base, shard: `${i}/2`, out: shards[i] });
  });

  it('run --shard into a finished whole run (with or without --force) is refused and keeps its metrics', async () => {
    const whole = path.join(root, 'whole');
    await runBenchmark({ ...base, out: whole });
    const before = await bytes(whole);
    expect(before['metrics.json']).not.toBeNull();
    for (const force of [false, true]) {
      const e = await rejection(runShard({ ...base, shard: '0/2', out: whole, force }));
      expect(e.code).toBe('ERR_RUN_STORE');
      expect(e.message).toContain(`${whole} holds a whole run (no --shard), not shard 0/2`);
      expect(await bytes(whole)).toEqual(before);
    }
  });

  it('a merge refused for an unfinished shard leaves an earlier merge in --out as it was', async () => {
    const out = path.join(root, 'merged');
    await mergeShards({ runs: shards, out });
    const before = await bytes(out);
    expect(before['metrics.json']).not.toBeNull();
    // a copy of shard 1 with its last image torn off: unfinished
    const partial = path.join(root, 'partial-1');
    await runShard({ ...base, shard: '1/2', out: partial });
    const log = path.join(partial, 'detections', `${keyFileName('jitter:96')}.jsonl`);
    const lines = (await readFile(log, 'utf8')).trim().split('\n');
    await writeFile(log, lines.slice(0, -1).join('\n') + '\n');
    for (const force of [false, true]) {
      const e = await rejection(mergeShards({ runs: [shards[0], partial], out, force }));
      expect(e.code).toBe('ERR_MERGE');
      expect(e.message).toContain(`${partial} (shard 1/2) is not finished`);
      expect(await bytes(out)).toEqual(before);
    }
  });

  it("a merge never writes into a shard's log: a torn last line stays (the shard's own resume cuts it) and is reported as unfinished", async () => {
    const partial = path.join(root, 'torn-1');
    await runShard({ ...base, shard: '1/2', out: partial });
    const log = path.join(partial, 'detections', `${keyFileName('jitter:96')}.jsonl`);
    const lines = (await readFile(log, 'utf8')).trim().split('\n');
    // the last image's line torn mid-write (a kill): half of it, no newline
    const torn = lines.slice(0, -1).join('\n') + '\n' + lines[lines.length - 1].slice(0, 40);
    await writeFile(log, torn);
    const e = await rejection(mergeShards({ runs: [shards[0], partial], out: path.join(root, 'merged-torn') }));
    expect(e.code).toBe('ERR_MERGE');
    expect(e.message).toContain(`${partial} (shard 1/2) is not finished`);
    expect(await readFile(log, 'utf8')).toBe(torn);
  });

  it('--out that is a shard through a symbolic link is refused as a usage error naming --out, not as a lock', async () => {
    const { symlink } = await import('node:fs/promises');
    const link = path.join(root, 'link-1');
    await symlink(shards[1], link);
    const before = await bytes(shards[1]);
    let e = await rejection(mergeShards({ runs: shards, out: link }));
    expect(e.code).toBe('ERR_INVALID_OPTION');
    expect(e.message).toContain('--out');
    e = await rejection(mergeShards({ runs: [shards[0], link], out: shards[1] }));
    expect(e.code).toBe('ERR_INVALID_OPTION');
    expect(e.message).toContain('--out');
    expect(await bytes(shards[1])).toEqual(before);
  });
});

describe('merge with --dataset on another machine (no --images)', () => {
  it('records no image folder of the shards: the merged report finds the images beside the dataset given', async () => {
    const root = await tempDir('shiftbench-moved-');
    const dsDir = path.join(root, 'ds');
    const { file } = await makeDataset(dsDir, 6, { seed: 13 });
    const base = { models: ['jitter:96'], dataset: file, images: path.join(dsDir, 'images'), bootstrapResamples: 20 };
    const shards = [0, 1].map((i) => path.join(root, `shard-${i}`));
    for (let i = 0; i < 2; i++) await runShard({ ...base, shard: `${i}/2`, out: shards[i] });
    // the merging machine has the dataset elsewhere, and the shards' folder no longer exists
    const { rename } = await import('node:fs/promises');
    const moved = path.join(root, 'elsewhere');
    await rename(dsDir, moved);
    const out = path.join(root, 'merged');
    await mergeShards({ runs: shards, out, dataset: path.join(moved, 'instances.json') });
    const manifest = JSON.parse(await readFile(path.join(out, 'manifest.json'), 'utf8'));
    expect(manifest.options.dataset).toBe(path.join(moved, 'instances.json'));
    expect(manifest.options.images).toBeNull();
    const html = await readFile(path.join(out, 'report.html'), 'utf8');
    expect(html).not.toContain('could not be read');
    expect(html).not.toContain(dsDir + path.sep);
  });

  it('without --dataset, a dataset the shards recorded that is not on this machine is named with the fix: merge --dataset', async () => {
    const root = await tempDir('shiftbench-moved-');
    const dsDir = path.join(root, 'ds');
    const { file } = await makeDataset(dsDir, 4, { seed: 13 });
    const shards = [0, 1].map((i) => path.join(root, `shard-${i}`));
    for (let i = 0; i < 2; i++)
      await runShard({ models: ['jitter:96'], dataset: file, bootstrapResamples: 20, shard: `${i}/2`, out: shards[i] });
    const { rename } = await import('node:fs/promises');
    await rename(dsDir, path.join(root, 'elsewhere'));
    const out = path.join(root, 'merged');
    const e = await rejection(mergeShards({ runs: shards, out }));
    expect(e.message).toContain(file); // the path the shards recorded
    expect(e.message).toContain(shards[0]); // where it is recorded
    expect(e.message).toContain('give its path on this machine with --dataset'); // the fix, for merge
    expect(e.message).not.toContain('Accepted for --dataset'); // not as if --dataset had been given a bad value
  });
});

describe('a merge where no image could be scored', () => {
  it('is an error naming skipped.json and saying to rerun the shards, not a run of dashes that exits 0', async () => {
    const root = await tempDir('shiftbench-unscorable-');
    const { file } = await makeDataset(path.join(root, 'ds'), 4, { corrupt: [1, 2, 3, 4], seed: 14 });
    const base = { models: ['jitter:96'], dataset: file, bootstrapResamples: 20 };
    const shards = [0, 1].map((i) => path.join(root, `shard-${i}`));
    for (let i = 0; i < 2; i++) {
      // a shard none of whose images could be run has no result: an error (a job that fails), not exit 0
      const s = await rejection(runShard({ ...base, shard: `${i}/2`, out: shards[i] }));
      expect(s.code).toBe('ERR_DATASET');
      expect(s.message).toMatch(/jitter:96: none of the \d images of shard \d\/2 could be scored/);
      expect(s.message).toContain(path.join(shards[i], 'skipped.json'));
      expect(s.message).toContain('run the same command again');
    }
    const out = path.join(root, 'merged');
    // what the shards stored (every image skipped, and why) is kept: the merge names it with its own fix
    const e = await rejection(mergeShards({ runs: shards, out }));
    expect(e.code).toBe('ERR_DATASET');
    expect(e.message).toContain('jitter:96: none of the 4 images could be scored');
    expect(e.message).toContain(path.join(out, 'skipped.json'));
    expect(e.message).toContain("rerun the shards' commands");
    const skipped = JSON.parse(await readFile(path.join(out, 'skipped.json'), 'utf8'));
    expect(skipped.map((s: { imageId: number }) => s.imageId)).toEqual([1, 2, 3, 4]);
    // the unfinished merge directory: report says to run the merge again, not `shiftbench run`
    const r = await rejection(loadReportRun(out));
    expect(r.code).toBe('ERR_OUTPUT');
    expect(r.message).toContain(`No metrics.json in ${out}: the merge into it did not finish`);
    expect(r.message).not.toContain('shiftbench run');
  });
});

describe('a damaged shard is named with the fix that works for a merge', () => {
  let root: string;
  let shards: string[];
  beforeAll(async () => {
    root = await tempDir('shiftbench-damaged-');
    const { file } = await makeDataset(path.join(root, 'ds'), 6, { seed: 15 });
    shards = [0, 1].map((i) => path.join(root, `shard-${i}`));
    for (let i = 0; i < 2; i++) {
      await runShard({ models: ['jitter:96'], dataset: file, bootstrapResamples: 20, shard: `${i}/2`, out: shards[i] });
    }
  });

  it('a damaged line in a shard log: rerun that shard with --force or into a new --out (merge --force cannot help)', async () => {
    const log = path.join(shards[1], 'detections', `${keyFileName('jitter:96')}.jsonl`);
    const good = await readFile(log, 'utf8');
    const lines = good.trim().split('\n');
    await writeFile(log, ['{"imageId": broken', ...lines.slice(1)].join('\n') + '\n');
    try {
      const e = await rejection(mergeShards({ runs: shards, out: path.join(root, 'm1'), force: true }));
      expect(e.code).toBe('ERR_MERGE');
      expect(e.message).toContain(`${log} line 1 is damaged`);
      expect(e.message).toContain(`${shards[1]} (shard 1/2)`);
      expect(e.message).toContain('rerun that shard');
      expect(e.message).not.toContain('Start over with --force');
    } finally {
      await writeFile(log, good);
    }
  });

  it('a damaged shard manifest: rerun that shard, not "delete it"', async () => {
    const file = path.join(shards[0], 'manifest.json');
    const good = await readFile(file, 'utf8');
    await writeFile(file, good.slice(0, 40));
    try {
      const e = await rejection(mergeShards({ runs: shards, out: path.join(root, 'm2') }));
      expect(e.code).toBe('ERR_MERGE');
      expect(e.message).toContain(`${file} is not valid JSON`);
      expect(e.message).toContain('rerun that shard');
      expect(e.message).not.toContain('Delete it');
    } finally {
      await writeFile(file, good);
    }
  });

  it('a file given as a shard is named as not a run directory', async () => {
    const e = await rejection(
      mergeShards({ runs: [shards[0], path.join(shards[1], 'manifest.json')], out: path.join(root, 'm3') }),
    );
    expect(e.code).toBe('ERR_RUN_STORE');
    expect(e.message).toContain(`${path.join(shards[1], 'manifest.json')} is not a run directory`);
    expect(e.message).not.toContain('ENOTDIR');
  });
});

describe('a merge whose lease of --out another process took over', () => {
  it('stops with ERR_RUN_LOCKED (not as if Ctrl-C) and writes no metrics into the directory it no longer holds', async () => {
    buildWorkers(); // the bootstrap of the bounds runs in worker threads from the built JavaScript
    const root = await tempDir('shiftbench-merge-lease-');
    const { file } = await makeDataset(path.join(root, 'ds'), 30, { seed: 16 });
    const base = { models: ['jitter:96'], dataset: file, bootstrapResamples: 20, bootstrapBounds: 1000 };
    const shards = [0, 1].map((i) => path.join(root, `shard-${i}`));
    for (let i = 0; i < 2; i++) await runShard({ ...base, shard: `${i}/2`, out: shards[i] });
    const out = path.join(root, 'merged');
    const lock = path.join(out, 'run.lock');
    const { theirs, logger, stop } = leaseTakenAtScoring(lock);
    const e = await rejection(mergeShards({ runs: shards, out }, { logger, lease: { heartbeatMs: 20 } }));
    stop();
    expect(e.code).toBe('ERR_RUN_LOCKED');
    expect(e.message).toContain('taken over by PID 7 on other-machine');
    expect(await readFile(path.join(out, 'metrics.json'), 'utf8').catch(() => null)).toBeNull();
    expect(JSON.parse(await readFile(lock, 'utf8'))).toMatchObject(theirs); // theirs, left in place
  });
});

describe('merging into an --out that holds the merge of another run', () => {
  it('is refused without --force even when the shards of both runs have the same run ids (started in the same second)', async () => {
    const root = await tempDir('shiftbench-same-second-');
    const { file } = await makeDataset(path.join(root, 'ds'), 6, { seed: 17 });
    const base = { models: ['jitter:96'], dataset: file, bootstrapResamples: 20, bootstrapBounds: 0 };
    // two runs that differ only in an analysis setting, their shards started within one second (one Indexed Job each)
    const a = [0, 1].map((i) => path.join(root, `a-${i}`));
    const b = [0, 1].map((i) => path.join(root, `b-${i}`));
    const second = new Date('2026-12-01T12:00:00.100Z').getTime();
    vi.useFakeTimers({ toFake: ['Date'], now: second });
    try {
      for (let i = 0; i < 2; i++) await runShard({ ...base, shard: `${i}/2`, out: a[i] });
      vi.setSystemTime(second + 500);
      for (let i = 0; i < 2; i++) await runShard({ ...base, scoreThreshold: 0.3, shard: `${i}/2`, out: b[i] });
    } finally {
      vi.useRealTimers();
    }
    const runId = async (d: string) => JSON.parse(await readFile(path.join(d, 'manifest.json'), 'utf8')).runId;
    expect(await runId(b[0])).toBe(await runId(a[0])); // the premise: run ids name the second, not the run
    const out = path.join(root, 'merged');
    await mergeShards({ runs: a, out });
    const before = await readFile(path.join(out, 'metrics.json'), 'utf8');
    const e = await rejection(mergeShards({ runs: b, out }));
    expect(e.code).toBe('ERR_OUTPUT');
    expect(e.message).toContain(`--out ${out} holds another run`);
    expect(await readFile(path.join(out, 'metrics.json'), 'utf8')).toBe(before);
    // the same shards again still redo the merge without --force
    await mergeShards({ runs: a, out });
  });
});

describe('shards whose runs stopped before any detector ran', () => {
  it('are refused by merge, naming them — not merged into metrics of no detector that exit 0', async () => {
    const root = await tempDir('shiftbench-no-detector-');
    const { file } = await makeDataset(path.join(root, 'ds'), 6, { seed: 18 });
    // jitter needs ground truth: on the image folder alone (label-free) it fails as it loads, after the manifest
    const base = { models: ['jitter:96'], dataset: path.join(path.dirname(file), 'images'), bootstrapResamples: 20 };
    const shards = [0, 1].map((i) => path.join(root, `shard-${i}`));
    for (let i = 0; i < 2; i++) {
      const failed = await rejection(runShard({ ...base, shard: `${i}/2`, out: shards[i] }));
      expect(failed.message).toContain('needs a dataset with labels');
    }
    const out = path.join(root, 'merged');
    const e = await rejection(mergeShards({ runs: shards, out }));
    expect(e.code).toBe('ERR_MERGE');
    expect(e.message).toContain(`${shards[0]} (shard 0/2) holds no detections`);
    expect(await readFile(path.join(out, 'metrics.json'), 'utf8').catch(() => null)).toBeNull();
  });
});

describe('a shard that another process still writes', () => {
  it('is named by merge with the fix that works for a merge (wait for it), not "use another --out"', async () => {
    const root = await tempDir('shiftbench-shard-busy-');
    const { file } = await makeDataset(path.join(root, 'ds'), 4, { seed: 19 });
    const shards = [0, 1].map((i) => path.join(root, `shard-${i}`));
    for (let i = 0; i < 2; i++)
      await runShard({ models: ['jitter:96'], dataset: file, bootstrapResamples: 20, shard: `${i}/2`, out: shards[i] });
    const { RunLock } = await import('../../src/core/lock.js');
    const held = await RunLock.acquire(shards[1], { info: () => undefined, warn: () => undefined }); // a shard run still going
    try {
      const e = await rejection(mergeShards({ runs: shards, out: path.join(root, 'merged') }));
      expect(e.code).toBe('ERR_RUN_LOCKED');
      expect(e.message).toContain(`${shards[1]} is in use by PID ${process.pid}`);
      expect(e.message).toContain('wait for it to finish, then merge');
      expect(e.message).not.toContain('Use another --out');
    } finally {
      await held.release();
    }
  });
});

describe('shards resumed with a smaller --limit', () => {
  it('merge as a one-process run does: the records of images the run no longer selects are left out, nothing is recomputed', async () => {
    const root = await tempDir('shiftbench-shard-limit-');
    const { file: dataset } = await makeDataset(path.join(root, 'ds'), 12, { seed: 5 });
    const base: RunOptions = { models: ['jitter:96'], dataset, shifts: 'grid:1', bootstrapResamples: 20 };
    const dirs = [0, 1].map((i) => path.join(root, `shard-${i}`));
    for (let i = 0; i < 2; i++) await runShard({ ...base, shard: `${i}/2`, out: dirs[i] });
    // the same shards, now for the first 7 images: every detection is stored already (the log keeps the others)
    for (let i = 0; i < 2; i++) {
      const r = await runShard({ ...base, limit: 7, shard: `${i}/2`, out: dirs[i] });
      expect(r.computedImages['jitter:96']).toBe(0);
    }
    const whole = await runBenchmark({ ...base, limit: 7, out: path.join(root, 'whole') });
    const merged = await mergeShards({ runs: dirs, out: path.join(root, 'merged') });
    expect(merged.images).toBe(7);
    expect(comparable(merged.metrics)).toEqual(comparable(whole.metrics));
  });
});
