/**
 * Optional: opens report.html in headless Chromium (when one is installed; set
 * SHIFTBENCH_CHROMIUM to point at it) and checks that the page logs nothing to the
 * console, draws every chart, and that hostile strings stay text.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { renderReport } from '../../src/index.js';
import { labelFreeMetrics, labelledMetrics, writeRunDir } from './fixture.js';

const CANDIDATES = [
  process.env.SHIFTBENCH_CHROMIUM,
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome',
];
const chromium = CANDIDATES.find((p): p is string => !!p && existsSync(p)) ?? null;
if (!chromium)
  process.stderr.write('[skip] "report in headless Chromium": no Chromium found (set SHIFTBENCH_CHROMIUM to enable)\n');
const describeBrowser = chromium ? describe : describe.skip;

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function openInChromium(metrics: Parameters<typeof writeRunDir>[0]) {
  const dir = await writeRunDir(metrics);
  const profile = await mkdtemp(path.join(os.tmpdir(), 'shiftbench-chromium-'));
  dirs.push(dir, profile);
  const { htmlPath } = await renderReport(dir);
  const r = spawnSync(
    chromium!,
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--enable-logging=stderr',
      '--log-level=0',
      '--host-resolver-rules=MAP * ~NOTFOUND',
      `--user-data-dir=${profile}`,
      '--virtual-time-budget=5000',
      '--dump-dom',
      `file://${htmlPath}`,
    ],
    { encoding: 'utf8', timeout: 90_000 },
  );
  expect(r.status).toBe(0);
  const consoleLines = r.stderr.split('\n').filter((l) => /CONSOLE|Uncaught|net::ERR/.test(l));
  return { dom: r.stdout, consoleLines };
}

describeBrowser('report in headless Chromium', () => {
  for (const variant of ['labelled', 'label-free'] as const) {
    it(`draws every chart with no console output (${variant})`, async () => {
      const { dom, consoleLines } = await openInChromium(
        variant === 'labelled' ? labelledMetrics() : labelFreeMetrics(),
      );
      expect(consoleLines).toEqual([]);
      expect(dom).not.toContain('<p class="chart-error"');
      const canvases = [...dom.matchAll(/<canvas id="([^"]+)"[^>]*>/g)];
      expect(canvases.map((m) => m[1])).toEqual(
        variant === 'labelled'
          ? ['sb-range', 'sb-pershift', 'sb-consistency', 'sb-instability']
          : ['sb-consistency', 'sb-instability'],
      );
      for (const m of canvases)
        expect(m[0]).toMatch(/style="display: block; box-sizing: border-box; height: \d+px; width: \d+px;"/); // sized by Chart.js
    });
  }

  it('keeps hostile names as text in the live page', async () => {
    const m = labelledMetrics();
    m.results[0] = {
      ...m.results[0],
      key: 'k</script><img src=x onerror=alert(1)>',
      model: '<img src=y onerror=alert(2)>',
    };
    m.dataset.name = '<svg onload=alert(3)>';
    const { dom, consoleLines } = await openInChromium(m);
    expect(consoleLines).toEqual([]);
    expect(dom).not.toMatch(/<img\b/i);
    expect(dom).not.toMatch(/<svg\b/i);
    expect(dom).toContain('&lt;img src=y onerror=alert(2)&gt;');
  });
});
