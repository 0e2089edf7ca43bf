import { describe, expect, it } from 'vitest';
import type { Detection, RgbImage } from '../../src/core/types.js';
import { shiftEnsemble } from '../../src/mitigations/index.js';
import { translateRgb } from '../../src/shifts/translate.js';
import { brightBox, fakeDetector, rectImage } from './fakes.js';

const exact = (img: RgbImage): Detection[] => {
  const b = brightBox(img);
  return b ? [{ bbox: b, score: 0.9, categoryId: 1 }] : [];
};
/** A detector on a stride-2 grid: the box's x and y snap down to even pixels. */
const snapped = (img: RgbImage): Detection[] => {
  const b = brightBox(img);
  return b
    ? [{ bbox: [Math.floor(b[0] / 2) * 2, Math.floor(b[1] / 2) * 2, b[2], b[3]], score: 0.8, categoryId: 1 }]
    : [];
};

describe('shift-ensemble', () => {
  it('an exactly equivariant detector comes out unchanged (boxes moved back by −(dx, dy))', async () => {
    const det = shiftEnsemble('grid:1').wrap(fakeDetector(exact), { mode: 'pad' });
    const out = await det.detect([rectImage(32, 32, [5, 7, 6, 4])]);
    expect(out[0]).toHaveLength(1);
    expect(out[0][0].bbox.map((v) => Number(v.toFixed(12)))).toEqual([5, 7, 6, 4]);
    expect(out[0][0].score).toBeCloseTo(0.9, 12);
    expect(det.info.name).toBe('fake+shift-ensemble:grid:1');
  });

  it('averages a stride-2 detector over shifts: hand-computed fusion', async () => {
    const det = shiftEnsemble('grid:1').wrap(fakeDetector(snapped), { mode: 'pad' });
    // box at x=5, y=6. Shift dx=0: snap(5)=4 → 4; dx=1: snap(6)=6 → 5. y=6: dy=0 → 6; dy=1: snap(7)=6 → 5.
    // Equal scores → plain means: x = (4+5+4+5)/4 = 4.5, y = (6+6+5+5)/4 = 5.5.
    const out = await det.detect([rectImage(32, 32, [5, 6, 20, 20])]);
    expect(out[0]).toHaveLength(1);
    expect(out[0][0].bbox[0]).toBeCloseTo(4.5, 12);
    expect(out[0][0].bbox[1]).toBeCloseTo(5.5, 12);
    expect(out[0][0].bbox[2]).toBeCloseTo(20, 12);
    expect(out[0][0].score).toBeCloseTo(0.8, 12);
    // and it is shift-invariant in this case: the same image moved by one pixel gives the same fused box + (1, 0)
    const moved = await det.detect([rectImage(32, 32, [6, 6, 20, 20])]);
    expect(moved[0][0].bbox[0]).toBeCloseTo(5.5, 12);
  });

  it('batches all copies in calls of at most maxBatch and moves the contexts with the input', async () => {
    const inner = fakeDetector(exact, { maxBatch: 3 });
    const det = shiftEnsemble('0,0;2,0;0,3').wrap(inner, { mode: 'pad' });
    const imgs = [rectImage(32, 32, [1, 1, 3, 3]), rectImage(32, 32, [20, 9, 2, 5])];
    const ctx = (imageId: number) => ({
      imageId,
      shift: { dx: 1, dy: 0 },
      transform: { scaleX: 1, scaleY: 1, offsetX: 1, offsetY: 0 },
    });
    const out = await det.detect(imgs, [ctx(1), ctx(2)]);
    expect(inner.calls).toEqual([3, 3]);
    expect(inner.contexts[0]![1]).toEqual({
      imageId: 1,
      shift: { dx: 3, dy: 0 },
      transform: { scaleX: 1, scaleY: 1, offsetX: 3, offsetY: 0 },
    });
    expect(inner.contexts[1]![0]).toEqual({
      imageId: 2,
      shift: { dx: 1, dy: 0 },
      transform: { scaleX: 1, scaleY: 1, offsetX: 1, offsetY: 0 },
    });
    expect(out.map((l) => l[0].bbox.map((v) => Math.round(v)))).toEqual([
      [1, 1, 3, 3],
      [20, 9, 2, 5],
    ]);
  });

  it('pads with the detector pad value in pad mode and rolls in circular mode', async () => {
    const seen: RgbImage[] = [];
    const spy = fakeDetector((img) => (seen.push(img), []), { padValue: [114, 114, 114] });
    const img = rectImage(8, 8, [0, 0, 8, 8], 50, 50);
    await shiftEnsemble('0,0;1,0').wrap(spy, { mode: 'pad' }).detect([img]);
    expect(Array.from(seen[1].data)).toEqual(Array.from(translateRgb(img, 1, 0, 'pad', [114, 114, 114]).data));
    seen.length = 0;
    const edge = rectImage(8, 8, [7, 0, 1, 8]);
    await shiftEnsemble('0,0;1,0').wrap(spy, { mode: 'circular' }).detect([edge]);
    expect(Array.from(seen[1].data)).toEqual(Array.from(translateRgb(edge, 1, 0, 'circular').data));
  });

  it('in circular mode a box that wrapped is moved back onto the canvas where its content is', async () => {
    const det = shiftEnsemble('0,0;3,0').wrap(fakeDetector(exact), { mode: 'circular' });
    // content at x ∈ [30, 32): shifted by 3 it is at x ∈ [1, 3) → back by −3 = −2 → wrapped to 30
    const out = await det.detect([rectImage(32, 32, [30, 4, 2, 2])]);
    expect(out[0]).toHaveLength(1);
    expect(out[0][0].bbox.map((v) => Math.round(v * 1e9) / 1e9)).toEqual([30, 4, 2, 2]);
    expect(out[0][0].score).toBeCloseTo(0.9, 12);
  });
});
