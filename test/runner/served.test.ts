/**
 * Served detectors end to end (issue 13.1, 13.2): the zoo model zoo-fcos served over the
 * Open Inference Protocol (JSON and binary tensors) and as a plain HTTP detector, by real
 * servers on loopback, gives the direct ONNX run's detections and metrics bit for bit;
 * faults end in a retry or a clear error naming the URL, and the same command resumes
 * without losing what was stored; mismatched metadata and a model replaced behind the
 * URL are refused.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyFileName } from '../../src/core/fileNames.js';
import type { Detector, ModelEntry, RunMetrics } from '../../src/core/types.js';
import { ensureSynthDataset } from '../../src/datasets/index.js';
import { loadDetector } from '../../src/detectors/index.js';
import { runBenchmark, type RunOptions } from '../../src/runner/index.js';
import {
  servedModel,
  startKserveServer,
  startPlainServer,
  type Fault,
  type ServedModel,
  type TestServer,
} from '../detectors/http/servers.js';
import { REPO_ROOT } from '../helpers/shared.js';
import { tempDir } from './fixtures.js';

const ZOO = path.join(REPO_ROOT, 'models/zoo');
const zooEntry = (JSON.parse(readFileSync(path.join(ZOO, 'zoo.json'), 'utf8')) as { models: ModelEntry[] }).models.find(
  (m) => m.name === 'zoo-fcos',
)!;
const IMAGES = 3;

/** What must be equal between the direct and the served run: everything but names and timings. */
function comparable(m: RunMetrics): unknown {
  return m.results.map(({ key: _k, model: _m, runtime: _r, timing: _t, ...rest }) => rest);
}

/** Per image, per shift, the stored detections (original-image coordinates). */
function storedShifts(runDir: string, key: string): unknown {
  const file = path.join(runDir, 'detections', `${keyFileName(key)}.jsonl`);
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { imageId: number; shifts: unknown })
    .map((r) => ({ imageId: r.imageId, shifts: r.shifts }))
    .sort((a, b) => a.imageId - b.imageId);
}

function storedCount(runDir: string, key: string): number {
  try {
    return (storedShifts(runDir, key) as unknown[]).length;
  } catch {
    return 0;
  }
}

async function failure(p: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await p;
  } catch (err) {
    return err as Error & { code?: string };
  }
  throw new Error('expected the run to fail');
}

describe('served detectors (KServe v2, plain HTTP) against the direct ONNX run', () => {
  let root: string;
  let dataset: string;
  let direct: { metrics: RunMetrics; runDir: string };
  const model: { current: ServedModel } = { current: null as unknown as ServedModel };
  const plainDetector: { current: Detector } = { current: null as unknown as Detector };
  let kserve: TestServer;
  let plain: TestServer;
  let registry: string;
  let outN = 0;

  const base = (): Omit<RunOptions, 'models'> => ({
    dataset,
    limit: IMAGES,
    shifts: 'grid:1',
    bootstrapResamples: 20,
    bootstrapBounds: 20,
    registryFiles: [registry],
  });
  const newOut = () => path.join(root, `run-${++outN}`);

  beforeAll(async () => {
    root = await tempDir('shiftbench-served-');
    const synth = await ensureSynthDataset(path.join(root, 'synth'), { splits: ['val'], valImages: IMAGES });
    dataset = synth.splits[0].annotationFile;
    direct = await runBenchmark({ ...base(), registryFiles: [], models: ['zoo-fcos'], out: newOut() });
    model.current = await servedModel(path.join(ZOO, 'zoo-fcos.onnx'), 'fcos');
    kserve = await startKserveServer(model);
    plainDetector.current = await loadDetector('zoo-fcos');
    plain = await startPlainServer(plainDetector);
    const { files: _f, source: _s, description: _d, meta: _m, ...fields } = zooEntry;
    const served = (name: string, extra: Record<string, unknown>) => ({
      ...fields,
      name,
      format: 'kserve',
      source: { kind: 'kserve', url: kserve.url, model: 'fcos' },
      ...extra,
    });
    registry = path.join(root, 'served.json');
    await writeFile(
      registry,
      JSON.stringify({
        models: [
          served('fcos-served', {}),
          served('fcos-served-bin', {
            binary: true,
            source: { kind: 'kserve', url: kserve.url, model: 'fcos', version: '1' },
          }),
          served('fcos-served-320', { inputSizePx: { width: 320, height: 320 } }),
        ],
      }),
    );
  }, 120_000);

  afterAll(async () => {
    await kserve?.close();
    await plain?.close();
    await plainDetector.current?.dispose();
    await model.current?.session.release();
  });

  it("KServe v2 with JSON tensors: the direct run's detections and metrics, bit for bit; several requests in flight", async () => {
    kserve.maxInFlight = 0;
    kserve.holdUntil = 2; // requests are held until two are in flight, so a fast answer cannot hide the second
    const run = await runBenchmark({ ...base(), models: ['fcos-served'], out: newOut() }).finally(
      () => (kserve.holdUntil = 0),
    );
    expect(storedShifts(run.runDir, 'fcos-served')).toEqual(storedShifts(direct.runDir, 'zoo-fcos'));
    expect(comparable(run.metrics)).toEqual(comparable(direct.metrics));
    expect(run.metrics.results[0].bounds!.mapRef).toBeGreaterThan(0.2);
    expect(kserve.maxInFlight).toBe(2); // --http-concurrency default
    const manifest = JSON.parse(readFileSync(path.join(run.runDir, 'manifest.json'), 'utf8'));
    const d = manifest.detectors[0];
    expect(d.runtime).toBe('kserve-v2 http');
    expect(d.details).toMatchObject({
      format: 'kserve',
      url: kserve.url,
      model: 'fcos',
      modelVersion: '1',
      binary: false,
    });
    expect(d.details.metadata.inputs).toEqual([{ name: 'images', datatype: 'FP32', shape: [1, 3, 256, 256] }]);
    expect(manifest.identity.detectors['fcos-served'].served.canaryOutputsSha256).toMatch(/^[0-9a-f]{64}$/);
  }, 120_000);

  it('KServe v2 with Triton binary tensors and an explicit version: bit for bit', async () => {
    const run = await runBenchmark({ ...base(), models: ['fcos-served-bin'], out: newOut(), httpConcurrency: 3 });
    expect(storedShifts(run.runDir, 'fcos-served-bin')).toEqual(storedShifts(direct.runDir, 'zoo-fcos'));
    expect(comparable(run.metrics)).toEqual(comparable(direct.metrics));
  }, 120_000);

  it('plain HTTP (PNG in, detections out): bit for bit', async () => {
    plain.maxInFlight = 0;
    plain.holdUntil = 2;
    const run = await runBenchmark({ ...base(), models: [plain.url], out: newOut() }).finally(
      () => (plain.holdUntil = 0),
    );
    expect(storedShifts(run.runDir, plain.url)).toEqual(storedShifts(direct.runDir, 'zoo-fcos'));
    expect(comparable(run.metrics)).toEqual(comparable(direct.metrics));
    expect(plain.maxInFlight).toBe(2);
    const d = JSON.parse(readFileSync(path.join(run.runDir, 'manifest.json'), 'utf8')).detectors[0];
    expect(d.details).toMatchObject({ format: 'http', url: plain.url });
    expect(d.inputSizePx).toEqual({ width: 256, height: 256 });
  }, 120_000);

  it('a 500 is retried and the run completes with the same numbers', async () => {
    kserve.fault = (n) => (n === 4 || n === 5 ? { kind: 'status', status: 500 } : null);
    try {
      const run = await runBenchmark({ ...base(), models: ['fcos-served'], out: newOut() });
      expect(comparable(run.metrics)).toEqual(comparable(direct.metrics));
    } finally {
      kserve.fault = () => null;
    }
  }, 120_000);

  // each fault starts after the canary requests (identity, load) and the first image, and lasts until cleared
  const faults: {
    name: string;
    server: () => TestServer;
    key: () => string;
    model: () => string;
    fault: Fault;
    code: string;
    text: RegExp;
  }[] = [
    {
      name: 'slow beyond the timeout',
      server: () => kserve,
      key: () => 'fcos-served',
      model: () => 'fcos-served',
      fault: { kind: 'slow', ms: 8000 },
      code: 'ERR_NETWORK',
      text: /failed after 2 attempts: no complete answer within 2500 ms/,
    },
    {
      name: 'connection closed mid-reply',
      server: () => kserve,
      key: () => 'fcos-served',
      model: () => 'fcos-served',
      fault: { kind: 'close' },
      code: 'ERR_NETWORK',
      text: /failed after 2 attempts: .*(closed|broke)/,
    },
    {
      name: 'malformed JSON',
      server: () => kserve,
      key: () => 'fcos-served',
      model: () => 'fcos-served',
      fault: { kind: 'malformed' },
      code: 'ERR_MODEL_OUTPUT',
      text: /returned a body that is not JSON/,
    },
    {
      name: 'wrong output shape',
      server: () => kserve,
      key: () => 'fcos-served',
      model: () => 'fcos-served',
      fault: { kind: 'wrongShape' },
      code: 'ERR_MODEL_OUTPUT',
      text: /do not fit decoder "torchvision"/,
    },
    {
      name: 'plain HTTP: 500 for good',
      server: () => plain,
      key: () => plain.url,
      model: () => plain.url,
      fault: { kind: 'status', status: 503 },
      code: 'ERR_NETWORK',
      text: /failed after 2 attempts: HTTP 503/,
    },
    {
      name: 'plain HTTP: wrong bbox shape',
      server: () => plain,
      key: () => plain.url,
      model: () => plain.url,
      fault: { kind: 'wrongShape' },
      code: 'ERR_MODEL_OUTPUT',
      text: /bbox is not 4 finite numbers/,
    },
  ];
  for (const f of faults) {
    it(`fault: ${f.name} → a clear error naming the URL; the same command resumes to the same numbers`, async () => {
      const server = f.server();
      const first = server.posts + 2 + 4; // canary twice, then the first image's 4 shifts
      server.fault = (n) => (n >= first ? f.fault : null);
      // a short timeout only where it is the fault: a loaded machine must not time out the other cases
      const httpTimeoutMs = f.fault?.kind === 'slow' ? 2500 : 60_000;
      const options: RunOptions = {
        ...base(),
        models: [f.model()],
        out: newOut(),
        batchSize: 4,
        httpRetries: 1,
        httpTimeoutMs,
      };
      let err: Error & { code?: string };
      try {
        err = await failure(runBenchmark(options));
      } finally {
        server.fault = () => null;
      }
      expect(err.code).toBe(f.code);
      expect(err.message).toContain(server.url.replace(/\/detect$/, ''));
      expect(err.message).toMatch(f.text);
      const stored = storedCount(options.out!, f.key());
      expect(stored).toBeGreaterThanOrEqual(1);
      expect(stored).toBeLessThan(IMAGES);
      const resumed = await runBenchmark(options);
      expect(resumed.computedImages[f.key()]).toBe(IMAGES - stored);
      expect(comparable(resumed.metrics)).toEqual(comparable(direct.metrics));
    }, 120_000);
  }

  it('the CLI: --model URL with --http-concurrency 3 keeps 3 requests in flight', async () => {
    plain.maxInFlight = 0;
    const out = newOut();
    const cli = [
      path.join(REPO_ROOT, 'src/cli/index.ts'),
      'run',
      '--model',
      plain.url,
      '--dataset',
      dataset,
      '--limit',
      '2',
      '--http-concurrency',
      '3',
    ];
    // held until three are in flight: under load the server could otherwise answer the first before the third came
    plain.holdUntil = 3;
    const r = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', ...cli, '--bootstrap', '20', '--bootstrap-bounds', '0', '--out', out, '--quiet'],
      { cwd: REPO_ROOT },
    ).finally(() => (plain.holdUntil = 0));
    expect(r.stdout).toContain(`run directory: ${out}`);
    expect(plain.maxInFlight).toBe(3);
    const manifest = JSON.parse(readFileSync(path.join(out, 'manifest.json'), 'utf8'));
    expect(manifest.options.http).toEqual({ concurrency: 3, timeoutMs: 60_000, retries: 3 });
  }, 120_000);

  it('antialias:post (a graph rewrite) is refused for a served detector', async () => {
    const graphRewrite = { onnx: (m: Uint8Array) => m };
    for (const spec of ['fcos-served', plain.url]) {
      const err = await failure(loadDetector(spec, { registryFiles: [registry], graphRewrite }));
      expect(err.code).toBe('ERR_INVALID_OPTION');
      expect(err.message).toContain('runs on a server');
    }
  });

  it('metadata that does not fit the entry is an error showing both', async () => {
    const err = await failure(runBenchmark({ ...base(), models: ['fcos-served-320'], out: newOut() }));
    expect(err.code).toBe('ERR_MODEL_LOAD');
    expect(err.message).toContain(`${kserve.url}/v2/models/fcos`);
    expect(err.message).toContain('The server says FP32 [1,3,256,256]');
    expect(err.message).toContain('says FP32 or UINT8 [B,3,320,320]');
  }, 60_000);

  it('a fixed batch other than 1, or an input name the server lacks, is an error showing both', async () => {
    const { createServer } = await import('node:http');
    const meta = {
      name: 'fixed4',
      versions: ['1'],
      platform: 'x',
      inputs: [{ name: 'images', datatype: 'FP32', shape: [4, 3, 256, 256] }],
      outputs: [],
    };
    const server = createServer((req, res) => {
      if (req.url === '/v2/health/ready') return void res.writeHead(200).end();
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(meta));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as import('node:net').AddressInfo).port}`;
    const { files: _f, source: _s, description: _d, meta: _m, ...fields } = zooEntry;
    const file = path.join(root, 'fixed4.json');
    await writeFile(
      file,
      JSON.stringify([
        { ...fields, name: 'fixed4', format: 'kserve', source: { kind: 'kserve', url, model: 'fixed4' } },
      ]),
    );
    try {
      const a = await failure(loadDetector('fixed4', { registryFiles: [file] }));
      expect(a.code).toBe('ERR_MODEL_LOAD');
      expect(a.message).toContain('The server says FP32 [4,3,256,256]');
      expect(a.message).toContain('[B,3,256,256]');
      await writeFile(
        file,
        JSON.stringify([
          {
            ...fields,
            inputName: 'input0',
            name: 'fixed4',
            format: 'kserve',
            source: { kind: 'kserve', url, model: 'fixed4' },
          },
        ]),
      );
      const b = await failure(loadDetector('fixed4', { registryFiles: [file] }));
      expect(b.message).toMatch(
        /the input does not fit the entry\. The server says inputs "images"; the entry .* says inputName "input0"/,
      );
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  it('a model replaced behind the same URL is refused on resume, naming the field', async () => {
    const out = newOut();
    await runBenchmark({ ...base(), models: ['fcos-served'], out });
    const plainOut = newOut();
    await runBenchmark({ ...base(), models: [plain.url], out: plainOut });
    const before = { kserve: model.current, plain: plainDetector.current };
    model.current = await servedModel(path.join(ZOO, 'zoo-fcos-aa.onnx'), 'fcos');
    plainDetector.current = await loadDetector('zoo-fcos-aa');
    try {
      const a = await failure(runBenchmark({ ...base(), models: ['fcos-served'], out }));
      expect(a.code).toBe('ERR_RUN_STORE');
      expect(a.message).toMatch(/fcos-served: served\.canaryOutputsSha256: "[0-9a-f]{64}" → "[0-9a-f]{64}"/);
      const b = await failure(runBenchmark({ ...base(), models: [plain.url], out: plainOut }));
      expect(b.code).toBe('ERR_RUN_STORE');
      expect(b.message).toContain('canaryDetectionsSha256');
    } finally {
      await model.current.session.release();
      await plainDetector.current.dispose();
      model.current = before.kserve;
      plainDetector.current = before.plain;
    }
  }, 120_000);
});
