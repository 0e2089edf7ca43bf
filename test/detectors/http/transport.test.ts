/** The HTTP transport of served detectors against real loopback servers with faults. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ShiftbenchError } from '../../../src/core/errors.js';
import { HttpTransport } from '../../../src/detectors/http/transport.js';

type Reply = (req: http.IncomingMessage, res: http.ServerResponse, n: number) => void;
const servers: http.Server[] = [];

async function serve(reply: Reply): Promise<{ url: string; count: () => number; maxInFlight: () => number }> {
  let n = 0;
  let inFlight = 0;
  let max = 0;
  const server = http.createServer((req, res) => {
    const i = n++;
    max = Math.max(max, ++inFlight);
    res.on('close', () => inFlight--);
    req.resume();
    req.on('end', () => reply(req, res, i));
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/x`,
    count: () => n,
    maxInFlight: () => max,
  };
}

afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

async function failure(p: Promise<unknown>): Promise<ShiftbenchError> {
  try {
    await p;
  } catch (err) {
    return err as ShiftbenchError;
  }
  throw new Error('expected a failure');
}

const ok = (res: http.ServerResponse, text = '{"ok":true}') =>
  res.writeHead(200, { 'content-type': 'application/json' }).end(text);

describe('HttpTransport', () => {
  it('retries a 500 with backoff and returns the answer that follows', async () => {
    const s = await serve((_req, res, n) => (n < 2 ? res.writeHead(500).end('{"error":"busy"}') : ok(res)));
    const t = new HttpTransport({ backoffMs: 5 });
    expect(await t.getJson(s.url)).toEqual({ ok: true });
    expect(s.count()).toBe(3);
    t.close();
  });

  it('retries a 429 (rate limited) and a 408 (request timeout), which ask the client to try again', async () => {
    for (const status of [429, 408]) {
      const s = await serve((_req, res, n) => (n < 1 ? res.writeHead(status).end('{"error":"later"}') : ok(res)));
      const t = new HttpTransport({ backoffMs: 5 });
      expect(await t.getJson(s.url)).toEqual({ ok: true });
      expect(s.count()).toBe(2);
      t.close();
    }
  });

  it("does not retry another 4xx, and says the server's error with method and URL", async () => {
    const s = await serve((_req, res) => res.writeHead(400).end('{"error":"bad input"}'));
    const t = new HttpTransport({ backoffMs: 5 });
    const err = await failure(t.request('POST', s.url, { body: Buffer.from('x') }));
    expect(err.code).toBe('ERR_NETWORK');
    expect(err.message).toBe(`POST ${s.url} failed: HTTP 400: bad input`);
    expect(s.count()).toBe(1);
    t.close();
  });

  it('gives up after the retries on a server slower than the timeout, naming the URL', async () => {
    const s = await serve((_req, res) => setTimeout(() => ok(res), 400));
    const t = new HttpTransport({ timeoutMs: 60, retries: 2, backoffMs: 5 });
    const err = await failure(t.getJson(s.url));
    expect(err.code).toBe('ERR_NETWORK');
    expect(err.message).toMatch(new RegExp(`^GET ${s.url} failed after 3 attempts: no complete answer within 60 ms`));
    expect(s.count()).toBe(3);
    t.close();
  });

  it('retries a connection closed in the middle of the answer', async () => {
    const s = await serve((_req, res, n) => {
      if (n > 0) return ok(res);
      res.writeHead(200, { 'content-length': 100 });
      res.write('{"ok":');
      setTimeout(() => res.socket?.destroy(), 5);
    });
    const t = new HttpTransport({ backoffMs: 5 });
    expect(await t.getJson(s.url)).toEqual({ ok: true });
    expect(s.count()).toBe(2);
    t.close();
  });

  it('refuses a body that is not JSON, naming the URL (no retry)', async () => {
    const s = await serve((_req, res) => ok(res, '{"detections": ['));
    const t = new HttpTransport({ backoffMs: 5 });
    const err = await failure(t.getJson(s.url));
    expect(err.code).toBe('ERR_MODEL_OUTPUT');
    expect(err.message).toContain(`GET ${s.url} returned a body that is not JSON`);
    expect(s.count()).toBe(1);
    t.close();
  });

  it('a refused connection is an ERR_NETWORK after the retries', async () => {
    const s = await serve((_req, res) => ok(res));
    const url = s.url;
    for (const srv of servers.splice(0)) await new Promise((r) => srv.close(r));
    const t = new HttpTransport({ retries: 1, backoffMs: 5 });
    const err = await failure(t.getJson(url));
    expect(err.code).toBe('ERR_NETWORK');
    expect(err.message).toMatch(new RegExp(`^GET ${url} failed after 2 attempts: ECONNREFUSED`));
  });

  it('close() ends the requests still pending (a failed run disposes the detector): no more attempts, no retry timers', async () => {
    // one request waits in its backoff after a 503, one is in flight on a slow server, one waits for a slot
    const s = await serve((_req, res, n) => (n === 0 ? res.writeHead(503).end('{"error":"busy"}') : undefined));
    const t = new HttpTransport({ concurrency: 2, retries: 3, backoffMs: 400, timeoutMs: 10_000 });
    const pending = [t.getJson(s.url), t.getJson(s.url), t.getJson(s.url)].map((p) => failure(p));
    while (s.count() < 2) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 20));
    const t0 = Date.now();
    t.close();
    const errors = await Promise.all(pending);
    expect(Date.now() - t0).toBeLessThan(300); // not after the 400 ms backoff nor the 10 s timeout
    for (const err of errors) {
      expect(err.code).toBe('ERR_NETWORK');
      expect(err.message).toMatch(new RegExp(`^GET ${s.url} failed.*: the client was closed`));
    }
    await new Promise((r) => setTimeout(r, 500));
    expect(s.count()).toBe(2); // nothing sent after close()
    expect(t.attempts).toBe(2);
    // and a request after close() is refused at once
    const late = await failure(t.getJson(s.url));
    expect(late.message).toMatch(/the client was closed/);
    expect(s.count()).toBe(2);
  });

  it('refuses a timeout that timers cannot hold (beyond 2^31 − 1 ms, Node fires it after 1 ms) instead of timing out every request', async () => {
    const s = await serve((_req, res) => setTimeout(() => ok(res), 30));
    const t = new HttpTransport({ timeoutMs: 2 ** 31 - 1 });
    expect(await t.getJson(s.url)).toEqual({ ok: true });
    t.close();
    for (const timeoutMs of [2 ** 31, Infinity, NaN, 0.5]) {
      let err: ShiftbenchError | undefined;
      try {
        new HttpTransport({ timeoutMs, retries: 0 }).close();
      } catch (e) {
        err = e as ShiftbenchError;
      }
      expect(err, String(timeoutMs)).toBeInstanceOf(ShiftbenchError);
      expect(err!.code).toBe('ERR_INVALID_OPTION');
      expect(err!.message).toContain('--http-timeout');
    }
  });

  it('keeps at most `concurrency` requests in flight, and does keep that many', async () => {
    const s = await serve((_req, res) => setTimeout(() => ok(res), 30));
    const t = new HttpTransport({ concurrency: 3 });
    await Promise.all(Array.from({ length: 9 }, () => t.getJson(s.url)));
    expect(s.maxInFlight()).toBe(3);
    t.close();
  });
});
