/**
 * `shiftbench bounds --case CASE.json`: greedy lower/upper mAP bounds over shifts (protocol §4) of saved detections.
 */
import type { Command } from 'commander';
import {
  DEFAULT_MAX_PASSES,
  NO_GROUND_TRUTH_NOTE,
  formatBounds,
  greedyBoundsParallel,
  parseBoundsCase,
  prepareBounds,
} from '../../index.js';
import { ShiftbenchError } from '../../core/errors.js';
import { parseIntFlag, printJson, printLine } from '../io.js';
import { readJsonFlag } from './eval.js';

interface BoundsFlags {
  case: string;
  maxPasses?: number;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('bounds')
    .description(
      'Greedy lower and upper mAP bounds over per-image shifts (protocol §4) from saved per-shift detections',
    )
    .requiredOption(
      '--case <file>',
      'JSON {"gt": GT or [GT per shift], "shifts": [[dx, dy], …], "dets": [[COCO results of shift 0], …], ' +
        '"maxPasses"?: 5}',
    )
    .option(
      '--max-passes <n>',
      'passes per search (overrides the case file; default 5)',
      parseIntFlag('--max-passes', 1, 1000),
    )
    .option(
      '--json',
      'print { mapRef, mapLower, mapUpper, mapRange, relRange, perShift, passes, assignLower, assignUpper }',
    )
    .addHelpText(
      'after',
      '\nExample:\n  shiftbench bounds --case ../shared/golden/greedy/greedy_1.json --json\n' +
        '  (assignLower/assignUpper give a shift index per image, images in ascending id order)',
    )
    .action(async (flags: BoundsFlags) => {
      const c = parseBoundsCase(await readJsonFlag(flags.case, '--case'));
      if (flags.maxPasses !== undefined) c.maxPasses = flags.maxPasses;
      // large cases: the lower and upper searches in two worker threads (same answer, bit for bit)
      const b = await greedyBoundsParallel(prepareBounds(c), c.maxPasses ?? DEFAULT_MAX_PASSES, { workers: 'auto' });
      if (b === null) {
        // no ground truth → no mAP: nothing to bound, and a command that computed nothing does not exit 0
        const labelled = Array.isArray(c.gt)
          ? c.gt.flatMap((g, k) => (g.annotations.some((a) => a.iscrowd !== 1) ? [k] : []))
          : [];
        if (labelled.length > 0) {
          // per-shift ground truth where only shift 0's is empty: the searches start from mapRef, which has no value
          throw new ShiftbenchError(
            'ERR_METRICS_INPUT',
            `${flags.case}: its ground truth for shift 0 (gt[0]) holds no annotation that is not a crowd region, so ` +
              `mapRef — mAP with every image at shift 0, where both searches start — has no value (shift` +
              `${labelled.length > 1 ? 's' : ''} ${labelled.join(', ')} ha${labelled.length > 1 ? 've' : 's'} ` +
              'ground truth). Give gt[0] the ground truth of shift 0.',
          );
        }
        throw new ShiftbenchError(
          'ERR_METRICS_INPUT',
          `${flags.case}: ${NO_GROUND_TRUTH_NOTE} — its gt holds no annotation that is not a crowd region, so no ` +
            'shift assignment has an mAP. Give a case whose gt has annotations (for consistency without labels, ' +
            'use `shiftbench run` on a label-free dataset).',
        );
      }
      if (flags.json) {
        printJson({
          mapRef: b.mapRef,
          mapLower: b.mapLower,
          mapUpper: b.mapUpper,
          mapRange: b.mapRange,
          relRange: b.relRange,
          perShift: b.perShift,
          passes: b.passes,
          assignLower: b.assignLower,
          assignUpper: b.assignUpper,
        });
        return;
      }
      for (const line of formatBounds(b, c.shifts)) printLine(line);
    });
}
