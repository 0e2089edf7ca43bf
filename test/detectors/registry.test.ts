import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  entryClasses,
  entryOrigin,
  listModels,
  parseRegistry,
  readRegistry,
  validateModelEntry,
} from '../../src/detectors/index.js';
import type { ShiftbenchError } from '../../src/core/errors.js';

export const VALID_ENTRY = {
  name: 'tiny',
  family: { stages: 'one-stage', anchors: 'anchor-free' },
  format: 'onnx',
  source: { kind: 'path', dir: '.' },
  files: [{ name: 'tiny.onnx', sha256: 'a'.repeat(64) }],
  inputSizePx: { width: 64, height: 64 },
  layout: 'NCHW',
  colorOrder: 'RGB',
  normalize: { mean: [0, 0, 0], std: [255, 255, 255] },
  fit: 'stretch',
  decoder: { name: 'fastestdet' },
  classes: 'coco80',
};

function caught(fn: () => unknown): ShiftbenchError {
  try {
    fn();
  } catch (err) {
    return err as ShiftbenchError;
  }
  throw new Error('expected a throw');
}

/** validateModelEntry on VALID_ENTRY changed by `mutate`: the ERR_REGISTRY it throws, checked to name file and entry. */
function refusal(mutate: (e: Record<string, any>) => void): { code: string; message: string } {
  const e = structuredClone(VALID_ENTRY) as Record<string, any>;
  mutate(e);
  const err = caught(() => validateModelEntry(e, 'in reg.json at models[3] ("tiny")'));
  expect(err.code).toBe('ERR_REGISTRY');
  expect(err.message.startsWith('Invalid model entry in reg.json at models[3] ("tiny"): ')).toBe(true);
  return err;
}

describe('validateModelEntry', () => {
  it('accepts a valid entry', () => {
    expect(validateModelEntry(structuredClone(VALID_ENTRY), 'here').name).toBe('tiny');
  });
  const cases: [string, (e: Record<string, any>) => void, string][] = [
    [
      'format',
      (e) => (e.format = 'onnxx'),
      'expected one of "onnx", "tfjs-graph", "coco-ssd", "kserve" for format but received "onnxx"',
    ],
    [
      'family.anchors',
      (e) => (e.family.anchors = 'anchorless'),
      'expected one of "anchor-based", "anchor-free" for family.anchors but received "anchorless"',
    ],
    [
      'files[0].sha256',
      (e) => (e.files[0].sha256 = 'abc'),
      'expected a sha256 as 64 lower-case hex digits for files[0].sha256 but received "abc"',
    ],
    [
      'inputSizePx.width',
      (e) => (e.inputSizePx.width = 0),
      'expected a positive integer for inputSizePx.width but received 0',
    ],
    [
      'normalize.std',
      (e) => (e.normalize.std = [1, 0, 1]),
      'expected an array of 3 positive numbers for normalize.std but received [1, 0, 1]',
    ],
    [
      'files[0].name',
      (e) => (e.files[0].name = '../x.onnx'),
      'expected a relative file name for files[0].name but received "../x.onnx"',
    ],
    ['name', (e) => (e.name = 'a/b'), 'for name but received "a/b"'],
    [
      'npm source files',
      (e) => (e.source = { kind: 'npm', package: 'p', version: '1.0.0', files: ['models/other.onnx'] }),
      'expected a package path for every file (none ends in "tiny.onnx") for source.files',
    ],
    [
      'source.kind of a coco-ssd entry',
      (e) => {
        e.format = 'coco-ssd';
        e.source = { kind: 'npm', package: 'p', version: '1.0.0', files: ['tiny.onnx'] };
      },
      'expected one of "path", "url" (format "coco-ssd") for source.kind but received "npm"',
    ],
    [
      'files[1].name (a second file of the same name)',
      (e) => e.files.push({ name: 'tiny.onnx', sha256: 'b'.repeat(64) }),
      'expected a file name not listed before (files[0] is "tiny.onnx" too) for files[1].name but received "tiny.onnx"',
    ],
  ];
  for (const [field, mutate, text] of cases) {
    it(`names the file, entry and field: ${field}`, () => {
      expect(refusal(mutate).message).toContain(text);
    });
  }
});

describe('validateModelEntry: a field it does not know is refused, not ignored', () => {
  // a misspelt optional field (padvalue, dynamic_batch) silently ran the model with the default instead
  const cases: [string, (e: Record<string, any>) => void, string][] = [
    ['padvalue', (e) => (e.padvalue = [114, 114, 114]), 'unknown field "padvalue" (did you mean "padValue"?)'],
    ['dynamic_batch', (e) => (e.dynamic_batch = false), 'unknown field "dynamic_batch"'],
    ['normalize.stdev', (e) => (e.normalize.stdev = [1, 1, 1]), 'unknown field "normalize.stdev"'],
    ['inputSizePx.w', (e) => (e.inputSizePx.w = 32), 'unknown field "inputSizePx.w"'],
    ['source.dirs', (e) => (e.source.dirs = 'x'), 'unknown field "source.dirs"'],
    ['files[0].sha', (e) => (e.files[0].sha = 'x'), 'unknown field "files[0].sha"'],
    ['family.stage', (e) => (e.family.stage = 'x'), 'unknown field "family.stage"'],
  ];
  for (const [field, mutate, text] of cases) {
    it(`names the file, entry and field: ${field}`, () => {
      const err = refusal(mutate);
      expect(err.message).toContain(text);
      expect(err.message).toMatch(/remove it or correct its name/);
    });
  }
});

describe('validateModelEntry: coco-ssd input', () => {
  it('a coco-ssd entry whose normalize is not the identity is refused: its int32 input is raw 0–255', () => {
    // the graph takes raw pixels; a mean/std in the entry was recorded in the identity but never applied
    const e = structuredClone(VALID_ENTRY) as Record<string, any>;
    e.format = 'coco-ssd';
    e.source = { kind: 'url', baseUrl: 'http://example.com/m' };
    e.files = [{ name: 'model.json', sha256: null }];
    e.decoder = { name: 'ssd-boxes' };
    const err = caught(() => validateModelEntry(e, 'in reg.json at models[3] ("tiny")'));
    expect(err.code).toBe('ERR_REGISTRY');
    expect(err.message).toContain('for normalize');
    expect(err.message).toContain('{ "mean": [0, 0, 0], "std": [1, 1, 1] }');
    e.normalize = { mean: [0, 0, 0], std: [1, 1, 1] };
    expect(validateModelEntry(e, 'x').format).toBe('coco-ssd');
  });
});

describe('validateModelEntry: the built-in registries', () => {
  it('accepts every field the built-in registries use', () => {
    expect(listModels().length).toBeGreaterThan(0);
  });
});

describe('parseRegistry / readRegistry', () => {
  it('reads { models: [...] }, a bare array and a single entry; records the origin', () => {
    const a = parseRegistry(JSON.stringify({ models: [VALID_ENTRY] }), '/x/a.json');
    expect(a[0].name).toBe('tiny');
    expect(entryOrigin(a[0])).toBe(path.resolve('/x/a.json'));
    expect(parseRegistry(JSON.stringify([VALID_ENTRY]), 'b.json')).toHaveLength(1);
    expect(parseRegistry(JSON.stringify(VALID_ENTRY), 'c.json')).toHaveLength(1);
  });
  it('rejects bad JSON, duplicates in one file and unknown layouts', () => {
    expect(caught(() => parseRegistry('{', 'r.json')).message).toMatch(/^Registry file r\.json is not valid JSON: /);
    expect(caught(() => parseRegistry(JSON.stringify({ models: [VALID_ENTRY, VALID_ENTRY] }), 'r.json')).message).toBe(
      'Registry file r.json has two entries named "tiny"',
    );
    expect(caught(() => parseRegistry('{"entries": []}', 'r.json')).message).toBe(
      'Registry file r.json must hold { "models": [ ...entries ] }, an array of entries, or one entry object',
    );
    const err = caught(() =>
      parseRegistry(
        JSON.stringify({ models: [VALID_ENTRY, { ...VALID_ENTRY, name: 'two', layout: 'CHW' }] }),
        'r.json',
      ),
    );
    expect(err.message).toBe(
      'Invalid model entry in r.json at models[1] ("two"): expected one of "NHWC", "NCHW" for layout but received "CHW"',
    );
  });
  it('lets later files override earlier ones and names a missing file', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sb-reg-'));
    writeFileSync(path.join(dir, 'a.json'), JSON.stringify({ models: [VALID_ENTRY] }));
    writeFileSync(path.join(dir, 'b.json'), JSON.stringify({ models: [{ ...VALID_ENTRY, description: 'mine' }] }));
    const entries = readRegistry([path.join(dir, 'a.json'), path.join(dir, 'b.json')]);
    expect(entries).toHaveLength(1);
    expect(entries[0].description).toBe('mine');
    const err = caught(() => readRegistry([path.join(dir, 'nope.json')]));
    expect(err.code).toBe('ERR_INVALID_OPTION'); // a bad --registry value (exit 2), as a missing --plugin file
    expect(err.message).toContain(`Could not read registry file ${path.join(dir, 'nope.json')}`);
    expect(err.message).toContain('Check the path given to --registry.');
  });
  it('listModels includes user files after the built-ins', () => {
    const names = listModels({ registryFiles: ['test/fixtures/registry-shared.json'] }).map((e) => e.name);
    expect(names).toEqual(expect.arrayContaining(['fastestdet', 'yolo-fastestv2', 'nanodet-m-416', 'nanodet-m-320']));
  });
  it('expands coco80 into the 80 COCO categories', () => {
    const classes = entryClasses(validateModelEntry(structuredClone(VALID_ENTRY), 'x'));
    expect(classes).toHaveLength(80);
    expect(classes[0]).toMatchObject({ id: 1, name: 'person' });
    expect(classes[79]).toMatchObject({ id: 90, name: 'toothbrush' });
  });
});
