/** Issue 11 in the report: each model's range with its interval, each mitigation's paired difference with its significance, periodicity, breakdowns. */
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { RunMetrics } from '../../src/core/types.js';
import { renderReport, type ReportSummary } from '../../src/index.js';
import { analysisOf as analysis, blurPaired, labelledMetrics, writeRunDir } from './fixture.js';

const made: string[] = [];
afterAll(async () => {
  for (const d of made) await rm(d, { recursive: true, force: true });
});

function metricsWithAnalysis(): RunMetrics {
  const m = labelledMetrics();
  m.results[0].analysis = analysis();
  m.results[2].analysis = analysis({
    paired: [blurPaired()],
    periodicity: [
      {
        axis: 'x',
        n: 65,
        series: { map: null, meanScore: [], detConsistency: [] },
        map: { period: 32, r2adj: 0.81, phaseMeans: [0.4, 0.39], maxR2adjPeriod: 32 },
        meanScore: null,
        detConsistency: null,
      },
    ],
  });
  return m;
}

/** The periodicity section of the HTML report of a run directory written from `m`. */
async function periodicityHtml(m: RunMetrics): Promise<string> {
  const dir = await writeRunDir(m);
  made.push(dir);
  const html = await readFile((await renderReport(dir)).htmlPath, 'utf8');
  const at = html.indexOf('<section id="periodicity">');
  return html.slice(at, html.indexOf('</section>', at));
}

describe('renderReport with issue 11 analysis', () => {
  it('shows the range interval, the paired difference with its verdict, the size curve, periodicity and breakdowns', async () => {
    const dir = await writeRunDir(metricsWithAnalysis());
    made.push(dir);
    const paths = await renderReport(dir);
    const html = await readFile(paths.htmlPath, 'utf8');
    const json = JSON.parse(await readFile(paths.jsonPath, 'utf8')) as ReportSummary;
    expect(html).toContain('2.90 pp <span class="ci" title="95% bootstrap interval over images">[2.10–3.70]</span>');
    expect(html).not.toContain('carry no interval');
    expect(html).toMatch(
      /<code>centernet\+input-blur:1<\/code><\/th><td><code>centernet<\/code><\/td><td class="key-metric">−0\.99 <span class="ci">\[−1\.60, −0\.40\]<\/span><\/td>/,
    );
    expect(html).toContain('<td>98.5% of 200</td><td>steadier (significant)</td>');
    expect(html).toContain('<th scope="col">N = 16</th>');
    expect(html).toContain('<td class="key-metric">32 px</td><td>0.810</td>');
    expect(html).toContain('<tr><th scope="row">4242</th><td>50.0%</td><td>6</td></tr>');
    expect(html).toContain('<th scope="row">AP50</th>');
    expect(json.detectors.centernet.mapRangeInterval).toEqual({ lo: 0.021, hi: 0.037 });
    expect(json.detectors['centernet+input-blur:1'].paired[0].verdict).toBe('steadier (significant)');
    expect(json.detectors['centernet+input-blur:1'].periodOfMap.x).toMatchObject({ period: 32, beyondChance: true });
    // a run without analysis (older metrics.json) still renders, with no interval
    const old = await writeRunDir(labelledMetrics());
    made.push(old);
    const oldHtml = await readFile((await renderReport(old)).htmlPath, 'utf8');
    expect(oldHtml).not.toContain('id="uncertainty"');
  });

  it('a stored verdict its interval does not support, or a paired Δ mAP ref without its interval, is refused, naming the field', async () => {
    // an interval that includes 0 called "steadier (significant)" (a hand-edited or damaged metrics.json)
    const m = metricsWithAnalysis();
    const p = m.results.flatMap((r) => r.analysis?.paired ?? [])[0];
    p.deltaMapRange = { value: -0.0099, lo: -0.016, hi: 0.002 };
    const dir = await writeRunDir(m);
    made.push(dir);
    await expect(renderReport(dir)).rejects.toMatchObject({
      code: 'ERR_OUTPUT',
      message: expect.stringMatching(/no significant difference.*paired\[0\]\.verdict.*steadier \(significant\)/),
    });
    const m2 = metricsWithAnalysis();
    delete (m2.results.flatMap((r) => r.analysis?.paired ?? [])[0] as { deltaMapRef?: unknown }).deltaMapRef;
    const dir2 = await writeRunDir(m2);
    made.push(dir2);
    await expect(renderReport(dir2)).rejects.toMatchObject({
      code: 'ERR_OUTPUT',
      message: expect.stringContaining('paired[0].deltaMapRef'),
    });
  });

  it('a rel. range without an interval (fewer than 20 resamples with mAP at (0,0) > 0) says why under the table', async () => {
    const m = metricsWithAnalysis();
    const a = m.results[0].analysis!;
    a.boundsInterval = { ...a.boundsInterval!, relRange: null };
    const dir = await writeRunDir(m);
    made.push(dir);
    const html = await readFile((await renderReport(dir)).htmlPath, 'utf8');
    const section = html.slice(html.indexOf('95% percentile intervals of the bounds'));
    expect(section.split('</table>')[1].split('</section>')[0]).toContain(
      'rel. range without an interval: fewer than 20 resamples have mAP at (0,0) above 0',
    );
    // with every interval there, no such line
    const full = await writeRunDir(metricsWithAnalysis());
    made.push(full);
    expect(await readFile((await renderReport(full)).htmlPath, 'utf8')).not.toContain('rel. range without an interval');
  });

  it("the glossary gives each interval its own resample count: the consistency bootstrap's, the bounds bootstrap's", async () => {
    const glossary = (html: string) => {
      const start = html.indexOf('<dt>[lo–hi]</dt>');
      return html.slice(start, html.indexOf('</dl>', start));
    };
    const dir = await writeRunDir(metricsWithAnalysis()); // consistency: 1000 resamples, seed 0; bounds: 200, seed 7
    made.push(dir);
    const g = glossary(await readFile((await renderReport(dir)).htmlPath, 'utf8'));
    expect(g).toBe(
      '<dt>[lo–hi]</dt><dd>95% bootstrap interval over images (images resampled with replacement). Consistency ' +
        'metrics (flip rate, det. consistency, jitter): 1000 resamples, seed 0. mAP at (0,0), lower, upper, range, ' +
        'rel. range and the Δ vs plain: the bounds bootstrap, 200 resamples, seed 7 (the results table shows those ' +
        'of the range and the Δ; the Uncertainty section shows each).</dd>\n',
    );
    // a run without the bounds bootstrap: its mAP numbers carry no interval, and the glossary does not lend them one
    const old = await writeRunDir(labelledMetrics());
    made.push(old);
    const g2 = glossary(await readFile((await renderReport(old)).htmlPath, 'utf8'));
    expect(g2).toContain('Consistency metrics (flip rate, det. consistency, jitter): 1000 resamples, seed 0.');
    expect(g2).toContain(
      'mAP at (0,0), lower, upper, range and rel. range: no interval (the bounds bootstrap was off: --bootstrap-bounds B turns it on)',
    );
    expect(g2).not.toContain('200');
  });

  it("periodicity: phase means in the report's units (mAP and det. consistency in %, the unit in the header), no −0", async () => {
    const m = labelledMetrics();
    m.results[0].analysis = analysis({
      periodicity: [
        {
          axis: 'x',
          n: 9,
          series: { map: null, meanScore: [], detConsistency: [] },
          map: { period: 4, r2adj: -0.0001, phaseMeans: [0.7153, 0.7101, 0.7149, 0.71], maxR2adjPeriod: 4 },
          meanScore: {
            period: 2,
            r2adj: 0.5,
            phaseMeans: [0.61234, 0.6],
            maxR2adjPeriod: 4,
            maxR2adjFit: { r2adj: 0.5123, phaseMeans: [0.61, 0.6, 0.615, 0.6] },
          },
          detConsistency: { period: 2, r2adj: 0.25, phaseMeans: [0.9512, 0.94], maxR2adjPeriod: 2 },
        },
      ],
    });
    const section = await periodicityHtml(m);
    expect(section).toContain(
      '<th scope="col">R²adj</th><th scope="col">Phase means (mAP and det. consistency in %, mean score 0–1)</th>',
    );
    const row = (series: string) => section.slice(section.indexOf(`<td>${series}</td>`)).split('</tr>')[0];
    // R²adj ≤ 0: no grouping explains more than chance, so no period is named as dominant (its fit is still shown)
    expect(row('mAP')).toBe(
      '<td>mAP</td><td>none beyond chance (best fit 4 px)</td><td>0.000</td><td class="phases" ' +
        'title="71.53, 71.01, 71.49, 71.00">71.53, 71.01, 71.49, 71.00</td>',
    );
    expect(row('det. consistency')).toContain('<td class="phases" title="95.12, 94.00">95.12, 94.00</td>');
    expect(row('mean score')).toContain('<td>0.500</td><td class="phases" title="0.612, 0.600">0.612, 0.600</td>');
    expect(section).not.toMatch(/-0\.0+\b|−0\.0+\b/);
    // protocol §8's literal dominant period (the largest R²adj) is shown beside the reduced one where they differ,
    // with its R²adj (a metrics.json written before it was stored names the period alone: periodicitySummary.test.ts)
    expect(row('mean score')).toContain('<td class="key-metric">2 px (largest R²adj 0.512 at 4 px)</td>');
    expect(row('det. consistency')).toContain('<td class="key-metric">2 px</td>');
  });
});

describe('periodicity chart (protocol §8)', () => {
  it("the chart's caption names the literal dominant period beside the reported one, as the table does", async () => {
    const m = labelledMetrics();
    const map = [0.5, 0.6, 0.52, 0.58, 0.5, 0.61, 0.52, 0.58, 0.5];
    const fit = {
      period: 2,
      r2adj: 0.05,
      phaseMeans: [0.51, 0.59],
      maxR2adjPeriod: 4,
      maxR2adjFit: { r2adj: 0.6556, phaseMeans: [0.5, 0.6, 0.52, 0.58] },
    };
    m.results[0].analysis = analysis({
      periodicity: [
        {
          axis: 'x',
          n: 9,
          series: { map, meanScore: [], detConsistency: [] },
          map: fit,
          meanScore: null,
          detConsistency: null,
        },
      ],
    });
    const dir = await writeRunDir(m);
    made.push(dir);
    const html = await readFile((await renderReport(dir)).htmlPath, 'utf8');
    const chart = html.slice(html.indexOf('id="sb-period-x"') - 400, html.indexOf('id="sb-period-x"') + 400);
    expect(chart).toContain('period 2 px (R²adj 0.05; largest R²adj 0.66 at 4 px)');
  });
});

describe('periodicity without a period (protocol §8)', () => {
  it('a series whose best grouping explains no more than chance (R²adj ≤ 0) names no dominant period, in the table or the chart', async () => {
    const m = labelledMetrics();
    // a linear trend: no period fits it better than chance (§8's literal argmax is p = 2 with R²adj −0.2)
    const fit = { period: 2, r2adj: -0.2, phaseMeans: [0.2, 0.3], maxR2adjPeriod: 2 };
    m.results[0].analysis = analysis({
      periodicity: [
        {
          axis: 'x',
          n: 4,
          series: { map: [0.1, 0.2, 0.3, 0.4], meanScore: [0.1, 0.2, 0.3, 0.4], detConsistency: [1, 0.9, 0.8, 0.7] },
          map: fit,
          meanScore: fit,
          detConsistency: { period: 2, r2adj: -0.001, phaseMeans: [0.9, 0.8], maxR2adjPeriod: 2 },
        },
      ],
    });
    const dir = await writeRunDir(m);
    made.push(dir);
    const paths = await renderReport(dir);
    const html = await readFile(paths.htmlPath, 'utf8');
    // report.json says so too: a reader of the fit alone would take period 2 for the dominant period
    const json = JSON.parse(await readFile(paths.jsonPath, 'utf8')) as ReportSummary;
    expect(json.detectors[m.results[0].key].periodOfMap.x).toEqual({ ...fit, beyondChance: false });
    const at = html.indexOf('<section id="periodicity">');
    const section = html.slice(at, html.indexOf('</section>', at));
    const row = (series: string) => section.slice(section.indexOf(`<td>${series}</td>`)).split('</tr>')[0];
    for (const series of ['mAP', 'mean score', 'det. consistency'])
      expect(row(series)).toContain('<td>none beyond chance (best fit 2 px)</td>');
    expect(row('mAP')).toContain('<td>-0.200</td>');
    const chart = html.slice(html.indexOf('id="sb-period-x"') - 400, html.indexOf('id="sb-period-x"') + 400);
    expect(chart).toContain('no period beyond chance (best fit 2 px, R²adj -0.20)');
    expect(chart).not.toMatch(/period 2 px/);
  });

  it('a constant series says it has no period because it does not vary; a series with a missing value shows —', async () => {
    const m = labelledMetrics();
    m.results[0].analysis = analysis({
      periodicity: [
        {
          axis: 'y',
          n: 5,
          // an exactly equivariant detector: mAP and det. consistency the same at every shift; no detection at d = 3
          series: {
            map: [0.4, 0.4, 0.4, 0.4, 0.4],
            meanScore: [0.7, 0.6, 0.7, null as unknown as number, 0.7],
            detConsistency: [1, 1, 1, 1, 1],
          },
          map: null,
          meanScore: null,
          detConsistency: null,
        },
      ],
    });
    const section = await periodicityHtml(m);
    const row = (series: string) => section.slice(section.indexOf(`<td>${series}</td>`)).split('</tr>')[0];
    expect(row('mAP')).toBe('<td>mAP</td><td>none: constant (40.00)</td><td>—</td><td>—</td>');
    expect(row('det. consistency')).toBe(
      '<td>det. consistency</td><td>none: constant (100.00)</td><td>—</td><td>—</td>',
    );
    expect(row('mean score')).toBe('<td>mean score</td><td>—</td><td>—</td><td>—</td>');
  });
});

describe('per-category AP table (protocol §9)', () => {
  it('lists the categories whose AP differs most in either direction, and no difference where one side has no AP', async () => {
    // 16 categories 1…16 rise by 1…16 pp from lower to upper; category 17 falls by 20 pp (the upper assignment
    // maximises the mean, not every category); category 18 has ground truth at the lower assignment only
    const lower: Record<string, number | null> = {};
    const upper: Record<string, number | null> = {};
    for (let c = 1; c <= 16; c++) {
      lower[c] = 0.3;
      upper[c] = 0.3 + c / 100;
    }
    lower['17'] = 0.5;
    upper['17'] = 0.3;
    lower['18'] = 0.9;
    upper['18'] = null;
    const bd = { ap: 0.4, ap50: 0.6, ap75: 0.4, apSmall: null, apMedium: 0.3, apLarge: 0.5 };
    const m = labelledMetrics();
    m.results[0].analysis = analysis({
      breakdown: {
        ref: { ...bd, perCategoryAP: lower },
        lower: { ...bd, perCategoryAP: lower },
        upper: { ...bd, perCategoryAP: upper },
      },
    });
    const dir = await writeRunDir(m);
    made.push(dir);
    const html = await readFile((await renderReport(dir)).htmlPath, 'utf8');
    const start = html.indexOf('<caption>Per-category AP');
    const table = html.slice(start, html.indexOf('</table>', start));
    const rowOf = (id: number) => table.slice(table.indexOf(`<th scope="row">${id}<`)).split('</tr>')[0];
    const ids = [...table.matchAll(/<th scope="row">(\d+)/g)].map((x) => Number(x[1]));
    expect(ids).toHaveLength(15);
    // by the size of the difference: −20, then +16 … +3; the category without AP at upper has no difference to rank
    expect(ids).toEqual([17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3]);
    expect(rowOf(17)).toContain('<td>50.0%</td><td>50.0%</td><td>30.0%</td><td>−20.00 pp</td>');
    expect(rowOf(16)).toContain('<td>+16.00 pp</td>');
    expect(table).toContain('the 15 categories (of 18 with ground truth) whose AP differs most');
  });

  it('an AP50 search has its own breakdown tables, at its own lower and upper assignments (protocol §9)', async () => {
    const bd = { ap: 0.4, ap50: 0.6, ap75: 0.4, apSmall: null, apMedium: 0.3, apLarge: 0.5 };
    const m = labelledMetrics();
    const base = analysis();
    m.results[0].analysis = analysis({
      boundsByObjective: {
        ap50: {
          ...base.boundsByObjective.ap50!,
          breakdown: {
            lower: { ...bd, ap50: 0.58, perCategoryAP: { '1': 0.2, '2': null } },
            upper: { ...bd, ap50: 0.63, perCategoryAP: { '1': 0.45, '2': null } },
          },
        },
      },
    });
    const dir = await writeRunDir(m);
    made.push(dir);
    const html = await readFile((await renderReport(dir)).htmlPath, 'utf8');
    const tableAfter = (caption: string) => {
      const at = html.indexOf(caption);
      expect(at, caption).toBeGreaterThan(-1);
      return html.slice(at, html.indexOf('</table>', at));
    };
    const sizes = tableAfter('AP by IoU and object size at the assignments of the AP50 search');
    // the reference row is all at (0,0), shared with the headline; lower and upper are the AP50 search's
    expect(sizes).toContain('<th scope="row">lower</th><td>40.0%</td><td>58.0%</td>');
    expect(sizes).toContain('<th scope="row">upper</th><td>40.0%</td><td>63.0%</td>');
    const cats = tableAfter('Per-category AP at the lower and upper assignments of the AP50 search');
    expect(cats).toContain('<td>40.0%</td><td>20.0%</td><td>45.0%</td><td>+25.00 pp</td>');
    // the headline's own tables are still there
    tableAfter('AP by IoU and object size at the three assignments of the headline search');
  });

  it("an AP50 search's range shows its bootstrap interval; without one, the caption promises none", async () => {
    const iv = (lo: number, hi: number) => ({ lo, hi });
    const m = labelledMetrics();
    const base = analysis();
    m.results[0].analysis = analysis({
      boundsByObjective: {
        ap50: {
          ...base.boundsByObjective.ap50!,
          interval: {
            resamples: 200,
            validResamples: 200,
            seed: 0,
            mapRef: iv(0.55, 0.65),
            mapLower: iv(0.53, 0.61),
            mapUpper: iv(0.6, 0.67),
            mapRange: iv(0.031, 0.072),
            relRange: iv(0.05, 0.12),
          },
        },
      },
    });
    const rowOf = async (metrics: RunMetrics) => {
      const dir = await writeRunDir(metrics);
      made.push(dir);
      const html = await readFile((await renderReport(dir)).htmlPath, 'utf8');
      const at = html.indexOf('Bounds searched with another objective');
      const table = html.slice(at, html.indexOf('</table>', at));
      return { caption: table.split('</caption>')[0], row: table.slice(table.indexOf('AP50')).split('</tr>')[0] };
    };
    const withIv = await rowOf(m);
    expect(withIv.row).toContain(
      '<td>5.00 pp <span class="ci" title="95% bootstrap interval over images">[3.10–7.20]</span></td>',
    );
    expect(withIv.caption).toContain('95 % bootstrap interval');
    m.results[0].analysis = analysis({
      boundsByObjective: { ap50: { ...base.boundsByObjective.ap50!, interval: null } },
    });
    const without = await rowOf(m);
    expect(without.row).toContain('<td>5.00 pp</td>');
    expect(without.caption).not.toContain('interval');
  });

  it('an interval of an AP50 search that is not numbers is refused naming the field', async () => {
    const m = labelledMetrics();
    const base = analysis();
    m.results[0].analysis = analysis({
      boundsByObjective: {
        ap50: { ...base.boundsByObjective.ap50!, interval: { mapRange: { lo: -1 } } as never },
      },
    });
    const dir = await writeRunDir(m);
    made.push(dir);
    const e = await renderReport(dir).catch((err: Error) => err);
    expect((e as Error).message).toContain('boundsByObjective.ap50.interval');
  });

  it("names each category as the run's ground truth does (detections/<key>/ground_truth.json), beside its id", async () => {
    const bd = { ap: 0.4, ap50: 0.6, ap75: 0.4, apSmall: null, apMedium: 0.3, apLarge: 0.5 };
    const m = labelledMetrics();
    m.results[0].analysis = analysis({
      breakdown: {
        ref: { ...bd, perCategoryAP: { '1': 0.4, '17': 0.6 } },
        lower: { ...bd, perCategoryAP: { '1': 0.35, '17': 0.5 } },
        upper: { ...bd, perCategoryAP: { '1': 0.45, '17': 0.7 } },
      },
    });
    const dir = await writeRunDir(m);
    made.push(dir);
    const gt = {
      images: [],
      annotations: [],
      categories: [
        { id: 1, name: 'person' },
        { id: 17, name: 'cat <tabby>' },
      ],
    };
    await writeFile(path.join(dir, 'detections', m.results[0].key, 'ground_truth.json'), JSON.stringify(gt));
    const html = await readFile((await renderReport(dir, { gallery: 0 })).htmlPath, 'utf8');
    const start = html.indexOf('<caption>Per-category AP');
    const table = html.slice(start, html.indexOf('</table>', start));
    expect(table).toContain('<th scope="row">17 cat &lt;tabby&gt;</th>');
    expect(table).toContain('<th scope="row">1 person</th>');
  });

  it('a category with AP at one assignment only shows its difference as absent, never against 0', async () => {
    const bd = { ap: 0.4, ap50: 0.6, ap75: 0.4, apSmall: null, apMedium: 0.3, apLarge: 0.5 };
    const m = labelledMetrics();
    m.results[0].analysis = analysis({
      breakdown: {
        ref: { ...bd, perCategoryAP: { '1': 0.4, '2': 0.9 } },
        lower: { ...bd, perCategoryAP: { '1': 0.4, '2': 0.9 } },
        upper: { ...bd, perCategoryAP: { '1': 0.45, '2': null } },
      },
    });
    const dir = await writeRunDir(m);
    made.push(dir);
    const html = await readFile((await renderReport(dir)).htmlPath, 'utf8');
    const start = html.indexOf('<caption>Per-category AP');
    const table = html.slice(start, html.indexOf('</table>', start));
    const rowOf = (id: number) => table.slice(table.indexOf(`<th scope="row">${id}<`)).split('</tr>')[0];
    expect(rowOf(1)).toContain('<td>+5.00 pp</td>');
    expect(rowOf(2)).toContain('<td>90.0%</td><td>90.0%</td><td>—</td><td>—</td>');
  });
});
