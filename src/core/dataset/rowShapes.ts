import { configuredKeys, FIELD_CANDIDATES, FIELD_ROLES, type FieldDetector, type RoleValue } from './fields';
import { ValueKind, type LineScanner } from './lineScanner';
import { textOf, type RowIds } from './rowIds';
import type { FieldMapping } from './types';
import { exactDecimal } from './writtenJson';

/**
 * Every top-level key whose value reading a row's roles may look at: the candidates of each role, Alpaca's
 * fields, and each configured key whole and by its first step (`meta.id` reads `meta`).
 */
function roleReadKeys(mapping: FieldMapping | undefined): string[] {
  const keys = new Set<string>(['instruction', 'input', 'output']);
  for (const role of FIELD_ROLES) {
    for (const key of FIELD_CANDIDATES[role]) keys.add(key);
    for (const key of configuredKeys(mapping, role)) {
      keys.add(key);
      keys.add(key.split('.')[0]);
    }
  }
  return [...keys];
}

/** Keys whose value is an image: what it says (a path inside the folder or not) depends on the text itself. */
function imageKeys(mapping: FieldMapping | undefined): Set<string> {
  return new Set([...FIELD_CANDIDATES.image, ...configuredKeys(mapping, 'image').flatMap((key) => [key, key.split('.')[0]])]);
}

const CANDIDATE_KEYS = new Set(Object.values(FIELD_CANDIDATES).flat());

/**
 * Classes of a top-level value such that reading a row's roles (readRowContent, and the findings about them)
 * comes out the same for any two values of one class: it looks at a text only to ask whether it is empty or
 * blank, or to find an image placeholder ('<'); at a number only whether it is finite. 0: a value whose own text
 * matters (escaped text, text with '<', a list or an object, an image).
 */
const enum ValueClass {
  Unknown = 0,
  EmptyText,
  Text,
  BlankText,
  UnicodeText,
  FiniteNumber,
  OtherNumber,
  True,
  False,
  Null,
}

/** What reading a row of a known shape gave: no finding, no model, these candidate keys counted, the id there. */
interface KnownShape {
  readonly codes: Int32Array;
  /** The candidate keys with a value (FieldDetector counts them). */
  readonly counted: readonly string[];
  /** Rows of this shape not yet counted by the field detector. */
  rows: number;
  /** Which of the shape's keys holds the row's id; -1: the row has none. */
  readonly id: number;
}

/** Shapes remembered at most (a file of rows each shaped its own way is read in full, row by row). */
const MAX_SHAPES = 4096;

/**
 * The keys of a scanned line that reading its roles looks at, and rows' shapes: a line shaped like one read before
 * that gave no finding gives none either, and its id is where that one's was.
 */
export class RowShapes {
  private readonly keys: string[];
  /** Keys by byte length: each key's bytes and its index in `keys`. */
  private readonly byLength: { bytes: Buffer; index: number }[][] = [];
  private readonly isImage: boolean[];
  private readonly isCandidate: boolean[];
  /** The shape being measured: each key's code (key index * 16 + class) and where it is in the scanner's entries. */
  private readonly codes = new Int32Array(64);
  private readonly entries = new Int32Array(64);
  private size = 0;
  private hash = 0;
  /** No value's own text matters to the shape just measured: it is the whole story. */
  private classified = false;
  private readonly known_ = new Map<number, KnownShape[]>();
  private remembered = 0;
  /** The first '<' at or after the last line measured in `ltBuffer` (its length: none). */
  private ltBuffer: Uint8Array | undefined;
  private nextLt = 0;

  constructor(mapping: FieldMapping | undefined) {
    this.keys = roleReadKeys(mapping);
    const images = imageKeys(mapping);
    this.isImage = this.keys.map((key) => images.has(key));
    this.isCandidate = this.keys.map((key) => CANDIDATE_KEYS.has(key));
    this.keys.forEach((key, index) => {
      const bytes = Buffer.from(key, 'utf8');
      while (this.byLength.length <= bytes.length) this.byLength.push([]);
      this.byLength[bytes.length].push({ bytes, index });
    });
  }

  /** The index of the key written at buf[start..end), or -1 when no role reads it. */
  private keyIndex(buf: Uint8Array, start: number, end: number): number {
    const same = end - start < this.byLength.length ? this.byLength[end - start] : undefined;
    if (same === undefined) return -1;
    for (const { bytes, index } of same) {
      let j = 0;
      while (j < bytes.length && bytes[j] === buf[start + j]) j++;
      if (j === bytes.length) return index;
    }
    return -1;
  }

  /**
   * Measures the shape of the line the scanner just read, from `lineStart` of `buf`; false when it sets a key it
   * must not (`__proto__`).
   */
  measure(buf: Buffer, scanner: LineScanner, lineStart: number): boolean {
    if (buf !== this.ltBuffer || this.nextLt < lineStart) {
      // one search a '<' met, not one a line: a chunk without '<' is searched once
      this.ltBuffer = buf;
      const at = buf.indexOf(0x3c, lineStart);
      this.nextLt = at < 0 ? buf.length : at;
    }
    const lt = this.nextLt < scanner.contentEnd;
    let size = 0;
    let hash = 0;
    let classified = true;
    for (let k = 0; k < scanner.count; k++) {
      const index = this.keyIndex(buf, scanner.keyStart[k], scanner.keyEnd[k]);
      if (index < 0) continue;
      if (this.keys[index] === '__proto__') return false;
      const valueClass = classified ? this.classOf(buf, scanner, k, index, lt) : ValueClass.Unknown;
      if (valueClass === ValueClass.Unknown) classified = false;
      const code = index * 16 + valueClass;
      this.codes[size] = code;
      this.entries[size] = k;
      hash = (Math.imul(hash, 31) + code) | 0;
      size++;
    }
    this.size = size;
    this.hash = hash;
    this.classified = classified;
    return true;
  }

  private classOf(buf: Buffer, scanner: LineScanner, k: number, index: number, lt: boolean): ValueClass {
    const kind = scanner.kind[k];
    if (kind === ValueKind.Null) return ValueClass.Null;
    if (this.isImage[index]) return ValueClass.Unknown;
    switch (kind) {
      case ValueKind.String: {
        const start = scanner.valueStart[k] + 1;
        const end = scanner.valueEnd[k] - 1;
        if (start === end) return ValueClass.EmptyText;
        if (lt) for (let j = start; j < end; j++) if (buf[j] === 0x3c) return ValueClass.Unknown;
        for (let j = start; j < end; j++) if (buf[j] > 0x20 && buf[j] < 0x7f) return ValueClass.Text;
        // spaces and multi-byte characters only: blank or not as String.prototype.trim sees it
        return buf.toString('utf8', start, end).trim() === '' ? ValueClass.BlankText : ValueClass.UnicodeText;
      }
      case ValueKind.Number:
        return Number.isFinite(Number(buf.toString('latin1', scanner.valueStart[k], scanner.valueEnd[k]))) ? ValueClass.FiniteNumber : ValueClass.OtherNumber;
      case ValueKind.True:
        return ValueClass.True;
      case ValueKind.False:
        return ValueClass.False;
      default:
        return ValueClass.Unknown;
    }
  }

  /** What a row of the shape just measured gave, when it was read before. */
  known(): KnownShape | undefined {
    if (!this.classified) return undefined;
    const candidates = this.known_.get(this.hash);
    if (candidates === undefined) return undefined;
    for (const candidate of candidates) {
      if (candidate.codes.length !== this.size) continue;
      let same = true;
      for (let j = 0; j < this.size && same; j++) same = candidate.codes[j] === this.codes[j];
      if (same) return candidate;
    }
    return undefined;
  }

  /** Remembers that a row of the shape just measured gave no finding and no model, and where its id was. */
  remember(row: Record<string, unknown>, id: RoleValue): void {
    if (!this.classified || this.remembered >= MAX_SHAPES) return;
    let idAt = -1;
    const counted: string[] = [];
    for (let j = 0; j < this.size; j++) {
      const key = this.keys[this.codes[j] >> 4];
      if (id.usable && key === id.key) idAt = j;
      if (this.isCandidate[this.codes[j] >> 4] && row[key] !== null) counted.push(key);
    }
    if (id.usable && idAt < 0) return; // the id is not a top-level value: not known by the shape
    const entry: KnownShape = { codes: this.codes.slice(0, this.size), counted, id: idAt, rows: 0 };
    const same = this.known_.get(this.hash);
    if (same) same.push(entry);
    else this.known_.set(this.hash, [entry]);
    this.remembered++;
  }

  /** Counts the candidate keys of the rows known by their shape since the last call (once a shape, not a row). */
  countInto(detector: FieldDetector): void {
    for (const same of this.known_.values()) {
      for (const shape of same) {
        for (const key of shape.counted) detector.add([[key, shape.rows]]);
        shape.rows = 0;
      }
    }
  }

  /** Adds the row's id, from the shape's key `j` of the line just measured, as bytes when it is ASCII text; false when it is not. */
  idBytesInto(ids: RowIds, buf: Buffer, scanner: LineScanner, j: number): boolean {
    const k = this.entries[j];
    return scanner.kind[k] === ValueKind.String && ids.pushAscii(buf, scanner.valueStart[k] + 1, scanner.valueEnd[k] - 1);
  }

  /** The row's id, from the shape's key `j` of the line just measured (text, or a number's exact decimal). */
  idAt(buf: Buffer, scanner: LineScanner, j: number): string {
    const k = this.entries[j];
    const start = scanner.valueStart[k];
    const end = scanner.valueEnd[k];
    return scanner.kind[k] === ValueKind.String ? textOf(buf, start + 1, end - 1, !scanner.high) : exactDecimal(textOf(buf, start, end, true));
  }

  /** The row as JSON.parse reads it, less the keys no role reads. */
  row(buf: Buffer, scanner: LineScanner): Record<string, unknown> {
    const row: Record<string, unknown> = {};
    for (let j = 0; j < this.size; j++) {
      const k = this.entries[j];
      row[this.keys[this.codes[j] >> 4]] = scannedValue(buf, scanner.kind[k] as ValueKind, scanner.valueStart[k], scanner.valueEnd[k]);
    }
    return row;
  }
}

/** A top-level value the scanner found, as JSON.parse reads it (only plain strings skip the parse). */
function scannedValue(buf: Buffer, kind: ValueKind, start: number, end: number): unknown {
  switch (kind) {
    case ValueKind.String:
      return buf.toString('utf8', start + 1, end - 1);
    case ValueKind.Number:
      return Number(buf.toString('latin1', start, end));
    case ValueKind.True:
      return true;
    case ValueKind.False:
      return false;
    case ValueKind.Null:
      return null;
    default:
      return JSON.parse(buf.toString('utf8', start, end));
  }
}
