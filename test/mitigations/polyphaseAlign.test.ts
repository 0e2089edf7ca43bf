import { describe, expect, it } from 'vitest';
import type { Detection, RgbImage } from '../../src/core/types.js';
import { choosePhase, parseMitigation, phaseEnergies, polyphaseAlign } from '../../src/mitigations/index.js';
import { translateRgb } from '../../src/shifts/translate.js';
import { fakeDetector, randomImage } from './fakes.js';

const P = 4;
const SIZE = 32;

/** A stride-P "network": it sees only the samples at (kP, lP) and reports the two brightest as P×P boxes. */
function strideP(img: RgbImage): Detection[] {
  const cells: { x: number; y: number; v: number }[] = [];
  for (let y = 0; y < img.height; y += P) {
    for (let x = 0; x < img.width; x += P) {
      const i = (y * img.width + x) * 3;
      cells.push({ x, y, v: img.data[i] * 65536 + img.data[i + 1] * 256 + img.data[i + 2] });
    }
  }
  cells.sort((a, b) => b.v - a.v);
  return cells.slice(0, 2).map((c) => ({ bbox: [c.x, c.y, P, P], score: c.v / 16777216, categoryId: 1 }));
}

/** Detections on the input shifted by (dx, dy), in the unshifted image's coordinates (wrapped onto the canvas). */
const back = (dets: Detection[], dx: number, dy: number) =>
  dets.map((d) => [(((d.bbox[0] - dx) % SIZE) + SIZE) % SIZE, (((d.bbox[1] - dy) % SIZE) + SIZE) % SIZE, d.score]);

describe('polyphase-align', () => {
  it('phase energies permute exactly under a circular shift', () => {
    const img = randomImage(SIZE, SIZE, 7);
    const e0 = phaseEnergies(img, P, true);
    const e1 = phaseEnergies(translateRgb(img, 1, 2, 'circular'), P, true);
    for (let py = 0; py < P; py++)
      for (let px = 0; px < P; px++) expect(e1[((py + 2) % P) * P + ((px + 1) % P)]).toBe(e0[py * P + px]);
    const p0 = choosePhase(img, P, true);
    expect(choosePhase(translateRgb(img, 1, 2, 'circular'), P, true)).toEqual({
      px: (p0.px + 1) % P,
      py: (p0.py + 2) % P,
    });
  });

  it('makes a stride-P detector exactly invariant to every circular shift; without it the detector is not', async () => {
    for (const seed of [1, 2, 3]) {
      const img = randomImage(SIZE, SIZE, seed);
      const plain = fakeDetector(strideP);
      const aligned = polyphaseAlign(P).wrap(fakeDetector(strideP), { mode: 'circular' });
      const ref = back((await aligned.detect([img]))[0], 0, 0);
      const plainRef = back((await plain.detect([img]))[0], 0, 0);
      let plainDiffers = 0;
      for (let dy = 0; dy < 2 * P; dy++) {
        for (let dx = 0; dx < 2 * P; dx++) {
          const shifted = translateRgb(img, dx, dy, 'circular');
          expect(back((await aligned.detect([shifted]))[0], dx, dy)).toEqual(ref);
          if (JSON.stringify(back((await plain.detect([shifted]))[0], dx, dy)) !== JSON.stringify(plainRef))
            plainDiffers++;
        }
      }
      // the plain detector only agrees with itself on shifts that are multiples of P
      expect(plainDiffers).toBeGreaterThanOrEqual(4 * P * P - 4 - 4);
    }
  });

  it('takes P from the detector, or says how to give it', () => {
    const m = parseMitigation('polyphase-align');
    expect(m.wrap(fakeDetector(strideP, { totalStridePx: 16 }), { mode: 'pad' }).info.details).toMatchObject({
      polyphaseStridePx: 16,
    });
    expect(() => m.wrap(fakeDetector(strideP), { mode: 'pad' })).toThrow(
      'Detector "fake" does not declare its total stride, so polyphase-align needs one: use polyphase-align:<P>, e.g. polyphase-align:32',
    );
  });

  it('P = 1 is the identity', async () => {
    const img = randomImage(SIZE, SIZE, 9);
    const out = await polyphaseAlign(1).wrap(fakeDetector(strideP), { mode: 'circular' }).detect([img]);
    expect(out[0]).toEqual(strideP(img));
  });
});
