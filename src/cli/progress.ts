/**
 * The run progress display on stderr: a redrawn bar with images/s and ETA on a TTY,
 * plain periodic lines otherwise (logs, CI), nothing with --quiet.
 */
import type { RunProgress } from '../index.js';

export interface ProgressDisplay {
  onProgress: (p: RunProgress) => void;
  /** Ends the current bar line (call before printing anything else). */
  finish: () => void;
}

function clock(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '--:--';
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

function describe(p: RunProgress): string {
  return (
    `[${p.detectorIndex + 1}/${p.detectorCount}] ${p.detector}  ${p.done}/${p.total} images  ` +
    `${p.imagesPerSecond.toFixed(2)} img/s  ETA ${clock(p.etaSeconds)}`
  );
}

/**
 * Makes the progress display. `quiet` shows nothing; a non-TTY stream gets one line at
 * most every `intervalMs` (default 10 s) and one when a detector finishes.
 */
export function createProgress(
  opts: { quiet?: boolean; stream?: NodeJS.WriteStream; intervalMs?: number } = {},
): ProgressDisplay {
  const stream = opts.stream ?? process.stderr;
  if (opts.quiet) return { onProgress: () => undefined, finish: () => undefined };
  const tty = stream.isTTY === true;
  const interval = opts.intervalMs ?? (tty ? 100 : 10_000);
  let last = 0;
  let open = false;
  return {
    onProgress(p) {
      const now = Date.now();
      const complete = p.done === p.total;
      if (!complete && now - last < interval) return;
      last = now;
      if (tty) {
        const width = 24;
        const filled = Math.round((p.done / Math.max(1, p.total)) * width);
        const bar = '█'.repeat(filled) + '░'.repeat(width - filled);
        stream.write(`\r\x1b[K${bar} ${describe(p)}`);
        open = true;
        if (complete) {
          stream.write('\n');
          open = false;
        }
      } else {
        stream.write(`${describe(p)}\n`);
      }
    },
    finish() {
      if (open) stream.write('\n');
      open = false;
    },
  };
}
