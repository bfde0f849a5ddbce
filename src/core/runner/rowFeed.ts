// Rows for a run, read in one sequential pass: blocks of rows are read with one read each (the next
// block ahead of need), parsed once, shared by every model lane that needs them, and dropped when the
// last lane is done with them, so memory holds only the rows in flight whatever the dataset's size.
import type { Dataset } from '../dataset/datasetReader';
import type { DatasetRow } from '../dataset/types';

/** Rows per block (one read each). */
const BLOCK_ROWS = 256;

interface Block {
  rows: Promise<(DatasetRow | undefined)[]>;
  /** Uses left (sum of the rows' uses): the block is dropped at 0. */
  uses: number;
}

export class RowFeed {
  private readonly blocks = new Map<number, Block>();

  constructor(
    private readonly dataset: Pick<Dataset, 'readRows' | 'rowCount'>,
    /** How many lanes still need each row; decremented by release(). */
    private readonly rowUses: Uint32Array,
  ) {}

  /** Blocks held in memory (for tests). */
  get heldBlocks(): number {
    return this.blocks.size;
  }

  async get(index: number): Promise<DatasetRow> {
    const number = Math.floor(index / BLOCK_ROWS);
    const block = this.block(number);
    // Read ahead: the next block is on its way while this one is parsed and used.
    if (!this.blocks.has(number + 1)) this.block(number + 1);
    if (!block) throw new RangeError(`row ${index} was not planned for this run`);
    const row = (await block.rows)[index - number * BLOCK_ROWS];
    if (!row) throw new RangeError(`row ${index} was not planned for this run`);
    return row;
  }

  /** One lane is done with a row. */
  release(index: number): void {
    if (this.rowUses[index] === 0) return;
    this.rowUses[index]--;
    const number = Math.floor(index / BLOCK_ROWS);
    const block = this.blocks.get(number);
    if (block && --block.uses <= 0) this.blocks.delete(number);
  }

  private block(number: number): Block | undefined {
    let block = this.blocks.get(number);
    if (block) return block;
    const first = number * BLOCK_ROWS;
    const end = Math.min(this.dataset.rowCount, first + BLOCK_ROWS);
    let uses = 0;
    for (let i = first; i < end; i++) uses += this.rowUses[i];
    if (uses === 0) return undefined;
    block = { rows: this.dataset.readRows(first, end, (i) => this.rowUses[i] > 0), uses };
    block.rows.catch(() => undefined); // a read-ahead nobody awaits yet must not be an unhandled rejection
    this.blocks.set(number, block);
    return block;
  }
}
