/**
 * What opening a detection log needs of one line, read from its bytes without building
 * its detections. A line as the run writes it (`JSON.stringify` of an ImageRecord, keys in
 * the order imageId, sha256, seconds, size, shifts) is checked byte by byte: the header
 * before `"shifts"` is parsed as JSON, and the shifts are checked against the strict JSON
 * grammar of what the run stores (lists of lists of arrays of JSON numbers) while only
 * counting lists and detections. Any line of another shape (other key order, whitespace,
 * `null` in a detection, a damaged byte) is answered `null`, and the caller parses it in
 * full as before: this fast path never accepts a line that JSON.parse would refuse.
 */

/** The header of a record line, parsed as JSON, and what its shifts hold. */
export interface ScannedLine {
  /** Every key before "shifts" (imageId, sha256, seconds, size …) as JSON.parse gives them. */
  header: Record<string, unknown>;
  /** Number of per-shift lists. */
  shiftLists: number;
  /** Detections over all shifts. */
  detections: number;
}

const SHIFTS_KEY = Buffer.from(',"shifts":[', 'latin1');
/** A stored detection: x, y, w, h, score, category id. */
export const DETECTION_NUMBERS = 6;
const OPEN = 0x5b; // [
const CLOSE = 0x5d; // ]
const COMMA = 0x2c;
const BRACE_CLOSE = 0x7d; // }
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;

function isDigit(c: number): boolean {
  return c >= ZERO && c <= NINE;
}

/** Integer digits from which a number without an exponent may be too large for a double (1e308 has 309). */
const MAY_OVERFLOW_DIGITS = 300;

/**
 * Index after the JSON number starting at `i`, or −1 when none starts there (RFC 8259 §6) or when it is too large
 * for a double (JSON.parse makes it ±Infinity, which the full parse refuses in a detection: store.ts checkRecord).
 */
function numberEnd(b: Uint8Array, i: number): number {
  const start = i;
  if (b[i] === MINUS) i++;
  if (b[i] === ZERO) i++;
  else if (b[i] > ZERO && b[i] <= NINE) {
    i++;
    while (isDigit(b[i])) i++;
  } else return -1;
  let mayOverflow = i - start > MAY_OVERFLOW_DIGITS;
  if (b[i] === DOT) {
    i++;
    if (!isDigit(b[i])) return -1;
    while (isDigit(b[i])) i++;
  }
  if (b[i] === 0x65 || b[i] === 0x45) {
    i++;
    if (b[i] === PLUS || b[i] === MINUS) i++;
    if (!isDigit(b[i])) return -1;
    while (isDigit(b[i])) i++;
    mayOverflow = true; // rare: JSON.stringify writes an exponent only below 1e-6 and from 1e21 on
  }
  if (
    mayOverflow &&
    !Number.isFinite(Number(Buffer.from(b.buffer, b.byteOffset + start, i - start).toString('latin1')))
  )
    return -1;
  return i;
}

/**
 * Digits of a category id the fast path takes as it is: up to 9 (optionally after '-') always fit a 32-bit integer.
 * Anything else (a fraction, an exponent, more digits) is left to the full parse, which accepts only 32-bit integers.
 */
const PLAIN_CATEGORY_DIGITS = 9;

/** Whether b[start, end) is a JSON integer of at most PLAIN_CATEGORY_DIGITS digits, optionally negative. */
function isPlainCategory(b: Uint8Array, start: number, end: number): boolean {
  let i = b[start] === MINUS ? start + 1 : start;
  if (end - i > PLAIN_CATEGORY_DIGITS) return false;
  for (; i < end; i++) if (!isDigit(b[i])) return false;
  return true;
}

/**
 * Checks `b[i…]` = `[ list, … ]}` and nothing after, where list = `[ det, … ]` and
 * det = `[ number, … ]` of exactly DETECTION_NUMBERS numbers (JSON, no whitespace), the last (the category id) a plain
 * integer of at most PLAIN_CATEGORY_DIGITS digits; returns the counts, or null when the bytes are anything else. Reads past the end only as `undefined`, which matches nothing.
 */
function scanShifts(b: Uint8Array, i: number): { shiftLists: number; detections: number } | null {
  let shiftLists = 0;
  let detections = 0;
  if (b[i++] !== OPEN) return null;
  if (b[i] !== CLOSE) {
    for (;;) {
      if (b[i++] !== OPEN) return null;
      shiftLists++;
      if (b[i] !== CLOSE) {
        for (;;) {
          if (b[i++] !== OPEN) return null;
          detections++;
          let numbers = 0;
          if (b[i] !== CLOSE) {
            for (;;) {
              const start = i;
              i = numberEnd(b, i);
              if (i < 0) return null;
              // the last number is the category id: a fraction or a large id goes to the full parse, which refuses it
              if (++numbers === DETECTION_NUMBERS && !isPlainCategory(b, start, i)) return null;
              if (b[i] !== COMMA) break;
              i++;
            }
          }
          if (numbers !== DETECTION_NUMBERS || b[i++] !== CLOSE) return null;
          if (b[i] !== COMMA) break;
          i++;
        }
      }
      if (b[i++] !== CLOSE) return null;
      if (b[i] !== COMMA) break;
      i++;
    }
  }
  if (b[i++] !== CLOSE || b[i++] !== BRACE_CLOSE || i !== b.length) return null;
  return { shiftLists, detections };
}

/**
 * Reads one log line (its bytes, without the newline) the fast way: its header keys and
 * the counts of its shift lists and detections, or null when the line is not in the
 * run's own layout (the caller then parses it in full). A non-null answer is given only
 * for a line that is valid JSON whose last key is "shifts" holding lists of number arrays.
 */
export function scanRecordLine(line: Uint8Array): ScannedLine | null {
  const at = Buffer.from(line.buffer, line.byteOffset, line.byteLength).indexOf(SHIFTS_KEY);
  if (at < 0) return null;
  const counts = scanShifts(line, at + SHIFTS_KEY.length - 1);
  if (!counts) return null;
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(line.buffer, line.byteOffset, at).toString('utf8') + '}');
  } catch {
    return null;
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) return null;
  return { header: header as Record<string, unknown>, ...counts };
}
