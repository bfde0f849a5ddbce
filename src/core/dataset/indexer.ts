import { isUtf8 } from 'node:buffer';
import { FieldDetector, fieldPath, readRowContent, type RowContent } from './fields';
import { LineScanner } from './lineScanner';
import { RowIds } from './rowIds';
import { RowShapes } from './rowShapes';
import { FindingList, reportNotAnObject, reportRepeatedKeys, reportRowContent, reportUnparsedLine } from './findings';
import { ByteBlocks, digestBytes, RowHashes } from './rowHashes';
import type { Finding, OpenDatasetOptions } from './types';
import { exactDecimal, readWrittenJson, type WrittenJson } from './writtenJson';

export const DEFAULT_MAX_LINE_BYTES = 256 * 1024 * 1024;

const MAX_NESTING = 64;
const NEWLINE_BYTE = Buffer.from([10]);

function isWhitespaceByte(byte: number): boolean {
  return byte === 0x20 || byte === 0x09 || byte === 0x0d || byte === 0x0b || byte === 0x0c;
}

/** 0-based position of the first byte that breaks UTF-8; only called on lines known to be invalid. */
function firstInvalidUtf8Byte(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const lead = bytes[i];
    const size = lead < 0x80 ? 1 : lead >= 0xc2 && lead <= 0xdf ? 2 : lead >= 0xe0 && lead <= 0xef ? 3 : lead >= 0xf0 && lead <= 0xf4 ? 4 : 0;
    if (size === 0) {
      return i;
    }
    for (let k = 1; k < size; k++) {
      if (i + k >= bytes.length || (bytes[i + k] & 0xc0) !== 0x80) {
        return i;
      }
    }
    if (!isUtf8(bytes.subarray(i, i + size))) {
      return i; // overlong forms and surrogates
    }
    i += size;
  }
  return i;
}

/** True when `value` nests deeper than `limit`; stops early, so a normal row costs a few steps. */
function nestsDeeperThan(value: object, limit: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop() as [unknown, number];
    if (depth > limit) {
      return true;
    }
    for (const key in node as Record<string, unknown>) {
      const child = (node as Record<string, unknown>)[key];
      if (child !== null && typeof child === 'object') {
        stack.push([child, depth + 1]);
      }
    }
  }
  return false;
}

const NOTHING_WRITTEN_TWICE: WrittenJson = { repeated: [], numberAtPath: undefined };

/**
 * False when no key of `row` can be written twice in `text`: every key ends in a quote, spaces and a colon, so
 * such colons are at least as many as the keys written, and JSON.parse keeps one key of each written twice. As
 * many such colons as keys parsed: none was written twice (a colon after an escaped quote in a string only adds).
 */
function mayRepeatKeys(text: string, row: object): boolean {
  let colons = 0;
  for (let i = text.indexOf(':'); i >= 0; i = text.indexOf(':', i + 1)) {
    let before = i - 1;
    while (before >= 0 && isJsonSpace(text.charCodeAt(before))) before--;
    if (text.charCodeAt(before) === 0x22) colons++;
  }
  return colons > keysIn(row);
}

function isJsonSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

/** Own keys of every object in a parsed value (lists' elements included). */
function keysIn(value: object): number {
  let keys = 0;
  const stack: object[] = [value];
  while (stack.length > 0) {
    const node = stack.pop() as Record<string, unknown>;
    const children = Array.isArray(node) ? (node as unknown[]) : Object.values(node);
    if (!Array.isArray(node)) keys += children.length;
    for (const child of children) if (child !== null && typeof child === 'object') stack.push(child);
  }
  return keys;
}

/**
 * A row's id as a JSON reader sees it: text as it is; a number as the exact decimal written (an id
 * above 2^53 would otherwise lose digits and two different ids could read as one), from the value
 * JSON.parse keeps when the key is written twice.
 */
function rawIdOf(content: RowContent, numberWritten: string | undefined): string | undefined {
  const { usable, value } = content.id;
  if (!usable) return undefined;
  if (typeof value === 'string') return value;
  return exactDecimal(numberWritten ?? String(value));
}

/** What a thread that indexed one part of a file hands back; its line numbers count from the part's start. */
export interface IndexPart {
  readonly offsets: Float64Array;
  readonly lengths: Float64Array;
  readonly lines: Uint32Array;
  readonly rawIds: (string | undefined)[];
  readonly hashes: { readonly bytes: Uint8Array; readonly count: number };
  readonly blocks: ReturnType<ByteBlocks['transferable']>;
  readonly findings: Finding[];
  readonly fieldCounts: [string, number][];
  readonly models: string[];
  readonly nonBlankLines: number;
  readonly lineCount: number;
}

/** The buffers of a part that can move to another thread instead of being copied. */
export function transferablesOf(part: IndexPart): ArrayBuffer[] {
  return [part.offsets.buffer, part.lengths.buffer, part.lines.buffer, part.hashes.bytes.buffer] as ArrayBuffer[];
}

/**
 * Builds the line index in one streaming pass: every line is checked (JSON, object, fields, UTF-8) and
 * its facts kept (offset, length, id, hash), but no parsed row is kept. A part of a file (from a line's
 * start) can be indexed apart, in a worker, and absorbed in file order.
 */
export class Indexer {
  /**
   * Each row's byte offset, length and 1-based line, in typed arrays grown by doubling (number[]s cost a million
   * pushes and their garbage); past `rows` they are spare room until end() cuts them to the rows.
   */
  offsets = new Float64Array(1024);
  lengths = new Float64Array(1024);
  lines = new Uint32Array(1024);
  /** Rows indexed. */
  rows = 0;
  /** Raw ids (RowIds), and the ids shown when some were made up (undefined: every row shows its raw id). */
  private readonly idStore = new RowIds();
  private madeUpIds: readonly string[] | undefined;
  readonly hashes: RowHashes;
  /** The indexed bytes' SHA-1 in blocks ended at line starts (none without row hashes): rows() checks a block with one. */
  readonly blocks: ByteBlocks;
  readonly findingList: FindingList;
  readonly detector = new FieldDetector();
  readonly models = new Set<string>();

  /** Lines that are not blank: each is a row, or a bad line with a finding. */
  nonBlankLines = 0;
  lineNumber = 0;
  private lineStart = 0;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private tooLong = false;
  /** File offset of the next byte pushed. */
  private position = 0;
  /** Reads simple lines without JSON.parse (see LineScanner); undefined when options.scan is false. */
  private readonly scanner: LineScanner | undefined;
  private readonly shapes: RowShapes;

  /** The part starts at the file's first byte (only there can a byte order mark be). */
  private readonly atFileStart: boolean;

  constructor(
    private readonly file: string,
    private readonly options: OpenDatasetOptions,
    start = 0,
  ) {
    this.hashes = new RowHashes(options.rowHashes === false);
    this.blocks = new ByteBlocks(options.rowHashes === false);
    this.findingList = new FindingList(file);
    this.position = start;
    this.lineStart = start;
    this.atFileStart = start === 0;
    this.scanner = options.scan === false ? undefined : new LineScanner();
    this.shapes = new RowShapes(options.mapping);
  }

  /** Each row's id as written (undefined: none); strings made at the first call. */
  get rawIds(): readonly (string | undefined)[] {
    return this.idStore.all();
  }

  /** Each row's id: its own, or a made-up one (assigned by end()). */
  get ids(): readonly string[] {
    return this.madeUpIds ?? (this.idStore.all() as readonly string[]);
  }

  get findings(): Finding[] {
    return this.findingList.items;
  }

  push(chunk: Buffer): void {
    this.blocks.feed(chunk, this.position);
    let start = 0;
    if (this.pendingBytes > 0 || this.tooLong) {
      // the line the last chunk left unfinished
      const newline = chunk.indexOf(10);
      if (newline < 0) {
        this.hold(chunk);
        this.position += chunk.length;
        return;
      }
      this.hold(chunk.subarray(0, newline));
      this.finishLine();
      start = newline + 1;
    }
    const chunkOffset = this.position; // of chunk[0] in the file
    const maxLineBytes = this.options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    // The scanner reads up to a newline: the line the chunk leaves unfinished is held whole, then scanned.
    const scanLimit = chunk.lastIndexOf(10) + 1;
    while (start < chunk.length) {
      this.lineStart = chunkOffset + start;
      // A simple line is read where it lies in the chunk; any other goes through finishLine's full checks.
      const end = this.scanner && start < scanLimit ? this.scanner.scan(chunk, start, scanLimit) : -1;
      if (end >= 0 && end - start <= maxLineBytes && this.takeScanned(chunk, start)) {
        start = end + 1;
        continue;
      }
      const newline = chunk.indexOf(10, start);
      if (newline < 0) {
        this.hold(chunk.subarray(start));
        break;
      }
      this.hold(chunk.subarray(start, newline));
      this.finishLine(this.scanner !== undefined);
      start = newline + 1;
    }
    this.position = chunkOffset + chunk.length;
  }

  end(): void {
    this.finish();
    this.offsets = this.offsets.slice(0, this.rows);
    this.lengths = this.lengths.slice(0, this.rows);
    this.lines = this.lines.slice(0, this.rows);
    this.assignIds();
  }

  /** Keeps where a row is: its byte offset and length, and its line. */
  private place(offset: number, length: number, line: number): void {
    if (this.rows === this.offsets.length) {
      const grow = <T extends Float64Array | Uint32Array>(from: T, to: T): T => (to.set(from), to);
      const size = this.rows * 2;
      this.offsets = grow(this.offsets, new Float64Array(size));
      this.lengths = grow(this.lengths, new Float64Array(size));
      this.lines = grow(this.lines, new Uint32Array(size));
    }
    this.offsets[this.rows] = offset;
    this.lengths[this.rows] = length;
    this.lines[this.rows] = line;
    this.rows++;
  }

  /** Ends the last line (one without a newline); ids are assigned by end(), once every part is in. */
  finish(): void {
    if (this.pendingBytes > 0 || this.tooLong) {
      this.finishLine();
    }
    this.blocks.finish();
    this.shapes.countInto(this.detector);
  }

  /** This indexer's facts, to hand to the indexer of the file's first part. */
  part(): IndexPart {
    return {
      offsets: this.offsets.slice(0, this.rows),
      lengths: this.lengths.slice(0, this.rows),
      lines: this.lines.slice(0, this.rows),
      rawIds: [...this.rawIds],
      hashes: this.hashes.transferable(),
      blocks: this.blocks.transferable(),
      findings: this.findings,
      fieldCounts: this.detector.counted(),
      models: [...this.models],
      nonBlankLines: this.nonBlankLines,
      lineCount: this.lineNumber,
    };
  }

  /** Appends the next part of the file (indexed apart, from the byte where this one stopped). */
  absorb(part: IndexPart): void {
    if (this.pendingBytes > 0 || this.tooLong) throw new Error('a part is absorbed only at a line start');
    const base = this.lineNumber;
    for (let i = 0; i < part.lines.length; i++) {
      this.place(part.offsets[i], part.lengths[i], part.lines[i] + base);
      this.idStore.push(part.rawIds[i]);
    }
    this.hashes.append(part.hashes);
    this.blocks.append(part.blocks);
    for (const finding of part.findings) this.findings.push({ ...finding, line: finding.line + base });
    this.detector.add(part.fieldCounts);
    for (const model of part.models) this.models.add(model);
    this.nonBlankLines += part.nonBlankLines;
    this.lineNumber += part.lineCount;
  }

  /**
   * Row ids, once every id in the file is known: a row keeps its own id unless an earlier row has it;
   * a made-up id (`line:<n>` for a row without one, `<id>#L<line>` for a repeat) never equals a real
   * id anywhere in the file, nor another made-up one.
   */
  private assignIds(): void {
    this.madeUpIds = undefined;
    if (this.idStore.allDistinct()) return; // every row has an id of its own: nothing to make up
    const real = new Set<string>();
    for (const raw of this.rawIds) if (raw !== undefined) real.add(raw);
    const taken = new Map<string, number>();
    const unique = (candidate: string) => {
      let id = candidate;
      for (let n = 2; real.has(id) || taken.has(id); n++) id = `${candidate}~${n}`;
      return id;
    };
    let duplicates = false;
    const ids: string[] = [];
    for (let i = 0; i < this.rawIds.length; i++) {
      const raw = this.rawIds[i];
      const line = this.lines[i];
      let id: string;
      if (raw === undefined) id = unique(`line:${line}`);
      else if (!taken.has(raw)) id = raw;
      else {
        id = unique(`${raw}#L${line}`);
        this.findingList.report(line, 'warning', 'duplicate-id', `id "${raw}" is already used on line ${taken.get(raw)}; this row is shown as "${id}"`, 'Give every row a unique id.');
        duplicates = true;
      }
      taken.set(id, line);
      ids.push(id);
    }
    this.madeUpIds = ids;
    if (duplicates) this.findings.sort((a, b) => a.line - b.line);
  }

  private hold(part: Buffer): void {
    if (part.length === 0) {
      return;
    }
    this.pendingBytes += part.length;
    if (this.tooLong) {
      return;
    }
    if (this.pendingBytes > (this.options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES)) {
      this.tooLong = true;
      this.pending = [];
      return;
    }
    this.pending.push(part);
  }

  /** Reads the held line; `scanned`: the scanner already read it where it lay in its chunk and did not take it. */
  private finishLine(scanned = false): void {
    let offset = this.lineStart;
    let length = this.pendingBytes;
    const tooLong = this.tooLong;
    const scan = !tooLong && !scanned && this.scanner !== undefined;
    // the scanner reads up to a newline: the held line gets its own back
    let bytes = this.pending.length === 1 && !scan ? this.pending[0] : Buffer.concat(scan ? [...this.pending, NEWLINE_BYTE] : this.pending, tooLong ? 0 : scan ? length + 1 : length);
    this.pending = [];
    this.pendingBytes = 0;
    this.tooLong = false;
    if (scan && (this.scanner as LineScanner).scan(bytes, 0, length + 1) === length && this.takeScanned(bytes, 0)) return;
    bytes = bytes.subarray(0, length);
    this.lineNumber += 1;
    const line = this.lineNumber;

    if (tooLong) {
      this.nonBlankLines += 1; // a line lost: counted among the skipped lines, never "0 bad lines"
      this.findingList.report(line, 'error', 'line-too-long', `line is ${length} bytes long, over the ${this.options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES}-byte limit, and was skipped`, 'Split or shorten the row (large inputs belong in files the row points to).');
      return;
    }
    if (line === 1 && this.atFileStart && bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
      bytes = bytes.subarray(3);
      offset += 3;
      length -= 3;
      this.findingList.report(line, 'info', 'bom', 'the file starts with a UTF-8 byte order mark (BOM); it was ignored', 'Save the file as UTF-8 without BOM.');
    }
    if (length > 0 && bytes[length - 1] === 0x0d) {
      bytes = bytes.subarray(0, length - 1);
      length -= 1;
    }
    let first = 0;
    while (first < length && isWhitespaceByte(bytes[first])) {
      first += 1;
    }
    if (first === length) {
      return; // blank lines separate nothing and carry nothing
    }
    this.nonBlankLines += 1;

    // Decoding turns every invalid byte into U+FFFD: a line without one was valid UTF-8, and only a line
    // with one (a replacement character written in the file, or bad bytes) is checked byte by byte.
    const text = bytes.toString('utf8');
    if (text.includes('\uFFFD') && !isUtf8(bytes)) {
      const at = firstInvalidUtf8Byte(bytes);
      this.findingList.report(line, 'warning', 'invalid-utf8', `line has bytes that are not valid UTF-8 (first at byte ${at + 1} of the line); they read as U+FFFD`, 'Re-save the file as UTF-8, or fix the bytes at that position.');
    }

    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      reportUnparsedLine(this.findingList, line, text, error);
      return;
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      reportNotAnObject(this.findingList, line, parsed);
      return;
    }
    const row = parsed as Record<string, unknown>;
    if (nestsDeeperThan(row, MAX_NESTING)) {
      this.findingList.report(line, 'error', 'too-deep', `row nests more than ${MAX_NESTING} levels deep; it is not read as a row`, 'Flatten the row: PiSAR fields are text, a chat array or a flat object of outputs.');
      return;
    }
    this.detector.observe(row);
    const content = readRowContent(row, this.options.mapping);
    const numberId = content.id.usable && typeof content.id.value === 'number';
    // The full scan of the text only where a number id needs its digits or a key may be written twice.
    const written = numberId || mayRepeatKeys(text, row) ? readWrittenJson(text, numberId ? fieldPath(row, content.id.key as string) : undefined) : NOTHING_WRITTEN_TWICE;
    reportRepeatedKeys(this.findingList, line, written.repeated, content);
    reportRowContent(this.findingList, line, row, content, this.options.mapping, this.file);
    for (const model in content.outputTexts) this.models.add(model);

    this.place(offset, length, line);
    this.idStore.push(rawIdOf(content, written.numberAtPath));
    this.hashes.push(this.hashes.empty ? undefined : digestBytes(bytes));
  }

  /**
   * Takes the line the scanner just read (starting at `start` of `buf`, at this.lineStart in the file): the row's
   * roles read by the one rule (readRowContent) from the values of the keys a role may read, and its findings
   * reported, as for a parsed line; a row shaped like one read before with no finding is known by its shape.
   * False, with nothing done, for a line with bytes that are not UTF-8 (the full check reports where) or a key
   * the scanner must not set.
   */
  private takeScanned(buf: Buffer, start: number): boolean {
    const scanner = this.scanner as LineScanner;
    const end = scanner.contentEnd;
    if (scanner.high && !isUtf8(buf.subarray(start, end))) return false;
    if (!this.shapes.measure(buf, scanner, start)) return false;
    this.lineNumber += 1;
    this.nonBlankLines += 1;
    const line = this.lineNumber;
    const known = this.shapes.known();
    if (known) {
      known.rows++;
      if (known.id < 0) this.idStore.push(undefined);
      else if (!this.shapes.idBytesInto(this.idStore, buf, scanner, known.id)) this.idStore.push(this.shapes.idAt(buf, scanner, known.id));
    } else {
      const row = this.shapes.row(buf, scanner);
      this.detector.observe(row);
      const content = readRowContent(row, this.options.mapping);
      let numberWritten: string | undefined;
      if (content.id.usable && typeof content.id.value === 'number') {
        // the digits as written: the scanner proved no key is written twice, so the value read is the one there
        numberWritten = readWrittenJson(buf.toString('utf8', start, end), fieldPath(row, content.id.key as string)).numberAtPath;
      }
      const findings = this.findings.length;
      reportRowContent(this.findingList, line, row, content, this.options.mapping, this.file);
      let models = false;
      for (const model in content.outputTexts) {
        this.models.add(model);
        models = true;
      }
      if (this.findings.length === findings && !models) this.shapes.remember(row, content.id);
      this.idStore.push(rawIdOf(content, numberWritten));
    }
    this.place(this.lineStart, end - start, line);
    this.hashes.push(this.hashes.empty ? undefined : digestBytes(buf.subarray(start, end)));
    return true;
  }

  /** An info finding on line 1 about the whole file (its encoding or compression). */
  note(message: string, fix?: string): void {
    this.findingList.note(message, fix);
  }
}
