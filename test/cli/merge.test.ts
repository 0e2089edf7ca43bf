/**
 * `shiftbench run --shard i/n` in three separate processes, then `shiftbench merge`: the
 * merged metrics equal those of one `shiftbench run` over every image (issue 14.4).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunMetrics } from '../../src/core/types.js';
import { runCli } from '../helpers/cli.js';
import { comparable, makeDataset, tempDir } from '../runner/fixtures.js';

describe('shiftbench merge (processes)', () => {
  it('3 shard processes merged give the metrics of one process, number for number', async () => {
    const root = await tempDir('shiftbench-merge-cli-');
    const { file: dataset } = await makeDataset(path.join(root, 'ds'), 15, { seed: 3 });
    const args = [
      'run',
      '--model',
      'jitter:96',
      '--dataset',
      dataset,
      '--bootstrap',
      '50',
      '--bootstrap-bounds',
      '20',
      '--quiet',
    ];
    const shards = [0, 1, 2].map((i) => path.join(root, `shard-${i}`));
    const runs = await Promise.all(shards.map((out, i) => runCli([...args, '--shard', `${i}/3`, '--out', out])));
    for (const r of runs) {
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^shard \d\/3: \d+ of 15 images stored in /);
    }
    const merged = await runCli(['merge', ...shards, '--out', path.join(root, 'merged'), '--quiet']);
    expect(merged.code, merged.stderr).toBe(0);
    expect(merged.stdout).toContain(`merged 3 shards, 15 images: ${path.join(root, 'merged')}`);
    const whole = await runCli([...args, '--out', path.join(root, 'whole')]);
    expect(whole.code, whole.stderr).toBe(0);
    const read = async (dir: string) =>
      JSON.parse(await readFile(path.join(root, dir, 'metrics.json'), 'utf8')) as RunMetrics;
    const [m, w] = [await read('merged'), await read('whole')];
    expect(w.results[0].bounds!.mapRange).toBeGreaterThan(0);
    expect(JSON.stringify(comparable(m))).toBe(JSON.stringify(comparable(w)));
    // a violation exits 1 with the ERR_MERGE message naming the directories
    const bad = await runCli(['merge', shards[0], shards[2], '--out', path.join(root, 'bad')]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('shard 1/3 missing');
  });
});
