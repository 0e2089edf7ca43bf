import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ShiftbenchError } from '../../src/core/errors.js';
import type { CocoGroundTruth, CocoResult } from '../../src/core/types.js';
import {
  ShiftEvaluator,
  evaluateCoco,
  greedyBounds,
  greedyBoundsParallel,
  parseBoundsCase,
  prepareBounds,
} from '../../src/metrics/index.js';
import { REPO_ROOT } from '../helpers/shared.js';

const gt: CocoGroundTruth = JSON.parse(
  readFileSync(path.join(REPO_ROOT, 'test/fixtures/metrics/case1_gt.json'), 'utf8'),
);
const dets: CocoResult[] = JSON.parse(
  readFileSync(path.join(REPO_ROOT, 'test/fixtures/metrics/case1_dets.json'), 'utf8'),
);

function thrown(fn: () => unknown): ShiftbenchError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ShiftbenchError);
    return e as ShiftbenchError;
  }
  throw new Error('expected a throw');
}

describe('bad input to the metrics', () => {
  it('detections naming unknown image ids: lists the first few', () => {
    const bad = [...dets, ...[5, 6, 7, 8, 9, 10].map((id) => ({ ...dets[0], image_id: id }))];
    const e = thrown(() => evaluateCoco(gt, bad));
    expect(e.code).toBe('ERR_METRICS_INPUT');
    expect(e.message).toBe(
      "Detections name image ids that are not in the ground truth: 5, 6, 7, 8, 9 (and 1 more). Every image_id must be one of the ground truth's images.",
    );
  });
  it('non-finite numbers', () => {
    const e = thrown(() => evaluateCoco(gt, [{ ...dets[0], score: NaN }]));
    expect(e.code).toBe('ERR_METRICS_INPUT');
    expect(e.message).toBe('Expected a finite number for detections[0].score but received NaN');
    const e2 = thrown(() => evaluateCoco(gt, [{ ...dets[0], bbox: [0, 0, Infinity, 1] }]));
    expect(e2.message).toBe(
      'Expected [x, y, width, height] of finite numbers for detections[0].bbox but received [0, 0, Infinity, 1]',
    );
    const g = structuredClone(gt);
    g.annotations[0].area = null as unknown as number;
    expect(thrown(() => evaluateCoco(g, dets)).message).toBe(
      'Expected a finite number for ground truth.annotations[0].area but received null',
    );
  });
  it('malformed ground truth', () => {
    const e = thrown(() => evaluateCoco({ images: [] } as unknown as CocoGroundTruth, []));
    expect(e.message).toBe(
      'Expected an object with "images", "annotations" and "categories" arrays for ground truth but received {"images":[]}',
    );
  });
  it('no detections at all: AP 0 for categories with gt, −1 without (as pycocotools)', () => {
    const r = evaluateCoco(gt, []);
    expect(r.stats[0]).toBe(0);
    expect(r.perCategoryAP['4']).toBe(0);
    expect(r.perCategoryAP['13']).toBe(-1);
    expect(r.stats[3]).toBe(-1); // no small gt
  });
  it('ShiftEvaluator.process: a category id its store cannot hold exactly is refused, not silently renamed', async () => {
    const shifts = [
      { dx: 0, dy: 0 },
      { dx: 1, dy: 0 },
    ];
    const box = { image_id: 1, bbox: [0, 0, 10, 10] as [number, number, number, number], score: 0.9 };
    // categories 1 and 1.5 (or 2^32 + 1) are different classes: the same box in both is no match
    for (const other of [1.5, 2 ** 32 + 1]) {
      const ev = new ShiftEvaluator({ shifts, groundTruth: null, bootstrapResamples: 10 });
      ev.process({ imageId: 1, shiftIndex: 0, inputScale: { x: 1, y: 1 } }, [{ ...box, category_id: 1 }]);
      const e = thrown(() =>
        ev.process({ imageId: 1, shiftIndex: 1, inputScale: { x: 1, y: 1 } }, [{ ...box, category_id: other }]),
      );
      expect(e.code).toBe('ERR_METRICS_INPUT');
      expect(e.message).toBe(
        `Expected an integer category_id in [-2147483648, 2147483647] for detection 0 of image 1 at shift 1 but received ${other}`,
      );
    }
  });
  it('a bounds case whose dets count differs from its shifts count', () => {
    const e = thrown(() =>
      greedyBounds({
        gt,
        shifts: [
          { dx: 0, dy: 0 },
          { dx: 1, dy: 0 },
        ],
        dets: [dets],
      }),
    );
    expect(e.code).toBe('ERR_METRICS_INPUT');
    expect(e.message).toBe('Expected one detection list per shift (2) for dets but received 1');
  });
  it('bad greedy options are refused by name, not a TypeError from inside the search', async () => {
    const c = {
      gt,
      shifts: [
        { dx: 0, dy: 0 },
        { dx: 1, dy: 0 },
      ],
      dets: [dets, dets],
    };
    const cases: [unknown, string, string][] = [
      [{ objective: 'bogus' }, 'objective', 'Expected one of ap, ap50, ap75 for objective but received "bogus"'],
      [{ onProgress: 5 }, 'onProgress', 'Expected a function for onProgress but received 5'],
      [null, 'options', 'Expected an object of greedy options for options but received null'],
    ];
    for (const [opts, name, message] of cases) {
      const e = thrown(() => greedyBounds(c, opts as never));
      expect(e.code, name).toBe('ERR_INVALID_OPTION');
      expect(e.message, name).toBe(message);
      const p = await greedyBoundsParallel(prepareBounds(c), 5, { ...(opts as object), workers: false }).catch(
        (err: unknown) => err,
      );
      if (opts !== null) expect((p as Error).message, name).toBe(message);
    }
    const w = await greedyBoundsParallel(prepareBounds(c), 5, { workers: 'yes' as never }).catch((err) => err);
    expect(w.message).toBe('Expected true, false or "auto" for workers but received "yes"');
    const m = await greedyBoundsParallel(prepareBounds(c), 0).catch((err) => err);
    expect(m.message).toBe('Expected an integer ≥ 1 for maxPasses but received 0');
  });
  it('a bounds case with bad shifts or per-shift gt count', () => {
    expect(thrown(() => parseBoundsCase({ gt, shifts: [[0]], dets: [dets] })).message).toBe(
      'Expected [dx, dy] or {dx, dy} for shifts[0] but received [0]',
    );
    expect(
      thrown(() =>
        greedyBounds({
          gt: [gt],
          shifts: [
            { dx: 0, dy: 0 },
            { dx: 1, dy: 1 },
          ],
          dets: [dets, dets],
        }),
      ).message,
    ).toBe('Expected one ground truth per shift (2) for gt but received 1');
    expect(thrown(() => greedyBounds({ gt, shifts: [{ dx: 0, dy: 0 }], dets: [dets], maxPasses: 0 })).message).toBe(
      'Expected an integer ≥ 1 for maxPasses but received 0',
    );
  });
  it('a bounds case must start at the reference shift (0,0) and list each shift once (protocol §4)', () => {
    expect(
      thrown(() =>
        greedyBounds({
          gt,
          shifts: [
            { dx: 1, dy: 0 },
            { dx: 0, dy: 0 },
          ],
          dets: [dets, dets],
        }),
      ).message,
    ).toBe('Expected the reference shift {dx: 0, dy: 0} for shifts[0] but received {dx: 1, dy: 0}');
    expect(
      thrown(() =>
        parseBoundsCase({
          gt,
          shifts: [
            [0, 0],
            [1, 0],
            [1, 0],
          ],
          dets: [dets, dets, dets],
        }),
      ).message,
    ).toBe('Expected each shift once for shifts but shifts[2] repeats shifts[1] {dx: 1, dy: 0}');
  });
  it('per-shift detections naming unknown images name the shift', () => {
    const e = thrown(() =>
      greedyBounds({
        gt,
        shifts: [
          { dx: 0, dy: 0 },
          { dx: 1, dy: 0 },
        ],
        dets: [dets, [{ ...dets[0], image_id: 4 }]],
      }),
    );
    expect(e.message).toBe(
      "Detections of shift 1 name image ids that are not in the ground truth: 4. Every image_id must be one of the ground truth's images.",
    );
  });
  it('ShiftEvaluator refuses null or non-object options by name, not with a TypeError', () => {
    for (const opts of [null, 'grid:1']) {
      const e = thrown(() => new ShiftEvaluator(opts as never));
      expect(e.code).toBe('ERR_METRICS_INPUT');
      expect(e.message).toMatch(
        /^Expected an object of evaluator options .* for ShiftEvaluator but received (null|"grid:1")$/,
      );
    }
  });
  it('ShiftEvaluator rejects an (image, shift) given twice and bad shift indices', () => {
    const ev = new ShiftEvaluator({
      shifts: [
        { dx: 0, dy: 0 },
        { dx: 1, dy: 0 },
      ],
      groundTruth: gt,
    });
    ev.process({ imageId: 1000, shiftIndex: 0, inputScale: { x: 1, y: 1 } }, []);
    expect(thrown(() => ev.process({ imageId: 1000, shiftIndex: 0, inputScale: { x: 1, y: 1 } }, [])).message).toBe(
      'Image 1000 at shift 0 was already processed; each (image, shift) must be given once',
    );
    expect(thrown(() => ev.process({ imageId: 1000, shiftIndex: 2, inputScale: { x: 1, y: 1 } }, [])).message).toBe(
      'Expected a shift index in [0, 1] but received 2',
    );
  });
});
