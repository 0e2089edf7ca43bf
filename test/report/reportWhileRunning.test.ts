/**
 * A report read from a run directory that a run is writing at the same moment must show one setup's numbers or none.
 * Before, `report` took no part in the run lock: rendering a directory while a rescore replaced its metrics could write
 * a report.html of the old metrics over the one the rescore had just rendered (or draw the gallery from the new
 * per-shift files beside the old metrics), and rendering `previous/` while the run finished and removed it made the
 * folder again, holding only a report.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { checkRunDir, loadReportRun, renderReport, writeReportText } from '../../src/report/index.js';
import { runBenchmark } from '../../src/runner/index.js';
import { rejection } from '../helpers/shared.js';
import { makeDataset, tempDir } from '../runner/fixtures.js';

const exists = async (f: string) => (await stat(f).catch(() => null)) !== null;

/** Image paths whose first lookup (the gallery reading its thumbnails, after metrics.json was read) runs `act`. */
function trapOnFirstLookup(act: () => void): Map<number, string> {
  let fired = false;
  return new (class extends Map<number, string> {
    override get(): string | undefined {
      if (!fired) {
        fired = true;
        act();
      }
      return undefined;
    }
  })();
}

describe('report of a run directory that a run is writing', () => {
  let root: string;
  let dataset: string;
  let dir: string;
  let sleeper: ChildProcess; // a live process of this host, standing for a run that holds the directory's lock

  const base = () => ({ models: ['jitter:96'], dataset, bootstrapResamples: 20, bootstrapBounds: 0, out: dir });

  beforeAll(async () => {
    root = await tempDir('shiftbench-report-running-');
    dataset = (await makeDataset(path.join(root, 'ds'), 12, { seed: 43 })).file;
    dir = path.join(root, 'run');
    await runBenchmark(base());
    sleeper = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    await new Promise<void>((resolve, reject) => {
      sleeper.once('spawn', resolve);
      sleeper.once('error', reject);
    });
  });

  afterAll(() => {
    sleeper.kill('SIGKILL');
  });

  afterEach(async () => {
    await rm(path.join(dir, 'run.lock'), { force: true }); // each test starts with no run holding the directory
  });

  /** A lock file's content, as a live run of this host holds it. */
  function lockText(): string {
    const now = new Date().toISOString();
    return JSON.stringify({
      pid: sleeper.pid,
      host: os.hostname(),
      startedAt: now,
      heartbeatAt: now,
      token: randomUUID(),
    });
  }

  /** The directory's lock, as a live run of this host holds it. */
  async function holdLock(): Promise<string> {
    const lock = path.join(dir, 'run.lock');
    await writeFile(lock, lockText());
    return lock;
  }

  it('a live run holds the lock: report refuses, naming it, and writes nothing; once it ended, report renders', async () => {
    const lock = await holdLock();
    await rm(path.join(dir, 'report.html'), { force: true });
    await rm(path.join(dir, 'report.json'), { force: true });
    const elsewhere = path.join(root, 'elsewhere', 'r.html');
    for (const render of [
      () => renderReport(dir),
      () => renderReport(dir, { outFile: elsewhere }),
      () => writeReportText(dir, 'md'),
      () => loadReportRun(dir), // compare, check and report --out - read through it
      () => checkRunDir(dir, { maxRange: 1 }),
    ]) {
      const e = await rejection(render());
      expect(e.code).toBe('ERR_RUN_LOCKED');
      expect(e.message).toContain(`PID ${sleeper.pid}`);
      expect(e.message).toContain('run this again once it has finished');
      expect(e.message).not.toContain('previous'); // none here: a run into a finished directory keeps one
    }
    expect(await exists(path.join(dir, 'report.html'))).toBe(false);
    expect(await exists(path.join(dir, 'report.json'))).toBe(false);
    expect(await exists(path.join(dir, 'report.md'))).toBe(false);
    expect(await exists(elsewhere)).toBe(false);
    expect(await readFile(lock, 'utf8')).toContain(`"pid":${sleeper.pid}`); // a live run's lease is left alone
    await rm(lock);
    const { htmlPath } = await renderReport(dir);
    expect(htmlPath).toBe(path.join(dir, 'report.html'));
    expect(await exists(lock)).toBe(false); // the report's own hold on the directory ends with it
    // a report into a new folder inside the run directory makes it (only previous/ is never made again)
    const nested = await renderReport(dir, { outFile: path.join(dir, 'reports', 'r.html') });
    expect(await exists(nested.jsonPath)).toBe(true);
    // a run directory the user named "previous" is held as any other
    const named = path.join(root, 'previous');
    await runBenchmark({ ...base(), out: named });
    const namedLock = path.join(named, 'run.lock');
    await writeFile(namedLock, lockText());
    expect((await rejection(renderReport(named))).code).toBe('ERR_RUN_LOCKED');
    await rm(namedLock);
  });

  it('metrics.json replaced while the report renders: refused, nothing written, and the same call then renders', async () => {
    const metricsFile = path.join(dir, 'metrics.json');
    const out = path.join(root, 'mixed.html');
    const replaceMetrics = () => {
      const text = readFileSync(metricsFile, 'utf8');
      writeFileSync(`${metricsFile}.new`, text.replace('"schemaVersion": 1', '"schemaVersion":  1'));
      renameSync(`${metricsFile}.new`, metricsFile); // as a rescore puts its new metrics in place
    };
    const e = await rejection(renderReport(dir, { outFile: out, imagePaths: trapOnFirstLookup(replaceMetrics) }));
    expect(e.code).toBe('ERR_OUTPUT');
    expect(e.message).toContain(`${metricsFile} was replaced while the report read it`);
    expect(e.message).toContain('run the same command again');
    expect(await exists(out)).toBe(false);
    expect(await exists(out.replace(/html$/, 'json'))).toBe(false);
    await renderReport(dir, { outFile: out });
    expect(await exists(out)).toBe(true);
  });

  it('previous/ removed (its run finished) while its report renders: refused, and previous/ is not made again', async () => {
    const stop = new AbortController();
    await rejection(
      runBenchmark(
        { ...base(), mitigations: ['input-blur:1'] },
        {
          signal: stop.signal,
          onProgress: (p) => {
            if (p.detector.includes('input-blur') && p.done >= 2) stop.abort();
          },
        },
      ),
    );
    const previous = path.join(dir, 'previous');
    expect(await exists(path.join(previous, 'metrics.json'))).toBe(true);
    // while that run goes on, a report of the directory names where the finished results are
    await holdLock();
    const held = await rejection(renderReport(dir));
    expect(held.code).toBe('ERR_RUN_LOCKED');
    expect(held.message).toContain(`While it runs, \`shiftbench report ${previous}\` shows the finished results`);
    await rm(path.join(dir, 'run.lock'));
    const e = await rejection(
      renderReport(previous, {
        imagePaths: trapOnFirstLookup(() => rmSync(previous, { recursive: true, force: true })),
      }),
    );
    expect(e.code).toBe('ERR_OUTPUT');
    expect(e.message).toContain(`${previous} was removed while the report read it`);
    expect(e.message).toContain(`shiftbench report ${dir}`);
    expect(await exists(previous)).toBe(false);
  });
});

describe('report of a run directory that is not a path', () => {
  it('is refused naming <runDir>, before any hold is taken', async () => {
    for (const render of [() => renderReport(5 as never), () => writeReportText(null as never, 'md')]) {
      const e = await rejection(render());
      expect(e.code).toBe('ERR_INVALID_OPTION');
      expect(e.message).toContain('<runDir>');
    }
  });
});
