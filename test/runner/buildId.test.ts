/**
 * The build id (run identity) hashes the code that makes detections: the same code built with or without source maps
 * (the test setup rebuilds the worker files without them) is the same build, so a test run never makes earlier run
 * directories unusable; any change of code is another build.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { computeBuildId } from '../../src/runner/identity.js';
import { tempDir } from './fixtures.js';

async function tree(files: Record<string, string>): Promise<string> {
  const root = await tempDir('shiftbench-buildid-');
  for (const [name, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, name)), { recursive: true });
    await writeFile(path.join(root, name), text);
  }
  return root;
}

describe('computeBuildId', () => {
  it('a source-map comment does not change the build; a change of code does', async () => {
    const code = 'export const x = 1;\n';
    const withMap = await tree({ 'shifts/a.js': `${code}//# sourceMappingURL=a.js.map` });
    const withMapNl = await tree({ 'shifts/a.js': `${code}//# sourceMappingURL=a.js.map\n` });
    const without = await tree({ 'shifts/a.js': code });
    const changed = await tree({ 'shifts/a.js': 'export const x = 2;\n' });
    const id = await computeBuildId(without);
    expect(await computeBuildId(withMap)).toBe(id);
    expect(await computeBuildId(withMapNl)).toBe(id);
    expect(await computeBuildId(changed)).not.toBe(id);
  });
});

describe('the code that makes the inputs is part of the build', () => {
  // the images are decoded and their shifted inputs made in runner/prepareImage (on the main thread or in the
  // prepare workers, runner/prepareWorker, fed by runner/prepare): a change there changes the detections
  for (const module of ['runner/prepareImage', 'runner/prepareWorker', 'runner/prepare']) {
    it(`a change of ${module} is another build`, async () => {
      const before = await tree({ 'shifts/a.js': 'export const x = 1;\n', [`${module}.js`]: 'export const y = 1;\n' });
      const after = await tree({ 'shifts/a.js': 'export const x = 1;\n', [`${module}.js`]: 'export const y = 2;\n' });
      expect(await computeBuildId(after)).not.toBe(await computeBuildId(before));
    });
  }
});
