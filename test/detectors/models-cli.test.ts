import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/shared.js';

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'src/cli/index.ts'), ...args], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const entry = (name: string, source: Record<string, unknown>, files: { name: string; sha256: string }[]) => ({
  name,
  family: { stages: 'two-stage', anchors: 'anchor-based' },
  format: 'onnx',
  source,
  files,
  inputSizePx: { width: 320, height: 240 },
  layout: 'NCHW',
  colorOrder: 'RGB',
  normalize: { mean: [0, 0, 0], std: [255, 255, 255] },
  fit: 'letterbox',
  decoder: { name: 'torchvision' },
  classes: 'coco80',
});

describe('shiftbench models', () => {
  let dir: string;
  let registry: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'sb-models-cli-'));
    writeFileSync(path.join(dir, 'local.onnx'), 'bytes');
    const sha = createHash('sha256').update('bytes').digest('hex');
    registry = path.join(dir, 'reg.json');
    writeFileSync(
      registry,
      JSON.stringify({
        models: [
          entry('local-model', { kind: 'path', dir: '.' }, [{ name: 'local.onnx', sha256: sha }]),
          entry('remote-model', { kind: 'npm', package: '@acme/m', version: '2.0.0', files: ['m.onnx'] }, [
            { name: 'm.onnx', sha256: 'c'.repeat(64) },
          ]),
        ],
      }),
    );
  });

  it('list prints a table with family, format, input, source and cache state', () => {
    const r = cli('models', 'list', '--registry', registry, '--cache-dir', path.join(dir, 'cache'));
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^name\s+stages\s+anchors\s+format\s+input\s+source\s+cached$/);
    expect(lines).toContainEqual(
      expect.stringMatching(/^local-model\s+two-stage\s+anchor-based\s+onnx\s+320x240\s+path:\.\s+yes$/),
    );
    expect(lines).toContainEqual(
      expect.stringMatching(/^remote-model\s+two-stage\s+anchor-based\s+onnx\s+320x240\s+npm:@acme\/m@2\.0\.0\s+no$/),
    );
  });
  it('list --json prints the entries with a cached flag', () => {
    const r = cli('models', 'list', '--json', '--registry', registry, '--cache-dir', path.join(dir, 'cache'));
    expect(r.code).toBe(0);
    const list = JSON.parse(r.stdout) as { name: string; cached: boolean }[];
    expect(list.find((e) => e.name === 'local-model')?.cached).toBe(true);
    expect(list.find((e) => e.name === 'remote-model')?.cached).toBe(false);
  });
  it('pull verifies a model and says where it is', () => {
    const r = cli('models', 'pull', 'local-model', '--registry', registry);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(`local-model: 1 file(s) in ${dir}, sha256 verified`);
  });
  it('pull of an unknown name is a usage error (exit 2) listing the models', () => {
    const r = cli('models', 'pull', 'nope', '--registry', registry);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^shiftbench: Unknown model "nope"\. Available: .*local-model, remote-model/);
  });
  it('an invalid registry fails with exit 1 naming the file and field', () => {
    const bad = path.join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ models: [{ ...entry('x', { kind: 'path', dir: '.' }, []), fit: 'crop' }] }));
    const r = cli('models', 'list', '--registry', bad);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(
      `shiftbench: Invalid model entry in ${bad} at models[0] ("x"): expected a non-empty array of { name, sha256 } (the first is the model file) for files but received an array of length 0`,
    );
  });
});
