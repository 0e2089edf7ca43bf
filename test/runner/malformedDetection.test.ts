/**
 * A detector (a served model's decoder, a plug-in) that returns a non-finite number: the run's error shows the value
 * as it came (Infinity, NaN), not as JSON's null, and names the detector; nothing of the image is stored.
 */
import { describe, expect, it } from 'vitest';
import { ShiftbenchError } from '../../src/core/errors.js';
import type { DatasetImage, Detection, Detector } from '../../src/core/types.js';
import { runDetectLoop } from '../../src/runner/detectLoop.js';
import type { DetectionLog } from '../../src/runner/store.js';
import { parseShiftSet } from '../../src/shifts/index.js';
import { fakeInfo } from './fixtures.js';

const image: DatasetImage = { id: 7, fileName: '7.png', path: '/nonexistent/7.png', width: 16, height: 16 };

function detector(d: Detection): Detector {
  return {
    info: fakeInfo('served-x', { inputSizePx: { width: 16, height: 16 }, classes: [{ id: 1, name: 'a' }] }),
    detect: async (batch) => batch.map(() => [d]),
    dispose: async () => undefined,
  };
}

/** Runs one image (sizePx square, the detector's input 16 px) through the detect loop; its error and what was stored. */
async function runOne(
  d: Detection,
  sizePx: number,
): Promise<{ err: ShiftbenchError | undefined; appended: unknown[] }> {
  const appended: unknown[] = [];
  const log = { append: async (r: unknown) => void appended.push(r), sync: async () => undefined };
  let err: ShiftbenchError | undefined;
  try {
    await runDetectLoop({
      detector: detector(d),
      images: [{ ...image, width: sizePx, height: sizePx }],
      shiftSet: parseShiftSet('grid:1'),
      mode: 'pad',
      kernel: 'linear',
      batchSize: 4,
      decode: async () => ({ width: sizePx, height: sizePx, data: new Uint8Array(sizePx * sizePx * 3).fill(100) }),
      log: log as unknown as DetectionLog,
      prepareWorkers: 0,
      onRecord: () => undefined,
    });
  } catch (e) {
    err = e as ShiftbenchError;
  }
  return { err, appended };
}

describe('a malformed detection ends the run with the value as it came', () => {
  for (const [d, shown] of [
    [{ bbox: [1, 2, 3, Infinity], score: 0.5, categoryId: 1 }, '"bbox":[1,2,3,Infinity]'],
    [{ bbox: [1, 2, 3, 4], score: NaN, categoryId: 1 }, '"score":NaN'],
    [{ bbox: [1, 2, 3, 4], score: -Infinity, categoryId: 1 }, '"score":-Infinity'],
  ] as [Detection, string][]) {
    it(shown, async () => {
      const { err, appended } = await runOne(d, 16);
      expect(err).toBeInstanceOf(ShiftbenchError);
      expect(err!.code).toBe('ERR_MODEL_OUTPUT');
      expect(err!.message).toContain('Detector "served-x" returned a malformed detection');
      expect(err!.message).toContain(shown);
      expect(appended).toEqual([]);
    });
  }
});

describe('a detection too large to project back to the original image', () => {
  it('ends the run naming the detector and the box, and stores nothing of the image (no null in the log)', async () => {
    // finite in the 16-px input, but ×4 back to the 64-px photo it is beyond any double: JSON would store null
    const d: Detection = { bbox: [1, 2, 3, 1e308], score: 0.5, categoryId: 1 };
    const { err, appended } = await runOne(d, 64);
    expect(appended).toEqual([]);
    expect(err).toBeInstanceOf(ShiftbenchError);
    expect(err!.code).toBe('ERR_MODEL_OUTPUT');
    expect(err!.message).toContain('Detector "served-x" returned a detection');
    expect(err!.message).toContain('"bbox":[1,2,3,1e+308]');
  });
});
