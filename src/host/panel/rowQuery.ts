import type { RowFilter, RowQuery, RowView, ScoreView } from '../../shared/protocol';
import type { PanelData, PanelRow } from './panelData';

/**
 * Sorting and filtering over the row index, host-side, so the webview never holds the whole file.
 * Scores and annotations are read from the stores per row; text is read by streaming the dataset
 * once per dataset version (text sort keys) or once per search string (text filter).
 */

/** Characters of input/reference kept per row as sort keys. */
const SORT_KEY_CHARS = 64;
/** Characters of input/reference sent per row in a page. */
const SNIPPET_CHARS = 200;

const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });

/** Caches that live as long as one dataset version (scores may change; text does not). */
export class TextIndex {
  private sortKeys: { input: string[]; reference: string[] } | undefined;
  private searches = new Map<string, Uint8Array>();

  constructor(private readonly data: PanelData) {}

  async sortKeysFor(column: 'input' | 'reference'): Promise<string[]> {
    if (!this.sortKeys) {
      const input: string[] = new Array(this.data.rowCount).fill('');
      const reference: string[] = new Array(this.data.rowCount).fill('');
      for await (const row of this.data.rows()) {
        input[row.index] = firstLine(row.input).slice(0, SORT_KEY_CHARS);
        reference[row.index] = (row.reference ?? '').slice(0, SORT_KEY_CHARS);
      }
      this.sortKeys = { input, reference };
    }
    return this.sortKeys[column];
  }

  /** Rows whose id, input, reference or precomputed outputs contain `text` (case-insensitive). */
  async matches(text: string): Promise<Uint8Array> {
    const needle = text.toLowerCase();
    const cached = this.searches.get(needle);
    if (cached) return cached;
    const mask = new Uint8Array(this.data.rowCount);
    for await (const row of this.data.rows()) {
      if (rowContains(row, needle)) mask[row.index] = 1;
    }
    // Keep the last few searches only: typing narrows a search one character at a time.
    if (this.searches.size >= 8) this.searches.delete(this.searches.keys().next().value as string);
    this.searches.set(needle, mask);
    return mask;
  }
}

function rowContains(row: PanelRow, needle: string): boolean {
  if (row.id.toLowerCase().includes(needle)) return true;
  if (row.input.toLowerCase().includes(needle)) return true;
  if (row.reference !== undefined && row.reference.toLowerCase().includes(needle)) return true;
  for (const output of Object.values(row.outputs)) if (output.toLowerCase().includes(needle)) return true;
  return false;
}

function firstLine(text: string): string {
  const trimmed = text.trimStart();
  const end = trimmed.indexOf('\n');
  return end === -1 ? trimmed : trimmed.slice(0, end);
}

/** The score of a model on a row, or undefined when there is no usable score. */
function scoreOf(data: PanelData, index: number, model: string): number | undefined {
  const result = data.resultOf(index, model);
  return result && typeof result.score === 'number' ? result.score : undefined;
}

/** True when every model has a score for the row and all are below the threshold. */
export function isSuspect(data: PanelData, index: number): boolean {
  if (data.models.length === 0) return false;
  for (const model of data.models) {
    const score = scoreOf(data, index, model);
    if (score === undefined || score >= data.threshold) return false;
  }
  return true;
}

function isBelow(data: PanelData, index: number, filter: NonNullable<RowFilter['below']>): boolean {
  const models = filter === 'any' ? data.models : [filter.model];
  for (const model of models) {
    const score = scoreOf(data, index, model);
    if (score !== undefined && score < data.threshold) return true;
  }
  return false;
}

function isUnscored(data: PanelData, index: number): boolean {
  for (const model of data.models) if (!data.resultOf(index, model)) return true;
  return false;
}

/** Positions -> row indexes of the rows in view, filtered and sorted (ties keep file order). */
export async function computeOrder(data: PanelData, text: TextIndex, query: RowQuery): Promise<Int32Array> {
  const { filter, sort } = query;
  const needle = filter.text?.trim() ?? '';
  const mask = needle ? await text.matches(needle) : undefined;
  const kept: number[] = [];
  for (let index = 0; index < data.rowCount; index++) {
    if (mask && !mask[index]) continue;
    if (filter.below && !isBelow(data, index, filter.below)) continue;
    if (filter.suspect && !isSuspect(data, index)) continue;
    if (filter.annotated && data.annotationsOf(index).length === 0) continue;
    if (filter.unscored && !isUnscored(data, index)) continue;
    kept.push(index);
  }
  const sign = sort.descending ? -1 : 1;
  const column = sort.column;
  if (column === 'index') {
    if (sort.descending) kept.reverse();
  } else if (column === 'id') {
    const ids = data.rowIds();
    kept.sort((a, b) => sign * collator.compare(ids[a], ids[b]) || a - b);
  } else if (column === 'input' || column === 'reference') {
    const keys = await text.sortKeysFor(column);
    kept.sort((a, b) => sign * collator.compare(keys[a], keys[b]) || a - b);
  } else if (column === 'annotation') {
    const labels = new Map<number, string>();
    for (const index of kept) {
      const annotations = data.annotationsOf(index);
      if (annotations.length > 0) labels.set(index, annotations.map((a) => a.label).sort().join(','));
    }
    // Rows without a label go last in both directions: the labelled ones are what you sort for.
    kept.sort((a, b) => {
      const la = labels.get(a);
      const lb = labels.get(b);
      if (la === undefined || lb === undefined) return (la === undefined ? 1 : 0) - (lb === undefined ? 1 : 0) || a - b;
      return sign * collator.compare(la, lb) || a - b;
    });
  } else {
    const model = column.slice('score:'.length);
    const scores = new Float64Array(data.rowCount).fill(Number.NaN);
    for (const index of kept) scores[index] = scoreOf(data, index, model) ?? Number.NaN;
    // Unscored rows go last in both directions.
    kept.sort((a, b) => {
      const sa = scores[a];
      const sb = scores[b];
      const na = Number.isNaN(sa);
      const nb = Number.isNaN(sb);
      if (na || nb) return (na ? 1 : 0) - (nb ? 1 : 0) || a - b;
      return sign * (sa - sb) || a - b;
    });
  }
  return Int32Array.from(kept);
}

export function snippet(text: string, limit = SNIPPET_CHARS): string {
  const line = firstLine(text);
  const more = line.length > limit || line.length < text.trim().length;
  return more ? line.slice(0, limit) + '…' : line;
}

export function scoreView(data: PanelData, index: number, model: string): ScoreView | undefined {
  const result = data.resultOf(index, model);
  if (!result) return undefined;
  return {
    score: typeof result.score === 'number' ? result.score : null,
    ...(result.error !== undefined ? { error: result.error } : {}),
    ...(result.stale ? { stale: true } : {}),
  };
}

export function rowView(data: PanelData, row: PanelRow): RowView {
  const scores: Record<string, ScoreView> = {};
  for (const model of data.models) {
    const view = scoreView(data, row.index, model);
    if (view) scores[model] = view;
  }
  return {
    index: row.index,
    line: row.line,
    id: row.id,
    input: snippet(row.input),
    reference: row.reference === undefined ? null : snippet(row.reference),
    scores,
    annotations: data.annotationsOf(row.index),
    suspect: isSuspect(data, row.index),
    hasImage: row.images.length > 0,
  };
}
