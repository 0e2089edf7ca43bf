/** bench:scale's verdict: a resume that failed or differs makes the bench exit non-zero, its report still printed. */
import { describe, expect, it } from 'vitest';
import { scaleFailures } from '../../bench/scaleVerdict.js';

const good = {
  killedBy: 'SIGKILL',
  exitCodeB: null,
  imagesDetectedAgain: 0,
  metricsIdenticalToUninterrupted: true,
};

describe('bench:scale verdict', () => {
  it('passes a resume that was killed, detected nothing again and gave the same metrics', () => {
    expect(scaleFailures({ resume: good })).toEqual([]);
    expect(scaleFailures({})).toEqual([]); // --skip-resume
  });

  it('fails a resume that threw (run C failed)', () => {
    expect(scaleFailures({ resume: { error: 'resumed run C failed (1): boom' } })).toEqual([
      'resume: resumed run C failed (1): boom',
    ]);
  });

  it('fails metrics that differ from the uninterrupted run, and images detected again', () => {
    expect(scaleFailures({ resume: { ...good, metricsIdenticalToUninterrupted: false } })).toHaveLength(1);
    expect(scaleFailures({ resume: { ...good, imagesDetectedAgain: 3 } })).toHaveLength(1);
  });

  it('fails a run B that crashed before the kill', () => {
    expect(scaleFailures({ resume: { ...good, killedBy: null, exitCodeB: 1 } })).toHaveLength(1);
    // B that finished scoring before the timer is no failure (the report says no resume was tested)
    expect(scaleFailures({ resume: { ...good, killedBy: null, exitCodeB: 0 } })).toEqual([]);
  });
});
