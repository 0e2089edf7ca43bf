import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadDetector } from '../../src/detectors/index.js';
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
});
