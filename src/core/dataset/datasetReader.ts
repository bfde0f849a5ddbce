import * as fs from 'node:fs';
import * as path from 'node:path';
import { DatasetChangedError, DatasetReadError } from './errors';
import { readRowContent } from './fields';
import { indexDecoded } from './decoding';
import { isGzip, readHead, refusedFormat, utf16Of } from './format';
import { Indexer } from './indexer';
import { indexInParts, indexRange, indexThreads } from './parallelIndex';
import { digestBytes } from './rowHashes';
import { RowIdTable } from './rowIds';
import { BufferSource, FileSource, type Source } from './source';
import type { DatasetRow, Finding, OpenDatasetOptions, ResolvedMapping } from './types';

/** A PiSAR JSONL dataset: an index of its lines, rows parsed on demand. */
/** Bytes rows() reads at once (a longer row is read alone). */
const ROWS_BLOCK_BYTES = 8 * 1024 * 1024;

export class Dataset {
  private constructor(
    readonly file: string,
    private readonly source: Source,
    private readonly index: Indexer,
    private readonly options: OpenDatasetOptions,
  ) {
    this.mapping = index.detector.resolve(options.mapping);
  }

  /** The field mapping in force: configured roles, and for the rest the keys most rows use. */
  readonly mapping: ResolvedMapping;

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
    if (isGzip(head) || utf16Of(head)) {
      // Decompressed or converted as it streams through the indexer; rows are served from memory.
      const blocks = await indexDecoded(absolute, head, indexer, options.maxInflatedBytes);
      indexer.end();
      return new Dataset(absolute, blocks, indexer, options);
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
    return new Dataset(absolute, new FileSource(absolute), indexer, options);
  }

  /** Indexes text held in memory (an editor's buffer, unsaved edits included). */
  static fromText(file: string, text: string, options: OpenDatasetOptions = {}): Dataset {
    const absolute = path.resolve(file);
    const buffer = Buffer.from(text, 'utf8');
    const indexer = new Indexer(absolute, options);
    indexer.push(buffer);
    indexer.end();
    return new Dataset(absolute, new BufferSource(buffer), indexer, options);
  }

  get rowCount(): number {
    return this.index.rows;
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

  /** rowHash(index) === hash, with no string made for the row's hash (a reader checking a million results against their rows). */
  hasRowHash(index: number, hash: string): boolean {
    return this.index.hashes.is(this.checkIndex(index), hash);
  }

  /** The first row whose hash is `hash` (rowHash(index) === hash), undefined when none. */
  indexOfRowHash(hash: string): number | undefined {
    return this.index.hashes.indexOf(hash);
  }

  indexOfId(id: string): number | undefined {
    this.idPositions ??= new RowIdTable(this.index.ids);
    return this.idPositions.get(id);
  }
  private idPositions: RowIdTable | undefined;

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
    this.rowsOf(bytes, start, low, high, want, rows, first, false);
    return rows;
  }

  /**
   * Rows low..high (those wanted) from `bytes`, read from file offset `start`, into rows[position - first]. `checked`: the
   * bytes are known to be those indexed (a block's digest: ByteBlocks), else each row is checked against its hash.
   */
  private rowsOf(bytes: Buffer, start: number, low: number, high: number, want: (index: number) => boolean, rows: (DatasetRow | undefined)[], first: number, checked: boolean): void {
    const { offsets, lengths } = this.index;
    for (let position = low; position <= high; position++) {
      if (!want(position)) continue;
      const from = offsets[position] - start;
      const line = bytes.subarray(from, from + lengths[position]);
      if (!checked && (line.length !== lengths[position] || !this.sameHash(line, position))) {
        throw new DatasetChangedError(this.file, this.index.lines[position]);
      }
      rows[position - first] = this.buildRow(position, JSON.parse(line.toString('utf8')) as Record<string, unknown>);
    }
  }

  /** True when the bytes read are the row indexed (always, when the index was built without hashes). */
  private sameHash(bytes: Uint8Array, position: number): boolean {
    // The digest's bytes against the index's (a hex string a row cost a fifth of this check at a million rows).
    const hashes = this.index.hashes;
    return hashes.empty || hashes.matches(position, digestBytes(bytes));
  }

  /**
   * Rows in file order, read sequentially in blocks of up to 8 MiB (one read per block, not one per row: a
   * 1,000,000-row report spent a minute waiting on per-row reads).
   */
  async *rows(): AsyncGenerator<DatasetRow> {
    const { offsets, lengths, blocks } = this.index;
    let first = 0;
    if (!this.index.hashes.empty) {
      // Block by block as the index digested them (ByteBlocks: no row is in two): a block read back as it was indexed needs
      // no row checked; one that differs (or was cut short) has each of its rows checked against its hash, as before.
      const all = () => true;
      for (let k = 0; k < blocks.count && first < this.rowCount; k++) {
        const start = blocks.start(k);
        let end = first;
        while (end < this.rowCount && offsets[end] < blocks.end(k)) end++;
        if (end === first || offsets[first] < start) continue;
        const bytes = await this.source.read(start, blocks.end(k) - start);
        const block: (DatasetRow | undefined)[] = new Array(end - first);
        this.rowsOf(bytes, start, first, end - 1, all, block, first, blocks.holds(k, bytes));
        for (const row of block) yield row!;
        first = end;
      }
    }
    for (; first < this.rowCount; ) {
      let end = first + 1;
      while (end < this.rowCount && offsets[end] + lengths[end] - offsets[first] <= ROWS_BLOCK_BYTES) end++;
      const block = await this.readRows(first, end, () => true);
      for (const row of block) yield row!;
      first = end;
    }
  }

  /** Releases the file handle used for random access (reopened on the next read). */
  async close(): Promise<void> {
    await this.source.close();
  }

  /** The row as every reader sees it: the one reading of its fields the index also made (readRowContent). */
  private buildRow(position: number, fields: Record<string, unknown>): DatasetRow {
    const content = readRowContent(fields, this.options.mapping);
    return {
      index: position,
      line: this.index.lines[position],
      id: this.index.ids[position],
      rawId: this.index.rawIds[position],
      input: content.inputText,
      messages: content.messages,
      images: content.images,
      ...(content.inputParts ? { inputParts: content.inputParts } : {}),
      ...(content.placeholderProblem?.fails ? { placeholderError: content.placeholderProblem.message } : {}),
      ...(content.imageError ? { imageError: content.imageError } : {}),
      reference: content.referenceText,
      ...(content.referenceTexts ? { references: content.referenceTexts } : {}),
      outputs: content.outputTexts,
      fields,
      hash: this.index.hashes.get(position),
    };
  }

  private checkIndex(index: number): number {
    if (!Number.isInteger(index) || index < 0 || index >= this.index.rows) {
      throw new RangeError(`row ${index} is out of range (the dataset has ${this.index.rows} rows)`);
    }
    return index;
  }
}
