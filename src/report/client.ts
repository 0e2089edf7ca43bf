/**
 * The browser-side script of the HTML report, as text to inline. It reads the
 * `<script type="application/json" id="sb-data">` block and draws the charts with
 * the inlined Chart.js. Plain ES2017, no template literals, so it can live in a
 * string here; test/report checks that it parses and runs against a stub Chart.
 *
 * Data shape (built by html.ts, values are 0–1 fractions):
 * { shifts: [{dx, dy}], detectors: [{ key, bounds: {mapRef, mapLower, mapUpper, perShift} | null,
 *   consistency: {detConsistency, flipRate, boxJitterIou, scoreJitter} }] }  (each an Interval or null)
 */
export const CLIENT_SCRIPT = String.raw`
(function () {
  'use strict';
  var dataEl = document.getElementById('sb-data');
  if (!dataEl) return;
  var data = JSON.parse(dataEl.textContent);

  function showError(canvasId, message) {
    var canvas = document.getElementById(canvasId);
    if (!canvas) return;
    var fig = canvas.closest ? canvas.closest('figure') : null;
    var note = document.createElement('p');
    note.className = 'chart-error';
    note.textContent = 'Chart not drawn (' + message + '). The tables hold the same numbers.';
    (fig || canvas.parentNode).appendChild(note);
  }
  var CANVAS_IDS = ['sb-range', 'sb-pershift', 'sb-consistency', 'sb-instability'];
  if (typeof Chart === 'undefined') {
    CANVAS_IDS.forEach(function (id) { showError(id, 'Chart.js did not load'); });
    return;
  }

  var PALETTE = [
    '#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd',
    '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf',
  ];
  function color(i) { return PALETTE[i % PALETTE.length]; }
  function isNum(v) { return typeof v === 'number' && isFinite(v); }
  function toPct(v) { return isNum(v) ? v * 100 : null; }
  function fmt(v, digits) { return isNum(v) ? v.toFixed(digits) : '\u2014'; }
  // ticks are floats like 0.30000000000000004: round them for the label
  function tidy(value) { return Math.round(value * 1e6) / 1e6; }
  function pctTick(value) { return tidy(value) + '%'; }

  Chart.defaults.animation = false;
  Chart.defaults.font.family = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
  Chart.defaults.maintainAspectRatio = false;

  // Draws 95% interval whiskers over bars whose dataset carries sbIntervals: [{lo, hi}] (already in %).
  var whiskerPlugin = {
    id: 'sbWhiskers',
    afterDatasetsDraw: function (chart) {
      var ctx = chart.ctx;
      var horizontal = chart.options.indexAxis === 'y';
      var valueScale = horizontal ? chart.scales.x : chart.scales.y;
      chart.data.datasets.forEach(function (ds, di) {
        if (!ds.sbIntervals || !chart.isDatasetVisible(di)) return;
        var meta = chart.getDatasetMeta(di);
        meta.data.forEach(function (el, j) {
          var iv = ds.sbIntervals[j];
          if (!iv || !isNum(iv.lo) || !isNum(iv.hi)) return;
          var a = valueScale.getPixelForValue(iv.lo);
          var b = valueScale.getPixelForValue(iv.hi);
          var thick = horizontal ? el.height : el.width;
          var cap = Math.max(3, (isNum(thick) ? thick : 12) * 0.25);
          ctx.save();
          ctx.strokeStyle = '#222';
          ctx.lineWidth = 1.5;
          ctx.beginPath();
          if (horizontal) {
            ctx.moveTo(a, el.y); ctx.lineTo(b, el.y);
            ctx.moveTo(a, el.y - cap); ctx.lineTo(a, el.y + cap);
            ctx.moveTo(b, el.y - cap); ctx.lineTo(b, el.y + cap);
          } else {
            ctx.moveTo(el.x, a); ctx.lineTo(el.x, b);
            ctx.moveTo(el.x - cap, a); ctx.lineTo(el.x + cap, a);
            ctx.moveTo(el.x - cap, b); ctx.lineTo(el.x + cap, b);
          }
          ctx.stroke();
          ctx.restore();
        });
      });
    }
  };

  function draw(canvasId, makeConfig) {
    var canvas = document.getElementById(canvasId);
    if (!canvas) return;
    try {
      new Chart(canvas, makeConfig());
    } catch (err) {
      showError(canvasId, String(err && err.message ? err.message : err));
    }
  }

  var keys = data.detectors.map(function (d) { return d.key; });
  var withBounds = data.detectors.filter(function (d) { return d.bounds; });

  // A red zero line on the value axis: the unshifted mAP.
  function zeroGrid(ctx) { return ctx.tick && ctx.tick.value === 0 ? '#d62728' : 'rgba(0, 0, 0, 0.1)'; }
  function ppTick(value) { return (value > 0 ? '+' : '') + tidy(value) + ' pp'; }

  // mAP range: a floating bar per detector from (lower − ref) to (upper − ref), in percentage
  // points, so detectors of very different mAP share one axis and the bar length is the range.
  draw('sb-range', function () {
    return {
      type: 'bar',
      data: {
        labels: withBounds.map(function (d) { return d.key; }),
        datasets: [
          {
            label: 'mAP lower \u2013 upper bound, relative to mAP at (0,0)',
            data: withBounds.map(function (d) {
              return [toPct(d.bounds.mapLower - d.bounds.mapRef), toPct(d.bounds.mapUpper - d.bounds.mapRef)];
            }),
            backgroundColor: 'rgba(31, 119, 180, 0.6)',
            borderColor: '#1f77b4',
            borderWidth: 1,
            borderSkipped: false
          }
        ]
      },
      options: {
        indexAxis: 'y',
        scales: {
          x: {
            title: { display: true, text: 'mAP change from the unshifted input (percentage points)' },
            ticks: { callback: ppTick },
            grid: { color: zeroGrid },
          }
        },
        plugins: {
          legend: { display: false },
          tooltip: {
            callbacks: {
              label: function (item) {
                var b = withBounds[item.dataIndex].bounds;
                return 'lower ' + fmt(toPct(b.mapLower), 1) + '% \u2013 upper ' + fmt(toPct(b.mapUpper), 1) +
                  '% (range ' + fmt(toPct(b.mapUpper - b.mapLower), 2) + ' pp; at (0,0) ' +
                  fmt(toPct(b.mapRef), 1) + '%)';
              }
            }
          }
        }
      }
    };
  });

  // mAP with every image at the same shift, relative to the unshifted mAP, one line per detector.
  draw('sb-pershift', function () {
    return {
      type: 'line',
      data: {
        labels: data.shifts.map(function (s) { return s.label || '(' + s.dx + ',' + s.dy + ')'; }),
        datasets: withBounds.map(function (d, i) {
          return {
            label: d.key,
            data: d.bounds.perShift.map(function (v) { return isNum(v) ? toPct(v - d.bounds.mapRef) : null; }),
            sbAbsolute: d.bounds.perShift.map(toPct),
            borderColor: color(i),
            backgroundColor: color(i),
            pointRadius: data.shifts.length > 40 ? 0 : 3,
            borderWidth: 1.5,
            tension: 0
          };
        })
      },
      options: {
        interaction: { mode: 'index', intersect: false },
        scales: {
          x: { title: { display: true, text: 'shift (dx, dy) in model-input pixels, in shift-set order' } },
          y: {
            title: { display: true, text: 'mAP change from (0,0) (pp)' },
            ticks: { callback: ppTick },
            grid: { color: zeroGrid },
          }
        },
        plugins: {
          tooltip: {
            callbacks: {
              label: function (item) {
                return item.dataset.label + ': ' + fmt(item.dataset.sbAbsolute[item.dataIndex], 1) + '% (' +
                  (item.parsed.y > 0 ? '+' : '') + fmt(item.parsed.y, 2) + ' pp)';
              }
            }
          }
        }
      }
    };
  });

  function intervalDataset(label, metric, colorIndex) {
    var present = data.detectors.some(function (d) { return d.consistency[metric]; });
    if (!present) return null;
    return {
      label: label,
      data: data.detectors.map(function (d) { var iv = d.consistency[metric]; return iv ? toPct(iv.mean) : null; }),
      sbIntervals: data.detectors.map(function (d) {
        var iv = d.consistency[metric];
        return iv ? { lo: toPct(iv.lo), hi: toPct(iv.hi) } : null;
      }),
      backgroundColor: color(colorIndex),
      borderWidth: 0
    };
  }

  function intervalChart(datasets, axisTitle, maxPct) {
    var present = datasets.filter(function (d) { return d; });
    // make room for the whiskers: the axis must reach the highest interval end, not just the highest mean
    var top = 0;
    present.forEach(function (ds) {
      ds.sbIntervals.forEach(function (iv) { if (iv && isNum(iv.hi) && iv.hi > top) top = iv.hi; });
    });
    var xScale = { beginAtZero: true, title: { display: true, text: axisTitle }, ticks: { callback: pctTick } };
    if (top > 0) xScale.suggestedMax = Math.min(maxPct, top * 1.05);
    return {
      type: 'bar',
      data: { labels: keys, datasets: present },
      options: {
        indexAxis: 'y',
        scales: { x: xScale },
        plugins: {
          tooltip: {
            callbacks: {
              label: function (item) {
                var iv = item.dataset.sbIntervals[item.dataIndex];
                return item.dataset.label + ': ' + fmt(item.parsed.x, 1) + '% [' +
                  fmt(iv && iv.lo, 1) + '\u2013' + fmt(iv && iv.hi, 1) + ']';
              }
            }
          }
        }
      },
      plugins: [whiskerPlugin]
    };
  }

  draw('sb-consistency', function () {
    return intervalChart(
      [intervalDataset('detection consistency', 'detConsistency', 2)],
      'detection consistency (%), higher is steadier',
      100
    );
  });
  draw('sb-instability', function () {
    return intervalChart([
      intervalDataset('flip rate', 'flipRate', 1),
      intervalDataset('box jitter (1 \u2212 IoU)', 'boxJitterIou', 3),
      intervalDataset('score jitter', 'scoreJitter', 4)
    ], '% (lower is steadier)', 100);
  });
})();
`;
