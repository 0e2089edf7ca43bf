/**
 * ONNX Runtime's threads sleep between operators by default here (onnxSpinWait: false),
 * so the runner's decoding and input making get the cores while the model runs; spinning
 * (ONNX Runtime's own default) is a timing choice only: the detections are the same, bit
 * for bit. The timing is measured by bench/runner.bench.ts, not here.
 */
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import type { Detector, RgbImage } from '../../src/core/types.js';
import { loadDetector } from '../../src/detectors/index.js';

function photoLike(width: number, height: number, seed: number): RgbImage {
  const rng = new Rng(seed);
  const data = new Uint8Array(width * height * 3);
  // a few flat rectangles on noise: something for the detector to find
  for (let i = 0; i < data.length; i++) data[i] = rng.int(0, 60);
  for (let k = 0; k < 4; k++) {
    const [x0, y0] = [rng.int(0, width - 120), rng.int(0, height - 120)];
    const c = [rng.int(80, 255), rng.int(80, 255), rng.int(80, 255)];
    for (let y = y0; y < y0 + 100; y++) for (let x = x0; x < x0 + 100; x++) data.set(c, (y * width + x) * 3);
  }
  return { data, width, height };
}

describe('ONNX Runtime thread waiting (onnxSpinWait)', () => {
  it('zoo-fcos gives the same detections with spinning threads and with sleeping ones (the default)', async () => {
    const loaded: Detector[] = [];
    try {
      const sleeping = await loadDetector('zoo-fcos', { threads: 2 });
      loaded.push(sleeping);
      const spinning = await loadDetector('zoo-fcos', { threads: 2, onnxSpinWait: true });
      loaded.push(spinning);
      const { width, height } = sleeping.info.inputSizePx;
      let detections = 0;
      for (const seed of [1, 2, 3]) {
        const input = photoLike(width, height, seed);
        const a = await sleeping.detect([input]);
        const b = await spinning.detect([input]);
        expect(b).toEqual(a);
        detections += a[0].length;
      }
      expect(detections).toBeGreaterThan(0);
    } finally {
      for (const d of loaded) await d.dispose();
    }
  }, 60_000);
});
