/**
 * User-facing text (issue 15.5): every error code used in src/ has its entry in
 * core/messages.ts, every flag a message names exists in the CLI, and library options
 * are named in errors by the flag a CLI user types.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../src/cli/commands/index.js';
import { ShiftbenchError, USAGE_ERROR_CODES, type ErrorCode } from '../../src/core/errors.js';
import { ERROR_CODES, OPTION_FLAGS, SYNTH_OPTION_FLAGS } from '../../src/core/messages.js';
import { generateSynthDataset } from '../../src/datasets/synth.js';
import { resolveRunOptions, type RunOptions } from '../../src/runner/options.js';
import { REPO_ROOT } from '../helpers/shared.js';

const SRC = path.join(REPO_ROOT, 'src');

/** Every .ts file under src/ with its text. */
function sources(): { file: string; text: string }[] {
  return (readdirSync(SRC, { recursive: true }) as string[])
    .filter((f) => f.endsWith('.ts'))
    .map((f) => ({ file: path.join('src', f), text: readFileSync(path.join(SRC, f), 'utf8') }));
}

/** The long flags of every command and subcommand, per command path ("run", "datasets synth", …). */
function cliFlags(): Map<string, Set<string>> {
  const program = new Command('shiftbench');
  for (const register of COMMANDS) register(program);
  const out = new Map<string, Set<string>>();
  const walk = (c: Command, prefix: string): void => {
    for (const sub of c.commands) {
      const name = `${prefix}${sub.name()}`;
      out.set(name, new Set(sub.options.map((o) => o.long).filter((l): l is string => !!l)));
      walk(sub, `${name} `);
    }
  };
  walk(program, '');
  return out;
}

/**
 * Flags a source file mentions that are not shiftbench's: npm's own (the argv of `npm pack` and
 * `npm view` in detectors/pull.ts, the install option of onnxruntime-node). CSS custom properties (`--muted: …`, `var(--muted)`) are
 * recognised by their shape.
 */
const FOREIGN_FLAGS: Record<string, string[]> = {
  'src/detectors/pull.ts': ['--pack-destination', '--ignore-scripts', '--silent'],
  'src/detectors/onnx/index.ts': ['--onnxruntime-node-install'],
  'src/detectors/plugins.ts': ['--check'], // `node --check` finds where a plug-in's syntax error is
};

/** `--name` tokens in a text, leaving out CSS custom properties. */
export function flagsIn(text: string): string[] {
  const found: string[] = [];
  for (const m of text.matchAll(/(?<![\w-])--[a-z][a-z0-9-]*/g)) {
    const before = text.slice(Math.max(0, m.index - 4), m.index);
    const after = text[m.index + m[0].length];
    if (before === 'var(' || after === ':' || after === ')') continue;
    found.push(m[0]);
  }
  return found;
}

describe('error codes', () => {
  it('every ERR_ code used in src/ has its entry in ERROR_CODES, and every entry is used', () => {
    const used = new Set<string>();
    for (const { file, text } of sources()) {
      if (file.endsWith(path.join('core', 'messages.ts')) || file.endsWith(path.join('core', 'errors.ts'))) continue;
      for (const m of text.matchAll(/\bERR_[A-Z_]+\b(?!\*)/g)) used.add(m[0]); // not ERR_MODEL_* in prose
    }
    const known = Object.keys(ERROR_CODES);
    expect([...used].filter((c) => !known.includes(c)).sort()).toEqual([]);
    expect(known.filter((c) => !used.has(c)).sort()).toEqual([]);
  });

  it('exit code 2 (usage) only for ERR_INVALID_OPTION; every meaning is a sentence fragment, not empty', () => {
    expect([...USAGE_ERROR_CODES]).toEqual(['ERR_INVALID_OPTION']);
    for (const [code, t] of Object.entries(ERROR_CODES)) expect(t.meaning.length, code).toBeGreaterThan(10);
  });
});

describe('flags named in messages', () => {
  it('finds flags and skips CSS custom properties (the scanner itself)', () => {
    expect(flagsIn('use --bootstrap-bounds B; `--out -`; color: var(--muted); .x { --line: #ccc }')).toEqual([
      '--bootstrap-bounds',
      '--out',
    ]);
  });

  it('every --flag in src/ (messages, help, comments) is an option of some shiftbench command', () => {
    const all = new Set(['--help', '--version', ...[...cliFlags().values()].flatMap((s) => [...s])]);
    const unknown: string[] = [];
    for (const { file, text } of sources()) {
      const foreign = FOREIGN_FLAGS[file] ?? [];
      for (const f of flagsIn(text)) if (!all.has(f) && !foreign.includes(f)) unknown.push(`${file}: ${f}`);
    }
    expect(unknown).toEqual([]);
  });

  it('every flag of OPTION_FLAGS is an option of `run`, and those of SYNTH_OPTION_FLAGS of `datasets synth`', () => {
    const flags = cliFlags();
    expect(Object.values(OPTION_FLAGS).filter((f) => !flags.get('run')!.has(f))).toEqual([]);
    expect(Object.values(SYNTH_OPTION_FLAGS).filter((f) => !flags.get('datasets synth')!.has(f))).toEqual([]);
  });

  it('no message names a library option by its key ("for bootstrapResamples but received")', () => {
    const keys = [...Object.keys(OPTION_FLAGS), ...Object.keys(SYNTH_OPTION_FLAGS)];
    const found: string[] = [];
    for (const { file, text } of sources()) {
      for (const k of keys) {
        if (text.includes(`for ${k} but received`) || text.includes(`invalidParameterError('${k}'`))
          found.push(`${file}: ${k}`);
      }
    }
    expect(found).toEqual([]);
  });
});

/** A bad value of each run option (force is a boolean switch: anything but true is false). */
const BAD_RUN_OPTIONS: { [K in Exclude<keyof typeof OPTION_FLAGS, 'force'>]: unknown } = {
  models: [],
  mitigations: 'input-blur:1',
  dataset: 42,
  images: 42,
  classes: 42,
  shifts: 'grid:x',
  mode: 'wrap',
  scoreThreshold: 1.5,
  limit: 0,
  out: 42,
  seed: -1,
  bootstrapSeed: 0.5,
  bootstrapBounds: -1,
  objectives: ['ap90'],
  backend: 'webgpu',
  executionProvider: 'tpu',
  threads: 0,
  weightsDir: 42,
  plugins: 'a.mjs',
  registryFiles: 'r.json',
  detectTimeoutMs: 0,
  batchSize: 0,
  maxDetections: 0,
  prepareWorkers: -1,
  bootstrapResamples: 0,
  kernel: 'box',
  subpixelKernel: 'cubic',
  shard: '4/4',
  httpConcurrency: 0,
  httpTimeoutMs: 0.5,
  httpRetries: -1,
};

describe('library options are named by their CLI flag', () => {
  for (const [key, bad] of Object.entries(BAD_RUN_OPTIONS)) {
    const flag = OPTION_FLAGS[key as keyof typeof OPTION_FLAGS];
    it(`a bad ${key} is reported as ${flag}`, () => {
      const options = { models: ['oracle'], dataset: 'd.json', [key]: bad } as unknown as RunOptions;
      let err: unknown;
      try {
        resolveRunOptions(options, REPO_ROOT);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ShiftbenchError);
      expect((err as ShiftbenchError).code satisfies ErrorCode).toBe('ERR_INVALID_OPTION');
      expect((err as Error).message).toContain(flag);
      if (flag !== `--${key}`) expect((err as Error).message).not.toMatch(new RegExp(`\\b${key}\\b`));
    });
  }

  it('generateSynthDataset names the flags of `datasets synth` (--images, not trainImages)', async () => {
    await expect(generateSynthDataset({ outDir: '/nonexistent/x', trainImages: 0 })).rejects.toMatchObject({
      code: 'ERR_INVALID_OPTION',
      message: 'Expected an integer from 1 to 1000000 for --images but received 0',
    });
  });
});
