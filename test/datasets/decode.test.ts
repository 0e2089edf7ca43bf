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
/** A PNG of one row of `width` pixels: IHDR with `bitDepth` and `colourType`, the row's bytes, optional chunks. */
function png(width: number, bitDepth: number, colourType: number, row: Buffer, extra: Buffer[] = []): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(1, 4);
  ihdr[8] = bitDepth;
  ihdr[9] = colourType;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    ...extra,
    chunk('IDAT', deflateSync(Buffer.concat([Buffer.from([0]), row]))), // filter 0, then the row
    chunk('IEND', Buffer.alloc(0)),
  ]);
}
/** An 8-bit RGB PNG of one row holding exactly `rgb`, with `icc` embedded as its colour profile (iCCP). */
function rgbPngWithProfile(rgb: number[], icc: Buffer): Buffer {
  const iccp = Buffer.concat([Buffer.from('profile\0', 'latin1'), Buffer.from([0]), deflateSync(icc)]);
  return png(rgb.length / 3, 8, 2, Buffer.from(rgb), [chunk('iCCP', iccp)]);
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

describe('decodeImage: bit depths, palettes and alpha (as datasets/README.md states them)', () => {
  it('16-bit RGB and greyscale keep their high byte; alpha is dropped, not composited; palettes give their colours', async () => {
    const be16 = (values: number[]) => Buffer.from(values.flatMap((v) => [v >> 8, v & 0xff]));
    const rgb16 = path.join(tmp, 'rgb16.png');
    await writeFile(rgb16, png(2, 16, 2, be16([65535, 32768, 257, 0, 1000, 60000])));
    expect((await sharp(rgb16).metadata()).depth).toBe('ushort');
    // 1000 >> 8 = 3, 60000 >> 8 = 234 (PIL and OpenCV read 16-bit PNGs so too)
    expect(Array.from((await decodeImage(rgb16)).data)).toEqual([255, 128, 1, 0, 3, 234]);

    const grey16 = path.join(tmp, 'grey16.png');
    await writeFile(grey16, png(2, 16, 0, be16([65535, 32768])));
    expect(Array.from((await decodeImage(grey16)).data)).toEqual([255, 255, 255, 128, 128, 128]);

    // 2-bit greyscale 0..3 is 0, 85, 170, 255
    const grey2 = path.join(tmp, 'grey2.png');
    await writeFile(grey2, png(4, 2, 0, Buffer.from([0b00011011])));
    expect(Array.from((await decodeImage(grey2)).data)).toEqual([0, 0, 0, 85, 85, 85, 170, 170, 170, 255, 255, 255]);

    // the colour under a fully transparent pixel is kept (PIL's convert('RGB'), OpenCV's IMREAD_COLOR do the same)
    const rgba = path.join(tmp, 'rgba.png');
    await sharp(Buffer.from([200, 100, 50, 0, 10, 20, 30, 128]), { raw: { width: 2, height: 1, channels: 4 } })
      .png()
      .toFile(rgba);
    expect(Array.from((await decodeImage(rgba)).data)).toEqual([200, 100, 50, 10, 20, 30]);

    const palette = path.join(tmp, 'palette.png');
    await sharp(Buffer.from([200, 100, 50, 10, 20, 30, 200, 100, 50]), { raw: { width: 3, height: 1, channels: 3 } })
      .png({ palette: true, colours: 4, dither: 0 })
      .toFile(palette);
    expect((await sharp(palette).metadata()).isPalette).toBe(true);
    expect(Array.from((await decodeImage(palette)).data)).toEqual([200, 100, 50, 10, 20, 30, 200, 100, 50]);
  });
});
