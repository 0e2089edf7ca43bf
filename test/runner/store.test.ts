/**
 * Issue 14 item 1: the detection log is read line by line. A COCO-scale log (~780 MB) is
 * longer than the longest string V8 makes (~512 MiB), so reading it whole made resume
 * fail; here readFile refuses, as V8 does, any log over a small budget, and the log must
 * still open with the torn-tail repair intact. The run keeps no detections in memory.
 */
import { readFileSync } from 'node:fs';
import { appendFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { DetectionLog, RecordReader, forEachLine, type ImageRecord } from '../../src/runner/store.js';
import { tempDir } from './fixtures.js';

/** The string budget of this test: readFile of a log bigger than this fails like V8's limit. */
const BUDGET_BYTES = 64 * 1024;

vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  const readFile = (async (file: unknown, ...rest: unknown[]) => {
    if (typeof file === 'string' && file.endsWith('.jsonl') && (await real.stat(file)).size > BUDGET_BYTES) {
      const err = new Error('Cannot create a string longer than 0x1fffffe8 characters') as NodeJS.ErrnoException;
      err.code = 'ERR_STRING_TOO_LONG';
      throw err;
    }
    return (real.readFile as (...a: unknown[]) => unknown)(file, ...rest);
  }) as typeof real.readFile;
  return { ...real, default: { ...real, readFile }, readFile };
});

const SHIFTS = 4;

function record(imageId: number, perShift: number): ImageRecord {
  return {
    imageId,
    sha256: `sha-${imageId}-ü`, // a multi-byte character: chunk borders may split it
    seconds: 0.01 * imageId,
    size: [64, 48],
    shifts: Array.from({ length: SHIFTS }, (_, s) =>
      Array.from(
        { length: perShift },
        (_, k) =>
          [imageId + k * 0.125, s + 0.5, 10 + k, 12, 0.5 + k / (2 * perShift + 2), 1 + (k % 3)] as [
            number,
            number,
            number,
            number,
            number,
            number,
          ],
      ),
    ),
  };
}

describe('DetectionLog: line-by-line store', () => {
  it('a log larger than the string budget resumes: complete lines kept, the torn tail cut, nothing held but positions', async () => {
    const dir = await tempDir('shiftbench-store-');
    const file = path.join(dir, 'det.jsonl');
    const records = Array.from({ length: 40 }, (_, i) => record(i + 1, 30));
    await writeFile(file, records.map((r) => JSON.stringify(r) + '\n').join(''));
    const torn = JSON.stringify(record(41, 30)).slice(0, 777);
    await appendFile(file, torn);
    const before = (await stat(file)).size;
    expect(before).toBeGreaterThan(2 * BUDGET_BYTES);

    const { log, stored, tornBytes } = await DetectionLog.open(file, SHIFTS, { chunkBytes: 1000 });
    expect(tornBytes).toBe(Buffer.byteLength(torn));
    expect((await stat(file)).size).toBe(before - tornBytes);
    expect([...stored.keys()]).toEqual(records.map((r) => r.imageId));
    for (const s of stored.values()) expect('shifts' in s).toBe(false); // no detections in memory
    const first = stored.get(1)!;
    expect(first).toMatchObject({
      imageId: 1,
      sha256: 'sha-1-ü',
      seconds: 0.01,
      size: [64, 48],
      detections: SHIFTS * 30,
    });

    // appending after the cut, and reading every record back by its position
    const extra = record(41, 2);
    await log.append(extra);
    await log.close();
    const reader = await RecordReader.open(file);
    try {
      for (const r of [...records, extra]) {
        const at = stored.get(r.imageId)!;
        if ('skipped' in at) throw new Error('unexpected skip');
        expect(await reader.read(at)).toEqual(r);
      }
    } finally {
      await reader.close();
    }
    // reopening finds the same lines, no torn tail
    const again = await DetectionLog.open(file, SHIFTS, { chunkBytes: 333 });
    await again.log.close();
    expect(again.tornBytes).toBe(0);
    expect([...again.stored.values()]).toEqual([...stored.values()]);
    // what the whole file says, line by line
    const text = readFileSync(file, 'utf8');
    expect(
      text
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l)),
    ).toEqual([...records, extra]);
  });

  it('a later line for an image replaces an earlier one (a skipped image retried)', async () => {
    const dir = await tempDir('shiftbench-store-');
    const file = path.join(dir, 'det.jsonl');
    const lines = [{ imageId: 7, skipped: 'could not decode' }, record(8, 1), record(7, 3)];
    await writeFile(file, lines.map((r) => JSON.stringify(r) + '\n').join(''));
    const { log, stored } = await DetectionLog.open(file, SHIFTS, { chunkBytes: 64 });
    await log.close();
    expect(stored.get(7)).toMatchObject({ detections: SHIFTS * 3 });
    expect('skipped' in stored.get(7)!).toBe(false);
  });

  it('a damaged middle line is refused; a damaged last line is dropped like a torn one', async () => {
    const dir = await tempDir('shiftbench-store-');
    const middle = path.join(dir, 'middle.jsonl');
    await writeFile(
      middle,
      [JSON.stringify(record(1, 2)), '{"imageId": oops', JSON.stringify(record(2, 2))].join('\n') + '\n',
    );
    await expect(DetectionLog.open(middle, SHIFTS, { chunkBytes: 50 })).rejects.toMatchObject({
      code: 'ERR_RUN_STORE',
      message: expect.stringMatching(/line 2 is damaged/),
    });
    const wrongShifts = path.join(dir, 'shifts.jsonl');
    await writeFile(wrongShifts, JSON.stringify(record(1, 2)) + '\n' + JSON.stringify(record(2, 2)) + '\n');
    await expect(DetectionLog.open(wrongShifts, SHIFTS + 1)).rejects.toMatchObject({
      code: 'ERR_RUN_STORE',
      message: expect.stringMatching(/line 1 .*different shift set/),
    });
    const last = path.join(dir, 'last.jsonl');
    const good = JSON.stringify(record(1, 2)) + '\n';
    await writeFile(last, good + '{"imageId": 2, "size": oops}\n');
    const opened = await DetectionLog.open(last, SHIFTS, { chunkBytes: 50 });
    await opened.log.close();
    expect([...opened.stored.keys()]).toEqual([1]);
    expect(opened.tornBytes).toBe('{"imageId": 2, "size": oops}\n'.length);
    expect(readFileSync(last, 'utf8')).toBe(good);
  });

  it('a detection that is not six numbers makes its line damaged (fast and full parse alike), never a scored box', async () => {
    const dir = await tempDir('shiftbench-store-');
    const five = record(2, 2);
    ((five as Extract<ImageRecord, { shifts: unknown }>).shifts[1][0] as number[]).pop();
    for (const [name, line] of [
      ['layout', JSON.stringify(five)],
      ['spaced', JSON.stringify(five, null, 1).replace(/\n/g, '')], // another layout: parsed in full
    ] as const) {
      const file = path.join(dir, `${name}.jsonl`);
      await writeFile(file, [JSON.stringify(record(1, 2)), line, JSON.stringify(record(3, 2))].join('\n') + '\n');
      await expect(DetectionLog.open(file, SHIFTS)).rejects.toMatchObject({
        code: 'ERR_RUN_STORE',
        message: expect.stringMatching(/line 2 is damaged/),
      });
    }
  });

  it('a damaged middle line names the fix that keeps the other lines: delete that line, its image is computed again', async () => {
    const dir = await tempDir('shiftbench-store-');
    const file = path.join(dir, 'middle.jsonl');
    await writeFile(file, [JSON.stringify(record(1, 2)), '}}{', JSON.stringify(record(2, 2))].join('\n') + '\n');
    const e = await DetectionLog.open(file, SHIFTS).catch((err: Error) => err);
    expect((e as Error).message).toContain(`${file} line 2 is damaged`);
    expect((e as Error).message).toContain('Delete line 2');
    expect((e as Error).message).toContain('computed again');
  });

  it('a short write is completed; a failed write names the file and the fix and leaves whole lines only', async () => {
    const dir = await tempDir('shiftbench-store-');
    const file = path.join(dir, 'short.jsonl');
    const { log } = await DetectionLog.open(file, SHIFTS);
    await log.append(record(1, 2));
    const fh = (log as unknown as { fh: { write: (...a: unknown[]) => Promise<{ bytesWritten: number }> } }).fh;
    const realWrite = fh.write.bind(fh);
    // the file system takes at most 10 bytes a call
    fh.write = (buf: unknown, offset?: unknown, length?: unknown) =>
      typeof buf === 'string'
        ? realWrite(Buffer.from(buf).subarray(0, 10))
        : realWrite(buf, offset, Math.min(10, (length as number | undefined) ?? (buf as Buffer).length));
    await log.append(record(2, 2));
    // then the disk is full after a few bytes
    let calls = 0;
    fh.write = (buf: unknown, offset?: unknown, length?: unknown) => {
      if (++calls > 2) {
        const err = new Error('ENOSPC: no space left on device, write') as NodeJS.ErrnoException;
        err.code = 'ENOSPC';
        return Promise.reject(err);
      }
      return realWrite(buf, offset, Math.min(10, (length as number | undefined) ?? (buf as Buffer).length));
    };
    const e = (await log.append(record(3, 2)).catch((err) => err)) as { code: string; message: string };
    expect(e.code).toBe('ERR_OUTPUT');
    expect(e.message).toContain(file);
    expect(e.message).toContain('no space left');
    expect(e.message).toContain('run the same command again');
    await log.close().catch(() => undefined);
    const reopened = await DetectionLog.open(file, SHIFTS);
    await reopened.log.close();
    expect(reopened.tornBytes).toBe(0);
    expect([...reopened.stored.keys()]).toEqual([1, 2]);
  });

  it('forEachLine: offsets and byte lengths of every line whatever the chunk size; the tail is reported', async () => {
    const dir = await tempDir('shiftbench-store-');
    const file = path.join(dir, 'lines.txt');
    const lines = ['', 'a', 'ünïcödé €', 'x'.repeat(300), ''];
    await writeFile(file, lines.map((l) => l + '\n').join('') + 'tail€');
    const { open } = await import('node:fs/promises');
    for (const chunk of [1, 2, 3, 7, 64, 4096]) {
      const fh = await open(file, 'r');
      const seen: [string, number, number][] = [];
      const ends = await forEachLine(fh, file, (t, o, b) => seen.push([t, o, b]), chunk);
      await fh.close();
      let offset = 0;
      expect(seen).toEqual(
        lines.map((l) => {
          const at: [string, number, number] = [l, offset, Buffer.byteLength(l)];
          offset += Buffer.byteLength(l) + 1;
          return at;
        }),
      );
      expect(ends).toEqual({ completeBytes: offset, totalBytes: offset + Buffer.byteLength('tail€') });
    }
  });
});
