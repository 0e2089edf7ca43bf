/**
 * Issue 14 item 5: runs killed with SIGKILL at seeded random moments — during inference,
 * while the metrics are computed, while the per-shift files are written, and during
 * `merge` — and resumed with the same command give the metrics of an uninterrupted run,
 * and leave no temporary file behind. Small synthetic data and a slow fake keep it fast.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import type { RunMetrics } from '../../src/core/types.js';
import { REPO_ROOT } from '../helpers/shared.js';
import { makeDataset, tempDir } from './fixtures.js';

const CHILD = path.join(REPO_ROOT, 'test/runner/fixtures/killChild.ts');
const N = 8;
const SEED = 14_5;

interface Child {
  marks: Map<string, number>;
  /** Resolves when `phase` is marked (with the time it was). */
  at(phase: string): Promise<number>;
  kill(): void;
  done: Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
    result: { computed?: number; metrics: RunMetrics } | null;
    stderr: string;
  }>;
}

function start(args: string[]): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const marks = new Map<string, number>();
  const waiting = new Map<string, ((t: number) => void)[]>();
  let result: { computed?: number; metrics: RunMetrics } | null = null;
  let stderr = '';
  let pending = '';
  proc.stderr.on('data', (d) => (stderr += d));
  proc.stdout.on('data', (d: Buffer) => {
    pending += d.toString('utf8');
    for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      if (line.startsWith('MARK ')) {
        const phase = line.slice(5);
        const t = performance.now();
        if (!marks.has(phase)) marks.set(phase, t);
        for (const w of waiting.get(phase) ?? []) w(t);
        waiting.delete(phase);
      } else if (line.startsWith('{')) result = JSON.parse(line);
    }
  });
  const done = new Promise<Awaited<Child['done']>>((resolve) =>
    proc.on('exit', (code, signal) => resolve({ code, signal, result, stderr })),
  );
  return {
    marks,
    at: (phase) =>
      marks.has(phase)
        ? Promise.resolve(marks.get(phase)!)
        : new Promise((r) => waiting.set(phase, [...(waiting.get(phase) ?? []), r])),
    kill: () => proc.kill('SIGKILL'),
    done,
  };
}

/** Metrics without what differs between two runs of the same detections (run id, timings). */
function comparable(m: RunMetrics): unknown {
  return { ...m, runId: '', results: m.results.map((r) => ({ ...r, timing: null })) };
}

/** Every file under `dir` (relative paths). */
function files(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function finished(c: Child) {
  const r = await c.done;
  expect(r.code, r.stderr).toBe(0);
  return r.result!;
}

/** Polls until a file matching `test` exists under `dir` (or the child ends), then kills. */
async function killOnFile(c: Child, dir: string, test: (f: string) => boolean): Promise<void> {
  let ended = false;
  void c.done.then(() => (ended = true));
  while (!ended && !files(dir).some(test)) await sleep(1);
  c.kill();
}

describe('SIGKILL at seeded random moments, then the same command (issue 14.5)', () => {
  let root: string;
  let dataset: string;
  let reference: RunMetrics;
  /** Reference durations, ms: inference, metrics (scoring → evaluated), merge. */
  let inferenceMs: number;
  let scoringMs: number;
  let mergeMs: number;
  let shards: string[];
  let mergedReference: RunMetrics;
  const rng = new Rng(SEED);
  const landed: string[] = [];

  beforeAll(async () => {
    root = await tempDir('shiftbench-killmoments-');
    ({ file: dataset } = await makeDataset(path.join(root, 'ds'), N, { seed: 3 }));
    const c = start(['run', dataset, path.join(root, 'reference')]);
    const r = await finished(c);
    reference = r.metrics;
    inferenceMs = c.marks.get('scoring')! - c.marks.get('start')!;
    scoringMs = c.marks.get('evaluated')! - c.marks.get('scoring')!;
    shards = [0, 1].map((i) => path.join(root, `shard${i}`));
    for (const [i, dir] of shards.entries()) await finished(start(['shard', dataset, dir, `${i}/2`]));
    const m = start(['merge', path.join(root, 'merged-reference'), ...shards]);
    mergedReference = (await finished(m)).metrics;
    mergeMs = m.marks.get('done')! - m.marks.get('start')!;
  }, 120_000);

  /** Kills a run in `out` at `when`, resumes it, and checks the metrics and the directory. */
  async function killAndResume(name: string, when: (c: Child, out: string) => Promise<void>): Promise<void> {
    const out = path.join(root, name);
    const c = start(['run', dataset, out]);
    await when(c, out);
    const killed = await c.done;
    const jsonl = path.join(out, 'detections', 'jitter.jsonl');
    const stored = existsSync(jsonl) ? readFileSync(jsonl, 'utf8').split('\n').length - 1 : 0;
    const committed = files(path.join(out, 'detections', 'jitter')).filter((f) => /^shift_.*\.json$/.test(f)).length;
    const phase =
      killed.signal !== 'SIGKILL'
        ? 'after the end'
        : stored < N
          ? 'inference'
          : committed > 0
            ? 'per-shift files'
            : c.marks.has('evaluate')
              ? 'metrics'
              : 'reading the store';
    landed.push(`${name}: ${phase} (${stored}/${N} images stored, ${committed} shift files)`);
    const resumed = start(['run', dataset, out]);
    const r = await finished(resumed);
    expect(r.computed, name).toBe(N - stored);
    expect(comparable(r.metrics), name).toEqual(comparable(reference));
    expect(
      files(out).filter((f) => /\.tmp-\d+$/.test(f)),
      name,
    ).toEqual([]);
  }

  it('killed during inference (4 moments): only the missing images are detected again', async () => {
    for (let k = 0; k < 4; k++) {
      const u = rng.uniform(0.1, 0.9);
      await killAndResume(`inference-${k}`, async (c) => {
        await sleep((await c.at('start')) + u * inferenceMs - performance.now());
        c.kill();
      });
    }
    expect(landed.filter((l) => l.includes(': inference')).length).toBeGreaterThanOrEqual(2);
  }, 120_000);

  it('killed while scoring (3 moments): nothing is detected again, no metrics.json or per-shift file is half written', async () => {
    for (let k = 0; k < 3; k++) {
      const u = rng.uniform(0.05, 0.95);
      await killAndResume(`scoring-${k}`, async (c) => {
        await sleep((await c.at('scoring')) + u * scoringMs - performance.now());
        c.kill();
      });
    }
  }, 120_000);

  it('killed while the per-shift files are written (3 moments: after the k-th file of 4)', async () => {
    for (let k = 0; k < 3; k++) {
      const nth = rng.int(1, 3);
      await killAndResume(`files-${k}`, async (c, out) => {
        await c.at('evaluated');
        await killOnFile(
          c,
          path.join(out, 'detections', 'jitter'),
          () => files(path.join(out, 'detections', 'jitter')).filter((f) => /^shift_.*\.json$/.test(f)).length >= nth,
        );
      });
    }
  }, 120_000);

  it('killed during merge (2 moments): the same merge again gives the merged metrics, equal to one process', async () => {
    expect(comparable(mergedReference)).toEqual(comparable(reference));
    for (let k = 0; k < 2; k++) {
      const u = rng.uniform(0.3, 0.95);
      const out = path.join(root, `merge-${k}`);
      const c = start(['merge', out, ...shards]);
      await sleep((await c.at('start')) + u * mergeMs - performance.now());
      c.kill();
      const killed = await c.done;
      landed.push(
        `merge-${k}: ${killed.signal === 'SIGKILL' ? (c.marks.has('scoring') ? 'merge scoring' : 'merge reading shards') : 'after the end'}`,
      );
      const again = await finished(start(['merge', out, ...shards]));
      expect(comparable(again.metrics), `merge-${k}`).toEqual(comparable(reference));
      expect(
        files(out).filter((f) => /\.tmp-\d+$/.test(f)),
        `merge-${k}`,
      ).toEqual([]);
    }
    // where the 12 kills landed (the moments are seeded; a loaded machine moves them a little)
    process.stderr.write(`[kill moments] ${landed.join('; ')}\n`);
    expect(landed).toHaveLength(12);
  }, 120_000);
});
