/**
 * YOLO folder → COCO ground truth. Layout: `<dir>/images/**` and `<dir>/labels/**`
 * mirroring it, one `<stem>.txt` per image with lines `class cx cy w h` normalised to
 * 0–1 (a polygon line `class x1 y1 x2 y2 …` becomes its bounding box; a line repeating an
 * earlier box of its file is dropped with a warning). An image
 * without a label file has no objects. Class names come from `--classes FILE`, or
 * `classes.txt`, `*.names` or a `*.yaml` with a `names:` list inside the folder.
 */
import { lstat, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { sameCategoryName } from '../core/categoryNames.js';
import { COCO_CATEGORIES } from '../core/coco.js';
import type { CocoAnnotation, CocoCategory, CocoGroundTruth, CocoImage, Logger } from '../core/types.js';
import { orientationSkipReason, readImageSizeOrSkip } from './decode.js';
import { datasetError, folderLinkWarning, formatIssues, isFile, listImageFiles } from './files.js';

/** Tolerance on normalised coordinates (some exporters round slightly past 0 or 1). */
const NORMALISED_TOLERANCE = 0.01;

function unquote(s: string): string {
  const t = s.trim();
  if ((t.startsWith("'") && t.endsWith("'")) || (t.startsWith('"') && t.endsWith('"'))) return t.slice(1, -1);
  return t;
}

function stripComment(line: string): string {
  // a '#' starts a comment unless inside quotes
  let quote: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quote) {
      if (ch === quote) quote = null;
    } else if (ch === '"' || ch === "'") quote = ch;
    else if (ch === '#' && (i === 0 || /\s/.test(line[i - 1]))) return line.slice(0, i);
  }
  return line;
}

/** Splits a YAML flow sequence body on commas outside quotes; items are unquoted. */
function splitFlow(body: string): string[] {
  const items: string[] = [];
  let quote: string | null = null;
  let current = '';
  for (const ch of body) {
    if (quote) {
      if (ch === quote) quote = null;
      current += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      current += ch;
    } else if (ch === ',') {
      items.push(current);
      current = '';
    } else current += ch;
  }
  items.push(current);
  return items
    .map((i) => i.trim())
    .filter((i) => i.length > 0)
    .map(unquote);
}

/**
 * The inside of the flow collection (`[…]` or `{…}`) that `text` starts with, up to its matching closing bracket
 * (brackets inside quotes do not count), newlines included; null if it is never closed.
 */
function flowBody(text: string): string | null {
  let quote: string | null = null;
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quote) {
      if (ch === quote) quote = null;
    } else if (ch === '"' || ch === "'") quote = ch;
    else if (ch === '[' || ch === '{') depth++;
    else if (ch === ']' || ch === '}') {
      depth--;
      if (depth === 0) return text.slice(1, i);
    }
  }
  return null;
}

/** The `nc:` value of a YOLO data YAML as written (unquoted; '' when empty), or null if there is no `nc:` key. */
export function parseYamlNc(text: string): string | null {
  for (const line of text.split(/\r?\n/).map(stripComment)) {
    const m = /^nc\s*:(.*)$/.exec(line);
    if (m) return unquote(m[1]);
  }
  return null;
}

/**
 * Reads the `names:` of a YOLO data YAML: a flow list `[a, b]`, a block list `- a`,
 * or a mapping `0: a` (block or flow). Returns null if there is no `names:` key.
 */
export function parseYamlNames(text: string): string[] | null {
  const lines = text.split(/\r?\n/).map(stripComment);
  const start = lines.findIndex((l) => /^names\s*:/.test(l));
  if (start < 0) return null;
  const rest = lines[start].replace(/^names\s*:/, '').trim();
  const entries: [string | null, string][] = [];
  if (rest.startsWith('[') || rest.startsWith('{')) {
    // a flow collection may run over several lines (YOLOv5's coco.yaml): read on to its closing bracket
    const body = flowBody([rest, ...lines.slice(start + 1)].join('\n'));
    if (body === null) return null;
    if (rest.startsWith('[')) for (const item of splitFlow(body)) entries.push([null, item]);
    else
      for (const item of splitFlow(body)) {
        const k = item.indexOf(':');
        if (k > 0) entries.push([item.slice(0, k).trim(), unquote(item.slice(k + 1))]);
      }
  } else {
    for (let i = start + 1; i < lines.length; i++) {
      const line = lines[i];
      if (line.trim() === '') continue;
      // a block list may sit at the key's own indentation (`names:` then `- a` at column 0): YAML allows it
      if (!/^\s/.test(line) && !/^-(\s|$)/.test(line)) break;
      const t = line.trim();
      if (t === '-' || t.startsWith('- ')) entries.push([null, unquote(t.slice(1))]);
      else {
        const k = t.indexOf(':');
        if (k > 0) entries.push([t.slice(0, k).trim(), unquote(t.slice(k + 1))]);
      }
    }
  }
  if (entries.length > 0 && entries[0][0] !== null) {
    const byIndex = new Map<number, string>();
    for (const [k, v] of entries) byIndex.set(Number(k), v);
    const names: string[] = [];
    for (let i = 0; i < byIndex.size; i++) {
      const name = byIndex.get(i);
      if (name === undefined) return null;
      names.push(name);
    }
    return names;
  }
  return entries.map(([, v]) => v);
}

/**
 * Label files that no image of a YOLO folder reads (labels/train/a.txt for images/a.jpg, a label whose image is gone):
 * their boxes would be ignored and their objects scored as absent — ERR_DATASET naming a few and the layout instead.
 * `expected` holds the label path (relative to labels/) of every image, `labelled` how many of them exist. A
 * `classes.txt` in labels/ (LabelImg writes its class list there) is not a label file. An empty labels/ stays a folder
 * of images without objects.
 */
async function refuseUnmatchedLabels(
  dir: string,
  labelsDir: string,
  expected: Set<string>,
  labelled: number,
): Promise<void> {
  const found = ((await readdir(labelsDir, { recursive: true }).catch(() => [])) as string[])
    .filter(
      // any case of .txt (a.TXT is no image's label: the image reads a.txt, on a case-sensitive disk never this one)
      (f) => /\.txt$/i.test(f) && path.basename(f) !== 'classes.txt' && !expected.has(path.normalize(f)),
    )
    .sort();
  if (found.length === 0) return;
  const fix =
    `Fix: an image images/P.jpg has its labels in labels/P.txt (the same path under labels/)` +
    (labelled === 0 ? '.' : `; move each file to its image's path, or delete it if its image is gone.`);
  if (labelled === 0)
    throw datasetError(
      `YOLO folder ${dir}: labels/ holds ${found.length} label file${found.length === 1 ? '' : 's'} but none is named ` +
        `after an image of images/ (e.g. ${path.join(labelsDir, found[0])}), so every image would have no objects. ` +
        fix,
    );
  const shown = found.slice(0, 3).map((f) => path.join(labelsDir, f));
  const list = found.length <= 3 ? shown.join(', ') : `${shown.join(', ')} and ${found.length - 3} more`;
  throw datasetError(
    `YOLO folder ${dir}: ${found.length} label file${found.length === 1 ? '' : 's'} in labels/ match` +
      `${found.length === 1 ? 'es' : ''} no image of images/, so their boxes would be ignored: ${list}. ${fix}`,
  );
}

/**
 * Two images whose label file is the same (images/a.png and images/a.jpg → labels/a.txt) would both get its boxes:
 * ERR_DATASET naming them (up to three pairs) and the fix.
 */
function refuseSharedLabelFiles(dir: string, files: readonly string[]): void {
  const byLabel = new Map<string, string[]>();
  for (const f of files) {
    const l = labelPath(f);
    byLabel.set(l, [...(byLabel.get(l) ?? []), f]);
  }
  const shared = [...byLabel].filter(([, imgs]) => imgs.length > 1);
  if (shared.length === 0) return;
  const list = shared
    .slice(0, 3)
    .map(([l, imgs]) => `${imgs.map((f) => path.join('images', f)).join(' and ')} → ${path.join('labels', l)}`)
    .join('; ');
  throw datasetError(
    `YOLO folder ${dir}: ${shared.length === 1 ? 'two images share' : 'images share'} one label file, so each ` +
      `would get the other's boxes: ${list}${shared.length > 3 ? `, and ${shared.length - 3} more` : ''}. Fix: ` +
      'keep one image per name (rename or remove the others).',
  );
}

/** Folder names of dataset splits (train, val2017, valid, test, …). */
const SPLIT_NAME = /^(train|val|valid|validation|test|dev)[-_]?\d*$/i;

/**
 * An Ultralytics layout keeps its splits below one images/ (images/train2017, images/val2017): all are read, as one
 * dataset, so training images would be scored with the validation ones. Warns naming the splits and the fix.
 */
function warnMixedSplits(dir: string, files: readonly string[], logger?: Logger): void {
  const splits = [...new Set(files.filter((f) => f.includes('/')).map((f) => f.slice(0, f.indexOf('/'))))]
    .filter((d) => SPLIT_NAME.test(d))
    .sort();
  if (splits.length < 2) return;
  logger?.warn(
    `YOLO folder ${dir}: images/ holds the splits ${splits.join(', ')}, which are read together as one dataset. ` +
      'To score one split, give a folder whose images/ and labels/ hold only it (e.g. val/images and val/labels).',
  );
}

/** The label file of an image, relative to labels/: its path under images/ with .txt for its extension. */
function labelPath(imageRel: string): string {
  return path.normalize(imageRel.replace(/\.[^./]+$/, '.txt'));
}

/**
 * Finds and reads the class names of a YOLO folder: `--classes`, else classes.txt, a *.names file, data.yaml or another
 * *.yaml, the first found. When several of those hold a names list and the lists differ, which one is read would
 * decide what every label's class index means: refused (ERR_DATASET naming both, and --classes to choose). Throws
 * ERR_DATASET naming what it tried.
 */
export async function readYoloClassNames(
  dir: string,
  classesFile?: string,
): Promise<{ names: string[]; file: string }> {
  if (classesFile !== undefined) {
    const file = path.resolve(classesFile);
    if (!(await isFile(file))) throw datasetError(`Class names file ${file} (from --classes) does not exist.`);
    return { names: await readNamesFile(file), file };
  }
  const entries = (await readdir(dir)).sort();
  const candidates = [
    ...entries.filter((e) => e === 'classes.txt'),
    ...entries.filter((e) => e.endsWith('.names')),
    ...entries.filter((e) => e === 'data.yaml'),
    ...entries.filter((e) => /\.ya?ml$/.test(e) && e !== 'data.yaml'),
  ].map((e) => path.join(dir, e));
  if (candidates.length === 0) {
    throw datasetError(
      `YOLO folder ${dir} has no class names. Fix: add classes.txt (one name per line, in class-index order), ` +
        `a *.names file or a data.yaml with "names:", or pass --classes FILE.`,
    );
  }
  const [file, ...others] = candidates;
  const names = await readNamesFile(file);
  for (const other of others) {
    // another file that holds no readable names list (a training config) says nothing about the classes
    const theirs = await readNamesFile(other).catch(() => null);
    if (theirs === null || (theirs.length === names.length && theirs.every((n, i) => n === names[i]))) continue;
    const show = (list: string[]) => `${list.slice(0, 4).join(', ')}${list.length > 4 ? ', …' : ''}`;
    throw datasetError(
      `YOLO folder ${dir} names its classes twice, differently: ${file} (${names.length}: ${show(names)}) and ` +
        `${other} (${theirs.length}: ${show(theirs)}); a label's class index would mean another class depending on ` +
        `which is read. Fix: make them the same, or choose one with --classes FILE.`,
    );
  }
  return { names, file };
}

/** The class names of one names file (YAML `names:` or one name per line). Throws ERR_DATASET naming the file. */
async function readNamesFile(file: string): Promise<string[]> {
  // a UTF-8 byte-order mark (Windows tools write one) is no part of the first line: dropped, or `names:` there is unseen
  const text = (await readFile(file, 'utf8')).replace(/^\uFEFF/, '');
  let names: string[] | null;
  if (/\.ya?ml$/i.test(file)) {
    names = parseYamlNames(text);
    if (names === null)
      throw datasetError(
        `${file} has no readable "names:" list. Fix: write names: [a, b, …] or one "- name" / "0: name" per line.`,
      );
    const empty = names.indexOf('');
    if (empty >= 0)
      throw datasetError(`${file}: names: item ${empty} is empty. Fix: give every class index a name, in order.`);
    const nc = parseYamlNc(text);
    if (nc !== null && nc !== '' && Number(nc) !== names.length)
      throw datasetError(
        `${file} says nc: ${nc} but its names: list has ${names.length} name${names.length === 1 ? '' : 's'}. ` +
          `Fix: make nc the number of names (or drop nc).`,
      );
  } else {
    names = text.split(/\r?\n/).map((l) => l.trim());
    while (names.length > 0 && names[names.length - 1] === '') names.pop();
    const blank = names.findIndex((n) => n === '');
    if (blank >= 0)
      throw datasetError(
        `${file} line ${blank + 1} is empty; class names are one per line in class-index order, without blank lines.`,
      );
  }
  if (names.length === 0) throw datasetError(`${file} lists no class names.`);
  return names;
}

/**
 * Category ids: the 80 COCO names in model order (any common spelling, e.g. Darknet's coco.names: categoryNames.ts) map
 * to the official COCO ids, any other list to 1..K.
 */
export function yoloCategories(names: string[]): CocoCategory[] {
  const isCoco80 =
    names.length === COCO_CATEGORIES.length && names.every((n, i) => sameCategoryName(n, COCO_CATEGORIES[i].name));
  if (isCoco80) return COCO_CATEGORIES.map((c) => ({ ...c }));
  return names.map((name, i) => ({ id: i + 1, name }));
}

export interface ParsedYolo {
  groundTruth: CocoGroundTruth;
  /** Absolute image paths in id order. */
  imagePaths: string[];
  classesFile: string;
  /** Images the run must skip, by id, with why (unreadable, or an EXIF orientation its labels cannot follow). */
  unusable: Map<number, string>;
}

/**
 * Converts a YOLO folder to COCO ground truth. Images get ids 1..N in file-name order,
 * sizes from their headers. Throws ERR_DATASET naming file:line for bad label lines.
 */
export async function parseYoloFolder(
  dir: string,
  opts: { classes?: string; logger?: Logger } = {},
): Promise<ParsedYolo> {
  const imagesDir = path.join(dir, 'images');
  const labelsDir = path.join(dir, 'labels');
  const { names, file: classesFile } = await readYoloClassNames(dir, opts.classes);
  const categories = yoloCategories(names);
  const files = await listImageFiles(imagesDir, true, (link) => opts.logger?.warn(folderLinkWarning(link)));
  if (files.length === 0) throw datasetError(`YOLO folder ${dir}: images/ holds no image files (${'.jpg, .png, …'}).`);
  refuseSharedLabelFiles(dir, files);
  warnMixedSplits(dir, files, opts.logger);
  const images: CocoImage[] = [];
  const annotations: CocoAnnotation[] = [];
  const issues: string[] = [];
  /** file:line of each label line that repeats an earlier box of its file (same class and corners). */
  const duplicates: string[] = [];
  /** Label files that are there but cannot be read (their message is in `issues`). */
  let unreadable = 0;
  let unlabelled = 0;
  let labelled = 0;
  const unusable = new Map<number, string>();
  const sizes: { width: number; height: number; orientation?: number; error?: string }[] = [];
  for (let i = 0; i < files.length; i += 16) {
    sizes.push(...(await Promise.all(files.slice(i, i + 16).map((f) => readImageSizeOrSkip(path.join(imagesDir, f))))));
  }
  for (let i = 0; i < files.length; i++) {
    const rel = files[i];
    const id = i + 1;
    const size = sizes[i];
    // labels without sizes cannot say which orientation they follow: such an image is listed as skipped
    const turned = size.orientation !== undefined && size.orientation !== 1;
    const error =
      size.error ?? (turned ? orientationSkipReason(path.join(imagesDir, rel), size.orientation!) : undefined);
    const [width, height] = error ? [0, 0] : [size.width, size.height];
    images.push({ id, file_name: rel, width, height });
    if (error) {
      // unreadable or turned: kept so the run lists it as skipped, with this reason (like a COCO image that fails to
      // decode); its labels cannot be placed
      unusable.set(id, error);
      opts.logger?.warn(`${error}; the run will list it as skipped`);
      continue;
    }
    const labelFile = path.join(labelsDir, labelPath(rel));
    let text: string;
    try {
      text = await readFile(labelFile, 'utf8');
    } catch (err) {
      // only a label file that is not there means "no objects"; one that is there but cannot be read (a folder, a
      // symbolic link whose target is gone, no permission) would lose its boxes unseen
      const exists = await lstat(labelFile).then(
        () => true,
        () => false,
      );
      if (!exists) {
        unlabelled++;
        continue;
      }
      const code = (err as NodeJS.ErrnoException).code;
      const why =
        code === 'EISDIR'
          ? 'it is a folder'
          : code === 'ENOENT'
            ? 'it is a symbolic link to a file that does not exist'
            : (err as Error).message;
      issues.push(`${labelFile}: cannot read the label file (${why}); fix or remove it`);
      unreadable++;
      continue;
    }
    labelled++;
    /** The boxes of this file so far (class and normalised corners): a line repeating one is the same object. */
    const seen = new Set<string>();
    text.split(/\r?\n/).forEach((line, k) => {
      const t = line.trim();
      if (t === '') return;
      const where = `${labelFile}:${k + 1}`;
      const parts = t.split(/\s+/).map(Number);
      const cls = parts[0];
      if (!Number.isInteger(cls) || cls < 0 || cls >= names.length) {
        issues.push(
          `${where}: class ${JSON.stringify(t.split(/\s+/)[0])} is not an integer in 0..${names.length - 1} (` +
            `${names.length} names in ${classesFile})`,
        );
        return;
      }
      const nums = parts.slice(1);
      if (
        nums.some((v) => !Number.isFinite(v)) ||
        !(nums.length === 4 || (nums.length >= 6 && nums.length % 2 === 0))
      ) {
        issues.push(
          `${where}: expected "class cx cy w h" (or a polygon "class x1 y1 x2 y2 …") with numbers, ` +
            `got ${JSON.stringify(t)}`,
        );
        return;
      }
      if (nums.some((v) => v < -NORMALISED_TOLERANCE || v > 1 + NORMALISED_TOLERANCE)) {
        issues.push(`${where}: coordinates must be normalised to 0–1 (are these pixels?), got ${JSON.stringify(t)}`);
        return;
      }
      let x0: number, y0: number, x1: number, y1: number;
      if (nums.length === 4) {
        const [cx, cy, w, h] = nums;
        if (!(w > 0 && h > 0)) {
          issues.push(`${where}: width and height must be positive, got ${JSON.stringify(t)}`);
          return;
        }
        x0 = cx - w / 2;
        y0 = cy - h / 2;
        x1 = cx + w / 2;
        y1 = cy + h / 2;
      } else {
        const xs = nums.filter((_, j) => j % 2 === 0);
        const ys = nums.filter((_, j) => j % 2 === 1);
        x0 = Math.min(...xs);
        x1 = Math.max(...xs);
        y0 = Math.min(...ys);
        y1 = Math.max(...ys);
      }
      // one object written twice (a merge of two label exports, a double click) would be two ground-truth boxes of
      // which a detector can match only one: dropped, as Ultralytics drops repeated rows, with a warning
      const key = [cls, x0, y0, x1, y1].map((v) => v.toFixed(9)).join(' ');
      if (seen.has(key)) {
        duplicates.push(where);
        return;
      }
      seen.add(key);
      // the part of a box outside the image cannot be seen in it (nor boxed by a detector, whose boxes stay inside):
      // corners are clipped to [0, 1] (Ultralytics' checker refuses cx, cy, w or h above 1; we keep such boxes, clipped)
      [x0, y0, x1, y1] = [x0, y0, x1, y1].map((v) => Math.min(1, Math.max(0, v)));
      // zero up to rounding (1.005 − 0.01 / 2 is 0.9999999999999999): under a millionth of a pixel
      if (!((x1 - x0) * width > 1e-6 && (y1 - y0) * height > 1e-6)) {
        issues.push(`${where}: the box has no area inside the image (clipped to 0–1), got ${JSON.stringify(t)}`);
        return;
      }
      const bbox: [number, number, number, number] = [x0 * width, y0 * height, (x1 - x0) * width, (y1 - y0) * height];
      annotations.push({
        id: annotations.length + 1,
        image_id: id,
        category_id: categories[cls].id,
        bbox,
        area: bbox[2] * bbox[3],
        iscrowd: 0,
      });
    });
  }
  await refuseUnmatchedLabels(dir, labelsDir, new Set(files.map((f) => labelPath(f))), labelled);
  if (issues.length > 0) {
    const lines = issues.length - unreadable;
    const what = [
      ...(lines > 0 ? [`${lines} invalid line${lines === 1 ? '' : 's'}`] : []),
      ...(unreadable > 0 ? [`${unreadable} unreadable label file${unreadable === 1 ? '' : 's'}`] : []),
    ].join(' and ');
    throw datasetError(`YOLO labels in ${labelsDir} have ${what}:\n${formatIssues(issues)}`);
  }
  if (duplicates.length > 0)
    opts.logger?.warn(
      `YOLO labels in ${labelsDir}: ${duplicates.length} duplicate label line${duplicates.length === 1 ? '' : 's'} ` +
        `(the same class and box as an earlier line of the file) dropped, as Ultralytics drops them: ` +
        `${duplicates.slice(0, 3).join(', ')}${duplicates.length > 3 ? ` and ${duplicates.length - 3} more` : ''}`,
    );
  if (unlabelled > 0)
    opts.logger?.info(`${dir}: ${unlabelled} of ${files.length} images have no label file (no objects)`);
  return {
    groundTruth: { images, annotations, categories },
    imagePaths: files.map((f) => path.join(imagesDir, f)),
    classesFile,
    unusable,
  };
}
