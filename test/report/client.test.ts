/**
 * The report's browser script, run in a VM: once against a recording stub of Chart
 * (to check the chart data), once against the real inlined Chart.js drawing on a
 * stub 2D context (to check that every chart config is accepted and draws without error).
 */
import { readFile, rm } from 'node:fs/promises';
import vm from 'node:vm';
import { afterAll, describe, expect, it } from 'vitest';
import { renderReport } from '../../src/index.js';
import { labelFreeMetrics, writeRunDir } from './fixture.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function page(metrics?: Parameters<typeof writeRunDir>[0]) {
  const dir = await writeRunDir(metrics);
  dirs.push(dir);
  const html = await readFile((await renderReport(dir)).htmlPath, 'utf8');
  const scripts = [...html.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)];
  // the data block, Chart.js, the client script, then the analysis charts' data block and script (charts.ts)
  expect(scripts).toHaveLength(5);
  expect(scripts[3][1]).toBe(' type="application/json" id="sb-analysis"');
  return { html, data: scripts[0][2], chartJs: scripts[1][2], client: scripts[2][2] };
}

interface FakeEl {
  id: string;
  notes: string[];
  [k: string]: unknown;
}

/** A document holding the page's element ids; error notes appended near a canvas are recorded on it. */
function fakeDocument(html: string, dataJson: string, canvas: (id: string) => Record<string, unknown> = () => ({})) {
  const els = new Map<string, FakeEl>();
  for (const m of html.matchAll(/<canvas id="([^"]+)"/g)) {
    const el: FakeEl = { id: m[1], notes: [], ...canvas(m[1]) };
    const fig = { appendChild: (n: { textContent: string }) => el.notes.push(n.textContent) };
    el.closest = () => fig;
    el.parentNode = fig;
    els.set(m[1], el);
  }
  const document = {
    getElementById: (id: string) => (id === 'sb-data' ? { textContent: dataJson } : (els.get(id) ?? null)),
    createElement: () => ({ className: '', textContent: '' }),
  };
  return { document, els };
}

describe('report client script', () => {
  it('builds the charts from the data block (stub Chart)', async () => {
    const { html, data, client } = await page();
    const { document } = fakeDocument(html, data);
    const made: { id: string; config: any }[] = [];
    function Chart(this: unknown, canvas: { id: string }, config: unknown) {
      made.push({ id: canvas.id, config });
    }
    (Chart as unknown as { defaults: unknown }).defaults = { font: {} };
    vm.runInNewContext(client, { document, Chart });
    expect(made.map((m) => m.id)).toEqual(['sb-range', 'sb-pershift', 'sb-consistency', 'sb-instability']);

    // range bars: lower and upper in pp from mapRef, so the bar length is mapRange
    const range = made[0].config;
    expect(range.data.labels).toEqual(['centernet', 'ssd-mobilenet', 'centernet+input-blur:1', 'faster-rcnn']);
    expect(range.data.datasets).toHaveLength(1);
    const [lo, hi] = range.data.datasets[0].data[1]; // ssd-mobilenet: 20.01 / 22.18 / 23.77
    expect(lo).toBeCloseTo(-2.17, 10);
    expect(hi).toBeCloseTo(1.59, 10);
    expect(hi - lo).toBeCloseTo(3.76, 10);
    const label = range.options.plugins.tooltip.callbacks.label;
    expect(label({ dataIndex: 0, datasetIndex: 0 })).toBe('lower 39.5% – upper 42.4% (range 2.90 pp; at (0,0) 41.2%)');
    expect(range.options.scales.x.ticks.callback(-2)).toBe('-2 pp');
    expect(range.options.scales.x.ticks.callback(1)).toBe('+1 pp');
    expect(range.options.scales.x.grid.color({ tick: { value: 0 } })).toBe('#d62728');

    // per-shift lines: change from mapRef in pp, absolute values kept for the tooltip
    const perShift = made[1].config;
    expect(perShift.data.labels).toEqual(['(0, 0)', '(1, 0)', '(0, 1)', '(1, 1)']);
    expect(perShift.data.datasets).toHaveLength(4);
    expect(perShift.data.datasets[1].data.map((v: number) => +v.toFixed(4))).toEqual([0, -0.64, -0.19, -0.55]);
    const psLabel = perShift.options.plugins.tooltip.callbacks.label;
    expect(
      psLabel({ dataset: perShift.data.datasets[1], dataIndex: 1, parsed: { y: perShift.data.datasets[1].data[1] } }),
    ).toBe('ssd-mobilenet: 21.5% (-0.64 pp)');

    const cons = made[2].config;
    expect(cons.data.datasets).toHaveLength(1);
    expect(cons.data.datasets[0].data[1]).toBeCloseTo(83.45, 10);
    expect(cons.data.datasets[0].sbIntervals[1].lo).toBeCloseTo(81, 10);
    expect(cons.data.datasets[0].sbIntervals[1].hi).toBeCloseTo(85.9, 10);
    expect(cons.options.scales.x.suggestedMax).toBeCloseTo(93.1 * 1.05, 10); // room for the highest whisker, at most 100
    const inst = made[3].config;
    expect(inst.options.scales.x.suggestedMax).toBeCloseTo(17 * 1.05, 10); // room for the highest whisker
    expect(inst.data.datasets.map((d: { label: string }) => d.label)).toEqual([
      'flip rate',
      'box jitter (1 − IoU)',
      'score jitter',
    ]);
    expect(
      inst.options.plugins.tooltip.callbacks.label({
        dataset: inst.data.datasets[0],
        dataIndex: 1,
        parsed: { x: 15.23 },
      }),
    ).toBe('flip rate: 15.2% [13.0–17.0]');

    // the whisker plugin draws one line and two caps per bar, at the interval ends
    const calls: string[] = [];
    const ctx = new Proxy(
      {},
      {
        get:
          (_t, p) =>
          (...a: number[]) =>
            calls.push(`${String(p)}(${a.join(',')})`),
        set: () => true,
      },
    );
    const fakeChart = {
      ctx,
      options: { indexAxis: 'y' },
      scales: { x: { getPixelForValue: (v: number) => v * 10 } },
      data: { datasets: cons.data.datasets },
      isDatasetVisible: () => true,
      getDatasetMeta: () => ({ data: [0, 1, 2, 3].map((i) => ({ y: 100 + 20 * i, height: 16 })) }),
    };
    cons.plugins[0].afterDatasetsDraw(fakeChart);
    expect(calls.filter((c) => c === 'stroke()')).toHaveLength(4);
    expect(calls).toContain(`moveTo(${81 * 10},120)`);
    const lineTo = calls.filter((c) => c.startsWith('lineTo(')).map((c) => c.slice(7, -1).split(',').map(Number));
    expect(lineTo.some(([x, y]) => Math.abs(x - 859) < 1e-9 && y === 120)).toBe(true); // hi of ssd-mobilenet, 85.9%
  });

  it('label-free: only the consistency charts, without flip rate', async () => {
    const { html, data, client } = await page(labelFreeMetrics());
    const { document } = fakeDocument(html, data);
    const made: { id: string; config: any }[] = [];
    function Chart(this: unknown, canvas: { id: string }, config: unknown) {
      made.push({ id: canvas.id, config });
    }
    (Chart as unknown as { defaults: unknown }).defaults = { font: {} };
    vm.runInNewContext(client, { document, Chart });
    expect(made.map((m) => m.id)).toEqual(['sb-consistency', 'sb-instability']);
    expect(made[1].config.data.datasets.map((d: { label: string }) => d.label)).toEqual([
      'box jitter (1 − IoU)',
      'score jitter',
    ]);
  });

  it('says so next to each chart when Chart.js is missing', async () => {
    const { html, data, client } = await page();
    const { document, els } = fakeDocument(html, data);
    vm.runInNewContext(client, { document });
    for (const el of els.values())
      expect(el.notes).toEqual(['Chart not drawn (Chart.js did not load). The tables hold the same numbers.']);
  });

  for (const variant of ['labelled', 'label-free'] as const) {
    it(`draws every chart with the real inlined Chart.js without errors (${variant})`, async () => {
      const { html, data, chartJs, client } = await page(variant === 'labelled' ? undefined : labelFreeMetrics());
      let strokes = 0;
      const ctx2d = (canvas: unknown) =>
        new Proxy({} as Record<string | symbol, unknown>, {
          get: (t, p) => {
            if (p in t) return t[p];
            if (p === 'canvas') return canvas;
            if (p === 'measureText')
              return (s: string) => ({
                width: String(s).length * 6,
                actualBoundingBoxAscent: 8,
                actualBoundingBoxDescent: 2,
              });
            if (p === 'createLinearGradient' || p === 'createPattern') return () => ({ addColorStop() {} });
            if (p === 'getLineDash') return () => [];
            if (p === 'stroke') return () => strokes++;
            return () => {};
          },
          set: (t, p, v) => ((t[p] = v), true),
        });
      const { document, els } = fakeDocument(html, data, (id) => {
        const canvas: Record<string, unknown> = { id, width: 900, height: 300, style: {} };
        const ctx = ctx2d(canvas);
        canvas.getContext = () => ctx;
        return canvas;
      });
      const errors: unknown[] = [];
      const context = vm.createContext({
        document,
        console: { error: (...a: unknown[]) => errors.push(a), warn: (...a: unknown[]) => errors.push(a), log() {} },
      });
      vm.runInContext(chartJs, context);
      expect(typeof (context as { Chart?: unknown }).Chart).toBe('function');
      vm.runInContext(client, context);
      for (const el of els.values()) expect(el.notes).toEqual([]);
      expect(errors).toEqual([]);
      expect(strokes).toBeGreaterThan(els.size * 4); // axes, grid lines, lines and whiskers were drawn
    });
  }
});
