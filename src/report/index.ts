/**
 * Reports from a saved run: report.json (compact summary) and report.html (one
 * self-contained page). Reads only the run directory's files, never a model.
 */
import { access, constants, stat } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../core/atomicFile.js';
import type { Logger } from '../core/types.js';
import { ShiftbenchError, invalidParameterError, refuseUnknownFields } from '../core/errors.js';
import { is } from '../core/is.js';
import { renderReportHtml } from './html.js';
import { checkRunDirArg, groundTruthCategoryNames, readReportRun } from './load.js';
import { buildReportSummary } from './summary.js';
import { renderReportMarkdown } from './markdown.js';
import { renderReportCsv } from './csv.js';
import type { ReportRun } from './load.js';
import { GALLERY_DEFAULTS, buildGallery, type Gallery } from './gallery.js';
import { holdRunForReport } from './hold.js';
import { loadDataset } from '../datasets/load.js';

export { loadReportRun, reportManifestEssentials } from './load.js';
export type { ReportRun, ReportManifestEssentials } from './load.js';
export { buildReportSummary } from './summary.js';
export type { ReportSummary, ReportDetectorSummary } from './summary.js';
export { renderReportHtml } from './html.js';
export {
  buildGallery,
  gallerySection,
  matchStates,
  foundPerObject,
  type BlinkingObject,
  GALLERY_DEFAULTS,
  GALLERY_MATCH_IOU,
  type Gallery,
  type GalleryItem,
  type GalleryBox,
} from './gallery.js';
export { renderReportMarkdown } from './markdown.js';
export { renderReportCsv, CSV_COLUMNS } from './csv.js';
export {
  compareRuns,
  renderComparisonText,
  renderComparisonHtml,
  type Comparison,
  type ComparePair,
  type ComparedRun,
  type RunDelta,
  type PairRunsFn,
} from './compare.js';
export { runCompatibility, type RunCompatibility } from './compatible.js';
export {
  checkRun,
  checkRunDir,
  checkJunitXml,
  checkErrorJunitXml,
  validateCheckLimits,
  type CheckLimits,
  type CheckResult,
  type CheckOutcome,
  type CheckStatus,
  type BaselineDelta,
  type PairBaseline,
} from './check.js';
export { headlineRows, headlineRow, type HeadlineRow, type ValueWithInterval } from './headline.js';

/** The formats of `shiftbench report --format`: html (with report.json beside it), md, csv, json. */
export type ReportFormat = 'html' | 'md' | 'csv' | 'json';
export const REPORT_FORMATS: readonly ReportFormat[] = ['html', 'md', 'csv', 'json'];
const EXTENSION: Record<Exclude<ReportFormat, 'html'>, string> = { md: 'md', csv: 'csv', json: 'json' };

/** A text format (own keys only: `'toString' in EXTENSION` is true), else ERR_INVALID_OPTION naming --format. */
function checkTextFormat(format: unknown): void {
  if (typeof format !== 'string' || !Object.hasOwn(EXTENSION, format))
    throw invalidParameterError('--format', 'one of md, csv, json (html: renderReport)', format);
}

/**
 * A loaded run as Markdown (renders on GitHub), CSV (the headline table) or JSON (report.json's
 * content). Pure and deterministic.
 */
export function renderReportText(run: ReportRun, format: Exclude<ReportFormat, 'html'>): string {
  checkTextFormat(format);
  if (format === 'md') return renderReportMarkdown(run);
  if (format === 'csv') return renderReportCsv(run);
  return JSON.stringify(buildReportSummary(run), null, 2) + '\n';
}

/**
 * Writes one text format of a saved run to `outFile` (default `<runDir>/report.<md|csv|json>`)
 * and returns its absolute path. Throws as renderReport does; ERR_INVALID_OPTION for a format
 * other than md, csv or json (naming --format).
 */
export async function writeReportText(
  runDir: string,
  format: Exclude<ReportFormat, 'html'>,
  options: RenderReportOptions = {},
): Promise<string> {
  checkTextFormat(format);
  checkReportOptions(options);
  const { outFile, logger } = options;
  await checkReportOut(format, outFile);
  checkRunDirArg(runDir);
  const file = outFile ? path.resolve(outFile) : path.join(path.resolve(runDir), `report.${EXTENSION[format]}`);
  const hold = await holdRunForReport(runDir, [file], logger);
  try {
    const text = renderReportText(await readReportRun(runDir), format);
    await hold.beforeWrite();
    await writeAtomic(file, text, hold.makeDir);
  } finally {
    await hold.release();
  }
  logger?.info(`report: wrote ${file}`);
  return file;
}

/**
 * Refuses an --out a report of `format` cannot be written to, before any work (`shiftbench report RUN --score-threshold`
 * checks it before rescoring): not a string, an existing folder, or a path whose folder cannot be made (a file in the
 * way, a read-only folder). Throws ERR_INVALID_OPTION naming --out and the fix.
 */
export async function checkReportOut(format: ReportFormat, outFile: unknown): Promise<void> {
  if (outFile === undefined) return;
  if (!is.string(outFile)) throw invalidParameterError('--out', 'a file path', outFile);
  const file = path.resolve(outFile);
  const st = await stat(file).catch(() => null);
  if (st?.isDirectory()) {
    throw new ShiftbenchError(
      'ERR_INVALID_OPTION',
      `${invalidParameterError('--out', 'a file path (not a directory)', outFile).message}. ` +
        `Give a file name such as ${path.join(file, `report.${format}`)}.`,
    );
  }
  if (st) return;
  // the folders are made when the report is written: the nearest existing one must be a writable folder
  let dir = path.dirname(file);
  let dirStat = await stat(dir).catch(() => null);
  while (!dirStat && path.dirname(dir) !== dir) {
    dir = path.dirname(dir);
    dirStat = await stat(dir).catch(() => null);
  }
  const why = !dirStat
    ? null
    : !dirStat.isDirectory()
      ? `${dir} is a file, not a folder`
      : await access(dir, constants.W_OK).then(
          () => null,
          (err: NodeJS.ErrnoException) => `the folder ${dir} is not writable (${err.code})`,
        );
  if (why)
    throw new ShiftbenchError(
      'ERR_INVALID_OPTION',
      `${invalidParameterError('--out', 'a file path in a writable folder', outFile).message}: ${why}. ` +
        'Give another --out file.',
    );
}

export interface RenderReportOptions {
  /**
   * Where to write the HTML (default `<runDir>/report.html`). report.json goes next
   * to it, with the same base name (`<outFile without .html>.json`).
   */
  outFile?: string;
  logger?: Logger;
  /** Images per detector in the flicker gallery (default 3; 0: no gallery). */
  gallery?: number;
  /**
   * Image files by image id (default: the dataset the manifest names, loaded without a model; absent → no thumbnails,
   * with a note).
   */
  imagePaths?: Map<number, string>;
}

/** Every field of RenderReportOptions (the compiler checks the list is complete and has no other). */
const REPORT_OPTION_FIELDS: Record<keyof RenderReportOptions, true> = {
  outFile: true,
  logger: true,
  gallery: true,
  imagePaths: true,
};

/** Refuses report options that are not an object or have a field RenderReportOptions does not. */
function checkReportOptions(options: RenderReportOptions): void {
  if (!is.object(options as unknown)) throw invalidParameterError('options', 'an object of report options', options);
  refuseUnknownFields(options, REPORT_OPTION_FIELDS, 'report options');
}

/**
 * Renders a saved run into `report.html` and `report.json` (by default inside the
 * run directory) and returns their absolute paths. Safe to call at the end of a run
 * or later on any machine: it reads manifest.json, metrics.json and the saved detections/ (category names, the
 * flicker gallery), never a model.
 * Throws ShiftbenchError ERR_INVALID_OPTION for a bad runDir/outFile, ERR_OUTPUT
 * for missing or malformed run files (naming the file and the fix) and for write failures.
 */
export async function renderReport(
  runDir: string,
  options: RenderReportOptions = {},
): Promise<{ htmlPath: string; jsonPath: string }> {
  checkReportOptions(options);
  const { outFile, logger } = options;
  await checkReportOut('html', outFile);
  const perDetector = options.gallery ?? GALLERY_DEFAULTS.perDetector;
  if (!is.integer(perDetector) || perDetector < 0)
    throw invalidParameterError('--gallery', 'an integer ≥ 0', perDetector);
  checkRunDirArg(runDir);
  const htmlPath = outFile ? path.resolve(outFile) : path.join(path.resolve(runDir), 'report.html');
  const jsonPath = htmlPath.replace(/\.html?$/i, '') + '.json';
  const hold = await holdRunForReport(runDir, [htmlPath, jsonPath], logger);
  try {
    const run = await readReportRun(runDir);
    const summary = buildReportSummary(run);
    const gallery = perDetector > 0 ? await galleryOf(run, perDetector, options.imagePaths) : undefined;
    const html = await renderReportHtml(run, { gallery, categoryNames: await groundTruthCategoryNames(run) });
    await hold.beforeWrite();
    await writeAtomic(jsonPath, JSON.stringify(summary, null, 2) + '\n', hold.makeDir);
    await writeAtomic(htmlPath, html, hold.makeDir);
  } finally {
    await hold.release();
  }
  logger?.info(`report: wrote ${htmlPath} and ${jsonPath}`);
  return { htmlPath, jsonPath };
}

/** The flicker gallery, with image files from `imagePaths` or the dataset the manifest names. */
async function galleryOf(
  run: ReportRun,
  perDetector: number,
  imagePaths: Map<number, string> | undefined,
): Promise<Gallery> {
  const wanted = run.metrics.results.some((r) => (r.analysis?.flicker?.top ?? []).some((t) => t.flicker > 0));
  if (!wanted) return { items: [], blinking: {}, categories: {}, detectorClasses: {}, notes: [] };
  let paths = imagePaths;
  let fileNames: Map<number, string> | undefined;
  let note: string | null = null;
  if (!paths) {
    const o = is.object(run.manifest.options) ? run.manifest.options : {};
    try {
      const ds = await loadDataset({
        dataset: String(o.dataset),
        images: typeof o.images === 'string' ? o.images : undefined,
        classes: typeof o.classes === 'string' ? o.classes : undefined,
        limit: typeof o.limit === 'number' ? o.limit : undefined,
      });
      // a label-free run has no ground_truth.json: the file names come from the dataset as loaded
      fileNames = new Map(ds.images.map((im) => [im.id, im.fileName]));
      const scored = is.object(run.manifest.dataset) ? run.manifest.dataset.hash : undefined;
      if (is.string(scored) && scored !== ds.hash) {
        // the run's boxes belong to the images it scored: drawn on other pixels they would show flicker that was not
        paths = new Map();
        note =
          `the dataset ${String(o.dataset)} changed since the run (content sha256 ${scored.slice(0, 12)} → ` +
          `${ds.hash.slice(0, 12)}), so the gallery has no thumbnails: its boxes belong to the images as scored; ` +
          'render the report where the dataset is as the run read it';
      } else paths = new Map(ds.images.map((im) => [im.id, im.path]));
    } catch (err) {
      note =
        `the dataset images could not be read (${(err as Error).message}), so the gallery has no thumbnails; ` +
        `render the report where the dataset is`;
    }
  }
  const g = await buildGallery(run, (id) => paths?.get(id) ?? null, { perDetector, fileNames });
  if (note) g.notes = [note];
  return g;
}

async function writeAtomic(file: string, text: string, makeDir: boolean): Promise<void> {
  try {
    await writeFileAtomic(file, text, { makeDir });
  } catch (err) {
    if (err instanceof ShiftbenchError) throw err; // a refused write, already naming the file and the fix
    throw new ShiftbenchError(
      'ERR_OUTPUT',
      `Could not write ${file}: ${(err as Error).message}. Check that the folder exists and is writable, ` +
        `or pass another --out file.`,
      { cause: err },
    );
  }
}
