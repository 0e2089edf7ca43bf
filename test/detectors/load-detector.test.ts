import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeDetector, loadDetector } from '../../src/detectors/index.js';
import { REPO_ROOT, rejection } from '../helpers/shared.js';

describe('loadDetector spec resolution', () => {
  it('an unknown name lists fakes, plug-in detectors and registry models, and what else can be given', async () => {
    const err = await rejection(
      loadDetector('nosuchmodel', { plugins: [path.join(REPO_ROOT, 'examples/plugins/blob-detector.mjs')] }),
    );
    expect(err.code).toBe('ERR_INVALID_OPTION');
    expect(err.message).toMatch(/^Unknown model "nosuchmodel"\. Available: oracle, jitter, blobs\/saturated/);
    expect(err.message).toContain(
      'You can also give a registry-entry .json file, an .onnx file with a sibling .json entry, a plug-in detector with --plugin FILE, or more registries with --registry FILE (see docs/models.md).',
    );
  });
  it('a model path that does not exist says the file does not exist (not "Unknown model")', async () => {
    const missing = path.join(os.tmpdir(), 'sb-no-such-dir', 'nope.onnx');
    const err = await rejection(loadDetector(missing));
    expect(err.code).toBe('ERR_INVALID_OPTION');
    expect(err.message).toMatch(new RegExp(`^--model ${missing.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: no such file`));
  });

  it('an entry .json path is validated with the file named', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sb-load-'));
    const file = path.join(dir, 'mine.json');
    writeFileSync(file, JSON.stringify({ name: 'mine', format: 'onnx' }));
    const err = await rejection(loadDetector(file));
    expect(err.code).toBe('ERR_REGISTRY');
    expect(err.message).toBe(
      `Invalid model entry in ${file} at the entry ("mine"): expected an object for family but received undefined`,
    );
  });
  it('a plug-in detector name is not mistaken for a path or registry name', async () => {
    const det = await loadDetector('blobs/saturated', {
      plugins: [path.join(REPO_ROOT, 'examples/plugins/blob-detector.mjs')],
    });
    expect(det.info.runtime).toBe('plugin blobs (plain JavaScript)');
  });

  describe('a model folder', () => {
    const entry = {
      name: 'mine',
      family: { stages: 'one-stage', anchors: 'anchor-free' },
      format: 'onnx',
      inputSizePx: { width: 32, height: 32 },
      layout: 'NCHW',
      colorOrder: 'RGB',
      normalize: { mean: [0, 0, 0], std: [255, 255, 255] },
      fit: 'letterbox',
      decoder: { name: 'yolox' },
      classes: 'coco80',
    };
    const folder = (files: Record<string, string>) => {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'sb-model-dir-'));
      for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
      return dir;
    };
    it('holding one .onnx file is that file', async () => {
      const dir = folder({ 'mine.onnx': 'bytes', 'mine.json': JSON.stringify(entry), 'coco.names': 'person' });
      const infos: string[] = [];
      const logger = { info: (m: string) => infos.push(m), warn: () => {} };
      expect(await describeDetector(dir, { logger })).toEqual(await describeDetector(path.join(dir, 'mine.onnx')));
      expect(infos).toContain(`--model ${dir}: using ${path.join(dir, 'mine.onnx')}, the one .onnx file in it`);
    });
    it('holding one .onnx file without an entry asks for the entry beside that file', async () => {
      const dir = folder({ 'FastestDet.onnx': 'bytes', 'coco.names': 'person' });
      const err = await rejection(loadDetector(dir));
      expect(err.code).toBe('ERR_INVALID_OPTION');
      expect(err.message).toMatch(
        new RegExp(
          `^Model file ${path.join(dir, 'FastestDet.onnx').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} needs a registry entry beside it \\(FastestDet\\.onnx\\.json or FastestDet\\.json\\)`,
        ),
      );
    });
    it('holding several .onnx files names them and asks for one', async () => {
      const dir = folder({ 'm_320.onnx': 'a', 'm_416.onnx': 'b' });
      const err = await rejection(loadDetector(dir));
      expect(err.code).toBe('ERR_INVALID_OPTION');
      expect(err.message).toBe(
        `--model ${dir} is a folder holding 2 .onnx files (m_320.onnx, m_416.onnx); give one of them, e.g. --model ${path.join(dir, 'm_320.onnx')}`,
      );
    });
    it('holding no .onnx file says what to give', async () => {
      const dir = folder({ 'README.md': 'hi' });
      const err = await rejection(loadDetector(dir));
      expect(err.code).toBe('ERR_INVALID_OPTION');
      expect(err.message).toBe(
        `--model ${dir} is a folder with no .onnx file in it. Give an .onnx file (with its sibling .json entry), a ` +
          'folder holding exactly one such file, a registry-entry .json file, or a registry name (`shiftbench models list`).',
      );
    });
  });
});
