/**
 * A rescore (`report RUN --score-threshold`) takes the run lock; Ctrl-C and SIGTERM stop it at once
 * (its scoring worker threads terminated), release the lock, leave metrics.json as it was and
 * exit 128 + the signal's number (runs stopped by a signal: test/runner/sigint.test.ts).
 */
import { existsSync, readFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCli, until } from '../helpers/cli.js';
import { buildWorkers } from '../helpers/workerBuild.js';
import { makeDataset, tempDir } from '../runner/fixtures.js';

const roots: string[] = [];
afterAll(async () => {
  for (const r of roots) await rm(r, { recursive: true, force: true });
});

describe('shiftbench report RUN --score-threshold (a rescore) stopped by a signal', () => {
  let root: string;
  let out: string;

  beforeAll(async () => {
    buildWorkers(); // the bound searches run in worker threads from the built JavaScript
    root = await tempDir();
    roots.push(root);
    const { file: dataset } = await makeDataset(path.join(root, 'ds'), 30, { seed: 4 });
    out = path.join(root, 'run');
    const made = await startCli([
      'run',
      '--model',
      'jitter:96',
      '--dataset',
      dataset,
      '--out',
      out,
      '--bootstrap',
      '20',
      '--bootstrap-bounds',
      '20',
    ]).done;
    expect(made.code, made.stderr).toBe(0);
  });

  it.each([
    ['SIGINT', 130, 'stopped'],
    ['SIGTERM', 143, 'stopped by SIGTERM'],
  ] as const)(
    '%s while rescoring: exit %i, run.lock released, metrics.json unchanged, the same command rescores',
    async (sig, exitCode, stoppedBy) => {
      const metricsFile = path.join(out, 'metrics.json');
      const before = readFileSync(metricsFile, 'utf8');
      // 1000 bootstrap resamples of the bound searches: seconds of scoring in worker threads
      const args = ['report', out, '--score-threshold', '0.4', '--bootstrap-bounds', '1000', '--format', 'json'];
      args.push('--out', path.join(root, `report-${sig}.json`));
      const first = startCli(args);
      await until(() => first.stderr().includes('jitter:96: scoring'));
      expect(first.stderr()).toContain('jitter:96: scoring');
      expect(existsSync(path.join(out, 'run.lock'))).toBe(true);
      await new Promise((r) => setTimeout(r, 300)); // inside the bound searches
      first.child.kill(sig);
      const stopped = await first.done;
      expect(stopped.signal, stopped.stderr).toBe(null);
      expect(stopped.code, stopped.stderr).toBe(exitCode);
      expect(stopped.stderr).toContain(`${stoppedBy}: metrics.json is unchanged; rerun the same command to rescore`);
      expect(existsSync(path.join(out, 'run.lock'))).toBe(false);
      expect(readFileSync(metricsFile, 'utf8')).toBe(before);
      const second = await startCli(args).done;
      expect(second.code, second.stderr).toBe(0);
      expect(second.stderr).not.toContain('taking over the lock');
      const metrics = JSON.parse(readFileSync(metricsFile, 'utf8'));
      expect(metrics.results[0].analysis.boundsInterval.resamples).toBe(1000);
      // the next test starts from the run as it was
      await writeFile(metricsFile, before);
    },
  );
});
