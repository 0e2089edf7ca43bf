/**
 * Issue 10 item 7: every variant of a model is scored on the same images (the
 * intersection of what each could decode, stated in metrics.json), skipped images are
 * retried on resume and printed on the console, and label-free and YOLO folders skip an
 * undecodable file as COCO does instead of aborting.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import type { CocoGroundTruth, Detector, Logger } from '../../src/core/types.js';
import type { Mitigation } from '../../src/mitigations/types.js';
import { defaultEnv } from '../../src/runner/env.js';
import { runBenchmark, type RunnerEnv } from '../../src/runner/index.js';
import { fakeInfo, gtDetector, makeDataset, tempDir } from './fixtures.js';

function passThrough(): Mitigation {
  return {
    name: 'same',
    spec: 'same',
    wrap: (inner: Detector) => ({
      info: { ...inner.info, name: `${inner.info.name}+same` },
      detect: (b, c) => inner.detect(b, c),
      dispose: () => inner.dispose(),
    }),
  };
}

function logger() {
  const lines: string[] = [];
  const l: Logger = { info: (m) => lines.push(m), warn: (m) => lines.push(`warning: ${m}`) };
  return { l, lines };
}

describe('variants are scored on the same images', () => {
  let root: string;
  let dataset: string;
  let gt: CocoGroundTruth;
  const N = 5;

  beforeAll(async () => {
    root = await tempDir('shiftbench-variants-');
    ({ file: dataset, gt } = await makeDataset(path.join(root, 'ds'), N));
  });

  /** decodeImage that fails on the first `failures` attempts at image 3, then works. */
  function flakyEnv(failures: number): Partial<RunnerEnv> {
    let left = failures;
    const real = defaultEnv().decodeImage;
    return {
      loadDetector: async () => gtDetector('jitter', gt, { noisePx: 2 }),
      listModels: async () => [],
      parseMitigation: () => passThrough(),
      decodeImage: async (image) => {
        if (image.id === 3 && left > 0) {
          left--;
          throw new Error('transient read error');
        }
        return real(image);
      },
    };
  }

  it('a plain detector and its mitigation are scored on the intersection; the skip is printed; resume retries it', async () => {
    const out = path.join(root, 'flaky');
    const { l, lines } = logger();
    const a = await runBenchmark(
      { models: ['jitter'], mitigations: ['same'], dataset, out, bootstrapResamples: 20 },
      { env: flakyEnv(1), logger: l },
    );
    const [plain, mitigated] = a.metrics.results;
    expect(plain.imagesEvaluated).toBe(N - 1);
    expect(mitigated.imagesEvaluated).toBe(N - 1);
    expect(mitigated.skippedImages.map((s) => s.imageId)).toEqual([3]);
    expect(mitigated.skippedImages[0].reason).toContain('jitter');
    expect(mitigated.bounds).toEqual(plain.bounds); // the pass-through mitigation on the same images: same numbers
    expect(lines.join('\n')).toMatch(/skipped image 3 \(003\.png\): transient read error/);
    // resume: the skipped image is tried again, and now both variants have all images
    const b = await runBenchmark(
      { models: ['jitter'], mitigations: ['same'], dataset, out, bootstrapResamples: 20 },
      { env: flakyEnv(0) },
    );
    expect(b.computedImages).toEqual({ jitter: 1, 'jitter+same': 0 });
    expect(b.metrics.results.map((r) => r.imagesEvaluated)).toEqual([N, N]);
    expect(b.metrics.results[1].skippedImages).toEqual([]);
  });

  it('a label-free image folder skips an undecodable file instead of aborting', async () => {
    const dir = path.join(root, 'folder');
    await mkdir(dir, { recursive: true });
    for (const name of ['a.png', 'c.png']) {
      await sharp(Buffer.alloc(40 * 30 * 3, 90), { raw: { width: 40, height: 30, channels: 3 } })
        .png()
        .toFile(path.join(dir, name));
    }
    await writeFile(path.join(dir, 'b.png'), 'not a png at all');
    const det = (): Detector => ({
      info: fakeInfo('boxes'),
      detect: async (batch) => batch.map(() => [{ bbox: [5, 5, 10, 10], score: 0.9, categoryId: 1 }]),
      dispose: async () => undefined,
    });
    const { metrics } = await runBenchmark(
      { models: ['boxes'], dataset: dir, out: path.join(root, 'folder-run'), bootstrapResamples: 20 },
      { env: { loadDetector: async () => det(), listModels: async () => [] } },
    );
    expect(metrics.results[0].imagesEvaluated).toBe(2);
    expect(metrics.results[0].skippedImages.map((s) => s.fileName)).toEqual(['b.png']);
  });

  it('a YOLO folder skips an undecodable file instead of aborting', async () => {
    const dir = path.join(root, 'yolo');
    await mkdir(path.join(dir, 'images'), { recursive: true });
    await mkdir(path.join(dir, 'labels'), { recursive: true });
    await writeFile(path.join(dir, 'classes.txt'), 'disc\nsquare\n');
    for (const name of ['a', 'c']) {
      await sharp(Buffer.alloc(40 * 30 * 3, 90), { raw: { width: 40, height: 30, channels: 3 } })
        .png()
        .toFile(path.join(dir, 'images', `${name}.png`));
      await writeFile(path.join(dir, 'labels', `${name}.txt`), '0 0.5 0.5 0.25 0.3\n');
    }
    await writeFile(path.join(dir, 'images', 'b.png'), 'not a png at all');
    await writeFile(path.join(dir, 'labels', 'b.txt'), '1 0.5 0.5 0.25 0.3\n');
    const { metrics } = await runBenchmark({
      models: ['oracle'],
      dataset: dir,
      out: path.join(root, 'yolo-run'),
      bootstrapResamples: 20,
    });
    expect(metrics.results[0].imagesEvaluated).toBe(2);
    expect(metrics.results[0].skippedImages.map((s) => s.fileName)).toEqual(['b.png']);
    expect(metrics.results[0].bounds!.mapRef).toBeCloseTo(1, 9);
  });
});
