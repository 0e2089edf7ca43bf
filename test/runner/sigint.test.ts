import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { keyFileName } from '../../src/core/fileNames.js';
import { SLOW_PLUGIN, startCli, until } from '../helpers/cli.js';
import { buildWorkers } from '../helpers/workerBuild.js';
import { makeDataset, tempDir } from './fixtures.js';

/**
 * Ctrl-C, SIGTERM (kill, `timeout`, a Kubernetes eviction, a Slurm preemption) and SIGHUP stop a run alike: after the
 * current batch (scoring at once), the run lock released (a retry elsewhere is not refused), exit 128 + the signal's
 * number, and the same command resumes.
 */
const RESUME = 'everything computed so far is stored; rerun the same command to resume';

describe.each([
  ['SIGINT', 130],
  ['SIGTERM', 143],
  ['SIGHUP', 129],
] as const)('shiftbench run stopped with %s', (sig, exitCode) => {
  it(`stops after the current batch with exit ${exitCode}, releases run.lock, says so, and the same command resumes`, async () => {
    const root = await tempDir();
    const { file: dataset } = await makeDataset(path.join(root, 'ds'), 12, { seed: 4 });
    const plugin = path.join(root, 'slow.mjs');
    await writeFile(plugin, SLOW_PLUGIN);
    const out = path.join(root, 'run');
    const args = ['run', '--model', 'slow/sleepy', '--plugin', plugin, '--dataset', dataset, '--out', out];
    args.push('--bootstrap', '20');
    const jsonl = path.join(out, 'detections', `${keyFileName('slow/sleepy')}.jsonl`);
    const lines = () => (existsSync(jsonl) ? readFileSync(jsonl, 'utf8').split('\n').length - 1 : 0);
    const first = startCli(args);
    await until(() => lines() >= 2);
    expect(existsSync(path.join(out, 'run.lock'))).toBe(true);
    first.child.kill(sig);
    const stopped = await first.done;
    expect(stopped.signal, stopped.stderr).toBe(null); // handled, not killed by the signal
    expect(stopped.code, stopped.stderr).toBe(exitCode);
    // Ctrl-C says what it said before; another signal is named
    expect(stopped.stderr).toContain(sig === 'SIGINT' ? 'stopping' : `${sig}: stopping`);
    expect(stopped.stderr).toContain(sig === 'SIGINT' ? `stopped: ${RESUME}` : `stopped by ${sig}: ${RESUME}`);
    expect(existsSync(path.join(out, 'run.lock'))).toBe(false);
    const kept = lines();
    expect(kept).toBeGreaterThanOrEqual(2);
    expect(kept).toBeLessThan(12);
    expect(existsSync(path.join(out, 'metrics.json'))).toBe(false);
    // at once, from "another host": no ERR_RUN_LOCKED
    const second = await startCli(args).done;
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).not.toContain('taking over the lock');
    expect(second.stderr).toContain(`slow/sleepy: ${12 - kept} images to run (${kept} stored)`);
    expect(lines()).toBe(12);
    expect(JSON.parse(readFileSync(path.join(out, 'metrics.json'), 'utf8')).results[0].imagesEvaluated).toBe(12);
  });
});

describe('shiftbench run stopped with Ctrl-C while scoring', () => {
  it('stops the scoring worker threads at once with exit 130, keeps every detection, and the same command scores again', async () => {
    buildWorkers(); // the bound searches run in worker threads from the built JavaScript
    const root = await tempDir();
    const { file: dataset } = await makeDataset(path.join(root, 'ds'), 30, { seed: 4 });
    const out = path.join(root, 'run');
    // 1000 bootstrap resamples of both bound searches: seconds of scoring in worker threads
    const args = [
      'run',
      '--model',
      'jitter:96',
      '--dataset',
      dataset,
      '--out',
      out,
      '--bootstrap',
      '50',
      '--bootstrap-bounds',
      '1000',
    ];
    const jsonl = path.join(out, 'detections', `${keyFileName('jitter:96')}.jsonl`);
    const first = startCli(args);
    await until(() => first.stderr().includes('jitter:96: scoring'));
    expect(first.stderr()).toContain('jitter:96: scoring');
    await new Promise((r) => setTimeout(r, 300)); // inside the bound searches
    const sentAt = Date.now();
    first.child.kill('SIGINT');
    const stopped = await first.done;
    const stopSeconds = (Date.now() - sentAt) / 1000;
    expect(stopped.code, stopped.stderr).toBe(130);
    expect(stopped.stderr).toContain('stopped: everything computed so far is stored; rerun the same command to resume');
    expect(existsSync(path.join(out, 'metrics.json'))).toBe(false);
    expect(readFileSync(jsonl, 'utf8').split('\n').length - 1).toBe(30);
    const started = Date.now();
    const second = await startCli(args).done;
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toContain('jitter:96: all 30 images already stored');
    const metrics = JSON.parse(readFileSync(path.join(out, 'metrics.json'), 'utf8'));
    expect(metrics.results[0].imagesEvaluated).toBe(30);
    expect(metrics.results[0].analysis.boundsInterval.resamples).toBe(1000);
    process.stderr.write(
      `[sigint while scoring] stopped ${stopSeconds.toFixed(2)} s after Ctrl-C; the full rerun took ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
    );
  });
});
