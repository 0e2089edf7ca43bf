/**
 * What the rendered reports of a saved run may show (hand-made metrics.json, no model): user-provided names that
 * a spreadsheet would run as a formula are written as text in report.csv.
 */
import { describe, expect, it } from 'vitest';
import type { RunMetrics } from '../../src/core/types.js';
import { csvField, renderReportCsv } from '../../src/report/csv.js';
import { reportManifestEssentials, type ReportRun } from '../../src/report/load.js';
import { labelledMetrics, manifest } from './fixture.js';

const runOf = (metrics: RunMetrics): ReportRun => ({
  runDir: '/runs/x',
  manifest: manifest(),
  essentials: reportManifestEssentials(manifest()),
  metrics,
});

describe('report.csv: formula injection', () => {
  it('a cell starting with = + - @ (or a tab / CR) is written with a leading quote, so a spreadsheet shows it as text', () => {
    for (const s of ['=1+1', '+cmd', '-2+3', '@SUM(A1)', '\t=1', '\r=1'])
      expect(csvField(s).replace(/^"|"$/g, '')).toMatch(/^'/);
    // a formula with a comma or quote is both neutralised and quoted (RFC 4180)
    expect(csvField('=HYPERLINK("http://x","y")')).toBe(`"'=HYPERLINK(""http://x"",""y"")"`);
    // plain names and numbers (a negative number is a number, not a formula) are unchanged
    expect(csvField('zoo-fcos+input-blur:1')).toBe('zoo-fcos+input-blur:1');
    expect(csvField(-0.0125)).toBe('-0.0125');
  });

  it('model names, keys and mitigations of a run are neutralised in report.csv', () => {
    const m = labelledMetrics();
    m.results[0].key = '=cmd|"/c calc"!A1';
    m.results[0].model = '@evil';
    m.results[2].mitigation = '+blur';
    const lines = renderReportCsv(runOf(m)).split('\n');
    expect(lines[1].startsWith(`"'=cmd|""/c calc""!A1",'@evil,`)).toBe(true);
    expect(lines[3].split(',')[2]).toBe("'+blur");
    // no cell of any row starts with a formula character
    for (const line of lines.slice(1, -1))
      for (const cell of line.split(',')) expect(cell.replace(/^"/, '')).not.toMatch(/^[=+@\t\r]/);
  });
});
