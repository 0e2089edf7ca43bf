/** The runner wired to the real datasets/detectors/mitigations/metrics modules (fakes and plug-ins; no model files). */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { keyFileName } from '../../src/core/fileNames.js';
import type { RunMetrics } from '../../src/core/types.js';
import { runBenchmark, runDemo } from '../../src/runner/index.js';
import { REPO_ROOT } from '../helpers/shared.js';
import { makeDataset, tempDir } from './fixtures.js';

const PLUGIN_API = pathToFileURL(path.join(REPO_ROOT, 'src/detectors/plugin-api.ts')).href;

/** A plug-in whose detector counts calls in a file and throws on image $THROW_ON; it also brings a mitigation. */
function pluginSource(countFile: string): string {
  return `
import { appendFileSync } from 'node:fs';
import { definePlugin } from ${JSON.stringify(PLUGIN_API)};
export default definePlugin({
  apiVersion: 1,
  name: 'acme',
  detectors: {
    boxes: (opts) => ({
      info: {
        name: 'boxes',
        family: { stages: 'two-stage', anchors: 'anchor-based' },
        inputSizePx: { width: 48, height: 48 },
        classes: opts.groundTruth.categories,
        fit: 'stretch',
        maxBatch: 2,
      },
      async detect(batch, contexts) {
        return batch.map((_, i) => {
          const ctx = contexts[i];
          if (String(ctx.imageId) === process.env.ACME_THROW_ON) throw new Error('acme exploded');
          appendFileSync(${JSON.stringify(countFile)}, ctx.imageId + ',' + ctx.shift.dx + ',' + ctx.shift.dy + '\\n');
          const t = ctx.transform;
          return opts.groundTruth.annotations.filter((a) => a.image_id === ctx.imageId).map((a) => ({
            bbox: [a.bbox[0] * t.scaleX + t.offsetX, a.bbox[1] * t.scaleY + t.offsetY, a.bbox[2] * t.scaleX, a.bbox[3] * t.scaleY],
            score: 0.8,
            categoryId: a.category_id,
          }));
        });
      },
      async dispose() {},
    }),
  },
  mitigations: {
    'acme-noop': (arg) => ({ name: 'acme-noop', spec: 'acme-noop', wrap: (d) => ({ info: { ...d.info, name: d.info.name + '+acme-noop' }, detect: (b, c) => d.detect(b, c), dispose: () => d.dispose() }) }),
  },
});
`;
}

describe('runner with the real modules', () => {
  let root: string;
  let dataset: string;
  const N = 10; // at least 10: fewer give no bounds interval and no paired verdict

  beforeAll(async () => {
    root = await tempDir();
    ({ file: dataset } = await makeDataset(path.join(root, 'ds'), N, { seed: 3 }));
  });

  it('the oracle fake scores mapRange 0 and detConsistency 1; jitter scores mapRange > 0', async () => {
    const { metrics } = await runBenchmark({
      models: ['oracle', 'jitter:128'],
      dataset,
      out: path.join(root, 'fakes'),
      shifts: 'grid:2',
      bootstrapResamples: 100,
    });
    const [oracle, jitter] = metrics.results;
    expect(oracle.key).toBe('oracle');
    expect(oracle.bounds!.mapRange).toBe(0);
    expect(oracle.consistency.detConsistency.mean).toBe(1);
    expect(jitter.key).toBe('jitter:128');
    expect(jitter.bounds!.mapRange).toBeGreaterThan(0);
    expect(jitter.consistency.detConsistency.mean).toBeLessThan(1);
  });

  it('an unknown model is a usage error that lists the available ones', async () => {
    const err = await runBenchmark({ models: ['no-such-model'], dataset, out: path.join(root, 'unknown') }).catch(
      (e) => e,
    );
    expect(err.code).toBe('ERR_INVALID_OPTION');
    expect(err.message).toMatch(/^Unknown model "no-such-model"\. Available: oracle, jitter/);
  });

  it('a plug-in that throws midway keeps the earlier images; the rerun computes only the rest; plug-in mitigations work', async () => {
    const countFile = path.join(root, 'calls.txt');
    const plugin = path.join(root, 'acme.mjs');
    await writeFile(plugin, pluginSource(countFile));
    const options = {
      models: ['acme/boxes'],
      mitigations: ['acme-noop'],
      plugins: [plugin],
      dataset,
      out: path.join(root, 'plugin'),
      bootstrapResamples: 50,
    };
    process.env.ACME_THROW_ON = '4';
    try {
      const err = await runBenchmark(options).catch((e) => e);
      expect(err.code).toBe('ERR_PLUGIN');
      expect(err.message).toContain('acme exploded');
      expect(err.message).toContain('image 4');
    } finally {
      delete process.env.ACME_THROW_ON;
    }
    const jsonl = path.join(root, 'plugin', 'detections', `${keyFileName('acme/boxes')}.jsonl`);
    const kept = (await readFile(jsonl, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).imageId);
    expect(kept).toEqual([1, 2, 3]);
    await writeFile(countFile, '');
    const { metrics } = await runBenchmark(options);
    const calls = (await readFile(countFile, 'utf8')).trim().split('\n');
    // images 4–N for the plain detector, then all N for the mitigated one, 4 shifts each
    const ids = (from: number) => Array.from({ length: N - from + 1 }, (_, i) => from + i);
    expect(calls.filter((c) => c.endsWith(',0,0')).map((c) => Number(c.split(',')[0]))).toEqual([...ids(4), ...ids(1)]);
    expect(calls).toHaveLength((N - 3 + N) * 4);
    expect(metrics.results.map((r) => r.key)).toEqual(['acme/boxes', 'acme/boxes+acme-noop']);
    expect(metrics.results[0].bounds!.mapRange).toBe(0);
    expect(metrics.results[0].family).toEqual({ stages: 'two-stage', anchors: 'anchor-based' });
    expect(metrics.results[0].runtime).toBe('plugin acme');
    const manifest = JSON.parse(await readFile(path.join(root, 'plugin', 'manifest.json'), 'utf8'));
    expect(manifest.detectors[0].files[0]).toMatchObject({ path: plugin });
    expect(manifest.detectors[0].files[0].sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('the demo without a zoo runs the fakes on the synthetic val split and says so, and that asked mitigations did not run', async () => {
    const warnings: string[] = [];
    const logger = { info: () => {}, debug: () => {}, warn: (m: string) => warnings.push(m) };
    const res = await runDemo(
      { logger },
      {
        datasetDir: path.join(root, 'synth'),
        zooFile: path.join(root, 'no-zoo.json'),
        out: path.join(root, 'demo'),
        limit: 6,
        bootstrapResamples: 50,
        mitigations: ['input-blur:1'], // a valid spec: a bad one is refused before anything (demo.test.ts)
      },
    );
    // the mitigations run on zoo models only: without a zoo they were dropped, which the user must be told
    expect(warnings.filter((w) => w.includes('input-blur'))).toEqual([
      'no model zoo, so the mitigations asked for (input-blur:1) did not run: they run on the zoo models, not on the ' +
        'built-in fakes. Build the zoo (models/zoo/README.md) or use `shiftbench run --model … --mitigation …`',
    ]);
    expect(res.source).toBe('fakes');
    expect(res.note).toMatch(/FAKE detectors/);
    expect(res.metrics.dataset.name).toBe('synth/val');
    expect(res.metrics.results.map((r) => r.key)).toEqual(['oracle', 'jitter']);
    expect(res.metrics.results[0].bounds!.mapRange).toBe(0);
    expect(res.table).toContain('one-stage, anchor-free');
    expect(existsSync(path.join(root, 'synth', 'val', 'instances.json'))).toBe(true);
  });

  it('the demo refuses a bad shift set or resample count before it writes the synthetic dataset', async () => {
    for (const bad of [{ shifts: 'bogus' }, { shifts: 'grid:1', bootstrapResamples: 5 }]) {
      const datasetDir = path.join(root, 'synth-bad');
      const err = await runDemo(
        {},
        { datasetDir, zooFile: path.join(root, 'no-zoo.json'), out: path.join(root, 'demo-bad'), limit: 2, ...bad },
      ).catch((e) => e);
      expect(err.code, JSON.stringify(bad)).toBe('ERR_INVALID_OPTION');
      expect(existsSync(datasetDir), JSON.stringify(bad)).toBe(false);
    }
  });

  it('the CLI runs fakes end to end and prints the summary table and run directory', () => {
    const out = path.join(root, 'cli');
    const r = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        path.join(REPO_ROOT, 'src/cli/index.ts'),
        'run',
        '--model',
        'oracle',
        '--model',
        'jitter',
        '--dataset',
        dataset,
        '--out',
        out,
        '--bootstrap',
        '50',
        '--quiet',
      ],
      { cwd: REPO_ROOT, encoding: 'utf8' },
    );
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(
      /^model\s+family\s+mapRef %\s+mapRange pp\s+95% CI pp\s+relRange %\s+flipRate %\s+detConsistency %\s+cost ×$/,
    );
    // the exactly equivariant oracle: range 0 with the interval [0, 0] over the bootstrap resamples
    expect(lines.find((l) => l.startsWith('oracle'))).toMatch(
      /oracle\s+one-stage, anchor-free\s+100\.0\s+0\.00\s+\[0\.00, 0\.00\]\s+0\.0\s+0\.0\s+100\.0\s+baseline$/,
    );
    expect(lines.find((l) => l.startsWith('jitter'))).toMatch(
      /jitter\s+\S+, \S+\s+\d+\.\d\s+\d+\.\d{2}\s+\[\d+\.\d{2}, \d+\.\d{2}\]/,
    );
    expect(r.stdout).toContain(`run directory: ${out}`);
    expect(r.stderr).toBe('');
  });

  it('pairs a mitigation with its plain detector on the same resamples (a pixel-blind fake: Δ exactly 0, share ½, not significant)', () => {
    const out = path.join(root, 'cli-paired');
    const r = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        path.join(REPO_ROOT, 'src/cli/index.ts'),
        'run',
        '--model',
        'jitter',
        '--mitigation',
        'input-blur:1',
        '--dataset',
        dataset,
        '--out',
        out,
        '--bootstrap',
        '20',
        '--bootstrap-bounds',
        '30',
        '--bootstrap-seed',
        '5',
        '--quiet',
      ],
      { cwd: REPO_ROOT, encoding: 'utf8' },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(
      'Paired differences vs the plain detector (same 30 bootstrap resamples of the images, seed 5; 95% intervals):',
    );
    expect(r.stdout).toContain(
      'jitter+input-blur:1 vs jitter: Δ mapRange ±0.00 pp [±0.00, ±0.00], Δ mapRef ±0.00 pp [±0.00, ±0.00], steadier in 50.0% of resamples — mAP range: no significant difference',
    );
    const metrics = JSON.parse(readFileSync(path.join(out, 'metrics.json'), 'utf8')) as RunMetrics;
    const [plain, blurred] = metrics.results;
    expect(plain.analysis!.boundsInterval).toEqual(blurred.analysis!.boundsInterval);
    expect(blurred.analysis!.paired).toHaveLength(1);
    expect(blurred.analysis!.paired[0]).toMatchObject({
      key: 'jitter+input-blur:1',
      against: 'jitter',
      kind: 'mitigation',
      resamples: 30,
      seed: 5,
      significant: false,
    });
    expect(plain.analysis!.paired).toEqual([]);
  });
});
