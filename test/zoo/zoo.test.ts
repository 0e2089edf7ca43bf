/**
 * The committed model zoo (models/zoo/zoo.json): each model's file matches its sha256,
 * its entry is complete (family, twin, anti-aliasing, training facts), and run through
 * the harness (loadDetector + evaluateCoco) on the deterministic synth val split it
 * reproduces, within 0.01, the val mAP the TRAINING side measured (PyTorch model, the
 * python evaluation in models/zoo/train/train.py, printed in models/zoo/logs/<name>.log)
 * — not a number the harness wrote itself. CI does not train.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ModelEntry } from '../../src/core/types.js';
import { ensureSynthDataset, SYNTH_CLASSES } from '../../src/datasets/index.js';
import { evaluateZooModel, ZOO_VAL_IMAGES } from '../../models/zoo/train/zooEval.js';
import { REPO_ROOT } from '../helpers/shared.js';

const ZOO_DIR = path.join(REPO_ROOT, 'models/zoo');
const ZOO_FILE = path.join(ZOO_DIR, 'zoo.json');
const zoo: ModelEntry[] = existsSync(ZOO_FILE)
  ? (JSON.parse(readFileSync(ZOO_FILE, 'utf8')) as { models: ModelEntry[] }).models
  : [];
const valDir = path.join(os.tmpdir(), `shiftbench-zoo-synth-val-${ZOO_VAL_IMAGES}`);

/** The val mAP train.py printed at the end of training (its last "python monitor" line), or null. */
function trainingLogMap(name: string): number | null {
  const log = path.join(ZOO_DIR, 'logs', `${name}.log`);
  if (!existsSync(log)) return null;
  const found = [...readFileSync(log, 'utf8').matchAll(/val mAP@\[\.5:\.95\] \(python monitor\) = ([0-9.]+)/g)];
  return found.length > 0 ? Number(found[found.length - 1][1]) : null;
}

describe('model zoo registry', () => {
  it('has models', () => {
    expect(zoo.length).toBeGreaterThan(0);
  });

  it('pairs every model with an existing twin of the same family and the other anti-aliasing', () => {
    for (const e of zoo) {
      const twin = zoo.find((t) => t.name === e.meta?.twin);
      if (!twin) continue; // a twin still training is allowed to be absent
      expect(twin.meta?.twin).toBe(e.name);
      expect(twin.family).toEqual(e.family);
      expect(Boolean(twin.meta?.antialias)).toBe(!e.meta?.antialias);
      expect(twin.meta?.trainingConfig).toMatchObject({
        arch: (e.meta?.trainingConfig as { arch: string }).arch,
        seed: 0,
      });
    }
  });

  it.each(zoo.map((e) => [e.name, e] as const))('%s: entry is complete and file matches its sha256', (_name, e) => {
    expect(e.format).toBe('onnx');
    expect(e.source).toEqual({ kind: 'path', dir: 'models/zoo' });
    // a circular-exact model (meta.equivariance) must not have its boxes clipped to the input
    const params = e.meta?.equivariance ? { labels: 'category-id', clipBoxes: false } : { labels: 'category-id' };
    expect(e.decoder).toEqual({ name: 'torchvision', params });
    expect(e.classes).toEqual(SYNTH_CLASSES.map((c) => ({ id: c.id, name: c.name })));
    expect(e.inputSizePx).toEqual({ width: 256, height: 256 });
    expect(['blur3', 'blur5', false]).toContain(e.meta?.antialias);
    expect(typeof e.meta?.valMap).toBe('number');
    // onnxruntime reproduces PyTorch: at most a near-tie in 50 (another anchor picked), never more than a pixel
    const check = e.meta?.ortTorchCheck as { detections: number; over1e3: number };
    expect(check.detections).toBeGreaterThan(0);
    expect(check.over1e3 / check.detections).toBeLessThanOrEqual(0.02);
    expect(e.meta?.ortTorchMaxAbsDiff as number).toBeLessThan(1);
    const file = path.join(ZOO_DIR, e.files[0].name);
    const bytes = readFileSync(file);
    expect(bytes.length).toBeLessThanOrEqual(10 * 1024 * 1024);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(e.files[0].sha256);
  });
});

describe('model zoo val mAP through the harness', () => {
  beforeAll(async () => {
    await ensureSynthDataset(valDir, { splits: ['val'], valImages: ZOO_VAL_IMAGES, seed: 0, sizePx: 256 });
  });

  it.each(zoo.map((e) => [e.name, e] as const))(
    '%s reproduces the val mAP of its training log within 0.01',
    async (name, e) => {
      const trained = trainingLogMap(name);
      expect(trained, `models/zoo/logs/${name}.log has no "val mAP@[.5:.95] (python monitor)" line`).not.toBeNull();
      expect(e.meta!.pythonValMap).toBe(trained); // train.py wrote the same number into zoo.json
      const r = await evaluateZooModel(name, path.join(valDir, 'val'));
      expect(r.images).toBe(ZOO_VAL_IMAGES);
      expect(Math.abs(r.valMap - trained!)).toBeLessThanOrEqual(0.01);
    },
  );
});
