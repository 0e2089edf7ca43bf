/**
 * README: "at most 256 MB of inputs waiting" for the detector. The detect loop takes the next group of images from the
 * queue as soon as it starts detecting the current one (runDetectLoop), so what waits is that group plus the `depth`
 * images prepared ahead and not taken: the two together must fit PREPARE_QUEUE_BYTES whenever one more image than a
 * group fits at all.
 */
import { describe, expect, it } from 'vitest';
import type { DatasetImage } from '../../src/core/types.js';
import { PREPARE_QUEUE_BYTES, openPreparedImages } from '../../src/runner/prepare.js';
import { parseShiftSet, type ShiftedInputOptions } from '../../src/shifts/index.js';

const images: DatasetImage[] = Array.from({ length: 40 }, (_, k) => ({
  id: k + 1,
  fileName: `${k + 1}.png`,
  path: `/nonexistent/${k + 1}.png`,
  width: 10,
  height: 10,
}));

function opts(side: number, shifts: string): ShiftedInputOptions {
  return {
    inputSizePx: { width: side, height: side },
    fit: 'letterbox',
    padValue: [114, 114, 114],
    mode: 'pad',
    shiftSet: parseShiftSet(shifts),
  };
}

describe('prepare queue depth', () => {
  for (const [side, shifts, group] of [
    [1024, 'grid:3', 1], // 16 × 3 MB = 50 MB per image
    [1280, 'grid:1', 4], // 4 × 4.9 MB = 20 MB per image, a group of 4 (batch 16)
    [640, 'grid:1', 8],
    [320, '0,0;1,0', 16],
    [640, 'grid:3', 1],
  ] as const) {
    it(`the group taken and the images ahead fit 256 MB (${side} px, ${shifts}, groups of ${group})`, async () => {
      const inputOpts = opts(side, shifts);
      const bytes = side * side * 3 * inputOpts.shiftSet.shifts.length;
      const q = openPreparedImages({
        images,
        inputOpts,
        decode: async () => {
          throw new Error('not decoded here'); // a skipped image: nothing is made
        },
        builtInDecode: false,
        workers: 0,
        minDepth: group,
      });
      await q.close();
      expect(q.depth).toBeGreaterThanOrEqual(1);
      expect((q.depth + group) * bytes).toBeLessThanOrEqual(PREPARE_QUEUE_BYTES);
    });
  }

  it('an image larger than the budget: one image ahead of the group taken (no more is possible)', async () => {
    const q = openPreparedImages({
      images,
      inputOpts: opts(1024, 'grid:9'), // 100 × 3 MB
      decode: async () => {
        throw new Error('not decoded here');
      },
      builtInDecode: false,
      workers: 0,
      minDepth: 1,
    });
    await q.close();
    expect(q.depth).toBe(1);
  });
});
