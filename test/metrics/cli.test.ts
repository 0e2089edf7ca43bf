import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, sharedPath } from '../helpers/shared.js';

const run = promisify(execFile);
const fixture = (...p: string[]) => path.join(REPO_ROOT, 'test/fixtures', ...p);
/** pycocotools' answers stay in ../shared/golden; the tests that read them skip without it. */
const GOLDEN = sharedPath('golden');
if (!GOLDEN) process.stderr.write('[skip] eval/bounds golden checks: ../shared/golden absent\n');

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run('npx', ['tsx', 'src/cli/index.ts', ...args], {
      cwd: REPO_ROOT,
      maxBuffer: 1 << 26,
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

describe('shiftbench eval / bounds', () => {
  it.skipIf(!GOLDEN)('eval --json prints exactly stats and perCategoryAP (golden case_1 from ../shared)', async () => {
    const r = await cli([
      'eval',
      '--gt',
      fixture('metrics/case1_gt.json'),
      '--dets',
      fixture('metrics/case1_dets.json'),
      '--json',
    ]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    const golden = JSON.parse(readFileSync(path.join(GOLDEN!, 'cocoeval/case_1.json'), 'utf8'));
    expect(Object.keys(out)).toEqual(['stats', 'perCategoryAP']);
    // pycocotools' −1 (no ground truth in that area range) is absent here: null, never a value
    out.stats.forEach((v: number | null, i: number) =>
      golden.stats[i] === -1 ? expect(v).toBeNull() : expect(v).toBeCloseTo(golden.stats[i], 12),
    );
    expect(Object.keys(out.perCategoryAP).sort()).toEqual(Object.keys(golden.per_category_ap).sort());
  });

  it('eval prints the pycocotools table', async () => {
    const r = await cli([
      'eval',
      '--gt',
      fixture('metrics/case1_gt.json'),
      '--dets',
      fixture('metrics/case1_dets.json'),
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(' Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.301');
    expect(r.stdout).toContain(' Average Recall     (AR) @[ IoU=0.50:0.95 | area= large | maxDets=100 ] = 0.600');
  });

  it('eval warns when detections have category ids the ground truth lacks (left out, as pycocotools does)', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'shiftbench-eval-cats-'));
    const dets = JSON.parse(readFileSync(fixture('metrics/case1_dets.json'), 'utf8')) as { category_id: number }[];
    const file = path.join(dir, 'dets.json');
    // every id moved by 1000 (a detector whose class ids follow another convention)
    writeFileSync(file, JSON.stringify(dets.map((d) => ({ ...d, category_id: d.category_id + 1000 }))));
    const moved = await cli(['eval', '--gt', fixture('metrics/case1_gt.json'), '--dets', file, '--json']);
    expect(moved.code).toBe(0); // pycocotools' numbers, all 0: not an error
    expect(JSON.parse(moved.stdout).stats[0]).toBe(0);
    expect(moved.stderr).toContain(`warning: --dets file "${file}": ${dets.length} of ${dets.length} detections`);
    expect(moved.stderr).toMatch(/category_id .*1\d\d\d/);
    // the file as it is: no warning
    const plain = await cli([
      'eval',
      '--gt',
      fixture('metrics/case1_gt.json'),
      '--dets',
      fixture('metrics/case1_dets.json'),
    ]);
    expect(plain.stderr).not.toContain('category_id');
  });

  it.skipIf(!GOLDEN)('bounds --json on a golden case file (../shared)', async () => {
    const r = await cli(['bounds', '--case', path.join(GOLDEN!, 'greedy/greedy_1.json'), '--json']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    const e = JSON.parse(readFileSync(path.join(GOLDEN!, 'greedy/greedy_1.json'), 'utf8')).expected;
    expect(out.mapLower).toBeCloseTo(e.mapLower, 12);
    expect(out.mapUpper).toBeCloseTo(e.mapUpper, 12);
    expect(out.passes).toEqual({ lower: e.passesLower, upper: e.passesUpper });
    expect(Object.keys(out)).toEqual([
      'mapRef',
      'mapLower',
      'mapUpper',
      'mapRange',
      'relRange',
      'perShift',
      'passes',
      'assignLower',
      'assignUpper',
    ]);
  });

  it('a missing or malformed file is a usage error (exit 2) naming the file', async () => {
    const missing = await cli(['eval', '--gt', 'nope/gt.json', '--dets', fixture('metrics/case1_dets.json')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(
      'shiftbench: Could not read --gt file "nope/gt.json": it does not exist. Check the path.',
    );
    const bad = await cli(['bounds', '--case', fixture('metrics/malformed.json')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(`Could not parse --case file "${fixture('metrics/malformed.json')}" as JSON`);
  });

  it('bounds on a case without ground truth computes nothing: exit 1 naming the file and why, never exit 0', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'shiftbench-bounds-nogt-'));
    const file = path.join(dir, 'case.json');
    const det = (image_id: number, x: number) => ({ image_id, category_id: 1, bbox: [x, 5, 10, 10], score: 0.9 });
    writeFileSync(
      file,
      JSON.stringify({
        gt: { images: [{ id: 1, width: 64, height: 64 }], annotations: [], categories: [{ id: 1, name: 'a' }] },
        shifts: [
          [0, 0],
          [1, 0],
        ],
        dets: [[det(1, 5)], [det(1, 6)]],
      }),
    );
    for (const args of [[], ['--json']]) {
      const r = await cli(['bounds', '--case', file, ...args]);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain(file);
      expect(r.stderr).toContain('no ground truth');
    }
  });

  it('bounds on per-shift ground truth whose shift 0 only has none: exit 1 saying so, not that the case has none', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'shiftbench-bounds-nogt0-'));
    const file = path.join(dir, 'case.json');
    const det = (image_id: number, x: number) => ({ image_id, category_id: 1, bbox: [x, 5, 10, 10], score: 0.9 });
    const gt = (annotations: unknown[]) => ({
      images: [{ id: 1, width: 64, height: 64 }],
      annotations,
      categories: [{ id: 1, name: 'a' }],
    });
    const ann = { id: 1, image_id: 1, category_id: 1, bbox: [6, 5, 10, 10], area: 100, iscrowd: 0 };
    writeFileSync(
      file,
      JSON.stringify({
        gt: [gt([]), gt([ann])],
        shifts: [
          [0, 0],
          [1, 0],
        ],
        dets: [[det(1, 5)], [det(1, 6)]],
      }),
    );
    const r = await cli(['bounds', '--case', file]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(file);
    expect(r.stderr).toMatch(/shift 0/);
    expect(r.stderr).toMatch(/gt\[0\]/);
    expect(r.stderr).not.toContain('its gt holds no annotation');
  });

  it('bad detections are a failure (exit 1) with ERR_METRICS_INPUT text', async () => {
    const r = await cli([
      'eval',
      '--gt',
      fixture('metrics/case1_gt.json'),
      '--dets',
      fixture('metrics/case1_dets_bad_image.json'),
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Detections name image ids that are not in the ground truth: 999999.');
  });

  it('eval: a ground truth or detections file of the wrong shape is named in the error, with what it must hold', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'shiftbench-eval-shape-'));
    const gt = path.join(dir, 'not-gt.json');
    const dets = path.join(dir, 'not-dets.json');
    writeFileSync(gt, JSON.stringify({ info: {} }));
    writeFileSync(dets, JSON.stringify({ x: 1 }));
    const badGt = await cli(['eval', '--gt', gt, '--dets', fixture('metrics/case1_dets.json')]);
    expect(badGt.code).toBe(1);
    expect(badGt.stderr).toContain(`--gt file "${gt}"`);
    expect(badGt.stderr).toContain('"images", "annotations" and "categories"');
    const badDets = await cli(['eval', '--gt', fixture('metrics/case1_gt.json'), '--dets', dets]);
    expect(badDets.code).toBe(1);
    expect(badDets.stderr).toContain(`--dets file "${dets}"`);
    expect(badDets.stderr).toContain('Expected an array of COCO results');
    const unknown = await cli([
      'eval',
      '--gt',
      fixture('metrics/case1_gt.json'),
      '--dets',
      fixture('metrics/case1_dets_bad_image.json'),
    ]);
    expect(unknown.stderr).toContain(`--dets file "${fixture('metrics/case1_dets_bad_image.json')}"`);
  });

  it('eval without ground truth prints no −1: absent numbers are "—" (text) and null (JSON), with the reason, and exits 1 (no result)', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'shiftbench-eval-nogt-'));
    const gt = path.join(dir, 'gt.json');
    const dets = path.join(dir, 'dets.json');
    writeFileSync(
      gt,
      JSON.stringify({
        images: [{ id: 1, width: 100, height: 100 }],
        annotations: [],
        categories: [{ id: 1, name: 'a' }],
      }),
    );
    writeFileSync(dets, JSON.stringify([{ image_id: 1, category_id: 1, bbox: [10, 10, 20, 20], score: 0.9 }]));
    const text = await cli(['eval', '--gt', gt, '--dets', dets]);
    // every number absent is no result: exit 1 naming the file, as `bounds` does, never 0
    expect(text.code).toBe(1);
    expect(text.stderr).toContain(`--gt file "${gt}": no ground truth to score against`);
    expect(text.stdout).not.toMatch(/-1\.0/);
    expect(text.stdout).toContain('maxDets=100 ] = —');
    expect(text.stdout).toContain('no ground truth');
    const json = await cli(['eval', '--gt', gt, '--dets', dets, '--json']);
    expect(json.code).toBe(1);
    const out = JSON.parse(json.stdout);
    expect(out.stats).toEqual(Array(12).fill(null));
    expect(out.perCategoryAP).toEqual({ '1': null });
  });

  it('--help shows an example', async () => {
    const r = await cli(['bounds', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('shiftbench bounds --case');
    const e = await cli(['eval', '--help']);
    expect(e.stdout).toContain('Example:');
  });
});
