// The panel's text search at 100,000 rows: every row's text, lower-cased once into a few large strings,
// so a search is a handful of indexOf passes instead of reading and parsing every row again.
import type { Dataset } from '../dataset/datasetReader';
import type { DatasetRow } from '../dataset/types';
import { readRowsInBlocks } from './rowBlocks';

/** Characters per block: large enough that indexOf runs long, small enough to stay far below V8's string limit. */
const BLOCK_CHARS = 8 << 20;
/** Past this many characters (about the text of a 500 MB file), the index is not kept: searches read the rows. */
const MAX_INDEX_CHARS = 512 << 20;
/** Between fields and rows; no needle typed in a search box holds it, so no match spans two fields. */
const SEPARATOR = '\u0000';

interface Block {
  readonly text: string;
  /** Row index of each row in the block, ascending. */
  readonly rows: Int32Array;
  /** Where each row's text starts in `text`. */
  readonly starts: Int32Array;
}

/** The searchable text of a row as the dataset holds it: id, input, reference and precomputed outputs. */
export function rowSearchText(row: DatasetRow): string[] {
  return [row.id, row.input, row.reference ?? '', ...Object.values(row.outputs)];
}

/** What a needle is compared with: the text lower-cased (the search is case-insensitive). */
export function foldCase(text: string): string {
  return text.toLowerCase();
}

/** Limits of one index (tests make blocks small to cross their edges). */
export interface TextIndexLimits {
  readonly blockChars?: number;
  readonly maxChars?: number;
}

/**
 * Case-folded text per row, in a few large strings; `search` answers which rows hold a needle in any
 * of their fields. Built once per dataset snapshot (a Dataset object never changes; an edit makes a
 * new one), or from the stored outputs of one state of the results.
 */
export class TextIndex {
  /** Use build() or fromFolded(). */
  constructor(
    private readonly blocks: readonly Block[],
    readonly rowCount: number,
  ) {}

  /**
   * Reads every row once, block by block (yielding to the event loop between reads). Undefined when the
   * text is too large to keep in memory, or a row could not be read (the file changed under the read).
   */
  static async build(dataset: Pick<Dataset, 'readRows' | 'getRow' | 'rowCount'>, limits: TextIndexLimits = {}): Promise<TextIndex | undefined> {
    const builder = new TextIndexBuilder(limits);
    for await (const [index, row] of readRowsInBlocks(dataset, range(dataset.rowCount))) {
      if (!row || !builder.add(index, rowSearchText(row).map(foldCase))) return undefined;
    }
    return builder.finish(dataset.rowCount);
  }

  /** From texts already case-folded, by row index ascending; undefined past the size limit. */
  static fromFolded(rowCount: number, rows: Iterable<readonly [number, readonly string[]]>, limits: TextIndexLimits = {}): TextIndex | undefined {
    const builder = new TextIndexBuilder(limits);
    for (const [index, texts] of rows) if (!builder.add(index, texts)) return undefined;
    return builder.finish(rowCount);
  }

  /** Rows (ascending) whose text holds `needle`, already case-folded; only rows in `within` when given. */
  search(needle: string, within?: readonly number[]): number[] {
    const hits: number[] = [];
    if (needle.includes(SEPARATOR)) return hits;
    const allowed = within ? new Uint8Array(this.rowCount) : undefined;
    if (allowed && within) for (const i of within) if (i >= 0 && i < this.rowCount) allowed[i] = 1;
    for (const block of this.blocks) {
      let from = 0;
      for (;;) {
        const at = block.text.indexOf(needle, from);
        if (at < 0) break;
        const k = lastAtOrBefore(block.starts, at);
        const row = block.rows[k];
        if (!allowed || allowed[row]) hits.push(row);
        // One hit a row is enough: go on from the next row's text.
        if (k + 1 >= block.starts.length) break;
        from = block.starts[k + 1];
      }
    }
    return hits;
  }
}

class TextIndexBuilder {
  private readonly blocks: Block[] = [];
  private parts: string[] = [];
  private rows: number[] = [];
  private starts: number[] = [];
  private chars = 0;
  private total = 0;
  private readonly blockChars: number;
  private readonly maxChars: number;

  constructor(limits: TextIndexLimits) {
    this.blockChars = limits.blockChars ?? BLOCK_CHARS;
    this.maxChars = limits.maxChars ?? MAX_INDEX_CHARS;
  }

  /** Adds a row's folded texts; false once the index is over its size limit. */
  add(index: number, texts: readonly string[]): boolean {
    const text = SEPARATOR + texts.join(SEPARATOR);
    if (this.chars > 0 && this.chars + text.length > this.blockChars) this.flush();
    this.rows.push(index);
    this.starts.push(this.chars);
    this.parts.push(text);
    this.chars += text.length;
    this.total += text.length;
    return this.total <= this.maxChars;
  }

  finish(rowCount: number): TextIndex {
    this.flush();
    return new TextIndex(this.blocks, rowCount);
  }

  private flush(): void {
    if (this.rows.length === 0) return;
    this.blocks.push({ text: this.parts.join(''), rows: Int32Array.from(this.rows), starts: Int32Array.from(this.starts) });
    this.parts = [];
    this.rows = [];
    this.starts = [];
    this.chars = 0;
  }
}

/** The last position k with sorted[k] <= value (sorted ascending, sorted[0] <= value). */
function lastAtOrBefore(sorted: Int32Array, value: number): number {
  let low = 0;
  let high = sorted.length - 1;
  while (low < high) {
    const mid = (low + high + 1) >> 1;
    if (sorted[mid] <= value) low = mid;
    else high = mid - 1;
  }
  return low;
}

function* range(n: number): Generator<number> {
  for (let i = 0; i < n; i++) yield i;
}
