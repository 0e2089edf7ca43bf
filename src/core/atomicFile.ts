/**
 * The one way shiftbench writes a file: to a temporary file beside it, fsync'd, renamed
 * over the target, and the directory fsync'd so the rename itself survives a power cut.
 * A crash (kill -9, power loss) leaves either the old file or the new one, never half a
 * file; a leftover `<name>.tmp-<pid>` is harmless and is overwritten by the next write.
 */
import { closeSync, fsyncSync, openSync } from 'node:fs';
import { mkdir, open, readdir, rename, rm, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { ShiftbenchError } from './errors.js';

/** fsyncs a directory, so renames and creations inside it are durable (best effort: not every platform can). */
export function syncDirSync(dir: string): void {
  let fd: number;
  try {
    fd = openSync(dir, 'r');
  } catch {
    return;
  }
  try {
    fsyncSync(fd);
  } catch {
    /* a platform (Windows) or file system that cannot fsync a directory: nothing more to do */
  } finally {
    closeSync(fd);
  }
}

/**
 * mkdir -p whose new folders survive a power cut: the parent of each folder it creates is fsync'd (a file renamed into
 * a new folder is durable only when the folder's own entry is).
 */
export async function makeDirDurable(dir: string): Promise<void> {
  const first = await mkdir(dir, { recursive: true }); // the first folder created, or undefined when none was
  if (first === undefined) return;
  const created: string[] = [];
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    created.push(d);
    if (d === path.resolve(first) || path.dirname(d) === d) break;
  }
  for (const d of created.reverse()) syncDirSync(path.dirname(d));
}

/** Renames `from` to `to` and fsyncs the directories involved, so the rename survives a crash. */
export async function renameDurable(from: string, to: string): Promise<void> {
  await rename(from, to);
  syncDirSync(path.dirname(to));
  if (path.dirname(from) !== path.dirname(to)) syncDirSync(path.dirname(from));
}

/**
 * Writes every byte of `data` at the handle's position (appending for a file opened with 'a'): a write may take fewer
 * bytes than asked (a full disk, a signal), so it is repeated for the rest; throws when the file system refuses.
 */
export async function writeAll(fh: FileHandle, data: Buffer): Promise<void> {
  for (let off = 0; off < data.length;) {
    const { bytesWritten } = await fh.write(data, off, data.length - off);
    if (bytesWritten <= 0) throw new Error('the file system took no bytes');
    off += bytesWritten;
  }
}

/** A write the file system refused (ERR_OUTPUT), with the file it was for. */
export class WriteFailedError extends ShiftbenchError {
  constructor(
    readonly file: string,
    message: string,
    cause: unknown,
  ) {
    super('ERR_OUTPUT', message, { cause });
  }
}

/**
 * A failed write of `file` as the error users see: the file, why, and the fix, ending with what to do then (`then`:
 * by default RUN_AGAIN, for a command that resumes and loses nothing stored).
 */
export function writeFailed(file: string, err: unknown, then: string = RUN_AGAIN): WriteFailedError {
  const code = (err as NodeJS.ErrnoException).code;
  const fix =
    code === 'ENOSPC' || code === 'EDQUOT'
      ? 'Free disk space'
      : code === 'EFBIG'
        ? 'Raise the file size limit (ulimit -f)'
        : code === 'EROFS'
          ? 'The file system is read-only: remount it read-write or choose a folder on another one'
          : code === 'ENOTDIR' || code === 'EEXIST'
            ? 'A part of that path is a file, not a folder: move that file or choose another folder'
            : code === 'EACCES' || code === 'EPERM'
              ? 'Make that folder writable or choose another one'
              : 'Fix that';
  return new WriteFailedError(file, `Could not write ${file}: ${(err as Error).message}. ${fix}, ${then}`, err);
}

/** How writeFailed's message ends by default: a command that cannot resume (export) says instead how to redo it. */
export const RUN_AGAIN = 'then run the same command again: what is already stored is kept.';

/** The temporary name of `file` while this process writes it. */
export function tempNameOf(file: string): string {
  return `${file}.tmp-${process.pid}`;
}

/**
 * Removes the temporary files other processes left in `dir` (not its subfolders) when they
 * were killed mid-write. Call it only where no other live process writes (e.g. holding a
 * run directory's lease). Returns the names removed.
 */
export async function removeStaleTemps(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const stale = names.filter((n) => {
    const m = /\.tmp-(\d+)$/.exec(n);
    return m !== null && Number(m[1]) !== process.pid;
  });
  for (const n of stale) await rm(path.join(dir, n), { force: true });
  return stale;
}

/**
 * A file written in pieces and published atomically: `write` appends to the temporary
 * file, `commit` fsyncs it, renames it over the target and fsyncs the directory; `abort`
 * removes the temporary file. Writes are buffered up to `bufferChars` characters (default 1 Mi).
 */
export class AtomicFileWriter {
  private pending: string[] = [];
  private pendingChars = 0;
  /** Set by finish: the temporary file is complete and closed, waiting for commit or abort. */
  private finished = false;
  private constructor(
    readonly file: string,
    private readonly tmp: string,
    private fh: FileHandle | null,
    private readonly bufferChars: number,
  ) {}

  /** Creates the temporary file of `file` (and its folder, durably). */
  static async create(file: string, bufferChars = 1 << 20): Promise<AtomicFileWriter> {
    await makeDirDurable(path.dirname(file));
    const tmp = tempNameOf(file);
    return new AtomicFileWriter(file, tmp, await open(tmp, 'w'), bufferChars);
  }

  /**
   * `text` written whole to the temporary file of `file` (so there is room for it), not yet in place: the caller
   * commits it once what it replaces may go, or aborts it. A failed write removes the temporary file and throws.
   */
  static async staged(file: string, text: string): Promise<AtomicFileWriter> {
    const w = await AtomicFileWriter.create(file, 0);
    try {
      await w.write(text);
    } catch (err) {
      await w.abort();
      throw err;
    }
    return w;
  }

  /** Appends text (UTF-8). */
  async write(text: string): Promise<void> {
    if (!this.fh || this.finished) throw new Error(`${this.file} was already finished, committed or aborted`);
    this.pending.push(text);
    this.pendingChars += text.length;
    if (this.pendingChars >= this.bufferChars) await this.flush();
  }

  private async flush(): Promise<void> {
    if (!this.fh || this.finished) throw new Error(`${this.file} was already finished, committed or aborted`);
    if (this.pending.length === 0) return;
    const text = this.pending.join('');
    this.pending = [];
    this.pendingChars = 0;
    try {
      await writeAll(this.fh, Buffer.from(text, 'utf8'));
    } catch (err) {
      throw writeFailed(this.file, err); // the file being written: its temporary one is removed by abort
    }
  }

  /**
   * Ends the writing: flush, fsync and close, the temporary file kept for `commit` (so that many finished files need
   * no open handle while they wait to go in place together). Nothing more may be written.
   */
  async finish(): Promise<void> {
    if (this.finished) return;
    await this.flush();
    const fh = this.fh!;
    try {
      await fh.sync();
    } finally {
      this.finished = true;
      await fh.close();
    }
  }

  /** Makes the written content the file's: finish (fsync), rename over the target, fsync of the directory. */
  async commit(): Promise<void> {
    await this.finish();
    this.fh = null;
    await renameDurable(this.tmp, this.file);
  }

  /** Drops what was written (the target is untouched); safe after commit. */
  async abort(): Promise<void> {
    const fh = this.fh;
    if (!fh) return;
    this.fh = null;
    this.pending = [];
    if (!this.finished) await fh.close().catch(() => undefined);
    await rm(this.tmp, { force: true });
  }
}

/**
 * Writes `data` to `file` atomically (temporary file, fsync, rename, fsync of the directory); creates the folder unless
 * `makeDir` is false (a file that belongs in a folder another process may remove: gone, the write fails).
 */
export async function writeFileAtomic(
  file: string,
  data: string | Uint8Array,
  { makeDir = true }: { makeDir?: boolean } = {},
): Promise<void> {
  if (makeDir) await makeDirDurable(path.dirname(file));
  const tmp = tempNameOf(file);
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } catch (err) {
    await fh.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw writeFailed(file, err);
  }
  await fh.close();
  await renameDurable(tmp, file);
}
