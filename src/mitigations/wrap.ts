/** Helpers shared by the wrapping mitigations. */
import type { BoxXYWH, DetectContext, Detection, Detector, DetectorInfo, RgbImage } from '../core/types.js';
import { markReleasesInputs } from '../core/releasesInputs.js';

/** The info of a wrapped detector: same model facts, name "<inner>+<spec>", the chain in details. */
export function wrappedInfo(inner: DetectorInfo, spec: string, extra: Record<string, unknown> = {}): DetectorInfo {
  const chain = Array.isArray(inner.details?.mitigations) ? (inner.details!.mitigations as string[]) : [];
  return {
    ...inner,
    name: `${inner.name}+${spec}`,
    details: { ...inner.details, mitigations: [...chain, spec], ...extra },
  };
}

/** A detector that only relabels its inner detector (graph-rewrite and replacement mitigations). */
export function relabelDetector(inner: Detector, spec: string, extra: Record<string, unknown> = {}): Detector {
  const info = wrappedInfo(inner.info, spec, extra);
  return markReleasesInputs(
    {
      info,
      detect: (batch, contexts) => inner.detect(batch, contexts),
      dispose: () => inner.dispose(),
    },
    inner.releasesInputs === true,
  );
}

/**
 * The context of an input moved by (dx, dy): the shift and the transform's offset move
 * with it, so fakes that read the context see the input they are given.
 */
export function movedContext(ctx: DetectContext | undefined, dx: number, dy: number): DetectContext | undefined {
  if (ctx === undefined) return undefined;
  return {
    imageId: ctx.imageId,
    shift: { dx: ctx.shift.dx + dx, dy: ctx.shift.dy + dy },
    transform: { ...ctx.transform, offsetX: ctx.transform.offsetX + dx, offsetY: ctx.transform.offsetY + dy },
  };
}

/**
 * Moves a box found on an input that was moved by (dx, dy) back to the coordinates of
 * the unmoved input: subtracts (dx, dy). With `wrapSizePx` (circular mode) a box whose
 * centre falls outside the canvas is wrapped back onto it, where its content is.
 */
export function unmoveBox(
  box: BoxXYWH,
  dx: number,
  dy: number,
  wrapSizePx?: { width: number; height: number },
): BoxXYWH {
  let x = box[0] - dx;
  let y = box[1] - dy;
  if (wrapSizePx) {
    const cx = x + box[2] / 2;
    const cy = y + box[3] / 2;
    x -= Math.floor(cx / wrapSizePx.width) * wrapSizePx.width;
    y -= Math.floor(cy / wrapSizePx.height) * wrapSizePx.height;
  }
  return [x, y, box[2], box[3]];
}

/** Runs `detector` on `inputs` in chunks of at most `info.maxBatch`. */
export async function detectInChunks(
  detector: Detector,
  inputs: RgbImage[],
  contexts: (DetectContext | undefined)[],
): Promise<Detection[][]> {
  const maxBatch = Math.max(1, detector.info.maxBatch);
  const out: Detection[][] = [];
  const haveContexts = contexts.some((c) => c !== undefined);
  for (let i = 0; i < inputs.length; i += maxBatch) {
    const part = inputs.slice(i, i + maxBatch);
    const ctxPart = haveContexts ? (contexts.slice(i, i + maxBatch) as DetectContext[]) : undefined;
    out.push(...(await detector.detect(part, ctxPart)));
  }
  return out;
}
