import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeImage } from '../../src/datasets/decode.js';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'shiftbench-decode-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(bytes: Buffer): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([head, body, crc]);
}
/** An 8-bit RGB PNG of one row holding exactly `rgb`, with `icc` embedded as its colour profile (iCCP). */
function rgbPngWithProfile(rgb: number[], icc: Buffer): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(rgb.length / 3, 0);
  ihdr.writeUInt32BE(1, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type RGB
  const iccp = Buffer.concat([Buffer.from('profile\0', 'latin1'), Buffer.from([0]), deflateSync(icc)]);
  const idat = deflateSync(Buffer.from([0, ...rgb])); // filter 0, then the row
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('iCCP', iccp),
    chunk('IDAT', idat),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

describe('decodeImage: embedded colour profiles', () => {
  it('gives the stored RGB values of an image tagged Display P3, as PIL, OpenCV and torchvision read them (the profile is not applied)', async () => {
    // a Display P3 profile (libvips' own), taken from an image sharp tags with it
    const tagged = await sharp({ create: { width: 1, height: 1, channels: 3, background: '#808080' } })
      .withIccProfile('p3')
      .png()
      .toBuffer();
    const icc = (await sharp(tagged).metadata()).icc!;
    expect(icc.subarray(16, 20).toString('latin1')).toBe('RGB ');
    const stored = [200, 100, 50, 10, 200, 30];
    const file = path.join(tmp, 'p3.png');
    await writeFile(file, rgbPngWithProfile(stored, icc));
    expect((await sharp(file).metadata()).icc).toBeDefined();
    const decoded = await decodeImage(file, { width: 2, height: 1 });
    expect(Array.from(decoded.data)).toEqual(stored);
  });

  it('still converts a CMYK JPEG to RGB (a white and a black pixel stay white and black)', async () => {
    const file = path.join(tmp, 'cmyk.jpg');
    await sharp(Buffer.from([255, 255, 255, 0, 0, 0]), { raw: { width: 2, height: 1, channels: 3 } })
      .toColourspace('cmyk')
      .jpeg({ quality: 100, chromaSubsampling: '4:4:4' })
      .toFile(file);
    expect((await sharp(file).metadata()).space).toBe('cmyk');
    const decoded = Array.from((await decodeImage(file)).data);
    expect(decoded).toHaveLength(6);
    for (const v of decoded.slice(0, 3)) expect(v).toBeGreaterThanOrEqual(250);
    for (const v of decoded.slice(3)) expect(v).toBeLessThanOrEqual(40);
  });
});
