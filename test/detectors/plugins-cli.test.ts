/**
 * Plug-in problems as the CLI user sees them (`shiftbench run --plugin …`): the message
 * and the exit code of the real process, whose import() is Node's own.
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { pluginRunArgs, runCli } from '../helpers/cli.js';
import { makeDataset, tempDir } from '../runner/fixtures.js';

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('shiftbench run --plugin: problems of the plug-in', () => {
  let root: string;
  let dataset: string;
  beforeAll(async () => {
    root = await tempDir('sb-plugins-cli-');
    ({ file: dataset } = await makeDataset(path.join(root, 'ds'), 2));
  });
  const run = (plugin: string, model: string, out: string, extra: string[] = []) =>
    runCli(pluginRunArgs(plugin, model, dataset, path.join(root, out), extra));

  it('a syntax error: exit 1 naming the file, line and column, with the line', async () => {
    const plugin = path.join(root, 'syntax.mjs');
    await writeFile(plugin, 'export default {\n  apiVersion: 1,\n  detectors: { a: (x) => => 1 },\n};\n');
    const r = await run(plugin, 'x/a', 'syntax');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `shiftbench: Could not load plug-in ${plugin}: importing it failed: Unexpected token '=>' at ${plugin}:3:26\n` +
        '  detectors: { a: (x) => => 1 },\n' +
        '                         ^^\n',
    );
  });

  it('a dispose() that throws is a warning naming the plug-in and detector; scoring and the next model go on', async () => {
    const plugin = path.join(root, 'leaky.mjs');
    await writeFile(
      plugin,
      `const info = { family: { stages: 'one-stage', anchors: 'anchor-free' }, inputSizePx: { width: 16, height: 16 }, classes: [{ id: 1, name: 'disc' }, { id: 2, name: 'square' }] };
export default {
  apiVersion: 1,
  name: 'leaky',
  detectors: {
    first: () => ({ info, detect: async (b) => b.map(() => []), dispose: async () => { throw new Error('handle already closed'); } }),
    second: () => ({ info, detect: async (b) => b.map(() => []), dispose: async () => {} }),
  },
};
`,
    );
    const r = await run(plugin, 'leaky/first', 'leaky', ['--model', 'leaky/second']);
    expect(r.stderr).toContain(
      `Plug-in "leaky" (${plugin}) detector "first" threw in dispose(): handle already closed; ` +
        'its detections are stored and the run goes on',
    );
    expect(r.code).toBe(0);
    const metrics = JSON.parse(await readFile(path.join(root, 'leaky', 'metrics.json'), 'utf8')) as {
      results: { key: string }[];
    };
    expect(metrics.results.map((x) => x.key)).toEqual(['leaky/first', 'leaky/second']);
    expect(existsSync(path.join(root, 'leaky', 'metrics.json'))).toBe(true);
  });

  it('info.files without a sha256 (or not objects) is refused naming the field: a resume could not compare the weights', async () => {
    const plugin = path.join(root, 'files.mjs');
    const info = `{ family: { stages: 'one-stage', anchors: 'anchor-free' }, inputSizePx: { width: 16, height: 16 }, classes: [{ id: 1, name: 'disc' }] }`;
    await writeFile(
      plugin,
      `const info = ${info};
const make = (files) => () => ({ info: { ...info, files }, detect: async (b) => b.map(() => []), dispose: async () => {} });
export default { apiVersion: 1, name: 'files', detectors: { nohash: make([{ path: 'w.bin', hash: 'abc' }]), nulls: make([null]), ok: make([{ path: 'w.bin', sha256: '${'a'.repeat(64)}' }]) } };
`,
    );
    const nohash = await run(plugin, 'files/nohash', 'nohash');
    expect(nohash.stderr).toBe(
      `shiftbench: Plug-in "files" (${plugin}) detector "nohash" returned a detector with an invalid info: expected ` +
        '{ path: string, sha256: 64 hex digits } for info.files[0] but received {"path":"w.bin","hash":"abc"}\n',
    );
    expect(nohash.code).toBe(1);
    expect(existsSync(path.join(root, 'nohash', 'metrics.json'))).toBe(false);
    // a second run of the same plug-in (a resume) compares the stored files: it used to crash on [null]
    const nulls = await run(plugin, 'files/nulls', 'nulls');
    expect(nulls.stderr).toContain(
      'expected { path: string, sha256: 64 hex digits } for info.files[0] but received null',
    );
    expect(nulls.code).toBe(1);
    const ok = await run(plugin, 'files/ok', 'ok');
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
  });

  it('a plug-in mitigation is held to the detector contract: its factory, wrap() and detections fail naming it', async () => {
    const plugin = path.join(root, 'mit.mjs');
    await writeFile(
      plugin,
      `const info = { family: { stages: 'one-stage', anchors: 'anchor-free' }, inputSizePx: { width: 16, height: 16 }, classes: [{ id: 1, name: 'disc' }, { id: 2, name: 'square' }] };
const fixing = (name, fix) => (arg) => ({ name, spec: arg ? name + ':' + arg : name, wrap: (d) => ({ info: { ...d.info, name: d.info.name + '+' + name }, detect: async (b, c) => (await d.detect(b, c)).map((l) => l.map(fix)), dispose: () => d.dispose() }) });
export default {
  apiVersion: 1,
  name: 'mit',
  detectors: { plain: () => ({ info, detect: async (b) => b.map(() => [{ bbox: [1, 1, 5, 5], score: 0.9, categoryId: 1 }]), dispose: async () => {} }) },
  mitigations: {
    'bad-score': fixing('bad-score', (d) => ({ ...d, score: 1.5 })),
    'bad-category': fixing('bad-category', (d) => ({ ...d, categoryId: 99 })),
    'throws': () => { throw new Error('no such arg'); },
    'garbage': () => 42,
    'wrap-throws': () => ({ name: 'wrap-throws', spec: 'wrap-throws', wrap: () => { throw new Error('cannot wrap'); } }),
    'fine': fixing('fine', (d) => d),
  },
};
`,
    );
    const label = `Plug-in "mit" (${plugin}) mitigation`;
    const mit = (m: string) => run(plugin, 'mit/plain', `mit-${m}`, ['--mitigation', m]);
    const score = await mit('bad-score');
    expect(score.stderr).toMatch(
      new RegExp(
        `^shiftbench: ${escape(label)} "bad-score" on detector "mit/plain" returned an invalid detection for image \\d+ ` +
          `\\(detection 0\\): score must be a number in \\[0, 1\\] but is 1\\.5\\n$`,
      ),
    );
    expect(score.code).toBe(1);
    const category = await mit('bad-category');
    expect(category.stderr).toContain(
      `${label} "bad-category" on detector "mit/plain" returned an invalid detection for image `,
    );
    expect(category.stderr).toContain("categoryId 99 is not one of the detector's info.classes (1, 2)");
    expect(category.code).toBe(1);
    const throws = await mit('throws:3');
    expect(throws.stderr).toBe(`shiftbench: ${label} "throws" failed to create "throws:3": no such arg\n`);
    expect(throws.code).toBe(1);
    const garbage = await mit('garbage');
    expect(garbage.stderr).toBe(
      `shiftbench: ${label} "garbage": the factory must return a mitigation { name, spec, wrap(detector, context) } ` +
        'but returned 42\n',
    );
    expect(garbage.code).toBe(1);
    const wrap = await mit('wrap-throws');
    expect(wrap.stderr).toBe(
      `shiftbench: ${label} "wrap-throws" threw in wrap() on detector "mit/plain": cannot wrap\n`,
    );
    expect(wrap.code).toBe(1);
    const fine = await mit('fine');
    expect(fine.stderr).toBe('');
    expect(fine.code).toBe(0);
  });

  it('a --plugin path that does not exist is a usage error: exit 2, like a missing --model file', async () => {
    const missing = path.join(root, 'nothere.mjs');
    const r = await run(missing, 'x/a', 'missing');
    expect(r.stderr).toBe(
      `shiftbench: --plugin ${missing}: no such file. Give the path of an existing plug-in module (.mjs or .js, see docs/plugins.md).\n`,
    );
    expect(r.code).toBe(2);
    const m = await runCli(['run', '--model', path.join(root, 'nothere.onnx'), '--dataset', dataset, '-q']);
    expect(m.code).toBe(2);
  });
});
