/**
 * Issue 12 item 4: `shiftbench report RUN --format md|csv|json` on real small runs (fake
 * detectors through the real runner): the Markdown headline table shows each range with its
 * interval and one verdict per detector ("steadier (significant)" only when the paired
 * interval excludes 0); the CSV is the headline table in fractions with units in the header;
 * absent numbers are "—" (md) or empty (csv), never a placeholder.
 */
import { spawnSync } from 'node:child_process';
import { cp, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunMetrics } from '../../src/core/types.js';
import {
  CSV_COLUMNS,
  buildReportSummary,
  loadReportRun,
  renderReportText,
  writeReportText,
} from '../../src/report/index.js';
import { REPO_ROOT } from '../helpers/shared.js';
import { makeRun, makeRunFixture, type RunFixture } from './runs.js';

/**
 * A placeholder shown as a value: -1 as a token of its own (not inside a run id such as
 * '…-1f04…' or a number such as -1.5), NaN, undefined or null.
 */
const PLACEHOLDER = /(?<![\w-])-1(?![\w.])|NaN|undefined|null/;

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'src/cli/index.ts'), ...args], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Parses the CSV this tool writes (quoted fields allowed). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  for (const line of text.trimEnd().split('\n')) {
    const cells: string[] = [];
    let cur = '';
    let quoted = false;
    for (let i = 0; i < line.length; i++) {
      const ch = line[i];
      if (quoted) {
        if (ch === '"' && line[i + 1] === '"') {
          cur += '"';
          i++;
        } else if (ch === '"') quoted = false;
        else cur += ch;
      } else if (ch === '"') quoted = true;
      else if (ch === ',') {
        cells.push(cur);
        cur = '';
      } else cur += ch;
    }
    cells.push(cur);
    rows.push(cells);
  }
  return rows;
}

describe('report --format md|csv|json (real runs with fakes)', () => {
  let fx: RunFixture;
  let dir: string;
  let metrics: RunMetrics;
  let labelFreeDir: string;

  beforeAll(async () => {
    fx = await makeRunFixture(16);
    ({ dir, metrics } = await makeRun(fx, 'run'));
    ({ dir: labelFreeDir } = await makeRun(fx, 'label-free', {
      dataset: path.join(fx.root, 'ds', 'images'),
      models: ['shaky'],
      mitigations: [],
    }));
  });
  afterAll(async () => {
    await rm(fx.root, { recursive: true, force: true });
  });

  const byKey = (k: string) => metrics.results.find((r) => r.key === k)!;

  it('the fixture has the behaviour the assertions rely on', () => {
    expect(metrics.results.map((r) => r.key)).toEqual(['shaky', 'shaky+fix', 'steady', 'steady+fix']);
    expect(byKey('shaky').bounds!.mapRange).toBeGreaterThan(0.01);
    expect(byKey('shaky+fix').bounds!.mapRange).toBe(0);
    expect(byKey('shaky').analysis!.boundsInterval!.mapRange.lo).toBeGreaterThan(0);
    expect(byKey('shaky+fix').analysis!.paired[0].verdict).toBe('steadier (significant)');
  });

  it('md: headline table with the intervals of metrics.json and one verdict line per detector', async () => {
    const md = renderReportText(await loadReportRun(dir), 'md');
    const shaky = byKey('shaky');
    const iv = shaky.analysis!.boundsInterval!.mapRange;
    const b = shaky.bounds!;
    const row = md.split('\n').find((l) => l.startsWith('| `shaky` |'))!;
    expect(row).toContain(
      `**${(b.mapRange * 100).toFixed(2)} pp [${(iv.lo * 100).toFixed(2)}–${(iv.hi * 100).toFixed(2)}]**`,
    );
    expect(row).toContain(`${(b.mapRef * 100).toFixed(1)}% [`);
    // every row has as many cells as the header (a table GitHub renders); the headline table comes before the verdicts
    const table = md
      .slice(0, md.indexOf('**Verdicts**'))
      .split('\n')
      .filter((l) => l.startsWith('|'));
    expect(table).toHaveLength(2 + 4);
    const cells = (l: string) => l.split(/(?<!\\)\|/).length;
    for (const l of table) expect(cells(l)).toBe(cells(table[0]));
    expect(table[1]).toMatch(/^\| --- \| --- \|( ---: \|)+$/);
    // verdicts: one per detector; the paired one carries its interval and the verdict computed from it
    const verdicts = md.split('\n').filter((l) => l.startsWith('- `'));
    expect(verdicts).toHaveLength(4);
    const p = byKey('shaky+fix').analysis!.paired[0];
    const s = (v: number) => `${v < 0 ? '−' : v > 0 ? '+' : '±'}${Math.abs(v * 100).toFixed(2)}`;
    expect(verdicts[1]).toBe(
      `- \`shaky+fix\`: Δ mAP range ${s(p.deltaMapRange.value)} pp [${s(p.deltaMapRange.lo)}, ${s(p.deltaMapRange.hi)}], Δ mAP at (0,0) ${s(p.deltaMapRef.value)} pp [${s(p.deltaMapRef.lo)}, ${s(p.deltaMapRef.hi)}] vs \`shaky\` (steadier in ${(p.steadierShare * 100).toFixed(1)}% of ${p.resamples} paired resamples): **steadier (significant)**.`,
    );
    expect(verdicts[0]).toContain(`(95% interval over 40 resamples)`);
    // "significant" appears only where metrics.json's paired interval excludes 0
    const significantKeys = metrics.results
      .filter((r) => r.analysis!.paired.some((x) => x.significant))
      .map((r) => r.key);
    expect(verdicts.filter((l) => l.includes('(significant)')).map((l) => l.match(/^- `([^`]+)`/)![1])).toEqual(
      significantKeys,
    );
    expect(md).not.toMatch(PLACEHOLDER);
    // the plain rows show no cost ratio, and say why: "baseline" (as report.html), not a number and not a bare —
    expect(row.split(' | ').at(-2)).toBe('baseline');
  });

  it('md: skipped images are named under the table, per detector (left out of its numbers)', async () => {
    const run = await loadReportRun(dir);
    const r = run.metrics.results.find((x) => x.key === 'shaky')!;
    r.skippedImages = [
      { imageId: 3, fileName: '003.png', reason: 'could not decode' },
      { imageId: 7, fileName: '007.png', reason: 'could not decode' },
    ];
    const md = renderReportText(run, 'md');
    expect(md).toContain(
      '- `shaky`: 2 images skipped (ids 3, 7), left out of every number of this detector (reasons in skipped.json)',
    );
    expect(md).not.toContain('`steady`: 0 images skipped');
  });

  it('md: a label-free run has no mAP columns and says so; nothing is a placeholder', async () => {
    const md = renderReportText(await loadReportRun(labelFreeDir), 'md');
    expect(md).not.toContain('mAP range [95%]');
    expect(md).toContain('- `shaky`: no mAP (label-free dataset): consistency metrics only.');
    expect(md).not.toMatch(PLACEHOLDER);
  });

  it('library: a format other than md, csv or json is refused by name, not rendered as JSON or named report.function…', async () => {
    const run = await loadReportRun(dir);
    for (const format of ['pdf', 'html', 'toString', 5]) {
      const expected = `Expected one of md, csv, json (html: renderReport) for --format but received ${
        typeof format === 'string' ? JSON.stringify(format) : format
      }`;
      expect(() => renderReportText(run, format as never), String(format)).toThrow(expected);
      const err = await writeReportText(dir, format as never).catch((e: unknown) => e);
      expect((err as Error).message, String(format)).toBe(expected);
    }
  });

  it('csv: the headline table in fractions, units in the header, empty where a number is absent', async () => {
    const rows = parseCsv(renderReportText(await loadReportRun(dir), 'csv'));
    expect(rows[0]).toEqual(CSV_COLUMNS.map(([n]) => n));
    expect(rows[0]).toContain('map_range_fraction');
    expect(rows[0]).toContain('box_jitter_center_px');
    expect(rows).toHaveLength(1 + metrics.results.length);
    const col = (name: string) => rows[0].indexOf(name);
    metrics.results.forEach((r, i) => {
      const row = rows[i + 1];
      expect(row[col('key')]).toBe(r.key);
      expect(Number(row[col('map_range_fraction')])).toBe(r.bounds!.mapRange);
      expect(Number(row[col('map_range_lo95_fraction')])).toBe(r.analysis!.boundsInterval!.mapRange.lo);
      expect(Number(row[col('flip_rate_fraction')])).toBe(r.consistency.flipRate!.mean);
      expect(row[col('mitigation')]).toBe(r.mitigation ?? '');
      expect(row[col('cost_ratio')]).toBe(r.timing.costRatio === null ? '' : String(r.timing.costRatio));
    });
    const lf = parseCsv(renderReportText(await loadReportRun(labelFreeDir), 'csv'));
    expect(lf[1][col('map_ref_fraction')]).toBe('');
    expect(lf[1][col('flip_rate_fraction')]).toBe('');
    expect(lf[1].join(',')).not.toMatch(PLACEHOLDER);
  });

  it('CLI: --format md writes report.md, --out - prints it, csv and json work, a bad format exits 2', async () => {
    const md = cli('report', dir, '--format', 'md', '--quiet');
    expect(md.stderr).toBe('');
    expect(md.code).toBe(0);
    expect(md.stdout).toBe(`${path.join(dir, 'report.md')}\n`);
    const text = await readFile(path.join(dir, 'report.md'), 'utf8');
    expect(text).toBe(renderReportText(await loadReportRun(dir), 'md'));
    const out = cli('report', dir, '--format', 'csv', '--out', '-');
    expect(out.code).toBe(0);
    expect(out.stdout).toBe(renderReportText(await loadReportRun(dir), 'csv'));
    const json = cli('report', dir, '--format', 'json', '--out', '-');
    expect(JSON.parse(json.stdout)).toEqual(buildReportSummary(await loadReportRun(dir)));
    const bad = cli('report', dir, '--format', 'pdf');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('Expected one of html, md, csv, json for --format but received "pdf"');
    const htmlDash = cli('report', dir, '--out', '-');
    expect(htmlDash.code).toBe(2);
  });

  it('CLI: a run whose metrics.json has an older schemaVersion is refused with the fix, and --rescore re-renders it from the stored detections', async () => {
    const old = path.join(fx.root, 'old-schema');
    await cp(dir, old, { recursive: true });
    const m = JSON.parse(await readFile(path.join(old, 'metrics.json'), 'utf8'));
    await writeFile(path.join(old, 'metrics.json'), JSON.stringify({ ...m, schemaVersion: 0 }));
    const refused = cli('report', old, '--format', 'md');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      `The run was written by an older shiftbench: re-render it with this version from its stored detections (no model runs): \`shiftbench report ${old} --rescore\`.`,
    );
    const fixed = cli('report', old, '--rescore', '--format', 'md', '--quiet');
    expect(fixed.stderr).toBe('');
    expect(fixed.code).toBe(0);
    const again = JSON.parse(await readFile(path.join(old, 'metrics.json'), 'utf8')) as RunMetrics;
    expect(again.schemaVersion).toBe(1);
    expect(again.results.map((r) => r.bounds!.mapRange)).toEqual(metrics.results.map((r) => r.bounds!.mapRange));
  });
});
