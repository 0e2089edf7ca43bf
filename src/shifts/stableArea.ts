/**
 * What is scored in `crop` and `circular` modes (protocol §1): the same content at
 * every shift.
 *
 * Content coordinates are pixels of the once-fitted picture: the (Wm + K) × (Hm + K)
 * canvas in `crop`, the Wm × Hm image before the roll in `circular`. The fitted image
 * sits at the top-left of that canvas, so a box of the ORIGINAL image is at
 * `box · scale` in content coordinates, whatever the shift (a detection projected back
 * from a shifted input is already free of the window offset). In `circular` a
 * detection of content that wrapped around has its centre below 0 after that mapping
 * and is unwrapped by adding Wm (or Hm) once: "unwrapping by the centre". A centre that
 * lies at or past the right (bottom) border, which only a detector predicting outside
 * its input makes, or still below 0 after one period, is not unwrapped: it is outside
 * the stable area and dropped, as the protocol's rule says. A kept detection is scored
 * at its unwrapped place.
 *
 * The stable area is the content shown whole at every shift of the set:
 * - crop:     x ∈ [K − min dx, K − max dx + Wm), y likewise;
 * - circular: x ∈ [0, Wm − max dx), y likewise.
 * Ground truth not inside it becomes a crowd region (`iscrowd: 1`) at every shift;
 * a detection whose centre is not inside it is dropped at every shift. `pad` mode shows
 * all of the image at every shift: no stable area, nothing changes.
 *
 * Tolerance: a box edge (or a centre) within `STABLE_AREA_EPS_PX` of the border counts
 * as inside, so the float noise of projecting back and forth cannot make one shift
 * decide differently from another.
 */
import type { BoxXYWH, CocoAnnotation, CocoResult, InputTransform, ShiftMode, ShiftSet } from '../core/types.js';

/** Tolerance of the inside tests, in content pixels (protocol §1: 1e-9). */
export const STABLE_AREA_EPS_PX = 1e-9;

/** The stable area of a mode, shift set and model input, in content pixels: [x0, x1) × [y0, y1). */
export interface StableArea {
  mode: 'crop' | 'circular';
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  /** Circular mode: the roll period Wm × Hm used to unwrap detections by their centre; null in crop. */
  wrapPx: { width: number; height: number } | null;
}

/**
 * The stable area of protocol §1 for `mode`, `shiftSet` and a model input of
 * `inputSizePx`, or null in `pad` mode (every shift shows all of the image, all of it is
 * scored). The area is never empty for valid shift sets (offsets smaller than the input).
 */
export function stableArea(
  mode: ShiftMode,
  shiftSet: ShiftSet,
  inputSizePx: { width: number; height: number },
): StableArea | null {
  if (mode === 'pad') return null;
  const dxs = shiftSet.shifts.map((s) => s.dx);
  const dys = shiftSet.shifts.map((s) => s.dy);
  const { width: wm, height: hm } = inputSizePx;
  if (mode === 'crop') {
    const k = shiftSet.maxOffsetPx;
    return {
      mode,
      x0: k - Math.min(...dxs),
      y0: k - Math.min(...dys),
      x1: k - Math.max(...dxs) + wm,
      y1: k - Math.max(...dys) + hm,
      wrapPx: null,
    };
  }
  const x1 = wm - Math.max(...dxs);
  const y1 = hm - Math.max(...dys);
  return { mode, x0: 0, y0: 0, x1, y1, wrapPx: { width: wm, height: hm } };
}

/**
 * A box of the original image in content coordinates: `box · scale`, and in circular
 * mode unwrapped by its centre: moved by one period Wm (Hm) where its centre is below 0
 * (protocol §1); a centre at or past Wm (Hm) stays there, outside the stable area.
 */
export function toContentBox(box: BoxXYWH, t: Pick<InputTransform, 'scaleX' | 'scaleY'>, area: StableArea): BoxXYWH {
  const w = box[2] * t.scaleX;
  const h = box[3] * t.scaleY;
  const [periodsX, periodsY] = unwrapPeriods(box, t, area);
  const x = box[0] * t.scaleX + (area.wrapPx ? periodsX * area.wrapPx.width : 0);
  const y = box[1] * t.scaleY + (area.wrapPx ? periodsY * area.wrapPx.height : 0);
  return [x, y, w, h];
}

/**
 * Periods to add per axis (protocol §1, "unwrapping by the centre"): one where the box centre (content px) falls
 * below 0, else none — a centre at or past Wm (Hm) is never wrapped back, so the stable-area test drops it;
 * 0, 0 outside circular mode. "Below 0" is below −STABLE_AREA_EPS_PX: a centre within the tolerance of 0 is on the
 * stable area's border (inside, as centreInside says), and projecting back can put it 1e−16 on either side of 0 at
 * different shifts, which must not unwrap it (to Wm, outside) at some shifts and keep it at others.
 */
function unwrapPeriods(box: BoxXYWH, t: Pick<InputTransform, 'scaleX' | 'scaleY'>, area: StableArea): [number, number] {
  if (!area.wrapPx) return [0, 0];
  const cx = (box[0] + box[2] / 2) * t.scaleX;
  const cy = (box[1] + box[3] / 2) * t.scaleY;
  return [cx < -STABLE_AREA_EPS_PX ? 1 : 0, cy < -STABLE_AREA_EPS_PX ? 1 : 0];
}

/** True when every edge of a content-coordinate box lies within the stable area (up to the tolerance). */
export function boxInside(box: BoxXYWH, area: StableArea): boolean {
  const e = STABLE_AREA_EPS_PX;
  const inX = box[0] >= area.x0 - e && box[0] + box[2] <= area.x1 + e;
  return inX && box[1] >= area.y0 - e && box[1] + box[3] <= area.y1 + e;
}

/**
 * True when the centre of a content-coordinate box lies within the stable area. As for
 * box edges ("a box edge exactly on the border is inside"), the area is the pixels
 * x0 … x1 − 1 taken as the continuous region [x0, x1], so a centre on either border is
 * inside, up to the tolerance.
 */
export function centreInside(box: BoxXYWH, area: StableArea): boolean {
  const e = STABLE_AREA_EPS_PX;
  const cx = box[0] + box[2] / 2;
  const cy = box[1] + box[3] / 2;
  return cx >= area.x0 - e && cx <= area.x1 + e && cy >= area.y0 - e && cy <= area.y1 + e;
}

/**
 * The ground truth of one image as scored at every shift: annotations not inside the
 * stable area become crowd regions (`iscrowd: 1`, box and area unchanged). `t` is any
 * of the image's transforms (only its scale is used). Returns the same array when
 * `area` is null (pad) or nothing changes; never mutates the input. `turnedToCrowd`
 * counts the annotations that were not crowd regions before.
 */
export function groundTruthInStableArea(
  annotations: readonly CocoAnnotation[],
  t: Pick<InputTransform, 'scaleX' | 'scaleY'>,
  area: StableArea | null,
): { annotations: CocoAnnotation[]; turnedToCrowd: number } {
  if (area === null) return { annotations: annotations as CocoAnnotation[], turnedToCrowd: 0 };
  let turnedToCrowd = 0;
  const out = annotations.map((a) => {
    if (a.iscrowd || boxInside(toContentBox(a.bbox, t, area), area)) return a;
    turnedToCrowd++;
    return { ...a, iscrowd: 1 as const };
  });
  return { annotations: turnedToCrowd === 0 ? (annotations as CocoAnnotation[]) : out, turnedToCrowd };
}

/**
 * The detections of one image at one shift that are scored: those whose centre, in
 * content coordinates (unwrapped by the centre in circular mode), lies inside the stable
 * area. Detections are in original-image coordinates (projected back); a kept detection
 * that was unwrapped is returned moved to its unwrapped place (a copy; the input is
 * never mutated). Returns the same array when `area` is null (pad) or nothing changes.
 */
export function detectionsInStableArea<T extends Pick<CocoResult, 'bbox'>>(
  dets: readonly T[],
  t: Pick<InputTransform, 'scaleX' | 'scaleY'>,
  area: StableArea | null,
): { kept: T[]; dropped: number } {
  if (area === null) return { kept: dets as T[], dropped: 0 };
  const kept: T[] = [];
  let changed = false;
  for (const d of dets) {
    if (!centreInside(toContentBox(d.bbox, t, area), area)) {
      changed = true;
      continue;
    }
    const [px, py] = unwrapPeriods(d.bbox, t, area);
    if (px === 0 && py === 0) kept.push(d);
    else {
      changed = true;
      const b = d.bbox;
      const wrap = area.wrapPx!;
      const x = b[0] + (px * wrap.width) / t.scaleX;
      const y = b[1] + (py * wrap.height) / t.scaleY;
      kept.push({ ...d, bbox: [x, y, b[2], b[3]] });
    }
  }
  return { kept: changed ? kept : (dets as T[]), dropped: dets.length - kept.length };
}
