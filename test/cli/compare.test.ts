/**
 * Issue 12 item 3: `shiftbench compare RUN_A RUN_B …` on real small runs (fake detectors
 * through the real runner): runs side by side; a run sharing dataset, images, shifts, mode
 * and preprocessing with A is paired with it from the stored detections (the same numbers
 * as the runner's pairRuns, with the metrics' verdict); another one is shown unpaired with
 * the reason; the HTML page is self-contained; older runs are refused with the fix.
 */
import { spawnSync } from 'node:child_process';
import { cp, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunMetrics } from '../../src/core/types.js';
import { compareRuns, renderComparisonHtml, renderComparisonText } from '../../src/report/index.js';
import { pairRuns } from '../../src/runner/index.js';
import { REPO_ROOT } from '../helpers/shared.js';
import { makeRun, makeRunFixture, type RunFixture } from '../report/runs.js';

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'src/cli/index.ts'), ...args], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const signed = (v: number) => `${v < 0 ? '−' : v > 0 ? '+' : '±'}${Math.abs(v * 100).toFixed(2)}`;

describe('shiftbench compare (real runs with fakes)', () => {
  let fx: RunFixture;
  let base: { dir: string; metrics: RunMetrics };
  let worse: { dir: string; metrics: RunMetrics };
  let crop: { dir: string; metrics: RunMetrics };
  let tau: { dir: string; metrics: RunMetrics };
  let otherBootstrap: { dir: string; metrics: RunMetrics };
  let off: { dir: string; metrics: RunMetrics };

  beforeAll(async () => {
    fx = await makeRunFixture(16);
    base = await makeRun(fx, 'base');
    worse = await makeRun(fx, 'worse', {}, 6);
    crop = await makeRun(fx, 'crop', { mode: 'crop' });
    tau = await makeRun(fx, 'tau', { scoreThreshold: 0.3 });
    otherBootstrap = await makeRun(fx, 'other-bootstrap', { bootstrapBounds: 60, bootstrapSeed: 7 }, 6);
    off = await makeRun(fx, 'bounds-bootstrap-off', { bootstrapBounds: 0 });
  });
  afterAll(async () => {
    await rm(fx.root, { recursive: true, force: true });
  });

  it("pairs a compatible run with A (the runner's paired numbers and verdicts) and shows an incompatible one unpaired, with why", async () => {
    const r = cli('compare', base.dir, worse.dir, crop.dir, '--quiet');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const expected = await pairRuns(worse.dir, base.dir);
    expect(expected).toHaveLength(4);
    expect(r.stdout).toContain('B vs A: paired on the same images');
    for (const d of expected) {
      expect(r.stdout).toContain(
        `  ${d.key}: Δ mAP range ${signed(d.deltaMapRange.value)} pp [${signed(d.deltaMapRange.lo)}, ${signed(d.deltaMapRange.hi)}]`,
      );
    }
    const shaky = expected.find((d) => d.key === 'shaky')!;
    expect(shaky.verdict).toBe('less steady (significant)');
    expect(r.stdout).toMatch(/ {2}shaky: Δ mAP range \+[\d.]+ pp .*: less steady \(significant\)/);
    // identical detections (steady, the fixes) pair to exactly 0 and are not called significant
    expect(r.stdout).toContain(
      '  steady: Δ mAP range ±0.00 pp [±0.00, ±0.00], Δ mAP at (0,0) ±0.00 pp [±0.00, ±0.00] over 40 paired resamples — mAP range: no significant difference',
    );
    expect(r.stdout).toContain('C vs A: not paired, shown side by side only — mode: C crop, A pad');
    // side by side: each run's own range with its interval
    const iv = crop.metrics.results[0].analysis!.boundsInterval!.mapRange;
    expect(r.stdout).toContain(
      `${(crop.metrics.results[0].bounds!.mapRange * 100).toFixed(2)} pp [${(iv.lo * 100).toFixed(2)}–${(iv.hi * 100).toFixed(2)}]`,
    );
    expect(r.stdout).toMatch(/^shaky +A /m);
    expect(r.stdout).toMatch(/^ +B /m);
  });

  it("a paired run lacking some of A's detectors names each one without a paired difference, in text and HTML", async () => {
    const fewer = await makeRun(fx, 'shaky-only', { models: ['shaky'] }, 6);
    const c = await compareRuns([base.dir, fewer.dir], (a, b, keys) => pairRuns(a, b, { keys, defaultsFrom: 'b' }));
    const txt = renderComparisonText(c);
    expect(txt).toContain('B vs A: paired on the same images');
    expect(txt).toMatch(/ {2}shaky: Δ mAP range /);
    // steady and steady+fix are in A only: said under the pairing, not left to a row of dashes
    expect(txt).toContain('  steady: no paired difference — only in A');
    expect(txt).toContain('  steady+fix: no paired difference — only in A');
    const html = renderComparisonHtml(c);
    expect(html).toContain('<code>steady+fix</code>');
    expect(html).toContain('no paired difference — only in A');
  });

  it("the run's report shows a mitigation's difference to its plain detector only with its paired interval", async () => {
    const html = await readFile(path.join(base.dir, 'report.html'), 'utf8');
    const row = html.split('\n').find((l) => l.startsWith('<tr data-key="shaky+fix">'))!;
    const p = base.metrics.results.find((r) => r.key === 'shaky+fix')!.analysis!.paired[0];
    const pp = (v: number) => `${v < 0 ? '−' : v > 0 ? '+' : '±'}${Math.abs(v * 100).toFixed(2)} pp`;
    expect(row).toContain(
      `<span class="delta">${pp(p.deltaMapRange.value)} <span class="ci" title="95% paired bootstrap interval">` +
        `[${pp(p.deltaMapRange.lo)}, ${pp(p.deltaMapRange.hi)}]</span> vs plain</span>`,
    );
  });

  it('a crop run says in its text summary and Markdown that it scores the stable area, with the counts', async () => {
    const { formatRunSummary } = await import('../../src/runner/index.js');
    const { loadReportRun, renderReportMarkdown } = await import('../../src/report/index.js');
    // every detector's counts: each has its own stable area
    const each = crop.metrics.results.map(
      ({ key, scoredContent: sc }) =>
        `${key}: ${sc!.groundTruthIgnored} of ${sc!.groundTruthTotal} ground-truth boxes, ` +
        `${sc!.detectionsDropped} of ${sc!.detectionsTotal} detections`,
    );
    expect(each.length).toBeGreaterThan(1);
    const expected =
      `crop mode scores only the stable area (the content shown whole at every shift): ground truth outside it is ` +
      `a crowd region and detections centred outside it are dropped, so this mAP is not the whole image's COCO mAP ` +
      `(${each.join('; ')})`;
    expect(formatRunSummary(crop.metrics)).toContain(`note: ${expected}`);
    expect(renderReportMarkdown(await loadReportRun(crop.dir))).toContain(expected);
    expect(formatRunSummary(base.metrics)).not.toContain('stable area');
  });

  it('a run scored at another score threshold (τ) is not paired: its consistency metrics count other detections', async () => {
    const r = cli('compare', base.dir, tau.dir, '--quiet');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('B vs A: not paired, shown side by side only — --score-threshold (τ): B 0.3, A 0.5');
    // and names the fix that needs no model: rescore B at A's τ
    expect(r.stdout).toContain(`to pair them without a model: shiftbench report ${tau.dir} --score-threshold 0.5`);
  });

  it('a run with another --objective is not paired; the fix named gives the run lacking it that objective', async () => {
    const ap50 = await makeRun(fx, 'objective-ap50', { objectives: ['ap50'] });
    const c = await compareRuns([base.dir, ap50.dir], (a, b, keys) => pairRuns(a, b, { keys }));
    expect(c.pairs[0].paired).toBe(false);
    expect(c.pairs[0].differences).toContain(
      `to pair them without a model: shiftbench report ${base.dir} --objective ap50`,
    );
  });

  it('a run made before enlargement kept pixel centres aligned (no resample.pixelCentres) is not paired: its inputs differ', async () => {
    const older = path.join(fx.root, 'older-enlargement');
    await cp(worse.dir, older, { recursive: true });
    const file = path.join(older, 'manifest.json');
    const manifest = JSON.parse(await readFile(file, 'utf8')) as { resample: Record<string, unknown> };
    expect(manifest.resample.pixelCentres).toBe('aligned');
    delete manifest.resample.pixelCentres;
    await writeFile(file, JSON.stringify(manifest, null, 2));
    const r = cli('compare', base.dir, older, '--quiet');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('B vs A: not paired, shown side by side only — resampling pixel centres: B ');
  });

  it("a first run scored with --bootstrap-bounds 0 is paired on no resamples of compare's own choosing: it says why and how (README: the first run's own B)", () => {
    const r = cli('compare', off.dir, worse.dir, '--quiet');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('B vs A: paired on the same images');
    expect(r.stdout).toContain(
      '  no paired difference: A was scored with --bootstrap-bounds 0 (no bounds resamples); compare --bootstrap-bounds B pairs on B resamples',
    );
    expect(r.stdout).not.toContain('paired resamples');
    const given = cli('compare', off.dir, worse.dir, '--quiet', '--bootstrap-bounds', '20');
    expect(given.stdout).toContain('over 20 paired resamples');
  });

  it("pairs on the first run's bootstrap (B and seed) by default, whichever run comes second (README)", async () => {
    // A: B 40, seed 0; the second run: B 60, seed 7 — every pairing against A resamples as A did
    const r = cli('compare', base.dir, otherBootstrap.dir, '--quiet');
    expect(r.code, r.stderr).toBe(0);
    const expected = await pairRuns(otherBootstrap.dir, base.dir, { bootstrapBounds: 40, bootstrapSeed: 0 });
    for (const d of expected) {
      expect(d.resamples).toBe(40);
      expect(r.stdout).toContain(
        `  ${d.key}: Δ mAP range ${signed(d.deltaMapRange.value)} pp [${signed(d.deltaMapRange.lo)}, ${signed(d.deltaMapRange.hi)}]`,
      );
    }
    expect(r.stdout).not.toContain('over 60 paired resamples');
    const back = cli('compare', otherBootstrap.dir, base.dir, '--quiet');
    expect(back.code, back.stderr).toBe(0);
    expect(back.stdout).toContain('over 60 paired resamples');
  });

  it("--out writes one self-contained HTML page with the same numbers (the report's CSP, no script, no network)", async () => {
    const file = path.join(fx.root, 'cmp', 'compare.html');
    const r = cli('compare', base.dir, worse.dir, '--out', file, '--quiet');
    expect(r.code).toBe(0);
    expect(r.stdout.trimEnd().split('\n').at(-1)).toBe(file);
    const html = await readFile(file, 'utf8');
    expect(html).toContain(`<meta http-equiv="Content-Security-Policy" content="default-src 'none'`);
    expect(html).not.toMatch(/<script|https?:\/\//);
    const c = await compareRuns([base.dir, worse.dir], (a, b, keys) => pairRuns(a, b, { keys }));
    expect(renderComparisonHtml(c)).toBe(html);
    const d = c.pairs[0].deltas.find((x) => x.key === 'shaky')!;
    expect(html).toContain(
      `<td class="key-metric">${signed(d.deltaMapRange.value)} <span class="ci">[${signed(d.deltaMapRange.lo)}, ${signed(d.deltaMapRange.hi)}]</span></td>`,
    );
    expect(renderComparisonText(c)).toBe(r.stdout.slice(0, r.stdout.lastIndexOf(file)));
  });

  it('a paired run whose detections were made with another --max-detections says so beside its differences (text and HTML)', async () => {
    const capped = await makeRun(fx, 'capped', { maxDetections: 1 });
    const c = await compareRuns([base.dir, capped.dir], (a, b, keys) => pairRuns(a, b, { keys }));
    expect(c.pairs[0].paired).toBe(true);
    expect(c.pairs[0].deltas.length).toBeGreaterThan(0);
    expect(c.pairs[0].madeDifferently).toEqual(['--max-detections: B 1, A 1000']);
    const text = renderComparisonText(c);
    expect(text).toContain(
      '  made differently: --max-detections: B 1, A 1000 — each Δ includes the effect of that setting, not only ' +
        "the detectors'",
    );
    const html = renderComparisonHtml(c);
    expect(html).toContain('<li>--max-detections: B 1, A 1000</li>');
    // runs made alike say nothing of it
    const alike = await compareRuns([base.dir, worse.dir], (a, b, keys) => pairRuns(a, b, { keys }));
    expect(alike.pairs[0].madeDifferently).toEqual([]);
    expect(renderComparisonText(alike)).not.toContain('made differently');
    expect(renderComparisonHtml(alike)).not.toContain('made differently');
  });

  it('side by side, the run label is left-aligned in every row of a detector, not only the first (whose row spans)', async () => {
    const c = await compareRuns([base.dir, worse.dir], (a, b, keys) => pairRuns(a, b, { keys }));
    const html = renderComparisonHtml(c);
    const table = html.slice(html.indexOf('<section id="side-by-side">'), html.indexOf('<section id="paired">'));
    const rows = [...table.matchAll(/<tr>(.*?)<\/tr>/g)].map((m) => m[1]).filter((r) => !r.includes('scope="col"'));
    expect(rows.length).toBe(c.keys.length * c.runs.length);
    // a row after the first of its detector has one cell fewer (the detector's name spans it), so an alignment by
    // position (td:nth-child) lands on another column there: the label cell carries its alignment by class
    for (const [i, row] of rows.entries()) {
      const label = c.runs[i % c.runs.length].label;
      expect({ i, row }).toMatchObject({ row: expect.stringContaining(`<td class="label">${label}</td>`) });
    }
    const css = html.slice(html.indexOf('<style>'), html.indexOf('</style>'));
    expect(css).toMatch(/td\.label\{text-align:left\}|td\.label[,{]/);
    expect(css).not.toContain('nth-child');
  });

  it('usage: fewer than two runs or a run twice exit 2; an older run is refused with how to re-render (exit 1)', async () => {
    const one = cli('compare', base.dir);
    expect(one.code).toBe(2);
    // a 95 % interval and a verdict need at least 20 paired resamples (as run and report refuse fewer)
    for (const few of ['1', '19', '0']) {
      const r = cli('compare', base.dir, worse.dir, '--bootstrap-bounds', few);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('--bootstrap-bounds');
      expect(r.stderr).toContain('an integer from 20 to');
    }
    await expect(pairRuns(base.dir, worse.dir, { bootstrapBounds: 5 })).rejects.toThrow(/at least 20/);
    const twice = cli('compare', base.dir, base.dir + '/');
    expect(twice.code).toBe(2);
    expect(twice.stderr).toContain('twice (as A and B)');
    const old = path.join(fx.root, 'old');
    await cp(base.dir, old, { recursive: true });
    const m = JSON.parse(await readFile(path.join(old, 'metrics.json'), 'utf8'));
    await writeFile(path.join(old, 'metrics.json'), JSON.stringify({ ...m, schemaVersion: 0 }));
    const refused = cli('compare', base.dir, old);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`\`shiftbench report ${old} --rescore\``);
  });
});
