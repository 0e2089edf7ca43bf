/**
 * `shiftbench check`: a CI gate on a saved run. Each limit is judged on the 95 % interval:
 * fail when the interval's lower end exceeds the limit (the detector is over it), warn when
 * only the point value does (not conclusive), pass otherwise. A run that cannot be judged
 * (no interval, no mAP for a limit on mAP, a baseline that cannot be paired) is an error
 * (ERR_CANNOT_JUDGE), never a pass.
 */
import { ShiftbenchError, invalidParameterError, refuseUnknownFields } from '../core/errors.js';
import { is } from '../core/is.js';
import { labelDifference, ownResamplesOffReason, rescoreToPair, runCompatibility } from './compatible.js';
import { boundsOffNote, noMapReason } from './format.js';
import { loadReportRun, type ReportRun } from './load.js';
import { MIN_INTERVAL_IMAGES, MIN_INTERVAL_RESAMPLES } from '../metrics/index.js';
import { POINTS_DIGITS, PERCENT_DIGITS, countOf, signedPointsCell } from '../core/units.js';

/** The limits of a check, as fractions 0–1 (0.03 = 3 pp of mAP); each one left out is not checked. */
export interface CheckLimits {
  /** mapRange (upper − lower mAP bound) at most this. */
  maxRange?: number;
  /** relRange (mapRange ÷ mAP at (0,0)) at most this. */
  maxRelRange?: number;
  /** flip rate (protocol §5) at most this. */
  maxFlipRate?: number;
  /** With a baseline: mapRange − the baseline's mapRange (paired, same images) at most this. */
  maxIncrease?: number;
}

/** Which limit a line judges. */
export type CheckLimitName = 'max-range' | 'max-rel-range' | 'max-flip-rate' | 'max-increase';
export type CheckStatus = 'pass' | 'warn' | 'fail';

/** One detector against one limit. */
export interface CheckOutcome {
  key: string;
  limit: CheckLimitName;
  limitValue: number;
  value: number;
  lo: number;
  hi: number;
  status: CheckStatus;
  /** One line for people: the value with its interval, the limit and by how much. */
  message: string;
}

/** The result of a check: every outcome and the overall status (the worst). */
export interface CheckResult {
  runId: string;
  baselineRunId: string | null;
  outcomes: CheckOutcome[];
  status: CheckStatus;
}

/** A paired difference of one detector key against the baseline run (A = the run, B = the baseline). */
export interface BaselineDelta {
  key: string;
  resamples: number;
  deltaMapRange: { value: number; lo: number; hi: number };
}

/** Computes the paired Δ mapRange of the given keys between two run directories (runner's pairRuns). */
export type PairBaseline = (runDir: string, baselineDir: string, keys: string[]) => Promise<BaselineDelta[]>;

const LIMITS: { name: CheckLimitName; field: keyof CheckLimits; flag: string; what: string; unit: 'pp' | '%' }[] = [
  { name: 'max-range', field: 'maxRange', flag: '--max-range', what: 'mAP range', unit: 'pp' },
  { name: 'max-rel-range', field: 'maxRelRange', flag: '--max-rel-range', what: 'rel. range', unit: '%' },
  { name: 'max-flip-rate', field: 'maxFlipRate', flag: '--max-flip-rate', what: 'flip rate', unit: '%' },
  {
    name: 'max-increase',
    field: 'maxIncrease',
    flag: '--max-increase',
    what: 'mAP range increase over the baseline',
    unit: 'pp',
  },
];

/** The fields of CheckLimits, from LIMITS (a misspelt limit is refused, not skipped). */
const LIMIT_FIELDS = Object.fromEntries(LIMITS.map((l) => [l.field, true])) as Record<keyof CheckLimits, true>;

/** The fields of checkRunDir's options. */
const CHECK_OPTION_FIELDS: Record<'baselineDir' | 'pair', true> = { baselineDir: true, pair: true };

function fmt(v: number, unit: 'pp' | '%'): string {
  const x = v * 100;
  return unit === 'pp'
    ? `${x < 0 ? '−' : ''}${Math.abs(x).toFixed(POINTS_DIGITS)} pp`
    : `${x < 0 ? '−' : ''}${Math.abs(x).toFixed(PERCENT_DIGITS)}%`;
}

/** A limit's measured value: a paired difference (--max-increase) signed as every Δ is (signedPointsCell). */
function fmtValue(v: number, limit: (typeof LIMITS)[number]): string {
  return limit.name === 'max-increase' ? `${signedPointsCell(v, POINTS_DIGITS)} pp` : fmt(v, limit.unit);
}

/** Judges one value with its interval against a limit (fail: lo > limit; warn: value > limit ≥ lo). */
export function judge(
  key: string,
  limit: (typeof LIMITS)[number],
  limitValue: number,
  value: number,
  lo: number,
  hi: number,
): CheckOutcome {
  const status: CheckStatus = lo > limitValue ? 'fail' : value > limitValue ? 'warn' : 'pass';
  const shown = `${limit.what} ${fmtValue(value, limit)} [${fmtValue(lo, limit)}, ${fmtValue(hi, limit)}]`;
  const by = (d: number) => `${(d * 100).toFixed(limit.unit === 'pp' ? POINTS_DIGITS : PERCENT_DIGITS)} pp`;
  const message =
    status === 'fail'
      ? `FAIL ${key}: ${shown} exceeds ${limit.flag} ${fmt(limitValue, limit.unit)}: the whole 95% interval is ` +
        `above it (its lower end by ${by(lo - limitValue)}, the value by ${by(value - limitValue)})`
      : status === 'warn'
        ? `WARN ${key}: ${shown} is above ${limit.flag} ${fmt(limitValue, limit.unit)} by ${by(value - limitValue)}` +
          `, but the 95% interval reaches below it: not conclusive (more images narrow it)`
        : `pass ${key}: ${shown} ≤ ${limit.flag} ${fmt(limitValue, limit.unit)}${
            hi > limitValue ? ' (the interval reaches above it)' : ''
          }`;
  return { key, limit: limit.name, limitValue, value, lo, hi, status, message };
}

/**
 * Checks the limits' shape: at least one, each a number ≥ 0; --max-increase needs a baseline and the other way round.
 */
export function validateCheckLimits(limits: CheckLimits, hasBaseline: boolean): void {
  if (!is.object(limits)) throw invalidParameterError('limits', 'an object of check limits', limits);
  // a library caller's misspelt limit would otherwise be skipped, and the check pass without it
  refuseUnknownFields(limits, LIMIT_FIELDS, 'check limits', 'limits');
  for (const l of LIMITS) {
    const v = limits[l.field];
    if (v !== undefined && (!is.number(v) || v < 0))
      throw invalidParameterError(l.flag, 'a fraction ≥ 0 (0.03 = 3 pp)', v);
  }
  if (!LIMITS.some((l) => limits[l.field] !== undefined)) {
    throw new ShiftbenchError(
      'ERR_INVALID_OPTION',
      'Expected at least one limit for check but received none: give --max-range, --max-rel-range, --max-flip-rate ' +
        'or --baseline RUN --max-increase.',
    );
  }
  if (limits.maxIncrease !== undefined && !hasBaseline)
    throw new ShiftbenchError('ERR_INVALID_OPTION', '--max-increase needs --baseline RUN (the run to compare with).');
  if (limits.maxIncrease === undefined && hasBaseline)
    throw new ShiftbenchError(
      'ERR_INVALID_OPTION',
      '--baseline needs --max-increase (how much more mAP range than the baseline is allowed).',
    );
}

/**
 * Checks a loaded run against the limits; `baseline` brings the baseline run and the paired
 * Δ mapRange of every key of the run (from pairRuns). Throws ShiftbenchError ERR_CANNOT_JUDGE
 * listing every reason when some limit cannot be judged, ERR_INVALID_OPTION for bad limits.
 */
export function checkRun(
  run: ReportRun,
  limits: CheckLimits,
  baseline?: { run: ReportRun; deltas: BaselineDelta[] },
): CheckResult {
  validateCheckLimits(limits, baseline !== undefined);
  const reasons: string[] = [];
  const outcomes: CheckOutcome[] = [];
  const dir = run.runDir;
  const m = run.metrics;
  // settings that made the detections differently from the baseline's (pairable, as another model is): each range
  // increase then measures them too, and says so
  const madeDifferently = baseline
    ? runCompatibility(run, baseline.run).madeDifferently.map((d) => labelDifference(d, 'run', 'baseline'))
    : [];
  const made = madeDifferently.length ? `(made differently from the baseline: ${madeDifferently.join('; ')})` : '';
  for (const r of m.results) {
    // a value without an interval is not judged; with fewer than MIN_INTERVAL_IMAGES images there is none to judge on
    const tooFew =
      r.imagesEvaluated < MIN_INTERVAL_IMAGES
        ? `${r.key}: ${countOf(r.imagesEvaluated, 'image')} — fewer than ${MIN_INTERVAL_IMAGES} give no 95% interval to judge ` +
          'on; run it on more images'
        : null;
    const refuseTooFew = () => {
      if (tooFew !== null && !reasons.includes(tooFew)) reasons.push(tooFew);
    };
    // no true positive at any shift (a broken export, a wrong preprocessing): its range, flip rate and range increase
    // are 0 — true, and no sign of stability; a gate must not pass it
    if (r.bounds && r.bounds.mapUpper === 0) {
      reasons.push(
        `${r.key}: mAP is 0 at every shift (it finds none of the objects), so its stability cannot be judged; ` +
          'look at its detections (a wrong model file, preprocessing or class mapping?)',
      );
      continue;
    }
    for (const l of LIMITS) {
      const limitValue = limits[l.field];
      if (limitValue === undefined) continue;
      if (l.name === 'max-flip-rate') {
        const f = r.consistency.flipRate;
        // null (no labels), or a mean that is not a number (no ground-truth object in the evaluated images)
        if (!f || !is.number(f.mean) || !Number.isFinite(f.mean))
          reasons.push(
            `${r.key}: no flip rate (${noMapReason(m.dataset.labelFree)}), so --max-flip-rate cannot be judged`,
          );
        else if (tooFew !== null) refuseTooFew();
        else if (!is.number(f.lo) || !is.number(f.hi)) {
          const n = r.consistency.imagesUsed?.flipRate;
          reasons.push(
            `${r.key}: the flip rate has no interval` +
              (is.number(n) && n < MIN_INTERVAL_IMAGES
                ? ` (${n} image${n === 1 ? ' holds' : 's hold'} a ground-truth object: fewer than ` +
                  `${MIN_INTERVAL_IMAGES} give no 95% interval)`
                : ''),
          );
        } else outcomes.push(judge(r.key, l, limitValue, f.mean, f.lo, f.hi));
        continue;
      }
      if (!r.bounds) {
        reasons.push(
          `${r.key}: no mAP (${noMapReason(m.dataset.labelFree)}), so ${l.flag} (a limit on mAP) cannot be judged`,
        );
        continue;
      }
      if (l.name === 'max-increase') {
        const d = baseline!.deltas.find((x) => x.key === r.key);
        if (tooFew !== null) refuseTooFew();
        else if (!d) {
          // the run had no bounds resamples and none were asked for: pairRuns paired nothing
          const own = ownResamplesOffReason(run);
          reasons.push(
            own !== null
              ? `${r.key}: not paired with the baseline: the run ${own}; check --bootstrap-bounds B pairs on B resamples`
              : `${r.key}: not paired with the baseline: the pairing gave no difference — the baseline has no ` +
                  `detector ${r.key} with ground truth, or fewer than ${MIN_INTERVAL_IMAGES} images evaluated in both ` +
                  'runs (an image either run skipped is left out of both) give no 95% interval',
          );
        } else {
          const o = judge(r.key, l, limitValue, d.deltaMapRange.value, d.deltaMapRange.lo, d.deltaMapRange.hi);
          outcomes.push(made === '' ? o : { ...o, message: `${o.message} ${made}` });
        }
        continue;
      }
      const biv = r.analysis?.boundsInterval;
      if (tooFew !== null) {
        refuseTooFew();
        continue;
      }
      if (!biv) {
        const off = boundsOffNote(r.analysis?.notes);
        reasons.push(
          off !== null
            ? `${r.key}: the mAP bounds have no interval (${off})`
            : `${r.key}: the mAP bounds have no interval (bounds bootstrap off, or a run from before intervals); ` +
                `add one without running a model: \`shiftbench report ${dir} --bootstrap-bounds 200\``,
        );
        continue;
      }
      const iv = l.name === 'max-range' ? biv.mapRange : biv.relRange;
      const value = l.name === 'max-range' ? r.bounds.mapRange : r.bounds.relRange;
      if (value === null) reasons.push(`${r.key}: no rel. range (mAP at (0,0) is 0)`);
      else if (!iv)
        reasons.push(
          `${r.key}: the rel. range has no interval (fewer than ${MIN_INTERVAL_RESAMPLES} resamples have mAP at ` +
            '(0,0) > 0), so --max-rel-range cannot be judged',
        );
      else outcomes.push(judge(r.key, l, limitValue, value, iv.lo, iv.hi));
    }
  }
  if (reasons.length) throw cannotJudge(dir, reasons);
  const status: CheckStatus = outcomes.some((o) => o.status === 'fail')
    ? 'fail'
    : outcomes.some((o) => o.status === 'warn')
      ? 'warn'
      : 'pass';
  return { runId: m.runId, baselineRunId: baseline ? baseline.run.metrics.runId : null, outcomes, status };
}

function cannotJudge(dir: string, reasons: string[]): ShiftbenchError {
  return new ShiftbenchError('ERR_CANNOT_JUDGE', `Cannot judge ${dir}:\n${reasons.map((r) => `  - ${r}`).join('\n')}`);
}

/**
 * Loads the run (and the baseline), checks that the baseline can be paired with it (same
 * dataset, images, shift set, mode, preprocessing; not more images than the run), pairs
 * them with `pair` and checks the limits. Throws as checkRun and loadReportRun do.
 */
export async function checkRunDir(
  runDir: string,
  limits: CheckLimits,
  options: { baselineDir?: string; pair?: PairBaseline } = {},
): Promise<CheckResult> {
  if (!is.object(options as unknown)) throw invalidParameterError('options', 'an object of check options', options);
  refuseUnknownFields(options, CHECK_OPTION_FIELDS, 'check options');
  validateCheckLimits(limits, options.baselineDir !== undefined);
  const run = await loadReportRun(runDir);
  if (options.baselineDir === undefined) return checkRun(run, limits);
  const base = await loadReportRun(options.baselineDir);
  if (base.runDir === run.runDir)
    throw new ShiftbenchError(
      'ERR_INVALID_OPTION',
      `Expected a --baseline other than the run itself but received ${options.baselineDir}`,
    );
  const compat = runCompatibility(run, base);
  const reasons = compat.differences.map((d) => `the baseline differs — ${labelDifference(d, 'run', 'baseline')}`);
  const rescore = rescoreToPair(run, base, compat.differences);
  if (rescore !== null) reasons.push(rescore);
  if (compat.fewerImages)
    reasons.push(
      `the run has fewer images than the baseline (${run.metrics.dataset.images} vs ${base.metrics.dataset.images})`,
    );
  const missing = run.metrics.results.filter((r) => !compat.commonKeys.includes(r.key)).map((r) => r.key);
  for (const k of missing) reasons.push(`${k}: the baseline has no detector ${k}`);
  if (reasons.length) throw cannotJudge(run.runDir, reasons);
  if (!options.pair) throw new ShiftbenchError('ERR_INTERNAL', 'checkRunDir needs a pair function for --baseline');
  const deltas = await options.pair(run.runDir, base.runDir, compat.commonKeys);
  return checkRun(run, limits, { run: base, deltas });
}

const xml = (s: unknown) =>
  String(s).replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);

/**
 * JUnit XML of a check (one testcase per detector and limit; a fail is a <failure>, a warn passes with its text in
 * <system-out>).
 */
export function checkJunitXml(result: CheckResult): string {
  const failures = result.outcomes.filter((o) => o.status === 'fail').length;
  const cases = result.outcomes
    .map((o) => {
      const inner =
        o.status === 'fail'
          ? `<failure message="${xml(o.message)}" type="${o.limit}">${xml(o.message)}</failure>`
          : `<system-out>${xml(o.message)}</system-out>`;
      return `    <testcase classname="shiftbench.${xml(o.key)}" name="${o.limit} ${o.limitValue}">${inner}</testcase>`;
    })
    .join('\n');
  return (
    `<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="shiftbench check" tests="${result.outcomes.length}" failures="${failures}" errors="0">
  <testsuite name="shiftbench check ${xml(result.runId)}" tests="${result.outcomes.length}" failures="${failures}" ` +
    `errors="0" skipped="0">
${cases}
  </testsuite>
</testsuites>
`
  );
}

/** JUnit XML for a run that could not be judged: one testcase with an <error> (CI shows the reason). */
export function checkErrorJunitXml(runDir: string, message: string): string {
  return (
    `<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="shiftbench check" tests="1" failures="0" errors="1">
  <testsuite name="shiftbench check ${xml(runDir)}" tests="1" failures="0" errors="1" skipped="0">
    <testcase classname="shiftbench" name="judge the run"><error message="${xml(message.split('\n')[0])}">` +
    `${xml(message)}</error></testcase>
  </testsuite>
</testsuites>
`
  );
}
