/**
 * Small scripted HTTP servers on loopback for the served-detector tests that need a particular answer (servers.ts
 * runs real models): a server from a request handler, closed after each test, and the registry entry of a served
 * 8×8 model.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach } from 'vitest';
import type { RgbImage } from '../../../src/core/types.js';
import { tempDir } from '../../runner/fixtures.js';

/** The served models' input side. */
export const SIZE = 8;

const servers: http.Server[] = [];

/**
 * Starts a server on 127.0.0.1 that calls `handle` with each request's whole body; returns its base URL. Every server
 * started is closed after each test of the file that imports this module.
 */
export async function listenLoopback(
  handle: (req: http.IncomingMessage, body: Buffer, res: http.ServerResponse) => void,
): Promise<string> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handle(req, Buffer.concat(chunks), res));
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

/** Answers `value` as JSON with `status` (default 200). */
export function answerJson(res: http.ServerResponse, value: unknown, status = 200): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
}

/** A grey SIZE×SIZE image. */
export const greyImage = (): RgbImage => ({
  width: SIZE,
  height: SIZE,
  data: new Uint8Array(SIZE * SIZE * 3).fill(90),
});

/**
 * Writes a registry file with one KServe entry `name` for model `model` at `url` (SIZE×SIZE, NCHW, RGB / 255,
 * letterbox, classes a = 1 and b = 2) and the fields of `entry`; returns the file.
 */
export async function servedEntryFile(
  name: string,
  url: string,
  model: string,
  entry: Record<string, unknown>,
): Promise<string> {
  const file = path.join(await tempDir('shiftbench-served-'), 'served.json');
  await writeFile(
    file,
    JSON.stringify([
      {
        name,
        format: 'kserve',
        source: { kind: 'kserve', url, model },
        inputSizePx: { width: SIZE, height: SIZE },
        layout: 'NCHW',
        colorOrder: 'RGB',
        normalize: { mean: [0, 0, 0], std: [255, 255, 255] },
        fit: 'letterbox',
        padValue: [128, 128, 128],
        classes: [
          { id: 1, name: 'a' },
          { id: 2, name: 'b' },
        ],
        ...entry,
      },
    ]),
  );
  return file;
}
