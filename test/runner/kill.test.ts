import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunMetrics } from '../../src/core/types.js';
import { startProcess } from '../helpers/cli.js';
import { REPO_ROOT } from '../helpers/shared.js';
import { makeDataset, tempDir } from './fixtures.js';

const CHILD = path.join(REPO_ROOT, 'test/runner/fixtures/childRun.ts');

function start(dataset: string, out: string, delayMs: number) {
  return startProcess(process.execPath, ['--import', 'tsx', CHILD, dataset, out, String(delayMs)]);
}

function comparable(m: RunMetrics): unknown {
  return { ...m, runId: '', results: m.results.map((r) => ({ ...r, timing: null })) };
}

function jsonlLines(file: string): number {
  if (!existsSync(file)) return 0;
  return readFileSync(file, 'utf8').split('\n').length - 1;
}

describe('runBenchmark killed with SIGKILL', () => {
  it('resumes after kill -9 and gives the metrics of an uninterrupted run', async () => {
    const root = await tempDir();
    const N = 12;
    const { file: dataset } = await makeDataset(path.join(root, 'ds'), N, { seed: 5 });

    const full = await start(dataset, path.join(root, 'full'), 0).done;
    expect(full.code, full.stderr).toBe(0);
    const reference = JSON.parse(full.stdout);
    expect(reference.computed).toBe(N);

    const out = path.join(root, 'killed');
    const jsonl = path.join(out, 'detections', 'jitter.jsonl');
    const run = start(dataset, out, 40); // 4 shifts × 40 ms per image
    const deadline = Date.now() + 60_000;
    while (jsonlLines(jsonl) < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    run.child.kill('SIGKILL');
    const killed = await run.done;
    expect(killed.signal).toBe('SIGKILL');
    const stored = jsonlLines(jsonl);
    expect(stored).toBeGreaterThanOrEqual(3);
    expect(stored).toBeLessThan(N);
    expect(existsSync(path.join(out, 'metrics.json'))).toBe(false);

    const resumed = await start(dataset, out, 0).done;
    expect(resumed.code, resumed.stderr).toBe(0);
    const result = JSON.parse(resumed.stdout);
    expect(result.computed).toBe(N - stored);
    expect(result.inputs).toBe((N - stored) * 4);
    expect(comparable(result.metrics)).toEqual(comparable(reference.metrics));
  });
});
