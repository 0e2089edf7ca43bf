/**
 * A run stops between two detectors (a model that cannot load, Ctrl-C before it): the manifest then lists only the
 * detectors that loaded, while its options name every model. Scoring such a directory from its stored detections —
 * a rescore (`report DIR --score-threshold …`) or a merge of shards that all stopped there — must not write metrics of
 * the detectors it happens to hold and exit 0: it is refused as not finished, naming the model, and nothing is
 * written. A finished run of the same models rescores as before (control).
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RunnerEnv } from '../../src/runner/index.js';
import { mergeShards, rescoreRun, runBenchmark, runShard } from '../../src/runner/index.js';
import { withDefaultEnv } from '../../src/runner/env.js';
import { ShiftbenchError } from '../../src/core/errors.js';
import { rejection } from '../helpers/shared.js';
import { makeDataset, tempDir } from './fixtures.js';

const MODELS = ['jitter:96', 'oracle:96'];

/** The default env, but `oracle:96` cannot load (its describe works: the failure comes after jitter ran). */
function brokenOracle(): Partial<RunnerEnv> {
  const base = withDefaultEnv(undefined);
  return {
    describeDetector: base.describeDetector, // the same identity as the default env's: the same command resumes
    loadDetector: async (spec, opts) => {
      if (spec === 'oracle:96') throw new ShiftbenchError('ERR_MODEL_LOAD', 'oracle:96 cannot load (test)');
      return base.loadDetector(spec, opts);
    },
  };
}

const exists = async (file: string) => (await stat(file).catch(() => null)) !== null;

describe('scoring a run directory that stopped before one of its models ran', () => {
  let root: string;
  let dataset: string;
  const options = (out: string) => ({
    models: MODELS,
    dataset,
    bootstrapResamples: 20,
    bootstrapBounds: 0,
    out,
  });

  beforeAll(async () => {
    root = await tempDir('shiftbench-unfinished-models-');
    dataset = (await makeDataset(path.join(root, 'ds'), 6, { seed: 43 })).file;
  });

  it('a rescore is refused as not finished, naming the model; no metrics.json is written', async () => {
    const dir = path.join(root, 'run');
    await expect(runBenchmark(options(dir), { env: brokenOracle() })).rejects.toThrow(/oracle:96 cannot load/);
    expect(await exists(path.join(dir, 'metrics.json'))).toBe(false);
    const e = await rejection<ShiftbenchError>(rescoreRun(dir, { scoreThreshold: 0.3 }));
    expect(e.code).toBe('ERR_RUN_STORE');
    expect(e.message).toContain('not finished');
    expect(e.message).toContain('oracle:96');
    expect(await exists(path.join(dir, 'metrics.json'))).toBe(false);
    // finished by the same command, it rescores (control)
    await runBenchmark(options(dir));
    const m = await rescoreRun(dir, { scoreThreshold: 0.3 });
    expect(m.results.map((r) => r.key)).toEqual(MODELS);
  });

  it('so is a run that stopped before the mitigated detector it added to a finished directory ran', async () => {
    const dir = path.join(root, 'extended');
    await runBenchmark({ ...options(dir), models: ['jitter:96'] });
    const boom: Partial<RunnerEnv> = {
      parseMitigation: (spec) => ({
        name: 'boom',
        spec,
        wrap: () => {
          throw new ShiftbenchError('ERR_MODEL_LOAD', 'boom cannot wrap (test)');
        },
      }),
    };
    await expect(
      runBenchmark({ ...options(dir), models: ['jitter:96'], mitigations: ['boom'] }, { env: boom }),
    ).rejects.toThrow(/boom cannot wrap/);
    const e = await rejection<ShiftbenchError>(rescoreRun(dir, { scoreThreshold: 0.3 }));
    expect(e.code).toBe('ERR_RUN_STORE');
    expect(e.message).toContain('not finished: the --mitigation detectors of "jitter:96" of its command did not run');
    expect(await exists(path.join(dir, 'metrics.json'))).toBe(false);
    expect(await exists(path.join(dir, 'previous', 'metrics.json'))).toBe(true); // the finished results are kept
  });

  it('a merge of shards that all stopped there is refused as not finished, naming the model; nothing is written', async () => {
    const shards = [0, 1].map((i) => path.join(root, `shard-${i}`));
    for (const [i, dir] of shards.entries())
      await expect(runShard({ ...options(dir), shard: `${i}/2` }, { env: brokenOracle() })).rejects.toThrow(
        /oracle:96 cannot load/,
      );
    const out = path.join(root, 'merged');
    const e = await rejection<ShiftbenchError>(mergeShards({ runs: shards, out }));
    expect(e.message).toContain('not finished');
    expect(e.message).toContain('oracle:96');
    expect(await exists(path.join(out, 'metrics.json'))).toBe(false);
  });
});
