import { readFile, rm } from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ShiftbenchError,
  renderReport,
  writeReportText,
  type ReportSummary,
  type StabilitySummary,
} from '../../src/index.js';
import { labelFreeMetrics, labelledMetrics, writeRunDir } from './fixture.js';

const made: string[] = [];
afterAll(async () => {
  for (const d of made) await rm(d, { recursive: true, force: true });
});
async function render(metrics: Parameters<typeof writeRunDir>[0]) {
  const dir = await writeRunDir(metrics);
  made.push(dir);
  const paths = await renderReport(dir);
  return {
    html: await readFile(paths.htmlPath, 'utf8'),
    json: JSON.parse(await readFile(paths.jsonPath, 'utf8')) as ReportSummary,
  };
}

const stability: StabilitySummary = {
  scoreThreshold: 0.5,
  centerError: {
    mean: 0.013,
    lo: 0.0116,
    hi: 0.0144,
    objects: 164,
    images: 48,
    worst: { value: 0.0664, imageId: 30, annotationId: 142 },
  },
  scaleRatioError: {
    mean: 0.0325,
    lo: 0.0293,
    hi: 0.0362,
    objects: 164,
    images: 48,
    worst: { value: 0.188, imageId: 24, annotationId: 109 },
  },
  fragmentError: null,
  objects: 170,
  bootstrap: { resamples: 1000, seed: 7 },
};

describe('report: video-stability errors (protocol §5)', () => {
  it('a section beside the consistency metrics: mean [interval] in %, the worst object, — where no object qualifies; report.json carries them', async () => {
    const m = labelledMetrics();
    m.results[0].stability = stability;
    const { html, json } = await render(m);
    const section = html.slice(
      html.indexOf('<section id="stability">'),
      html.indexOf('</section>', html.indexOf('<section id="stability">')),
    );
    expect(html.indexOf('<section id="consistency">')).toBeLessThan(html.indexOf('<section id="stability">'));
    expect(section).toContain('1.30% <span class="ci" title="95% bootstrap interval">[1.16–1.44]</span>');
    // the objects each mean is over (here 164 of the 170 followed), shown, then the worst of them
    expect(section).toContain('164 objects · worst 6.6%: image 30, annotation 142');
    expect(section).toContain('Objects followed');
    expect(section).toContain('3.25% <span class="ci" title="95% bootstrap interval">[2.93–3.62]</span>');
    expect(section).toContain('<td><span class="na" title="no object qualifies">—</span></td>');
    expect(section).toContain('1000 resamples, seed 7');
    // the other detectors of the fixture have no errors (an older run's detectors): a dash, not a number
    expect(section).toContain('<td colspan="4" class="na">—</td>');
    const key = m.results[0].key;
    expect(json.detectors[key].stability).toEqual(stability);
    expect(json.detectors[m.results[1].key].stability).toBeNull();
  });
  it('report.md: the same numbers in a table (mean [interval] in %, objects); — where none qualifies or none exists', async () => {
    const m = labelledMetrics();
    m.results[0].stability = stability;
    const dir = await writeRunDir(m);
    made.push(dir);
    const md = await readFile(await writeReportText(dir, 'md'), 'utf8');
    const at = md.indexOf('**Video-stability errors**');
    expect(at).toBeGreaterThan(md.indexOf('**Verdicts**'));
    const table = md
      .slice(at)
      .split('\n')
      .filter((l) => l.startsWith('|'));
    expect(table[0]).toBe(
      '| Detector | centre error (CPE) [95%] | scale and ratio error (SRE) [95%] | fragment error [95%] | ground-truth objects |',
    );
    // each mean with the objects it is over (CPE and SRE: matched at ≥ 2 shifts; fragment: found at least once), not
    // only the ground-truth total: 164 of 170 here
    expect(table[2]).toBe(`| \`${m.results[0].key}\` | 1.30% [1.16–1.44] (164) | 3.25% [2.93–3.62] (164) | — | 170 |`);
    expect(table[3]).toBe(`| \`${m.results[1].key}\` | — | — | — | — |`);
    expect(md.slice(at)).toContain('score ≥ τ = 0.5');
    expect(md.slice(at)).toContain(
      'In parentheses the objects each mean is over: for CPE and SRE those matched at 2 shifts or more, for the ' +
        'fragment error those found at least once.',
    );
    // a run made before the errors existed: no section
    const older = await writeRunDir(labelledMetrics());
    made.push(older);
    expect(await readFile(await writeReportText(older, 'md'), 'utf8')).not.toContain('Video-stability');
  });
  it('label-free data: says why there are none', async () => {
    const m = labelFreeMetrics();
    for (const r of m.results) r.stability = null;
    const { html } = await render(m);
    expect(html).toContain(
      '<section id="stability"><h2>Video-stability errors</h2><p class="na">Not available: these errors follow ground-truth objects across shifts, and the dataset has no labels.</p>',
    );
  });
  it('a run made before the errors existed renders without the section', async () => {
    const { html } = await render(labelledMetrics());
    expect(html).not.toContain('id="stability"');
  });
  it('a malformed stability entry is refused, naming the field', async () => {
    const m = labelledMetrics();
    m.results[0].stability = {
      ...stability,
      centerError: { ...stability.centerError!, worst: { value: 'x' } },
    } as unknown as StabilitySummary;
    const dir = await writeRunDir(m);
    made.push(dir);
    const err = await renderReport(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ShiftbenchError);
    expect((err as Error).message).toContain('results[0].stability.centerError.worst.value');
  });
});
