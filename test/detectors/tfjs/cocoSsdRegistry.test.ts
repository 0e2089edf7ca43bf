/**
 * The built-in `coco-ssd` registry entry (unpinned URL source) end to end: registry
 * validation of `sha256: null`, loading through `loadDetector('coco-ssd', { weightsDir })`
 * with the hand-made graph in the coco-ssd layout, pinned hashes still verified, and the
 * offline error through the library and the CLI (URL pointed at a refused localhost port).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelEntry, RgbImage } from '../../../src/core/types.js';
import { generateSynthDataset } from '../../../src/datasets/synth.js';
import { listModels, loadDetector, pullModel, validateModelEntry } from '../../../src/detectors/index.js';
import { REPO_ROOT } from '../../helpers/shared.js';
import { TWO_BOXES, writeFakeSsdModel } from './fakeGraph.js';

const SPEC = TWO_BOXES;
/** A localhost URL on a port just freed, so connections are refused at once ("offline", immediate and certain). */
let REFUSED_URL: string;

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

let tmp: string;
let weightsDir: string;
let builtin: ModelEntry;
/** A registry file holding the built-in entry, renamed (so no real cache interferes) and pointed at REFUSED_URL. */
let offlineRegistry: string;
let modelJsonSha: string;

beforeAll(async () => {
  REFUSED_URL = `http://127.0.0.1:${await freePort()}/tfjs-models/savedmodel/ssdlite_mobilenet_v2`;
  tmp = mkdtempSync(path.join(os.tmpdir(), 'shiftbench-cocossd-reg-'));
  weightsDir = path.join(tmp, 'weights');
  writeFakeSsdModel(weightsDir, SPEC);
  modelJsonSha = createHash('sha256')
    .update(readFileSync(path.join(weightsDir, 'model.json')))
    .digest('hex');
  builtin = listModels().find((e) => e.name === 'coco-ssd')!;
  offlineRegistry = path.join(tmp, 'offline.json');
  writeFileSync(
    offlineRegistry,
    JSON.stringify({
      models: [{ ...builtin, name: 'coco-ssd-offline', source: { kind: 'url', baseUrl: REFUSED_URL } }],
    }),
  );
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const image = (value = 100): RgbImage => ({ width: 300, height: 300, data: new Uint8Array(300 * 300 * 3).fill(value) });

describe('coco-ssd registry entry', () => {
  it('is in models/registry.json: SSD MobileNet v2 lite at the URL @tensorflow-models/coco-ssd uses, model.json unpinned', () => {
    expect(builtin).toBeDefined();
    expect(builtin.format).toBe('coco-ssd');
    expect(builtin.family).toEqual({ stages: 'one-stage', anchors: 'anchor-based' });
    expect(builtin.source).toEqual({
      kind: 'url',
      baseUrl: 'https://storage.googleapis.com/tfjs-models/savedmodel/ssdlite_mobilenet_v2',
    });
    expect(builtin.files).toEqual([{ name: 'model.json', sha256: null }]);
    expect(builtin.inputSizePx).toEqual({ width: 300, height: 300 });
    expect(builtin.decoder.name).toBe('ssd-boxes');
  });

  it('accepts sha256 null only for files of a url source', () => {
    const where = 'in test.json at models[0]';
    expect(validateModelEntry({ ...builtin }, where).files[0].sha256).toBeNull();
    const npm = { ...builtin, source: { kind: 'npm', package: 'p', version: '1.0.0', files: ['model.json'] } };
    const onlyUrl = '(null, unpinned, is allowed only for a "url" source) for files[0].sha256 but received null';
    expect(() => validateModelEntry(npm, where)).toThrow(onlyUrl);
    const local = { ...builtin, source: { kind: 'path', dir: weightsDir } };
    expect(() => validateModelEntry(local, where)).toThrow(onlyUrl);
    expect(() => validateModelEntry({ ...builtin, files: [{ name: 'model.json', sha256: 'abc' }] }, where)).toThrow(
      'expected a sha256 as 64 lower-case hex digits or null (unpinned) for files[0].sha256 but received "abc"',
    );
  });
});

describe("loadDetector('coco-ssd', { weightsDir })", () => {
  it('loads the hand-made graph from --weights DIR without pulling, records the real sha256 and detects', async () => {
    const det = await loadDetector('coco-ssd', {
      backend: 'wasm',
      weightsDir,
      cacheDir: path.join(tmp, 'cache'),
      allowPull: false,
    });
    try {
      expect(det.info.name).toBe('coco-ssd');
      expect(det.info.details?.inputDtype).toBe('int32');
      expect(det.info.files[0]).toEqual({ path: path.join(weightsDir, 'model.json'), sha256: modelJsonSha });
      expect(det.info.files[1].path).toBe(path.join(weightsDir, 'group1-shard1of1.bin'));
      const [dets] = await det.detect([image()]);
      expect(dets.map((d) => d.categoryId)).toEqual([1, 3]);
      expect(dets[0].score).toBeCloseTo(0.9, 5);
      // [ymin,xmin,ymax,xmax] = [0.1,0.2,0.5,0.6] of 300 px → x 60, y 30, w 120, h 120
      dets[0].bbox.forEach((v, i) => expect(v).toBeCloseTo([60, 30, 120, 120][i], 3));
    } finally {
      await det.dispose();
    }
    expect(existsSync(path.join(tmp, 'cache', 'coco-ssd'))).toBe(false);
  });

  it('still verifies a pinned hash: the right one loads, a wrong one is ERR_MODEL_HASH', async () => {
    const pinned = path.join(tmp, 'pinned.json');
    const entry = (sha256: string) => ({
      ...builtin,
      name: 'coco-ssd-pinned',
      files: [{ name: 'model.json', sha256 }],
    });
    writeFileSync(pinned, JSON.stringify([entry(modelJsonSha)]));
    const det = await loadDetector('coco-ssd-pinned', { backend: 'wasm', weightsDir, registryFiles: [pinned] });
    await det.dispose();
    writeFileSync(pinned, JSON.stringify([entry('f'.repeat(64))]));
    const err = await loadDetector('coco-ssd-pinned', { backend: 'wasm', weightsDir, registryFiles: [pinned] }).catch(
      (e) => e,
    );
    expect(err.code).toBe('ERR_MODEL_HASH');
    expect(err.message).toContain(`expected ${'f'.repeat(64)}`);
    expect(err.message).toContain(`found ${modelJsonSha}`);
  });

  it('unpinned url files are never fetched: ERR_MODEL_HASH naming the file, how to pin it and the --weights fix', async () => {
    const err = await loadDetector('coco-ssd-offline', {
      backend: 'wasm',
      registryFiles: [offlineRegistry],
      cacheDir: path.join(tmp, 'cache'),
    }).catch((e) => e);
    expect(err.code).toBe('ERR_MODEL_HASH');
    expect(err.message).toContain(
      `Could not load coco-ssd weights from ${REFUSED_URL}: model.json has no sha256 in the entry, and files are fetched from a URL only when pinned.`,
    );
    expect(err.message).toContain('list model.json and each shard of its weightsManifest in "files" with its "sha256"');
    expect(err.message).toContain(
      'Pass a local copy with --weights DIR: a folder holding model.json and every weight shard',
    );
  });

  it('pullModel fetches through the coco-ssd resolver (model.json and its shards), so `models pull` refuses the same way', async () => {
    const entry = listModels({ registryFiles: [offlineRegistry] }).find((e) => e.name === 'coco-ssd-offline')!;
    const err = await pullModel(entry, { cacheDir: path.join(tmp, 'cache') }).catch((e) => e);
    expect(err.code).toBe('ERR_MODEL_HASH');
    expect(err.message).toContain(`${REFUSED_URL}: model.json has no sha256`);
    // a cache holding model.json and every shard is used as is
    const cacheDir = path.join(tmp, 'filled-cache');
    writeFakeSsdModel(path.join(cacheDir, 'coco-ssd-offline'), SPEC);
    expect(await pullModel(entry, { cacheDir })).toBe(path.join(cacheDir, 'coco-ssd-offline'));
  });
});

describe('shiftbench run with coco-ssd (CLI)', () => {
  let dataset: string;
  beforeAll(async () => {
    const synth = await generateSynthDataset({
      outDir: path.join(tmp, 'synth'),
      valImages: 2,
      splits: ['val'],
      sizePx: 64,
    });
    // its images alone (label-free): the synthetic shapes are not COCO's categories, which the run would refuse
    dataset = path.join(path.dirname(synth.splits[0].annotationFile), 'images');
  });
  const cli = (...args: string[]) => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'src/cli/index.ts'), ...args], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
    });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };

  it('offline: exit 1 with the URL and the --weights fix', () => {
    const r = cli(
      'run',
      '--model',
      'coco-ssd-offline',
      '--registry',
      offlineRegistry,
      '--dataset',
      dataset,
      '--limit',
      '2',
      '--out',
      path.join(tmp, 'run-offline'),
      '--backend',
      'wasm',
      '--quiet',
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`Could not load coco-ssd weights from ${REFUSED_URL}`);
    expect(r.stderr).toContain('Pass a local copy with --weights DIR');
  });

  it('--weights DIR is passed through to the detector and recorded in the manifest', () => {
    const out = path.join(tmp, 'run-weights');
    const r = cli(
      'run',
      '--model',
      'coco-ssd',
      '--weights',
      weightsDir,
      '--dataset',
      dataset,
      '--limit',
      '2',
      '--out',
      out,
      '--backend',
      'wasm',
      '--quiet',
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const manifest = JSON.parse(readFileSync(path.join(out, 'manifest.json'), 'utf8'));
    expect(manifest.options.weightsDir).toBe(weightsDir);
    // the identity holds the content of the weights used, not their path
    expect(manifest.identity.detectors['coco-ssd'].files['model.json']).toBe(modelJsonSha);
    expect(manifest.detectors[0].files[0]).toEqual({ path: path.join(weightsDir, 'model.json'), sha256: modelJsonSha });
  });
});
