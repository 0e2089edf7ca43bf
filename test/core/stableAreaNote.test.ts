/**
 * Protocol §1: a crop or circular run scores only the stable area, and each detector has its own (its input size sets
 * it). The note every text output carries gave the first detector's counts alone, so a reader took them for the run's.
 */
import { describe, expect, it } from 'vitest';
import { stableAreaNote } from '../../src/core/messages.js';
import type { RunMetrics } from '../../src/core/types.js';

const counts = (groundTruthIgnored: number, detectionsDropped: number, detectionsTotal: number) => ({
  groundTruthTotal: 70,
  groundTruthIgnored,
  detectionsTotal,
  detectionsDropped,
});

function metrics(results: { key: string; scoredContent?: ReturnType<typeof counts> }[]): RunMetrics {
  return { mode: 'crop', dataset: { labelFree: false }, results } as unknown as RunMetrics;
}

describe('stableAreaNote', () => {
  it("names every detector's counts where detectors' stable areas differ", () => {
    const note = stableAreaNote(
      metrics([
        { key: 'fastestdet', scoredContent: counts(24, 326, 5600) },
        { key: 'nanodet-m-320', scoredContent: counts(28, 433, 6400) },
      ]),
    )!;
    expect(note).toContain(
      '(fastestdet: 24 of 70 ground-truth boxes, 326 of 5600 detections; nanodet-m-320: 28 of 70 ground-truth ' +
        'boxes, 433 of 6400 detections)',
    );
  });

  it('one detector: its counts, as before', () => {
    const note = stableAreaNote(metrics([{ key: 'fastestdet', scoredContent: counts(24, 326, 5600) }]))!;
    expect(note).toMatch(/COCO mAP \(fastestdet: 24 of 70 ground-truth boxes, 326 of 5600 detections\)$/);
  });
});
