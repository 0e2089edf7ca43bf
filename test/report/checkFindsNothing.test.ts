/**
 * `check` on a detector whose mAP is 0 at every shift (it finds none of the objects: a broken export, a wrong
 * preprocessing): its mAP range, flip rate and range increase are 0 with interval [0, 0] — true, but they say nothing
 * about its stability, so a CI gate must not pass it. It cannot be judged (ERR_CANNOT_JUDGE, exit 1), with the reason.
 * A detector with mAP 0 at (0,0) but above 0 at some shift is judged as any other.
 */
import { describe, expect, it } from 'vitest';
import { ShiftbenchError } from '../../src/core/errors.js';
import { checkRun, type CheckLimits } from '../../src/report/check.js';
import type { ReportRun } from '../../src/report/load.js';

const zeroInterval = { lo: 0, hi: 0 };

function runOf(key: string, mapUpper: number): ReportRun {
  return {
    runDir: '/runs/x',
    metrics: {
      runId: 'x',
      dataset: { labelFree: false },
      results: [
        {
          key,
          imagesEvaluated: 50,
          bounds: { mapRef: 0, mapLower: 0, mapUpper, mapRange: mapUpper, relRange: null },
          consistency: { flipRate: { mean: 0, ...zeroInterval }, imagesUsed: { flipRate: 50 } },
          analysis: {
            boundsInterval: {
              mapRange: { lo: 0, hi: mapUpper },
              relRange: null,
            },
            notes: [],
          },
        },
      ],
    },
  } as unknown as ReportRun;
}

function refusal(run: ReportRun, limits: CheckLimits): string {
  try {
    checkRun(run, limits);
  } catch (e) {
    expect((e as ShiftbenchError).code).toBe('ERR_CANNOT_JUDGE');
    return (e as Error).message;
  }
  return '(judged)';
}

describe('check on a detector that finds nothing', () => {
  it('--max-range and --max-flip-rate cannot be judged on mAP 0 at every shift: exit 1 with the reason, never a pass', () => {
    const run = runOf('broken', 0);
    for (const limits of [{ maxRange: 0.02 }, { maxFlipRate: 0.1 }]) {
      const message = refusal(run, limits);
      expect(message).toContain(
        'broken: mAP is 0 at every shift (it finds none of the objects), so its stability cannot be judged',
      );
    }
  });

  it('mAP 0 at (0,0) but not at every shift: --max-range is judged', () => {
    const r = checkRun(runOf('weak', 0.01), { maxRange: 0.02 });
    expect(r.outcomes.map((o) => [o.key, o.limit, o.status])).toEqual([['weak', 'max-range', 'pass']]);
  });
});
