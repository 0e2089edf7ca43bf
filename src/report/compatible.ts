/**
 * Whether two saved runs can be paired image by image (protocol §4 paired differences
 * across runs): the same dataset content, the same images, shift set, mode and
 * preprocessing. Pure: reads only the loaded manifests and metrics.
 */
import { is } from '../core/is.js';
import { BOUNDS_OFF_MAX_CELLS_TEXT, ownBoundsResamples } from '../metrics/uncertainty.js';
import type { ReportRun } from './load.js';

/** The verdict on pairing two runs and, when they cannot be paired, each reason. */
export interface RunCompatibility {
  pairable: boolean;
  /** One line per difference, e.g. "mode: pad → crop" (empty when pairable). */
  differences: string[];
  /**
   * Settings that made the detections and differ, one line each as in `differences`: they do not stop the pairing (as
   * another model does not), but each paired Δ then measures them too, so they are said beside it.
   */
  madeDifferently: string[];
  /** Detector keys present in both runs. */
  commonKeys: string[];
  /** Set when the first run has fewer evaluated images than the second (a check baseline must not have more). */
  fewerImages: boolean;
}

function get(obj: unknown, dotted: string): unknown {
  let v: unknown = obj;
  for (const part of dotted.split('.')) v = is.object(v) ? v[part] : undefined;
  return v;
}

const show = (v: unknown): string => {
  if (v === undefined || v === null) return '(none)';
  if (typeof v === 'string') return /^[0-9a-f]{24,}$/.test(v) ? `${v.slice(0, 12)}…` : v;
  return JSON.stringify(v);
};

const differ = (x: unknown, y: unknown) => JSON.stringify(x ?? null) !== JSON.stringify(y ?? null);

/** The preprocessing of one detector as the manifest records it (what turns an image into its input). */
function preprocessing(run: Pick<ReportRun, 'manifest'>, key: string): Record<string, unknown> | null {
  const list = Array.isArray(run.manifest.detectors) ? run.manifest.detectors : [];
  const d = list.find((x): x is Record<string, unknown> => is.object(x) && x.key === key);
  if (!d) return null;
  return {
    inputSizePx: d.inputSizePx,
    fit: d.fit,
    padValue: d.padValue,
    colorOrder: d.colorOrder,
    normalize: d.normalize,
  };
}

/**
 * Compares run `a` with run `b`: dataset (name and content hash), the images (count, each detector's evaluated
 * count, and `--images` / `--limit` as written only where a run records no content hash), the shift set, the mode, the resampling
 * (kernel, placement) and each common detector's preprocessing (input size, fit, padding,
 * colour order, normalisation). Label-free runs pair like any other. `madeDifferently` lists the detections kept per
 * input (`--max-detections`) when it differs.
 */
export function runCompatibility(
  a: Pick<ReportRun, 'manifest' | 'metrics'>,
  b: Pick<ReportRun, 'manifest' | 'metrics'>,
): RunCompatibility {
  const diffs: string[] = [];
  const cmp = (label: string, x: unknown, y: unknown) => {
    if (differ(x, y)) diffs.push(`${label}: ${show(x)} → ${show(y)}`);
  };
  // detections kept per input: part of what made the detections, like the model itself
  const madeDifferently: string[] = [];
  const maxA = get(a.manifest, 'identity.run.maxDetections');
  const maxB = get(b.manifest, 'identity.run.maxDetections');
  if (differ(maxA, maxB)) madeDifferently.push(`--max-detections: ${show(maxA)} → ${show(maxB)}`);
  const ma = a.metrics;
  const mb = b.metrics;
  cmp('dataset', ma.dataset.name, mb.dataset.name);
  cmp('dataset content (hash)', get(a.manifest, 'dataset.hash'), get(b.manifest, 'dataset.hash'));
  cmp('images', ma.dataset.images, mb.dataset.images);
  // the content hash covers the labels and every image used, in order: with the count it pins the images, however
  // --images (a folder on each machine) and --limit (at or above the dataset's size) were written
  const hashA = get(a.manifest, 'dataset.hash');
  const hashB = get(b.manifest, 'dataset.hash');
  if (typeof hashA !== 'string' || typeof hashB !== 'string') {
    cmp('--images', get(a.manifest, 'options.images'), get(b.manifest, 'options.images'));
    cmp('--limit', get(a.manifest, 'options.limit'), get(b.manifest, 'options.limit'));
  }
  cmp(
    'shift set',
    ma.shiftSet.shifts.map((s) => `${s.dx},${s.dy}`).join(';'),
    mb.shiftSet.shifts.map((s) => `${s.dx},${s.dy}`).join(';'),
  );
  cmp('mode', ma.mode, mb.mode);
  // the consistency metrics count detections at or above τ; the bounds, the objective's mAP
  cmp('--score-threshold (τ)', get(a.manifest, 'options.scoreThreshold'), get(b.manifest, 'options.scoreThreshold'));
  cmp('--objective', get(a.manifest, 'options.objectives'), get(b.manifest, 'options.objectives'));
  cmp('resampling kernel', get(a.manifest, 'resample.kernel'), get(b.manifest, 'resample.kernel'));
  cmp('subpixel path (fractional shifts)', get(a.manifest, 'resample.subpixel'), get(b.manifest, 'resample.subpixel'));
  cmp('fit placement', get(a.manifest, 'resample.fitPlacement'), get(b.manifest, 'resample.fitPlacement'));
  // runs made before enlargement kept pixel centres aligned put every image smaller than the input half a pixel off
  const centres = (r: Pick<ReportRun, 'manifest'>) =>
    get(r.manifest, 'resample.pixelCentres') ?? 'half a pixel off when enlarged';
  cmp('resampling pixel centres', centres(a), centres(b));
  const keysB = new Set(mb.results.map((r) => r.key));
  const commonKeys = ma.results.map((r) => r.key).filter((k) => keysB.has(k));
  for (const key of commonKeys) {
    const pa = preprocessing(a, key);
    const pb = preprocessing(b, key);
    for (const field of ['inputSizePx', 'fit', 'padValue', 'colorOrder', 'normalize'])
      cmp(`${key} preprocessing ${field}`, pa?.[field], pb?.[field]);
    cmp(
      `${key} images evaluated`,
      ma.results.find((r) => r.key === key)!.imagesEvaluated,
      mb.results.find((r) => r.key === key)!.imagesEvaluated,
    );
  }
  const evaluated = (m: typeof ma) => Math.min(...m.results.map((r) => r.imagesEvaluated));
  return {
    pairable: diffs.length === 0,
    differences: diffs,
    madeDifferently,
    commonKeys,
    fewerImages: evaluated(ma) < evaluated(mb) || ma.dataset.images < mb.dataset.images,
  };
}

/** A line of runCompatibility ("mode: pad → crop") with each side named: "mode: B pad, A crop" for names B and A. */
export function labelDifference(line: string, nameA: string, nameB: string): string {
  return line.replace(/: (.*) → (.*)$/, `: ${nameA} $1, ${nameB} $2`);
}

/** The labels of runCompatibility's differences that a rescore (no model) removes. */
const ANALYSIS_LABELS = ['--score-threshold (τ)', '--objective'];

/**
 * When `a` and `b` differ only in settings a rescore changes (runCompatibility's `differences`: τ, --objective), the
 * rescores that make them pairable without a model, as "to pair them without a model: shiftbench report …": `a` at
 * `b`'s τ, and each run given the --objective values of both. Null otherwise.
 */
export function rescoreToPair(
  a: Pick<ReportRun, 'manifest' | 'runDir'>,
  b: Pick<ReportRun, 'manifest' | 'runDir'>,
  differences: readonly string[],
): string | null {
  if (differences.length === 0 || !differences.every((d) => ANALYSIS_LABELS.some((l) => d.startsWith(`${l}:`))))
    return null;
  const objectives = (r: Pick<ReportRun, 'manifest'>) => {
    const v = get(r.manifest, 'options.objectives');
    return Array.isArray(v) ? v.filter((o): o is string => typeof o === 'string' && o !== 'ap') : [];
  };
  const all = [...new Set([...objectives(a), ...objectives(b)])];
  const objectiveFlags = all.map((o) => `--objective ${o}`).join(' ');
  const lacks = (r: Pick<ReportRun, 'manifest'>) => all.some((o) => !objectives(r).includes(o));
  const tauB = get(b.manifest, 'options.scoreThreshold');
  const forA: string[] = [];
  if (differ(get(a.manifest, 'options.scoreThreshold'), tauB)) forA.push(`--score-threshold ${show(tauB)}`);
  if (lacks(a)) forA.push(objectiveFlags);
  const commands: string[] = [];
  if (forA.length) commands.push(`shiftbench report ${a.runDir} ${forA.join(' ')}`);
  if (lacks(b)) commands.push(`shiftbench report ${b.runDir} ${objectiveFlags}`);
  return commands.length ? `to pair them without a model: ${commands.join(', then ')}` : null;
}

/**
 * Why pairing on `run`'s own bounds resamples (compare's first run, check's judged run, when no --bootstrap-bounds is
 * given) pairs nothing: it was scored with --bootstrap-bounds 0, or its default was off at its size; null when it had
 * resamples. The rule is pairRuns' (ownBoundsResamples over the images it evaluated).
 */
export function ownResamplesOffReason(run: ReportRun): string | null {
  const saved = get(run.manifest, 'options.bootstrapBounds');
  const images = Math.max(0, ...run.metrics.results.map((r) => r.imagesEvaluated));
  const shifts = run.metrics.shiftSet.shifts.length;
  if (ownBoundsResamples(is.number(saved) ? saved : null, images, shifts) > 0) return null;
  return saved === 0
    ? 'was scored with --bootstrap-bounds 0 (no bounds resamples)'
    : `has no bounds resamples (${images} images × ${shifts} shifts > ${BOUNDS_OFF_MAX_CELLS_TEXT}: off by default at this size)`;
}
