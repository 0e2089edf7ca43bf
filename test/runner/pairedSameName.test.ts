/**
 * Two models whose files share a display name (runs/exp1/best.onnx and runs/exp2/best.onnx: keys `best` and `best#2`,
 * both with model "best") each have their own plain detector. A mitigation of the second must be paired with, and
 * costed against, `best#2` — its own model on its own images — never with the first model's plain detector.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunMetrics } from '../../src/core/types.js';
import { makeRun, makeRunFixture, type RunFixture } from '../report/runs.js';
import { fakeEnv, gtDetector } from './fixtures.js';

describe('paired differences of models that share a display name', () => {
  let fx: RunFixture;
  let metrics: RunMetrics;
  let dir: string;

  beforeAll(async () => {
    fx = await makeRunFixture(16);
    const files = ['exp1', 'exp2'].map((d) => path.join(fx.root, 'runs', d, 'best.onnx'));
    for (const f of files) {
      await mkdir(path.dirname(f), { recursive: true });
      await writeFile(f, 'not read: the fakes stand in for it');
    }
    // exp1: exact boxes (range 0); exp2: boxes moved by up to 3 px at every shift but (0,0)
    const loaders = fakeEnv({
      [files[0]]: () => gtDetector('exact', fx.gt),
      [files[1]]: () => gtDetector('shaky', fx.gt, { noisePx: 3 }),
    });
    ({ metrics, dir } = await makeRun(fx, 'same-name', { models: files, mitigations: ['fix'] }, 3, {
      loadDetector: loaders.loadDetector,
    }));
  });
  afterAll(async () => {
    await rm(fx.root, { recursive: true, force: true });
  });

  it("best#2+fix is paired with best#2 (its own plain detector), Δ from best#2's numbers", () => {
    expect(metrics.results.map((r) => r.key)).toEqual(['best', 'best+fix', 'best#2', 'best#2+fix']);
    const by = (k: string) => metrics.results.find((r) => r.key === k)!;
    expect(by('best#2').bounds!.mapRange).toBeGreaterThan(0);
    const p = by('best#2+fix').analysis!.paired;
    expect(p.map((x) => x.against)).toEqual(['best#2']);
    expect(p[0].deltaMapRange.value).toBeCloseTo(by('best#2+fix').bounds!.mapRange - by('best#2').bounds!.mapRange, 12);
    expect(by('best+fix').analysis!.paired.map((x) => x.against)).toEqual(['best']);
    // the cost ratio too: against its own plain detector's median seconds per image
    const t = by('best#2+fix').timing;
    expect(t.costRatio).toBe(t.medianImageSeconds! / by('best#2').timing.medianImageSeconds!);
  });

  it("the report shows best#2+fix's difference to best#2 with its paired interval", async () => {
    const html = await readFile(path.join(dir, 'report.html'), 'utf8');
    const row = html.split('\n').find((l) => l.startsWith('<tr data-key="best#2+fix">'))!;
    const p = metrics.results.find((r) => r.key === 'best#2+fix')!.analysis!.paired[0];
    const pp = (v: number) => `${v < 0 ? '−' : v > 0 ? '+' : '±'}${Math.abs(v * 100).toFixed(2)} pp`;
    expect(row).toContain(
      `<span class="delta">${pp(p.deltaMapRange.value)} <span class="ci" title="95% paired bootstrap interval">` +
        `[${pp(p.deltaMapRange.lo)}, ${pp(p.deltaMapRange.hi)}]</span> vs plain</span>`,
    );
  });
});
