/**
 * Issue 11's numbers drawn (issue 12 item 2): each mAP range with its 95 % interval, the
 * paired differences with "significant" marked, the size curve, the per-size range at the
 * lower and upper assignments, and for line:K runs the per-shift mAP against the shift
 * with the dominant period. HTML figures (canvases with a text fallback) plus the data
 * and the browser script that draws them with the inlined Chart.js.
 */
import { signedPointsCell } from '../core/units.js';
import { escapeHtml as h, num, periodBeyondChance, pp } from './format.js';
import type { ReportRun } from './load.js';

/** The canvas ids this module may add (all optional: each only when its data exists). */
export const ANALYSIS_CANVAS_IDS = [
  'sb-range-iv',
  'sb-paired',
  'sb-size-curve',
  'sb-size-range',
  'sb-period-x',
  'sb-period-y',
];

/** The data the analysis charts draw (fractions 0–1), keyed like the figures. */
export function analysisChartData(run: ReportRun): Record<string, unknown> {
  const rs = run.metrics.results.filter((r) => r.bounds && r.analysis);
  const range = rs
    .filter((r) => r.analysis!.boundsInterval)
    .map((r) => ({
      key: r.key,
      value: r.bounds!.mapRange,
      lo: r.analysis!.boundsInterval!.mapRange.lo,
      hi: r.analysis!.boundsInterval!.mapRange.hi,
    }));
  const paired = rs.flatMap((r) =>
    r.analysis!.paired.map((p) => ({
      label: `${p.key} − ${p.against}`,
      value: p.deltaMapRange.value,
      lo: p.deltaMapRange.lo,
      hi: p.deltaMapRange.hi,
      significant: p.significant,
      verdict: p.verdict,
    })),
  );
  const sizeCurve = rs
    .filter((r) => r.analysis!.sizeCurve)
    .map((r) => ({
      key: r.key,
      points: r.analysis!.sizeCurve!.map((p) => ({ images: p.images, median: p.medianMapRange })),
    }));
  const sizeRange = rs
    .filter((r) => r.analysis!.breakdown)
    .map((r) => {
      const b = r.analysis!.breakdown!;
      const d = (k: 'apSmall' | 'apMedium' | 'apLarge') =>
        b.upper[k] !== null && b.lower[k] !== null ? b.upper[k]! - b.lower[k]! : null;
      return { key: r.key, small: d('apSmall'), medium: d('apMedium'), large: d('apLarge') };
    });
  const period: Record<
    string,
    {
      key: string;
      map: number[];
      period: number | null;
      r2adj: number | null;
      beyondChance: boolean;
      /** §8's literal dominant period where it differs from `period` ("largest R²adj 0.66 at 4 px"), else ''. */
      largest: string;
    }[]
  > = {};
  for (const r of rs) {
    for (const ax of r.analysis!.periodicity) {
      if (!ax.series.map) continue;
      (period[ax.axis] ??= []).push({
        key: r.key,
        map: ax.series.map,
        period: ax.map?.period ?? null,
        r2adj: ax.map?.r2adj ?? null,
        beyondChance: ax.map !== null && periodBeyondChance(ax.map),
        largest:
          ax.map && ax.map.maxR2adjPeriod !== ax.map.period
            ? `largest R²adj ${ax.map.maxR2adjFit ? `${num(ax.map.maxR2adjFit.r2adj, 2)} ` : ''}at ${ax.map.maxR2adjPeriod} px`
            : '',
      });
    }
  }
  return { range, paired, sizeCurve, sizeRange, period };
}

function figure(id: string, title: string, fallback: string, heightPx: number): string {
  return (
    `<figure><div class="chart" style="height:${Math.round(heightPx)}px"><canvas id="${id}" role="img" ` +
    `aria-label="${h(title)}">${fallback}</canvas></div><figcaption>${h(title)}</figcaption></figure>`
  );
}

/** The section of analysis charts ('' when the run has none of their data, e.g. older runs or label-free data). */
export function analysisChartsSection(run: ReportRun): string {
  const d = analysisChartData(run) as {
    range: { key: string; value: number }[];
    paired: { label: string; value: number; lo: number; hi: number; significant: boolean; verdict: string }[];
    sizeCurve: unknown[];
    sizeRange: { key: string; small: number | null; medium: number | null; large: number | null }[];
    period: Record<
      string,
      { key: string; period: number | null; r2adj: number | null; beyondChance: boolean; largest: string }[]
    >;
  };
  const figs: string[] = [];
  if (d.range.length) {
    figs.push(
      figure(
        'sb-range-iv',
        'mAP range per detector with its 95% bootstrap interval (whiskers), in percentage points',
        `<p>${d.range.map((r) => `${h(r.key)}: ${pp(r.value)}`).join('; ')}</p>`,
        60 + 30 * d.range.length,
      ),
    );
  }
  if (d.paired.length) {
    figs.push(
      figure(
        'sb-paired',
        'Paired Δ mAP range (mitigation or twin − plain detector) with its 95% interval; ✱ marks a significant ' +
          'difference (the interval excludes 0); left of 0 is steadier',
        // a verdict only with its interval, as every other format gives it
        `<p>${d.paired
          .map(
            (p) =>
              `${h(p.label)}: Δ mAP range ${h(signedPointsCell(p.value))} pp [${h(signedPointsCell(p.lo))}, ` +
              `${h(signedPointsCell(p.hi))}] — ${h(p.verdict)}`,
          )
          .join('; ')}</p>`,
        60 + 30 * d.paired.length,
      ),
    );
  }
  if (d.sizeCurve.length)
    figs.push(
      figure(
        'sb-size-curve',
        'Size curve: median mAP range (pp) of subsamples of N images — the range depends on N',
        '<p>See the size-curve table above.</p>',
        300,
      ),
    );
  if (d.sizeRange.some((r) => r.small !== null || r.medium !== null || r.large !== null)) {
    figs.push(
      figure(
        'sb-size-range',
        'Range by object size: AP at the upper minus AP at the lower assignment (pp), small / medium / large objects',
        '<p>See the breakdown tables below.</p>',
        60 + 40 * d.sizeRange.length,
      ),
    );
  }
  for (const axis of ['x', 'y'] as const) {
    const series = d.period[axis];
    if (!series?.length) continue;
    const periods = series
      .map(
        (s) =>
          `${s.key}: ${
            s.period === null
              ? 'no period'
              : s.beyondChance
                ? `period ${s.period} px (R²adj ${num(s.r2adj!, 2)}${s.largest ? `; ${s.largest}` : ''})`
                : `no period beyond chance (best fit ${s.period} px, R²adj ${num(s.r2adj!, 2)})`
          }`,
      )
      .join('; ');
    figs.push(
      figure(
        `sb-period-${axis}`,
        `Periodicity along ${axis}: mAP at each shift d (0…K) per detector; dominant period — ${periods}`,
        `<p>${h(periods)}</p>`,
        300,
      ),
    );
  }
  if (figs.length === 0) return '';
  return `<section id="analysis-charts"><h2>Uncertainty, size and periodicity drawn</h2>
${figs.join('\n')}
</section>`;
}

/** The browser script of the analysis charts (plain ES2017, as text to inline); reads `#sb-analysis`. */
export const ANALYSIS_CHARTS_SCRIPT = String.raw`
(function () {
  'use strict';
  var el = document.getElementById('sb-analysis');
  if (!el) return;
  if (typeof Chart === 'undefined') {
    ['sb-range-iv', 'sb-paired', 'sb-size-curve', 'sb-size-range', 'sb-period-x', 'sb-period-y'].forEach(function (id) {
      fail(id, 'Chart.js did not load');
    });
    return;
  }
  var d = JSON.parse(el.textContent);
  function isNum(v) { return typeof v === 'number' && isFinite(v); }
  function pct(v) { return isNum(v) ? Math.round(v * 1e8) / 1e6 : null; }
  function ppTick(v) { return Math.round(v * 1e6) / 1e6 + ' pp'; }
  var PALETTE = [
    '#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd',
    '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf',
  ];
  function fail(id, err) {
    var c = document.getElementById(id);
    if (!c) return;
    var p = document.createElement('p');
    p.className = 'chart-error';
    p.textContent = 'Chart not drawn: ' + String(err && err.message ? err.message : err);
    (c.closest ? c.closest('figure') : c.parentNode).appendChild(p);
  }
  function draw(id, make) {
    var c = document.getElementById(id);
    if (!c) return;
    try { new Chart(c, make()); } catch (err) { fail(id, err); }
  }
  var whiskers = {
    id: 'sbAnalysisWhiskers',
    afterDatasetsDraw: function (chart) {
      var ds = chart.data.datasets[0];
      if (!ds || !ds.sbLoHi) return;
      var ctx = chart.ctx;
      var xs = chart.scales.x;
      chart.getDatasetMeta(0).data.forEach(function (bar, j) {
        var iv = ds.sbLoHi[j];
        if (!iv || !isNum(iv[0]) || !isNum(iv[1])) return;
        var a = xs.getPixelForValue(iv[0]);
        var b = xs.getPixelForValue(iv[1]);
        var cap = Math.max(3, (isNum(bar.height) ? bar.height : 12) * 0.25);
        ctx.save();
        ctx.strokeStyle = '#222';
        ctx.lineWidth = 1.5;
        ctx.beginPath();
        ctx.moveTo(a, bar.y); ctx.lineTo(b, bar.y);
        ctx.moveTo(a, bar.y - cap); ctx.lineTo(a, bar.y + cap);
        ctx.moveTo(b, bar.y - cap); ctx.lineTo(b, bar.y + cap);
        ctx.stroke();
        ctx.restore();
      });
    }
  };
  function intervalBars(rows, labelOf, colourOf, axisTitle) {
    // the axis reaches both ends of every interval (and 0), so no whisker is cut off
    var ends = [0];
    rows.forEach(function (r) { [r.value, r.lo, r.hi].forEach(function (v) { if (isNum(v)) ends.push(pct(v)); }); });
    var lo = Math.min.apply(null, ends);
    var hi = Math.max.apply(null, ends);
    var pad = (hi - lo) * 0.05 || 0.1;
    return {
      type: 'bar',
      data: {
        labels: rows.map(labelOf),
        datasets: [{
          label: axisTitle,
          data: rows.map(function (r) { return pct(r.value); }),
          sbLoHi: rows.map(function (r) { return [pct(r.lo), pct(r.hi)]; }),
          backgroundColor: rows.map(colourOf)
        }]
      },
      options: {
        indexAxis: 'y',
        scales: {
          x: {
            suggestedMin: lo < 0 ? lo - pad : 0,
            suggestedMax: hi > 0 ? hi + pad : 0,
            title: { display: true, text: axisTitle },
            ticks: { callback: ppTick },
            grid: { color: function (c) { return c.tick && c.tick.value === 0 ? '#d62728' : 'rgba(0,0,0,0.1)'; } },
          },
        },
        plugins: {
          legend: { display: false },
          tooltip: {
            callbacks: {
              label: function (item) {
                var r = rows[item.dataIndex];
                return pct(r.value).toFixed(2) + ' pp [' + pct(r.lo).toFixed(2) + ', ' + pct(r.hi).toFixed(2) + ']' +
                  (r.verdict ? ' \u2014 ' + r.verdict : '');
              },
            },
          },
        }
      },
      plugins: [whiskers]
    };
  }
  draw('sb-range-iv', function () {
    return intervalBars(
      d.range,
      function (r) { return r.key; },
      function () { return 'rgba(31, 119, 180, 0.6)'; },
      'mAP range (percentage points)'
    );
  });
  draw('sb-paired', function () {
    return intervalBars(d.paired, function (r) { return (r.significant ? '\u2731 ' : '') + r.label; }, function (r) {
      if (!r.significant) return 'rgba(127, 127, 127, 0.5)';
      return r.hi < 0 ? 'rgba(44, 160, 44, 0.7)' : 'rgba(214, 39, 40, 0.7)';
    }, '\u0394 mAP range (percentage points; < 0: steadier)');
  });
  draw('sb-size-curve', function () {
    return {
      type: 'line',
      data: {
        datasets: d.sizeCurve.map(function (s, i) {
          return {
            label: s.key,
            data: s.points.map(function (p) { return { x: p.images, y: pct(p.median) }; }),
            borderColor: PALETTE[i % PALETTE.length],
            backgroundColor: PALETTE[i % PALETTE.length],
            spanGaps: true,
          };
        })
      },
      options: {
        scales: {
          x: { type: 'linear', title: { display: true, text: 'images N' } },
          y: {
            beginAtZero: true,
            title: { display: true, text: 'median mAP range (pp)' },
            ticks: { callback: ppTick },
          },
        },
      },
    };
  });
  draw('sb-size-range', function () {
    var sizes = [['small', '#1f77b4'], ['medium', '#ff7f0e'], ['large', '#2ca02c']];
    return {
      type: 'bar',
      data: {
        labels: d.sizeRange.map(function (r) { return r.key; }),
        datasets: sizes.map(function (s) {
          return {
            label: s[0] + ' objects',
            data: d.sizeRange.map(function (r) { return pct(r[s[0]]); }),
            backgroundColor: s[1],
          };
        })
      },
      options: {
        indexAxis: 'y',
        scales: { x: { title: { display: true, text: 'AP upper \u2212 lower (pp)' }, ticks: { callback: ppTick } } },
      },
    };
  });
  ['x', 'y'].forEach(function (axis) {
    var series = d.period[axis];
    if (!series) return;
    draw('sb-period-' + axis, function () {
      var n = Math.max.apply(null, series.map(function (s) { return s.map.length; }));
      var labels = [];
      for (var k = 0; k < n; k++) labels.push(k);
      return {
        type: 'line',
        data: {
          labels: labels,
          datasets: series.map(function (s, i) {
            return {
              // a period is named only beyond chance (R²adj > 0), as the caption and the table say
              label: s.key + (!isNum(s.period) ? '' : s.beyondChance ? ' (period ' + s.period + ')' :
                ' (no period beyond chance)'),
              data: s.map.map(pct),
              borderColor: PALETTE[i % PALETTE.length],
              backgroundColor: PALETTE[i % PALETTE.length],
              pointRadius: 1,
            };
          })
        },
        options: {
          scales: {
            x: { title: { display: true, text: 'shift d along ' + axis + ' (px)' } },
            y: { title: { display: true, text: 'mAP (%)' } },
          },
        },
      };
    });
  });
})();
`;
