/**
 * Gets a built-in TF.js model (models/registry.json) for a test: pulls it through the
 * npm registry when it is not cached (CI reaches the registry), or says why it cannot,
 * so the test can skip with that reason instead of failing offline.
 */
import path from 'node:path';
import { beforeAll, describe } from 'vitest';
import type { ModelEntry } from '../../../src/core/types.js';
import { pullModel } from '../../../src/detectors/pull.js';
import { readRegistry } from '../../../src/detectors/registry.js';
import { REPO_ROOT } from '../../helpers/shared.js';

export type Pulled = { entry: ModelEntry; dir: string; skip?: undefined } | { skip: string };

export async function pullBuiltin(name: string): Promise<Pulled> {
  const entry = readRegistry([path.join(REPO_ROOT, 'models/registry.json')]).find((e) => e.name === name);
  if (!entry) throw new Error(`models/registry.json has no entry "${name}"`);
  try {
    return { entry, dir: await pullModel(entry, { logger: { info: (m) => process.stderr.write(`${m}\n`), warn: (m) => process.stderr.write(`${m}\n`) } }) };
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ERR_NETWORK' || code === 'ERR_MODEL_LOAD') {
      const reason = `model "${name}" could not be pulled (${code}: ${(err as Error).message.split('\n')[0]})`;
      process.stderr.write(`[skip] ${reason}\n`);
      return { skip: reason };
    }
    throw err; // a hash mismatch or a bug is a failure, not a skip
  }
}

/** Time a first pull through the npm registry may take. */
export const PULL_TIMEOUT_MS = 900_000;

/**
 * describe(title) whose beforeAll pulls the built-in model `name`; the body gets a getter
 * for the result, and each test skips itself with the reason when the pull could not happen.
 */
export function describePulled(name: string, title: string, body: (get: () => Pulled) => void): void {
  describe(title, () => {
    let pulled: Pulled = { skip: 'not pulled yet' };
    beforeAll(async () => {
      pulled = await pullBuiltin(name);
    }, PULL_TIMEOUT_MS);
    body(() => pulled);
  });
}
