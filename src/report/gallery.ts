/**
 * The flicker gallery (issue 12 item 1): for the images with the most flicker (protocol §9,
 * `analysis.flicker.top`), a thumbnail of the image with the detections at the reference
 * shift beside the shift whose detections differ most from it, boxes coloured by match
 * state — kept (matched at both), vanished (at the reference only), appeared (at the shift
 * only) — with class and score on hover. Drawn from the run's per-shift COCO files and the
 * dataset images; no model runs. Thumbnails are inlined as JPEG data URIs.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import type { BoxXYWH, CocoAnnotation, CocoResult, DetectorRunSummary, Shift } from '../core/types.js';
import { COCO_CATEGORIES } from '../core/coco.js';
import { is } from '../core/is.js';
import { keyFileNameIn } from '../core/fileNames.js';
import { shiftFileStem, shiftOffsetsLabel } from '../shifts/shiftSet.js';
import { MATCH_IOU_THRESHOLD, iouXYWH, matchDetections, reachesIou } from '../metrics/consistency.js';
import { ignoresIcc } from '../datasets/decode.js';
import { escapeHtml as h } from './format.js';
import type { ReportRun } from './load.js';

/** Default images per detector, thumbnail size and byte budget of the whole gallery. */
export const GALLERY_DEFAULTS = { perDetector: 3, thumbPx: 240, maxBytes: 7 * 1024 * 1024 };

/** IoU at which a detection at the shift is the same object as one at the reference (protocol §2). */
export const GALLERY_MATCH_IOU = MATCH_IOU_THRESHOLD;

export type MatchState = 'kept' | 'vanished' | 'appeared';

/** A detection drawn in the gallery, in original-image pixels. */
export interface GalleryBox {
  bbox: BoxXYWH;
  categoryId: number;
  score: number;
  state: MatchState;
}

/** One image of the gallery for one detector. */
export interface GalleryItem {
  key: string;
  imageId: number;
  /** The image's file name (ground truth, else the dataset as loaded, else the file's base name); null: unknown. */
  fileName: string | null;
  flicker: number;
  shift: Shift;
  widthPx: number;
  heightPx: number;
  /** data:image/jpeg;base64,… */
  thumbnail: string;
  thumbWidthPx: number;
  thumbHeightPx: number;
  reference: GalleryBox[];
  shifted: GalleryBox[];
  /** Ground-truth objects of this image that blink: found at some shifts, missed at others. */
  blinking: BlinkingObject[];
}

/** A ground-truth object found (matched) at some shifts of the set and missed at others. */
export interface BlinkingObject {
  imageId: number;
  annotationId: number;
  categoryId: number;
  bbox: BoxXYWH;
  /** Shifts at which it was found, of `shifts`. */
  foundAt: number;
  shifts: number;
}

/** The gallery: its items, category names and notes (e.g. why some images are missing). */
export interface Gallery {
  items: GalleryItem[];
  /** Per detector key: how many ground-truth objects blink, of how many, and the ten that blink most evenly. */
  blinking: Record<string, { objects: number; blinking: number; top: BlinkingObject[] }>;
  /** Category names of the ground truth (ground_truth.json). */
  categories: Record<number, string>;
  /**
   * Per detector key: its class names as the run's manifest records them (the model's class list in
   * `identity.detectors[key].classes`: a list, or 'coco80'), for ids the ground truth does not name — a label-free run
   * has no ground truth. Absent for a detector whose description carries none (plugins, HTTP, custom loaders).
   */
  detectorClasses?: Record<string, Record<number, string>>;
  notes: string[];
}

/**
 * Matches detections at the reference with those at a shift as protocol §2 does (and so per-image flicker):
 * same category, IoU ≥ GALLERY_MATCH_IOU, one to one, greedy by descending IoU, equal IoUs in the order of the lists
 * as given (the stored order, as the metric takes them). Returns both lists, each by score (highest first; the sort
 * is stable), with their states.
 */
export function matchStates(
  reference: CocoResult[],
  shifted: CocoResult[],
): { reference: GalleryBox[]; shifted: GalleryBox[] } {
  // matched in the given order, sorted only to draw: sorting first would break ties of equal IoU by score and could
  // show a change the flicker metric did not count
  const keptRef = new Uint8Array(reference.length);
  const keptSh = new Uint8Array(shifted.length);
  for (const p of matchDetections(reference, shifted, GALLERY_MATCH_IOU)) {
    keptRef[p.a] = 1;
    keptSh[p.b] = 1;
  }
  const box = (d: CocoResult, kept: number, other: MatchState): GalleryBox => ({
    bbox: d.bbox,
    categoryId: d.category_id,
    score: d.score,
    state: kept ? 'kept' : other,
  });
  const byScore = (a: GalleryBox, b: GalleryBox) => b.score - a.score;
  return {
    reference: reference.map((d, j) => box(d, keptRef[j], 'vanished')).sort(byScore),
    shifted: shifted.map((d, j) => box(d, keptSh[j], 'appeared')).sort(byScore),
  };
}

/**
 * Which ground-truth objects of one image are found at each shift: per shift, detections
 * (already filtered to score ≥ τ) greedy by score take the unmatched object of their class
 * with the highest IoU ≥ GALLERY_MATCH_IOU (up to MATCH_IOU_TOLERANCE, as flipRate). Crowd regions are not
 * objects. Returns each object with the number of shifts at which it was found.
 */
export function foundPerObject(
  objects: CocoAnnotation[],
  perShift: CocoResult[][],
): { annotation: CocoAnnotation; foundAt: number }[] {
  const real = objects.filter((a) => !a.iscrowd);
  const found = new Array<number>(real.length).fill(0);
  for (const dets of perShift) {
    const taken = new Set<number>();
    for (const d of [...dets].sort((a, b) => b.score - a.score)) {
      let best = -1;
      let bestIou = -1;
      real.forEach((a, i) => {
        if (taken.has(i) || a.category_id !== d.category_id) return;
        // IoU ≥ 0.5 up to MATCH_IOU_TOLERANCE, as flipRate's found state: a box at IoU exactly 0.5, projected back
        // from each shift with its own rounding, must not be found at some shifts and missed at others
        const v = iouXYWH(a.bbox, d.bbox);
        if (reachesIou(v, GALLERY_MATCH_IOU) && v >= bestIou) {
          best = i;
          bestIou = v;
        }
      });
      if (best >= 0) taken.add(best);
    }
    for (const i of taken) found[i]++;
  }
  return real.map((annotation, i) => ({ annotation, foundAt: found[i] }));
}

/**
 * A JSON file of the run directory: its value, null when there is no such file, or why it could not be read (cut
 * short, not JSON, too large for one string) — a file that is there is never reported as missing.
 */
async function readJsonFile(
  file: string,
): Promise<{ value: ReturnType<typeof JSON.parse> } | { unreadable: string } | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    return { unreadable: (err as Error).message };
  }
  try {
    return { value: JSON.parse(text) }; // as JSON.parse gives it: each reader checks what it takes
  } catch (err) {
    return { unreadable: `invalid JSON: ${(err as Error).message}` };
  }
}

/** A per-shift COCO results file: its detections, null when there is none, or why it could not be read. */
async function readShiftFile(file: string): Promise<CocoResult[] | { unreadable: string } | null> {
  const read = await readJsonFile(file);
  if (read === null || 'unreadable' in read) return read;
  return Array.isArray(read.value) ? (read.value as CocoResult[]) : { unreadable: 'not a JSON array of detections' };
}

/**
 * The per-shift COCO results file of shift index `s` (the store's naming: shift_<dx>_<dy>, or shift_<index> for
 * fractional sets).
 */
const shiftFile = (run: ReportRun, key: string, shifts: Shift[], s: number) =>
  path.join(
    run.runDir,
    'detections',
    keyFileNameIn(path.join(run.runDir, 'detections'), key),
    `${shiftFileStem({ shifts }, s)}.json`,
  );

/**
 * Builds the gallery of a run: up to `perDetector` of each detector's most-flickering images,
 * each against the shift that changes most of its detections (score ≥ the run's τ). `imagePath`
 * gives an image's file (null: not available, the image is left out with a note). Stops adding
 * thumbnails when they would exceed `maxBytes`. Never throws for missing files: notes say why.
 */
export async function buildGallery(
  run: ReportRun,
  imagePath: (imageId: number) => string | null,
  options: Partial<typeof GALLERY_DEFAULTS> & {
    /** File names by image id, of the dataset as loaded (a label-free run has no ground_truth.json to name them). */
    fileNames?: ReadonlyMap<number, string>;
  } = {},
): Promise<Gallery> {
  const { perDetector, thumbPx, maxBytes } = { ...GALLERY_DEFAULTS, ...options };
  const notes: string[] = [];
  const items: GalleryItem[] = [];
  const blinking: Gallery['blinking'] = {};
  const categories: Record<number, string> = {};
  const detectorClasses: Record<string, Record<number, string>> = {};
  let bytes = 0;
  const shifts = run.metrics.shiftSet.shifts;
  const thumbs = new Map<number, { uri: string; w: number; h: number; W: number; H: number } | null>();
  for (const r of run.metrics.results) {
    const top = (r.analysis?.flicker?.top ?? []).filter((t) => t.flicker > 0).slice(0, perDetector);
    if (top.length === 0 || perDetector === 0) continue;
    const tau = r.consistency.scoreThreshold;
    let groundTruth = await readGroundTruth(run, r, categories);
    if (groundTruth !== null && 'unreadable' in groundTruth) {
      notes.push(
        `${r.key}: ${groundTruth.unreadable}, so its blinking objects are not counted and every class is drawn`,
      );
      groundTruth = null;
    }
    const annotations = groundTruth?.byImage ?? null;
    // scoring evaluates (and per-image flicker counts) only the categories of the ground truth, like COCOeval
    const counted = (d: CocoResult) => d.score >= tau && (!groundTruth || groundTruth.categoryIds.has(d.category_id));
    const classes = classNamesOf(run, r.key);
    if (classes) detectorClasses[r.key] = classes;
    // one shift's file at a time, keeping only what the gallery draws (the top images' detections scoring ≥ τ) and,
    // per ground-truth object, the number of shifts it is found at: a COCO-scale run's files hold millions of
    // detections (issue 14.1), and every shift's detections above τ at once took ~0.4 GB at 5,000 images × 16 shifts
    const topIds = new Set(top.map((t) => t.imageId));
    const topDets: CocoResult[][] = [];
    // per annotated image: its objects (crowd regions are not objects) and the shifts each is found at so far
    const found = new Map<number, { objects: CocoAnnotation[]; foundAt: number[] }>();
    if (annotations)
      for (const [imageId, anns] of annotations) {
        const objects = anns.filter((a) => !a.iscrowd);
        found.set(imageId, { objects, foundAt: objects.map(() => 0) });
      }
    let problem: string | null = null;
    for (let s = 0; s < shifts.length && problem === null; s++) {
      const file = shiftFile(run, r.key, shifts, s);
      const list = await readShiftFile(file);
      if (list === null) {
        problem = 'its per-shift detection files are missing from detections/, so it has no gallery';
        break;
      }
      if (!Array.isArray(list)) {
        problem = `${path.relative(run.runDir, file)} could not be read (${list.unreadable}), so it has no gallery`;
        break;
      }
      const byImage = new Map<number, CocoResult[]>();
      const atTop: CocoResult[] = [];
      for (const d of list) {
        if (!counted(d)) continue;
        if (topIds.has(d.image_id)) atTop.push(d);
        if (!annotations) continue;
        const l = byImage.get(d.image_id);
        if (l) l.push(d);
        else byImage.set(d.image_id, [d]);
      }
      topDets.push(atTop);
      // the objects found at this shift (foundPerObject is per shift: found at k shifts = found at each of k); an
      // image without detections here finds none
      for (const [imageId, dets] of byImage) {
        const f = found.get(imageId);
        if (f) foundPerObject(f.objects, [dets]).forEach((x, i) => (f.foundAt[i] += x.foundAt));
      }
    }
    if (problem !== null) {
      notes.push(`${r.key}: ${problem}`);
      continue;
    }
    const blinkingOf = new Map<number, BlinkingObject[]>();
    if (annotations) {
      let objects = 0;
      const all: BlinkingObject[] = [];
      for (const [imageId, f] of found) {
        objects += f.objects.length;
        const b = f.objects
          .map((annotation, i) => ({ annotation, foundAt: f.foundAt[i] }))
          .filter((x) => x.foundAt > 0 && x.foundAt < shifts.length)
          .map((x): BlinkingObject => ({
            imageId,
            annotationId: x.annotation.id,
            categoryId: x.annotation.category_id,
            bbox: x.annotation.bbox,
            foundAt: x.foundAt,
            shifts: shifts.length,
          }));
        if (b.length) blinkingOf.set(imageId, b);
        all.push(...b);
      }
      const evenness = (o: BlinkingObject) => Math.abs(o.foundAt / o.shifts - 0.5);
      all.sort((x, y) => evenness(x) - evenness(y) || x.imageId - y.imageId || x.annotationId - y.annotationId);
      blinking[r.key] = { objects, blinking: all.length, top: all.slice(0, 10) };
    }
    for (const t of top) {
      const at = topDets.map((list) => list.filter((d) => d.image_id === t.imageId));
      let bestS = -1;
      let bestChanged = -1;
      let best: ReturnType<typeof matchStates> | null = null;
      for (let s = 1; s < shifts.length; s++) {
        const m = matchStates(at[0], at[s]);
        const changed =
          m.reference.filter((b) => b.state !== 'kept').length + m.shifted.filter((b) => b.state !== 'kept').length;
        if (changed > bestChanged) {
          bestChanged = changed;
          bestS = s;
          best = m;
        }
      }
      if (!best) continue;
      if (!thumbs.has(t.imageId)) thumbs.set(t.imageId, await thumbnail(imagePath(t.imageId), thumbPx));
      const th = thumbs.get(t.imageId);
      if (!th) {
        notes.push(`image ${t.imageId}: its file could not be read, so it is left out`);
        continue;
      }
      if (bytes + 2 * th.uri.length > maxBytes) {
        notes.push(
          `the gallery stops at ${items.length} images to keep the report under its size budget (` +
            `${(maxBytes / 1024 / 1024).toFixed(0)} MB; --gallery N shows fewer per detector)`,
        );
        return { items, blinking, categories, detectorClasses, notes: [...new Set(notes)] };
      }
      bytes += 2 * th.uri.length;
      items.push({
        key: r.key,
        imageId: t.imageId,
        fileName: fileNameOf(run, t.imageId) ?? options.fileNames?.get(t.imageId) ?? baseName(imagePath(t.imageId)),
        flicker: t.flicker,
        shift: shifts[bestS],
        widthPx: th.W,
        heightPx: th.H,
        thumbnail: th.uri,
        thumbWidthPx: th.w,
        thumbHeightPx: th.h,
        ...best,
        blinking: blinkingOf.get(t.imageId) ?? [],
      });
    }
  }
  return { items, blinking, categories, detectorClasses, notes: [...new Set(notes)] };
}

const baseName = (file: string | null) => (file ? path.basename(file) : null);

/**
 * A detector's class names from the manifest: `identity.detectors[key].classes` is the registry entry's class list
 * (describeEntry), 'coco80' or [{ id, name }]; else the detector's own info.classes as its manifest entry records
 * them (plug-ins, HTTP detectors); null when the run records neither (older manifests).
 */
function classNamesOf(run: ReportRun, key: string): Record<number, string> | null {
  const identity = run.manifest.identity;
  const described = is.object(identity) && is.object(identity.detectors) ? identity.detectors[key] : undefined;
  const entry = Array.isArray(run.manifest.detectors)
    ? (run.manifest.detectors as unknown[]).find((d) => is.object(d) && d.key === key)
    : undefined;
  const classes =
    (is.object(described) ? described.classes : undefined) ?? (is.object(entry) ? entry.classes : undefined);
  const list: unknown[] | null = classes === 'coco80' ? [...COCO_CATEGORIES] : Array.isArray(classes) ? classes : null;
  if (!list) return null;
  const names: Record<number, string> = {};
  for (const c of list)
    if (is.object(c) && is.number(c.id) && typeof c.name === 'string' && c.name) names[c.id] = c.name;
  return Object.keys(names).length ? names : null;
}

const fileNames = new WeakMap<ReportRun, Map<number, string>>();

function fileNameOf(run: ReportRun, imageId: number): string | null {
  return fileNames.get(run)?.get(imageId) ?? null;
}

/**
 * Reads the detector's ground_truth.json: category names into `into`, file names, the annotations by image and the
 * category ids (null when absent: label-free); `unreadable` (the file and why) when it is there but is not JSON or
 * cannot be read, or is absent although the run scored against labels.
 */
async function readGroundTruth(
  run: ReportRun,
  r: DetectorRunSummary,
  into: Record<number, string>,
): Promise<{ byImage: Map<number, CocoAnnotation[]>; categoryIds: Set<number> } | { unreadable: string } | null> {
  const file = path.join(
    run.runDir,
    'detections',
    keyFileNameIn(path.join(run.runDir, 'detections'), r.key),
    'ground_truth.json',
  );
  const read = await readJsonFile(file);
  const unreadable = (why: string) => ({ unreadable: `${path.relative(run.runDir, file)} could not be read (${why})` });
  // label-free runs have no ground_truth.json: classes are shown by id
  if (read === null)
    return r.bounds === null ? null : unreadable('it is missing, though the run scored against labels');
  if ('unreadable' in read) return unreadable(read.unreadable);
  const gt = read.value; // checked field by field below
  const categoryIds = new Set<number>();
  for (const c of Array.isArray(gt?.categories) ? gt.categories : []) {
    if (is.number(c?.id)) categoryIds.add(c.id);
    if (is.number(c?.id) && typeof c?.name === 'string') into[c.id] = c.name;
  }
  let names = fileNames.get(run);
  if (!names) fileNames.set(run, (names = new Map()));
  for (const im of Array.isArray(gt?.images) ? gt.images : [])
    if (is.number(im?.id) && typeof im?.file_name === 'string') names.set(im.id, im.file_name);
  const byImage = new Map<number, CocoAnnotation[]>();
  for (const im of Array.isArray(gt?.images) ? gt.images : []) if (is.number(im?.id)) byImage.set(im.id, []);
  for (const a of Array.isArray(gt?.annotations) ? (gt.annotations as CocoAnnotation[]) : [])
    byImage.get(a.image_id)?.push(a);
  return { byImage, categoryIds };
}

async function thumbnail(
  file: string | null,
  sizePx: number,
): Promise<{ uri: string; w: number; h: number; W: number; H: number } | null> {
  if (!file) return null;
  try {
    // the stored pixels, EXIF orientation and an RGB colour profile NOT applied: scoring decodes them so
    // (src/datasets/decode.ts), the boxes are in that frame and the detector saw those values; the JPEG written carries
    // no metadata, so no viewer turns or converts it either
    const meta = await sharp(file).metadata();
    const img = sharp(file, { failOn: 'error', ignoreIcc: ignoresIcc(meta) });
    const { data, info } = await img
      .resize({ width: sizePx, height: sizePx, fit: 'inside', withoutEnlargement: false })
      .jpeg({ quality: 72 })
      .toBuffer({ resolveWithObject: true });
    const W = meta.width ?? info.width;
    const H = meta.height ?? info.height;
    return { uri: `data:image/jpeg;base64,${data.toString('base64')}`, w: info.width, h: info.height, W, H };
  } catch {
    return null;
  }
}

const BLINK_COLOUR = '#e08a00';
const COLOURS: Record<MatchState, string> = { kept: '#2e9d4a', vanished: '#d23c3c', appeared: '#2f6fd6' };

/** A class's name: the ground truth's, else the detector's (manifest), else "class <id>". */
function className(g: Pick<Gallery, 'categories' | 'detectorClasses'>, key: string, id: number): string {
  return g.categories[id] ?? g.detectorClasses?.[key]?.[id] ?? `class ${id}`;
}

function panel(
  item: GalleryItem,
  boxes: GalleryBox[],
  title: string,
  g: Pick<Gallery, 'categories' | 'detectorClasses'>,
): string {
  const sx = item.thumbWidthPx / item.widthPx;
  const sy = item.thumbHeightPx / item.heightPx;
  const objects = item.blinking
    .map((o) => {
      const name = className(g, item.key, o.categoryId);
      return (
        `<rect class="g-blink" x="${(o.bbox[0] * sx).toFixed(1)}" y="${(o.bbox[1] * sy).toFixed(1)}" width="` +
        `${(o.bbox[2] * sx).toFixed(1)}" height="${(o.bbox[3] * sy).toFixed(1)}" fill="none" stroke="${BLINK_COLOUR}` +
        `" stroke-width="1.5" stroke-dasharray="4 3"><title>ground truth ${h(name)} (annotation ${o.annotationId}` +
        `) · found at ${o.foundAt} of ${o.shifts} shifts</title></rect>`
      );
    })
    .join('');
  const rects =
    objects +
    boxes
      .map((b) => {
        const name = className(g, item.key, b.categoryId);
        return (
          `<rect class="g-${b.state}" data-state="${b.state}" x="${(b.bbox[0] * sx).toFixed(1)}" y="` +
          `${(b.bbox[1] * sy).toFixed(1)}" width="${(b.bbox[2] * sx).toFixed(1)}" height="` +
          `${(b.bbox[3] * sy).toFixed(1)}" fill="none" stroke="${COLOURS[b.state]}" stroke-width="2"><title>` +
          `${h(name)} · score ${h(b.score.toFixed(2))} · ${b.state}</title></rect>`
        );
      })
      .join('');
  return (
    `<figure class="g-panel"><svg xmlns="http://www.w3.org/2000/svg" width="${item.thumbWidthPx}" height="` +
    `${item.thumbHeightPx}" viewBox="0 0 ${item.thumbWidthPx} ${item.thumbHeightPx}" role="img" aria-label="` +
    `${h(title)}"><image href="${item.thumbnail}" width="${item.thumbWidthPx}" height="${item.thumbHeightPx}"/>` +
    `${rects}</svg><figcaption>${h(title)}</figcaption></figure>`
  );
}

/** The gallery section of the report (HTML, every value escaped); '' when there is nothing to show and no note. */
export function gallerySection(g: Gallery): string {
  if (g.items.length === 0 && g.notes.length === 0 && Object.keys(g.blinking).length === 0) return '';
  const byKey = new Map<string, GalleryItem[]>();
  for (const it of g.items) byKey.set(it.key, [...(byKey.get(it.key) ?? []), it]);
  const groups = [...byKey]
    .map(
      ([key, items]) =>
        `<h3><code>${h(key)}</code></h3><div class="g-row">${items
          .map((it) => {
            const count = (bs: GalleryBox[], s: MatchState) => bs.filter((b) => b.state === s).length;
            const caption =
              `image ${it.imageId}${it.fileName === null ? '' : ` (${it.fileName})`} · flicker ${(it.flicker * 100).toFixed(1)}% · at ` +
              `shift ${shiftOffsetsLabel(it.shift)}: ${count(it.reference, 'kept')} kept, ` +
              `${count(it.reference, 'vanished')} vanished, ${count(it.shifted, 'appeared')} appeared`;
            return (
              `<div class="g-item" data-key="${h(it.key)}" data-image="${it.imageId}"><div class="g-pair">` +
              `${panel(it, it.reference, 'shift (0,0)', g)}${panel(
                it,
                it.shifted,
                `shift ${shiftOffsetsLabel(it.shift)}`,
                g,
              )}</div><p class="g-cap">${h(caption)}</p></div>`
            );
          })
          .join('')}</div>`,
    )
    .join('\n');
  const notes = g.notes.map((n) => `<li>${h(n)}</li>`).join('');
  const blinkRows = Object.entries(g.blinking)
    .map(
      ([key, b]) =>
        `<tr><th scope="row"><code>${h(key)}</code></th><td>${h(b.blinking)} of ${h(b.objects)}</td><td>${
          b.top.length
            ? b.top
                .map(
                  (o) =>
                    `image ${h(o.imageId)} · annotation ${h(o.annotationId)} · ` +
                    `${h(className(g, key, o.categoryId))} · found at ${h(o.foundAt)}/` +
                    `${h(o.shifts)}`,
                )
                .join('<br>')
            : '—'
        }</td></tr>`,
    )
    .join('');
  const blinkTable = blinkRows
    ? `<div class="table-wrap"><table class="details blinking"><caption>Ground-truth objects that blink: ` +
      `found (matched one to one by class, IoU ≥ ${GALLERY_MATCH_IOU}, score ≥ τ) at some shifts and missed at ` +
      `others; the ten found most nearly half of the time.</caption><thead><tr><th scope="col">Detector</th><th ` +
      `scope="col">Blinking objects</th><th scope="col">Which</th></tr></thead><tbody>${blinkRows}` +
      `</tbody></table></div>`
    : '';
  return (
    `<section id="gallery"><h2>Flicker gallery</h2>
<p>The images with the most flicker per detector: the detections at shift (0,0) beside the shift that changes most ` +
    `of them (score ≥ τ; same class, IoU ≥ ${GALLERY_MATCH_IOU} counts as the same object). ` +
    `<span style="color:${COLOURS.kept}">■ kept</span> <span style="color:${COLOURS.vanished}">■ vanished</span> ` +
    `(at (0,0) only) <span style="color:${COLOURS.appeared}">■ appeared</span> (at the shift only) <span ` +
    `style="color:${BLINK_COLOUR}">┅ ground-truth object that blinks</span> (found at some shifts, ` +
    `missed at others). Hover a box for its class and score.</p>
<style>.g-row{display:flex;flex-wrap:wrap;gap:12px}.g-item{border:1px solid ` +
    `var(--line);padding:6px;max-width:100%}.g-pair{display:flex;gap:6px;flex-wrap:wrap}.g-panel{margin:0}.g-panel ` +
    `svg{display:block;max-width:100%;height:auto}.g-panel ` +
    `figcaption{font-size:11px;color:var(--muted)}.g-cap{font-size:12px;margin:4px 0 0;max-width:500px}</style>
${groups}
${blinkTable}
${notes ? `<ul class="notes">${notes}</ul>` : ''}
</section>`
  );
}
