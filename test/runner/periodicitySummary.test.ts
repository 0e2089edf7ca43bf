/**
 * A line:K run's terminal summary states the periodicity of mAP (protocol §8) as report.html does — before, the
 * terminal and report.md said nothing about it, though it is what a line:K run is for.
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import type { AxisPeriodicity, RunMetrics } from '../../src/core/types.js';
import { writeReportText } from '../../src/report/index.js';
import { formatRunSummary } from '../../src/runner/index.js';
import { analysisOf, labelledMetrics, writeRunDir } from '../report/fixture.js';

const axis = (a: 'x' | 'y', map: AxisPeriodicity['map'], series: number[]): AxisPeriodicity => ({
  axis: a,
  n: series.length,
  series: { map: series, meanScore: series, detConsistency: series },
  map,
  meanScore: null,
  detConsistency: null,
});

/** The fixture run with the given periodicity per detector (in order; the rest have none). */
function withPeriodicity(periodicity: AxisPeriodicity[][]): RunMetrics {
  const m = labelledMetrics();
  m.results.forEach((r, i) => {
    r.analysis = analysisOf({ periodicity: periodicity[i] ?? [] });
  });
  return m;
}

describe('CLI summary: periodicity of mAP along line:K (protocol §8)', () => {
  it('per detector and axis: the period as the HTML names it, R²adj and the phase means in %', () => {
    const m = withPeriodicity([
      [
        axis(
          'x',
          { period: 4, r2adj: 0.2229, phaseMeans: [0.5682, 0.5805, 0.5852, 0.5492], maxR2adjPeriod: 8 },
          [0.57, 0.58, 0.59, 0.55, 0.57, 0.58, 0.59, 0.55, 0.57],
        ),
        axis('y', { period: 2, r2adj: -0.2, phaseMeans: [0.2, 0.3], maxR2adjPeriod: 2 }, [0.1, 0.2, 0.3, 0.4]),
      ],
      [axis('x', null, [0.4, 0.4, 0.4, 0.4])],
    ]);
    const lines = formatRunSummary(m).split('\n');
    const at = lines.indexOf('Periodicity of mAP along the line of shifts (protocol §8; R²adj > 0 names a period):');
    expect(at).toBeGreaterThan(0);
    const rows = lines.slice(at + 3, at + 6);
    const [first, second] = m.results.map((r) => r.key);
    expect(rows[0]).toMatch(
      new RegExp(`^${first} +x +9 +4 px \\(largest R²adj at 8 px\\) +0\\.223 +56\\.82, 58\\.05, 58\\.52, 54\\.92$`),
    );
    expect(rows[1]).toMatch(/^ +y +4 +none beyond chance \(best fit 2 px\) +-0\.200 +20\.00, 30\.00$/);
    expect(rows[2]).toMatch(new RegExp(`^${second} +x +4 +none: constant \\(40\\.00\\) +— +—$`));
  });

  it('report.md: the same verdicts, one line per detector', async () => {
    const m = withPeriodicity([
      [
        axis(
          'x',
          { period: 4, r2adj: 0.2229, phaseMeans: [0.5682, 0.5805, 0.5852, 0.5492], maxR2adjPeriod: 4 },
          [0.57, 0.58, 0.59, 0.55, 0.57],
        ),
        axis('y', { period: 2, r2adj: -0.2, phaseMeans: [0.2, 0.3], maxR2adjPeriod: 2 }, [0.1, 0.2, 0.3, 0.4]),
      ],
    ]);
    const md = await readFile(await writeReportText(await writeRunDir(m), 'md'), 'utf8');
    expect(md).toContain(
      `**Periodicity of mAP along the line of shifts** (protocol §8)\n\n- \`${m.results[0].key}\`: x: 4 px, ` +
        'R²adj 0.223, phase means 56.82, 58.05, 58.52, 54.92 (%); y: none beyond chance (best fit 2 px), R²adj -0.200\n',
    );
    // one line: the detectors without a line of shifts have none
    const section = md.slice(md.indexOf('**Periodicity')).split('\n\n')[1];
    expect(section.split('\n')).toHaveLength(1);
  });

  it('no lines for a run without line:K periodicity', async () => {
    expect(formatRunSummary(withPeriodicity([]))).not.toContain('Periodicity');
    const md = await readFile(await writeReportText(await writeRunDir(withPeriodicity([])), 'md'), 'utf8');
    expect(md).not.toContain('Periodicity');
  });
});
