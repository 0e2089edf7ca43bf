/**
 * `Detector.releasesInputs` on the detectors shiftbench makes, as a property a spread does not copy: a wrapper written
 * `{ ...detector, detect }` (a plug-in mitigation's, a library caller's) may keep its inputs, and must not inherit a
 * promise it never made. A plug-in that sets the field itself (a plain property) is taken at its word.
 */
import type { Detector } from './types.js';

/** Sets `detector.releasesInputs` to `releases`, not enumerable (spreads and JSON leave it out); returns `detector`. */
export function markReleasesInputs<D extends Detector>(detector: D, releases: boolean): D {
  Object.defineProperty(detector, 'releasesInputs', { value: releases, enumerable: false });
  return detector;
}
