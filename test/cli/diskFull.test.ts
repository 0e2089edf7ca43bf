/**
 * A write the machine refuses for room (a full disk, a file size limit): the CLI names the file and
 * the fix, with no stack trace, exits 1, and the same command finishes the run once there is room.
 */
import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI_ENTRY, TSX_LOADER, runCli, runProcess } from '../helpers/cli.js';
import { makeDataset, tempDir } from '../runner/fixtures.js';

describe('out of room while writing', () => {
  // 1 KiB: the manifest is the first write refused; 8 KiB: a line of the detection log
  it.each([1, 8])(
    'a file size limit of %i KiB: the file and the fix, no stack trace, exit 1; the same command then finishes',
    async (kib) => {
      const root = await tempDir(`shiftbench-efbig-${kib}-`);
      const { file: dataset } = await makeDataset(path.join(root, 'ds'), 12, { seed: 4 });
      const out = path.join(root, 'run');
      const args = ['run', '--model', 'jitter:96', '--dataset', dataset, '--bootstrap', '20', '--out', out, '--quiet'];
      const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
      const limited = await runProcess('bash', [
        '-c',
        `ulimit -f ${kib}; exec ${[process.execPath, '--import', TSX_LOADER, CLI_ENTRY, ...args].map(quote).join(' ')}`,
      ]);
      expect(limited.code, limited.stderr).toBe(1);
      expect(limited.stderr).toMatch(/shiftbench: Could not write \/\S+/);
      expect(limited.stderr).toContain('Raise the file size limit (ulimit -f), then run the same command again');
      expect(limited.stderr).not.toContain('unexpected failure');
      expect(limited.stderr).not.toMatch(/\n\s+at /);
      const again = await runCli(args);
      expect(again.code, again.stderr).toBe(0);
    },
    120_000,
  );
});

describe('a path that cannot be a folder', () => {
  it('datasets synth --out under a file (ENOTDIR): the folder and the fix, no stack trace, exit 1', async () => {
    const root = await tempDir('shiftbench-enotdir-');
    const file = path.join(root, 'a-file');
    await writeFile(file, 'not a folder');
    const r = await runCli([
      'datasets',
      'synth',
      '--out',
      path.join(file, 'ds'),
      '--val',
      '2',
      '--splits',
      'val',
      '-q',
    ]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain(`shiftbench: Could not write ${path.join(file, 'ds', 'val', 'images')}`);
    expect(r.stderr).toContain('is a file, not a folder');
    expect(r.stderr).not.toContain('unexpected failure');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  }, 60_000);
});

describe('out of room while writing the report', () => {
  it('report: the file and the fix once, not wrapped twice with a fix for another cause', async () => {
    const root = await tempDir('shiftbench-efbig-report-');
    const { file: dataset } = await makeDataset(path.join(root, 'ds'), 6, { seed: 4 });
    const out = path.join(root, 'run');
    const run = await runCli([
      'run',
      '--model',
      'jitter:96',
      '--dataset',
      dataset,
      '--bootstrap',
      '20',
      '--out',
      out,
      '--quiet',
    ]);
    expect(run.code, run.stderr).toBe(0);
    const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
    const args = [process.execPath, '--import', TSX_LOADER, CLI_ENTRY, 'report', out];
    const limited = await runProcess('bash', ['-c', `ulimit -f 64; exec ${args.map(quote).join(' ')}`]);
    expect(limited.code, limited.stderr).toBe(1);
    const html = path.join(out, 'report.html');
    expect(limited.stderr).toContain(`shiftbench: Could not write ${html}: EFBIG`);
    expect(limited.stderr.split('Could not write').length - 1).toBe(1);
    expect(limited.stderr).toContain('Raise the file size limit (ulimit -f), then run the same command again');
    expect(limited.stderr).not.toContain('Check that the folder exists');
  }, 120_000);
});

describe('out of room while exporting', () => {
  it('export: nothing of the unfinished export is left, and the same command then finishes', async () => {
    // before: "… then run the same command again: what is already stored is kept", and the same command was then
    // refused: "--out … holds an unfinished export … Give a new folder, or --force to replace it"; later the fix said to
    // add --force. Now the export is written aside and moved in only once complete: the same command redoes it.
    const root = await tempDir('shiftbench-efbig-export-');
    const { file: dataset } = await makeDataset(path.join(root, 'ds'), 4, { seed: 4 });
    const out = path.join(root, 'export');
    const args = ['export', '--dataset', dataset, '--input-size', '256x256', '--out', out, '--quiet'];
    const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
    const argv = [process.execPath, '--import', TSX_LOADER, CLI_ENTRY, ...args];
    const limited = await runProcess('bash', ['-c', `ulimit -f 4; exec ${argv.map(quote).join(' ')}`]);
    expect(limited.code, limited.stderr).toBe(1);
    expect(limited.stderr).toMatch(/shiftbench: Could not write \/\S+\.png/);
    expect(limited.stderr).toContain(`then run the same command again: nothing was left in ${out}.`);
    expect(await readdir(out)).toEqual([]);
    const again = await runCli(args);
    expect(again.code, again.stderr).toBe(0);
  }, 120_000);
});
