/** Detector keys name files in a run directory: two keys must never share one (results would mix). */
import { describe, expect, it } from 'vitest';
import { keyFileName, safeFileName } from '../../src/core/fileNames.js';

describe('keyFileName', () => {
  it('a key that is already a safe file name is its own file name', () => {
    for (const key of ['jitter', 'zoo-fcos', 'centernet', 'model.v2', 'a+b', 'x@1']) expect(keyFileName(key)).toBe(key);
  });

  it('keys that the lossy safe form maps to one name get different names (characters replaced, length cut)', () => {
    expect(safeFileName('a/b')).toBe(safeFileName('a_b'));
    expect(keyFileName('a/b')).not.toBe(keyFileName('a_b'));
    expect(keyFileName('x:a/b')).not.toBe(keyFileName('x:a_b'));
    const long = 'm+shift-ensemble:' + '0,0;'.repeat(40);
    expect(safeFileName(`${long}1,0`)).toBe(safeFileName(`${long}0,1`));
    expect(keyFileName(`${long}1,0`)).not.toBe(keyFileName(`${long}0,1`));
  });

  it('the name is safe, at most 120 characters, and the same for the same key', () => {
    for (const key of ['a/b', '..hidden', 'zoo-fcos+input-blur:1', 'k'.repeat(500), 'ünï/cødé']) {
      const name = keyFileName(key);
      expect(name).toMatch(/^[A-Za-z0-9_+=@-][A-Za-z0-9._+=@-]*$/);
      expect(name.length).toBeLessThanOrEqual(120);
      expect(keyFileName(key)).toBe(name);
    }
  });
});
