/**
 * What the rendered reports of a saved run may show (hand-made metrics.json, no model): user-provided names that
 * a spreadsheet would run as a formula are written as text in report.csv; names in report.md's notes are escaped as in
 * its table.
 */
import { describe, expect, it } from 'vitest';
import type { RunMetrics } from '../../src/core/types.js';
import { csvField, renderReportCsv } from '../../src/report/csv.js';
import { renderReportMarkdown } from '../../src/report/markdown.js';
import { reportManifestEssentials, type ReportRun } from '../../src/report/load.js';
import { analysisOf, labelledMetrics, manifest } from './fixture.js';

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

describe('report.md: user-provided names in the notes', () => {
  it('a note naming a detector key (no cost ratio: …) is escaped: no raw HTML, no emphasis, as the table escapes it', () => {
    const m = labelledMetrics();
    const key = '<img src=https://tracker.example/x.png>_evil_*';
    m.results[0].key = key;
    m.results[2].key = `${key}+input-blur:1`;
    m.results[2].timing.costRatio = null;
    // as runner/score.ts writes it
    m.results[2].timing.costRatioNote =
      `no cost ratio: ${m.results[2].key} and ${key} were timed in different runs (this one extended or resumed an ` +
      `earlier one, whose settings and machine load may differ); run both in one run for a ratio`;
    const md = renderReportMarkdown(runOf(m));
    const notes = md.slice(md.indexOf('**Notes**'));
    expect(notes).toContain('no cost ratio:');
    expect(notes).not.toMatch(/(?<!\\)</); // every < escaped
    expect(notes).toContain('\\<img src=https://tracker.example/x.png\\>\\_evil\\_\\*');
  });
});

describe('report.md: how many resamples an interval is over', () => {
  it('the mAP range interval of a sparsely labelled run names the resamples it is over (those with ground truth), not B', () => {
    const m = labelledMetrics();
    const full = analysisOf();
    // the other 57 drew no labelled image: the percentiles are over 143
    m.results[0].analysis = analysisOf({ boundsInterval: { ...full.boundsInterval!, validResamples: 143 } });
    const md = renderReportMarkdown(runOf(m));
    const line = md.split('\n').find((l) => l.startsWith('- `centernet`:'))!;
    expect(line).toContain('mAP range 2.90 pp [2.10–3.70]');
    expect(line).not.toContain('over 200 resamples');
    expect(line).toContain('(95% interval over the 143 of 200 resamples with ground truth)');
    // every resample with ground truth: the count alone, as before
    m.results[0].analysis.boundsInterval!.validResamples = 200;
    expect(renderReportMarkdown(runOf(m))).toContain('(95% interval over 200 resamples)');
  });
});
