/**
 * Issue 14 item 5: one atomic-write helper (temporary file, fsync, rename, fsync of the
 * directory) for every file shiftbench writes.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { AtomicFileWriter, removeStaleTemps, renameDurable, writeFileAtomic } from '../../src/core/atomicFile.js';
import { TSX_LOADER, runProcess } from '../helpers/cli.js';
import { REPO_ROOT } from '../helpers/shared.js';

const tmpDir = () => mkdtemp(path.join(os.tmpdir(), 'shiftbench-atomic-'));

/** Folders fsync'd (opened read-only, then fsync'd: syncDirSync), in order. */
const synced = vi.hoisted(() => ({ dirs: [] as string[], fds: new Map<number, string>() }));

vi.mock('node:fs', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs')>();
  const openSync = ((file: unknown, flags: unknown, ...rest: unknown[]) => {
    const fd = (real.openSync as (...a: unknown[]) => number)(file, flags, ...rest);
    if (flags === 'r' && typeof file === 'string') synced.fds.set(fd, file);
    return fd;
  }) as typeof real.openSync;
  const fsyncSync = ((fd: number) => {
    real.fsyncSync(fd);
    const dir = synced.fds.get(fd);
    if (dir !== undefined) synced.dirs.push(dir);
  }) as typeof real.fsyncSync;
  const closeSync = ((fd: number) => {
    synced.fds.delete(fd);
    real.closeSync(fd);
  }) as typeof real.closeSync;
  return { ...real, default: { ...real, openSync, fsyncSync, closeSync }, openSync, fsyncSync, closeSync };
});

describe('atomic writes', () => {
  it('writeFileAtomic creates folders, replaces the file whole and leaves no temporary file', async () => {
    const dir = await tmpDir();
    const file = path.join(dir, 'a', 'b', 'x.json');
    await writeFileAtomic(file, 'first');
    await writeFileAtomic(file, Buffer.from('second'));
    expect(readFileSync(file, 'utf8')).toBe('second');
    expect(readdirSync(path.dirname(file))).toEqual(['x.json']);
  });

  it("a file written into folders it creates survives a power cut: each new folder is fsync'd in its parent", async () => {
    // a run's per-shift files go into detections/<key>/, made while scoring: without its entry in detections/ on
    // disk, a power cut after metrics.json could leave the metrics without the files they were scored from
    for (const write of [
      (file: string) => writeFileAtomic(file, 'x'),
      async (file: string) => {
        const w = await AtomicFileWriter.create(file);
        await w.write('x');
        await w.commit();
      },
    ]) {
      const dir = await tmpDir();
      const file = path.join(dir, 'detections', 'key', 'shift_0_0.json');
      synced.dirs = [];
      await write(file);
      expect(readFileSync(file, 'utf8')).toBe('x');
      for (const parent of [dir, path.join(dir, 'detections'), path.join(dir, 'detections', 'key')])
        expect(synced.dirs).toContain(parent);
    }
  });

  it('AtomicFileWriter: nothing is visible before commit; abort leaves the old file as it was', async () => {
    const dir = await tmpDir();
    const file = path.join(dir, 'big.json');
    await writeFile(file, 'old');
    const w = await AtomicFileWriter.create(file, 4);
    for (let k = 0; k < 100; k++) await w.write(`${k},`);
    expect(readFileSync(file, 'utf8')).toBe('old');
    await w.commit();
    expect(readFileSync(file, 'utf8')).toBe(Array.from({ length: 100 }, (_, k) => `${k},`).join(''));
    const dropped = await AtomicFileWriter.create(file);
    await dropped.write('never');
    await dropped.abort();
    expect(readFileSync(file, 'utf8')).toMatch(/^0,1,2,/);
    expect(readdirSync(dir)).toEqual(['big.json']);
  });

  it('AtomicFileWriter.finish: complete and closed, still not visible; then commit puts it in place, or abort drops it', async () => {
    const dir = await tmpDir();
    const file = path.join(dir, 'shift.json');
    await writeFile(file, 'old');
    const w = await AtomicFileWriter.create(file);
    await w.write('new');
    await w.finish();
    await expect(w.write('more')).rejects.toThrow(/already finished/);
    await expect(w.finish()).resolves.toBeUndefined(); // once is enough
    expect(readFileSync(file, 'utf8')).toBe('old');
    expect(readdirSync(dir)).toHaveLength(2); // the finished temporary file waits beside it
    await w.commit();
    expect(readFileSync(file, 'utf8')).toBe('new');
    const dropped = await AtomicFileWriter.create(file);
    await dropped.write('never');
    await dropped.finish();
    await dropped.abort();
    expect(readFileSync(file, 'utf8')).toBe('new');
    expect(readdirSync(dir)).toEqual(['shift.json']);
  });

  it("removeStaleTemps removes what killed processes left, not this process's own; renameDurable moves folders", async () => {
    const dir = await tmpDir();
    await writeFile(path.join(dir, 'shift_0_0.json.tmp-999999'), 'half');
    await writeFile(path.join(dir, `metrics.json.tmp-${process.pid}`), 'mine');
    await writeFile(path.join(dir, 'keep.json'), '{}');
    expect(await removeStaleTemps(dir)).toEqual(['shift_0_0.json.tmp-999999']);
    expect(readdirSync(dir).sort()).toEqual(['keep.json', `metrics.json.tmp-${process.pid}`]);
    await writeFileAtomic(path.join(dir, 'sub', 'f'), 'x');
    await renameDurable(path.join(dir, 'sub'), path.join(dir, 'moved'));
    expect(existsSync(path.join(dir, 'moved', 'f'))).toBe(true);
  });

  it('src/ writes files only through core/atomicFile.ts (the exceptions are named with their reason)', () => {
    const allowed: Record<string, RegExp> = {
      // the append-only detection log (one write per line, fsync'd; a torn tail is cut on open) and the writability probe
      'runner/store.ts': /await this\.fh\.write\(line|await writeFile\(probe, ''\)/,
      // the lease is created with O_EXCL ('wx'), which a rename cannot do; then fsync'd with its directory
      'core/lock.ts': /await fh\.writeFile\(JSON\.stringify\(content\)\)/,
    };
    const writers = /\b(writeFile|writeFileSync|appendFile|appendFileSync|createWriteStream|toFile)\(|\.write\(/;
    const found: string[] = [];
    const srcDir = path.join(REPO_ROOT, 'src');
    for (const rel of readdirSync(srcDir, { recursive: true }) as string[]) {
      if (!rel.endsWith('.ts') || rel === path.join('core', 'atomicFile.ts')) continue;
      const lines = readFileSync(path.join(srcDir, rel), 'utf8').split('\n');
      lines.forEach((line, i) => {
        if (
          !writers.test(line) ||
          /process\.(stdout|stderr)|stream\.write|\bw(riters\[s\])?\.write\(|hash\.|\.update\(/.test(line)
        )
          return;
        const ok = allowed[rel.split(path.sep).join('/')];
        if (!ok || !ok.test(line)) found.push(`${rel}:${i + 1}: ${line.trim()}`);
      });
    }
    expect(found).toEqual([]);
  });
});

describe('a write refused midway (a file size limit)', () => {
  it('AtomicFileWriter names the file being written, not its removed temporary file', async () => {
    // before: "Could not write <file>.tmp-<pid>: EFBIG …", a name that is gone once the write is aborted
    const dir = await tmpDir();
    const file = path.join(dir, 'big.json');
    const script = path.join(dir, 'write.mts');
    await writeFile(
      script,
      `import { AtomicFileWriter } from ${JSON.stringify(path.join(REPO_ROOT, 'src/core/atomicFile.ts'))};\n` +
        `const w = await AtomicFileWriter.create(${JSON.stringify(file)}, 0);\n` +
        `try { await w.write('x'.repeat(64 * 1024)); await w.commit(); } catch (err) {\n` +
        `  await w.abort(); process.stdout.write((err as Error).message); }\n`,
    );
    const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
    const r = await runProcess('bash', [
      '-c',
      `ulimit -f 8; exec ${[process.execPath, '--import', TSX_LOADER, script].map(quote).join(' ')}`,
    ]);
    expect(r.stdout).toContain(`Could not write ${file}: EFBIG`);
    expect(r.stdout).not.toContain('.tmp-');
    expect(readdirSync(dir).sort()).toEqual(['write.mts']);
  }, 60_000);
});
