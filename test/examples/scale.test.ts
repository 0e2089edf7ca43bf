/**
 * The scale recipes (issue 14.4), run as far as this machine allows: the command lines of the
 * Kubernetes Indexed Job and of the Slurm job array are read from examples/ (never copied
 * here) and run as processes with the scheduler's variables set (JOB_COMPLETION_INDEX;
 * SLURM_ARRAY_TASK_ID / SLURM_ARRAY_TASK_COUNT), `shiftbench` on PATH (the CLI from source),
 * paths pointing at a small dataset here and the fast `jitter` fake for the model; then their
 * merge steps, whose metrics must equal one process's. No Docker engine or scheduler exists
 * here: the Dockerfile is checked statically (its COPY sources exist, both stages are
 * node:20-slim, the image runs the CLI) and `sbatch` is a fake that records its calls.
 */
import { existsSync, readFileSync } from 'node:fs';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RunMetrics } from '../../src/core/types.js';
import { runCli, runProcess, writeCliShim } from '../helpers/cli.js';
import { REPO_ROOT } from '../helpers/shared.js';
import { comparable, makeDataset, tempDir } from '../runner/fixtures.js';

const example = (...p: string[]) => path.join(REPO_ROOT, 'examples', ...p);
const VERSION = (JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/** The YAML documents of a manifest file (split at `---` lines). */
function yamlDocs(text: string): string[] {
  return text.split(/^---\s*$/m).filter((d) => /\S/.test(d.replace(/#.*$/gm, '')));
}

/** The first literal block (`- |`) under `key:` — a container's script — with its indentation removed. */
function literalBlock(doc: string, key: string): string {
  const lines = doc.split('\n');
  const at = lines.findIndex((l) => new RegExp(`^\\s*${key}:\\s*$`).test(l));
  expect(at, `${key}: in the manifest`).toBeGreaterThanOrEqual(0);
  expect(lines[at + 1]).toMatch(/^\s*- \|\s*$/);
  const dash = lines[at + 1].indexOf('-');
  const body: string[] = [];
  for (const l of lines.slice(at + 2)) {
    const indent = l.length - l.trimStart().length;
    if (l.trim() !== '' && indent <= dash) break;
    body.push(l);
  }
  const cut = Math.min(...body.filter((l) => l.trim() !== '').map((l) => l.length - l.trimStart().length));
  return (
    body
      .map((l) => l.slice(cut))
      .join('\n')
      .trim() + '\n'
  );
}

/** The container's `env:` entries (`- name: X` / `value: Y`). */
function envOf(doc: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const m of doc.matchAll(/- name: (\S+)\s*\n\s*value: (.+)/g)) env[m[1]] = m[2].trim().replace(/^"(.*)"$/, '$1');
  return env;
}

/** A scalar field (`key: value`) of a manifest. */
function field(doc: string, key: string): string {
  const m = new RegExp(`^\\s*${key}: (.+)$`, 'm').exec(doc);
  expect(m, `${key} in the manifest`).not.toBeNull();
  return m![1].trim().replace(/^"(.*)"$/, '$1');
}

describe('scale recipes (Kubernetes Indexed Job, Slurm job array)', () => {
  let root: string;
  let dataset: string;
  let images: string;
  let bin: string;
  let whole: RunMetrics;
  const N = 13;
  // what this machine has instead of the recipes' paths and model; everything else comes from the recipes
  const here = () => ({ MODEL: 'jitter:96', DATASET: dataset, IMAGES: images });
  const withPath = (env: Record<string, string>) => ({
    ...process.env,
    PATH: `${bin}${path.delimiter}${process.env.PATH}`,
    ...env,
  });

  beforeAll(async () => {
    root = await tempDir('shiftbench-recipes-');
    ({ file: dataset } = await makeDataset(path.join(root, 'coco'), N, { seed: 8 }));
    images = path.join(root, 'coco', 'images');
    bin = await writeCliShim(path.join(root, 'bin'));
    // the recipes' settings, run by one process: what every merge must reproduce
    const shards = readFileSync(example('kubernetes', 'shards-job.yaml'), 'utf8');
    const env = envOf(shards);
    const r = await runCli([
      'run',
      '--model',
      here().MODEL,
      '--shifts',
      env.SHIFTS,
      '--dataset',
      dataset,
      '--images',
      images,
      '--out',
      path.join(root, 'whole'),
      '--quiet',
    ]);
    expect(r.code, r.stderr).toBe(0);
    whole = JSON.parse(await readFile(path.join(root, 'whole', 'metrics.json'), 'utf8'));
    expect(whole.results[0].bounds!.mapRange).toBeGreaterThan(0);
  });

  it('Kubernetes: each pod of the Indexed Job runs its shard (JOB_COMPLETION_INDEX), then the merge Job; metrics equal one process', async () => {
    const shardsYaml = readFileSync(example('kubernetes', 'shards-job.yaml'), 'utf8');
    const job = yamlDocs(shardsYaml).find((d) => /^kind: Job$/m.test(d))!;
    expect(field(job, 'completionMode')).toBe('Indexed');
    const completions = Number(field(job, 'completions'));
    const env = envOf(job);
    expect(Number(env.SHARDS)).toBe(completions); // the shard count each pod is told is the Job's size
    expect(field(job, 'image')).toMatch(new RegExp(`/shiftbench:${VERSION.replace(/\./g, '\\.')}$`));
    const script = literalBlock(job, 'args');
    expect(script).toContain('$JOB_COMPLETION_INDEX');
    const runs = path.join(root, 'k8s-runs');
    const pods = await Promise.all(
      Array.from({ length: completions }, (_, k) =>
        runProcess('/bin/sh', ['-c', script], {
          cwd: root,
          env: withPath({ ...env, ...here(), RUNS: runs, JOB_COMPLETION_INDEX: String(k) }),
        }),
      ),
    );
    for (const p of pods) expect(p.code, p.stderr).toBe(0);

    const mergeJob = yamlDocs(readFileSync(example('kubernetes', 'merge-job.yaml'), 'utf8')).find((d) =>
      /^kind: Job$/m.test(d),
    )!;
    expect(field(mergeJob, 'image')).toBe(field(job, 'image'));
    // the image runs as the user `node` (uid 1000, Dockerfile): both pods ask the volume to be its group's, or a
    // volume provisioned root-owned refuses their writes
    expect(readFileSync(path.join(REPO_ROOT, 'Dockerfile'), 'utf8')).toMatch(/^USER node$/m);
    for (const j of [job, mergeJob]) expect(field(j, 'fsGroup')).toBe('1000');
    expect(envOf(mergeJob).RUNS).toBe(env.RUNS); // the same volume path as the shards
    const merge = await runProcess('/bin/sh', ['-c', literalBlock(mergeJob, 'args')], {
      cwd: root,
      env: withPath({ ...envOf(mergeJob), RUNS: runs }),
    });
    expect(merge.code, merge.stderr).toBe(0);
    const merged = JSON.parse(await readFile(path.join(runs, 'merged', 'metrics.json'), 'utf8')) as RunMetrics;
    expect(JSON.stringify(comparable(merged))).toBe(JSON.stringify(comparable(whole)));
    const manifest = JSON.parse(await readFile(path.join(runs, 'merged', 'manifest.json'), 'utf8'));
    expect(manifest.merged.count).toBe(completions);
  });

  it('Slurm: each array task runs its shard (SLURM_ARRAY_TASK_ID/COUNT), then merge.sbatch; submit.sh chains them with afterok', async () => {
    const shardsScript = example('slurm', 'shards.sbatch');
    const text = readFileSync(shardsScript, 'utf8');
    const array = /^#SBATCH --array=(\d+)-(\d+)\s*$/m.exec(text);
    expect(array, '#SBATCH --array=FIRST-LAST').not.toBeNull();
    const [first, last] = [Number(array![1]), Number(array![2])];
    expect(first).toBe(0); // shards are numbered from 0, like the task ids
    const count = last - first + 1;
    const runs = path.join(root, 'slurm-runs');
    const env = { ...here(), RUNS: runs, SHIFTBENCH: 'shiftbench' };
    const tasks = await Promise.all(
      Array.from({ length: count }, (_, k) =>
        runProcess('/bin/bash', [shardsScript], {
          cwd: root,
          env: withPath({ ...env, SLURM_ARRAY_TASK_ID: String(first + k), SLURM_ARRAY_TASK_COUNT: String(count) }),
        }),
      ),
    );
    for (const t of tasks) expect(t.code, t.stderr).toBe(0);
    const merge = await runProcess('/bin/bash', [example('slurm', 'merge.sbatch')], { cwd: root, env: withPath(env) });
    expect(merge.code, merge.stderr).toBe(0);
    const merged = JSON.parse(await readFile(path.join(runs, 'merged', 'metrics.json'), 'utf8')) as RunMetrics;
    expect(JSON.stringify(comparable(merged))).toBe(JSON.stringify(comparable(whole)));

    // submit.sh with a fake sbatch that records its calls and answers like `sbatch --parsable`
    const calls = path.join(root, 'sbatch-calls.txt');
    const fakeBin = path.join(root, 'fake-slurm');
    await writeCliShim(fakeBin);
    await writeFile(path.join(fakeBin, 'sbatch'), `#!/bin/sh\necho "$*" >> "${calls}"\necho "4242;cluster"\n`);
    await chmod(path.join(fakeBin, 'sbatch'), 0o755);
    const submit = await runProcess('/bin/bash', [example('slurm', 'submit.sh')], {
      cwd: root,
      env: { ...process.env, PATH: `${fakeBin}${path.delimiter}${process.env.PATH}` },
    });
    expect(submit.code, submit.stderr).toBe(0);
    expect(readFileSync(calls, 'utf8').trim().split('\n')).toEqual([
      '--parsable shards.sbatch',
      '--dependency=afterok:4242 merge.sbatch',
    ]);
  });
});

describe('Dockerfile (built elsewhere: no Docker engine here)', () => {
  const text = readFileSync(path.join(REPO_ROOT, 'Dockerfile'), 'utf8');
  const lines = text.split('\n').filter((l) => !l.startsWith('#'));
  const stages = text.split(/^FROM /m).slice(1);

  it('builds with dev dependencies and runs on node:20-slim: both stages, onnxruntime-node install skipped, dev dependencies pruned', () => {
    expect(/^ARG NODE_IMAGE=node:20-slim$/m.test(text)).toBe(true);
    expect(stages.map((s) => s.split('\n')[0])).toEqual(['${NODE_IMAGE} AS build', '${NODE_IMAGE} AS runtime']);
    const [build, runtime] = stages;
    expect(build).toMatch(/^ENV ONNXRUNTIME_NODE_INSTALL=skip$/m);
    expect(build).toMatch(/npm ci\b/);
    expect(build).toMatch(/npm run build/);
    expect(build).toMatch(/npm prune --omit=dev/);
    // the runtime stage takes only the build's output: no npm install, no sources
    expect(runtime).not.toMatch(/npm (ci|install)/);
    expect(
      runtime
        .split('\n')
        .filter((l) => l.startsWith('COPY'))
        .every((l) => l.startsWith('COPY --from=build ')),
    ).toBe(true);
  });

  it('every COPY source exists in the repository and is not excluded by .dockerignore', () => {
    const ignored = readFileSync(path.join(REPO_ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#') && !l.startsWith('!'));
    const copies = lines.filter((l) => l.startsWith('COPY ') && !l.startsWith('COPY --from='));
    expect(copies.length).toBeGreaterThan(3);
    for (const line of copies) {
      const parts = line.slice('COPY '.length).trim().split(/\s+/);
      for (const src of parts.slice(0, -1)) {
        expect(existsSync(path.join(REPO_ROOT, src)), `${src} (${line})`).toBe(true);
        expect(
          ignored.some((p) => src.replace(/\/$/, '') === p || src.startsWith(`${p}/`)),
          `${src} is .dockerignored`,
        ).toBe(false);
      }
    }
  });

  it("the image runs the CLI: `shiftbench` on PATH is package.json's bin, the entrypoint; the recipes' model is in the packed files", () => {
    const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
      bin: Record<string, string>;
      files: string[];
    };
    expect(text).toContain(`ln -s /app/${pkg.bin.shiftbench} /usr/local/bin/shiftbench`);
    expect(text).toMatch(/^ENTRYPOINT \["shiftbench"\]$/m);
    expect(text).toMatch(/^CMD \["--help"\]$/m);
    expect(text).toMatch(/^USER node$/m);
    // the recipes' default model ships in the package (no download at run time)
    const model = envOf(readFileSync(example('kubernetes', 'shards-job.yaml'), 'utf8')).MODEL;
    const zoo = JSON.parse(readFileSync(path.join(REPO_ROOT, 'models/zoo/zoo.json'), 'utf8')) as {
      models: { name: string; files: { name: string }[] }[];
    };
    expect(zoo.models.map((m) => m.name)).toContain(model);
    expect(pkg.files).toContain('models/zoo/*.onnx');
    expect(pkg.files).toContain('models/zoo/zoo.json');
    expect(readFileSync(example('slurm', 'shards.sbatch'), 'utf8')).toContain(
      `docker build -t shiftbench:${VERSION} .`,
    );
  });
});
