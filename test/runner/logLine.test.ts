/**
 * Opening a detection log reads each line's header and counts its detections from the
 * bytes (logLine.ts) instead of parsing every record in full. The fast path must never
 * accept what JSON.parse refuses, must give the same counts, and must leave every line
 * of another layout to the full parse.
 */
import path from 'node:path';
import { writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { scanRecordLine } from '../../src/runner/logLine.js';
import { DetectionLog, type ImageRecord } from '../../src/runner/store.js';
import { tempDir } from './fixtures.js';

const SHIFTS = 3;

function record(imageId: number, perShift: number[]): ImageRecord {
  return {
    imageId,
    sha256: `sha-${imageId}-"é"`,
    seconds: 0.25,
    size: [640, 480],
    shifts: perShift.map((n, s) =>
      Array.from({ length: n }, (_, k) => [-1.5e-7 * k, s + 0.125, 1e21, 0, 0.5 - k / 10, 7] as never),
    ),
  };
}

const bytes = (text: string) => Buffer.from(text, 'utf8');

/** What the full parse says of a line: null if JSON.parse refuses it or its last key is not a list "shifts". */
function parsedCounts(text: string): { shiftLists: number; detections: number } | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null) return null;
  const shifts = (v as { shifts?: unknown }).shifts;
  if (!Array.isArray(shifts) || Object.keys(v).at(-1) !== 'shifts') return null;
  if (!shifts.every(Array.isArray)) return null;
  return { shiftLists: shifts.length, detections: shifts.reduce((n: number, l: unknown[]) => n + l.length, 0) };
}

describe('scanRecordLine: a log line read without building its detections', () => {
  it('reads the header and counts of lines the run writes, empty shifts and lists included', () => {
    for (const perShift of [[2, 0, 5], [0, 0, 0], [], [1]]) {
      const r = record(3, perShift);
      const text = JSON.stringify(r);
      const { shifts, ...header } = r as Extract<ImageRecord, { shifts: unknown }>;
      expect(scanRecordLine(bytes(text))).toEqual({
        header,
        shiftLists: shifts.length,
        detections: perShift.reduce((a, b) => a + b, 0),
      });
    }
  });

  it('never accepts a truncated or altered line that JSON.parse refuses; counts equal the full parse', () => {
    const text = JSON.stringify(record(12, [2, 1, 0]));
    const at = text.indexOf('"shifts"');
    const variants: string[] = [];
    for (let end = 0; end < text.length; end++) variants.push(text.slice(0, end)); // every torn tail
    for (let i = 0; i < text.length; i++) {
      variants.push(text.slice(0, i) + text.slice(i + 1)); // every byte dropped
      if (i >= at) for (const c of '[],-+.0eE }x"') variants.push(text.slice(0, i) + c + text.slice(i + 1)); // replaced
    }
    let accepted = 0;
    for (const v of variants) {
      const scanned = scanRecordLine(bytes(v));
      if (scanned === null) continue;
      accepted++;
      expect(parsedCounts(v), v).toEqual({ shiftLists: scanned.shiftLists, detections: scanned.detections });
    }
    expect(accepted).toBeGreaterThan(100); // digits changed into digits, etc. are still records
  });

  it('leaves other layouts to the full parse (null): whitespace, other key order, null in a detection', () => {
    const r = record(5, [1, 1, 1]) as Extract<ImageRecord, { shifts: unknown }>;
    const { shifts, ...header } = r;
    for (const text of [
      JSON.stringify(r, null, 1),
      JSON.stringify({ shifts, ...header }),
      JSON.stringify(r).replace('[[[', '[[[null,'),
      JSON.stringify(r).replace('"shifts":[', '"shifts": ['),
      JSON.stringify(r) + ' ',
    ])
      expect(scanRecordLine(bytes(text)), text).toBeNull();
  });
});

describe('DetectionLog.open: the fast path keeps what the full parse kept', () => {
  it('a number JSON parses to ±Infinity (1e400, 400 digits) makes its line damaged, as the full parse has it', async () => {
    const dir = await tempDir('shiftbench-logline-');
    const good = JSON.stringify(record(9, [1, 1, 1]));
    const r = JSON.stringify(record(10, [1, 1, 1]));
    for (const number of ['1e400', '-1E+400', '1' + '0'.repeat(400), '0.5e309']) {
      const bad = r.replace('1e+21', number);
      expect(bad).not.toBe(r);
      expect(scanRecordLine(bytes(bad)), number).toBeNull(); // left to the full parse, which refuses it
      const middle = path.join(dir, 'overflow.jsonl');
      await writeFile(middle, [good, bad, good.replace('"imageId":9', '"imageId":11')].join('\n') + '\n');
      await expect(DetectionLog.open(middle, SHIFTS), number).rejects.toMatchObject({
        code: 'ERR_RUN_STORE',
        message: expect.stringMatching(/line 2 is damaged/),
      });
    }
    // large and small finite numbers stay on the fast path
    for (const number of ['1e308', '-1.7976931348623157e308', '5e-324', '1e-400', '9'.repeat(300)])
      expect(scanRecordLine(bytes(r.replace('1e+21', number))), number).not.toBeNull();
  });

  it('a category id that is not a 32-bit integer makes its line damaged on both paths (never truncated to another category)', async () => {
    const dir = await tempDir('shiftbench-logline-');
    const good = JSON.stringify(record(9, [1, 1, 1]));
    const r = JSON.stringify(record(10, [1, 1, 1]));
    for (const category of ['7.5', '-0.25', '7e-1', '2147483648', '-2147483649', '1e10']) {
      const bad = r.replace(',7]', `,${category}]`);
      expect(bad).not.toBe(r);
      for (const [name, line] of [
        ['layout', bad],
        ['spaced', JSON.stringify(JSON.parse(bad), null, 1).replace(/\n/g, '')], // another layout: parsed in full
      ] as const) {
        const middle = path.join(dir, `category-${name}.jsonl`);
        await writeFile(middle, [good, line, good.replace('"imageId":9', '"imageId":11')].join('\n') + '\n');
        await expect(DetectionLog.open(middle, SHIFTS), `${name} ${category}`).rejects.toMatchObject({
          code: 'ERR_RUN_STORE',
          message: expect.stringMatching(/line 2 is damaged/),
        });
      }
    }
    // integers written another way are the same integer: still accepted
    for (const category of ['7.0', '70e-1', '-3', '2147483647', '-2147483648']) {
      const file = path.join(dir, 'category-ok.jsonl');
      await writeFile(file, [good, r.replace(',7]', `,${category}]`)].join('\n') + '\n');
      const opened = await DetectionLog.open(file, SHIFTS, { readOnly: true });
      expect([...opened.stored.keys()], category).toEqual([9, 10]);
    }
  });

  it('lines of other layouts open as before; a damaged byte in a middle body is refused, in the last dropped', async () => {
    const dir = await tempDir('shiftbench-logline-');
    const file = path.join(dir, 'det.jsonl');
    const a = record(1, [2, 0, 1]) as Extract<ImageRecord, { shifts: unknown }>;
    const b = record(2, [1, 1, 1]) as Extract<ImageRecord, { shifts: unknown }>;
    const { shifts: bShifts, ...bHeader } = b;
    const c = record(3, [0, 3, 0]);
    const lines = [
      JSON.stringify(a),
      JSON.stringify({ shifts: bShifts, ...bHeader }), // other key order
      JSON.stringify(c).replace('[[[', '[[[null,'), // a null the run never writes: still a record
      JSON.stringify({ imageId: 4, skipped: 'could not decode' }),
    ];
    await writeFile(file, lines.join('\n') + '\n');
    const { log, stored, tornBytes } = await DetectionLog.open(file, SHIFTS);
    await log.close();
    expect(tornBytes).toBe(0);
    let offset = 0;
    const at = lines.map((l) => {
      const o = { offsetBytes: offset, lineBytes: Buffer.byteLength(l) };
      offset += Buffer.byteLength(l) + 1;
      return o;
    });
    expect([...stored.values()]).toEqual([
      { imageId: 1, sha256: a.sha256, seconds: 0.25, size: [640, 480], detections: 3, ...at[0] },
      { imageId: 2, sha256: b.sha256, seconds: 0.25, size: [640, 480], detections: 3, ...at[1] },
      {
        imageId: 3,
        sha256: (c as { sha256: string }).sha256,
        seconds: 0.25,
        size: [640, 480],
        detections: 3,
        ...at[2],
      },
      { imageId: 4, skipped: 'could not decode' },
    ]);

    const good = JSON.stringify(record(9, [1, 1, 1]));
    for (const damage of [(t: string) => t.replace('0.125', '0..125'), (t: string) => t.replace(',7]', ',,7]')]) {
      const middle = path.join(dir, 'middle.jsonl');
      await writeFile(middle, [good, damage(JSON.stringify(record(10, [2, 2, 2]))), good].join('\n') + '\n');
      await expect(DetectionLog.open(middle, SHIFTS)).rejects.toMatchObject({
        code: 'ERR_RUN_STORE',
        message: expect.stringMatching(/line 2 is damaged/),
      });
      const last = path.join(dir, 'last.jsonl');
      const bad = damage(JSON.stringify(record(10, [2, 2, 2])));
      await writeFile(last, good + '\n' + bad + '\n');
      const opened = await DetectionLog.open(last, SHIFTS);
      await opened.log.close();
      expect([...opened.stored.keys()]).toEqual([9]);
      expect(opened.tornBytes).toBe(Buffer.byteLength(bad) + 1);
    }
  });
});
