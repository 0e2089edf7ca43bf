import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { definePlugin, guardPluginMitigation, loadDetector, loadPlugins } from '../../src/detectors/index.js';
import { definePlugin as definePluginPublic } from '../../src/plugin.js';
import type { Detector, RgbImage } from '../../src/core/types.js';
import { REPO_ROOT, rejection } from '../helpers/shared.js';

const EXAMPLE = path.join(REPO_ROOT, 'examples/plugins/blob-detector.mjs');

const INFO = `{
  name: 'x',
  family: { stages: 'one-stage', anchors: 'anchor-free' },
  inputSizePx: { width: 8, height: 8 },
  classes: [{ id: 1, name: 'thing' }, { id: 2, name: 'other' }],
  maxBatch: 4,
}`;
/** One plug-in whose detectors each misbehave in one way. */
const FAULTY = `
const info = ${INFO};
const make = (detect) => () => ({ info, detect, dispose: async () => {} });
const one = (d) => make(async (batch) => batch.map(() => [d]));
export default {
  apiVersion: 1,
  name: 'faulty',
  detectors: {
    good: one({ bbox: [1, 1, 2, 2], score: 0.5, categoryId: 2 }),
    nan: one({ bbox: [1, NaN, 2, 2], score: 0.5, categoryId: 1 }),
    infinite: one({ bbox: [1, 1, Infinity, 2], score: 0.5, categoryId: 1 }),
    text: one({ bbox: ['1', 1, 2, 2], score: 0.5, categoryId: 1 }),
    negative: one({ bbox: [1, 1, -2, 2], score: 0.5, categoryId: 1 }),
    score: one({ bbox: [1, 1, 2, 2], score: 1.5, categoryId: 1 }),
    category: one({ bbox: [1, 1, 2, 2], score: 0.5, categoryId: 99 }),
    count: make(async () => [[]]),
    throws: make(async () => { throw new Error('out of memory'); }),
    hangs: make(() => new Promise(() => {})),
    factoryThrows: () => { throw new Error('weights missing'); },
    notDetector: () => 42,
    badInfo: () => ({ info: { ...info, classes: [] }, detect: async () => [], dispose: async () => {} }),
    leaky: () => ({ info, detect: async (b) => b.map(() => []), dispose: async () => { throw new Error('handle already closed'); } }),
    releasing: () => ({ info, releasesInputs: true, detect: async (b) => b.map(() => []), dispose: async () => {} }),
    huge: () => ({ info: { ...info, inputSizePx: { width: 100000, height: 100000 } }, detect: async () => [], dispose: async () => {} }),
    largest: () => ({ info: { ...info, inputSizePx: { width: 16384, height: 16384 } }, detect: async () => [], dispose: async () => {} }),
    badPad: () => ({ info: { ...info, padValue: [300, -1, 0] }, detect: async () => [], dispose: async () => {} }),
    twinIds: () => ({ info: { ...info, classes: [{ id: 1, name: 'disc' }, { id: 1, name: 'square' }] }, detect: async () => [], dispose: async () => {} }),
    stride: () => ({ info: { ...info, totalStridePx: '32' }, detect: async () => [], dispose: async () => {} }),
    bigId: () => ({ info: { ...info, classes: [{ id: 1, name: 'disc' }, { id: 2 ** 31, name: 'square' }] }, detect: async () => [], dispose: async () => {} }),
  },
};
`;

let dir: string;
const file = (name: string, text: string) => {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
};
const img = (w = 8, h = 8): RgbImage => ({ width: w, height: h, data: new Uint8Array(w * h * 3) });
const ctx = (imageId: number) => ({
  imageId,
  shift: { dx: 0, dy: 0 },
  transform: { scaleX: 1, scaleY: 1, offsetX: 0, offsetY: 0 },
});

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'sb-plugins-'));
  file('faulty.mjs', FAULTY);
});

describe('loadPlugins errors', () => {
  it('missing file: a bad --plugin value (usage error), said as for --model', async () => {
    const err = await rejection(loadPlugins(['./does-not-exist.mjs']));
    expect(err.code).toBe('ERR_INVALID_OPTION');
    expect(err.message).toBe(
      `--plugin ${path.resolve('does-not-exist.mjs')}: no such file. Give the path of an existing plug-in module ` +
        '(.mjs or .js, see docs/plugins.md).',
    );
  });
  it('import failure keeps the cause', async () => {
    const p = file('syntax.mjs', 'export default {');
    const err = await rejection(loadPlugins([p]));
    expect(err.code).toBe('ERR_PLUGIN');
    expect(err.message).toMatch(
      new RegExp(`^Could not load plug-in ${p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: importing it failed: `),
    );
    expect((err.cause as Error).message).toBeTruthy();
  });
  it('a syntax error names the file, line and column, and shows the line', async () => {
    const p = file('syntax2.mjs', 'export default {\n  apiVersion: 1,\n  detectors: { a: (x) => => 1 },\n};\n');
    const err = await rejection(loadPlugins([p]));
    expect(err.code).toBe('ERR_PLUGIN');
    expect(err.message).toBe(
      `Could not load plug-in ${p}: importing it failed: Unexpected token '=>' at ${p}:3:26\n` +
        '  detectors: { a: (x) => => 1 },\n' +
        '                         ^^',
    );
    expect(err.cause).toBeTruthy();
  });
  it('a syntax error in a module the plug-in imports names that module', async () => {
    const helper = file('helper-bad.mjs', 'export const x = ;\n');
    const p = file('uses-helper.mjs', "import { x } from './helper-bad.mjs';\nexport default x;\n");
    const err = await rejection(loadPlugins([p]));
    expect(err.code).toBe('ERR_PLUGIN');
    expect(err.message).toMatch(
      /^Could not load plug-in .*uses-helper\.mjs: importing it failed: Unexpected token ';' at /,
    );
    expect(err.message).toContain(`at ${helper}:1:18\n`);
  });
  it('no default export', async () => {
    const p = file('nodefault.mjs', 'export const x = 1;');
    const err = await rejection(loadPlugins([p]));
    expect(err.message).toBe(
      `Invalid plug-in ${p}: it has no default export. End it with \`export default definePlugin({ apiVersion: 1, name, detectors })\`; see docs/plugins.md`,
    );
  });
  it('wrong apiVersion', async () => {
    const p = file('v2.mjs', "export default { apiVersion: 2, name: 'v2', detectors: { a: () => null } };");
    const err = await rejection(loadPlugins([p]));
    expect(err.code).toBe('ERR_PLUGIN');
    expect(err.message).toBe(
      `Invalid plug-in ${p}: apiVersion is 2 but this shiftbench supports apiVersion 1. ` +
        "A plug-in's default export is definePlugin({ apiVersion: 1, name, detectors: { name: (opts) => detector } }); see docs/plugins.md",
    );
  });
  it('a detector that is not a function', async () => {
    const p = file('notfn.mjs', "export default { apiVersion: 1, name: 'nf', detectors: { a: 'yes' } };");
    const err = await rejection(loadPlugins([p]));
    expect(err.message).toContain(
      `Invalid plug-in ${p}: detectors.a must be a function (opts) => Detector but is "yes".`,
    );
  });
  it('two plug-ins with one name', async () => {
    const a = file('dup-a.mjs', "export default { apiVersion: 1, name: 'dup', detectors: { a: () => null } };");
    const b = file('dup-b.mjs', "export default { apiVersion: 1, name: 'dup', detectors: { b: () => null } };");
    const err = await rejection(loadPlugins([a, b]));
    expect(err.message).toBe(`Plug-ins ${a} and ${b} are both named "dup"; rename one`);
  });
});

describe('plug-in detector wrapper', () => {
  const load = (name: string, extra: Record<string, unknown> = {}) =>
    loadDetector(`faulty/${name}`, { plugins: [path.join(dir, 'faulty.mjs')], ...extra });
  const label = () => `Plug-in "faulty" (${path.join(dir, 'faulty.mjs')}) detector`;

  it('passes valid output through and describes itself for the manifest', async () => {
    const det = await load('good');
    expect(det.info.name).toBe('faulty/good');
    expect(det.info.runtime).toBe('plugin faulty');
    expect(det.info.files[0].path).toBe(path.join(dir, 'faulty.mjs'));
    expect(det.info.files[0].sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(det.info.maxBatch).toBe(4);
    // the wrapper splits batches larger than maxBatch
    const out = await det.detect([img(), img(), img(), img(), img()], [1, 2, 3, 4, 5].map(ctx));
    expect(out).toHaveLength(5);
    expect(out[4]).toEqual([{ bbox: [1, 1, 2, 2], score: 0.5, categoryId: 2 }]);
  });
  it("keeps its inputs' buffers its own unless it says it releases them (releasesInputs, docs/plugins.md)", async () => {
    expect((await load('good')).releasesInputs).toBe(false);
    expect((await load('releasing')).releasesInputs).toBe(true);
  });
  const invalid: [string, string][] = [
    ['nan', 'bbox must be 4 finite numbers [x, y, width, height] in input pixels but is [1, NaN, 2, 2]'],
    ['infinite', 'bbox must be 4 finite numbers [x, y, width, height] in input pixels but is [1, 1, Infinity, 2]'],
    ['text', 'bbox must be 4 finite numbers [x, y, width, height] in input pixels but is ["1", 1, 2, 2]'],
    ['negative', 'bbox width and height must be ≥ 0 but the bbox is [1, 1, -2, 2]'],
    ['score', 'score must be a number in [0, 1] but is 1.5'],
    ['category', "categoryId 99 is not one of the detector's info.classes (1, 2)"],
  ];
  for (const [name, what] of invalid) {
    it(`rejects output: ${name}`, async () => {
      const det = await load(name);
      const err = await rejection(det.detect([img(), img()], [ctx(7), ctx(42)]));
      expect(err.code).toBe('ERR_PLUGIN');
      expect(err.message).toBe(`${label()} "${name}" returned an invalid detection for image 7 (detection 0): ${what}`);
    });
  }
  it('rejects result arrays with holes (a list never filled in), naming the input, instead of passing undefined on', async () => {
    // new Array(n) has the right length but no lists: forEach/every skip holes, so only an indexed check sees them
    const holes = file(
      'holes.mjs',
      `const info = ${INFO};
const make = (detect) => () => ({ info, detect, dispose: async () => {} });
export default {
  apiVersion: 1,
  name: 'holes',
  detectors: {
    lists: make(async (batch) => { const out = new Array(batch.length); out[0] = []; return out; }),
    detections: make(async (batch) => batch.map(() => [, { bbox: [1, 1, 2, 2], score: 0.5, categoryId: 1 }])),
  },
};
`,
    );
    const at = `Plug-in "holes" (${holes}) detector`;
    const lists = await rejection(
      (await loadDetector('holes/lists', { plugins: [holes] })).detect([img(), img()], [ctx(7), ctx(42)]),
    );
    expect(lists.code).toBe('ERR_PLUGIN');
    expect(lists.message).toBe(`${at} "lists" returned undefined for image 42; expected an array of detections`);
    const dets = await rejection(
      (await loadDetector('holes/detections', { plugins: [holes] })).detect([img()], [ctx(7)]),
    );
    expect(dets.code).toBe('ERR_PLUGIN');
    expect(dets.message).toBe(
      `${at} "detections" returned an invalid detection for image 7 (detection 0): expected an object ` +
        '{ bbox, score, categoryId } but received undefined',
    );
  });
  it('rejects a wrong number of result lists', async () => {
    const err = await rejection((await load('count')).detect([img(), img()], [ctx(3), ctx(4)]));
    expect(err.message).toBe(
      `${label()} "count" returned 1 result lists for a batch of 2 (image 3, …); detect() must return one list of detections per input`,
    );
  });
  it('turns a throwing detect into ERR_PLUGIN with the cause', async () => {
    const err = await rejection((await load('throws')).detect([img()], [ctx(9)]));
    expect(err.code).toBe('ERR_PLUGIN');
    expect(err.message).toBe(`${label()} "throws" threw in detect() on image 9: out of memory`);
    expect((err.cause as Error).message).toBe('out of memory');
  });
  it('times out a detect that never returns, naming --detect-timeout', async () => {
    const det = await load('hangs', { detectTimeoutMs: 50 });
    const err = await rejection(det.detect([img()], [ctx(11)]));
    expect(err.code).toBe('ERR_PLUGIN_TIMEOUT');
    expect(err.message).toBe(
      `${label()} "hangs" did not return from detect() within 50 ms (image 11). If it is just slow, raise the limit with --detect-timeout <ms>; otherwise fix the plug-in.`,
    );
  });
  it('reports a failing factory, a non-detector and an invalid info', async () => {
    const a = await rejection(load('factoryThrows'));
    expect(a.code).toBe('ERR_PLUGIN');
    expect(a.message).toBe(`${label()} "factoryThrows" failed to load: weights missing`);
    const b = await rejection(load('notDetector'));
    expect(b.message).toBe(
      `${label()} "notDetector": the factory must return a detector { info, detect(batch, contexts), dispose() } but returned 42`,
    );
    const c = await rejection(load('badInfo'));
    expect(c.message).toBe(
      `${label()} "badInfo" returned a detector with an invalid info: expected a non-empty array of { id: 32-bit integer, name: string } for info.classes but received an array of length 0`,
    );
    // an implausible input size is refused here, not by an out-of-memory crash when the first image is fitted
    const h = await rejection(load('huge'));
    expect(h.code).toBe('ERR_PLUGIN');
    expect(h.message).toBe(
      `${label()} "huge" returned a detector with an invalid info: expected { width, height } as integers from 1 to 16384 (pixels a side) for info.inputSizePx but received {"width":100000,"height":100000}`,
    );
    expect((await load('largest')).info.inputSizePx).toEqual({ width: 16384, height: 16384 });
    const e = await rejection(load('badPad'));
    expect(e.code).toBe('ERR_PLUGIN');
    expect(e.message).toBe(
      `${label()} "badPad" returned a detector with an invalid info: expected an array of 3 integers 0–255 for info.padValue but received [300, -1, 0]`,
    );
    // one id under two names: which one its detections mean is unknowable
    const d = await rejection(load('twinIds'));
    expect(d.code).toBe('ERR_PLUGIN');
    expect(d.message).toContain('info.classes');
    expect(d.message).toContain('id 1 twice');
    // a stride as the registry and served detectors must give it (polyphase-align reads it)
    const stride = await rejection(load('stride'));
    expect(stride.code).toBe('ERR_PLUGIN');
    expect(stride.message).toBe(
      `${label()} "stride" returned a detector with an invalid info: expected a positive integer for info.totalStridePx but received "32"`,
    );
    // class ids are stored as 32-bit integers: a larger one is refused here, not truncated to another class later
    const big = await rejection(load('bigId'));
    expect(big.code).toBe('ERR_PLUGIN');
    expect(big.message).toContain('{ id: 32-bit integer, name: string } for info.classes');
  });
  it('a dispose() that throws is a warning naming the plug-in and detector, not a failure', async () => {
    const warnings: string[] = [];
    const logger = { info: () => {}, warn: (m: string) => warnings.push(m) };
    const det = await load('leaky', { logger });
    await expect(det.dispose()).resolves.toBeUndefined();
    expect(warnings).toEqual([
      `${label()} "leaky" threw in dispose(): handle already closed; its detections are stored and the run goes on`,
    ]);
  });
  it('a plug-in mitigation whose dispose() throws is a warning naming the plug-in, mitigation and detector, as for a detector', async () => {
    const warnings: string[] = [];
    const logger = { info: () => {}, warn: (m: string) => warnings.push(m) };
    const plugin = {
      name: 'mit',
      file: '/plugins/mit.mjs',
      sha256: '0'.repeat(64),
      definition: {
        apiVersion: 1 as const,
        name: 'mit',
        detectors: {},
        mitigations: {
          leaky: () => ({
            name: 'leaky',
            spec: 'leaky',
            wrap: (d: Detector): Detector => ({
              info: d.info,
              detect: (b, c) => d.detect(b, c),
              dispose: async () => {
                throw new Error('handle already closed');
              },
            }),
          }),
        },
      },
    };
    const inner = await load('good');
    const wrapped = guardPluginMitigation(plugin, 'leaky')('').wrap(inner, { mode: 'pad', logger });
    await expect(wrapped.detect([img()], [ctx(1)])).resolves.toHaveLength(1);
    await expect(wrapped.dispose()).resolves.toBeUndefined();
    expect(warnings).toEqual([
      'Plug-in "mit" (/plugins/mit.mjs) mitigation "leaky" on detector "faulty/good" threw in dispose(): handle ' +
        'already closed; its detections are stored and the run goes on',
    ]);
  });
  it('finds a detector by bare name, and refuses an ambiguous one', async () => {
    const other = file('other.mjs', FAULTY.replace("name: 'faulty'", "name: 'other'"));
    expect((await loadDetector('good', { plugins: [path.join(dir, 'faulty.mjs')] })).info.name).toBe('faulty/good');
    const err = await rejection(loadDetector('good', { plugins: [path.join(dir, 'faulty.mjs'), other] }));
    expect(err.code).toBe('ERR_INVALID_OPTION');
    expect(err.message).toBe(
      'Detector name "good" is defined by several plug-ins (faulty, other); write faulty/good or other/good',
    );
  });
});

describe('definePlugin', () => {
  it('returns the definition after checking it; the public entry exports it', () => {
    const def = { apiVersion: 1 as const, name: 'ok', detectors: { a: () => ({}) as never } };
    expect(definePlugin(def)).toBe(def);
    expect(definePluginPublic).toBe(definePlugin);
    expect(() => definePlugin({ apiVersion: 1, name: 'bad name', detectors: {} } as never)).toThrow(
      'Invalid plug-in (in definePlugin): name must be letters, digits, ".", "_" or "-" but is "bad name"',
    );
  });

  it('a mitigation name --mitigation could not name is refused with the plug-in, not later at --mitigation', () => {
    const def = (name: string) => ({
      apiVersion: 1 as const,
      name: 'p2',
      detectors: { a: () => ({}) as never },
      mitigations: { [name]: () => ({}) as never },
    });
    expect(definePlugin(def('my-blur'))).toBeTruthy();
    for (const bad of ['My_Blur', 'blur.v2', '2x'])
      expect(() => definePlugin(def(bad))).toThrow(
        `Invalid plug-in (in definePlugin): mitigation name "${bad}" must be lower-case letters, digits and "-", ` +
          'starting with a letter',
      );
  });
});

describe('example plug-in: blobs/saturated', () => {
  /** A 256×256 grey canvas with a saturated red 40×30 rectangle at (x, y). */
  function scene(x: number, y: number): RgbImage {
    const data = new Uint8Array(256 * 256 * 3).fill(128);
    for (let yy = y; yy < y + 30; yy++)
      for (let xx = x; xx < x + 40; xx++) data.set([230, 30, 30], (yy * 256 + xx) * 3);
    return { width: 256, height: 256, data };
  }
  it('loads through --plugin and finds the rectangle, moving with a one-pixel shift', async () => {
    const det = await loadDetector('blobs/saturated', { plugins: [EXAMPLE] });
    expect(det.info.classes).toHaveLength(8);
    const [a, b] = await det.detect([scene(50, 60), scene(51, 61)], [ctx(1), ctx(1)]);
    expect(a[0].bbox).toEqual([50, 60, 40, 30]);
    expect(a[0].categoryId).toBe(2); // a solid rectangle fills its box: "square"
    expect(b[0].bbox).toEqual([51, 61, 40, 30]);
    expect(a.map((d) => d.score)).toEqual(b.map((d) => d.score));
    const empty = await det.detect(
      [{ width: 256, height: 256, data: new Uint8Array(256 * 256 * 3).fill(128) }],
      [ctx(2)],
    );
    expect(empty).toEqual([[]]);
    await det.dispose();
  });
});
