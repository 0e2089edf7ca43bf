/**
 * `shiftbench report RUN --score-threshold τ` with an --out the command refuses (- for html; an existing folder) is a
 * usage error (exit 2) before anything is rescored (so is one whose folder cannot be made: a file in its path): metrics.json, the manifest and the reports stay as they were —
 * not rewritten with τ by a command that then reports failure.
 */
import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runBenchmark } from '../../src/runner/index.js';
import { REPO_ROOT } from '../helpers/shared.js';
import { makeDataset, tempDir } from '../runner/fixtures.js';

const TSX_CLI = ['--import', 'tsx', path.join(REPO_ROOT, 'src/cli/index.ts')];
function cli(args: string[]) {
  const r = spawnSync(process.execPath, [...TSX_CLI, ...args], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const FILES = ['metrics.json', 'manifest.json', 'report.html', 'report.json'];

describe('report RUN --score-threshold with an --out that is refused', () => {
  let root: string;
  let out: string;
  const read = async () => Promise.all(FILES.map((f) => readFile(path.join(out, f), 'utf8')));

  beforeAll(async () => {
    root = await tempDir('shiftbench-rescore-out-');
    const { file: dataset } = await makeDataset(path.join(root, 'ds'), 3, { seed: 5 });
    out = path.join(root, 'run');
    await runBenchmark({ models: ['jitter:96'], dataset, bootstrapResamples: 20, bootstrapBounds: 0, out });
  });

  it.each([
    ['--out - for html', ['--out', '-']],
    ['--out naming a folder (md)', ['--format', 'md', '--out', '<root>']],
    ['--out naming a folder (html)', ['--out', '<root>']],
    ['--out inside a file (html)', ['--out', '<root>/ds/instances.json/report.html']],
    ['--out inside a file (md)', ['--format', 'md', '--out', '<root>/ds/instances.json/sub/report.md']],
  ])('%s: exit 2 naming --out, nothing rescored', async (_name, extra) => {
    const before = await read();
    const r = cli(['report', out, '--score-threshold', '0.3', ...extra.map((a) => a.replace('<root>', root))]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('--out');
    expect(r.stderr).not.toContain('rescored');
    expect(await read()).toEqual(before);
    expect(JSON.parse(before[0]).results[0].consistency.scoreThreshold).toBe(0.5);
  });

  it('--gallery with a format that has no gallery (md, csv, json): exit 2 naming --gallery, not ignored', async () => {
    const before = await read();
    for (const format of ['md', 'csv', 'json']) {
      const r = cli(['report', out, '--score-threshold', '0.3', '--format', format, '--gallery', '5']);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toBe(
        `shiftbench: Expected no --gallery with --format ${format} (the flicker gallery is part of the html report) ` +
          'for --gallery but received "5"\n',
      );
    }
    expect(await read()).toEqual(before);
  });
});
