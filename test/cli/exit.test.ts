/**
 * Issue 10 item 3: `shiftbench run` never exits 0 without metrics.json — a detect() that
 * never returns hits --detect-timeout, a plug-in that calls process.exit is a plug-in
 * failure, and a run whose work stops without finishing exits 1 with a message.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { pluginRunArgs } from '../helpers/cli.js';
import { REPO_ROOT } from '../helpers/shared.js';
import { makeDataset, tempDir } from '../runner/fixtures.js';

function cli(args: string[], cwd = REPO_ROOT) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'src/cli/index.ts'), ...args], {
    cwd,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const INFO = `{ name: 'x', family: { stages: 'one-stage', anchors: 'anchor-free' }, inputSizePx: { width: 16, height: 16 }, classes: [{ id: 1, name: 'disc' }], maxBatch: 4 }`;
const PLUGIN = `
const info = ${INFO};
export default {
  apiVersion: 1,
  name: 'bad',
  detectors: {
    hangs: () => ({ info, detect: () => new Promise(() => {}), dispose: async () => {} }),
    exits: () => ({ info, detect: async () => { process.exit(0); }, dispose: async () => {} }),
    neverLoads: () => new Promise(() => {}),
  },
};
`;

describe('shiftbench run never exits 0 without metrics.json', () => {
  let root: string;
  let dataset: string;
  let plugin: string;

  beforeAll(async () => {
    root = await tempDir('shiftbench-exit-');
    ({ file: dataset } = await makeDataset(path.join(root, 'ds'), 2));
    plugin = path.join(root, 'bad.mjs');
    await writeFile(plugin, PLUGIN);
  });

  const run = (model: string, out: string, extra: string[] = []) =>
    cli(pluginRunArgs(plugin, model, dataset, path.join(root, out), extra));

  it('a detect() that never returns hits --detect-timeout: exit 1 naming the plug-in, no metrics', () => {
    const r = run('bad/hangs', 'hangs', ['--detect-timeout', '300']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('did not return from detect() within 300 ms');
    expect(existsSync(path.join(root, 'hangs', 'metrics.json'))).toBe(false);
  });

  it('a plug-in calling process.exit(0) is a plug-in failure: exit 1', () => {
    const r = run('bad/exits', 'exits');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/process\.exit\(0\)/);
    expect(existsSync(path.join(root, 'exits', 'metrics.json'))).toBe(false);
  });

  it('a run whose work never settles (a factory that never resolves) exits 1 with a message', () => {
    const r = run('bad/neverLoads', 'never');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/stopped before it finished/);
    expect(existsSync(path.join(root, 'never', 'metrics.json'))).toBe(false);
  });
});

/** The CLI's exit code when whoever reads its stderr has gone away (`… 2>&1 >/dev/null | head -c1`). */
function exitWithStderrClosed(args: string[]): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'src/cli/index.ts'), ...args], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child.stderr.destroy(); // the reader is gone before the CLI writes a line
    child.on('error', reject);
    child.on('close', (code) => resolve(code));
  });
}

describe('exit codes do not depend on whether stderr is still read', () => {
  it('a usage error exits 2 and a failure (a folder with no run) 1 when stderr is a closed pipe', async () => {
    // before: the EPIPE of the error message was an uncaught error, and the code came out 0, 1 or 2 by timing
    for (let k = 0; k < 3; k++) {
      expect(await exitWithStderrClosed(['run', '--no-such-flag'])).toBe(2);
      expect(await exitWithStderrClosed(['check', path.join(REPO_ROOT, 'test'), '--max-range', '0.1'])).toBe(1);
    }
  });
});
