/**
 * Buffers for the detector's inputs, used again once a detector that keeps none of them
 * (`Detector.releasesInputs`) has answered. A run then makes a few Wm × Hm × 3 buffers
 * instead of one per input; V8 answers every few dozen megabytes of new buffer memory
 * with a full garbage collection, which on two cores cost the harness about as much CPU
 * as the resample (docs/performance.md, "Feeding the detector").
 *
 * A reused buffer holds the pixels of an earlier input: its maker writes every byte. With
 * prepare workers the buffers given back travel to a worker with its next image (transferred,
 * not copied) and come back holding that image's inputs.
 */
import { ShiftbenchError } from '../core/errors.js';

/** Most bytes of buffers a pool keeps beyond what is in use (with large inputs, fewer than asked for). */
export const INPUT_BUFFERS_MAX_BYTES = 64 * 1024 * 1024;

/** How many buffers of `bytes` bytes a pool keeps: `wanted`, but no more than INPUT_BUFFERS_MAX_BYTES hold (≥ 1). */
export function inputBufferCapacity(bytes: number, wanted: number): number {
  return Math.max(1, Math.min(wanted, Math.floor(INPUT_BUFFERS_MAX_BYTES / bytes)));
}

/** Hands out buffers of one size, fresh or given back; keeps at most `capacity` given back. */
export class InputBufferPool {
  private readonly free: Uint8Array[] = [];

  constructor(
    readonly bytes: number,
    readonly capacity: number,
  ) {
    if (!(Number.isInteger(bytes) && bytes > 0 && Number.isInteger(capacity) && capacity >= 0)) {
      throw new ShiftbenchError('ERR_INTERNAL', `input buffer pool of ${bytes} bytes × ${capacity}`);
    }
  }

  /** A buffer given back (its pixels stale), or undefined when none is left: the caller makes one its own way. */
  reuse(): Uint8Array | undefined {
    return this.free.pop();
  }

  /**
   * Gives `buffer` back for a later reuse(). Only a whole buffer of this size is kept (a
   * view into a larger one may still be read through its other parts), each once, and at
   * most `capacity`; anything else is left to the garbage collector.
   */
  give(buffer: Uint8Array): void {
    if (
      this.free.length < this.capacity &&
      buffer.byteLength === this.bytes &&
      buffer.byteOffset === 0 &&
      buffer.buffer.byteLength === this.bytes &&
      !this.free.includes(buffer)
    ) {
      this.free.push(buffer);
    }
  }

  /** Up to `max` of the buffers given back: for the prepare workers, which fill them in their thread. */
  takeGiven(max: number): Uint8Array[] {
    return this.free.splice(Math.max(0, this.free.length - max));
  }

  /** Buffers given back and not reused yet. */
  get size(): number {
    return this.free.length;
  }
}
