/**
 * Reads a saved run directory (manifest.json + metrics.json) and checks it, so the
 * report never touches a model: a run can be re-rendered on any machine.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { DetectorRunSummary, Interval, RunMetrics } from '../core/types.js';
import { ShiftbenchError, describeValue, invalidParameterError } from '../core/errors.js';
import { is } from '../core/is.js';
import { RUN_DIR_ARG } from '../core/messages.js';
import { MANIFEST_FILE, METRICS_FILE, PREVIOUS_DIR, keyFileNameIn } from '../core/fileNames.js';
import { pairedVerdict } from '../metrics/uncertainty.js';
import { holdRunForReport } from './hold.js';

/**
 * Category names by id from the ground truth the run scored (`detections/<key>/ground_truth.json`, the first detector
 * with breakdowns that has one; every detector of a run scores the same dataset). Empty for label-free runs, runs
 * without breakdowns, and where the file is missing or unreadable: the report then names categories by id only.
 */
export async function groundTruthCategoryNames(run: ReportRun): Promise<Map<number, string>> {
  const names = new Map<number, string>();
  const dir = path.join(run.runDir, 'detections');
  for (const r of run.metrics.results) {
    if (!r.analysis?.breakdown) continue;
    try {
      const gt = JSON.parse(await readFile(path.join(dir, keyFileNameIn(dir, r.key), 'ground_truth.json'), 'utf8'));
      for (const c of Array.isArray(gt?.categories) ? gt.categories : [])
        if (is.number(c?.id) && is.string(c?.name) && c.name) names.set(c.id, c.name);
      return names;
    } catch {
      // another detector's copy may be readable
    }
  }
  return names;
}

/** The manifest facts a report shows up front. Each is null when the manifest does not record it. */
export interface ReportManifestEssentials {
  toolVersion: string | null;
  nodeVersion: string | null;
  backend: string | null;
  /** Platform and CPU count of the machine that ran it, e.g. "linux x64, 16 CPUs" (timings depend on it). */
  machine: string | null;
  /** When the run started or was written (as recorded, usually ISO 8601). */
  createdAt: string | null;
  seed: number | null;
  datasetHash: string | null;
  /**
   * Every distinct hash in the manifest (keys named like sha256/hash), by its first JSON path, e.g.
   * "detectors[0].files[0].sha256".
   */
  hashes: { path: string; value: string }[];
  /** Set when a rescore recomputed the metrics from the stored detections: the build that did it, and when. */
  rescored: { at: string; toolVersion: string; nodeVersion: string; buildId: string } | null;
}

/** A run directory, read and checked. */
export interface ReportRun {
  runDir: string;
  /** manifest.json as written by the runner (shown in full, collapsed, in the HTML). */
  manifest: Record<string, unknown>;
  essentials: ReportManifestEssentials;
  metrics: RunMetrics;
}

export { MANIFEST_FILE, METRICS_FILE };
const SUPPORTED_SCHEMA_VERSION = 1;

const RESUME_HINT =
  'Run `shiftbench run …` first; if it was run, it was interrupted before it finished: rerun the same command to ' +
  'resume, then `shiftbench report <runDir>`.';

/**
 * Reads and validates `<runDir>/manifest.json` and `<runDir>/metrics.json`.
 * Throws ShiftbenchError ERR_INVALID_OPTION when runDir is not a directory, and
 * ERR_OUTPUT (naming the file and the fix) when a file is missing, is not JSON,
 * or does not have the RunMetrics shape (also when metrics.json was replaced while it was read); ERR_RUN_LOCKED while a
 * live run writes the directory (its files may be half replaced).
 */
export async function loadReportRun(runDir: string): Promise<ReportRun> {
  checkRunDirArg(runDir);
  // refused while a live run writes the directory, and found unchanged once read (hold.ts)
  const hold = await holdRunForReport(runDir, []);
  const run = await readReportRun(runDir);
  await hold.beforeWrite();
  return run;
}

/** Refuses a run directory argument that is not a path (ERR_INVALID_OPTION naming <runDir>). */
export function checkRunDirArg(runDir: unknown): asserts runDir is string {
  if (!is.string(runDir)) throw invalidParameterError(RUN_DIR_ARG, 'a run directory path', runDir);
}

/** loadReportRun without its hold, for a caller that holds the directory itself (renderReport, writeReportText). */
export async function readReportRun(runDir: string): Promise<ReportRun> {
  checkRunDirArg(runDir);
  const dir = path.resolve(runDir);
  const st = await stat(dir).catch(() => null);
  if (!st || !st.isDirectory()) {
    throw new ShiftbenchError(
      'ERR_INVALID_OPTION',
      `${invalidParameterError(RUN_DIR_ARG, 'an existing run directory', runDir).message}. ` +
        `Pass the directory that \`shiftbench run\` wrote (it holds ${MANIFEST_FILE} and ${METRICS_FILE}).`,
    );
  }
  await refuseNoMetricsYet(dir);
  const metricsRaw = await readJsonFile(dir, METRICS_FILE);
  const manifestRaw = await readJsonFile(dir, MANIFEST_FILE);
  const metricsPath = path.join(dir, METRICS_FILE);
  const manifestPath = path.join(dir, MANIFEST_FILE);
  if (!is.object(manifestRaw))
    throw malformed(manifestPath, invalidParameterError('the manifest', 'a JSON object', manifestRaw).message);
  const metrics = validateMetrics(metricsRaw, metricsPath);
  return { runDir: dir, manifest: manifestRaw, essentials: reportManifestEssentials(manifestRaw), metrics };
}

/**
 * A shard's run directory (`run --shard i/n`) has no metrics of its own, and an unfinished merge has none yet: ERR_OUTPUT
 * saying how to get them (not "rerun `shiftbench run`").
 */
async function refuseNoMetricsYet(dir: string): Promise<void> {
  let manifest: unknown;
  try {
    manifest = JSON.parse(await readFile(path.join(dir, MANIFEST_FILE), 'utf8'));
  } catch {
    return; // missing or damaged: readJsonFile says so
  }
  if (!is.object(manifest)) return;
  const noMetrics = (await stat(path.join(dir, METRICS_FILE)).catch(() => null)) === null;
  const previous = path.join(dir, PREVIOUS_DIR);
  if (noMetrics && (await stat(path.join(previous, METRICS_FILE)).catch(() => null)) !== null) {
    throw new ShiftbenchError(
      'ERR_OUTPUT',
      `No ${METRICS_FILE} in ${dir}: a run adding to it (another detector or mitigation, more images) stopped ` +
        `before it finished. Its finished results of before are kept whole in ${previous}: \`shiftbench report ` +
        `${previous}\` shows them (no model runs). Run that \`shiftbench run\` command again to finish it (only ` +
        'what is missing runs).',
    );
  }
  if (is.object(manifest.merged) && noMetrics) {
    throw new ShiftbenchError(
      'ERR_OUTPUT',
      `No ${METRICS_FILE} in ${dir}: the merge into it did not finish. Run the same \`shiftbench merge SHARD… ` +
        `--out ${dir}\` again (the shards are only read), then \`shiftbench report ${dir}\`.`,
    );
  }
  if (!is.object(manifest.shard)) return;
  const { index, count } = manifest.shard;
  throw new ShiftbenchError(
    'ERR_OUTPUT',
    `${dir} is shard ${String(index)}/${String(count)} of a run: a shard has no metrics of its own. ` +
      `Merge the run's ${String(count)} shard directories with \`shiftbench merge SHARD… --out DIR\`, ` +
      `then \`shiftbench report DIR\`.`,
  );
}

async function readJsonFile(dir: string, name: string): Promise<unknown> {
  const file = path.join(dir, name);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new ShiftbenchError('ERR_OUTPUT', `No ${name} in run directory ${dir}. ${RESUME_HINT}`, { cause: err });
    }
    throw new ShiftbenchError(
      'ERR_OUTPUT',
      `Could not read ${file}: ${(err as Error).message}. Check that the file is readable.`,
      { cause: err },
    );
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    // metrics.json is made from the stored detections alone: rescoring rewrites it without a model
    const fix =
      name === METRICS_FILE
        ? `\`shiftbench report ${dir} --rescore\` computes it again from the stored detections (no model runs).`
        : `rerun the same \`shiftbench run\` command to rewrite it.`;
    throw new ShiftbenchError(
      'ERR_OUTPUT',
      `${file} is not valid JSON (${(err as Error).message}). The file is damaged or was cut off: ${fix}`,
      { cause: err },
    );
  }
}

function malformed(file: string, why: string): ShiftbenchError {
  return new ShiftbenchError(
    'ERR_OUTPUT',
    `${file} is not a shiftbench run file: ${why}. It may be from another tool or damaged: ` +
      `rerun the same \`shiftbench run\` command to rewrite it.`,
  );
}

// ---------------------------------------------------------------- metrics.json shape

/** A small path-aware checker: each failure names the field, e.g. results[1].bounds.mapRef. */
class Checker {
  constructor(private readonly file: string) {}
  fail(where: string, expected: string, actual: unknown): never {
    throw malformed(this.file, `Expected ${expected} for ${where} but received ${describeValue(actual)}`);
  }
  object(v: unknown, where: string): Record<string, unknown> {
    if (!is.object(v)) this.fail(where, 'an object', v);
    return v;
  }
  array(v: unknown, where: string): unknown[] {
    if (!Array.isArray(v)) this.fail(where, 'an array', v);
    return v;
  }
  string(v: unknown, where: string): string {
    if (typeof v !== 'string') this.fail(where, 'a string', v);
    return v;
  }
  number(v: unknown, where: string): number {
    if (!is.number(v)) this.fail(where, 'a number', v);
    return v;
  }
  /** An mAP (or a range of two): a fraction from 0 to 1, never a placeholder such as pycocotools' −1. */
  fraction(v: unknown, where: string): number {
    const x = this.number(v, where);
    if (x < 0 || x > 1) this.fail(where, 'a fraction from 0 to 1', v);
    return x;
  }
  /** JSON writes NaN and Infinity as null, so a value that may be undefined (0/0) may be null. */
  numberOrNull(v: unknown, where: string): number | null {
    if (v === null) return null;
    return this.number(v, where);
  }
  interval(v: unknown, where: string): Interval {
    const o = this.object(v, where);
    // mean/lo/hi may be null when nothing was there to average (e.g. no matched pairs)
    return {
      mean: this.numberOrNull(o.mean, `${where}.mean`) as number,
      lo: this.numberOrNull(o.lo, `${where}.lo`) as number,
      hi: this.numberOrNull(o.hi, `${where}.hi`) as number,
    };
  }
}

function validateMetrics(raw: unknown, file: string): RunMetrics {
  const c = new Checker(file);
  const m = c.object(raw, 'metrics.json');
  if (m.schemaVersion !== SUPPORTED_SCHEMA_VERSION) {
    const dir = path.dirname(file);
    const newer = typeof m.schemaVersion === 'number' && m.schemaVersion > SUPPORTED_SCHEMA_VERSION;
    throw new ShiftbenchError(
      'ERR_OUTPUT',
      `${file}: Expected schemaVersion ${SUPPORTED_SCHEMA_VERSION} but received ${describeValue(m.schemaVersion)}. ` +
        (newer
          ? 'The run was written by a newer shiftbench: update shiftbench (npm install shiftbench@latest) to read it.'
          : `The run was written by an older shiftbench: re-render it with this version from its stored detections ` +
            `(no model runs): \`shiftbench report ${dir} --rescore\`.`),
    );
  }
  c.string(m.runId, 'runId');
  const ds = c.object(m.dataset, 'dataset');
  c.string(ds.name, 'dataset.name');
  c.number(ds.images, 'dataset.images');
  if (typeof ds.labelFree !== 'boolean') c.fail('dataset.labelFree', 'a boolean', ds.labelFree);
  const ss = c.object(m.shiftSet, 'shiftSet');
  c.string(ss.spec, 'shiftSet.spec');
  c.array(ss.shifts, 'shiftSet.shifts').forEach((s, i) => {
    const o = c.object(s, `shiftSet.shifts[${i}]`);
    c.number(o.dx, `shiftSet.shifts[${i}].dx`);
    c.number(o.dy, `shiftSet.shifts[${i}].dy`);
  });
  c.string(m.mode, 'mode');
  const results = c.array(m.results, 'results');
  if (results.length === 0) c.fail('results', 'at least one detector result', results);
  const seen = new Set<string>();
  results.forEach((r, i) => {
    validateResult(c, r, `results[${i}]`);
    const key = (r as DetectorRunSummary).key;
    if (seen.has(key)) c.fail(`results[${i}].key`, 'a key not used by another result', key);
    seen.add(key);
  });
  return raw as RunMetrics;
}

function validateResult(c: Checker, raw: unknown, at: string): void {
  const r = c.object(raw, at);
  c.string(r.key, `${at}.key`);
  c.string(r.model, `${at}.model`);
  if (r.mitigation !== null) c.string(r.mitigation, `${at}.mitigation`);
  const fam = c.object(r.family, `${at}.family`);
  c.string(fam.stages, `${at}.family.stages`);
  c.string(fam.anchors, `${at}.family.anchors`);
  if (r.bounds !== null) {
    const b = c.object(r.bounds, `${at}.bounds`);
    for (const k of ['mapRef', 'mapLower', 'mapUpper', 'mapRange'] as const) c.fraction(b[k], `${at}.bounds.${k}`);
    c.numberOrNull(b.relRange, `${at}.bounds.relRange`);
    c.array(b.perShift, `${at}.bounds.perShift`).forEach((v, i) => {
      if (v !== null) c.fraction(v, `${at}.bounds.perShift[${i}]`);
    });
    const passes = c.object(b.passes, `${at}.bounds.passes`);
    c.number(passes.lower, `${at}.bounds.passes.lower`);
    c.number(passes.upper, `${at}.bounds.passes.upper`);
  }
  const cons = c.object(r.consistency, `${at}.consistency`);
  c.number(cons.scoreThreshold, `${at}.consistency.scoreThreshold`);
  for (const k of ['detConsistency', 'boxJitterIou', 'boxJitterCenterPx', 'scoreJitter'] as const)
    c.interval(cons[k], `${at}.consistency.${k}`);
  if (cons.flipRate !== null) c.interval(cons.flipRate, `${at}.consistency.flipRate`);
  const t = c.object(r.timing, `${at}.timing`);
  c.numberOrNull(t.inferenceSeconds, `${at}.timing.inferenceSeconds`);
  c.numberOrNull(t.imagesPerSecond, `${at}.timing.imagesPerSecond`);
  if (t.costRatio !== undefined) c.numberOrNull(t.costRatio, `${at}.timing.costRatio`);
  c.number(r.imagesEvaluated, `${at}.imagesEvaluated`);
  c.array(r.skippedImages, `${at}.skippedImages`).forEach((s, i) => c.object(s, `${at}.skippedImages[${i}]`));
  if (r.analysis !== undefined) validateAnalysis(c, r.analysis, `${at}.analysis`);
  if (r.stability !== undefined && r.stability !== null) validateStability(c, r.stability, `${at}.stability`);
  if (r.scoredContent !== undefined) {
    const sc = c.object(r.scoredContent, `${at}.scoredContent`);
    for (const k of ['groundTruthTotal', 'groundTruthIgnored', 'detectionsTotal', 'detectionsDropped'] as const)
      c.number(sc[k], `${at}.scoredContent.${k}`);
  }
}

// ---------------------------------------------------------------- manifest essentials

function pick(obj: Record<string, unknown>, paths: string[]): unknown {
  for (const p of paths) {
    let v: unknown = obj;
    for (const part of p.split('.')) v = is.object(v) ? v[part] : undefined;
    if (v !== undefined && v !== null && v !== '') return v;
  }
  return null;
}

function asText(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return null;
}

/**
 * Picks the facts a report shows from a manifest. Tolerant of layout (the runner
 * owns the manifest format): it looks in the usual places and collects every
 * field named like a hash, wherever it is.
 */
export function reportManifestEssentials(manifest: Record<string, unknown>): ReportManifestEssentials {
  const seed = pick(manifest, ['seed', 'options.seed']);
  return {
    toolVersion: asText(
      pick(manifest, ['toolVersion', 'shiftbenchVersion', 'tool.version', 'versions.shiftbench', 'version']),
    ),
    nodeVersion: asText(pick(manifest, ['nodeVersion', 'node', 'versions.node', 'runtime.node', 'environment.node'])),
    backend: asText(pick(manifest, ['backend', 'runtime.backend', 'environment.backend', 'options.backend'])),
    machine: machineText(manifest),
    createdAt: asText(pick(manifest, ['createdAt', 'startedAt', 'date', 'created', 'finishedAt'])),
    seed: typeof seed === 'number' ? seed : null,
    datasetHash: asText(pick(manifest, ['dataset.hash', 'dataset.sha256', 'datasetHash'])),
    hashes: collectHashes(manifest),
    rescored: rescoredOf(manifest.rescored),
  };
}

function rescoredOf(v: unknown): ReportManifestEssentials['rescored'] {
  if (!is.object(v)) return null;
  const text = (k: string) => (is.string(v[k]) ? v[k] : null);
  const [at, toolVersion, nodeVersion, buildId] = ['at', 'toolVersion', 'nodeVersion', 'buildId'].map(text);
  return at && toolVersion && nodeVersion && buildId ? { at, toolVersion, nodeVersion, buildId } : null;
}

function machineText(manifest: Record<string, unknown>): string | null {
  const platform = asText(pick(manifest, ['platform', 'environment.platform']));
  const cpus = pick(manifest, ['cpus', 'environment.cpus']);
  if (platform === null) return null;
  return typeof cpus === 'number' ? `${platform}, ${cpus} CPUs` : platform;
}

/** What the manifest says of one detector (runner layout: `detectors[]` with `key`), for the details table. */
export interface ManifestDetectorFacts {
  /** "512×512" */
  inputSize: string | null;
  totalStridePx: number | null;
  batchSize: number | null;
}

/** Looks up `detectors[]` of the manifest by key; every field null when absent. */
export function manifestDetectorFacts(manifest: Record<string, unknown>, key: string): ManifestDetectorFacts {
  const list = Array.isArray(manifest.detectors) ? manifest.detectors : [];
  const d = list.find((x): x is Record<string, unknown> => is.object(x) && x.key === key);
  const size = d && is.object(d.inputSizePx) ? d.inputSizePx : null;
  return {
    inputSize: size && is.number(size.width) && is.number(size.height) ? `${size.width}×${size.height}` : null,
    totalStridePx: d && is.number(d.totalStridePx) ? d.totalStridePx : null,
    batchSize: d && is.number(d.batchSize) ? d.batchSize : null,
  };
}

function collectHashes(
  value: unknown,
  at = '',
  out: { path: string; value: string }[] = [],
): { path: string; value: string }[] {
  if (out.length >= 200) return out;
  if (Array.isArray(value)) {
    value.forEach((v, i) => collectHashes(v, `${at}[${i}]`, out));
  } else if (is.object(value)) {
    for (const [k, v] of Object.entries(value)) {
      const here = at ? `${at}.${k}` : k;
      if (typeof v === 'string' && /sha256|hash/i.test(k)) {
        // a hash repeated elsewhere is listed once
        if (!out.some((x) => x.value === v)) out.push({ path: here, value: v });
      } else collectHashes(v, here, out);
    }
  }
  return out;
}

/** The parts of a result's `analysis` the report reads (issue 11's numbers). */
/** Protocol §5 video-stability errors: each null or a mean with its interval, counts and the worst object. */
function validateStability(c: Checker, raw: unknown, at: string): void {
  const st = c.object(raw, at);
  c.number(st.scoreThreshold, `${at}.scoreThreshold`);
  c.number(st.objects, `${at}.objects`);
  for (const k of ['centerError', 'scaleRatioError', 'fragmentError'] as const) {
    if (st[k] === null) continue;
    const e = c.object(st[k], `${at}.${k}`);
    for (const f of ['mean', 'objects', 'images'] as const) c.number(e[f], `${at}.${k}.${f}`);
    // no interval (null) over fewer images than one needs
    for (const f of ['lo', 'hi'] as const) c.numberOrNull(e[f], `${at}.${k}.${f}`);
    const w = c.object(e.worst, `${at}.${k}.worst`);
    for (const f of ['value', 'imageId', 'annotationId'] as const) c.number(w[f], `${at}.${k}.worst.${f}`);
  }
}

/** A bounds interval (BoundsInterval) at `at`: its four mAP intervals are numbers. */
function validateBoundsInterval(c: Checker, raw: unknown, at: string): void {
  const iv = c.object(raw, at);
  for (const k of ['mapRef', 'mapLower', 'mapUpper', 'mapRange'] as const) {
    const x = c.object(iv[k], `${at}.${k}`);
    c.number(x.lo, `${at}.${k}.lo`);
    c.number(x.hi, `${at}.${k}.hi`);
  }
}

function validateAnalysis(c: Checker, raw: unknown, at: string): void {
  const a = c.object(raw, at);
  if (a.boundsInterval !== null) validateBoundsInterval(c, a.boundsInterval, `${at}.boundsInterval`);
  if (a.sizeCurve !== null)
    c.array(a.sizeCurve, `${at}.sizeCurve`).forEach((p, i) => c.object(p, `${at}.sizeCurve[${i}]`));
  const byObjective = c.object(a.boundsByObjective, `${at}.boundsByObjective`);
  for (const [name, b] of Object.entries(byObjective)) {
    const o = c.object(b, `${at}.boundsByObjective.${name}`);
    // absent in runs of older versions; null without bootstrap of the bounds
    if (o.interval !== undefined && o.interval !== null)
      validateBoundsInterval(c, o.interval, `${at}.boundsByObjective.${name}.interval`);
  }
  if (a.breakdown !== null) c.object(a.breakdown, `${at}.breakdown`);
  const f = c.object(a.flicker, `${at}.flicker`);
  c.array(f.top, `${at}.flicker.top`).forEach((x, i) => c.object(x, `${at}.flicker.top[${i}]`));
  c.array(a.periodicity, `${at}.periodicity`).forEach((x, i) => c.object(x, `${at}.periodicity[${i}]`));
  c.array(a.paired, `${at}.paired`).forEach((p, i) => {
    const o = c.object(p, `${at}.paired[${i}]`);
    c.string(o.key, `${at}.paired[${i}].key`);
    c.string(o.against, `${at}.paired[${i}].against`);
    const d = c.object(o.deltaMapRange, `${at}.paired[${i}].deltaMapRange`);
    for (const k of ['value', 'lo', 'hi'] as const) c.number(d[k], `${at}.paired[${i}].deltaMapRange.${k}`);
    const r = c.object(o.deltaMapRef, `${at}.paired[${i}].deltaMapRef`);
    for (const k of ['value', 'lo', 'hi'] as const) c.number(r[k], `${at}.paired[${i}].deltaMapRef.${k}`);
    c.number(o.steadierShare, `${at}.paired[${i}].steadierShare`);
    c.string(o.verdict, `${at}.paired[${i}].verdict`);
    // the report shows the verdict beside its interval: never a difference called real that its interval does not show
    const supported = pairedVerdict({ lo: d.lo as number, hi: d.hi as number });
    if (o.verdict !== supported) c.fail(`${at}.paired[${i}].verdict`, `"${supported}" (its interval's)`, o.verdict);
  });
  c.array(a.notes, `${at}.notes`);
}
