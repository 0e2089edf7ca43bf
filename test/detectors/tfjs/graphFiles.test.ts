import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readTfjsGraphFiles } from '../../../src/detectors/tfjs/index.js';
import { TWO_BOXES, writeFakeSsdModel } from './fakeGraph.js';

const SPEC = TWO_BOXES;

let dir: string;
let shard: string;
let bytes: Buffer;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'shiftbench-graphfiles-'));
  writeFakeSsdModel(dir, SPEC);
  shard = path.join(dir, 'group1-shard1of1.bin');
  bytes = readFileSync(shard);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('readTfjsGraphFiles: weight shards of the wrong size (unpinned shards, e.g. coco-ssd --weights)', () => {
  it('reads shards whose sizes match the manifest', async () => {
    const files = await readTfjsGraphFiles(dir, 'model.json');
    expect(files.weights.byteLength).toBe(bytes.length);
  });

  it('a truncated shard (partial download) is ERR_MODEL_LOAD naming the shard, both sizes and the fix', async () => {
    writeFileSync(shard, bytes.subarray(0, bytes.length - 8));
    const err = await readTfjsGraphFiles(dir, 'model.json').catch((e) => e);
    expect(err.code).toBe('ERR_MODEL_LOAD');
    expect(err.message).toContain(shard);
    expect(err.message).toContain(`${bytes.length - 8} bytes`);
    expect(err.message).toContain(`${bytes.length} bytes`);
    expect(err.message).toMatch(/copy|pull/i);
  });

  it('a shard with bytes the manifest does not describe is refused, not loaded with its weights shifted', async () => {
    // extra bytes in front shift every weight: without the check the graph loads with garbage weights
    writeFileSync(shard, Buffer.concat([Buffer.alloc(8), bytes.subarray(0, bytes.length)]));
    const err = await readTfjsGraphFiles(dir, 'model.json').catch((e) => e);
    expect(err.code).toBe('ERR_MODEL_LOAD');
    expect(err.message).toContain(shard);
    expect(err.message).toContain(`${bytes.length + 8} bytes`);
  });

  it('sizes quantised weights by their stored dtype', async () => {
    const json = JSON.parse(readFileSync(path.join(dir, 'model.json'), 'utf8'));
    // scores stored as uint8 (1 byte per value) instead of float32
    const scoresCount = 2 * 90;
    json.weightsManifest[0].weights[0].quantization = { dtype: 'uint8', min: 0, scale: 1 / 255 };
    writeFileSync(path.join(dir, 'model.json'), JSON.stringify(json));
    writeFileSync(shard, Buffer.concat([Buffer.alloc(scoresCount), bytes.subarray(scoresCount * 4)]));
    const files = await readTfjsGraphFiles(dir, 'model.json');
    expect(files.weights.byteLength).toBe(bytes.length - scoresCount * 3);
  });
});
