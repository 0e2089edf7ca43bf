import { existsSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import * as lib from '../../src/index.js';
import { makeDataset, tempDir } from './fixtures.js';

// A misspelt option from a library caller must be refused by name (ERR_INVALID_OPTION), never ignored for its
// default, and before anything is written: one row per public entry point that takes an options object.
describe('public entry points refuse an option they do not know', () => {
  let root: string;
  let dataset: string;

  beforeAll(async () => {
    root = await tempDir('shiftbench-unknown-');
    ({ file: dataset } = await makeDataset(path.join(root, 'ds'), 2));
  });

  function rows(): [string, () => unknown, string, string | null][] {
    const out = (name: string) => path.join(root, name);
    const missing = path.join(root, 'no-such-run');
    const image = { width: 4, height: 4, data: new Uint8Array(48) };
    const shiftSet = lib.parseShiftSet('grid:1');
    const bounds = {
      gt: { images: [{ id: 1, width: 8, height: 8 }], annotations: [], categories: [{ id: 1, name: 'a' }] },
      shifts: [{ dx: 0, dy: 0 }],
      dets: [[]],
    };
    const entry = { name: 'x', format: 'onnx-yolo', source: { kind: 'url', url: 'http://127.0.0.1:9/x' } };
    // [entry point, call, misspelt key, path that must not exist afterwards (or null)]
    return [
      [
        'exportInputs',
        () => lib.exportInputs({ dataset, out: out('export'), limt: 1 } as never),
        'limt',
        out('export'),
      ],
      [
        'scoreExport',
        () =>
          lib.scoreExport(missing, {
            name: 'x',
            family: 'one-stage,anchor-free',
            out: out('score'),
            scoreThreshhold: 0.3,
          } as never),
        'scoreThreshhold',
        out('score'),
      ],
      [
        'mergeShards',
        () => lib.mergeShards({ runs: [missing, missing], out: out('merge'), forse: true } as never),
        'forse',
        out('merge'),
      ],
      ['pairRuns', () => lib.pairRuns(missing, missing, { bootstrapSeeed: 1 } as never), 'bootstrapSeeed', null],
      [
        'runExperiment options',
        () => lib.runExperiment({ models: ['oracle'], datasets: [dataset] }, { out: out('exp'), dataset } as never),
        'dataset',
        out('exp'),
      ],
      [
        'runExperiment config',
        () => lib.runExperiment({ models: ['oracle'], datasets: [dataset], limt: 1 } as never, { out: out('exp2') }),
        'limt',
        out('exp2'),
      ],
      [
        'renderReport',
        () => lib.renderReport(missing, { outFile: out('r.html'), galery: 2 } as never),
        'galery',
        out('r.html'),
      ],
      [
        'writeReportText',
        () => lib.writeReportText(missing, 'md', { outFile: out('r.md'), galery: 2 } as never),
        'galery',
        out('r.md'),
      ],
      [
        'computeConsistency',
        () => lib.computeConsistency([], 1, { scoreThreshhold: 0.3 } as never),
        'scoreThreshhold',
        null,
      ],
      [
        'ShiftEvaluator',
        () => new lib.ShiftEvaluator({ shifts: shiftSet.shifts, groundTruth: null, scoreThreshhold: 0.3 } as never),
        'scoreThreshhold',
        null,
      ],
      ['greedyBounds', () => lib.greedyBounds(bounds as never, { objectiv: 'ap50' } as never), 'objectiv', null],
      [
        'greedyBoundsParallel',
        () => lib.greedyBoundsParallel(lib.prepareBounds(bounds as never), 20, { worker: false } as never),
        'worker',
        null,
      ],
      ['loadDetector', () => lib.loadDetector('oracle', { scoreTreshold: 0.3 } as never), 'scoreTreshold', null],
      [
        'pullModel',
        () => lib.pullModel(entry as never, { cacheDir: out('cache'), alowPull: false } as never),
        'alowPull',
        out('cache'),
      ],
      [
        'generateSynthDataset',
        () => lib.generateSynthDataset({ outDir: out('synth'), valImages: 1, trainImage: 1 } as never),
        'trainImage',
        out('synth'),
      ],
      [
        'ensureSynthDataset',
        () => lib.ensureSynthDataset(out('synth2'), { valImage: 1 } as never),
        'valImage',
        out('synth2'),
      ],
      [
        'makeShiftedInputs',
        () =>
          lib.makeShiftedInputs(
            image as never,
            {
              inputSizePx: { width: 4, height: 4 },
              fit: 'letterbox',
              padValue: [0, 0, 0],
              mode: 'pad',
              shiftSet,
              kernl: 'nearest',
            } as never,
          ),
        'kernl',
        null,
      ],
      ['selectBackend', () => lib.selectBackend('cpu', { thread: 2 } as never), 'thread', null],
      [
        'checkRunDir',
        () => lib.checkRunDir(missing, { maxRange: 0.1 }, { baselinDir: missing } as never),
        'baselinDir',
        null,
      ],
      ['runDemo', () => lib.runDemo({}, { datasetDir: out('demo'), limt: 2 } as never), 'limt', out('demo')],
      ['loadDataset', () => lib.loadDataset({ dataset, limt: 1 } as never), 'limt', null],
      [
        'runBenchmark hooks',
        () => lib.runBenchmark({ models: ['oracle'], dataset, out: out('run-hooks') }, { singal: null } as never),
        'singal',
        out('run-hooks'),
      ],
      [
        'runBenchmark hooks.env',
        () =>
          lib.runBenchmark({ models: ['oracle'], dataset, out: out('run-env') }, {
            env: { loadDetectr: () => null },
          } as never),
        'loadDetectr',
        out('run-env'),
      ],
      [
        'exportInputs hooks.env',
        () => lib.exportInputs({ dataset, out: out('export-env') }, { env: { decodeImg: () => null } } as never),
        'decodeImg',
        out('export-env'),
      ],
    ];
  }

  const names = [
    'exportInputs',
    'scoreExport',
    'mergeShards',
    'pairRuns',
    'runExperiment options',
    'runExperiment config',
    'renderReport',
    'writeReportText',
    'computeConsistency',
    'ShiftEvaluator',
    'greedyBounds',
    'greedyBoundsParallel',
    'loadDetector',
    'pullModel',
    'generateSynthDataset',
    'ensureSynthDataset',
    'makeShiftedInputs',
    'selectBackend',
    'checkRunDir',
    'runDemo',
    'loadDataset',
    'runBenchmark hooks',
    'runBenchmark hooks.env',
    'exportInputs hooks.env',
  ];

  it('the table covers every row', () => {
    expect(rows().map(([name]) => name)).toEqual(names);
  });

  it.each(names)(
    '%s names the misspelt key, lists the allowed ones, and writes nothing',
    async (name) => {
      const [, call, key, written] = rows().find(([n]) => n === name)!;
      const err = (await (async () => call())().catch((e: unknown) => e)) as Error & { code?: string };
      expect(err?.name).toBe('ShiftbenchError');
      expect(err.code).toBe('ERR_INVALID_OPTION');
      expect(err.message).toMatch(/^Expected only .+ \(.+\) for \S+ but received "[^"]+"$/);
      expect(err.message.endsWith(`but received "${key}"`)).toBe(true);
      if (written !== null) expect(existsSync(written)).toBe(false);
    },
    20_000,
  );
});
