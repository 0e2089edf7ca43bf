/**
 * Pairing defaults to the bounds resamples a run was scored with (README: compare and check use the run's own B):
 * a run without any (--bootstrap-bounds 0, or off by default at its size) is paired on none, with the reason.
 */
import { describe, expect, it } from 'vitest';
import { BOOTSTRAP_BOUNDS_MAX_CELLS, DEFAULT_BOOTSTRAP_BOUNDS, ownBoundsResamples } from '../../src/metrics/index.js';
import { ownResamplesOffReason } from '../../src/report/compatible.js';
import type { ReportRun } from '../../src/report/load.js';

/** The parts of a loaded run ownResamplesOffReason reads. */
function run(saved: number | null, images: number, shifts: number): ReportRun {
  return {
    manifest: { options: { bootstrapBounds: saved } },
    metrics: {
      results: [{ imagesEvaluated: images }, { imagesEvaluated: images - 3 }],
      shiftSet: { shifts: Array.from({ length: shifts }, (_, k) => ({ dx: k, dy: 0 })) },
    },
  } as unknown as ReportRun;
}

describe("a run's own bounds resamples", () => {
  it('are what it was given, else the default at its size: 200 up to 20,000 images × shifts, none above', () => {
    expect(ownBoundsResamples(50, 6000, 16)).toBe(50);
    expect(ownBoundsResamples(0, 100, 4)).toBe(0);
    expect(ownBoundsResamples(null, 5000, 4)).toBe(DEFAULT_BOOTSTRAP_BOUNDS);
    expect(5000 * 4).toBe(BOOTSTRAP_BOUNDS_MAX_CELLS);
    expect(ownBoundsResamples(undefined, 5001, 4)).toBe(0);
    expect(ownBoundsResamples(null, 5000, 16)).toBe(0);
  });

  it('a run without them says why: given 0, or off by default at its size (the images it evaluated); null when it had some', () => {
    expect(ownResamplesOffReason(run(0, 16, 4))).toBe('was scored with --bootstrap-bounds 0 (no bounds resamples)');
    expect(ownResamplesOffReason(run(null, 5000, 16))).toBe(
      'has no bounds resamples (5000 images × 16 shifts > 20,000: off by default at this size)',
    );
    expect(ownResamplesOffReason(run(null, 5000, 4))).toBeNull();
    expect(ownResamplesOffReason(run(40, 5000, 16))).toBeNull();
  });
});
