import { spawnSync } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/shared.js';
import { writeRunDir } from './fixture.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'src/cli/index.ts'), ...args], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('shiftbench report (CLI)', () => {
  it('renders a run directory and prints the two paths', async () => {
    const dir = await writeRunDir();
    dirs.push(dir);
    const r = cli('report', dir, '--quiet');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${path.join(dir, 'report.html')}\n${path.join(dir, 'report.json')}\n`);
    expect(JSON.parse(await readFile(path.join(dir, 'report.json'), 'utf8')).runId).toBe('coco128-grid1-pad');
  });

  it('exits 2 for a bad directory and 1 for a run without metrics, with the fix in the message', async () => {
    const bad = cli('report', '/no/such/run');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(
      'shiftbench: Expected an existing run directory for <runDir> but received "/no/such/run".',
    );
    const dir = await writeRunDir(null);
    dirs.push(dir);
    const unfinished = cli('report', dir);
    expect(unfinished.code).toBe(1);
    expect(unfinished.stderr).toContain(
      `shiftbench: No metrics.json in run directory ${dir}. Run \`shiftbench run …\` first`,
    );
  });

  it('shows an example in --help', () => {
    const r = cli('report', '--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Example:\n  shiftbench report runs/coco128-grid1');
  });
});
