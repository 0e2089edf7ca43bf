/**
 * examples/python/detect_export.py (issue 13.3): a torchvision detector run on an export
 * folder by Python, its results scored by `scoreExport`. Runs where a python3 with torch,
 * torchvision and PIL is found (SHIFTBENCH_PYTHON, python3, /usr/bin/python3); skips with a
 * message otherwise. The model is randomly initialised (no weights can be downloaded here):
 * the test checks the pipeline — the files it writes are accepted and every detection it
 * reports is scored — not the detector's accuracy.
 */
import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ensureSynthDataset } from '../../src/datasets/index.js';
import { exportInputs, scoreExport } from '../../src/export/index.js';
import { REPO_ROOT } from '../helpers/shared.js';
import { tempDir } from '../runner/fixtures.js';

const SCRIPT = path.join(REPO_ROOT, 'examples/python/detect_export.py');

/** The first python with torch, torchvision and PIL, or null. */
function findPython(): string | null {
  const candidates = [process.env.SHIFTBENCH_PYTHON, 'python3', '/usr/bin/python3'].filter((c): c is string => !!c);
  for (const py of candidates) {
    const r = spawnSync(py, ['-c', 'import torch, torchvision, PIL'], { encoding: 'utf8', timeout: 60_000 });
    if (r.status === 0) return py;
  }
  return null;
}

const python = findPython();
if (!python)
  process.stderr.write(
    '[skip] examples/python/detect_export.py: no python3 with torch, torchvision and PIL (set SHIFTBENCH_PYTHON to one)\n',
  );
const NAME = 'examples/python/detect_export.py (torchvision, random weights)';

(python ? describe : describe.skip)(
  python ? NAME : `${NAME} (skipped: no python3 with torch, torchvision and PIL)`,
  () => {
    it('writes shift_<k>.json for every input; score accepts them and scores every detection it reported', async () => {
      const root = await tempDir('shiftbench-python-');
      const dataset = (await ensureSynthDataset(path.join(root, 'synth'), { splits: ['val'], valImages: 3 })).splits[0]
        .annotationFile;
      const exportDir = path.join(root, 'export');
      await exportInputs({
        inputSizePx: { width: 160, height: 160 },
        fit: 'letterbox',
        padValue: [0, 0, 0],
        dataset,
        shifts: 'grid:1',
        out: exportDir,
      });

      const r = spawnSync(python!, [SCRIPT, exportDir, '--threads', '1', '--seed', '0'], {
        encoding: 'utf8',
        timeout: 300_000,
      });
      expect(r.status, r.stderr).toBe(0);
      const summary = JSON.parse(r.stdout.trim().split('\n').pop()!) as {
        inputs: number;
        seconds: number;
        detections: number[];
      };
      expect(summary.inputs).toBe(12);
      expect(summary.detections).toHaveLength(4);
      for (let k = 0; k < 4; k++) {
        const dets = JSON.parse(
          await readFile(path.join(exportDir, 'detections', `shift_${k}.json`), 'utf8'),
        ) as unknown[];
        expect(dets).toHaveLength(summary.detections[k]);
      }
      const total = summary.detections.reduce((a, b) => a + b, 0);
      expect(total).toBeGreaterThan(0);

      const { metrics, runDir } = await scoreExport(exportDir, {
        name: 'fasterrcnn-mnv3-random',
        family: 'two-stage,anchor-based',
        out: path.join(root, 'run'),
        bootstrapResamples: 50,
      });
      const result = metrics.results[0];
      expect(result.imagesEvaluated).toBe(3);
      // pad mode drops nothing and every input kept ≤ 100 (< --max-detections): all of them were scored
      expect(result.scoredContent).toMatchObject({ detectionsTotal: total, detectionsDropped: 0 });
      const timing = JSON.parse(await readFile(path.join(exportDir, 'detections', 'timing.json'), 'utf8')) as {
        inferenceSeconds: number;
      };
      expect(timing.inferenceSeconds).toBeCloseTo(summary.seconds, 2);
      expect(result.timing.inferenceSeconds).toBeCloseTo(timing.inferenceSeconds, 9);
      expect(Number.isFinite(result.bounds!.mapRef)).toBe(true);
      const manifest = JSON.parse(await readFile(path.join(runDir, 'manifest.json'), 'utf8'));
      expect(manifest.detectors[0]).toMatchObject({
        key: 'fasterrcnn-mnv3-random',
        family: { stages: 'two-stage', anchors: 'anchor-based' },
      });
    });
  },
);
