import { describe, expect, it } from 'vitest';
import { Registry, Rng, ShiftbenchError, invalidParameterError, loadError } from '../src/core/index.js';
import type { RgbImage } from '../src/core/types.js';
import { translateRgb } from '../src/shifts/translate.js';

describe('core', () => {
  it('Rng is deterministic per seed and differs across seeds', () => {
    const a = new Rng(7),
      b = new Rng(7),
      c = new Rng(8);
    const sa = [a.next(), a.next(), a.next()];
    expect([b.next(), b.next(), b.next()]).toEqual(sa);
    expect(c.next()).not.toBe(sa[0]);
    for (const v of sa) expect(v >= 0 && v < 1).toBe(true);
  });

  it('Registry errors name the registry and list what it holds', () => {
    const r = new Registry<number>('detector').register('b', 2).register('a', 1);
    expect(r.get('a')).toBe(1);
    expect(() => r.get('zz')).toThrowError('Unknown detector "zz". Available: a, b');
    try {
      r.get('zz');
    } catch (e) {
      expect((e as ShiftbenchError).code).toBe('ERR_INVALID_OPTION');
    }
  });

  it('error helpers read the same everywhere', () => {
    expect(invalidParameterError('--limit', 'a positive integer', -3).message).toBe(
      'Expected a positive integer for --limit but received -3',
    );
    const e = loadError('ERR_MODEL_LOAD', 'model "x"', ['run `shiftbench models pull x`'], new Error('ENOENT'));
    expect(e.message).toBe('Could not load model "x". ENOENT\nPossible solutions:\n- run `shiftbench models pull x`');
  });
});

describe('translateRgb', () => {
  const img = { width: 3, height: 2, data: Uint8Array.from({ length: 18 }, (_, i) => i) };
  const px = (im: RgbImage, x: number, y: number) =>
    Array.from(im.data.subarray((y * im.width + x) * 3, (y * im.width + x) * 3 + 3));
  it('pad moves content and fills with the pad value', () => {
    const t = translateRgb(img, 1, 1, 'pad', [9, 9, 9]);
    expect(px(t, 0, 0)).toEqual([9, 9, 9]);
    expect(px(t, 1, 1)).toEqual(px(img, 0, 0));
    expect(px(t, 2, 1)).toEqual(px(img, 1, 0));
    const back = translateRgb(img, -1, 0, 'pad');
    expect(px(back, 0, 0)).toEqual(px(img, 1, 0));
    expect(px(back, 2, 0)).toEqual([0, 0, 0]);
  });
  it('circular wraps and is undone by the opposite roll', () => {
    const t = translateRgb(img, 2, 1, 'circular');
    expect(px(t, 2, 1)).toEqual(px(img, 0, 0));
    expect(px(t, 0, 0)).toEqual(px(img, 1, 1));
    expect(translateRgb(t, -2, -1, 'circular').data).toEqual(img.data);
  });
});
