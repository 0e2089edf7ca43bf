/** The answers of a plain HTTP detector (`POST PATH` → `{ detections }`), validated before anything is stored. */
import { describe, expect, it } from 'vitest';
import { ShiftbenchError } from '../../../src/core/errors.js';
import { parsePlainHttpDetections, parsePlainHttpInfo } from '../../../src/detectors/http/plainHttp.js';

const WHAT = 'POST http://127.0.0.1:9000/detect';
const CLASSES = new Set([1, 3]);

function refusal(json: unknown): ShiftbenchError {
  try {
    parsePlainHttpDetections(json, CLASSES, WHAT);
  } catch (err) {
    return err as ShiftbenchError;
  }
  throw new Error('expected a refusal');
}

describe('plain HTTP detections', () => {
  it('reads { detections: [{ bbox, score, category_id }] } as given (a zero-size box included)', () => {
    const json = JSON.parse(
      '{"detections":[{"bbox":[1.5,2,10,20],"score":0.9,"category_id":3},{"bbox":[4,4,0,0],"score":0.1,"category_id":1}]}',
    );
    expect(parsePlainHttpDetections(json, CLASSES, WHAT)).toEqual([
      { bbox: [1.5, 2, 10, 20], score: 0.9, categoryId: 3 },
      { bbox: [4, 4, 0, 0], score: 0.1, categoryId: 1 },
    ]);
  });

  it('refuses a box with a negative width or height, naming the URL and the detection', () => {
    for (const bbox of [
      [10, 10, -5, 20],
      [10, 10, 5, -0.5],
    ]) {
      const err = refusal({
        detections: [
          { bbox: [0, 0, 1, 1], score: 1, category_id: 1 },
          { bbox, score: 0.5, category_id: 1 },
        ],
      });
      expect(err).toBeInstanceOf(ShiftbenchError);
      expect(err.code).toBe('ERR_MODEL_OUTPUT');
      expect(err.message).toContain(`${WHAT}: detections[1].bbox [${bbox.join(', ')}] has a negative width or height`);
      expect(err.message).toContain('"bbox": [x, y, w, h]');
    }
  });

  it('refuses an overflow to Infinity, a class id that is not an integer or not one of the classes', () => {
    const cases: [unknown, RegExp][] = [
      [
        JSON.parse('{"detections":[{"bbox":[0,0,1e999,1],"score":0.5,"category_id":1}]}'),
        /bbox is not 4 finite numbers/,
      ],
      [{ detections: [{ bbox: [0, 0, 1, 1], score: 0.5, category_id: 1.5 }] }, /category_id 1\.5 is not one of/],
      [{ detections: [{ bbox: [0, 0, 1, 1], score: 0.5, category_id: 2 }] }, /category_id 2 is not one of/],
      [{ detections: [{ bbox: [0, 0, 1, 1], score: 0.5, category_id: '1' }] }, /category_id "1" is not one of/],
    ];
    for (const [json, text] of cases) {
      const err = refusal(json);
      expect(err.code).toBe('ERR_MODEL_OUTPUT');
      expect(err.message).toContain(WHAT);
      expect(err.message).toMatch(text);
    }
  });
  it('refuses a score outside [0, 1] (a logit or a percentage), as the plug-in and export paths do', () => {
    for (const score of [1.5, -0.2, 87, 1e-9 - 1]) {
      const err = refusal({
        detections: [
          { bbox: [0, 0, 1, 1], score: 1, category_id: 1 },
          { bbox: [0, 0, 1, 1], score: 0, category_id: 3 },
          { bbox: [2, 2, 4, 4], score, category_id: 1 },
        ],
      });
      expect(err.code).toBe('ERR_MODEL_OUTPUT');
      expect(err.message).toContain(`${WHAT}: detections[2].score ${score} is not a number in [0, 1]`);
    }
  });
});

describe('plain HTTP info', () => {
  const URL = 'http://127.0.0.1:9000/detect';
  const info = (classes: unknown) => ({
    family: { stages: 'one-stage', anchors: 'anchor-free' },
    inputSizePx: { width: 64, height: 48 },
    classes,
    fit: 'letterbox',
    padValue: [114, 114, 114],
  });
  it('takes classes with distinct 32-bit integer ids, as a registry entry does', () => {
    const parsed = parsePlainHttpInfo(
      info([
        { id: 0, name: 'a' },
        { id: 2147483647, name: 'b' },
      ]),
      URL,
    );
    expect(parsed.classes).toEqual([
      { id: 0, name: 'a' },
      { id: 2147483647, name: 'b' },
    ]);
    expect(parsed.name).toBe(URL);
  });
  it('refuses at load a class id beyond 32 bits (every detection of it would fail the run) or an id listed twice', () => {
    for (const classes of [
      [{ id: 2147483648, name: 'a' }],
      [
        { id: 1, name: 'a' },
        { id: 1, name: 'b' },
      ],
    ]) {
      let err: ShiftbenchError | undefined;
      try {
        parsePlainHttpInfo(info(classes), URL);
      } catch (e) {
        err = e as ShiftbenchError;
      }
      expect(err, JSON.stringify(classes)).toBeInstanceOf(ShiftbenchError);
      expect(err!.code).toBe('ERR_MODEL_LOAD');
      expect(err!.message).toContain(`GET ${URL}: expected`);
      expect(err!.message).toContain('for classes but received');
    }
  });
});
