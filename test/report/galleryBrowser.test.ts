/**
 * Issue 12 item 6 (part): the flicker gallery of a real run (fake detectors through the real
 * runner) in headless Chromium — no console errors and no network request under the report's
 * CSP, the live DOM holds each thumbnail as an inline JPEG with hover titles (class and
 * score), and the thumbnails are drawn: a full-page screenshot carries far more image detail
 * than the same page whose thumbnails are broken (the negative control: same boxes and text),
 * at a laptop and at a phone width.
 * Screenshots are kept in reports/test-artifacts/.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderReport } from '../../src/report/index.js';
import { REPO_ROOT } from '../helpers/shared.js';
import { makeRun, makeRunFixture, type RunFixture } from './runs.js';

const CANDIDATES = [
  process.env.SHIFTBENCH_CHROMIUM,
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome',
];
const chromium = CANDIDATES.find((p): p is string => !!p && existsSync(p)) ?? null;
if (!chromium)
  process.stderr.write(
    '[skip] "flicker gallery in headless Chromium": no Chromium found (set SHIFTBENCH_CHROMIUM to enable)\n',
  );
const describeBrowser = chromium ? describe : describe.skip;
const ARTIFACTS = path.join(REPO_ROOT, 'reports', 'test-artifacts');

function chrome(profile: string, args: string[]) {
  return spawnSync(
    chromium!,
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--hide-scrollbars',
      '--enable-logging=stderr',
      '--log-level=0',
      '--host-resolver-rules=MAP * ~NOTFOUND',
      `--user-data-dir=${profile}`,
      ...args,
    ],
    { encoding: 'utf8', timeout: 90_000 },
  );
}

describeBrowser('flicker gallery in headless Chromium (real run)', () => {
  let fx: RunFixture;
  let withGallery: string;
  let broken: string;
  let profile: string;
  let lineReport: string;
  let metrics: import('../../src/core/types.js').RunMetrics;

  beforeAll(async () => {
    fx = await makeRunFixture(16);
    const made = await makeRun(fx, 'run', { models: ['shaky'] });
    const dir = made.dir;
    metrics = made.metrics;
    withGallery = (await renderReport(dir)).htmlPath;
    broken = path.join(fx.root, 'broken.html');
    await writeFile(
      broken,
      (await readFile(withGallery, 'utf8')).replace(
        /href="data:image\/jpeg;base64,[^"]+"/g,
        'href="data:image/jpeg;base64,AAAA"',
      ),
    );
    const line = await makeRun(fx, 'line', { models: ['shaky'], shifts: 'line:6' });
    lineReport = (await renderReport(line.dir, { gallery: 0 })).htmlPath;
    profile = await mkdtemp(path.join(os.tmpdir(), 'shiftbench-chromium-'));
    await mkdir(ARTIFACTS, { recursive: true });
  });
  afterAll(async () => {
    await rm(fx.root, { recursive: true, force: true });
    await rm(profile, { recursive: true, force: true });
  });

  it('loads with no console error or network request; each thumbnail is an inline JPEG with hover titles', () => {
    const r = chrome(profile, ['--virtual-time-budget=5000', '--dump-dom', `file://${withGallery}`]);
    expect(r.status).toBe(0);
    expect(r.stderr.split('\n').filter((l) => /CONSOLE|Uncaught|net::ERR|Refused to/.test(l))).toEqual([]);
    const items = [...r.stdout.matchAll(/<div class="g-item"[\s\S]*?<\/p><\/div>/g)].map((m) => m[0]);
    expect(items).toHaveLength(3);
    for (const it of items) {
      const images = [...it.matchAll(/<image href="(data:[^"]+)"/g)].map((m) => m[1]);
      expect(images).toHaveLength(2);
      for (const src of images) expect(src).toMatch(/^data:image\/jpeg;base64,\/9j\//); // a JPEG's magic bytes
      expect(it).toMatch(/<title>(disc|square) · score 0\.90 · (kept|vanished|appeared)<\/title>/);
    }
  });

  for (const [name, width] of [
    ['laptop', 1366],
    ['phone', 390],
  ] as const) {
    it(`draws the thumbnails at a ${name} width (${width} px): far more image detail than with broken thumbnails`, async () => {
      const shots: number[] = [];
      for (const [label, file] of [
        ['gallery', withGallery],
        ['broken-thumbnails', broken],
      ] as const) {
        const out = path.join(ARTIFACTS, `gallery-${name}-${label}.png`);
        const r = chrome(profile, [`--window-size=${width},9000`, `--screenshot=${out}`, `file://${file}`]);
        expect(r.status).toBe(0);
        // edge energy: the mean absolute difference between neighbouring pixels (noise thumbnails have a lot)
        const { data, info } = await sharp(out).greyscale().raw().toBuffer({ resolveWithObject: true });
        let sum = 0;
        for (let y = 0; y < info.height; y++)
          for (let x = 1; x < info.width; x++) sum += Math.abs(data[y * info.width + x] - data[y * info.width + x - 1]);
        shots.push(sum);
      }
      const [drawn, blank] = shots;
      // six thumbnails of random-noise images (each ≥ 100 × 100 px on screen) add ≥ 6 × 100² × 20 of edge energy
      expect(drawn - blank).toBeGreaterThan(6 * 100 * 100 * 20);
    });
  }

  it('draws every chart of a real run, the analysis charts included (intervals, paired ✱, size, periodicity for line:K)', () => {
    for (const [file, expected] of [
      [
        withGallery,
        [
          'sb-range',
          'sb-pershift',
          'sb-range-iv',
          'sb-paired',
          'sb-size-curve',
          'sb-size-range',
          'sb-consistency',
          'sb-instability',
        ],
      ],
      [
        lineReport,
        [
          'sb-range',
          'sb-pershift',
          'sb-range-iv',
          'sb-paired',
          'sb-size-curve',
          'sb-size-range',
          'sb-period-x',
          'sb-period-y',
          'sb-consistency',
          'sb-instability',
        ],
      ],
    ] as const) {
      const r = chrome(profile, ['--virtual-time-budget=5000', '--dump-dom', `file://${file}`]);
      expect(r.status).toBe(0);
      expect(r.stderr.split('\n').filter((l) => /CONSOLE|Uncaught|net::ERR|Refused to/.test(l))).toEqual([]);
      expect(r.stdout).not.toContain('class="chart-error"');
      const canvases = [...r.stdout.matchAll(/<canvas id="([^"]+)"[^>]*>/g)];
      expect(canvases.map((m) => m[1])).toEqual(expected);
      for (const m of canvases)
        expect(m[0]).toMatch(/style="display: block; box-sizing: border-box; height: \d+px; width: \d+px;"/); // sized by Chart.js
    }
  });

  it("the live page's headline table shows the numbers of metrics.json", () => {
    const r = chrome(profile, ['--virtual-time-budget=5000', '--dump-dom', `file://${withGallery}`]);
    expect(r.status).toBe(0);
    for (const m of metrics.results) {
      const row = r.stdout.match(new RegExp(`<tr data-key="${m.key.replace(/[+]/g, '\\+')}">(.*?)</tr>`))![1];
      const b = m.bounds!;
      const iv = m.analysis!.boundsInterval!.mapRange;
      expect(row).toContain(
        `<td class="key-metric">${(b.mapRange * 100).toFixed(2)} pp <span class="ci" title="95% bootstrap interval over images">[${(iv.lo * 100).toFixed(2)}–${(iv.hi * 100).toFixed(2)}]</span>`,
      );
      expect(row).toContain(`<td>${(b.mapRef * 100).toFixed(1)}%`);
      expect(row).toContain(`${(m.consistency.detConsistency.mean * 100).toFixed(1)}% <span class="ci"`);
    }
  });
});
