/**
 * antialias:post[:3|5] — Zhang (2019) anti-aliasing inserted after training by
 * rewriting the model graph (ONNX: onnx/rewrite.ts, TF.js: tfjs/rewrite.ts); the
 * detector is loaded with `loadOptions.graphRewrite` and only relabelled by `wrap`.
 *
 * antialias:trained — load the model zoo's anti-aliased twin instead: a zoo entry whose
 * `meta.twin` names its twin (the twin itself carries `meta.antialias`).
 */
import { ShiftbenchError, invalidParameterError } from '../core/errors.js';
import type { Detector, ModelEntry } from '../core/types.js';
import type { AntialiasRewriteStats } from './antialiasPlan.js';
import { DEFAULT_BLUR_SIZE, type BlurSize } from './blurKernel.js';
import { rewriteOnnxAntialias } from './onnx/rewrite.js';
import { rewriteTfjsAntialias } from './tfjs/rewrite.js';
import type { Mitigation, MitigationDefinition } from './types.js';
import { relabelDetector } from './wrap.js';

/**
 * The antialias:post mitigation with blur size 3 (default) or 5. The graph rewrite's
 * statistics (strided ops found, rewritten, skipped with reasons) are added to the
 * wrapped detector's `info.details.antialias`. Throws ERR_INVALID_OPTION for other sizes,
 * and from `wrap` when the loaded graph was not rewritten or had nothing rewritten.
 */
export function antialiasPost(filterSize: number = DEFAULT_BLUR_SIZE): Mitigation {
  if (filterSize !== 3 && filterSize !== 5)
    throw invalidParameterError(
      'mitigation antialias:post',
      'a blur size of 3 or 5 (antialias:post:3, antialias:post:5)',
      filterSize,
    );
  const size = filterSize as BlurSize;
  const spec = `antialias:post:${size}`;
  let lastStats: AntialiasRewriteStats | undefined;
  return {
    name: 'antialias',
    spec,
    loadOptions: {
      graphRewrite: {
        onnx: (model) => {
          const r = rewriteOnnxAntialias(model, { filterSize: size });
          lastStats = r.stats;
          return r.model;
        },
        tfjsGraph: (modelJson, weights) => {
          const r = rewriteTfjsAntialias(modelJson, weights, { filterSize: size });
          lastStats = r.stats;
          return { modelJson: r.modelJson, weights: r.weights };
        },
      },
    },
    wrap(detector: Detector, ctx): Detector {
      // the statistics of the rewrite run by the load that preceded this wrap (consumed, so a
      // later detector loaded without a rewrite is not credited with them)
      const stats = lastStats;
      lastStats = undefined;
      // a detector the rewrite did not reach is not anti-aliased: refused, never reported as the mitigation
      if (!stats) throw cannotRewrite(spec, detector.info.name);
      // a graph in which nothing was rewritten computes the plain detector: refused, never reported as anti-aliased
      if (stats.rewritten.length === 0) throw nothingRewritten(spec, detector.info.name, stats);
      if (stats.skipped.length > 0) {
        ctx.logger?.warn(
          `${spec}: ${stats.skipped.length} of ${stats.stridedOps} strided ops left unchanged in "` +
            `${detector.info.name}": ${stats.skipped.map((s) => `${s.node} (${s.reason})`).join('; ')}`,
        );
      }
      return relabelDetector(detector, spec, {
        antialias: {
          mode: 'post',
          filterSize: size,
          stridedOps: stats.stridedOps,
          rewritten: stats.rewritten.length,
          skipped: stats.skipped,
        },
      });
    },
  };
}

/**
 * antialias:post for a detector whose graph it cannot rewrite (a plug-in, a fake, anything but an ONNX or TF.js graph
 * model): ERR_INVALID_OPTION naming it and the ways out.
 */
export function cannotRewrite(spec: string, name: string): ShiftbenchError {
  return new ShiftbenchError(
    'ERR_INVALID_OPTION',
    `The mitigation ${spec} rewrites the graph of an ONNX or TF.js graph model, and it cannot rewrite "${name}" ` +
      '(a plug-in or built-in fake runs code shiftbench does not see), so nothing would be anti-aliased. Anti-alias ' +
      'it inside the plug-in and run that as its own --model (compare the two runs), or give an ONNX or TF.js model.',
  );
}

/** antialias:post on a graph with no stride-2 op it could rewrite: ERR_INVALID_OPTION with the count and the skips. */
function nothingRewritten(spec: string, name: string, stats: AntialiasRewriteStats): ShiftbenchError {
  const found = `${stats.stridedOps} strided op${stats.stridedOps === 1 ? '' : 's'}`;
  const skipped =
    stats.skipped.length > 0 ? `, skipped: ${stats.skipped.map((s) => `${s.node} (${s.reason})`).join('; ')}` : '';
  return new ShiftbenchError(
    'ERR_INVALID_OPTION',
    `The mitigation ${spec} found no stride-2 convolution or pooling it could rewrite in "${name}" (${found}` +
      `${skipped}), so nothing would be anti-aliased. Run it on a model that subsamples with stride-2 ` +
      'Conv/MaxPool/AveragePool (ONNX) or Conv2D/DepthwiseConv2dNative/MaxPool/AvgPool (TF.js) layers, or use ' +
      'antialias:trained.',
  );
}

/** Name of the anti-aliased twin of a zoo entry (itself if it is already anti-aliased), or undefined. */
export function twinOf(entry: ModelEntry): string | undefined {
  const meta = entry.meta ?? {};
  if (meta.antialias !== undefined && meta.antialias !== null && meta.antialias !== false) return entry.name;
  return typeof meta.twin === 'string' && meta.twin !== '' ? meta.twin : undefined;
}

/** The antialias:trained mitigation: `replacementModel` maps a zoo model to its anti-aliased twin. */
export function antialiasTrained(): Mitigation {
  const spec = 'antialias:trained';
  return {
    name: 'antialias',
    spec,
    replacementModel(entry: ModelEntry, candidates?: readonly ModelEntry[]): string {
      const twin = twinOf(entry);
      if (twin === entry.name) {
        // already anti-aliased: it would be paired with itself (Δ 0, "no significant difference")
        const back = entry.meta?.twin; // a twin names its plain model, as the plain model names it
        const plain =
          typeof back === 'string' && back !== ''
            ? back
            : (candidates ?? []).find((e) => e.meta?.twin === entry.name && twinOf(e) !== e.name)?.name;
        throw new ShiftbenchError(
          'ERR_INVALID_OPTION',
          `Model "${entry.name}" is already anti-aliased, so antialias:trained has nothing to replace it with (it ` +
            `would be compared with itself). ` +
            (plain
              ? `Run its plain model with it: --model ${plain} --mitigation antialias:trained.`
              : 'Run its plain model with it, or compare the two runs with `shiftbench compare`.'),
        );
      }
      if (twin !== undefined) return twin;
      const withTwins = (candidates ?? [])
        .filter((e) => typeof e.meta?.twin === 'string' && twinOf(e) !== e.name)
        .map((e) => e.name);
      throw new ShiftbenchError(
        'ERR_INVALID_OPTION',
        `Model "${entry.name}" has no anti-aliased twin, so antialias:trained cannot be applied to it. ` +
          (withTwins.length > 0
            ? `Models with twins: ${withTwins.join(', ')}.`
            : 'No model in the registry has one (zoo entries name theirs in meta.twin).') +
          ' Use antialias:post to insert the blur into this model instead.',
      );
    },
    wrap: (detector) => relabelDetector(detector, spec, { antialias: { mode: 'trained' } }),
  };
}

export const ANTIALIAS: MitigationDefinition = {
  name: 'antialias',
  syntax: 'antialias:post[:3|5] | antialias:trained',
  summary:
    "Zhang 2019 blur before every subsampling: inserted into the model graph (post, blur size 3 or 5) or the zoo's " +
    'trained twin',
  create: (arg) => {
    const m = /^(post|trained)(?::(.*))?$/.exec(arg);
    if (!m)
      throw invalidParameterError(
        'mitigation antialias',
        'antialias:post, antialias:post:3, antialias:post:5 or antialias:trained',
        `antialias${arg === '' ? '' : `:${arg}`}`,
      );
    if (m[1] === 'trained') {
      if (m[2] !== undefined)
        throw invalidParameterError(
          'mitigation antialias:trained',
          'no argument (antialias:trained)',
          `antialias:${arg}`,
        );
      return antialiasTrained();
    }
    if (m[2] === undefined) return antialiasPost();
    const n = Number(m[2]);
    if (m[2] !== '3' && m[2] !== '5')
      throw invalidParameterError(
        'mitigation antialias:post',
        'a blur size of 3 or 5 (antialias:post:3, antialias:post:5)',
        m[2],
      );
    return antialiasPost(n);
  },
};
