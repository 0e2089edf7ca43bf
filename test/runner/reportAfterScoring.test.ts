/**
 * The report is rendered after metrics.json is stored (run, score of an export, merge): a
 * report that cannot be rendered is a warning naming the command that retries it, and the
 * caller gets null — never an error that would hide the stored metrics.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { renderReportAfterScoring } from '../../src/runner/score.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

it('a report that cannot be rendered is a warning with the retry command, and null', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'shiftbench-report-after-'));
  dirs.push(dir);
  const warnings: string[] = [];
  const logger = { info: () => {}, warn: (m: string) => warnings.push(m), debug: () => {} };
  // no metrics.json here, so the report has nothing to render
  await expect(renderReportAfterScoring(dir, logger)).resolves.toBeNull();
  expect(warnings).toHaveLength(1);
  expect(warnings[0]).toMatch(/^could not render the report \(.+\); metrics\.json is complete/);
  expect(warnings[0]).toContain(`\`shiftbench report ${dir}\``);
});
