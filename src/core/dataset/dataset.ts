import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { isUtf8 } from 'node:buffer';
import { promisify } from 'node:util';
import { Worker } from 'node:worker_threads';
import {
  asImageRefs,
  asMessages,
  asOutputs,
  FIELD_CANDIDATES,
  FieldDetector,
  getField,
  imagesInMessages,
  inputText,
  classifyImage,
  keyForRole,
  splitFinalAnswer,
} from './fields';
import type { DatasetRow, FieldMapping, Finding, FindingCode, ImageRef, ResolvedMapping } from './types';
import { dict, ownValue } from '../security/ownKeys';

export interface OpenDatasetOptions {
  /** Overrides field detection, role -> JSON key (dots reach into nested objects). */
  mapping?: FieldMapping;
  /** Lines longer than this are reported and skipped rather than parsed. Default 256 MiB. */
  maxLineBytes?: number;
  /**
   * Hash every row (default true): rowHash() tells stored results of an edited row as stale, and reads
   * check the row is unchanged. Callers that only list and check rows (inspect) skip the cost.
   */
  rowHashes?: boolean;
  /**
   * Threads that index a large plain file, each a part of it (default: the cores available, at most
   * 8; 1 indexes on the calling thread only). The index is the same whatever the count.
   */
  threads?: number;
  /** Files smaller than this are indexed on the calling thread (default 16 MiB; tests set it low). */
  parallelFromBytes?: number;
}

/** Thrown for a file that cannot be read at all (missing, a directory, unreadable). */
export class DatasetReadError extends Error {
  constructor(
    readonly file: string,
    message: string,
    readonly fix: string,
  ) {
    super(message);
    this.name = 'DatasetReadError';
  }
}

/** Thrown by getRow when the bytes on disk no longer match the index (the file changed since it was read). */
export class DatasetChangedError extends Error {
  constructor(readonly file: string, readonly line: number) {
    super(`${file}:${line}: the file changed on disk since it was read; reopen it to see the current rows.`);
    this.name = 'DatasetChangedError';
  }
}

const SIDECAR_PATTERN = /\.pisar-[a-z]+\.jsonl$/i;

/** Sidecars (results, annotations) sit beside datasets and share their extension; they are never datasets. */
export function isSidecarFile(file: string): boolean {
  return SIDECAR_PATTERN.test(file);
}

/**
 * True when text that an editor took for JSON (a `.json` file) is JSONL: its first two non-blank
 * lines are each a whole JSON object. A pretty-printed document or a one-line JSON file is not.
 */
export function looksLikeJsonl(text: string): boolean {
  let objects = 0;
  let start = 0;
  for (let n = 0; n < 50 && start < text.length && objects < 2; n++) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const line = text.slice(start, end).trim();
    start = end + 1;
    if (line === '') continue;
    if (!line.startsWith('{') || !line.endsWith('}')) return false;
    try {
      const value: unknown = JSON.parse(line.replace(/^\uFEFF/, ''));
      if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
    } catch {
      return false;
    }
    objects++;
  }
  return objects >= 2;
}

const DATASET_EXTENSION = /\.(jsonl|ndjson|json|txt|gz)$/i;

/**
 * The sidecar of a dataset: `data.jsonl` -> `data.pisar-<kind>.jsonl`; any other name keeps its whole
 * name (`data.jsonl.gz` -> `data.jsonl.gz.pisar-<kind>.jsonl`, `data.ndjson` -> `data.ndjson.pisar-<kind>.jsonl`),
 * so two datasets in one folder never share a sidecar: the part before `.pisar-` ends in a dataset
 * extension exactly when the whole name was kept.
 */
export function sidecarFileFor(datasetFile: string, kind: 'results' | 'annotations'): string {
  const base = path.basename(datasetFile);
  const stem = /\.jsonl$/i.test(base) && !DATASET_EXTENSION.test(base.slice(0, -'.jsonl'.length)) ? base.slice(0, -'.jsonl'.length) : base;
  return path.join(path.dirname(datasetFile), `${stem}.pisar-${kind}.jsonl`);
}

const DEFAULT_MAX_LINE_BYTES = 256 * 1024 * 1024;
const CHUNK_BYTES = 1 << 20;
const FILE_HANDLE_IDLE_MS = 1000;

/** Bytes of a row hash kept per row: the first 8 of its SHA-1, shown as 16 hex digits. */
const HASH_BYTES = 8;

/** Row hashes in one growing byte array (no string a row until one is asked for). */
class RowHashes {
  private bytes = new Uint8Array(HASH_BYTES * 1024);
  private count = 0;
  /** No hash was computed (the index was built without them): every row's hash reads ''. */
  constructor(readonly empty: boolean) {}

  push(digest: Uint8Array | undefined): void {
    this.reserve(1);
    if (digest) this.bytes.set(digest.subarray(0, HASH_BYTES), this.count * HASH_BYTES);
    this.count++;
  }

  /** The hashes of another part, in order. */
  append(other: { readonly bytes: Uint8Array; readonly count: number }): void {
    this.reserve(other.count);
    this.bytes.set(other.bytes.subarray(0, other.count * HASH_BYTES), this.count * HASH_BYTES);
    this.count += other.count;
  }

  /** Room for `more` hashes, growing by doubling. */
  private reserve(more: number): void {
    const needed = (this.count + more) * HASH_BYTES;
    if (needed <= this.bytes.length) return;
    const grown = new Uint8Array(Math.max(needed, this.bytes.length * 2));
    grown.set(this.bytes.subarray(0, this.count * HASH_BYTES));
    this.bytes = grown;
  }

  get(index: number): string {
    return this.empty ? '' : Buffer.from(this.bytes.buffer, this.bytes.byteOffset + index * HASH_BYTES, HASH_BYTES).toString('hex');
  }

  /** What a part hands over: just the bytes in use. */
  transferable(): { bytes: Uint8Array; count: number } {
    return { bytes: this.bytes.slice(0, this.count * HASH_BYTES), count: this.count };
  }
}

/** A row's SHA-1 (crypto.hash, one call, where Node has it). */
const digestBytes: (bytes: Uint8Array) => Buffer =
  typeof (crypto as { hash?: unknown }).hash === 'function'
    ? (bytes) => (crypto as unknown as { hash(a: string, d: Uint8Array, e: string): Buffer }).hash('sha1', bytes, 'buffer')
    : (bytes) => crypto.createHash('sha1').update(bytes).digest();

/** A row's hash as stored beside results: its digest's first bytes in hex, as RowHashes.get() gives it. */
function hashBytes(bytes: Uint8Array): string {
  return digestBytes(bytes).toString('hex', 0, HASH_BYTES);
}

function isWhitespaceByte(byte: number): boolean {
  return byte === 0x20 || byte === 0x09 || byte === 0x0d || byte === 0x0b || byte === 0x0c;
}

function describeJsonError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/^(Unexpected|Expected)/, (m) => m.toLowerCase());
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

const MAX_NESTING = 64;

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

/**
 * The id rule shared by the index and by row parsing: the configured key, else the first id-like key
 * present. A number is kept exactly as written in `text` (an id above 2^53 would otherwise lose digits
 * and two different ids could read as one).
 */
function rawIdOf(row: Record<string, unknown>, mapping: FieldMapping | undefined, text?: string): string | undefined {
  const keys = mapping?.id ? [mapping.id] : FIELD_CANDIDATES.id;
  for (const key of keys) {
    const value = getField(row, key);
    if (typeof value === 'string' && value.trim() !== '') {
      return value;
    }
    if (typeof value === 'number' && Number.isFinite(value)) {
      return (text !== undefined && key in row ? numberAsWritten(text, key) : undefined) ?? String(value);
    }
  }
  return undefined;
}

/** The source text of a top-level number field of a JSON object, as written (no float rounding). */
export function numberAsWritten(text: string, key: string): string | undefined {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // a string: find its end, then see whether it is a key of the top-level object
      let end = i + 1;
      while (end < text.length && text.charCodeAt(end) !== 0x22) end += text.charCodeAt(end) === 0x5c ? 2 : 1;
      if (depth === 1) {
        let j = end + 1;
        while (j < text.length && /\s/.test(text[j])) j++;
        if (text[j] === ':') {
          let name: unknown;
          try {
            name = JSON.parse(text.slice(i, end + 1));
          } catch {
            return undefined;
          }
          if (name === key) {
            j++;
            while (j < text.length && /\s/.test(text[j])) j++;
            return /^-?\d+(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(j, j + 400))?.[0];
          }
        }
      }
      i = end;
    } else if (c === 0x7b || c === 0x5b) depth++;
    else if (c === 0x7d || c === 0x5d) depth--;
  }
  return undefined;
}

/** Where a line uses NaN or Infinity (not JSON), and under which key, for a finding with the exact fix. */
function nonFiniteNumber(text: string): { token: string; key?: string } | undefined {
  let lastString: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '"') {
      let end = i + 1;
      while (end < text.length && text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      lastString = text.slice(i + 1, end);
      i = end;
      continue;
    }
    const match = /^-?(NaN|Infinity)\b/.exec(text.slice(i, i + 10));
    if (match && /[\s:,[]/.test(text[i - 1] ?? ' ')) {
      return { token: match[0], key: lastString };
    }
  }
  return undefined;
}

/** True when the row has a usable value for `role` under the configured mapping (or any candidate key). */
function hasRole(row: Record<string, unknown>, role: 'input' | 'reference', mapping: FieldMapping | undefined): unknown {
  const keys = mapping?.[role] ? [mapping[role] as string] : FIELD_CANDIDATES[role];
  for (const key of keys) {
    const value = getField(row, key);
    if (value !== undefined && value !== null && value !== '') {
      return value;
    }
  }
  return undefined;
}

interface Source {
  read(offset: number, length: number): Promise<Buffer>;
  close(): Promise<void>;
}

class BufferSource implements Source {
  constructor(private readonly buffer: Buffer) {}
  async read(offset: number, length: number): Promise<Buffer> {
    return this.buffer.subarray(offset, offset + length);
  }
  async close(): Promise<void> {}
}

/** Random access to the file; the handle closes itself after a moment idle so callers need not remember. */
class FileSource implements Source {
  private handle: Promise<fs.promises.FileHandle> | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private reading = 0;
  constructor(private readonly file: string) {}
  async read(offset: number, length: number): Promise<Buffer> {
    this.handle ??= fs.promises.open(this.file, 'r');
    const handlePromise = this.handle;
    this.reading += 1;
    clearTimeout(this.idleTimer);
    try {
      const handle = await handlePromise;
      const buffer = Buffer.allocUnsafe(length);
      const { bytesRead } = await handle.read(buffer, 0, length, offset);
      return buffer.subarray(0, bytesRead);
    } finally {
      this.reading -= 1;
      if (this.reading === 0) {
        this.idleTimer = setTimeout(() => void this.close(), FILE_HANDLE_IDLE_MS);
        this.idleTimer.unref();
      }
    }
  }
  async close(): Promise<void> {
    clearTimeout(this.idleTimer);
    const handle = this.handle;
    this.handle = undefined;
    if (handle) {
      await (await handle.catch(() => undefined))?.close();
    }
  }
}

/** The buffers of a part that can move to another thread instead of being copied. */
export function transferablesOf(part: IndexPart): ArrayBuffer[] {
  return [part.offsets.buffer, part.lengths.buffer, part.lines.buffer, part.hashes.bytes.buffer] as ArrayBuffer[];
}

/** What a thread that indexed one part of a file hands back; its line numbers count from the part's start. */
export interface IndexPart {
  readonly offsets: Float64Array;
  readonly lengths: Float64Array;
  readonly lines: Float64Array;
  readonly rawIds: (string | undefined)[];
  readonly hashes: { readonly bytes: Uint8Array; readonly count: number };
  readonly findings: Finding[];
  readonly fieldCounts: [string, number][];
  readonly models: string[];
  readonly nonBlankLines: number;
  readonly lineCount: number;
}

/**
 * Builds the line index in one streaming pass: every line is checked (JSON, object, fields, UTF-8) and
 * its facts kept (offset, length, id, hash), but no parsed row is kept. A part of a file (from a line's
 * start) can be indexed apart, in a worker, and absorbed in file order.
 */
export class Indexer {
  readonly offsets: number[] = [];
  readonly lengths: number[] = [];
  readonly lines: number[] = [];
  readonly ids: string[] = [];
  readonly rawIds: (string | undefined)[] = [];
  readonly hashes: RowHashes;
  readonly findings: Finding[] = [];
  readonly detector = new FieldDetector();
  readonly models = new Set<string>();

  /** Lines that are not blank: each is a row, or a bad line with a finding. */
  nonBlankLines = 0;
  lineNumber = 0;
  private lineStart = 0;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private tooLong = false;
  private position = 0;

  /** The part starts at the file's first byte (only there can a byte order mark be). */
  private readonly atFileStart: boolean;

  constructor(
    private readonly file: string,
    private readonly options: OpenDatasetOptions,
    start = 0,
  ) {
    this.hashes = new RowHashes(options.rowHashes === false);
    this.position = start;
    this.lineStart = start;
    this.atFileStart = start === 0;
  }

  push(chunk: Buffer): void {
    let start = 0;
    for (;;) {
      const newline = chunk.indexOf(10, start);
      if (newline < 0) {
        this.hold(chunk.subarray(start));
        this.position += chunk.length - start;
        return;
      }
      this.hold(chunk.subarray(start, newline));
      this.position += newline - start;
      this.finishLine();
      this.position += 1;
      this.lineStart = this.position;
      start = newline + 1;
    }
  }

  end(): void {
    this.finish();
    this.assignIds();
  }

  /** Ends the last line (one without a newline); ids are assigned by end(), once every part is in. */
  finish(): void {
    if (this.pendingBytes > 0 || this.tooLong) {
      this.finishLine();
    }
  }

  /** This indexer's facts, to hand to the indexer of the file's first part. */
  part(): IndexPart {
    return {
      offsets: Float64Array.from(this.offsets),
      lengths: Float64Array.from(this.lengths),
      lines: Float64Array.from(this.lines),
      rawIds: this.rawIds,
      hashes: this.hashes.transferable(),
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
      this.offsets.push(part.offsets[i]);
      this.lengths.push(part.lengths[i]);
      this.lines.push(part.lines[i] + base);
      this.rawIds.push(part.rawIds[i]);
    }
    this.hashes.append(part.hashes);
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
    const real = new Set<string>();
    for (const raw of this.rawIds) if (raw !== undefined) real.add(raw);
    const taken = new Map<string, number>();
    const unique = (candidate: string) => {
      let id = candidate;
      for (let n = 2; real.has(id) || taken.has(id); n++) id = `${candidate}~${n}`;
      return id;
    };
    let duplicates = false;
    this.ids.length = 0;
    for (let i = 0; i < this.rawIds.length; i++) {
      const raw = this.rawIds[i];
      const line = this.lines[i];
      let id: string;
      if (raw === undefined) id = unique(`line:${line}`);
      else if (!taken.has(raw)) id = raw;
      else {
        id = unique(`${raw}#L${line}`);
        this.report(line, 'warning', 'duplicate-id', `id "${raw}" is already used on line ${taken.get(raw)}; this row is shown as "${id}"`, 'Give every row a unique id.');
        duplicates = true;
      }
      taken.set(id, line);
      this.ids.push(id);
    }
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

  private finishLine(): void {
    this.lineNumber += 1;
    const line = this.lineNumber;
    let offset = this.lineStart;
    let length = this.pendingBytes;
    const tooLong = this.tooLong;
    let bytes = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending, tooLong ? 0 : length);
    this.pending = [];
    this.pendingBytes = 0;
    this.tooLong = false;

    if (tooLong) {
      this.report(line, 'error', 'line-too-long', `line is ${length} bytes long, over the ${this.options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES}-byte limit, and was skipped`, 'Split or shorten the row (large inputs belong in files the row points to).');
      return;
    }
    if (line === 1 && this.atFileStart && bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
      bytes = bytes.subarray(3);
      offset += 3;
      length -= 3;
      this.report(line, 'info', 'bom', 'the file starts with a UTF-8 byte order mark (BOM); it was ignored', 'Save the file as UTF-8 without BOM.');
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
      this.report(line, 'warning', 'invalid-utf8', `line has bytes that are not valid UTF-8 (first at byte ${at + 1} of the line); they read as U+FFFD`, 'Re-save the file as UTF-8, or fix the bytes at that position.');
    }

    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      const nonFinite = nonFiniteNumber(text);
      if (nonFinite) {
        const where = nonFinite.key !== undefined ? ` for "${nonFinite.key}"` : '';
        this.report(line, 'error', 'non-finite-number', `line has ${nonFinite.token}${where}, which is not JSON (Python's json.dumps writes it for float('nan') / float('inf')); the row was skipped`, `Write null instead of ${nonFinite.token}${where}: in Python pass allow_nan=False to find them and replace them with None (pandas: df.to_json(path, orient="records", lines=True) writes null).`);
        return;
      }
      const pretty = /^\s*[[{]\s*$/.test(text);
      this.report(line, 'error', 'invalid-json', `line is not valid JSON: ${describeJsonError(error)}`, pretty
        ? 'The file looks like one pretty-printed JSON document, not JSONL: write one object a line, e.g. jq -c \'.[]\' data.json > data.jsonl.'
        : 'Make the line one complete JSON object, e.g. {"id": "…", "input": "…", "rationale": "…"}, or delete it.');
      return;
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      const kind = parsed === null ? 'null' : Array.isArray(parsed) ? 'an array' : `a ${typeof parsed}`;
      this.report(line, 'error', 'not-an-object', `line is valid JSON but ${kind}, not an object; it is not a row`, Array.isArray(parsed) && parsed.some((v) => v && typeof v === 'object')
        ? 'The line is a JSON array of rows: write one object a line instead, e.g. jq -c \'.[]\' data.json > data.jsonl.'
        : 'Make the line one JSON object with an id, an input and a rationale.');
      return;
    }
    const row = parsed as Record<string, unknown>;
    if (nestsDeeperThan(row, MAX_NESTING)) {
      this.report(line, 'error', 'too-deep', `row nests more than ${MAX_NESTING} levels deep; it is not read as a row`, 'Flatten the row: PiSAR fields are text, a chat array or a flat object of outputs.');
      return;
    }
    this.detector.observe(row);
    this.checkRow(row, line);

    const rawId = rawIdOf(row, this.options.mapping, text);

    this.offsets.push(offset);
    this.lengths.push(length);
    this.lines.push(line);
    this.rawIds.push(rawId);
    this.hashes.push(this.hashes.empty ? undefined : digestBytes(bytes));
  }

  private checkRow(row: Record<string, unknown>, line: number): void {
    const mapping = this.options.mapping;
    const reference = hasRole(row, 'reference', mapping);
    const answerInChat = reference === undefined && splitFinalAnswer(asMessages(hasRole(row, 'input', mapping))) !== undefined;
    if (answerInChat) {
      // the chat's final assistant turn is the reference
    } else if (reference === undefined) {
      const keys = mapping?.reference ? `"${mapping.reference}" (from the field mapping)` : FIELD_CANDIDATES.reference.map((k) => `"${k}"`).join(', ');
      this.report(line, 'warning', 'no-reference', `row has no reference rationale (looked for ${keys}); its outputs can be produced but not scored`, 'Add a "rationale" field, or map the reference field in pisarReview.fieldMapping (CLI: "fieldMapping" in the config).');
    } else if (typeof reference !== 'string') {
      this.report(line, 'warning', 'bad-field', `the reference rationale is ${Array.isArray(reference) ? 'an array' : `a ${typeof reference}`}, not text; the row cannot be scored`, 'Make the reference rationale a string.');
    }
    if (hasRole(row, 'input', mapping) === undefined) {
      const keys = mapping?.input ? `"${mapping.input}" (from the field mapping)` : FIELD_CANDIDATES.input.map((k) => `"${k}"`).join(', ');
      this.report(line, 'warning', 'no-input', `row has no input (looked for ${keys}); models cannot be called on it`, 'Add an "input" (or "prompt"/"messages") field, or map the input field in pisarReview.fieldMapping.');
    }
    const outputsKey = mapping?.outputs ?? (row.outputs !== undefined && row.outputs !== null ? 'outputs' : row.predictions !== undefined && row.predictions !== null ? 'predictions' : undefined);
    const outputsValue = outputsKey === undefined ? undefined : getField(row, outputsKey);
    if (outputsValue !== undefined && outputsValue !== null) {
      this.checkOutputs(outputsKey as string, outputsValue, line);
    }
    const imageKey = mapping?.image ?? FIELD_CANDIDATES.image.find((k) => row[k] !== undefined && row[k] !== null);
    if (imageKey !== undefined && getField(row, imageKey) !== undefined && getField(row, imageKey) !== null) {
      const refs = asImageRefs(getField(row, imageKey));
      if (!refs) {
        this.report(line, 'warning', 'bad-image', `"${imageKey}" is not an image path, URL, data URL or {"bytes", "path"} object; the row fails when called and nothing is sent`, 'Give the image as a path relative to the dataset, an http(s) URL, a data: URL or a Hugging Face {"bytes": <base64>, "path": …} object.');
      } else {
        for (const ref of refs) {
          const problem = imagePathProblem(this.file, ref);
          if (problem) {
            this.report(line, 'warning', 'bad-image', problem, 'Copy the image into the dataset\'s folder and refer to it by a relative path.');
          }
        }
      }
    }
  }

  private checkOutputs(key: string, value: unknown, line: number): void {
    if (typeof value !== 'object' || Array.isArray(value)) {
      this.report(line, 'warning', 'bad-field', `"${key}" is not an object of model name -> output text; it was ignored`, `Write "${key}" as {"model-name": "output text", …}.`);
      return;
    }
    let bad: string[] | undefined;
    for (const model in value as Record<string, unknown>) {
      const entry = ownValue(value as Record<string, unknown>, model);
      if (typeof entry === 'string' || (entry !== null && typeof entry === 'object' && (typeof (entry as { text?: unknown }).text === 'string' || typeof (entry as { output?: unknown }).output === 'string'))) {
        this.models.add(model);
      } else if (entry !== null && entry !== undefined) {
        (bad ??= []).push(model);
      }
    }
    if (bad) {
      this.report(line, 'warning', 'bad-field', `"${key}" has outputs that are not text for ${bad.map((m) => `"${m}"`).join(', ')}; they were ignored`, 'Make each output a string.');
    }
  }

  /** An info finding on line 1 about the whole file (its encoding or compression). */
  note(message: string, fix = 'Nothing to do; this is for information.'): void {
    this.report(1, 'info', 'encoding', message, fix);
  }

  private report(line: number, severity: Finding['severity'], code: FindingCode, message: string, fix: string): void {
    this.findings.push({ file: this.file, line, severity, code, message, fix });
  }
}

/**
 * Why an image path must not be read, or undefined when it may be. Paths are resolved against the dataset's
 * folder and must stay inside it: a dataset someone else wrote must not make us upload /etc/passwd.
 */
export function imagePathProblem(datasetFile: string, ref: ImageRef): string | undefined {
  if (ref.kind !== 'path') {
    return undefined;
  }
  const folder = path.dirname(datasetFile);
  if (path.isAbsolute(ref.value) || /^[a-zA-Z]:[\\/]/.test(ref.value)) {
    return `image path "${ref.value}" is absolute; only paths inside the dataset's folder are read`;
  }
  const resolved = path.resolve(folder, ref.value);
  const relative = path.relative(folder, resolved);
  if (relative === '' || relative.startsWith('..') || path.isAbsolute(relative)) {
    return `image path "${ref.value}" leads outside the dataset's folder; it will not be read`;
  }
  return undefined;
}

const gunzip = promisify(zlib.gunzip);

async function readHead(file: string): Promise<Buffer> {
  let handle: fs.promises.FileHandle | undefined;
  try {
    handle = await fs.promises.open(file, 'r');
    const buffer = Buffer.alloc(1024);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    return buffer.subarray(0, bytesRead);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new DatasetReadError(file, `${file}: cannot be read (${code ?? String(error)})`, 'Check the file\'s permissions.');
  } finally {
    await handle?.close();
  }
}

/** UTF-16 by its BOM, or by the zero bytes of ASCII text written as UTF-16 without one. */
function utf16Of(head: Buffer): 'utf-16le' | 'utf-16be' | undefined {
  if (head.length >= 2 && head[0] === 0xff && head[1] === 0xfe) return 'utf-16le';
  if (head.length >= 2 && head[0] === 0xfe && head[1] === 0xff) return 'utf-16be';
  if (head.length >= 4 && head[0] !== 0 && head[1] === 0 && head[2] !== 0 && head[3] === 0) return 'utf-16le';
  if (head.length >= 4 && head[0] === 0 && head[1] !== 0 && head[2] === 0 && head[3] !== 0) return 'utf-16be';
  return undefined;
}

/** The bytes as UTF-8: UTF-16 (LE/BE) is converted, with an info finding that says so. */
function decodeUnicode(bytes: Buffer, indexer: Indexer): Buffer {
  const encoding = utf16Of(bytes.subarray(0, 4));
  if (!encoding) return bytes;
  const text = new TextDecoder(encoding).decode(bytes); // drops the BOM
  indexer.note(`the file is ${encoding.toUpperCase()}; it was read by converting it to UTF-8 (inline scores in the editor need UTF-8)`, 'Save the file as UTF-8 (VS Code: "Save with Encoding" > UTF-8; iconv -f UTF-16 -t UTF-8).');
  return Buffer.from(text, 'utf8');
}

/** A file that is plainly not JSONL text (an archive, Parquet, a spreadsheet, binary): refused with what to do. */
function refusedFormat(file: string, head: Buffer, where = ''): DatasetReadError | undefined {
  const starts = (...bytes: number[]) => head.length >= bytes.length && bytes.every((b, i) => head[i] === b);
  const what = (kind: string, fix: string) => new DatasetReadError(file, `${file}: ${where ? `${where}: ` : ''}is ${kind}, not JSONL text (one JSON object a line)`, fix);
  if (starts(0x50, 0x41, 0x52, 0x31)) return what('a Parquet file', 'Convert it to JSONL, e.g. in Python: pandas.read_parquet(path).to_json(out, orient="records", lines=True, force_ascii=False).');
  if (starts(0x50, 0x4b, 0x03, 0x04)) return what('a zip archive (or an .xlsx/.docx file)', 'Unzip it and open the .jsonl inside, or export the sheet as JSONL.');
  if (starts(0x42, 0x5a, 0x68)) return what('bzip2-compressed', 'Decompress it first (bunzip2 -k <file>); gzip (.gz) files are read as they are.');
  if (starts(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00)) return what('xz-compressed', 'Decompress it first (xz -dk <file>); gzip (.gz) files are read as they are.');
  if (starts(0x28, 0xb5, 0x2f, 0xfd)) return what('zstd-compressed', 'Decompress it first (zstd -d <file>); gzip (.gz) files are read as they are.');
  if (head.length > 0 && !utf16Of(head) && !(head[0] === 0x1f && head[1] === 0x8b) && head.includes(0)) {
    return what('binary data', 'Open the JSONL text file itself (one JSON object a line, UTF-8).');
  }
  return undefined;
}

/** Files from this size are indexed in parts, one a thread. */
const PARALLEL_FROM_BYTES = 16 << 20;
/** No part smaller than this (a thread costs a few tens of milliseconds to start). */
const MIN_PART_BYTES = 4 << 20;
const MAX_THREADS = 8;

function indexThreads(options: OpenDatasetOptions, size: number): number {
  if (options.threads !== undefined) return Math.max(1, Math.floor(options.threads));
  if (size < (options.parallelFromBytes ?? PARALLEL_FROM_BYTES)) return 1;
  const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  return Math.max(1, Math.min(MAX_THREADS, cores, Math.ceil(size / MIN_PART_BYTES)));
}

/** Parts a thread: enough that a thread slowed by other work on the machine holds no one up for long, few
 * enough that their set-up costs little (4 a thread measured 10-15% slower than 2 on 2 cores). */
const PARTS_PER_THREAD = 2;

/**
 * Indexes a plain file in parts, each starting at a line's start, on this thread and `threads - 1`
 * workers at once: this thread takes parts from the front, each worker (once it is up) the last part
 * nobody took, so a busy machine makes this thread do more rather than wait. The parts' facts are
 * absorbed in file order, so the index (line numbers, findings, ids) is the one a single pass builds.
 * A worker that cannot start or fails leaves its part to this thread.
 */
async function indexInParts(indexer: Indexer, file: string, options: OpenDatasetOptions, size: number, threads: number): Promise<void> {
  const starts = await partStarts(file, size, threads * PARTS_PER_THREAD);
  const ends = [...starts.slice(1), size];
  const done: (IndexPart | undefined)[] = new Array<IndexPart | undefined>(starts.length);
  let front = 1;
  let back = starts.length - 1;
  const helpers = Array.from({ length: threads - 1 }, () => new PartWorker(file, options));
  const helping = helpers.map((helper) => helper.run(() => (front <= back ? back-- : undefined), (k) => [starts[k], ends[k]], (k, part) => (done[k] = part)));
  try {
    // This thread's parts follow one another from the file's start: it reads them into its own index.
    await indexRange(indexer, file, 0, ends[0]);
    while (front <= back) {
      const k = front++;
      await indexRange(indexer, file, starts[k], ends[k]);
    }
  } finally {
    for (const helper of helpers) helper.stop();
  }
  await Promise.all(helping);
  for (let k = front; k < starts.length; k++) {
    indexer.absorb(done[k] ?? (await indexPart(file, options, starts[k], ends[k])));
  }
}

let workerScript: { readonly path: string | undefined } | undefined;

/** The worker's script: the bundle beside dist/*.js, or the compiled module beside this one (looked up once). */
function partWorkerScript(): string | undefined {
  workerScript ??= { path: [path.join(__dirname, 'dataset-worker.js'), path.join(__dirname, 'indexWorker.js')].find((candidate) => fs.existsSync(candidate)) };
  return workerScript.path;
}

/** A worker thread that indexes the parts it is given, one at a time, until told to stop. */
class PartWorker {
  private worker: Worker | undefined;
  private stopped = false;
  private inFlight = false;

  constructor(
    private readonly file: string,
    private readonly options: OpenDatasetOptions,
  ) {}

  /**
   * Takes parts with `next` (undefined: none left) and hands back each one indexed; resolves when no
   * part is left or the worker failed (its part, if any, stays undone for the caller to index).
   */
  run(next: () => number | undefined, range: (k: number) => [number, number], indexed: (k: number, part: IndexPart) => void): Promise<void> {
    const script = partWorkerScript();
    if (!script || this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      let current: number | undefined;
      const finish = () => {
        this.inFlight = false;
        void this.worker?.terminate();
        this.worker = undefined;
        resolve();
      };
      const give = () => {
        current = this.stopped ? undefined : next();
        if (current === undefined) return finish();
        this.inFlight = true;
        const [start, end] = range(current);
        this.worker?.postMessage({ start, end });
      };
      try {
        this.worker = new Worker(script, { workerData: { file: this.file, options: { ...this.options, threads: 1 } } });
      } catch {
        return finish();
      }
      this.worker.on('message', (message: { ready?: true; part?: IndexPart }) => {
        if (message.part && current !== undefined) indexed(current, message.part);
        else if (!message.ready) return finish(); // it failed on its part: leave that part undone
        give();
      });
      this.worker.once('error', finish);
      this.worker.once('exit', finish);
      this.onStop = () => {
        if (!this.inFlight) finish();
      };
    });
  }

  /** No more parts: a worker still starting (or idle) is ended; one indexing a part finishes it. */
  stop(): void {
    this.stopped = true;
    this.onStop();
  }

  private onStop: () => void = () => undefined;
}

/** Byte offsets where the parts start: 0, then the first line start at or after each k/parts of the file. */
async function partStarts(file: string, size: number, parts: number): Promise<number[]> {
  const starts = [0];
  const handle = await fs.promises.open(file, 'r');
  try {
    const buffer = Buffer.alloc(64 * 1024);
    for (let k = 1; k < parts; k++) {
      let at = Math.max(Math.floor((size * k) / parts), starts[starts.length - 1]);
      let found = -1;
      while (found < 0 && at < size) {
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, at);
        if (bytesRead === 0) break;
        const newline = buffer.subarray(0, bytesRead).indexOf(10);
        if (newline >= 0) found = at + newline + 1;
        else at += bytesRead;
      }
      if (found < 0 || found >= size) break;
      if (found > starts[starts.length - 1]) starts.push(found);
    }
  } finally {
    await handle.close();
  }
  return starts;
}

async function indexRange(indexer: Indexer, file: string, start: number, end: number): Promise<void> {
  if (end <= start) return;
  for await (const chunk of fs.createReadStream(file, { highWaterMark: CHUNK_BYTES, start, end: end - 1 })) {
    indexer.push(chunk as Buffer);
  }
}

/** Indexes bytes `start`..`end` of a file (start at a line's start) on this thread; what a worker runs. */
export async function indexPart(file: string, options: OpenDatasetOptions, start: number, end: number): Promise<IndexPart> {
  const indexer = new Indexer(file, options, start);
  await indexRange(indexer, file, start, end);
  indexer.finish();
  return indexer.part();
}

/** A PiSAR JSONL dataset: an index of its lines, rows parsed on demand. */
export class Dataset {
  private constructor(
    readonly file: string,
    private readonly source: Source,
    private readonly index: Indexer,
    readonly mapping: ResolvedMapping,
  ) {}

  /** Streams and indexes a file. Throws DatasetReadError when the file cannot be read at all. */
  static async open(file: string, options: OpenDatasetOptions = {}): Promise<Dataset> {
    const absolute = path.resolve(file);
    let stat: fs.Stats;
    try {
      stat = await fs.promises.stat(absolute);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') {
        throw new DatasetReadError(absolute, `${absolute}: no such file`, 'Check the path; datasets are JSONL files, one row a line.');
      }
      throw new DatasetReadError(absolute, `${absolute}: cannot be read (${code ?? String(error)})`, 'Check the file\'s permissions.');
    }
    if (stat.isDirectory()) {
      throw new DatasetReadError(absolute, `${absolute}: is a directory, not a dataset file`, 'Name a .jsonl file inside it.');
    }
    if (!stat.isFile()) {
      // A FIFO or a device would block the read (or never end): refused before it is opened.
      throw new DatasetReadError(absolute, `${absolute}: is ${stat.isFIFO() ? 'a named pipe (FIFO)' : stat.isSocket() ? 'a socket' : 'a device'}, not a regular file; it was not opened`, 'Name a regular .jsonl file (save the stream to a file first).');
    }
    const head = await readHead(absolute);
    const refused = refusedFormat(absolute, head);
    if (refused) {
      throw refused;
    }
    const indexer = new Indexer(absolute, options);
    if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) {
      // gzip (by its magic bytes, whatever the name): read whole into memory, rows served from there.
      let bytes: Buffer;
      try {
        bytes = await gunzip(await fs.promises.readFile(absolute));
      } catch (error) {
        throw new DatasetReadError(absolute, `${absolute}: is gzip-compressed but cannot be decompressed (${(error as Error).message})`, 'Check the file is complete (re-download it), or decompress it yourself: gunzip -k <file>.');
      }
      const refusedInner = refusedFormat(absolute, bytes.subarray(0, 16), 'inside the gzip file');
      if (refusedInner) {
        throw refusedInner;
      }
      indexer.note('the file is gzip-compressed; it was decompressed in memory');
      return Dataset.fromBytes(absolute, decodeUnicode(bytes, indexer), indexer, options);
    }
    if (utf16Of(head)) {
      return Dataset.fromBytes(absolute, decodeUnicode(await fs.promises.readFile(absolute), indexer), indexer, options);
    }
    try {
      const threads = indexThreads(options, stat.size);
      if (threads > 1) {
        await indexInParts(indexer, absolute, options, stat.size, threads);
      } else {
        await indexRange(indexer, absolute, 0, Infinity); // to the end, even if the file grew since stat
      }
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new DatasetReadError(absolute, `${absolute}: cannot be read (${code ?? String(error)})`, 'Check the file\'s permissions.');
    }
    indexer.end();
    return new Dataset(absolute, new FileSource(absolute), indexer, indexer.detector.resolve(options.mapping));
  }

  private static fromBytes(file: string, utf8: Buffer, indexer: Indexer, options: OpenDatasetOptions): Dataset {
    indexer.push(utf8);
    indexer.end();
    return new Dataset(file, new BufferSource(utf8), indexer, indexer.detector.resolve(options.mapping));
  }

  /** Indexes text held in memory (an editor's buffer, unsaved edits included). */
  static fromText(file: string, text: string, options: OpenDatasetOptions = {}): Dataset {
    const absolute = path.resolve(file);
    const buffer = Buffer.from(text, 'utf8');
    const indexer = new Indexer(absolute, options);
    indexer.push(buffer);
    indexer.end();
    return new Dataset(absolute, new BufferSource(buffer), indexer, indexer.detector.resolve(options.mapping));
  }

  get rowCount(): number {
    return this.index.ids.length;
  }

  /** Lines in the file (a last line without a newline counts). */
  get lineCount(): number {
    return this.index.lineNumber;
  }

  /** Non-blank lines: the rows plus the bad lines that could not be rows. */
  get nonBlankLineCount(): number {
    return this.index.nonBlankLines;
  }

  get findings(): readonly Finding[] {
    return this.index.findings;
  }

  /** Models named in precomputed outputs, in order of first appearance. */
  get modelNames(): readonly string[] {
    return [...this.index.models];
  }

  rowIds(): readonly string[] {
    return this.index.ids;
  }

  rowHash(index: number): string {
    return this.index.hashes.get(this.checkIndex(index));
  }

  rowLine(index: number): number {
    return this.index.lines[this.checkIndex(index)];
  }

  indexOfId(id: string): number | undefined {
    this.idPositions ??= new Map(this.index.ids.map((rowId, position) => [rowId, position]));
    return this.idPositions.get(id);
  }
  private idPositions: Map<string, number> | undefined;

  /** The row on a 1-based line, or undefined when that line holds no row. */
  indexAtLine(line: number): number | undefined {
    const lines = this.index.lines;
    let low = 0;
    let high = lines.length - 1;
    while (low <= high) {
      const mid = (low + high) >>> 1;
      if (lines[mid] === line) {
        return mid;
      }
      if (lines[mid] < line) {
        low = mid + 1;
      } else {
        high = mid - 1;
      }
    }
    return undefined;
  }

  /** The row at `index`, read and parsed now. */
  async getRow(index: number): Promise<DatasetRow> {
    const position = this.checkIndex(index);
    const bytes = await this.source.read(this.index.offsets[position], this.index.lengths[position]);
    if (bytes.length !== this.index.lengths[position] || !this.sameHash(bytes, position)) {
      throw new DatasetChangedError(this.file, this.index.lines[position]);
    }
    const fields = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
    return this.buildRow(position, fields);
  }

  /**
   * The wanted rows among first..end-1, read with one sequential read (a run reads the file in order,
   * block by block, instead of one random read per row). Unwanted rows are undefined.
   */
  async readRows(first: number, end: number, want: (index: number) => boolean): Promise<(DatasetRow | undefined)[]> {
    const rows: (DatasetRow | undefined)[] = new Array(Math.max(0, end - first));
    let low = first;
    let high = end - 1;
    while (low <= high && !want(low)) low++;
    while (high >= low && !want(high)) high--;
    if (low > high) return rows;
    this.checkIndex(low);
    this.checkIndex(high);
    const { offsets, lengths } = this.index;
    const start = offsets[low];
    const bytes = await this.source.read(start, offsets[high] + lengths[high] - start);
    for (let position = low; position <= high; position++) {
      if (!want(position)) continue;
      const from = offsets[position] - start;
      const line = bytes.subarray(from, from + lengths[position]);
      if (line.length !== lengths[position] || !this.sameHash(line, position)) {
        throw new DatasetChangedError(this.file, this.index.lines[position]);
      }
      rows[position - first] = this.buildRow(position, JSON.parse(line.toString('utf8')) as Record<string, unknown>);
    }
    return rows;
  }

  /** True when the bytes read are the row indexed (always, when the index was built without hashes). */
  private sameHash(bytes: Uint8Array, position: number): boolean {
    const known = this.index.hashes.get(position);
    return known === '' || hashBytes(bytes) === known;
  }

  /** Rows in file order, parsed one at a time. */
  async *rows(): AsyncGenerator<DatasetRow> {
    for (let position = 0; position < this.rowCount; position++) {
      yield await this.getRow(position);
    }
  }

  /** Releases the file handle used for random access (reopened on the next read). */
  async close(): Promise<void> {
    await this.source.close();
  }

  private buildRow(position: number, fields: Record<string, unknown>): DatasetRow {
    const inputKey = keyForRole(fields, 'input', this.mapping);
    const inputValue = inputKey === undefined ? undefined : getField(fields, inputKey);
    let messages = asMessages(inputValue);
    const images: ImageRef[] = [];
    const imageKey = keyForRole(fields, 'image', this.mapping);
    let imageError: string | undefined;
    if (imageKey !== undefined) {
      const refs = asImageRefs(getField(fields, imageKey));
      if (refs) {
        images.push(...refs);
      } else {
        imageError = `"${imageKey}" is not an image path, URL, data URL or {"bytes", "path"} object`;
      }
    }
    for (const url of imagesInMessages(inputValue)) {
      images.push(classifyImage(url));
    }
    const referenceKey = keyForRole(fields, 'reference', this.mapping);
    let reference = referenceKey === undefined ? undefined : getField(fields, referenceKey);
    const finalAnswer = referenceKey === undefined ? splitFinalAnswer(messages) : undefined;
    if (finalAnswer) {
      messages = finalAnswer.prompt;
      reference = finalAnswer.answer;
    }
    const outputsKey = keyForRole(fields, 'outputs', this.mapping);
    const outputs = outputsKey === undefined ? undefined : asOutputs(getField(fields, outputsKey));
    return {
      index: position,
      line: this.index.lines[position],
      id: this.index.ids[position],
      rawId: this.index.rawIds[position],
      input: inputText(inputValue, messages),
      messages,
      images,
      ...(imageError ? { imageError } : {}),
      reference: typeof reference === 'string' && reference !== '' ? reference : undefined,
      outputs: outputs?.outputs ?? dict<string>(),
      fields,
      hash: this.index.hashes.get(position),
    };
  }

  private checkIndex(index: number): number {
    if (!Number.isInteger(index) || index < 0 || index >= this.index.ids.length) {
      throw new RangeError(`row ${index} is out of range (the dataset has ${this.index.ids.length} rows)`);
    }
    return index;
  }
}
