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
