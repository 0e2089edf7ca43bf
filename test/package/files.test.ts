/** What a published package carries (`files` in package.json), as `npm pack` lists it, and its licence. */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/shared.js';

const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { license: string };

describe('the package contents', () => {
  it('carry the built code, the registry, the zoo, the docs and the licence — not tests, sources, training logs or caches', async () => {
    const { stdout } = await promisify(execFile)('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
      cwd: REPO_ROOT,
      maxBuffer: 1 << 24,
    });
    const files = (JSON.parse(stdout) as { files: { path: string }[] }[])[0].files.map((f) => f.path);
    const zoo = JSON.parse(readFileSync(path.join(REPO_ROOT, 'models/zoo/zoo.json'), 'utf8')) as {
      models: { files: { name: string }[] }[];
    };
    const needed = [
      'package.json',
      'README.md',
      'LICENSE',
      'models/registry.json',
      'models/zoo/zoo.json',
      'docs/protocol.md',
      'docs/plugins.md',
      ...zoo.models.map((m) => `models/zoo/${m.files[0].name}`),
    ];
    for (const f of needed) expect(files, f).toContain(f);
    const forbidden =
      /^(test|bench|src|scripts|datasets\/synth|models\/\.cache|models\/zoo\/(logs|train)|reports\/(?!README\.md$))\/?|\.map$|(^|\/)\.[^/]+$/;
    expect(files.filter((f) => forbidden.test(f))).toEqual([]);
  });

  it('LICENSE is the licence package.json names', () => {
    expect(pkg.license).toBe('MIT');
    expect(readFileSync(path.join(REPO_ROOT, 'LICENSE'), 'utf8')).toMatch(/^MIT License\n\nCopyright \(c\) \d{4} /);
  });
});
