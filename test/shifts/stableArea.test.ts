import { describe, expect, it } from 'vitest';
import type { CocoAnnotation, CocoResult } from '../../src/core/types.js';
import {
  boxToInput,
  detectionsInStableArea,
  fitGeometry,
  groundTruthInStableArea,
  parseShiftSet,
  projectBack,
  stableArea,
  type ShiftedInputOptions,
} from '../../src/shifts/index.js';
import { computeConsistency } from '../../src/metrics/index.js';

const size = { width: 20, height: 16 };
const opts = (mode: 'pad' | 'crop' | 'circular', shifts: string): ShiftedInputOptions => ({
  inputSizePx: size,
  fit: 'stretch',
  padValue: [0, 0, 0],
  mode,
  shiftSet: parseShiftSet(shifts),
});
const ann = (id: number, bbox: [number, number, number, number], iscrowd: 0 | 1 = 0): CocoAnnotation => ({
  id,
  image_id: 1,
  category_id: 1,
  bbox,
  area: bbox[2] * bbox[3],
  iscrowd,
});

describe('stable area (protocol §1)', () => {
  it('pad has none; crop and circular follow the formulas of §1', () => {
    expect(stableArea('pad', parseShiftSet('grid:2'), size)).toBeNull();
    expect(stableArea('crop', parseShiftSet('grid:2'), size)).toMatchObject({
      x0: 2,
      y0: 2,
      x1: 20,
      y1: 16,
      wrapPx: null,
    });
    // K is the largest offset in either axis (3): the margin is 3 in y too, while max dy is 1
    expect(stableArea('crop', parseShiftSet('0,0;3,1;1,0'), size)).toMatchObject({ x0: 3, y0: 3, x1: 20, y1: 18 });
    expect(stableArea('circular', parseShiftSet('line:3'), size)).toMatchObject({
      x0: 0,
      y0: 0,
      x1: 17,
      y1: 13,
      wrapPx: size,
    });
  });

  it('crop: ground truth cut by the window at some shift becomes a crowd region; a box on the border is inside', () => {
    // stretch 40 × 32 → (20 + 2) × (16 + 2): scale 0.55 × 0.5625; stable area [2, 20) × [2, 16)
    const g = fitGeometry(40, 32, opts('crop', 'grid:2'));
    const sx = g.scaleX,
      sy = g.scaleY;
    const anns = [
      ann(1, [2 / sx, 2 / sy, 10, 10]), // left/top edges exactly on the border: inside
      ann(2, [1 / sx, 4 / sy, 6, 6]), // starts one content px left of the area
      ann(3, [10, 10, 20 / sx - 10, 4]), // right edge exactly at x1 = 20
      ann(4, [0, 0, 2, 2], 1), // already a crowd region: kept as it is, not counted
      ann(5, [10, 10, 21 / sx - 10, 4]), // right edge past x1
    ];
    const { annotations, turnedToCrowd } = groundTruthInStableArea(
      anns,
      g.transforms[4],
      stableArea('crop', parseShiftSet('grid:2'), size),
    );
    expect(annotations.map((a) => a.iscrowd)).toEqual([0, 1, 0, 1, 1]);
    expect(turnedToCrowd).toBe(2);
    expect(annotations[1]).toEqual({ ...anns[1], iscrowd: 1 }); // box and area unchanged
    expect(annotations[0]).toBe(anns[0]);
    expect(anns[1].iscrowd).toBe(0); // never mutated
    // pad: the same array, nothing counted
    expect(groundTruthInStableArea(anns, g.transforms[0], null)).toEqual({ annotations: anns, turnedToCrowd: 0 });
  });

  it('crop: a detection is kept by its centre in content coordinates, the same decision at every shift', () => {
    const shiftSet = parseShiftSet('grid:2');
    const g = fitGeometry(40, 32, opts('crop', 'grid:2'));
    const area = stableArea('crop', shiftSet, size)!;
    // content boxes (content = input + K − dx): centre x 1.5 (out), 2 (on the border: in), 19.9 (in), 20.5 (out)
    const content: [number, number, number, number][] = [
      [0.5, 5, 2, 2],
      [1, 5, 2, 2],
      [18.9, 5, 2, 2],
      [19.5, 5, 2, 2],
    ];
    g.transforms.forEach((t, s) => {
      const { dx, dy } = shiftSet.shifts[s];
      const dets = content.map((b, i) => ({
        bbox: [b[0] - 2 + dx, b[1] - 2 + dy, b[2], b[3]] as [number, number, number, number],
        score: 0.9,
        categoryId: i,
      }));
      const { kept, dropped } = detectionsInStableArea(projectBack(dets, t, 1), t, area);
      expect(kept.map((d) => d.category_id)).toEqual([1, 2]);
      expect(dropped).toBe(2);
    });
  });

  it('circular: content that wraps is unwrapped by its centre; ground truth that would wrap at some shift is a crowd region', () => {
    const shiftSet = parseShiftSet('grid:1');
    const g = fitGeometry(40, 32, opts('circular', 'grid:1'));
    const area = stableArea('circular', shiftSet, size)!; // [0, 19) × [0, 15)
    const anns = [ann(1, [0, 0, 10, 10]), ann(2, [30, 0, 10, 10]), ann(3, [0, 20, 4, 12])];
    const { annotations, turnedToCrowd } = groundTruthInStableArea(anns, g.transforms[0], area);
    expect(annotations.map((a) => a.iscrowd)).toEqual([0, 1, 1]); // x 15…20 crosses 19; y 10…16 crosses 15
    expect(turnedToCrowd).toBe(2);
    // at shift (1, 0) an object at content x 18.5…19.5 (centre 19: inside, on the border) and its wrapped piece at input x 0…0.5
    const t = g.transforms[1];
    const piece = (b: [number, number, number, number]): CocoResult =>
      projectBack([{ bbox: b, score: 0.5, categoryId: 1 }], t, 1)[0];
    const inputOf = (content: [number, number, number, number]) =>
      boxToInput([content[0] / g.scaleX, content[1] / g.scaleY, content[2] / g.scaleX, content[3] / g.scaleY], t);
    const whole = piece(inputOf([18, 2, 2, 2])); // centre 19: inside
    const wrapped = piece([0, 2, 1, 2]); // content x −1…0 → unwrapped to 19…20, centre 19.5: outside
    const left = piece([1, 2, 2, 2]); // content x 0…2, centre 1: inside
    const { kept, dropped } = detectionsInStableArea([whole, wrapped, left], t, area);
    expect(kept).toEqual([whole, left]);
    expect(dropped).toBe(1);
  });

  it('circular: a centre below 0 is unwrapped by adding Wm (Hm) once; one at or past Wm (Hm) is never wrapped back, so it is dropped (protocol §1)', () => {
    const shiftSet = parseShiftSet('grid:1');
    const g = fitGeometry(40, 32, opts('circular', 'grid:1')); // scale 0.5
    const area = stableArea('circular', shiftSet, size)!; // [0, 19) × [0, 15)
    // content box [0, 2, 4, 2] (centre x 2: inside); at shift dx the input shows it at x = dx; a box one period to
    // the left (centre below 0) is unwrapped to it; one period to the right (centre ≥ Wm: a detector predicting past
    // its input) or two to the left stays outside the stable area and is dropped
    for (const [s, t] of g.transforms.entries()) {
      const { dx, dy } = shiftSet.shifts[s];
      for (const x of [dx, dx - 20]) {
        const det = projectBack([{ bbox: [x, 2 + dy, 4, 2], score: 0.5, categoryId: 1 }], t, 1);
        const { kept, dropped } = detectionsInStableArea(det, t, area);
        expect(dropped, `shift ${dx},${dy} x ${x}`).toBe(0);
        expect(kept[0].bbox).toEqual([0, 4, 8, 4]);
      }
      for (const x of [dx + 20, dx - 40]) {
        const det = projectBack([{ bbox: [x, 2 + dy, 4, 2], score: 0.5, categoryId: 1 }], t, 1);
        expect(detectionsInStableArea(det, t, area).dropped, `shift ${dx},${dy} x ${x}`).toBe(1);
      }
      // a box centred at content x 19.5 (outside: the period's last column) is dropped in every representation
      for (const x of [17.5 + dx, 17.5 + dx - 20]) {
        const det = projectBack([{ bbox: [x, 2 + dy, 4, 2], score: 0.5, categoryId: 1 }], t, 1);
        expect(detectionsInStableArea(det, t, area).dropped).toBe(1);
      }
    }
    // the audit's case: a 100 × 100 input, grid:1 (stable x ∈ [0, 99)), an input box [97, 50, 6, 6] at (0, 0) has
    // its centre at 100: dropped; at (1, 0) its content centre is 99 − … on the border: kept at [96, 50, 6, 6]
    const one = { width: 100, height: 100 };
    const g1 = fitGeometry(100, 100, { ...opts('circular', '0,0;1,0'), inputSizePx: one });
    const a1 = stableArea('circular', parseShiftSet('0,0;1,0'), one)!;
    const at = (s: number) =>
      detectionsInStableArea(
        projectBack([{ bbox: [97, 50, 6, 6], score: 0.9, categoryId: 1 }], g1.transforms[s], 1),
        g1.transforms[s],
        a1,
      );
    expect(at(0).dropped).toBe(1);
    expect(at(1).dropped).toBe(0);
    expect(at(1).kept[0].bbox).toEqual([96, 50, 6, 6]);
  });

  it('circular: a centre on the left (top) border is kept at every shift, whatever the float noise of projecting back', () => {
    // a detection that moves exactly with the content, centred on content x = 0 (y = 0): on the border, inside. Projected
    // back, (dx − 0.3 − dx) is −0.30000000000000004 at some shifts, so its centre lands 1e−16 below 0; it must not be
    // unwrapped by a period (to Wm − 1e−16, outside) and dropped there while kept at the others: a detector whose output
    // moves exactly with its input keeps detConsistency 1 (protocol §1)
    const shiftSet = parseShiftSet('grid:3');
    const g = fitGeometry(40, 32, opts('circular', 'grid:3')); // scale 0.5
    const area = stableArea('circular', shiftSet, size)!; // [0, 17) × [0, 13)
    const perShift: CocoResult[][] = [];
    for (const [s, t] of g.transforms.entries()) {
      const { dx, dy } = shiftSet.shifts[s];
      const dets = projectBack(
        [
          { bbox: [dx - 0.3, 5 + dy, 0.6, 2], score: 0.9, categoryId: 1 },
          { bbox: [5 + dx, dy - 0.1, 2, 0.2], score: 0.9, categoryId: 2 },
        ],
        t,
        1,
      );
      const { kept, dropped } = detectionsInStableArea(dets, t, area);
      expect(dropped, `shift ${dx},${dy}`).toBe(0);
      expect(kept[0].bbox[0] + kept[0].bbox[2] / 2).toBeCloseTo(0, 12);
      expect(kept[1].bbox[1] + kept[1].bbox[3] / 2).toBeCloseTo(0, 12);
      perShift.push(kept);
    }
    const r = computeConsistency([{ imageId: 1, inputScale: { x: 0.5, y: 0.5 }, dets: perShift }], perShift.length);
    expect(r.detConsistency.mean).toBe(1);
  });

  it('pad keeps every detection', () => {
    const dets: CocoResult[] = [{ image_id: 1, category_id: 1, bbox: [-100, -100, 5, 5], score: 1 }];
    expect(detectionsInStableArea(dets, { scaleX: 1, scaleY: 1 }, null)).toEqual({ kept: dets, dropped: 0 });
  });
});
