/**
 * The ONNX adapter must not leak per call: resident memory stays roughly flat over many
 * detect calls (a leaked input or output tensor would add ≥ 1.4 MB per call here).
 */
import path from 'node:path';
import { expect, it } from 'vitest';
import { loadDetector } from '../../src/detectors/index.js';
import { describeShared, REPO_ROOT } from '../helpers/shared.js';

const REGISTRY = path.join(REPO_ROOT, 'test/fixtures/registry-shared.json');

describeShared('ONNX adapter memory', ['models/fastestdet/FastestDet.onnx'], () => {
  it('keeps RSS flat over 300 detect calls and releases on dispose', async () => {
    const det = await loadDetector('fastestdet', { registryFiles: [REGISTRY], threads: 1 });
    const size = 352;
    const data = new Uint8Array(size * size * 3);
    for (let i = 0; i < data.length; i++) data[i] = (i * 2654435761) >>> 24;
    const img = { width: size, height: size, data };
    for (let i = 0; i < 30; i++) await det.detect([img]);
    const before = process.memoryUsage().rss;
    for (let i = 0; i < 300; i++) await det.detect([img]);
    const growthMb = (process.memoryUsage().rss - before) / 2 ** 20;
    process.stderr.write(`[memory] RSS growth over 300 detect calls: ${growthMb.toFixed(1)} MB\n`);
    expect(growthMb).toBeLessThan(120); // a per-call leak of the 1.4 MB input would be > 400 MB
    await det.dispose();
  }, 300_000);
});
