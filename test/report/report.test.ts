import { readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ShiftbenchError, renderReport, type ReportSummary } from '../../src/index.js';
import { labelFreeMetrics, labelledMetrics, manifest, writeRunDir } from './fixture.js';

const made: string[] = [];
async function runDir(...args: Parameters<typeof writeRunDir>): Promise<string> {
  const d = await writeRunDir(...args);
  made.push(d);
  return d;
}
afterAll(async () => {
  for (const d of made) await rm(d, { recursive: true, force: true });
});

async function render(dir: string) {
  const paths = await renderReport(dir);
  return {
    ...paths,
    html: await readFile(paths.htmlPath, 'utf8'),
    json: JSON.parse(await readFile(paths.jsonPath, 'utf8')) as ReportSummary,
  };
}

/** The HTML with the inlined Chart.js bundle taken out (its licence banner names its web site). */
function withoutChartJs(html: string): string {
  const start = html.indexOf('<script>/*!\n * Chart.js');
  expect(start).toBeGreaterThan(0);
  const end = html.indexOf('</script>', start);
  return html.slice(0, start) + html.slice(end);
}

async function expectError(p: Promise<unknown>, code: string, text: string | RegExp): Promise<void> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ShiftbenchError);
  expect((err as ShiftbenchError).code).toBe(code);
  if (typeof text === 'string') expect((err as Error).message).toBe(text);
  else expect((err as Error).message).toMatch(text);
}

describe('renderReport: labelled run', () => {
  it('writes report.html and report.json into the run directory', async () => {
    const dir = await runDir();
    const { htmlPath, jsonPath, json } = await render(dir);
    expect(htmlPath).toBe(path.join(dir, 'report.html'));
    expect(jsonPath).toBe(path.join(dir, 'report.json'));
    expect(Object.keys(json.detectors)).toEqual([
      'centernet',
      'ssd-mobilenet',
      'centernet+input-blur:1',
      'faster-rcnn',
    ]);
    // JSON stays in 0–1, straight from metrics.json
    expect(json.detectors.centernet).toMatchObject({
      mapRef: 0.4123,
      mapLower: 0.3951,
      mapUpper: 0.4241,
      mapRange: 0.029,
      costRatio: null,
    });
    expect(json.detectors.centernet.detConsistency).toEqual({ mean: 0.912, lo: 0.89, hi: 0.931 });
    expect(json.detectors['centernet+input-blur:1']).toMatchObject({ mitigation: 'input-blur:1', costRatio: 1.85 });
    expect(json.detectors['ssd-mobilenet']).toMatchObject({ skippedImages: 1, imagesEvaluated: 127 });
    expect(json.shiftSet).toEqual({ spec: 'grid:1', count: 4 });
    expect(json.manifest).toEqual({
      toolVersion: '0.1.0',
      nodeVersion: 'v20.20.2',
      backend: 'auto',
      machine: 'linux x64, 16 CPUs',
      createdAt: '2025-11-25T08:00:00.000Z',
      seed: 0,
      datasetHash: 'd4t4s3th4sh',
      // not rescored: the metrics are the run's own
      rescored: null,
    });
  });

  it('shows every detector key and its numbers as percentages with intervals', async () => {
    const { html } = await render(await runDir());
    for (const key of ['centernet', 'ssd-mobilenet', 'centernet+input-blur:1', 'faster-rcnn']) {
      expect(html).toContain(`<tr data-key="${key}">`);
    }
    const table = html.slice(
      html.indexOf('<section id="headline">'),
      html.indexOf('</section>', html.indexOf('<section id="headline">')),
    );
    const centernetRow = table.split('\n').find((l) => l.startsWith('<tr data-key="centernet">'))!;
    expect(centernetRow).toContain(
      '<td>41.2%</td><td>39.5%</td><td>42.4%</td><td class="key-metric">2.90 pp</td><td>7.0%</td>',
    );
    expect(centernetRow).toContain('8.7% <span class="ci" title="95% bootstrap interval">[7.1–10.4]</span>'); // flip rate
    expect(centernetRow).toContain('91.2% <span class="ci" title="95% bootstrap interval">[89.0–93.1]</span>'); // det. consistency
    expect(centernetRow).toContain('4.21% <span class="ci" title="95% bootstrap interval">[3.88–4.56]</span>'); // 1 − IoU
    expect(centernetRow).toContain('1.23 px <span class="ci" title="95% bootstrap interval">[1.10–1.37]</span>'); // centre px
    expect(centernetRow).toContain('<span class="na">baseline</span></td></tr>'); // the plain detector is the cost baseline
    const blurRow = table.split('\n').find((l) => l.startsWith('<tr data-key="centernet+input-blur:1">'))!;
    expect(blurRow).toContain('×1.85');
    // no paired interval in this run (no bounds bootstrap): no difference to the plain detector is shown
    expect(blurRow).toContain('1.91 pp</td>');
    expect(blurRow).not.toContain('vs plain');
    // grouped by family in the paper's order, each model's plain run before its mitigation
    const order = [
      'one-stage · anchor-based',
      'data-key="ssd-mobilenet"',
      'one-stage · anchor-free',
      'data-key="centernet"',
      'data-key="centernet+input-blur:1"',
      'two-stage · anchor-based',
      'data-key="faster-rcnn"',
    ];
    const at = order.map((s) => table.indexOf(s));
    expect(at.every((x) => x >= 0)).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
  });

  it('names the TF.js backend a run resolved to, beside the one asked for, and no backend where no TF.js model ran', async () => {
    // the fixture: backend auto asked for, one TF.js detector (runtime "tfjs wasm") beside ONNX ones
    const { html } = await render(await runDir());
    expect(html).toContain('<dt>TF.js backend</dt><dd>wasm (asked for: auto)</dd>');
    expect(html).not.toContain('<dt>Backend</dt>');
    const onnxOnly = labelledMetrics();
    for (const r of onnxOnly.results) r.runtime = 'onnxruntime-node cpu';
    const plain = await render(await runDir(onnxOnly));
    expect(plain.html).not.toContain('backend</dt>');
    expect(plain.html).not.toContain('Backend</dt>');
    // asked for by name: the name alone
    const named = await render(await runDir(labelledMetrics(), { ...manifest(), backend: 'wasm' }));
    expect(named.html).toContain('<dt>TF.js backend</dt><dd>wasm</dd>');
  });

  it('counts the images the intervals are over as evaluated, not as in the dataset, when images were skipped', async () => {
    // the fixture: ssd-mobilenet skipped 1 of 128 images, the others none
    const mixed = await render(await runDir());
    expect(mixed.html).toContain(
      'Consistency intervals show the sampling spread over the images each detector was scored on (127–128 of 128; ' +
        'skipped images are left out)',
    );
    // every detector skipped the same image: 127 of 128
    const m = labelledMetrics();
    for (const r of m.results) r.imagesEvaluated = 127;
    const same = await render(await runDir(m));
    expect(same.html).toContain(
      'Consistency intervals show the sampling spread over these 127 images (of 128; skipped images are left out)',
    );
    expect(same.html).not.toContain('over these 128 images');
  });

  it('has the header facts, charts with text fallbacks, a grid heatmap, notes and skipped images', async () => {
    const { html } = await render(await runDir());
    expect(html).toContain('<code>grid:1</code> — 4 shifts, up to 1 px');
    expect(html).toContain('2025-11-25T08:00:00.000Z');
    expect(html).toContain(
      '<tr><td><code>detectors[0].files[0].sha256</code></td><td><code>abc123model</code></td></tr>',
    );
    const hashes = html.slice(
      html.indexOf('<table class="hashes">'),
      html.indexOf('</table>', html.indexOf('<table class="hashes">')),
    );
    expect([...hashes.matchAll(/<tr><td><code>([^<]+)<\/code><\/td>/g)].map((m) => m[1])).toEqual([
      'dataset.hash', // identity.datasetHash repeats it: listed once
      'detectors[0].files[0].sha256',
      'detectors[1].files[0].sha256',
    ]);
    expect(html).toContain('<dt>Machine</dt><dd>linux x64, 16 CPUs</dd>');
    expect(html).toContain('<dt>Runtime</dt><dd>onnxruntime-node cpu, tfjs wasm</dd>');
    expect(html).toContain(
      '<tr><th scope="row"><code>centernet</code></th><td>onnxruntime-node cpu</td><td>512×512</td><td>32</td><td>128</td>',
    );
    for (const id of ['sb-range', 'sb-pershift', 'sb-consistency', 'sb-instability'])
      expect(html).toContain(`<canvas id="${id}" role="img"`);
    expect(html).toContain('<li><code>ssd-mobilenet</code>: 20.0% – 23.8% (range 3.76 pp)</li>');
    expect(html).toContain('<table class="heat">');
    const heat = html.slice(
      html.indexOf('<table class="heat">'),
      html.indexOf('</table>', html.indexOf('<table class="heat">')),
    );
    // centernet's grid: row dy=1 holds (0,1) = 40.87% (the lowest: lightest) and (1,1) = 41.32% (the highest: darkest)
    expect(heat).toContain(
      '<tr><th scope="row">1</th><td style="background:hsl(210,70%,95.0%)">40.9</td><td style="background:hsl(210,70%,60.0%)">41.3</td></tr>',
    );
    expect(html).toContain('lower bound is at or above the true minimum');
    expect(html).toContain('<td>000000000077.jpg</td><td>decode failed: truncated JPEG</td>');
    expect(html).toContain('1000 resamples, seed 0');
  });

  it('is self-contained: no network references, Chart.js inlined without its source map', async () => {
    const { html } = await render(await runDir());
    expect(html).toContain('Chart.js v4');
    expect(html).not.toMatch(/<link\b/i);
    expect(html).not.toMatch(/<script[^>]*\ssrc=/i);
    expect(html).not.toMatch(/(src|href)\s*=\s*["']?(https?:)?\/\//i);
    expect(html).not.toMatch(/url\(\s*["']?(https?:)?\/\//i);
    expect(html).not.toMatch(/@import/i);
    expect(html).not.toContain('sourceMappingURL');
    const rest = withoutChartJs(html);
    expect(rest).not.toContain('http://');
    expect(rest).not.toContain('https://');
  });

  it('renders the same bytes twice (no timestamps of its own)', async () => {
    const dir = await runDir();
    const a = await render(dir);
    const b = await render(dir);
    expect(b.html).toBe(a.html);
    expect(JSON.stringify(b.json)).toBe(JSON.stringify(a.json));
  });

  it('writes to --out and puts the JSON next to it', async () => {
    const dir = await runDir();
    const outDir = await runDir(null, null);
    const out = path.join(outDir, 'sub', 'mine.html');
    const info: string[] = [];
    const r = await renderReport(dir, { outFile: out, logger: { info: (m) => info.push(m), warn: () => {} } });
    expect(r).toEqual({ htmlPath: out, jsonPath: path.join(outDir, 'sub', 'mine.json') });
    expect((await readFile(r.htmlPath, 'utf8')).startsWith('<!doctype html>')).toBe(true);
    expect(info).toEqual([`report: wrote ${out} and ${r.jsonPath}`]);
    await expectError(
      renderReport(dir, { outFile: outDir }),
      'ERR_INVALID_OPTION',
      `Expected a file path (not a directory) for --out but received ${JSON.stringify(outDir)}. Give a file name such as ${path.join(outDir, 'report.html')}.`,
    );
  });

  it('shows the key under the model name only where it is not model[+mitigation]', async () => {
    const m = labelledMetrics();
    m.results[3].key = 'frcnn-r50';
    const { html } = await render(await runDir(m));
    expect(html).toContain(
      '<tr data-key="frcnn-r50"><th scope="row">faster-rcnn<span class="key">key <code>frcnn-r50</code></span></th>',
    );
    expect(html).toContain(
      '<tr data-key="centernet+input-blur:1"><th scope="row">centernet</th><td class="label"><code>input-blur:1</code></td>',
    );
  });

  it('works with a single detector', async () => {
    const m = labelledMetrics();
    m.results = [m.results[2]]; // a mitigation whose plain run is not in this run
    const { html, json } = await render(await runDir(m));
    expect(Object.keys(json.detectors)).toEqual(['centernet+input-blur:1']);
    expect(html).toContain('<code>centernet+input-blur:1</code>');
    expect(html).not.toContain('vs plain');
  });
});

describe('renderReport: escaping', () => {
  it('escapes model names, keys and dataset names from the data everywhere', async () => {
    const m = labelledMetrics();
    const evilKey = 'evil</script><script>alert(1)</script>';
    m.results[0] = { ...m.results[0], key: evilKey, model: '<img src=x onerror=alert(1)>', mitigation: null };
    m.results[2] = { ...m.results[2], mitigation: '"><svg onload=alert(2)>' };
    m.dataset.name = '<b>bold</b>';
    m.results[1].skippedImages = [{ imageId: 1, fileName: '<iframe>.jpg', reason: "it's <bad>" }];
    const man = { ...manifest(), createdAt: '<script>alert(3)</script>' };
    const { html } = await render(await runDir(m, man));
    expect(html).not.toContain('<img src=x');
    expect(html).not.toContain('<svg onload');
    expect(html).not.toContain('<b>bold</b>');
    expect(html).not.toContain('<iframe>');
    expect(html).not.toContain('<script>alert');
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(html).toContain('<code>&quot;&gt;&lt;svg onload=alert(2)&gt;</code>');
    expect(html).toContain('evil&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;');
    // exactly our five script elements (data, Chart.js, client; the analysis charts' data and script)
    expect(html.match(/<script\b/gi)).toHaveLength(5);
    expect(html.match(/<\/script>/gi)).toHaveLength(5);
    // the data block still carries the key exactly
    const block = html.slice(
      html.indexOf('<script type="application/json" id="sb-data">') + 45,
      html.indexOf('</script>'),
    );
    expect(JSON.parse(block).detectors[0].key).toBe(evilKey);
  });
});

describe('renderReport: label-free run', () => {
  it('renders consistency only and says why', async () => {
    const { html, json } = await render(await runDir(labelFreeMetrics()));
    expect(json.dataset.labelFree).toBe(true);
    expect(json.detectors.centernet).toMatchObject({ mapRef: null, mapRange: null, perShiftMap: null, flipRate: null });
    expect(html).toContain('<span class="badge">label-free</span>');
    expect(html).not.toContain('mAP lower</th>');
    expect(html).not.toContain('flip rate</th>');
    expect(html).not.toContain('id="sb-range"');
    expect(html).not.toContain('id="sb-pershift"');
    expect(html).toContain('id="sb-consistency"');
    expect(html).toContain('This dataset has no labels: only consistency metrics are available.');
    expect(html).toContain('91.2% <span class="ci" title="95% bootstrap interval">[89.0–93.1]</span>');
    expect(html).toContain('<code>line:2</code> — 5 shifts, up to 2 px');
  });
});

describe('renderReport: bad input', () => {
  it('rejects a run directory that does not exist, or is a file', async () => {
    const missing = path.join(os.tmpdir(), 'shiftbench-no-such-run-dir');
    const hint = '. Pass the directory that `shiftbench run` wrote (it holds manifest.json and metrics.json).';
    await expectError(
      renderReport(missing),
      'ERR_INVALID_OPTION',
      `Expected an existing run directory for <runDir> but received ${JSON.stringify(missing)}${hint}`,
    );
    const dir = await runDir();
    const file = path.join(dir, 'metrics.json');
    await expectError(
      renderReport(file),
      'ERR_INVALID_OPTION',
      `Expected an existing run directory for <runDir> but received ${JSON.stringify(file)}${hint}`,
    );
  });

  it('names a missing metrics.json or manifest.json and how to get it', async () => {
    const noMetrics = await runDir(null);
    const fix =
      'Run `shiftbench run …` first; if it was run, it was interrupted before it finished: rerun the same command to resume, then `shiftbench report <runDir>`.';
    await expectError(renderReport(noMetrics), 'ERR_OUTPUT', `No metrics.json in run directory ${noMetrics}. ${fix}`);
    const noManifest = await runDir(labelledMetrics(), null);
    await expectError(
      renderReport(noManifest),
      'ERR_OUTPUT',
      `No manifest.json in run directory ${noManifest}. ${fix}`,
    );
  });

  it('names a file cut off mid-write', async () => {
    const dir = await runDir(JSON.stringify(labelledMetrics()).slice(0, 200));
    await expectError(
      renderReport(dir),
      'ERR_OUTPUT',
      new RegExp(
        `^${escapeRe(path.join(dir, 'metrics.json'))} is not valid JSON \\(.+\\)\\. The file is damaged or was cut off: ${escapeRe(`\`shiftbench report ${dir} --rescore\` computes it again from the stored detections (no model runs).`)}$`,
      ),
    );
  });

  it('refuses a placeholder (-1) or any mAP outside 0–1 in metrics.json instead of showing it as a value', async () => {
    for (const [field, value, shown] of [
      ['mapRef', -1, '-1'],
      ['mapUpper', 1.5, '1\\.5'],
      ['mapRange', -0.01, '-0\\.01'],
    ] as const) {
      const m = labelledMetrics() as unknown as { results: { bounds: Record<string, unknown> }[] };
      m.results[1].bounds[field] = value;
      await expectError(
        renderReport(await runDir(m as never)),
        'ERR_OUTPUT',
        new RegExp(`Expected a fraction from 0 to 1 for results\\[1\\]\\.bounds\\.${field} but received ${shown}`),
      );
    }
    const perShift = labelledMetrics();
    perShift.results[1].bounds!.perShift[2] = -1;
    await expectError(
      renderReport(await runDir(perShift)),
      'ERR_OUTPUT',
      /Expected a fraction from 0 to 1 for results\[1\]\.bounds\.perShift\[2\] but received -1/,
    );
  });

  it('names the bad field of a malformed metrics.json', async () => {
    const m = labelledMetrics() as unknown as { results: { bounds: Record<string, unknown> }[] };
    m.results[1].bounds.mapRef = '41%';
    const dir = await runDir(m as never);
    await expectError(
      renderReport(dir),
      'ERR_OUTPUT',
      `${path.join(dir, 'metrics.json')} is not a shiftbench run file: Expected a number for results[1].bounds.mapRef but received "41%". It may be from another tool or damaged: rerun the same \`shiftbench run\` command to rewrite it.`,
    );
    const dup = labelledMetrics();
    dup.results[1].key = 'centernet';
    const dupDir = await runDir(dup);
    await expectError(
      renderReport(dupDir),
      'ERR_OUTPUT',
      /Expected a key not used by another result for results\[1\]\.key but received "centernet"/,
    );
    const empty = labelledMetrics();
    empty.results = [];
    await expectError(
      renderReport(await runDir(empty)),
      'ERR_OUTPUT',
      /Expected at least one detector result for results but received an array of length 0/,
    );
    await expectError(
      renderReport(await runDir(labelledMetrics(), '[1,2]')),
      'ERR_OUTPUT',
      /manifest\.json is not a shiftbench run file: Expected a JSON object for the manifest but received \[1, 2\]/,
    );
  });

  it('names an unsupported schema version and how to read it: update for a newer one, --rescore for an older one', async () => {
    const m = { ...labelledMetrics(), schemaVersion: 2 };
    const dir = await runDir(m as never);
    await expectError(
      renderReport(dir),
      'ERR_OUTPUT',
      `${path.join(dir, 'metrics.json')}: Expected schemaVersion 1 but received 2. The run was written by a newer shiftbench: update shiftbench (npm install shiftbench@latest) to read it.`,
    );
    const old = await runDir({ ...labelledMetrics(), schemaVersion: 0 } as never);
    await expectError(
      renderReport(old),
      'ERR_OUTPUT',
      `${path.join(old, 'metrics.json')}: Expected schemaVersion 1 but received 0. The run was written by an older shiftbench: re-render it with this version from its stored detections (no model runs): \`shiftbench report ${old} --rescore\`.`,
    );
  });

  it('leaves no partial report behind when it fails', async () => {
    const dir = await runDir(labelledMetrics(), null);
    await renderReport(dir).catch(() => {});
    await expect(readFile(path.join(dir, 'report.html'))).rejects.toThrow();
    await writeFile(path.join(dir, 'manifest.json'), JSON.stringify(manifest()));
    await expect(renderReport(dir)).resolves.toBeDefined();
  });
});

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describe('checkRunDir limits from a library caller', () => {
  it('null limits, or a limit under a name check does not know, are refused by name (a typo is not a skipped limit)', async () => {
    const { checkRunDir } = await import('../../src/index.js');
    const missing = path.join(os.tmpdir(), 'shiftbench-no-such-run');
    const cases: [unknown, string][] = [
      [null, 'Expected an object of check limits for limits but received null'],
      [
        { maxRange: 0.1, maxFlipRat: 0.05 },
        'Expected only check limits (maxRange, maxRelRange, maxFlipRate, maxIncrease) for limits but received "maxFlipRat"',
      ],
    ];
    for (const [limits, message] of cases) {
      const err = await checkRunDir(missing, limits as never).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ShiftbenchError);
      expect((err as ShiftbenchError).code).toBe('ERR_INVALID_OPTION');
      expect((err as Error).message).toBe(message);
    }
  });
});
