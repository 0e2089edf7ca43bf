/**
 * Bad flag values as a user types them (or a script passes an unset variable, `--seed "$SEED"`): each is a usage
 * error (exit 2) naming the flag, never read as some number the user did not give.
 */
import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../runner/fixtures.js';
import { loadDetector } from '../../src/detectors/index.js';
import { resolveRunOptions } from '../../src/runner/options.js';
import { runCli } from '../helpers/cli.js';
import { rejection } from '../helpers/shared.js';

describe('numeric flags refuse an empty or blank value', () => {
  it('run --seed "" and --score-threshold " " are usage errors naming the flag, not 0', async () => {
    const seed = await runCli(['run', '--model', 'fake-exact', '--dataset', 'nowhere', '--seed', '', '-q']);
    expect(seed.stderr).toBe('shiftbench: Expected an integer from 0 to 4294967295 for --seed but received ""\n');
    expect(seed.code).toBe(2);
    const tau = await runCli(['run', '--model', 'fake-exact', '--dataset', 'nowhere', '--score-threshold', ' ', '-q']);
    expect(tau.stderr).toBe('shiftbench: Expected a number in [0, 1] for --score-threshold but received " "\n');
    expect(tau.code).toBe(2);
  });

  it('export --pad-value ",," is a usage error naming the flag, not black', async () => {
    const r = await runCli([
      'export',
      '--dataset',
      'nowhere',
      '--input-size',
      '8x8',
      '--pad-value',
      ',,',
      '--out',
      'x',
    ]);
    expect(r.stderr).toBe(
      'shiftbench: Expected R,G,B with integers from 0 to 255, e.g. 114,114,114 for --pad-value but received ",,"\n',
    );
    expect(r.code).toBe(2);
  });
});

describe('--detect-timeout', () => {
  it('a limit beyond what a timer holds is refused naming the flag, not turned into a 1 ms timeout', async () => {
    const r = await runCli(['run', '--model', 'x/y', '--dataset', 'nowhere', '--detect-timeout', '3000000000', '-q']);
    expect(r.stderr).toBe(
      'shiftbench: Expected an integer from 1 to 2147483647 for --detect-timeout but received "3000000000"\n',
    );
    expect(r.code).toBe(2);
  });

  it('the library refuses it too: run options and a plug-in detector loaded with it', async () => {
    expect(() => resolveRunOptions({ models: ['x/y'], dataset: 'nowhere', detectTimeoutMs: 3_000_000_000 })).toThrow(
      'Expected an integer from 1 to 2147483647 for --detect-timeout but received 3000000000',
    );
    const plugin = path.join(await tempDir('sb-timeout-'), 'slow.mjs');
    await writeFile(
      plugin,
      `export default { apiVersion: 1, name: 'slow', detectors: { s: () => ({
  info: { family: { stages: 'one-stage', anchors: 'anchor-free' }, inputSizePx: { width: 8, height: 8 }, classes: [{ id: 1, name: 'a' }] },
  detect: async (b) => { await new Promise((r) => setTimeout(r, 20)); return b.map(() => []); },
  dispose: async () => {} }) } };\n`,
    );
    const err = await rejection(loadDetector('slow/s', { plugins: [plugin], detectTimeoutMs: 3_000_000_000 }));
    expect(err.code).toBe('ERR_INVALID_OPTION');
    expect(err.message).toBe('Expected an integer from 1 to 2147483647 for --detect-timeout but received 3000000000');
    const det = await loadDetector('slow/s', { plugins: [plugin], detectTimeoutMs: 2_147_483_647 });
    expect(await det.detect([{ width: 8, height: 8, data: new Uint8Array(192) }])).toEqual([[]]);
  });

  it('run --help gives its default', async () => {
    const r = await runCli(['run', '--help']);
    expect(r.stdout).toMatch(
      /--detect-timeout <ms>\s+timeout of one detect call of a plug-in detector\s+\(default\s+60000\)/,
    );
  });
});

describe('--registry FILE that does not exist', () => {
  it('is a usage error naming the file in every command, also when no model of the run comes from a registry', async () => {
    const missing = path.join(await tempDir('sb-registry-'), 'nope.json');
    const text = `shiftbench: Could not read registry file ${missing}: it does not exist. Check the path given to --registry.\n`;
    // a fake (or a plug-in) model never reads the registries: the missing file was ignored and the run exited 0
    const run = await runCli(['run', '--model', 'oracle', '--registry', missing, '--dataset', 'nowhere', '-q']);
    expect(run.stderr).toBe(text);
    expect(run.code).toBe(2);
    const list = await runCli(['models', 'list', '--registry', missing]);
    expect(list.stderr).toBe(text);
    expect(list.code).toBe(2);
  });
});

describe("path flags refuse an empty value (a script's unset variable), never fall back to a default or to nothing", () => {
  it('demo --dataset-dir, compare --out, check --junit, run --config, models --cache-dir, merge --dataset/--images: exit 2 naming the flag', async () => {
    const cwd = await tempDir('sb-empty-path-');
    const cases: [string[], string][] = [
      // demo wrote a synthetic val/ into the current folder and ran every zoo model
      [['demo', '--dataset-dir', '', '--limit', '1', '-q'], '--dataset-dir'],
      // compare and check wrote no HTML / JUnit file and exited 0 (or judged) without a word
      [['compare', 'runA', 'runB', '--out', ''], '--out'],
      [['check', 'runA', '--max-range', '0.1', '--junit', ''], '--junit'],
      // run ignored --config and ran the flags alone
      [['run', '--model', 'oracle', '--dataset', 'nowhere', '--config', '', '-q'], '--config'],
      [['models', 'list', '--cache-dir', ''], '--cache-dir'],
      // merge read the shards' own dataset path instead
      [['merge', 'shard0', 'shard1', '--out', 'merged', '--dataset', ''], '--dataset'],
      [['merge', 'shard0', 'shard1', '--out', 'merged', '--images', ''], '--images'],
    ];
    for (const [args, flag] of cases) {
      const r = await runCli(args, { cwd });
      expect(r.stderr, args.join(' ')).toMatch(new RegExp(`^shiftbench: Expected .+ for ${flag} but received ""\\n$`));
      expect(r.code, args.join(' ')).toBe(2);
    }
    expect(await readdir(cwd)).toEqual([]);
  });
});

describe('a required flag given empty says it received "", not undefined', () => {
  it('run --dataset "", export --dataset "" and export --out ""', async () => {
    const run = await runCli(['run', '--model', 'oracle', '--dataset', '', '-q']);
    expect(run.stderr).toBe(
      'shiftbench: Expected a dataset folder or COCO JSON (or --config <file>) for --dataset but received ""\n',
    );
    expect(run.code).toBe(2);
    const dataset = await runCli(['export', '--dataset', '', '--input-size', '8x8', '--out', 'x']);
    expect(dataset.stderr).toBe('shiftbench: Expected a dataset folder or COCO JSON for --dataset but received ""\n');
    expect(dataset.code).toBe(2);
    const out = await runCli(['export', '--dataset', 'nowhere', '--input-size', '8x8', '--out', '']);
    expect(out.stderr).toBe('shiftbench: Expected the export folder to write for --out but received ""\n');
    expect(out.code).toBe(2);
  });
});
