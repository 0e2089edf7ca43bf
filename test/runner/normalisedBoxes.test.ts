/**
 * A detector (a plug-in, an HTTP server) that returns boxes normalised to 0–1 instead of its input's pixels is scored
 * as tiny boxes in the top-left corner: mAP 0, with nothing said. Every edge of such a box lies within [0, 1] input
 * pixels, which no real detection of an image does; when most of a detector's detections are so, scoring warns naming
 * the detector and the fix (the numbers stay what the boxes give).
 */
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { CocoGroundTruth, Detector } from '../../src/core/types.js';
import { runBenchmark } from '../../src/runner/index.js';
import { fakeEnv, gtDetector, makeDataset, tempDir } from './fixtures.js';

describe('boxes normalised to 0–1', () => {
  let root: string;
  let dataset: string;
  let gt: CocoGroundTruth;
  beforeAll(async () => {
    root = await tempDir('shiftbench-normalised-');
    ({ file: dataset, gt } = await makeDataset(path.join(root, 'ds'), 10, { seed: 53 }));
  });

  /** The oracle's boxes divided by its input's size. */
  const normalised = (): Detector => {
    const d = gtDetector('norm', gt);
    const detect = d.detect.bind(d);
    const { width, height } = d.info.inputSizePx;
    d.detect = async (batch, contexts) =>
      (await detect(batch, contexts)).map((dets) =>
        dets.map((x) => ({
          ...x,
          bbox: [x.bbox[0] / width, x.bbox[1] / height, x.bbox[2] / width, x.bbox[3] / height],
        })),
      );
    return d;
  };

  const warningsOf = async (name: string, make: () => Detector) => {
    const warnings: string[] = [];
    await runBenchmark(
      { models: [name], dataset, out: path.join(root, name), bootstrapBounds: 0 },
      { env: fakeEnv({ [name]: make }), logger: { info: () => undefined, warn: (m) => warnings.push(m) } },
    );
    return warnings.join('\n');
  };

  it('warns naming the detector and that boxes are in input pixels', async () => {
    const w = await warningsOf('norm', normalised);
    expect(w).toMatch(/norm: \d+ of \d+ detections lie within \[0, 1\] input pixels/);
    expect(w).toContain("in its input's pixels");
  });

  it('an oracle in pixels: no such warning', async () => {
    expect(await warningsOf('pixels', () => gtDetector('pixels', gt))).not.toContain('[0, 1] input pixels');
  });
});
