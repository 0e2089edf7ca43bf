/** File helpers shared by the dataset loaders: image listing, hashing, JSON reading, error text. */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { ShiftbenchError } from '../core/errors.js';

/**
 * Image file extensions the loaders pick up (lower case): those sharp decodes, and the photo formats YOLO tools read
 * that it does not (BMP, HEIC/HEIF; MPO and JFIF are JPEG and decode). Those are listed rather than left out unseen:
 * the run skips each with the decoder's reason, `datasets check` lists them, and a YOLO label beside one is not
 * taken for a label without an image.
 */
export const IMAGE_EXTENSIONS: readonly string[] = [
  '.jpg',
  '.jpeg',
  '.png',
  '.webp',
  '.tif',
  '.tiff',
  '.gif',
  '.avif',
  '.bmp',
  '.heic',
  '.heif',
  '.jfif',
  '.mpo',
];

/** What `--dataset` accepts, for error messages. */
export const ACCEPTED_DATASETS =
  'a COCO instances JSON file, a folder holding instances.json or annotations/instances.json, ' +
  'a YOLO folder with images/ and labels/, or a folder of images (label-free)';

/** How many offending entries an error message lists before "… and N more". */
export const MAX_REPORTED_ISSUES = 5;

export function datasetError(message: string, cause?: unknown): ShiftbenchError {
  return new ShiftbenchError('ERR_DATASET', message, cause === undefined ? undefined : { cause });
}

/**
 * A dataset path (--dataset, --images) that names nothing: a usage error (exit 2), as a missing --model file. A command
 * that reads the path from a run's manifest (report --rescore, compare) tells it apart, to say the fix is that path.
 */
export class MissingDatasetPathError extends ShiftbenchError {
  constructor(message: string) {
    super('ERR_INVALID_OPTION', message);
  }
}

/** Lists issues as "- a\n- b\n… and N more". */
export function formatIssues(issues: string[]): string {
  const shown = issues.slice(0, MAX_REPORTED_ISSUES).map((i) => `- ${i}`);
  if (issues.length > MAX_REPORTED_ISSUES) shown.push(`… and ${issues.length - MAX_REPORTED_ISSUES} more`);
  return shown.join('\n');
}

export function isImageFile(name: string): boolean {
  return IMAGE_EXTENSIONS.includes(path.extname(name).toLowerCase());
}

export async function isDirectory(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}

export async function isFile(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isFile();
  } catch {
    return false;
  }
}

/**
 * Image files under `dir` (recursively if asked), as paths relative to `dir` with
 * forward slashes, sorted by code point so the order is the same on every platform.
 * Hidden files and everything inside hidden folders are left out. A symbolic link named as an image is listed too (unless it points at a folder): it is
 * never dropped unseen — decoding reads it, or refuses one that points outside the image
 * folder, and the run lists that image as skipped with the reason (decode.ts). A symbolic link to a folder is not
 * followed; `onFolderLink` is told its absolute path, so a loader can say that the images in it are not read.
 */
export async function listImageFiles(
  dir: string,
  recursive: boolean,
  onFolderLink?: (linkPath: string) => void,
): Promise<string[]> {
  const entries = await readdir(dir, { recursive, withFileTypes: true });
  const files: string[] = [];
  const folderLinks: string[] = [];
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    const full = path.join(e.parentPath, e.name);
    const rel = path.relative(dir, full).split(path.sep);
    // inside a hidden folder (.ipynb_checkpoints copies, .thumbs): not the dataset's, as hidden files are not
    if (rel.some((part) => part.startsWith('.'))) continue;
    if (e.isSymbolicLink() && (await isDirectory(full))) {
      folderLinks.push(full);
      continue;
    }
    if (!isImageFile(e.name) || !(e.isFile() || e.isSymbolicLink())) continue;
    files.push(rel.join('/'));
  }
  if (onFolderLink) for (const link of folderLinks.sort()) onFolderLink(link);
  return files.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** The warning for a symbolic link to a folder met while listing a dataset's images (listImageFiles). */
export function folderLinkWarning(linkPath: string): string {
  return (
    `${linkPath} is a symbolic link to a folder, which is not followed: the images in it are not part of the ` +
    'dataset. Copy or move them into the folder to include them.'
  );
}

/** sha256 over `head` then each file's bytes in the given order (streamed). */
export async function hashDataset(head: Uint8Array, files: string[]): Promise<string> {
  const hash = createHash('sha256').update(head);
  for (const file of files) {
    await new Promise<void>((resolve, reject) => {
      createReadStream(file)
        .on('data', (chunk) => hash.update(chunk))
        .on('end', () => resolve())
        .on('error', reject);
    });
  }
  return hash.digest('hex');
}

/** 1-based line and column of a character offset. */
export function lineColumn(text: string, position: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < position && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: position - lineStart + 1 };
}

/**
 * Offset of the first JSON syntax error in `text` (called only after JSON.parse failed,
 * because Node's messages do not always carry a position). Returns null if none found.
 */
export function findJsonErrorOffset(text: string): number | null {
  let i = 0;
  const ws = (): void => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\n' || text[i] === '\r' || text[i] === '\t')) i++;
  };
  const fail = (): never => {
    throw i;
  };
  const literal = (word: string): void => {
    if (text.startsWith(word, i)) i += word.length;
    else fail();
  };
  const string = (): void => {
    i++; // opening quote
    while (i < text.length && text[i] !== '"') {
      if (text.charCodeAt(i) < 0x20) fail();
      if (text[i] === '\\') {
        i++;
        if (text[i] === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) fail();
          i += 4;
        } else if (!'"\\/bfnrt'.includes(text[i] ?? 'x')) fail();
      }
      i++;
    }
    if (i >= text.length) fail();
    i++;
  };
  const number = (): void => {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (!m || m[0].length === 0) fail();
    i += m![0].length;
  };
  const value = (): void => {
    ws();
    const ch = text[i];
    if (ch === '{') {
      i++;
      ws();
      if (text[i] === '}') return void i++;
      for (;;) {
        ws();
        if (text[i] !== '"') fail();
        string();
        ws();
        if (text[i] !== ':') fail();
        i++;
        value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === '}') return void i++;
        else fail();
      }
    } else if (ch === '[') {
      i++;
      ws();
      if (text[i] === ']') return void i++;
      for (;;) {
        value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === ']') return void i++;
        else fail();
      }
    } else if (ch === '"') string();
    else if (ch === 't') literal('true');
    else if (ch === 'f') literal('false');
    else if (ch === 'n') literal('null');
    else number();
  };
  try {
    value();
    ws();
    return i < text.length ? i : null;
  } catch (at) {
    return typeof at === 'number' ? Math.min(at, text.length) : null;
  }
}

/** Reads and parses a JSON file; a syntax error names the file, line and column. */
export async function readJsonFile(file: string): Promise<{ value: unknown; bytes: Buffer }> {
  const bytes = await readFile(file);
  // a UTF-8 byte-order mark (Windows tools write one) is not JSON but says nothing: dropped
  const text = bytes.toString('utf8').replace(/^\uFEFF/, '');
  try {
    return { value: JSON.parse(text), bytes };
  } catch (err) {
    const raw = (err as Error).message;
    const m = /position (\d+)/.exec(raw);
    const offset = m ? Number(m[1]) : findJsonErrorOffset(text);
    const where = offset === null ? null : lineColumn(text, offset);
    const reason = raw.replace(/\s*\(line \d+ column \d+\)/, '');
    throw datasetError(
      `Could not parse ${file} as JSON${where ? ` (line ${where.line}, column ${where.column})` : ''}: ${reason}. ` +
        'Fix the file (a COCO instances JSON is one object with "images", "annotations" and "categories" arrays).',
      err,
    );
  }
}
