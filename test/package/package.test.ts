/**
 * The package as a user gets it: built with the project's tsconfig into a folder of its
 * own, installed under the name `shiftbench` into an app, and imported by name —
 * `import … from 'shiftbench'` and `'shiftbench/plugin'`. The README's typed example is
 * type-checked against the built declarations, and a plug-in file outside the package
 * (no shiftbench installed beside it) that imports `shiftbench/plugin` runs in the built CLI.
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { evaluateCoco } from '../../src/metrics/index.js';
import { REPO_ROOT } from '../helpers/shared.js';

const run = promisify(execFile);
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const node = (args: string[], cwd: string) => run(process.execPath, args, { cwd, maxBuffer: 1 << 24 });

describe('the built package, imported by its name', () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'shiftbench-package-'));
  const pkg = path.join(root, 'pkg');
  const app = path.join(root, 'app');

  beforeAll(async () => {
    await node([tsc, '-p', path.join(REPO_ROOT, 'tsconfig.json'), '--outDir', path.join(pkg, 'dist')], REPO_ROOT);
    cpSync(path.join(REPO_ROOT, 'package.json'), path.join(pkg, 'package.json'));
    symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(pkg, 'node_modules'));
    symlinkSync(path.join(REPO_ROOT, 'models'), path.join(pkg, 'models'));
    mkdirSync(path.join(app, 'node_modules'), { recursive: true });
    symlinkSync(pkg, path.join(app, 'node_modules', 'shiftbench'));
    symlinkSync(path.join(REPO_ROOT, 'node_modules', '@types'), path.join(app, 'node_modules', '@types'));
    writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', type: 'module', private: true }));
  }, 300_000);

  it('exports the public API and not the engine internals', async () => {
    writeFileSync(
      path.join(app, 'main.mjs'),
      `import { readFileSync } from 'node:fs';
import * as lib from 'shiftbench';
import * as plugin from 'shiftbench/plugin';
const gt = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const dets = JSON.parse(readFileSync(process.argv[3], 'utf8'));
console.log(JSON.stringify({ ap: lib.evaluateCoco(gt, dets).stats[0], keys: Object.keys(lib), pluginKeys: Object.keys(plugin),
  shifts: lib.parseShiftSet('grid:1').shifts.length, version: lib.VERSION }));
`,
    );
    const fixture = (f: string) => path.join(REPO_ROOT, 'test/fixtures', f);
    const { stdout } = await node(
      ['main.mjs', fixture('metrics/case1_gt.json'), fixture('metrics/case1_dets.json')],
      app,
    );
    const out = JSON.parse(stdout) as {
      ap: number;
      keys: string[];
      pluginKeys: string[];
      shifts: number;
      version: string;
    };
    // the built package gives the source's AP, bit for bit (pycocotools' own number is checked by test/metrics/golden.test.ts)
    const ap = evaluateCoco(
      JSON.parse(readFileSync(fixture('metrics/case1_gt.json'), 'utf8')),
      JSON.parse(readFileSync(fixture('metrics/case1_dets.json'), 'utf8')),
    ).stats[0];
    expect(out.ap).toBe(ap);
    expect(out.shifts).toBe(4);
    expect(out.version).toBe(JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')).version);
    for (const name of [
      'runBenchmark',
      'evaluateCoco',
      'greedyBounds',
      'loadDetector',
      'loadDataset',
      'parseShiftSet',
      'makeShiftedInputs',
      'renderReport',
      'rescoreRun',
      'ShiftbenchError',
      'definePlugin',
    ]) {
      expect(out.keys, name).toContain(name);
    }
    for (const internal of [
      'ShiftMapEngine',
      'PreparedBounds',
      'workersPay',
      'RunStore',
      'scoreRun',
      'prepareBoundsFromSource',
      'resolveRunOptions',
      'shiftedInputsFromFitted',
      'Rng',
      'Registry',
      'is',
    ]) {
      expect(out.keys, internal).not.toContain(internal);
    }
    expect(out.pluginKeys.sort()).toEqual(['PLUGIN_API_VERSION', 'definePlugin']);
  });

  it("the README's typed library example type-checks against the built declarations", async () => {
    const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
    const example = /## Library[\s\S]*?```ts\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(example, 'README.md has a ```ts block under "## Library"').toBeDefined();
    writeFileSync(path.join(app, 'example.ts'), `${example}\nexport {};\n`);
    writeFileSync(
      path.join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noEmit: true,
          types: ['node'],
        },
        files: ['example.ts'],
      }),
    );
    const r = await node([tsc, '-p', path.join(app, 'tsconfig.json')], app).catch((e: { stdout: string }) => e);
    expect('stdout' in r ? r.stdout : '').toBe('');
  });

  it("a plug-in file outside the package imports 'shiftbench/plugin' and runs in the built CLI", async () => {
    const dir = path.join(root, 'elsewhere');
    mkdirSync(path.join(dir, 'images'), { recursive: true });
    for (const i of [1, 2]) {
      await sharp({ create: { width: 40, height: 30, channels: 3, background: { r: 60 * i, g: 20, b: 0 } } })
        .png()
        .toFile(path.join(dir, 'images', `${i}.png`));
    }
    writeFileSync(
      path.join(dir, 'plug.mjs'),
      `import { definePlugin, PLUGIN_API_VERSION } from 'shiftbench/plugin';
export default definePlugin({
  apiVersion: PLUGIN_API_VERSION,
  name: 'outside',
  detectors: {
    boxes: () => ({
      info: { family: { stages: 'one-stage', anchors: 'anchor-free' }, inputSizePx: { width: 64, height: 64 }, classes: [{ id: 1, name: 'thing' }] },
      detect: async (batch) => batch.map(() => [{ bbox: [10, 10, 20, 20], score: 0.9, categoryId: 1 }]),
      dispose: async () => {},
    }),
  },
});
`,
    );
    // without the tool, nothing beside the file provides 'shiftbench'
    const alone = await node(
      ['--input-type=module', '-e', `await import(${JSON.stringify(path.join(dir, 'plug.mjs'))})`],
      dir,
    ).catch((e: { stderr: string }) => e);
    expect('stderr' in alone ? alone.stderr : '').toContain("Cannot find package 'shiftbench'");
    const out = path.join(dir, 'run');
    await node(
      [
        path.join(pkg, 'dist/cli/index.js'),
        'run',
        '--plugin',
        'plug.mjs',
        '--model',
        'outside/boxes',
        '--dataset',
        'images',
        '--out',
        out,
        '--bootstrap',
        '20',
        '--quiet',
      ],
      dir,
    );
    expect(existsSync(path.join(out, 'metrics.json'))).toBe(true);
    const metrics = JSON.parse(readFileSync(path.join(out, 'metrics.json'), 'utf8')) as {
      results: { key: string; consistency: { detConsistency: { mean: number } } }[];
    };
    expect(metrics.results[0].key).toBe('outside/boxes');
    expect(metrics.results[0].consistency.detConsistency.mean).toBe(1);
  });
});
