/** The benches' flags (bench/args.ts): a flag a bench does not read is refused, not silently ignored. */
import { afterEach, describe, expect, it } from 'vitest';
import { checkArgs, intArg, strArg } from '../../bench/args.js';

const spec = { values: ['--images', '--data'], switches: ['--skip-workers'] };
const argv0 = process.argv;
afterEach(() => {
  process.argv = argv0;
});

describe('bench args', () => {
  it('accepts the flags a bench reads', () => {
    expect(() => checkArgs(spec, ['--images', '300', '--skip-workers', '--data', 'shared'])).not.toThrow();
    expect(() => checkArgs(spec, [])).not.toThrow();
  });

  it('refuses a flag the bench does not read (a typo would run the full-size default)', () => {
    expect(() => checkArgs(spec, ['--image', '300'])).toThrow(/--image/);
    expect(() => checkArgs(spec, ['--limit', '300'])).toThrow(/--limit/);
  });

  it('refuses --flag=value, which intArg would not see', () => {
    expect(() => checkArgs(spec, ['--images=300'])).toThrow(/--images 300/);
  });

  it('refuses a stray value and a value flag without its value', () => {
    expect(() => checkArgs(spec, ['300'])).toThrow(/300/);
    expect(() => checkArgs(spec, ['--images', '300', 'extra'])).toThrow(/extra/);
    expect(() => checkArgs(spec, ['--data'])).toThrow(/--data/);
    expect(() => checkArgs(spec, ['--data', '--skip-workers'])).toThrow(/--data/);
  });

  it('strArg refuses a missing value instead of returning undefined or the next flag', () => {
    process.argv = [argv0[0], 'bench.ts', '--shifts'];
    expect(() => strArg('--shifts', 'grid:3')).toThrow(/--shifts/);
    process.argv = [argv0[0], 'bench.ts', '--model', '--limit', '8'];
    expect(() => strArg('--model', '')).toThrow(/--model/);
    process.argv = [argv0[0], 'bench.ts', '--shifts', 'grid:1'];
    expect(strArg('--shifts', 'grid:3')).toBe('grid:1');
    expect(intArg('--images', 5)).toBe(5);
  });
});
