/**
 * A plain HTTP detector behind a loopback server (node:http) whose POST answers are not detections: each is refused
 * with an ERR_MODEL_OUTPUT naming the URL, and what the server said is shown rather than lost.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { RgbImage } from '../../../src/core/types.js';
import { loadPlainHttpDetector } from '../../../src/detectors/http/plainHttp.js';

const SIZE = 8;
const servers: http.Server[] = [];

/** A plain HTTP detector server: GET answers the info, the n-th POST (from 0) answers `post(n)` with HTTP 200. */
async function serve(post: (n: number) => unknown): Promise<string> {
  let posts = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const value =
        req.method === 'GET'
          ? {
              family: { stages: 'one-stage', anchors: 'anchor-free' },
              inputSizePx: { width: SIZE, height: SIZE },
              classes: 'coco80',
              fit: 'letterbox',
              padValue: [114, 114, 114],
            }
          : post(posts++);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(value));
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/detect`;
}

afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

const image = (): RgbImage => ({ width: SIZE, height: SIZE, data: new Uint8Array(SIZE * SIZE * 3).fill(90) });

describe('a plain HTTP detector answering HTTP 200 with an error body', () => {
  it("is refused with ERR_MODEL_OUTPUT naming the URL and showing the server's error", async () => {
    const url = await serve((n) => (n === 0 ? { detections: [] } : { error: 'CUDA out of memory' }));
    const detector = await loadPlainHttpDetector(url, { http: { retries: 0 } });
    try {
      const e = await detector.detect([image()]).then(
        () => null,
        (err: { code: string; message: string }) => err,
      );
      expect(e?.code).toBe('ERR_MODEL_OUTPUT');
      expect(e?.message).toContain(`POST ${url}`);
      expect(e?.message).toContain('CUDA out of memory');
    } finally {
      await detector.dispose();
    }
  });
});
