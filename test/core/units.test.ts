/**
 * Units of printed numbers (issue 15.5): fractions 0–1 in JSON, % and pp in terminal tables
 * with the unit in the header; `bounds` and `run` print the same number the same way.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { HEADINGS } from '../../src/core/messages.js';
import type { BoundsSummary, CocoResult, RunMetrics } from '../../src/core/types.js';
import { intervalCell, percentCell, pointsCell, signedPointsCell, textTable } from '../../src/core/units.js';
import { pct } from '../../src/report/format.js';
import { formatBounds } from '../../src/metrics/format.js';
import { formatRunSummary } from '../../src/runner/summary.js';
import { REPO_ROOT } from '../helpers/shared.js';

/** The first table of a text (header, dashed rule, rows) as objects keyed by header, split at the rule's columns. */
function parseTable(text: string): Record<string, string>[] {
  const lines = text.split('\n');
  const ruleAt = lines.findIndex((l) => /^-+( +-+)*$/.test(l));
  const spans = [...lines[ruleAt].matchAll(/-+/g)].map((m) => [m.index, m.index + m[0].length] as const);
  const cells = (line: string) =>
    spans.map(([a, b], i) => line.slice(a, i === spans.length - 1 ? undefined : b).trim());
  const header = cells(lines[ruleAt - 1]);
  const rows: Record<string, string>[] = [];
  for (const line of lines.slice(ruleAt + 1)) {
    if (line.trim() === '') break;
    const c = cells(line);
    rows.push(Object.fromEntries(header.map((h, i) => [h, c[i]])));
  }
  return rows;
}

const BOUNDS: BoundsSummary = {
  mapRef: 0.41234,
  mapLower: 0.35,
  mapUpper: 0.47346,
  mapRange: 0.12345,
  relRange: 0.29938,
  perShift: [0.41234, 0.4, null],
  passes: { lower: 2, upper: 3 },
  assignLower: [0],
  assignUpper: [1],
} as unknown as BoundsSummary;

const SHIFTS = [
  { dx: 0, dy: 0 },
  { dx: 1, dy: 0 },
  { dx: 0, dy: 1 },
];

const METRICS = {
  mode: 'pad',
  dataset: { name: 'd', images: 2, labelFree: false },
  results: [
    {
      key: 'm',
      model: 'm',
      mitigation: null,
      family: { stages: 'one-stage', anchors: 'anchor-free' },
      bounds: BOUNDS,
      consistency: { detConsistency: { mean: 0.9, lo: 0.8, hi: 0.95 }, flipRate: { mean: 0.1, lo: 0.05, hi: 0.2 } },
      timing: { costRatio: null },
      analysis: { boundsInterval: { mapRange: { lo: 0.1, hi: 0.15 } }, paired: [], notes: [] },
    },
  ],
} as unknown as RunMetrics;

describe('cells and tables', () => {
  it('fractions become % with one decimal (pp with two); signed pp; intervals; absent values are —', () => {
    expect(percentCell(0.41234)).toBe('41.2');
    expect(pointsCell(0.41234)).toBe('41.23');
    expect(percentCell(null)).toBe('—');
    expect(percentCell(Number.NaN)).toBe('—');
    expect(signedPointsCell(-0.05)).toBe('−5.00');
    expect(signedPointsCell(0.012)).toBe('+1.20');
    // a value that rounds to 0.00 keeps its sign (which side of 0 an interval's end lies); only 0 itself is ±
    expect(signedPointsCell(0.00001)).toBe('+0.00');
    expect(signedPointsCell(-0.00001)).toBe('−0.00');
    expect(signedPointsCell(0)).toBe('±0.00');
    expect(signedPointsCell(-0)).toBe('±0.00');
    expect(intervalCell(0.1, 0.15)).toBe('[10.00, 15.00]');
    expect(intervalCell(0.1, null)).toBe('—');
  });

  it('textTable left-aligns the first columns and right-aligns the rest', () => {
    expect(
      textTable(
        ['name', 'x %'],
        [
          ['a', '1.00'],
          ['bbb', '10.00'],
        ],
        1,
      ).split('\n'),
    ).toEqual(['name    x %', '----  -----', 'a      1.00', 'bbb   10.00']);
  });

  it('every heading names its unit', () => {
    for (const [key, h] of Object.entries(HEADINGS)) {
      if (key === 'passes' || key === 'shift') continue; // counts and offsets, not metrics
      expect(h, key).toMatch(/ (%|pp|×)$/);
    }
  });
});

describe('bounds and run print the same way', () => {
  it('the same bounds: every column the two tables share holds the same text, in %', () => {
    const boundsRow = parseTable(formatBounds(BOUNDS, SHIFTS).join('\n'))[0];
    const runRow = parseTable(formatRunSummary(METRICS))[0];
    const shared = Object.keys(boundsRow).filter((h) => h in runRow);
    expect(shared).toEqual([HEADINGS.mapRef, HEADINGS.mapRange, HEADINGS.relRange]);
    for (const h of shared) expect(runRow[h], h).toBe(boundsRow[h]);
    // % with one decimal, pp with two, as every report shows them
    expect(boundsRow[HEADINGS.mapRef]).toBe('41.2');
    expect(boundsRow[HEADINGS.mapLower]).toBe('35.0');
    expect(boundsRow[HEADINGS.mapUpper]).toBe(pct(BOUNDS.mapUpper).replace('%', '')); // 47.3: the report's rounding
    expect(boundsRow[HEADINGS.mapRange]).toBe('12.35');
    expect(boundsRow[HEADINGS.relRange]).toBe('29.9');
    expect(runRow[HEADINGS.mapRangeInterval]).toBe('[10.00, 15.00]');
    expect(runRow[HEADINGS.flipRate]).toBe('10.0');
    expect(runRow[HEADINGS.detConsistency]).toBe('90.0');
    // a plain detector has no cost ratio (metrics.json: null): "baseline", as report.md/.html show, never a made-up 1.00
    expect(METRICS.results[0].timing.costRatio).toBeNull();
    expect(runRow[HEADINGS.cost]).toBe('baseline');
  });

  it('bounds prints mAP per shift as a table in %, — where a shift has no ground truth', () => {
    const text = formatBounds(BOUNDS, SHIFTS).join('\n');
    const perShift = parseTable(text.slice(text.indexOf('mAP with every image')));
    expect(perShift).toEqual([
      { [HEADINGS.shift]: '(0, 0)', [HEADINGS.shiftMap]: '41.2' },
      { [HEADINGS.shift]: '(1, 0)', [HEADINGS.shiftMap]: '40.0' },
      { [HEADINGS.shift]: '(0, 1)', [HEADINGS.shiftMap]: '—' },
    ]);
  });

  it('bounds labels fractional shifts as the report does, (1/4, 0), not as raw decimals', () => {
    const fractional = [
      { dx: 0, dy: 0 },
      { dx: 0.25, dy: 0 },
      { dx: 0, dy: 1 / 3 },
    ];
    const text = formatBounds(BOUNDS, fractional).join('\n');
    const perShift = parseTable(text.slice(text.indexOf('mAP with every image')));
    expect(perShift.map((r) => r[HEADINGS.shift])).toEqual(['(0, 0)', '(1/4, 0)', '(0, 1/3)']);
  });

  it('`shiftbench bounds` text shows in % what --json gives as fractions', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'shiftbench-units-'));
    const gt = JSON.parse(await readFile(path.join(REPO_ROOT, 'test/fixtures/metrics/case1_gt.json'), 'utf8'));
    const dets = JSON.parse(
      await readFile(path.join(REPO_ROOT, 'test/fixtures/metrics/case1_dets.json'), 'utf8'),
    ) as CocoResult[];
    const moved = dets.map((d, i) => ({ ...d, score: i % 2 === 0 ? d.score / 2 : d.score }));
    const caseFile = path.join(dir, 'case.json');
    await writeFile(
      caseFile,
      JSON.stringify({
        gt,
        shifts: [
          [0, 0],
          [1, 0],
        ],
        dets: [dets, moved],
      }),
    );
    const run = promisify(execFile);
    const cli = (args: string[]) =>
      run(process.execPath, ['--import', 'tsx', 'src/cli/index.ts', 'bounds', '--case', caseFile, ...args], {
        cwd: REPO_ROOT,
      });
    const [text, json] = await Promise.all([cli([]), cli(['--json'])]);
    const b = JSON.parse(json.stdout) as BoundsSummary;
    expect(b.mapRef).toBeGreaterThan(0);
    expect(b.mapRef).toBeLessThanOrEqual(1); // fractions in JSON
    const row = parseTable(text.stdout)[0];
    expect(row).toMatchObject({
      [HEADINGS.mapRef]: (b.mapRef! * 100).toFixed(1),
      [HEADINGS.mapLower]: (b.mapLower! * 100).toFixed(1),
      [HEADINGS.mapUpper]: (b.mapUpper! * 100).toFixed(1),
      [HEADINGS.mapRange]: (b.mapRange! * 100).toFixed(2),
      [HEADINGS.passes]: `${b.passes.lower}/${b.passes.upper}`,
    });
  });
});
