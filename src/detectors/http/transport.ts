/**
 * The one HTTP client of the served detectors (KServe v2, plain HTTP): Node's own
 * http/https, a timeout per attempt, retries with exponential backoff on 5xx, 408 and 429 answers,
 * timeouts and connection errors (never on another 4xx), and at most `concurrency` requests in
 * flight. Every failure is an ERR_NETWORK naming the method and URL.
 */
import http from 'node:http';
import https from 'node:https';
import { ShiftbenchError } from '../../core/errors.js';
import type { HttpOptions } from '../../core/types.js';

export type { HttpOptions };

/** The defaults of HttpOptions. */
export const HTTP_DEFAULTS: Required<HttpOptions> = { concurrency: 2, timeoutMs: 60_000, retries: 3, backoffMs: 250 };

/** The longest delay a Node timer holds (a longer one fires after 1 ms). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** A complete answer: status, headers (lower-case names), the whole body. */
export interface HttpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** Why a request ends when the transport is closed under it. */
const CLOSED = 'the client was closed (the detector was disposed) before an answer came';

/** An attempt's failure: retried when `transient`. */
class AttemptError extends Error {
  constructor(
    message: string,
    readonly transient: boolean,
  ) {
    super(message);
  }
}

/** What a non-2xx body says: KServe's `{ "error": "…" }`, else the start of the text. */
function bodyMessage(body: Buffer): string {
  const text = body.toString('utf8');
  try {
    const json = JSON.parse(text) as { error?: unknown };
    if (typeof json?.error === 'string') return json.error;
  } catch {
    // not JSON: the text itself
  }
  return text.length > 200 ? `${text.slice(0, 197)}...` : text;
}

/** A counting semaphore: at most `limit` holders. */
class Slots {
  private free: number;
  private readonly waiting: (() => void)[] = [];
  constructor(limit: number) {
    this.free = limit;
  }
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    }
  }
}

/** An HTTP client with the timeout, retry and concurrency policy of HttpOptions. */
export class HttpTransport {
  readonly options: Required<HttpOptions>;
  private readonly slots: Slots;
  private readonly agents: { http: http.Agent; https: https.Agent };
  /** Attempts made (first tries and retries), for tests and the manifest. */
  attempts = 0;
  /** Set by close(): no attempt starts after it. */
  private closed = false;
  /** What close() calls to end each attempt in flight and each backoff wait at once. */
  private readonly closers = new Set<() => void>();

  /** Throws ERR_INVALID_OPTION for a concurrency below 1, a timeout outside [1, 2^31 − 1] ms, or negative retries. */
  constructor(options: HttpOptions = {}) {
    const o = { ...HTTP_DEFAULTS, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) };
    if (!Number.isInteger(o.concurrency) || o.concurrency < 1)
      throw new ShiftbenchError(
        'ERR_INVALID_OPTION',
        `Expected an integer ≥ 1 for --http-concurrency but received ${o.concurrency}`,
      );
    // a timer longer than 2^31 − 1 ms fires after 1 ms in Node: every request would time out at once
    if (!(o.timeoutMs >= 1 && o.timeoutMs <= MAX_TIMER_MS))
      throw new ShiftbenchError(
        'ERR_INVALID_OPTION',
        `Expected a number from 1 to ${MAX_TIMER_MS} (ms) for --http-timeout but received ${o.timeoutMs}`,
      );
    if (!Number.isInteger(o.retries) || o.retries < 0)
      throw new ShiftbenchError(
        'ERR_INVALID_OPTION',
        `Expected an integer ≥ 0 for --http-retries but received ${o.retries}`,
      );
    this.options = o;
    this.slots = new Slots(o.concurrency);
    this.agents = {
      http: new http.Agent({ keepAlive: true, maxSockets: o.concurrency }),
      https: new https.Agent({ keepAlive: true, maxSockets: o.concurrency }),
    };
  }

  /**
   * Sends one request and returns its 2xx answer, retrying transient failures with
   * backoff. Throws ERR_NETWORK "<METHOD> <url> …" after the last attempt, at once on a
   * 4xx other than 408 and 429 (with the server's error message), and at once when the transport is closed.
   */
  async request(
    method: 'GET' | 'POST',
    url: string,
    init: { headers?: Record<string, string>; body?: Buffer } = {},
  ): Promise<HttpAnswer> {
    return this.slots.run(async () => {
      const { retries, backoffMs } = this.options;
      const failure = (tries: number, e: AttemptError) =>
        new ShiftbenchError(
          'ERR_NETWORK',
          `${method} ${url} failed${tries > 1 ? ` after ${tries} attempts` : ''}: ${e.message}`,
          { cause: e },
        );
      for (let attempt = 0; ; attempt++) {
        if (this.closed) throw failure(attempt, new AttemptError(CLOSED, false));
        try {
          return await this.attempt(method, url, init);
        } catch (err) {
          const e = err as AttemptError;
          if (!e.transient || attempt >= retries || this.closed) throw failure(attempt + 1, e);
          await this.backoff(backoffMs * 2 ** attempt);
        }
      }
    });
  }

  /** GET `url` and parse its JSON body (ERR_MODEL_OUTPUT naming the URL when it is not JSON). */
  async getJson(url: string): Promise<unknown> {
    return parseJsonBody(
      (await this.request('GET', url, { headers: { accept: 'application/json' } })).body,
      `GET ${url}`,
    );
  }

  /**
   * Closes the connections and ends every request still pending at once (ERR_NETWORK "the
   * client was closed"): no attempt or retry starts after it, so a detector disposed after a
   * failed request leaves nothing running (no retry timers keeping the process alive).
   */
  close(): void {
    this.closed = true;
    for (const end of [...this.closers]) end();
    this.agents.http.destroy();
    this.agents.https.destroy();
  }

  /** Waits `ms` before a retry, or less when close() comes first. */
  private backoff(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const end = () => {
        clearTimeout(timer);
        this.closers.delete(end);
        resolve();
      };
      const timer = setTimeout(end, ms);
      this.closers.add(end);
    });
  }

  private attempt(
    method: string,
    url: string,
    init: { headers?: Record<string, string>; body?: Buffer },
  ): Promise<HttpAnswer> {
    this.attempts++;
    const u = new URL(url);
    const lib = u.protocol === 'https:' ? https : http;
    const agent = u.protocol === 'https:' ? this.agents.https : this.agents.http;
    const headers = { ...init.headers, ...(init.body ? { 'content-length': String(init.body.length) } : {}) };
    return new Promise<HttpAnswer>((resolve, reject) => {
      let settled = false;
      const fail = (message: string, transient: boolean) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.closers.delete(onClose);
        req.destroy();
        reject(new AttemptError(message, transient));
      };
      const onClose = () => fail(CLOSED, false);
      this.closers.add(onClose);
      const req = lib.request(u, { method, headers, agent }, (res) => {
        const chunks: Buffer[] = [];
        let complete = false;
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (err) => fail(`the connection broke during the answer (${err.message})`, true));
        res.on('aborted', () => fail('the connection was closed during the answer', true));
        res.on('end', () => {
          complete = true;
          if (settled) return;
          const body = Buffer.concat(chunks);
          const declared = res.headers['content-length'];
          if (declared !== undefined && Number(declared) !== body.length)
            return fail(`the answer was cut short (${body.length} of ${declared} bytes)`, true);
          const status = res.statusCode ?? 0;
          // 5xx, 408 (request timeout) and 429 (rate limited) ask the client to try again; other 4xx would fail again
          if (status >= 500 || status === 408 || status === 429)
            return fail(`HTTP ${status}: ${bodyMessage(body)}`, true);
          if (status < 200 || status >= 300) return fail(`HTTP ${status}: ${bodyMessage(body)}`, false);
          settled = true;
          clearTimeout(timer);
          this.closers.delete(onClose);
          resolve({ status, headers: res.headers, body });
        });
        res.on('close', () => {
          if (!complete) fail('the connection was closed during the answer', true);
        });
      });
      const timer = setTimeout(
        () => fail(`no complete answer within ${this.options.timeoutMs} ms (--http-timeout)`, true),
        this.options.timeoutMs,
      );
      req.on('error', (err) =>
        fail(`${(err as NodeJS.ErrnoException).code ?? 'connection error'}: ${err.message}`, true),
      );
      req.end(init.body);
    });
  }
}

/**
 * Refuses a graph rewrite (the `antialias:post` mitigation) for a served detector, whose
 * graph runs on the server: ERR_INVALID_OPTION naming the detector and the way out.
 */
export function refuseGraphRewrite(name: string, opts: { graphRewrite?: unknown }): void {
  if (opts.graphRewrite === undefined) return;
  throw new ShiftbenchError(
    'ERR_INVALID_OPTION',
    `The mitigation antialias:post rewrites a model's graph, but "${name}" runs on a server. ` +
      'Rewrite the ONNX file (or use a model trained anti-aliased), serve it, and compare the two served models ' +
      'instead.',
  );
}

/** Parses a JSON body; throws ERR_MODEL_OUTPUT "<what> returned a body that is not JSON". */
export function parseJsonBody(body: Buffer, what: string): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new ShiftbenchError(
      'ERR_MODEL_OUTPUT',
      `${what} returned a body that is not JSON (${(err as Error).message}); check that the URL serves the protocol ` +
        `shiftbench expects.`,
      {
        cause: err,
      },
    );
  }
}
