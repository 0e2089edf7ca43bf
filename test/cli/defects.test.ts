/**
 * Issue 10, smaller defects of `run`: each was reproduced on the code before its fix.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, readdir, readFile, rename, rm, symlink, writeFile, copyFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { CocoGroundTruth, Logger } from '../../src/core/types.js';
import { keyFileName, safeFileName } from '../../src/core/fileNames.js';
import { runBenchmark, type RunnerEnv } from '../../src/runner/index.js';
import { REPO_ROOT } from '../helpers/shared.js';
import { gtDetector, makeDataset, tempDir } from '../runner/fixtures.js';

/** The detections folder of `key` among the run's logs (`<folder>.jsonl`), found through the run's own naming. */
function safeKeyDir(logs: string[], key: string): string {
  const name = keyFileName(key);
  expect(logs).toContain(`${name}.jsonl`);
  return name;
}

const TSX_CLI = ['--import', 'tsx', path.join(REPO_ROOT, 'src/cli/index.ts')];
function cli(args: string[]) {
  const r = spawnSync(process.execPath, [...TSX_CLI, ...args], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('run: smaller defects (issue 10)', () => {
  let root: string;
  let dataset: string;
  let gt: CocoGroundTruth;

  beforeAll(async () => {
    root = await tempDir('shiftbench-defects-');
    ({ file: dataset, gt } = await makeDataset(path.join(root, 'ds'), 3));
  });

  const counting = () => {
    const state = { loads: 0 };
    const env: Partial<RunnerEnv> = {
      loadDetector: async () => (state.loads++, gtDetector('oracle', gt)),
      listModels: async () => [],
    };
    return { state, env };
  };

  it('--bootstrap 0 is a usage error (exit 2, naming the flag) before any model work', async () => {
    const r = cli([
      'run',
      '--model',
      'oracle',
      '--dataset',
      dataset,
      '--out',
      path.join(root, 'b0'),
      '--bootstrap',
      '0',
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--bootstrap');
    expect(existsSync(path.join(root, 'b0'))).toBe(false);
    const { state, env } = counting();
    const err = await runBenchmark(
      { models: ['oracle'], dataset, out: path.join(root, 'b0-lib'), bootstrapResamples: 0 },
      { env },
    ).catch((e) => e);
    expect(err.code).toBe('ERR_INVALID_OPTION');
    expect(err.message).toContain('--bootstrap');
    expect(err.message).not.toContain('bootstrapResamples');
    expect(state.loads).toBe(0);
  });

  it('--backend must be a known backend, for every model format', async () => {
    const err = await runBenchmark({
      models: ['zoo-fcos'],
      dataset,
      out: path.join(root, 'backend'),
      backend: 'foo',
    }).catch((e) => e);
    expect(err.code).toBe('ERR_INVALID_OPTION');
    expect(err.message).toContain('--backend');
    expect(err.message).toMatch(/auto, tfjs-node-gpu, tfjs-node, wasm, cpu/);
  });

  it('--out /proc/x fails at once with ERR_OUTPUT instead of spinning', async () => {
    const started = Date.now();
    const err = await runBenchmark({ models: ['oracle'], dataset, out: '/proc/shiftbench-x/run' }).catch((e) => e);
    expect(err.code).toBe('ERR_OUTPUT');
    expect(err.message).toContain('/proc/shiftbench-x/run');
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('--out a non-empty folder that is not a run directory is refused; an empty one or a run directory is used', async () => {
    const busy = path.join(root, 'busy');
    await mkdir(busy, { recursive: true });
    await writeFile(path.join(busy, 'thesis.tex'), 'precious');
    const { state, env } = counting();
    const err = await runBenchmark({ models: ['oracle'], dataset, out: busy, bootstrapResamples: 20 }, { env }).catch(
      (e) => e,
    );
    expect(err.code).toBe('ERR_OUTPUT');
    expect(err.message).toContain('--out');
    expect(err.message).toContain('not empty');
    expect(await readdir(busy)).toEqual(['thesis.tex']);
    expect(state.loads).toBe(0);
    const empty = path.join(root, 'empty');
    await mkdir(empty);
    await runBenchmark({ models: ['oracle'], dataset, out: empty, bootstrapResamples: 20 }, { env });
    await runBenchmark({ models: ['oracle'], dataset, out: empty, bootstrapResamples: 20 }, { env }); // its own run directory: resumed
  });

  it('an image that is a symlink pointing outside the image folder is not followed (skipped, named)', async () => {
    const ds = await makeDataset(path.join(root, 'ds-link'), 3, { seed: 5 });
    const outside = path.join(root, 'outside.png');
    await copyFile(path.join(root, 'ds-link', 'images', '002.png'), outside);
    const target = path.join(root, 'ds-link', 'images', '002.png');
    await (await import('node:fs/promises')).rm(target);
    await symlink(outside, target);
    const det = gtDetector('oracle', ds.gt);
    const { metrics } = await runBenchmark(
      { models: ['oracle'], dataset: ds.file, out: path.join(root, 'link-run'), bootstrapResamples: 20 },
      { env: { loadDetector: async () => det, listModels: async () => [] } },
    );
    expect(det.imageIds).toEqual([1, 3]);
    expect(metrics.results[0].skippedImages.map((s) => s.imageId)).toEqual([2]);
    expect(metrics.results[0].skippedImages[0].reason).toMatch(/symbolic link.*outside/);
  });

  it('--force removes the previous report.html with the rest of the run', async () => {
    const out = path.join(root, 'force-report');
    await runBenchmark({ models: ['oracle'], dataset, out, bootstrapResamples: 20 }, { env: counting().env });
    expect(existsSync(path.join(out, 'report.html'))).toBe(true);
    const failing = {
      loadDetector: async () => gtDetector('oracle', gt, { throwOnImage: 1 }),
      listModels: async () => [],
    };
    await runBenchmark(
      { models: ['oracle'], dataset, out, shifts: 'grid:2', force: true, bootstrapResamples: 20 },
      { env: failing },
    ).catch(() => undefined);
    expect(existsSync(path.join(out, 'report.html'))).toBe(false);
    expect(existsSync(path.join(out, 'report.json'))).toBe(false);
  });

  it('a failed start (unknown --model, a plug-in that does not import) does not block the corrected command', async () => {
    const out = path.join(root, 'failed-start');
    const bad = await runBenchmark({ models: ['no-such-model'], dataset, out, bootstrapResamples: 20 }).catch((e) => e);
    expect(bad.code).toBe('ERR_INVALID_OPTION');
    expect(existsSync(out)).toBe(false); // the folder it had created is gone again
    const ok = await runBenchmark({ models: ['oracle'], dataset, out, shifts: 'grid:2', bootstrapResamples: 20 });
    expect(ok.metrics.results[0].imagesEvaluated).toBe(3);

    const out2 = path.join(root, 'failed-plugin');
    const plugin = path.join(root, 'broken.mjs');
    await writeFile(plugin, 'throw new Error("syntax of my plug-in");\n');
    const perr = await runBenchmark({
      models: ['p/d'],
      plugins: [plugin],
      dataset,
      out: out2,
      bootstrapResamples: 20,
    }).catch((e) => e);
    expect(perr.code).toBe('ERR_PLUGIN');
    const ok2 = await runBenchmark({ models: ['oracle'], dataset, out: out2, seed: 4, bootstrapResamples: 20 });
    expect(ok2.metrics.results[0].imagesEvaluated).toBe(3);
  });

  it('a torn last line is recomputed with a message', async () => {
    const out = path.join(root, 'torn');
    await runBenchmark({ models: ['oracle'], dataset, out, bootstrapResamples: 20 }, { env: counting().env });
    const jsonl = path.join(out, 'detections', 'oracle.jsonl');
    const lines = (await readFile(jsonl, 'utf8')).split('\n');
    await writeFile(jsonl, `${lines.slice(0, 2).join('\n')}\n${lines[2].slice(0, 20)}`);
    const messages: string[] = [];
    const logger: Logger = { info: (m) => messages.push(m), warn: (m) => messages.push(m) };
    const r = await runBenchmark(
      { models: ['oracle'], dataset, out, bootstrapResamples: 20 },
      { env: counting().env, logger },
    );
    expect(r.computedImages.oracle).toBe(1);
    expect(messages.join('\n')).toMatch(/oracle: the last line of detections\/oracle\.jsonl was torn.*computed again/);
  });

  it('antialias:post on a detector whose graph it cannot rewrite (a plug-in, a fake) is refused before any model runs', () => {
    const plugin = path.join(REPO_ROOT, 'examples', 'plugins', 'blob-detector.mjs');
    for (const [name, args] of [
      ['plugin', ['--plugin', plugin, '--model', 'blobs/saturated']],
      ['fake', ['--model', 'jitter']],
    ] as const) {
      const out = path.join(root, `aa-${name}`);
      const r = cli(['run', ...args, '--mitigation', 'antialias:post', '--dataset', dataset, '--out', out, '-q']);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain('antialias:post');
      expect(r.stderr).toContain('cannot rewrite');
      expect(existsSync(path.join(out, 'detections'))).toBe(false);
    }
  });

  it('a plug-in detector named bare or as plugin/detector is one detector: one key (plugin/detector), stored once', async () => {
    const plugin = path.join(REPO_ROOT, 'examples', 'plugins', 'blob-detector.mjs');
    const out = path.join(root, 'plugin-key');
    const run = (model: string) =>
      cli(['run', '--plugin', plugin, '--model', model, '--dataset', dataset, '--out', out, '--bootstrap', '20']);
    const bare = run('saturated');
    expect(bare.code, bare.stderr).toBe(0);
    const metrics = JSON.parse(await readFile(path.join(out, 'metrics.json'), 'utf8'));
    expect(metrics.results.map((r: { key: string }) => r.key)).toEqual(['blobs/saturated']);
    const full = run('blobs/saturated');
    expect(full.code, full.stderr).toBe(0);
    expect(full.stderr + full.stdout).not.toMatch(/[1-9]\d* images? to run/);
    expect((await readdir(path.join(out, 'detections'))).filter((f) => f.endsWith('.jsonl'))).toEqual([
      `${keyFileName('blobs/saturated')}.jsonl`,
    ]);
  });

  it("two detector keys that one file name would serve (a/b and a_b, or a long shared prefix) get two folders: no row shows the other one's detections", async () => {
    // two shift-ensemble mitigations whose keys differ only after the first 120 characters
    const A = Array.from({ length: 30 }, (_, i) => `${i},0`).join(';');
    const B = Array.from({ length: 29 }, (_, i) => `${i},0`).join(';') + ';0,1';
    const out = path.join(root, 'collide');
    const r = cli([
      ...['run', '--model', 'jitter', '--dataset', dataset, '--out', out, '--bootstrap', '20', '-q'],
      ...['--mitigation', `shift-ensemble:${A}`, '--mitigation', `shift-ensemble:${B}`],
    ]);
    expect(r.code, r.stderr).toBe(0);
    const logs = (await readdir(path.join(out, 'detections'))).filter((f) => f.endsWith('.jsonl'));
    expect(logs).toHaveLength(3);
    const metrics = JSON.parse(await readFile(path.join(out, 'metrics.json'), 'utf8'));
    const [, a, b] = metrics.results;
    expect(a.key).not.toBe(b.key);
    // each mitigated row is its own: the two ensembles' shift files differ
    const shiftFile = async (key: string) => {
      const dir = path.join(out, 'detections', safeKeyDir(logs, key));
      return readFile(path.join(dir, 'shift_1_0.json'), 'utf8');
    };
    expect(await shiftFile(a.key)).not.toBe(await shiftFile(b.key));
  });

  it('fewer than 10 images: no bounds interval and no paired verdict (every resample of one image is that image)', async () => {
    const out = path.join(root, 'few');
    const r = cli([
      ...['run', '--model', 'jitter', '--mitigation', 'input-blur:1', '--dataset', dataset, '--out', out],
      ...['--bootstrap', '20', '--bootstrap-bounds', '40'],
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toContain('significant');
    const metrics = JSON.parse(await readFile(path.join(out, 'metrics.json'), 'utf8'));
    expect(metrics.dataset.images).toBe(3);
    for (const res of metrics.results) {
      expect(res.bounds).not.toBeNull();
      expect(res.analysis.boundsInterval).toBeNull();
      expect(res.analysis.paired).toEqual([]);
      expect(res.analysis.notes.join(' ')).toContain('3 images');
    }
    // check cannot judge a limit on an interval that does not exist, and says why (not "add --bootstrap-bounds")
    const c = cli(['check', out, '--max-flip-rate', '0.5', '--max-range', '0.5']);
    expect(c.code).toBe(1);
    expect(c.stderr).toContain('jitter: 3 images — fewer than 10 give no 95% interval to judge on');
    expect(c.stderr).not.toContain('--bootstrap-bounds 200');
  });

  it('what the reports say: fewer than 10 images is the reason for no interval (not a bootstrap setting), and a missing cost ratio says why', async () => {
    const out = path.join(root, 'few-reports');
    const few = ['run', '--model', 'jitter', '--dataset', dataset, '--out', out, '--bootstrap', '20', '-q'];
    expect(cli(few).code).toBe(0);
    expect(cli([...few, '--mitigation', 'input-blur:1']).code).toBe(0); // the mitigation timed in a later run
    expect(cli(['report', out, '--format', 'md', '-q']).code).toBe(0);
    const md = await readFile(path.join(out, 'report.md'), 'utf8');
    const html = await readFile(path.join(out, 'report.html'), 'utf8');
    for (const text of [md, html]) {
      expect(text).toContain('3 images — fewer than 10');
      expect(text).not.toContain('bootstrap was off');
      expect(text).toContain('no cost ratio: jitter+input-blur:1 and jitter were timed in different runs');
    }
    const other = path.join(root, 'few-reports-2');
    expect(
      cli(['run', '--model', 'jitter', '--dataset', dataset, '--out', other, '--bootstrap', '20', '-q']).code,
    ).toBe(0);
    const c = cli(['compare', out, other]);
    expect(c.stdout).toContain('fewer than 10 images');
    expect(c.stdout).not.toContain('no ground truth');
  });

  it('a run directory written before keys were hashed into file names (detections/jitter+input-blur_1…) still reads', async () => {
    const out = path.join(root, 'legacy-names');
    const args = ['run', '--model', 'jitter', '--mitigation', 'input-blur:1', '--dataset', dataset, '--out', out];
    expect(cli([...args, '--bootstrap', '20', '-q']).code).toBe(0);
    const before = JSON.parse(await readFile(path.join(out, 'metrics.json'), 'utf8'));
    // the names an earlier shiftbench gave them
    const key = 'jitter+input-blur:1';
    const det = path.join(out, 'detections');
    await rename(path.join(det, `${keyFileName(key)}.jsonl`), path.join(det, `${safeFileName(key)}.jsonl`));
    await rename(path.join(det, keyFileName(key)), path.join(det, safeFileName(key)));
    const r = cli(['report', out, '--rescore', '-q']);
    expect(r.code, r.stderr).toBe(0);
    const after = JSON.parse(await readFile(path.join(out, 'metrics.json'), 'utf8'));
    expect(after.results[1].bounds).toEqual(before.results[1].bounds);
    expect(after.results[1].consistency).toEqual(before.results[1].consistency);
    const html = await readFile(path.join(out, 'report.html'), 'utf8');
    expect(html).not.toContain('per-shift detection files are missing');
  });

  it('`run … | true` (the reader gone) ends without an EPIPE stack trace', () => {
    const out = path.join(root, 'epipe');
    const cmd = `"${process.execPath}" ${TSX_CLI.map((a) => `"${a}"`).join(' ')} run --model oracle --dataset "${dataset}" --out "${out}" --bootstrap 20 -q | true`;
    const r = spawnSync('bash', ['-c', `${cmd}; echo "exit=\${PIPESTATUS[0]}" >&2`], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.stderr).not.toMatch(/EPIPE|Error:|at /);
    expect(r.stderr).toContain('exit=0');
    expect(existsSync(path.join(out, 'metrics.json'))).toBe(true);
  });

  it('report --out naming a folder: the error names the flag, not an internal field', async () => {
    const out = path.join(root, 'report-out');
    await runBenchmark({ models: ['oracle'], dataset, out, bootstrapResamples: 20 }, { env: counting().env });
    const r = cli(['report', out, '--out', root]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--out');
    expect(r.stderr).not.toContain('outFile');
  });
});

describe('shiftbench report RUN --score-threshold (CLI)', () => {
  it('rescores a saved run from its stored detections and re-renders the report', async () => {
    const root = await tempDir('shiftbench-rescore-cli-');
    const { file } = await makeDataset(path.join(root, 'ds'), 2);
    const out = path.join(root, 'run');
    const run = cli(['run', '--model', 'jitter', '--dataset', file, '--out', out, '--bootstrap', '20', '-q']);
    expect(run.code).toBe(0);
    const before = JSON.parse(await readFile(path.join(out, 'metrics.json'), 'utf8'));
    expect(before.results[0].consistency.scoreThreshold).toBe(0.5);
    const r = cli(['report', out, '--score-threshold', '0.25', '--bootstrap', '20', '--bootstrap-seed', '3']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(path.join(out, 'report.html'));
    const after = JSON.parse(await readFile(path.join(out, 'metrics.json'), 'utf8'));
    expect(after.results[0].consistency.scoreThreshold).toBe(0.25);
    expect(after.results[0].consistency.bootstrap).toEqual({ resamples: 20, seed: 3 });
    expect(after.results[0].bounds).toEqual(before.results[0].bounds); // the bounds do not depend on τ
    const bad = cli(['report', out, '--bootstrap', '0']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--bootstrap');
  });

  it('a run whose detection log is gone: rescore and compare name the missing file and write nothing', async () => {
    const root = await tempDir('shiftbench-missing-log-');
    const { file } = await makeDataset(path.join(root, 'ds'), 2);
    const out = path.join(root, 'run');
    expect(cli(['run', '--model', 'jitter', '--dataset', file, '--out', out, '--bootstrap', '20', '-q']).code).toBe(0);
    const copy = path.join(root, 'copy');
    await cp(out, copy, { recursive: true });
    const log = path.join(copy, 'detections', 'jitter.jsonl');
    await rm(log);
    const metricsBefore = await readFile(path.join(copy, 'metrics.json'), 'utf8');
    for (const args of [
      ['report', copy, '--score-threshold', '0.3'],
      ['compare', out, copy],
    ]) {
      const r = cli(args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr).toContain(`${log} is missing`);
      expect(r.stderr).not.toContain('is not finished');
      expect(existsSync(log)).toBe(false);
    }
    expect(await readFile(path.join(copy, 'metrics.json'), 'utf8')).toBe(metricsBefore);
    // the fix the message gives: the same run command computes them again
    expect(cli(['run', '--model', 'jitter', '--dataset', file, '--out', copy, '--bootstrap', '20', '-q']).code).toBe(0);
    expect(existsSync(log)).toBe(true);
    expect(cli(['compare', out, copy, '-q']).code).toBe(0);
  });

  it('a cut-off metrics.json: report, check and compare give the fix that needs no model, and report --rescore rewrites it', async () => {
    const root = await tempDir('shiftbench-cut-metrics-');
    const { file } = await makeDataset(path.join(root, 'ds'), 2);
    const out = path.join(root, 'run');
    expect(cli(['run', '--model', 'jitter', '--dataset', file, '--out', out, '--bootstrap', '20', '-q']).code).toBe(0);
    const copy = path.join(root, 'copy');
    await cp(out, copy, { recursive: true });
    const whole = await readFile(path.join(out, 'metrics.json'), 'utf8');
    await writeFile(path.join(copy, 'metrics.json'), whole.slice(0, 300));
    for (const args of [
      ['report', copy],
      ['check', copy, '--max-range', '0.5'],
      ['compare', out, copy],
    ]) {
      const r = cli(args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr, args.join(' ')).toContain(`shiftbench report ${copy} --rescore`);
      expect(r.stderr).not.toContain('--force');
    }
    const r = cli(['report', copy, '--rescore', '-q']);
    expect(r.code, r.stderr).toBe(0);
    const before = JSON.parse(whole);
    const after = JSON.parse(await readFile(path.join(copy, 'metrics.json'), 'utf8'));
    expect(after.results.map((x: { key: string }) => x.key)).toEqual(before.results.map((x: { key: string }) => x.key));
    expect(after.results[0].bounds).toEqual(before.results[0].bounds);
    expect(after.results[0].consistency).toEqual(before.results[0].consistency);
    expect(existsSync(path.join(copy, 'detections', 'jitter.jsonl'))).toBe(true);
  });

  it('no report of an earlier setup stays beside a new metrics.json: rescore, resume with new settings, --force', async () => {
    const root = await tempDir('shiftbench-stale-reports-');
    const { file } = await makeDataset(path.join(root, 'ds'), 2);
    const out = path.join(root, 'run');
    const runArgs = ['run', '--model', 'jitter', '--dataset', file, '--out', out, '--bootstrap', '20', '-q'];
    expect(cli(runArgs).code).toBe(0);
    const tauOf = async (f: string) => {
      const text = await readFile(path.join(out, f), 'utf8');
      if (f.endsWith('.csv')) {
        const [head, row] = text
          .trimEnd()
          .split('\n')
          .map((l) => l.split(','));
        return Number(row[head.indexOf('score_threshold')]);
      }
      if (f.endsWith('.json')) return JSON.parse(text).detectors.jitter.scoreThreshold as number;
      const m = /τ = (\d+(?:\.\d+)?)/.exec(text);
      return m ? Number(m[1]) : NaN;
    };
    // every report file of the run says what metrics.json says, or is not there
    const consistent = async (tau: number) => {
      const metrics = JSON.parse(await readFile(path.join(out, 'metrics.json'), 'utf8'));
      expect(metrics.results[0].consistency.scoreThreshold).toBe(tau);
      for (const f of ['report.csv', 'report.json', 'report.html'])
        if (existsSync(path.join(out, f))) expect(await tauOf(f), f).toBe(tau);
      if (existsSync(path.join(out, 'report.md')))
        expect(await readFile(path.join(out, 'report.md'), 'utf8')).toContain(`τ = ${tau}`);
    };
    expect(cli(['report', out, '--format', 'csv', '-q']).code).toBe(0);
    expect(cli(['report', out, '--format', 'md', '-q']).code).toBe(0);
    await consistent(0.5);
    // (a) a rescore that writes one format: the others are not left from the earlier metrics
    expect(cli(['report', out, '--score-threshold', '0.3', '--format', 'md', '-q']).code).toBe(0);
    await consistent(0.3);
    // the format asked for is rendered once (by the command), the others once by the rescore
    const again = cli(['report', out, '--score-threshold', '0.3']);
    expect(again.code).toBe(0);
    expect((again.stderr + again.stdout).split(`wrote ${path.join(out, 'report.html')}`)).toHaveLength(2);
    expect(again.stderr + again.stdout).toContain(`wrote ${path.join(out, 'report.md')}`);
    await consistent(0.3);
    // (b) the same run resumed with another analysis setting rescores: no report.csv of τ 0.3 stays
    expect(cli(['report', out, '--format', 'csv', '-q']).code).toBe(0);
    expect(cli([...runArgs, '--score-threshold', '0.4']).code).toBe(0);
    await consistent(0.4);
    // (c) --force with another setup removes every report of the old one
    expect(cli(['report', out, '--format', 'csv', '-q']).code).toBe(0);
    expect(cli(['report', out, '--format', 'md', '-q']).code).toBe(0);
    expect(cli([...runArgs, '--score-threshold', '0.35', '--shifts', 'grid:2', '--force']).code).toBe(0);
    await consistent(0.35);
  });
});
