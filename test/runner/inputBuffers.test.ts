/**
 * Input buffers used again (src/shifts/inputBuffers.ts): a detector that says it keeps no
 * input once it has answered (`releasesInputs`) gets its inputs in a few reused buffers, and
 * every input still holds exactly the pixels a fresh buffer would (pad, crop, circular,
 * fractional shifts); a detector that does not say so gets a buffer of its own per input,
 * never written again after detect() settles.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { DetectContext, Detection, Detector, RgbImage, ShiftMode } from '../../src/core/types.js';
import { createFakeDetector } from '../../src/detectors/fakes.js';
import { guardPluginMitigation } from '../../src/detectors/index.js';
import { inputBlur } from '../../src/mitigations/inputBlur.js';
import { polyphaseAlign } from '../../src/mitigations/polyphaseAlign.js';
import { shiftEnsemble } from '../../src/mitigations/shiftEnsemble.js';
import { relabelDetector } from '../../src/mitigations/wrap.js';
import { decodeDatasetImage, loadDataset } from '../../src/datasets/index.js';
import { runDetectLoop } from '../../src/runner/detectLoop.js';
import { runBenchmark } from '../../src/runner/index.js';
import { openPreparePool, type PreparePool } from '../../src/runner/prepare.js';
import type { DetectionLog } from '../../src/runner/store.js';
import {
  INPUT_BUFFERS_MAX_BYTES,
  InputBufferPool,
  inputBufferCapacity,
  parseShiftSet,
} from '../../src/shifts/index.js';
import { buildWorkers } from '../helpers/workerBuild.js';
import { fakeEnv, fakeInfo, makeDataset, tempDir } from './fixtures.js';

const sha = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

/** Remembers every input it was given: its pixels' hash when detect() ran, by image and shift, and the input itself. */
function recordingDetector(releasesInputs: boolean) {
  const seen: { key: string; hash: string; input: RgbImage }[] = [];
  const detector: Detector = {
    info: fakeInfo('rec', { maxBatch: 3, padValue: [200, 30, 90], inputSizePx: { width: 56, height: 40 } }),
    ...(releasesInputs ? { releasesInputs: true } : {}),
    async detect(batch: RgbImage[], contexts?: DetectContext[]): Promise<Detection[][]> {
      await new Promise((r) => setTimeout(r, 1)); // answers on a later tick, as a real runtime does
      batch.forEach((input, i) =>
        seen.push({
          key: `${contexts![i].imageId} ${contexts![i].shift.dx},${contexts![i].shift.dy}`,
          hash: sha(input.data),
          input,
        }),
      );
      return batch.map(() => []);
    },
    dispose: async () => undefined,
  };
  return { detector, seen };
}

describe('input buffers of a detector that releases its inputs', () => {
  let root: string;
  let dataset: string;
  let many: string;
  beforeAll(async () => {
    buildWorkers(); // the prepare workers run the built JavaScript
    root = await tempDir('shiftbench-input-buffers-');
    dataset = (await makeDataset(path.join(root, 'ds'), 7, { corrupt: [3], seed: 5 })).file;
    // more images than the prepare queue holds ahead (32), so that released buffers travel back to the workers
    many = (await makeDataset(path.join(root, 'many'), 48, { corrupt: [20], seed: 6 })).file;
  }, 120_000);

  const runRecorded = async (o: { mode: ShiftMode; shifts: string; release: boolean }) => {
    const { detector, seen } = recordingDetector(o.release);
    await runBenchmark(
      {
        models: ['rec'],
        dataset,
        out: path.join(root, `${o.mode}-${o.shifts.replace(/[^a-z0-9]/gi, '_')}-${o.release}`),
        shifts: o.shifts,
        mode: o.mode,
        bootstrapResamples: 20,
        bootstrapBounds: 0,
        prepareWorkers: 0,
      },
      { env: fakeEnv({ rec: () => detector }) },
    );
    return seen;
  };

  const cases: { mode: ShiftMode; shifts: string }[] = [
    { mode: 'pad', shifts: 'grid:1' },
    { mode: 'crop', shifts: 'line:3' },
    { mode: 'circular', shifts: 'grid:2' },
    { mode: 'pad', shifts: '0,0;0.5,0;1,0.25' },
  ];
  for (const { mode, shifts } of cases) {
    it(`gives every input the same pixels as fresh buffers, in a few buffers (${mode} ${shifts})`, async () => {
      const fresh = await runRecorded({ mode, shifts, release: false });
      const reused = await runRecorded({ mode, shifts, release: true });
      const nShifts = parseShiftSet(shifts).shifts.length;
      expect(fresh.length).toBe(6 * nShifts); // 7 images, one of them not an image
      expect(reused.map((s) => [s.key, s.hash])).toEqual(fresh.map((s) => [s.key, s.hash]));
      // fresh buffers: one per input, none written again after its detect() settled
      expect(new Set(fresh.map((s) => s.input.data.buffer)).size).toBe(fresh.length);
      for (const s of fresh) expect(sha(s.input.data)).toBe(s.hash);
      const buffers = new Set(reused.map((s) => s.input.data.buffer)).size;
      if (shifts.includes('.'))
        expect(buffers).toBe(reused.length); // fractional sets make their bytes anew
      else expect(buffers).toBeLessThanOrEqual(3); // at most one batch of buffers (maxBatch 3)
    }, 60_000);
  }

  for (const { mode, shifts, workers } of [
    { mode: 'pad', shifts: 'grid:1', workers: 2 },
    { mode: 'circular', shifts: 'line:2', workers: 1 },
  ] as const) {
    it(`sends released buffers back to the prepare workers, same pixels (${mode} ${shifts}, ${workers} workers)`, async () => {
      const images = (await loadDataset({ dataset: many })).images;
      /** The detect loop alone, on prepare workers that are ready (a run starts them and prepares here meanwhile). */
      const loop = async (pool: PreparePool | null, release: boolean) => {
        const { detector, seen } = recordingDetector(release);
        await runDetectLoop({
          detector,
          images,
          shiftSet: parseShiftSet(shifts),
          mode,
          kernel: 'linear',
          batchSize: 3,
          decode: decodeDatasetImage,
          preparePool: pool,
          prepareWorkers: 0,
          log: { append: async () => undefined, sync: async () => undefined } as unknown as DetectionLog,
          onRecord: () => undefined,
        });
        return seen;
      };
      const pool = openPreparePool(workers, (reason) => expect.fail(reason))!;
      try {
        await new Promise<void>((resolve) => {
          const stop = pool.onReady(() => (stop(), resolve()));
          if (pool.ready) resolve();
        });
        const fresh = await loop(null, false);
        const reused = await loop(pool, true);
        expect(fresh.length).toBe(47 * parseShiftSet(shifts).shifts.length); // one of the 48 is not an image
        expect(reused.map((s) => [s.key, s.hash])).toEqual(fresh.map((s) => [s.key, s.hash]));
        // a buffer transferred back to a worker is detached here: the inputs of later images were made in it
        const sentBack = reused.filter((s) => s.input.data.byteLength === 0).length;
        expect(sentBack).toBeGreaterThan(reused.length / 4);
        expect(fresh.every((s) => s.input.data.byteLength > 0)).toBe(true);
      } finally {
        pool.terminate();
      }
    }, 120_000);
  }
});

describe('InputBufferPool', () => {
  it('hands back what it was given, a whole buffer of its size once each, at most `capacity`', () => {
    const pool = new InputBufferPool(12, 2);
    expect(pool.reuse()).toBeUndefined(); // nothing given back yet
    const a = new Uint8Array(12).fill(7);
    pool.give(a);
    pool.give(a); // twice: kept once, or two inputs would share it
    expect(pool.size).toBe(1);
    pool.give(new Uint8Array(11)); // another size
    pool.give(new Uint8Array(24).subarray(0, 12)); // a view into a larger buffer
    pool.give(new Uint8Array(24).subarray(12)); // the same, not at its start
    expect(pool.size).toBe(1);
    pool.give(new Uint8Array(12));
    pool.give(new Uint8Array(12)); // over capacity: left to the collector
    expect(pool.size).toBe(2);
    const b = pool.reuse();
    const c = pool.reuse();
    expect([b, c]).toContain(a);
    expect(pool.reuse()).toBeUndefined(); // empty again
  });

  it('keeps at most 64 MiB of large buffers, and at least one', () => {
    expect(inputBufferCapacity(512 * 512 * 3, 32)).toBe(32); // 25 MB
    expect(inputBufferCapacity(1280 * 1280 * 3, 32)).toBe(13); // 4.9 MB each
    expect(inputBufferCapacity(INPUT_BUFFERS_MAX_BYTES + 1, 8)).toBe(1);
  });

  it('refuses a size or capacity that is not a whole number', () => {
    expect(() => new InputBufferPool(0, 1)).toThrow(/ERR_INTERNAL|input buffer pool/);
    expect(() => new InputBufferPool(12, -1)).toThrow(/input buffer pool/);
  });
});

describe('releasesInputs is never inherited by a spread', () => {
  const gt = { images: [], annotations: [], categories: [{ id: 1, name: 'disc' }] };
  it('a wrapper made as { ...detector, detect } does not claim what the detector it copied claimed', () => {
    const fake = createFakeDetector('oracle', { groundTruth: gt });
    expect(fake.releasesInputs).toBe(true);
    const keeping = { ...fake, detect: fake.detect }; // e.g. a wrapper that keeps its inputs to draw them later
    expect(keeping.releasesInputs).toBeUndefined();
    for (const wrapped of [
      relabelDetector(fake, 'x'),
      shiftEnsemble('grid:1').wrap(fake, { mode: 'pad' }),
      inputBlur(1).wrap(fake, { mode: 'pad' }),
    ]) {
      expect(wrapped.releasesInputs).toBe(true);
      expect({ ...wrapped }.releasesInputs).toBeUndefined();
    }
  });

  it("a plug-in mitigation's wrapper spread from the detector it wraps keeps fresh buffers", () => {
    const plugin = {
      name: 'spread',
      file: '/plugins/spread.mjs',
      sha256: '0'.repeat(64),
      definition: {
        apiVersion: 1 as const,
        name: 'spread',
        detectors: {},
        mitigations: {
          keep: () => ({ name: 'keep', spec: 'keep', wrap: (d: Detector): Detector => ({ ...d, detect: d.detect }) }),
          says: () => ({
            name: 'says',
            spec: 'says',
            wrap: (d: Detector): Detector => ({ ...d, releasesInputs: true, detect: d.detect }),
          }),
        },
      },
    };
    const fake = createFakeDetector('oracle', { groundTruth: gt });
    expect(guardPluginMitigation(plugin, 'keep')('').wrap(fake, { mode: 'pad' }).releasesInputs).toBe(false);
    expect(guardPluginMitigation(plugin, 'says')('').wrap(fake, { mode: 'pad' }).releasesInputs).toBe(true);
  });
});

describe('releasesInputs through mitigations', () => {
  const inner = (releasesInputs: boolean): Detector => ({
    info: fakeInfo('inner', { totalStridePx: 4 }),
    releasesInputs,
    detect: async (batch) => batch.map(() => []),
    dispose: async () => undefined,
  });
  const ctx = { mode: 'pad' as const };
  it("wrappers that hand the runner's inputs on keep the inner detector's word; input-blur always releases", () => {
    for (const r of [true, false]) {
      expect(relabelDetector(inner(r), 'x').releasesInputs).toBe(r);
      expect(shiftEnsemble('grid:1').wrap(inner(r), ctx).releasesInputs).toBe(r);
      expect(polyphaseAlign(4).wrap(inner(r), ctx).releasesInputs).toBe(r);
      expect(inputBlur(1).wrap(inner(r), ctx).releasesInputs).toBe(true); // blurred copies reach the inner one
    }
  });
});
