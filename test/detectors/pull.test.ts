import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isModelCached, parseRegistry, pullModel } from '../../src/detectors/index.js';
import type { ModelEntry } from '../../src/core/types.js';
import { rejection } from '../helpers/shared.js';

const sha = (b: string | Buffer) => createHash('sha256').update(b).digest('hex');
const base = {
  family: { stages: 'one-stage', anchors: 'anchor-free' },
  format: 'tfjs-graph',
  inputSizePx: { width: 8, height: 8 },
  layout: 'NHWC',
  colorOrder: 'RGB',
  normalize: { mean: [0, 0, 0], std: [1, 1, 1] },
  fit: 'stretch',
  decoder: { name: 'x' },
  classes: 'coco80',
};
const FILES = { 'model.json': '{"a":1}', 'model.bin': 'weights-bytes' };
const files = Object.entries(FILES).map(([name, text]) => ({ name, sha256: sha(text) }));

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'sb-pull-'));
});

function entryIn(file: string, raw: Record<string, unknown>): ModelEntry {
  writeFileSync(file, JSON.stringify(raw));
  return parseRegistry(readFileSync(file, 'utf8'), file)[0];
}

describe('pullModel: path sources', () => {
  it('resolves a relative dir against the entry file, verifies hashes, and returns the folder', async () => {
    const dir = path.join(tmp, 'p1');
    mkdirSync(path.join(dir, 'weights'), { recursive: true });
    for (const [n, t] of Object.entries(FILES)) writeFileSync(path.join(dir, 'weights', n), t);
    const entry = entryIn(path.join(dir, 'entry.json'), {
      ...base,
      name: 'p1',
      source: { kind: 'path', dir: 'weights' },
      files,
    });
    expect(await pullModel(entry)).toBe(path.join(dir, 'weights'));
    expect(isModelCached(entry)).toBe(true);
  });
  it('fails with ERR_MODEL_HASH saying expected vs found and the fix', async () => {
    const dir = path.join(tmp, 'p2');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'model.json'), '{"a":2}');
    writeFileSync(path.join(dir, 'model.bin'), FILES['model.bin']);
    const file = path.join(dir, 'entry.json');
    const entry = entryIn(file, { ...base, name: 'p2', source: { kind: 'path', dir: '.' }, files });
    const err = await rejection(pullModel(entry));
    expect(err.code).toBe('ERR_MODEL_HASH');
    expect(err.message).toBe(
      `sha256 mismatch for ${path.join(dir, 'model.json')} of model "p2": expected ${files[0].sha256} (from ${file}) but found ${sha('{"a":2}')}. ` +
        `The file changed since the entry was written: restore it, or update the sha256 in ${file} if the change is intended.`,
    );
  });
  it('a listed file that is a folder is ERR_MODEL_LOAD naming it and the entry file to fix', async () => {
    const dir = path.join(tmp, 'p-folder');
    mkdirSync(path.join(dir, 'model.bin'), { recursive: true });
    writeFileSync(path.join(dir, 'model.json'), FILES['model.json']);
    const file = path.join(dir, 'entry.json');
    const entry = entryIn(file, { ...base, name: 'p-folder', source: { kind: 'path', dir: '.' }, files });
    const err = await rejection(pullModel(entry));
    expect(err.code).toBe('ERR_MODEL_LOAD');
    expect(err.message).toBe(
      `Could not load model "p-folder": ${path.join(dir, 'model.bin')} is a folder, not a file.\n` +
        'Possible solutions:\n' +
        `- list the model's files (not folders) in "files" of ${file}\n` +
        `- or put the file model.bin in place of the folder ${path.join(dir, 'model.bin')}`,
    );
  });
  it('a TF.js weight shard the entry does not pin is ERR_REGISTRY naming it and the fix: it is never read unchecked', async () => {
    const dir = path.join(tmp, 'p-shard');
    mkdirSync(dir, { recursive: true });
    const modelJson = JSON.stringify({ weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights: [] }] });
    writeFileSync(path.join(dir, 'model.json'), modelJson);
    writeFileSync(path.join(dir, 'group1-shard1of1.bin'), 'any weights at all');
    const file = path.join(dir, 'entry.json');
    const raw = { ...base, name: 'p-shard', source: { kind: 'path', dir: '.' } };
    const entry = entryIn(file, { ...raw, files: [{ name: 'model.json', sha256: sha(modelJson) }] });
    const err = await rejection(pullModel(entry));
    expect(err.code).toBe('ERR_REGISTRY');
    expect(err.message).toBe(
      `Model "p-shard" in ${file}: ${path.join(dir, 'model.json')} lists the weight shard group1-shard1of1.bin, ` +
        'which is not in the entry\'s "files", so its sha256 would not be checked. Add ' +
        '{ "name": "group1-shard1of1.bin", "sha256": "<sha256sum of the file>" } to "files".',
    );
    // pinned, the same folder loads
    const pinned = entryIn(file, {
      ...raw,
      files: [
        { name: 'model.json', sha256: sha(modelJson) },
        { name: 'group1-shard1of1.bin', sha256: sha('any weights at all') },
      ],
    });
    expect(await pullModel(pinned)).toBe(dir);
  });
  it('fails with ERR_MODEL_LOAD listing where it looked when files are missing', async () => {
    const dir = path.join(tmp, 'p3');
    mkdirSync(dir, { recursive: true });
    const entry = entryIn(path.join(dir, 'entry.json'), {
      ...base,
      name: 'p3',
      source: { kind: 'path', dir: 'nowhere' },
      files,
    });
    const err = await rejection(pullModel(entry));
    expect(err.code).toBe('ERR_MODEL_LOAD');
    expect(err.message).toMatch(
      /^Could not load model "p3": missing model\.json, model\.bin \(looked in .*nowhere.*\)\.\nPossible solutions:\n- put the files in /,
    );
  });
});

describe('pullModel: npm sources', () => {
  let tarball: string;
  beforeAll(() => {
    const pkg = path.join(tmp, 'pkgsrc');
    mkdirSync(path.join(pkg, 'package', 'models'), { recursive: true });
    for (const [n, t] of Object.entries(FILES)) writeFileSync(path.join(pkg, 'package', 'models', n), t);
    writeFileSync(path.join(pkg, 'package', 'models', 'other.bin'), 'not wanted');
    tarball = path.join(tmp, 'pkg-1.0.0.tgz');
    execFileSync('tar', ['-czf', tarball, '-C', pkg, 'package']);
  });
  const npmEntry = () =>
    entryIn(path.join(tmp, 'npm-entry.json'), {
      ...base,
      name: 'from-npm',
      source: {
        kind: 'npm',
        package: '@acme/models',
        version: '1.0.0',
        files: ['models/model.json', 'models/model.bin'],
      },
      files,
    });

  it('fetches the tarball once, extracts only the listed files into <cache>/<name>/, verifies them, and logs', async () => {
    const cacheDir = path.join(tmp, 'cache1');
    const specs: string[] = [];
    const logs: string[] = [];
    const npmPack = async (spec: string, dest: string) => {
      specs.push(spec);
      const out = path.join(dest, 'pkg.tgz');
      writeFileSync(out, readFileSync(tarball));
      return out;
    };
    const logger = { info: (m: string) => logs.push(m), warn: (m: string) => logs.push(m) };
    const npmIntegrity = async () => `sha512-${createHash('sha512').update(readFileSync(tarball)).digest('base64')}`;
    const entry = npmEntry();
    expect(isModelCached(entry, { cacheDir })).toBe(false);
    const dir = await pullModel(entry, { cacheDir, npmPack, npmIntegrity, logger });
    expect(dir).toBe(path.join(cacheDir, 'from-npm'));
    expect(readFileSync(path.join(dir, 'model.bin'), 'utf8')).toBe('weights-bytes');
    expect(existsSync(path.join(dir, 'other.bin'))).toBe(false);
    expect(specs).toEqual(['@acme/models@1.0.0']);
    expect(logs[0]).toBe(`Pulling model "from-npm" from npm package @acme/models@1.0.0 into ${dir}`);
    await pullModel(entry, { cacheDir, npmPack, logger });
    expect(specs).toHaveLength(1); // cached

    writeFileSync(path.join(dir, 'model.bin'), 'corrupted');
    const err = await rejection(pullModel(entry, { cacheDir, npmPack }));
    expect(err.code).toBe('ERR_MODEL_HASH');
    expect(err.message).toContain(`expected ${files[1].sha256}`);
    expect(err.message).toContain(`but found ${sha('corrupted')}`);
    expect(err.message).toContain(
      `Delete ${dir} and run \`shiftbench models pull from-npm --registry ${path.join(tmp, 'npm-entry.json')} ` +
        `--cache-dir ${cacheDir}\``,
    );
  });

  it('a fetched file that differs from its pin is ERR_MODEL_HASH naming where it came from, and stores nothing', async () => {
    const cacheDir = path.join(tmp, 'cache-mismatch');
    const dir = path.join(cacheDir, 'from-npm');
    // model.json is already cached (a pull interrupted before); model.bin is missing, so the package is fetched
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'model.json'), FILES['model.json']);
    const npmPack = async (_spec: string, dest: string) => {
      const out = path.join(dest, 'pkg.tgz');
      writeFileSync(out, readFileSync(tarball));
      return out;
    };
    const npmIntegrity = async () => `sha512-${createHash('sha512').update(readFileSync(tarball)).digest('base64')}`;
    const file = path.join(tmp, 'npm-pinned-other.json');
    const pinned = [files[0], { name: 'model.bin', sha256: sha('other weights') }];
    const entry = entryIn(file, { ...npmEntry(), name: 'from-npm', files: pinned });
    const err = await rejection(pullModel(entry, { cacheDir, npmPack, npmIntegrity }));
    expect(err.code).toBe('ERR_MODEL_HASH');
    expect(err.message).toBe(
      `sha256 mismatch for models/model.bin of npm package @acme/models@1.0.0 (model "from-npm"): expected ` +
        `${sha('other weights')} (from ${file}) but found ${sha('weights-bytes')}. Nothing was stored in ${dir}. ` +
        `The source served different bytes than the entry lists: check source and sha256 in ${file}.`,
    );
    expect(readdirSync(dir)).toEqual(['model.json']);
    expect(readdirSync(cacheDir)).toEqual(['from-npm']); // no temporary folder left behind
  });

  it('a package path that is a folder is ERR_MODEL_LOAD naming it, and stores nothing', async () => {
    const cacheDir = path.join(tmp, 'cache-folder');
    const npmPack = async (_spec: string, dest: string) => {
      const out = path.join(dest, 'pkg.tgz');
      writeFileSync(out, readFileSync(tarball));
      return out;
    };
    const npmIntegrity = async () => `sha512-${createHash('sha512').update(readFileSync(tarball)).digest('base64')}`;
    const file = path.join(tmp, 'npm-folder.json');
    const entry = entryIn(file, {
      ...base,
      name: 'npm-folder',
      source: { kind: 'npm', package: '@acme/models', version: '1.0.0', files: ['models'] },
      files: [{ name: 'models', sha256: 'a'.repeat(64) }],
    });
    const err = await rejection(pullModel(entry, { cacheDir, npmPack, npmIntegrity }));
    expect(err.code).toBe('ERR_MODEL_LOAD');
    expect(err.message).toBe(
      'Could not load model "npm-folder": models of npm package @acme/models@1.0.0 is a folder, not a file.\n' +
        'Possible solutions:\n' +
        `- list the model's files (not folders) in "files" and "source.files" of ${file}`,
    );
    expect(readdirSync(cacheDir)).toEqual([]);
  });

  it('a cache folder that is a file is ERR_MODEL_LOAD naming it and the fix, before anything is fetched', async () => {
    const notDir = path.join(tmp, 'cache-is-a-file');
    writeFileSync(notDir, 'x');
    let packs = 0;
    const npmPack = async () => {
      packs++;
      return '';
    };
    const npmIntegrity = async () => ''; // never asked: nothing goes to the network here
    const err = await rejection(pullModel(npmEntry(), { cacheDir: notDir, npmPack, npmIntegrity }));
    expect(err.code).toBe('ERR_MODEL_LOAD');
    expect(err.message).toMatch(
      new RegExp(
        `^Could not load model "from-npm": cannot create its cache folder ${path.join(notDir, 'from-npm')}\\. ` +
          `EEXIST[^\\n]*\\nPossible solutions:\\n- give --cache-dir a folder you can write to \\(or remove the ` +
          `file ${notDir}\\)$`,
      ),
    );
    expect(packs).toBe(0);
    expect(readFileSync(notDir, 'utf8')).toBe('x');
    // the model's own folder in the cache is a file: said before fetching, not after a download
    const cacheDir = path.join(tmp, 'cache-entry-is-a-file');
    mkdirSync(cacheDir);
    writeFileSync(path.join(cacheDir, 'from-npm'), 'y');
    const err2 = await rejection(pullModel(npmEntry(), { cacheDir, npmPack, npmIntegrity }));
    expect(err2.code).toBe('ERR_MODEL_LOAD');
    expect(err2.message).toContain(`(or remove the file ${path.join(cacheDir, 'from-npm')})`);
    expect(packs).toBe(0);
    expect(readdirSync(cacheDir)).toEqual(['from-npm']);
  });

  it('the `models pull` command a fix suggests names the registry file and cache folder of the entry', async () => {
    // an entry from a user file in a --cache-dir: `shiftbench models pull from-npm` alone says "Unknown model"
    const cacheDir = path.join(tmp, 'cache-command');
    const entry = npmEntry();
    const command = `shiftbench models pull from-npm --registry ${path.join(tmp, 'npm-entry.json')} --cache-dir ${cacheDir}`;
    const npmPack = async () => {
      throw new Error('getaddrinfo ENOTFOUND registry.npmjs.org');
    };
    const offline = await rejection(pullModel(entry, { cacheDir, npmPack, npmIntegrity: async () => '' }));
    expect(offline.message).toContain(`- run \`${command}\` where the network is available\n`);
    const dir = path.join(cacheDir, 'from-npm');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'model.json'), FILES['model.json']);
    writeFileSync(path.join(dir, 'model.bin'), 'corrupted');
    const corrupted = await rejection(pullModel(entry, { cacheDir }));
    expect(corrupted.code).toBe('ERR_MODEL_HASH');
    expect(corrupted.message).toContain(`Delete ${dir} and run \`${command}\` (or any run) to fetch it again.`);
  });

  it('removes what a killed pull of this machine left in the cache, and nothing of a pull still running', async () => {
    const cacheDir = path.join(tmp, 'cache-stale');
    const host = os.hostname().replace(/[^A-Za-z0-9.-]/g, '_');
    const dead = spawnSync(process.execPath, ['-e', '']).pid!; // a process that has ended
    const left = {
      dead: `.pull-from-npm-${host}-${dead}-AbC123`,
      live: `.pull-from-npm-${host}-${process.pid}-DeF456`,
      other: `.pull-from-npm-elsewhere.example-${dead}-GhI789`,
      otherModel: `.pull-from-npm2-${host}-${dead}-JkL012`,
    };
    for (const d of Object.values(left)) {
      mkdirSync(path.join(cacheDir, d, '.pack'), { recursive: true });
      writeFileSync(path.join(cacheDir, d, '.pack', 'pkg.tgz'), 'partial download');
    }
    const npmPack = async (_spec: string, dest: string) => {
      const out = path.join(dest, 'pkg.tgz');
      writeFileSync(out, readFileSync(tarball));
      return out;
    };
    const npmIntegrity = async () => `sha512-${createHash('sha512').update(readFileSync(tarball)).digest('base64')}`;
    await pullModel(npmEntry(), { cacheDir, npmPack, npmIntegrity });
    expect(readdirSync(cacheDir).sort()).toEqual(['from-npm', left.live, left.other, left.otherModel].sort());
  });

  it('turns a fetch failure into ERR_NETWORK with solutions, and respects allowPull: false', async () => {
    const cacheDir = path.join(tmp, 'cache2');
    const npmPack = async () => {
      throw new Error('getaddrinfo ENOTFOUND registry.npmjs.org');
    };
    const err = await rejection(pullModel(npmEntry(), { cacheDir, npmPack }));
    expect(err.code).toBe('ERR_NETWORK');
    expect(err.message).toBe(
      'Could not load model "from-npm" from npm package @acme/models@1.0.0. getaddrinfo ENOTFOUND registry.npmjs.org\n' +
        'Possible solutions:\n' +
        '- check that the npm registry is reachable (`npm view @acme/models@1.0.0 dist.tarball`; proxies and registry come from your npm config)\n' +
        `- run \`shiftbench models pull from-npm --registry ${path.join(tmp, 'npm-entry.json')} --cache-dir ${cacheDir}\` ` +
        'where the network is available\n' +
        `- or place the files model.json, model.bin in ${path.join(cacheDir, 'from-npm')}`,
    );
    const off = await rejection(pullModel(npmEntry(), { cacheDir, allowPull: false }));
    expect(off.code).toBe('ERR_MODEL_LOAD');
    expect(off.message).toMatch(
      /^Could not load model "from-npm": its files are not in .* and fetching is disabled\.\nPossible solutions:/,
    );
    expect(existsSync(path.join(cacheDir, 'from-npm'))).toBe(false);
  });
});

describe('pullModel: url sources', () => {
  let server: http.Server;
  let baseUrl: string;
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const name = decodeURIComponent((req.url ?? '').split('/').pop()!);
      const body = { ...FILES, 'weights #1?.bin': 'odd name' }[name];
      if (body === undefined) {
        res.statusCode = 404;
        res.end();
      } else res.end(body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/m`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('fetches each file from baseUrl/name and verifies it', async () => {
    const entry = entryIn(path.join(tmp, 'url.json'), {
      ...base,
      name: 'from-url',
      source: { kind: 'url', baseUrl },
      files,
    });
    const dir = await pullModel(entry, { cacheDir: path.join(tmp, 'cache3') });
    expect(readFileSync(path.join(dir, 'model.json'), 'utf8')).toBe(FILES['model.json']);
  });
  it('names the URL of a fetched file that differs from its pin, and stores nothing', async () => {
    const file = path.join(tmp, 'url-other.json');
    const entry = entryIn(file, {
      ...base,
      name: 'url-other',
      source: { kind: 'url', baseUrl },
      files: [{ name: 'model.json', sha256: sha('other') }],
    });
    const cacheDir = path.join(tmp, 'cache-url-other');
    const err = await rejection(pullModel(entry, { cacheDir }));
    expect(err.code).toBe('ERR_MODEL_HASH');
    expect(err.message).toBe(
      `sha256 mismatch for ${baseUrl}/model.json (model "url-other"): expected ${sha('other')} (from ${file}) but ` +
        `found ${sha(FILES['model.json'])}. Nothing was stored in ${path.join(cacheDir, 'url-other')}. The source ` +
        `served different bytes than the entry lists: check source and sha256 in ${file}.`,
    );
    expect(readdirSync(cacheDir)).toEqual([]);
  });
  it('fetches a file whose name has URL characters (#, ?, space) by that name', async () => {
    const entry = entryIn(path.join(tmp, 'url-odd.json'), {
      ...base,
      name: 'url-odd',
      source: { kind: 'url', baseUrl },
      files: [{ name: 'weights #1?.bin', sha256: sha('odd name') }],
    });
    const dir = await pullModel(entry, { cacheDir: path.join(tmp, 'cache-odd') });
    expect(readFileSync(path.join(dir, 'weights #1?.bin'), 'utf8')).toBe('odd name');
  });
  it('reports a 404 as ERR_NETWORK', async () => {
    const entry = entryIn(path.join(tmp, 'url2.json'), {
      ...base,
      name: 'url-404',
      source: { kind: 'url', baseUrl },
      files: [{ name: 'missing.bin', sha256: 'b'.repeat(64) }],
    });
    const err = await rejection(pullModel(entry, { cacheDir: path.join(tmp, 'cache4') }));
    expect(err.code).toBe('ERR_NETWORK');
    expect(err.message).toContain(`GET ${baseUrl}/missing.bin answered 404`);
  });
});

describe('pullModel: security (issue 10)', () => {
  const tgz = () => {
    const pkg = path.join(tmp, 'sec-pkgsrc');
    mkdirSync(path.join(pkg, 'package', 'models'), { recursive: true });
    for (const [n, t] of Object.entries(FILES)) writeFileSync(path.join(pkg, 'package', 'models', n), t);
    const out = path.join(tmp, 'sec-pkg.tgz');
    execFileSync('tar', ['-czf', out, '-C', pkg, 'package']);
    return out;
  };
  const npmEntry = (name: string, pkg: string, version: string) =>
    entryIn(path.join(tmp, `${name}.json`), {
      ...base,
      name,
      source: { kind: 'npm', package: pkg, version, files: ['models/model.json', 'models/model.bin'] },
      files,
    });

  it('accepts only an npm package name and an exact version: file:, git+, ranges and tags are refused before npm runs', async () => {
    let packs = 0;
    const npmPack = async () => {
      packs++;
      return '';
    };
    for (const [pkg, version] of [
      ['file:../evil', '1.0.0'],
      ['@acme/models', 'git+https://example.com/evil.git'],
      ['@acme/models', '^1.0.0'],
      ['@acme/models', 'latest'],
      ['@acme/models', 'file:../evil.tgz'],
      ['Acme Models', '1.0.0'],
    ]) {
      const err = await rejection(
        pullModel(npmEntry('bad-spec', pkg, version), { cacheDir: path.join(tmp, 'sec-cache0'), npmPack }),
      );
      expect(err.code, `${pkg}@${version}`).toBe('ERR_REGISTRY');
      expect(err.message).toMatch(/exact version|npm package name/);
    }
    expect(packs).toBe(0);
  });

  it('npm pack runs with --ignore-scripts', async () => {
    const { npmPackArgs } = await import('../../src/detectors/pull.js');
    expect(npmPackArgs('@acme/models@1.0.0', '/tmp/x')).toContain('--ignore-scripts');
  });

  it("verifies the tarball against the registry's dist.integrity", async () => {
    const file = tgz();
    const npmPack = async (_spec: string, dest: string) => {
      const out = path.join(dest, 'pkg.tgz');
      writeFileSync(out, readFileSync(file));
      return out;
    };
    const good = `sha512-${createHash('sha512').update(readFileSync(file)).digest('base64')}`;
    const bad = `sha512-${createHash('sha512').update('other bytes').digest('base64')}`;
    const cacheDir = path.join(tmp, 'sec-cache1');
    const err = await rejection(
      pullModel(npmEntry('integrity', '@acme/models', '1.0.0'), { cacheDir, npmPack, npmIntegrity: async () => bad }),
    );
    expect(err.code).toBe('ERR_MODEL_HASH');
    expect(err.message).toContain('dist.integrity');
    expect(existsSync(path.join(cacheDir, 'integrity'))).toBe(false);
    const dir = await pullModel(npmEntry('integrity', '@acme/models', '1.0.0'), {
      cacheDir,
      npmPack,
      npmIntegrity: async () => good,
    });
    expect(readFileSync(path.join(dir, 'model.bin'), 'utf8')).toBe('weights-bytes');
  });

  describe('url sources', () => {
    let server: http.Server;
    let baseUrl: string;
    const requests: string[] = [];
    beforeAll(async () => {
      server = http.createServer((req, res) => {
        requests.push(req.url ?? '');
        if (req.url?.endsWith('/hang.bin')) return; // never answers
        if (req.url?.endsWith('/big.bin')) return res.end(Buffer.alloc(64 * 1024, 1));
        res.end(FILES['model.json']);
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/m`;
    });
    afterAll(() => {
      server.closeAllConnections();
      return new Promise<void>((r) => server.close(() => r()));
    });

    it('refuses a file without sha256 before fetching anything', async () => {
      const entry = entryIn(path.join(tmp, 'sec-url1.json'), {
        ...base,
        name: 'unpinned',
        source: { kind: 'url', baseUrl },
        files: [{ name: 'model.json', sha256: null }],
      });
      const before = requests.length;
      const err = await rejection(pullModel(entry, { cacheDir: path.join(tmp, 'sec-cache2') }));
      expect(err.code).toBe('ERR_REGISTRY');
      expect(err.message).toContain('sha256');
      expect(requests.length).toBe(before);
    });

    it('stops a download over the size limit, and one that does not answer within the timeout', async () => {
      const big = entryIn(path.join(tmp, 'sec-url2.json'), {
        ...base,
        name: 'big',
        source: { kind: 'url', baseUrl },
        files: [{ name: 'big.bin', sha256: 'c'.repeat(64) }],
      });
      const err = await rejection(pullModel(big, { cacheDir: path.join(tmp, 'sec-cache3'), urlMaxBytes: 1024 }));
      expect(err.code).toBe('ERR_NETWORK');
      expect(err.message).toMatch(/more than 1024 bytes/);
      const hang = entryIn(path.join(tmp, 'sec-url3.json'), {
        ...base,
        name: 'hang',
        source: { kind: 'url', baseUrl },
        files: [{ name: 'hang.bin', sha256: 'd'.repeat(64) }],
      });
      const started = Date.now();
      const err2 = await rejection(pullModel(hang, { cacheDir: path.join(tmp, 'sec-cache4'), urlTimeoutMs: 300 }));
      expect(err2.code).toBe('ERR_NETWORK');
      expect(err2.message).toMatch(/within 300 ms/);
      expect(Date.now() - started).toBeLessThan(5000);
    });
  });
});

describe('isModelCached (the "cached" column of `models list`)', () => {
  const ssd = {
    ...base,
    name: 'ssd-cached',
    format: 'coco-ssd',
    source: { kind: 'url', baseUrl: 'http://127.0.0.1:9/ssd' },
    files: [{ name: 'model.json', sha256: null }],
  } as unknown as ModelEntry;

  it('coco-ssd: only when model.json and every weight shard it lists are there', () => {
    const cacheDir = path.join(tmp, 'cached-ssd');
    mkdirSync(path.join(cacheDir, 'ssd-cached'), { recursive: true });
    const manifest = { weightsManifest: [{ paths: ['group1-shard1of2.bin', 'group1-shard2of2.bin'] }] };
    writeFileSync(path.join(cacheDir, 'ssd-cached', 'model.json'), JSON.stringify(manifest));
    expect(isModelCached(ssd, { cacheDir })).toBe(false);
    writeFileSync(path.join(cacheDir, 'ssd-cached', 'group1-shard1of2.bin'), 'a');
    expect(isModelCached(ssd, { cacheDir })).toBe(false);
    writeFileSync(path.join(cacheDir, 'ssd-cached', 'group1-shard2of2.bin'), 'b');
    expect(isModelCached(ssd, { cacheDir })).toBe(true);
  });

  it('a served model (kserve) has nothing to cache: null, not "yes"', () => {
    const served = {
      ...base,
      name: 'served',
      format: 'kserve',
      source: { kind: 'kserve', url: 'http://127.0.0.1:9', model: 'm' },
      files: [],
    } as unknown as ModelEntry;
    expect(isModelCached(served)).toBeNull();
  });
});
