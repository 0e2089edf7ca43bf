/**
 * A plain HTTP detector behind a loopback server (node:http) whose POST answers are not detections: each is refused
 * with an ERR_MODEL_OUTPUT naming the URL, and what the server said is shown rather than lost.
 */
import { describe, expect, it } from 'vitest';
import { loadPlainHttpDetector } from '../../../src/detectors/http/plainHttp.js';
import { SIZE, answerJson, greyImage as image, listenLoopback } from './loopback.js';

/** A plain HTTP detector server: GET answers the info, the n-th POST (from 0) answers `post(n)` with HTTP 200. */
async function serve(post: (n: number) => unknown): Promise<string> {
  let posts = 0;
  const base = await listenLoopback((req, _body, res) =>
    answerJson(
      res,
      req.method === 'GET'
        ? {
            family: { stages: 'one-stage', anchors: 'anchor-free' },
            inputSizePx: { width: SIZE, height: SIZE },
            classes: 'coco80',
            fit: 'letterbox',
            padValue: [114, 114, 114],
          }
        : post(posts++),
    ),
  );
  return `${base}/detect`;
}

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
