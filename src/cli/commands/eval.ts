/**
 * `shiftbench eval --gt GT.json --dets DETS.json`: COCO bbox AP of a results file, literally as
 * pycocotools COCOeval (only `iscrowd` marks ignore regions; unknown category ids are left out).
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { ShiftbenchError, evaluateCoco, formatCocoEval, type CocoGroundTruth, type CocoResult } from '../../index.js';
import { validateGroundTruth } from '../../metrics/index.js';
import { consoleLogger, printJson, printLine } from '../io.js';

interface EvalFlags {
  gt: string;
  dets: string;
  json?: boolean;
}

/** Reads and parses a JSON file; a missing or malformed file is a usage error naming the file and the flag. */
export async function readJsonFlag(file: string, flag: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'it does not exist' : (err as Error).message;
    throw new ShiftbenchError('ERR_INVALID_OPTION', `Could not read ${flag} file "${file}": ${why}. Check the path.`, {
      cause: err,
    });
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ShiftbenchError(
      'ERR_INVALID_OPTION',
      `Could not parse ${flag} file "${file}" as JSON: ${(err as Error).message}`,
      { cause: err },
    );
  }
}

export function register(program: Command): void {
  program
    .command('eval')
    .description(
      'COCO bbox AP of a detections file, exactly as pycocotools COCOeval (12 summary numbers + AP per category)',
    )
    .requiredOption('--gt <file>', 'COCO ground-truth JSON (images, annotations, categories)')
    .requiredOption('--dets <file>', 'COCO results JSON: [{image_id, category_id, bbox: [x, y, w, h], score}, …]')
    .option(
      '--json',
      'print { "stats": [12 numbers], "perCategoryAP": { "<categoryId>": AP } } instead of the table (null where ' +
        'pycocotools says -1: no ground truth there)',
    )
    .addHelpText(
      'after',
      '\nExample:\n  shiftbench eval --gt gt.json --dets dets.json --json > ap.json\n' +
        '  # one shift of a run: each detector folder holds the ground truth its shift files were scored against\n' +
        '  shiftbench eval --gt reports/<run>/detections/zoo-fcos/ground_truth.json --dets ' +
        'reports/<run>/detections/zoo-fcos/shift_1_0.json\n' +
        'As pycocotools: only iscrowd marks ignore regions (an annotation without it is not one); detections of ' +
        'categories the ground truth lacks are left out. Unlike pycocotools: an empty results list scores 0 (its ' +
        'loadRes fails) and a box with a negative width or height is refused (pycocotools leaves it out unsaid).',
    )
    .action(async (flags: EvalFlags) => {
      const gt = (await readJsonFlag(flags.gt, '--gt')) as CocoGroundTruth;
      const dets = (await readJsonFlag(flags.dets, '--dets')) as CocoResult[];
      // a file of the wrong shape is named in the error (the message says what it must hold)
      const inFile = <T>(flag: string, file: string, f: () => T): T => {
        try {
          return f();
        } catch (err) {
          if (!(err instanceof ShiftbenchError)) throw err;
          throw new ShiftbenchError(err.code, `${flag} file "${file}": ${err.message}`, { cause: err });
        }
      };
      inFile('--gt', flags.gt, () => validateGroundTruth(gt));
      // with the ground truth valid, what evaluateCoco refuses is the detections
      const result = inFile('--dets', flags.dets, () => evaluateCoco(gt, dets));
      warnUnknownCategories(flags.dets, gt, dets);
      // every number absent (no annotation that is not a crowd region): printed as absent, then exit 1 — a command
      // that computed no result does not exit 0
      const noResult = () =>
        new ShiftbenchError(
          'ERR_METRICS_INPUT',
          `--gt file "${flags.gt}": no ground truth to score against — it holds no annotation that is not a crowd ` +
            'region, so every AP is absent. Give ground truth with annotations.',
        );
      if (flags.json) {
        // pycocotools' −1 (no ground truth there) is absent: null, as in metrics.json
        const absent = (v: number) => (v < 0 ? null : v);
        printJson({
          stats: result.stats.map(absent),
          perCategoryAP: Object.fromEntries(Object.entries(result.perCategoryAP).map(([id, ap]) => [id, absent(ap)])),
        });
      } else {
        const names: Record<string, string> = {};
        for (const c of gt.categories) names[String(c.id)] = c.name;
        for (const line of formatCocoEval(result, names)) printLine(line);
      }
      if (result.stats.every((v) => v < 0)) throw noResult();
    });
}

/**
 * Detections whose category id the ground truth's categories lack are left out, as pycocotools leaves them out (the
 * numbers stay its numbers); a warning says how many, with the first such ids, as a detector whose class ids follow
 * another convention (1-based, 80 contiguous classes) scores 0 without it.
 */
function warnUnknownCategories(file: string, gt: CocoGroundTruth, dets: CocoResult[]): void {
  const known = new Set(gt.categories.map((c) => c.id));
  const unknown = new Set<number>();
  let count = 0;
  for (const d of dets) {
    if (known.has(d.category_id)) continue;
    count++;
    unknown.add(d.category_id);
  }
  if (count === 0) return;
  const shown = [...unknown].slice(0, 5).join(', ') + (unknown.size > 5 ? ', …' : '');
  consoleLogger().warn(
    `--dets file "${file}": ${count} of ${dets.length} detections have a category_id the ground truth's categories ` +
      `lack (${shown}); they are left out, as pycocotools ` +
      'leaves them out. Check that the detections use the category ids of the ground truth.',
  );
}
