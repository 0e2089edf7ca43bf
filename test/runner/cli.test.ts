import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/shared.js';
import { tempDir } from './fixtures.js';

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'src/cli/index.ts'), ...args], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('shiftbench run / demo (CLI)', () => {
  it('--help shows the flags and an example', () => {
    const r = cli('run', '--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('--shifts <spec>');
    expect(r.stdout).toContain('Examples:');
    expect(r.stdout).toContain('shiftbench run --model');
    const d = cli('demo', '--help');
    expect(d.code).toBe(0);
    expect(d.stdout).toContain('shiftbench demo');
  });

  it('usage errors exit with 2 and name the flag', () => {
    const shifts = cli('run', '--model', 'x', '--dataset', 'y', '--shifts', 'diag:1');
    expect(shifts.code).toBe(2);
    expect(shifts.stderr).toContain(
      'Expected a shift set like grid:1, line:63, frac:4 or 0,0;1,0 for --shifts but received "diag:1"',
    );
    const model = cli('run', '--dataset', 'y');
    expect(model.code).toBe(2);
    expect(model.stderr).toContain('for --model');
    const limit = cli('run', '--model', 'x', '--dataset', 'y', '--limit', 'ten');
    expect(limit.code).toBe(2);
    expect(limit.stderr).toContain('for --limit but received "ten"');
    const mode = cli('run', '--model', 'x', '--dataset', 'y', '--mode', 'wrap');
    expect(mode.code).toBe(2);
    expect(mode.stderr).toContain('Expected one of pad, crop, circular for --mode but received "wrap"');
  });

  it('an unwritable --out is a failure (exit 1) naming the path', async () => {
    const dir = await tempDir();
    const blocker = path.join(dir, 'file');
    writeFileSync(blocker, 'x');
    const out = path.join(blocker, 'run');
    const r = cli('run', '--model', 'x', '--dataset', dir, '--out', out);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`Cannot write the run directory ${out} (--out)`);
  });
});
