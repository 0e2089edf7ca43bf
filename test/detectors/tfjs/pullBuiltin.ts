/**
 * Gets a built-in TF.js model (models/registry.json) for a test: pulls it through the
 * npm registry when it is not cached (the project needs the registry anyway: `npm
 * install`). A pull or load failure FAILS the test — a model test skips only where
 * ../shared is absent (describeShared), never on a load error.
 */
import path from 'node:path';
import { beforeAll, describe } from 'vitest';
import type { ModelEntry } from '../../../src/core/types.js';
import { pullModel } from '../../../src/detectors/pull.js';
import { readRegistry } from '../../../src/detectors/registry.js';
import { REPO_ROOT } from '../../helpers/shared.js';

export type Pulled = { entry: ModelEntry; dir: string };

/** The registry entry of `name` and the folder its verified files are in; throws when they cannot be had. */
export async function pullBuiltin(name: string): Promise<Pulled> {
  const entry = readRegistry([path.join(REPO_ROOT, 'models/registry.json')]).find((e) => e.name === name);
  if (!entry) throw new Error(`models/registry.json has no entry "${name}"`);
  return {
    entry,
    dir: await pullModel(entry, {
      logger: { info: (m) => process.stderr.write(`${m}\n`), warn: (m) => process.stderr.write(`${m}\n`) },
    }),
  };
}

/** Time a first pull through the npm registry may take. */
export const PULL_TIMEOUT_MS = 900_000;

/** describe(title) whose beforeAll pulls the built-in model `name` (a failed pull fails the suite); the body gets a getter for it. */
export function describePulled(name: string, title: string, body: (get: () => Pulled) => void): void {
  describe(title, () => {
    let pulled: Pulled | null = null;
    beforeAll(async () => {
      pulled = await pullBuiltin(name);
    }, PULL_TIMEOUT_MS);
    body(() => {
      if (!pulled) throw new Error(`model "${name}" was not pulled`);
      return pulled;
    });
  });
}
