/**
 * Images prepared ahead of the detector in worker threads (src/runner/prepare.ts): the
 * inputs are bit-identical to those made on the main thread, they come in image order
 * whatever order the workers finish in, the queue stays bounded, errors are kept as
 * before (a decoding error is a skipped image, anything else stops the run), and no
 * worker outlives a run that fails or is stopped.
 */
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { keyFileName } from '../../src/core/fileNames.js';
import type { DatasetImage, Detection, Detector, RgbImage } from '../../src/core/types.js';
import { decodeDatasetImage, loadDataset } from '../../src/datasets/index.js';
import { OrderedWriter } from '../../src/runner/detectLoop.js';
import { OrderedPrefetch, defaultPrepareWorkers, openPreparedImages } from '../../src/runner/prepare.js';
import { runBenchmark, type RunnerEnv } from '../../src/runner/index.js';
import { parseShiftSet, type ShiftedInputOptions } from '../../src/shifts/index.js';
import { componentDetector, detectComponents, writeFlatShapes } from '../helpers/flatShapes.js';
import { REPO_ROOT } from '../helpers/shared.js';
import { buildWorkers } from '../helpers/workerBuild.js';
import { makeDataset, tempDir } from './fixtures.js';

// the workers run the built JavaScript: build it once for this file
beforeAll(() => buildWorkers(), 120_000);

/** A promise with its resolve/reject outside. */
function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('OrderedPrefetch', () => {
  it('hands results out in index order when they settle in reverse order', async () => {
    const d = Array.from({ length: 6 }, () => deferred<number>());
    const q = new OrderedPrefetch(
      6,
      () => 6,
      (i) => d[i].promise,
    );
    const taken = Array.from({ length: 6 }, () => q.next());
    for (let i = 5; i >= 0; i--) d[i].resolve(i * 10); // the last finishes first
    expect(await Promise.all(taken)).toEqual([0, 10, 20, 30, 40, 50]);
  });

  it('starts at most depth() results ahead of the last taken', async () => {
    const started: number[] = [];
    const q = new OrderedPrefetch(
      10,
      () => 3,
      async (i) => {
        started.push(i);
        return i;
      },
    );
    expect(started).toEqual([0, 1, 2]);
    await q.next();
    expect(started).toEqual([0, 1, 2, 3]);
    await q.next();
    await q.next();
    expect(started).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('grows when depth() grows and fill() is called, and never starts past the count', async () => {
    let depth = 1;
    const started: number[] = [];
    const q = new OrderedPrefetch(
      4,
      () => depth,
      async (i) => (started.push(i), i),
    );
    expect(started).toEqual([0]);
    depth = 8;
    q.fill();
    expect(started).toEqual([0, 1, 2, 3]);
    for (let i = 0; i < 4; i++) expect(await q.next()).toBe(i);
    expect(() => q.next()).toThrow(/all 4 results were taken/);
  });

  it('a failed result is seen by the next() that takes it, and settle() waits for the started ones', async () => {
    const d = [deferred<number>(), deferred<number>(), deferred<number>()];
    const q = new OrderedPrefetch(
      3,
      () => 3,
      (i) => d[i].promise,
    );
    d[1].reject(new Error('image 1 failed'));
    d[0].resolve(0);
    expect(await q.next()).toBe(0);
    await expect(q.next()).rejects.toThrow('image 1 failed');
    let settled = false;
    const s = q.settle().then(() => (settled = true));
    await new Promise((r) => setTimeout(r, 10));
    expect(settled).toBe(false);
    d[2].resolve(2);
    await s;
    expect(settled).toBe(true);
  });
});

describe('defaultPrepareWorkers', () => {
  it('is none below 4 cores (sharp decodes in its own threads already), then cores − 2, at most 4', () => {
    expect([1, 2, 3, 4, 5, 6, 8, 64].map(defaultPrepareWorkers)).toEqual([0, 0, 0, 2, 3, 4, 4, 4]);
  });
});

describe('OrderedWriter (records stored while the detector goes on)', () => {
  it('writes in push order, one at a time, and makes the pusher wait only at maxPending', async () => {
    const gates = Array.from({ length: 5 }, () => deferred<void>());
    const written: number[] = [];
    let active = 0;
    let most = 0;
    const w = new OrderedWriter<number>(async (i) => {
      active++;
      most = Math.max(most, active);
      await gates[i].promise;
      written.push(i);
      active--;
    }, 3);
    await w.push(0); // not blocked: nothing is written yet
    await w.push(1);
    let third = false;
    const p = w.push(2).then(() => (third = true)); // the third waits until the queue is written
    await new Promise((r) => setTimeout(r, 10));
    expect(third).toBe(false);
    for (const i of [2, 1, 0]) gates[i].resolve(); // released out of order: still written in order
    await p;
    expect(written).toEqual([0, 1, 2]);
    expect(most).toBe(1);
    gates[3].resolve();
    gates[4].resolve();
    await w.push(3);
    await w.push(4);
    await w.drain();
    expect(written).toEqual([0, 1, 2, 3, 4]);
  });

  it('after a failed write writes nothing more, and push and drain throw its error', async () => {
    const written: number[] = [];
    const w = new OrderedWriter<number>(async (i) => {
      if (i === 1) throw new Error('disk full');
      written.push(i);
    }, 10);
    await w.push(0);
    await w.push(1);
    await w.push(2).catch(() => undefined);
    await expect(w.drain()).rejects.toThrow('disk full');
    await expect(w.push(3)).rejects.toThrow('disk full');
    expect(written).toEqual([0]);
  });
});

/** FNV-1a of every byte: any changed pixel changes it. */
function fnv(data: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < data.length; i++) h = Math.imul(h ^ data[i], 0x01000193) >>> 0;
  return h;
}

/**
 * Reads pixels: the flat-colour components (their exact extents) plus one detection whose
 * score is a hash of every byte of the input, so two runs store the same detections only
 * if every input was the same, byte for byte.
 */
function pixelHashDetector(name: string, classes?: Detector['info']['classes']): Detector {
  const inner = componentDetector(name, { info: { maxBatch: 3 } });
  return {
    ...inner,
    info: classes ? { ...inner.info, classes } : inner.info, // named as the dataset names its categories
    detect: async (batch: RgbImage[]): Promise<Detection[][]> =>
      batch.map((img) => [
        ...detectComponents(img),
        { bbox: [1, 2, 10, 12], score: 0.05 + (fnv(img.data) / 2 ** 32) * 0.9, categoryId: 1 },
      ]),
  };
}

describe('prepare workers', () => {
  let root: string;
  let images: DatasetImage[];

  beforeAll(async () => {
    root = await tempDir('shiftbench-prepare-');
    // flat shapes (exact colours) and noise images of odd sizes, one of them not an image
    const shapes = await writeFlatShapes(path.join(root, 'shapes'), 5, 50);
    const noise = await makeDataset(path.join(root, 'noise'), 5, { corrupt: [3], seed: 9 });
    images = [
      ...(await loadDataset({ dataset: shapes.file })).images,
      ...(await loadDataset({ dataset: noise.file })).images,
    ];
  }, 120_000);

  const settings: { name: string; opts: ShiftedInputOptions }[] = [
    {
      name: 'pad grid:1',
      opts: {
        inputSizePx: { width: 64, height: 48 },
        fit: 'letterbox',
        padValue: [114, 20, 200],
        mode: 'pad',
        shiftSet: parseShiftSet('grid:1'),
      },
    },
    {
      name: 'crop line:3 stretch',
      opts: {
        inputSizePx: { width: 40, height: 56 },
        fit: 'stretch',
        padValue: [0, 0, 0],
        mode: 'crop',
        shiftSet: parseShiftSet('line:3'),
        kernel: 'lanczos3',
      },
    },
    {
      name: 'circular grid:2',
      opts: {
        inputSizePx: { width: 48, height: 48 },
        fit: 'letterbox',
        padValue: [7, 7, 7],
        mode: 'circular',
        shiftSet: parseShiftSet('grid:2'),
      },
    },
    {
      name: 'pad fractional',
      opts: {
        inputSizePx: { width: 48, height: 40 },
        fit: 'letterbox',
        padValue: [114, 114, 114],
        mode: 'pad',
        shiftSet: parseShiftSet('0,0;0.5,0;1,0.25'),
      },
    },
    {
      name: 'circular fractional',
      opts: {
        inputSizePx: { width: 32, height: 32 },
        fit: 'letterbox',
        padValue: [114, 114, 114],
        mode: 'circular',
        shiftSet: parseShiftSet('frac:2'),
      },
    },
  ];

  for (const { name, opts } of settings) {
    it(`makes the same inputs, transforms, sizes and skipped messages as the main thread (${name})`, async () => {
      const inWorkers = openPreparedImages({
        images,
        inputOpts: opts,
        decode: decodeDatasetImage,
        builtInDecode: true,
        workers: 2,
        onFallback: (r) => expect.fail(r),
      });
      const here = openPreparedImages({
        images,
        inputOpts: opts,
        decode: decodeDatasetImage,
        builtInDecode: true,
        workers: 0,
      });
      expect(inWorkers.workers).toBe(2);
      expect(here.workers).toBe(0);
      try {
        let skipped = 0;
        for (const image of images) {
          const [a, b] = await Promise.all([inWorkers.next(), here.next()]);
          expect(a.image.id).toBe(image.id);
          expect(b.image.id).toBe(image.id);
          expect(a.size).toEqual(b.size);
          expect(a.skipped).toBe(b.skipped);
          if (b.inputs === null) {
            skipped++;
            expect(a.inputs).toBeNull();
            expect(a.skipped).toMatch(/^Could not decode image .*003\.png/);
            continue;
          }
          expect(a.inputs!.geometry).toEqual(b.inputs.geometry);
          expect(a.inputs!.kernel).toBe(b.inputs.kernel);
          expect(a.inputs!.count).toBe(opts.shiftSet.shifts.length);
          for (let s = 0; s < b.inputs.count; s++) {
            const x = a.inputs!.input(s);
            const y = b.inputs.input(s);
            expect([x.width, x.height]).toEqual([y.width, y.height]);
            expect(Buffer.from(x.data).equals(Buffer.from(y.data))).toBe(true);
          }
        }
        expect(skipped).toBe(1);
      } finally {
        await inWorkers.close();
        await here.close();
      }
    }, 60_000);
  }

  it('keeps image order when a later image finishes first (a large image before small ones, two workers)', async () => {
    const big = path.join(root, 'big.png');
    const w = 3000;
    const h = 2000;
    await sharp({ create: { width: w, height: h, channels: 3, background: { r: 10, g: 200, b: 30 } } })
      .png({ compressionLevel: 9 })
      .toFile(big);
    const order: DatasetImage[] = [
      { id: 100, fileName: 'big.png', path: big, width: w, height: h },
      ...images.slice(0, 6),
    ];
    const opts = settings[0].opts;
    const q = openPreparedImages({
      images: order,
      inputOpts: opts,
      decode: decodeDatasetImage,
      builtInDecode: true,
      workers: 2,
    });
    try {
      const got: number[] = [];
      for (let i = 0; i < order.length; i++) got.push((await q.next()).image.id);
      expect(got).toEqual(order.map((im) => im.id));
    } finally {
      await q.close();
    }
  }, 60_000);

  it('bounds the queue: at most `depth` images prepared and not taken', async () => {
    let inFlight = 0;
    let most = 0;
    const decode = async (image: DatasetImage) => {
      inFlight++;
      most = Math.max(most, inFlight);
      try {
        return await decodeDatasetImage(image);
      } finally {
        inFlight--;
      }
    };
    // a custom decoder runs on this thread (workers cannot run the caller's function), one group ahead
    const reasons: string[] = [];
    const q = openPreparedImages({
      images,
      inputOpts: settings[0].opts,
      decode,
      builtInDecode: false,
      workers: 2,
      minDepth: 2,
      onFallback: (r) => reasons.push(r),
    });
    expect(q.workers).toBe(0);
    expect(reasons).toEqual(['a custom decoder runs on the main thread']);
    for (let i = 0; i < images.length; i++) await q.next();
    await q.close();
    // two started and not taken, plus the one just taken that next() is still waiting for (not 10: bounded)
    expect(most).toBeLessThanOrEqual(3);
    const big = openPreparedImages({
      images,
      inputOpts: settings[0].opts,
      decode: decodeDatasetImage,
      builtInDecode: true,
      workers: 1,
      depth: 3,
    });
    expect(big.depth).toBe(3);
    await big.close();
  }, 60_000);

  it('an error of the input maker (not of decoding) rejects with the same code as on the main thread', async () => {
    // K = 64 is not smaller than the 64-px input: makeShiftedInputs refuses the options
    const bad: ShiftedInputOptions = {
      ...settings[0].opts,
      inputSizePx: { width: 64, height: 64 },
      shiftSet: parseShiftSet('0,0;64,0'),
    };
    const fresh = images.filter((im) => im.id !== 3);
    const inWorkers = openPreparedImages({
      images: fresh,
      inputOpts: bad,
      decode: decodeDatasetImage,
      builtInDecode: true,
      workers: 1,
    });
    const here = openPreparedImages({
      images: fresh,
      inputOpts: bad,
      decode: decodeDatasetImage,
      builtInDecode: true,
      workers: 0,
    });
    const [a, b] = await Promise.allSettled([inWorkers.next(), here.next()]);
    await inWorkers.close();
    await here.close();
    expect(b.status).toBe('rejected');
    expect(a.status).toBe('rejected');
    const ea = (a as PromiseRejectedResult).reason;
    const eb = (b as PromiseRejectedResult).reason;
    expect(ea.code).toBe('ERR_INVALID_OPTION');
    expect(ea.code).toBe(eb.code);
    expect(ea.message).toBe(eb.message);
  }, 60_000);

  it('a run gives the same stored detections and metrics with prepare workers on and off (pixel-reading detector)', async () => {
    let classes: Detector['info']['classes'] | undefined; // the dataset's names, set per dataset below
    const env: Partial<RunnerEnv> = {
      loadDetector: async (spec) => pixelHashDetector(spec, classes),
      listModels: async () => [],
      describeDetector: async (spec) => ({ kind: 'test detector', spec }),
    };
    const ds = await makeDataset(path.join(root, 'run-ds'), 9, { corrupt: [4], seed: 3 });
    const shapes = await writeFlatShapes(path.join(root, 'run-shapes'), 4, 60, 11);
    const debug: string[] = [];
    const logger = { info: () => undefined, warn: () => undefined, debug: (m: string) => debug.push(m) };
    const run = async (dataset: string, prepareWorkers: number, out: string) => {
      const r = await runBenchmark(
        {
          models: ['hash'],
          dataset,
          out: path.join(root, out),
          shifts: 'grid:2',
          mode: 'crop',
          bootstrapResamples: 20,
          bootstrapBounds: 20,
          prepareWorkers,
        },
        { env, logger },
      );
      const jsonl = await readFile(path.join(r.runDir, 'detections', 'hash.jsonl'), 'utf8');
      const records = jsonl
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l))
        .map(({ seconds: _s, ...rest }) => rest);
      const metrics = JSON.parse(await readFile(path.join(r.runDir, 'metrics.json'), 'utf8'));
      for (const res of metrics.results) delete res.timing;
      delete metrics.runId;
      delete metrics.createdAt;
      return { records, metrics };
    };
    for (const [dataset, label] of [
      [ds.file, 'noise'],
      [shapes.file, 'shapes'],
    ]) {
      classes = label === 'noise' ? ds.gt.categories : undefined;
      const off = await run(dataset, 0, `${label}-off`);
      const on = await run(dataset, 2, `${label}-on`);
      expect(on.records.length).toBeGreaterThan(3);
      expect(on.records).toEqual(off.records);
      expect(on.metrics).toEqual(off.metrics);
    }
    expect(debug.filter((m) => m.includes('preparing images on the main thread'))).toEqual([]);
  }, 120_000);
});

/** The CLI as a child process (tsx, like test/runner/sigint.test.ts). */
function cli(args: string[]) {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'src/cli/index.ts'), ...args], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stdout.on('data', () => undefined);
  child.stderr.on('data', (d) => (stderr += d));
  const done = new Promise<{ code: number | null; stderr: string }>((resolve) =>
    child.on('exit', (code) => resolve({ code, stderr })),
  );
  return { child, done };
}

/** A plug-in detector that waits `ms` per call and throws at call `failAt` (never when 0). */
const plugin = (ms: number, failAt: number) => `
let calls = 0;
export default {
  apiVersion: 1,
  name: 'feed',
  detectors: {
    det: () => ({
      info: { name: 'det', family: { stages: 'one-stage', anchors: 'anchor-free' }, inputSizePx: { width: 32, height: 32 }, classes: [{ id: 1, name: 'disc' }, { id: 2, name: 'square' }] },
      detect: async (batch) => {
        await new Promise((r) => setTimeout(r, ${ms}));
        if (++calls === ${failAt}) throw new Error('detector broke at call ${failAt}');
        return batch.map(() => []);
      },
      dispose: async () => {},
    }),
  },
};
`;

describe('shiftbench run with prepare workers ends cleanly', () => {
  it('a detector failure ends the run with exit 1 (no worker keeps the process alive)', async () => {
    const root = await tempDir();
    const { file: dataset } = await makeDataset(path.join(root, 'ds'), 20, { seed: 5 });
    const file = path.join(root, 'broken.mjs');
    await writeFile(file, plugin(5, 3));
    const r = await cli([
      'run',
      '--model',
      'feed/det',
      '--plugin',
      file,
      '--dataset',
      dataset,
      '--out',
      path.join(root, 'run'),
      '--prepare-workers',
      '2',
      '--bootstrap',
      '20',
    ]).done;
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain('detector broke at call 3');
  }, 120_000);

  it('Ctrl-C ends the run with exit 130 and the same command completes it', async () => {
    const root = await tempDir();
    const { file: dataset } = await makeDataset(path.join(root, 'ds'), 20, { seed: 6 });
    const file = path.join(root, 'slow.mjs');
    await writeFile(file, plugin(40, 0));
    const out = path.join(root, 'run');
    const args = [
      'run',
      '--model',
      'feed/det',
      '--plugin',
      file,
      '--dataset',
      dataset,
      '--out',
      out,
      '--prepare-workers',
      '2',
      '--bootstrap',
      '20',
    ];
    const first = cli(args);
    const jsonl = path.join(out, 'detections', `${keyFileName('feed/det')}.jsonl`);
    const lines = async () => (await readFile(jsonl, 'utf8').catch(() => '')).split('\n').length - 1;
    const deadline = Date.now() + 60_000;
    while ((await lines()) < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    first.child.kill('SIGINT');
    const stopped = await first.done;
    expect(stopped.code, stopped.stderr).toBe(130);
    const second = await cli(args).done;
    expect(second.code, second.stderr).toBe(0);
    expect(await lines()).toBe(20);
  }, 120_000);
});
