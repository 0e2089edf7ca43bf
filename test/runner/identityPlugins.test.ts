/**
 * Run identity of plug-in detectors: a plug-in factory receives the run's load options (docs/plugins.md: the dataset's
 * labels, `backend`, `executionProvider`, …), so whatever of them it may read must be part of what its stored detections
 * are reused for — else a resumed run scores detections made from other labels or on another runtime.
 */
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { CocoGroundTruth } from '../../src/core/types.js';
import { runBenchmark } from '../../src/runner/index.js';
import { makeDataset, tempDir } from './fixtures.js';

/** A plug-in whose detector returns the labels of each image (a known-answer oracle) at a score set by its backend. */
function pluginSource(): string {
  return `export default {
  apiVersion: 1,
  name: 'idgt',
  detectors: {
    oracle: (opts) => ({
      info: {
        name: 'oracle',
        family: { stages: 'one-stage', anchors: 'anchor-free' },
        inputSizePx: { width: 48, height: 48 },
        classes: opts.groundTruth.categories,
        fit: 'stretch',
        maxBatch: 4,
      },
      async detect(batch, contexts) {
        return batch.map((_, i) => {
          const t = contexts[i].transform;
          return opts.groundTruth.annotations
            .filter((a) => a.image_id === contexts[i].imageId)
            .map((a) => ({
              bbox: [a.bbox[0] * t.scaleX + t.offsetX, a.bbox[1] * t.scaleY + t.offsetY, a.bbox[2] * t.scaleX, a.bbox[3] * t.scaleY],
              score: opts.backend === 'cpu' ? 0.7 : 0.8,
              categoryId: a.category_id,
            }));
        });
      },
      async dispose() {},
    }),
  },
};
`;
}

describe('run identity of plug-in detectors', () => {
  let root: string;
  let plugin: string;

  beforeAll(async () => {
    root = await tempDir('shiftbench-identity-plugins-');
    await mkdir(path.join(root, 'plug'), { recursive: true });
    plugin = path.join(root, 'plug', 'plugin.mjs');
    await writeFile(plugin, pluginSource());
  });

  /** A run of the plug-in oracle, then the same run after `edit` changed its dataset: the error of the second. */
  const rerunAfter = async (name: string, seed: number, edit: (gt: CocoGroundTruth) => void) => {
    const ds = await makeDataset(path.join(root, `ds-${name}`), 3, { seed });
    const options = {
      models: ['idgt/oracle'],
      plugins: [plugin],
      dataset: ds.file,
      out: path.join(root, name),
      bootstrapResamples: 20,
    };
    await runBenchmark(options);
    const edited = JSON.parse(await readFile(ds.file, 'utf8')) as CocoGroundTruth;
    edit(edited);
    await writeFile(ds.file, JSON.stringify(edited));
    return { edited, err: await runBenchmark(options).catch((x) => x) };
  };

  it('an edited annotation refuses the stored detections of a plug-in detector (it is given the labels)', async () => {
    const { edited, err } = await rerunAfter('labels', 6, (gt) => (gt.annotations[0].bbox = [1, 1, 9, 9]));
    expect(err.code).toBe('ERR_RUN_STORE');
    expect(err.message).toContain(`image ${edited.annotations[0].image_id} (`);
  });

  it('renamed categories refuse the stored detections of a plug-in detector (its classes come from them)', async () => {
    const { err } = await rerunAfter('categories', 7, (gt) => (gt.categories[1].name = 'triangle'));
    expect(err.code).toBe('ERR_RUN_STORE');
    expect(err.message).toContain('categoriesSha256');
  });

  it('another --backend or --ep refuses the stored detections of a plug-in detector (it is given them)', async () => {
    const ds = await makeDataset(path.join(root, 'ds-backend'), 3, { seed: 8 });
    const out = path.join(root, 'backend');
    const options = { models: ['idgt/oracle'], plugins: [plugin], dataset: ds.file, out, bootstrapResamples: 20 };
    await runBenchmark({ ...options, backend: 'wasm' });
    const err = await runBenchmark({ ...options, backend: 'cpu', limit: 3 }).catch((x) => x);
    expect(err.code).toBe('ERR_RUN_STORE');
    expect(err.message).toContain('backend: "wasm" → "cpu"');
    const ep = await runBenchmark({ ...options, backend: 'wasm', executionProvider: 'cuda' }).catch((x) => x);
    expect(ep.code).toBe('ERR_RUN_STORE');
    expect(ep.message).toContain('executionProvider: "cpu" → "cuda"');
    // the same setup resumes
    const again = await runBenchmark({ ...options, backend: 'wasm' });
    expect(again.computedImages['idgt/oracle']).toBe(0);
  });
});

describe('a plug-in detector stored earlier that does not cover a later command', () => {
  it('the refusal tells to add the model with its --plugin (the model alone is unknown without it)', async () => {
    const root = await tempDir('shiftbench-plugin-finish-hint-');
    await mkdir(path.join(root, 'plug'), { recursive: true });
    const plugin = path.join(root, 'plug', 'plugin.mjs');
    await writeFile(plugin, pluginSource());
    const ds = await makeDataset(path.join(root, 'ds'), 4, { seed: 5 });
    const out = path.join(root, 'run');
    const base = { dataset: ds.file, out, bootstrapResamples: 20, bootstrapBounds: 0 };
    await runBenchmark({ ...base, models: ['idgt/oracle'], plugins: [plugin], limit: 2 });
    // another model over more images: the plug-in detector stored here lacks the new ones
    const err = await runBenchmark({ ...base, models: ['jitter:96'], limit: 4 }).catch((x) => x);
    expect(err.code).toBe('ERR_RUN_STORE');
    expect(err.message).toContain(`Add --model idgt/oracle --plugin ${plugin} to this command`);
    // the hint works: that command finishes
    const ok = await runBenchmark({ ...base, models: ['jitter:96', 'idgt/oracle'], plugins: [plugin], limit: 4 });
    expect(ok.metrics.results.map((r) => r.key)).toEqual(['jitter:96', 'idgt/oracle']);
  });
});
