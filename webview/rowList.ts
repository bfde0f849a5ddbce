import type { RowsPage, RowView, ScoreView, SortColumn, RowSort } from '../src/shared/protocol';
import { el } from './dom';

/** Height of one row in pixels; the list positions rows by it, so CSS uses the same value. */
export const ROW_HEIGHT = 24;
/** Rows per page asked of the host. */
export const PAGE_SIZE = 100;
/** Rows rendered above and below the visible ones, so fast scrolling shows text, not gaps. */
const OVERSCAN = 10;
/** Pages kept in memory; older ones are fetched again when scrolled back to. */
const MAX_PAGES = 40;

export interface RowListCallbacks {
  requestPage(generation: number, start: number, count: number): Promise<RowsPage>;
  /** The user selected a row (click or key). */
  onSelect(row: RowView): void;
  /** Enter or double click on a row. */
  onOpen(row: RowView): void;
  onSort(sort: RowSort): void;
  /** A key the list does not handle itself; return true when handled. */
  onKey(event: KeyboardEvent): boolean;
  onError(error: Error): void;
  /** The user resized a column (dragged or keyed its header edge, or reset it): every width set, in pixels. */
  onColumnsResized?(widths: Readonly<Record<string, number>>): void;
}

/** Narrowest a column can be dragged to, in pixels. */
const MIN_COLUMN_PX = 36;
/** Pixels an arrow key moves a focused column edge. */
const KEY_RESIZE_PX = 16;

interface RowElement {
  root: HTMLDivElement;
  line: HTMLDivElement;
  id: HTMLDivElement;
  input: HTMLDivElement;
  reference: HTMLDivElement;
  scores: { cell: HTMLDivElement; glyph: HTMLSpanElement; value: HTMLSpanElement; output: HTMLSpanElement }[];
  labels: HTMLDivElement;
}

/**
 * A virtualised grid: only the rows in sight (plus a few) exist in the DOM, positioned by transform
 * inside a spacer as tall as all rows. Rows arrive from the host in pages on demand.
 */
export class RowList {
  readonly element: HTMLDivElement;
  private readonly header: HTMLDivElement;
  private readonly viewport: HTMLDivElement;
  private readonly spacer: HTMLDivElement;
  private readonly body: HTMLDivElement;
  private readonly empty: HTMLDivElement;
  private pool: RowElement[] = [];
  private models: readonly string[] = [];
  private labels: Readonly<Record<string, string>> = {};
  private threshold = 0.7;
  private generation = -1;
  private total = 0;
  private sort: RowSort = { column: 'index', descending: false };
  private pages = new Map<number, readonly RowView[]>();
  private pending = new Set<number>();
  private selectedPosition: number | null = null;
  /** The selected row's id: an edit above it moves its index and position, never its id. */
  private selectedId: string | null = null;
  /** A selection made on a row whose page is still loading: announce it once it arrives. */
  private announceWhenLoaded = false;
  private frame = 0;
  private emptyText = 'Open a PiSAR .jsonl file to review it here.';
  /** Column key (a SortColumn) -> width in pixels the user gave it; other columns take their default track. */
  private widths = new Map<string, number>();
  /** Each model's output text shown in its score cell (the Outputs toggle). */
  private outputsShown = false;
  /** Characters of the longest id on the first page of the view: the Id column's default width. */
  private idChars = 0;

  constructor(private readonly callbacks: RowListCallbacks) {
    this.header = el('div', { className: 'grid-header', attrs: { role: 'row', 'aria-rowindex': '1' } });
    this.spacer = el('div', { className: 'grid-spacer' });
    this.body = el('div', { className: 'grid-rows', attrs: { role: 'rowgroup' } });
    this.viewport = el('div', { className: 'grid-viewport', testid: 'rows-viewport' }, this.spacer, this.body);
    this.empty = el('div', { className: 'grid-empty', testid: 'empty', attrs: { role: 'note' } });
    this.element = el(
      'div',
      { className: 'grid', testid: 'rows', attrs: { role: 'grid', tabindex: '0', 'aria-label': 'Rows', 'aria-rowcount': '1', 'aria-multiselectable': 'false' } },
      this.header,
      this.viewport,
      this.empty,
    );
    this.element.style.setProperty('--row-height', `${ROW_HEIGHT}px`);
    this.viewport.addEventListener('scroll', () => this.schedule());
    new ResizeObserver(() => this.schedule()).observe(this.viewport);
    this.element.addEventListener('keydown', (e) => this.onKeyDown(e));
    this.body.addEventListener('click', (e) => {
      const position = this.positionOf(e.target);
      if (position !== undefined) {
        this.select(position, { announce: true, scroll: false });
        this.element.focus({ preventScroll: true });
      }
    });
    this.body.addEventListener('dblclick', (e) => {
      const position = this.positionOf(e.target);
      const row = position === undefined ? undefined : this.rowAt(position);
      if (row) this.callbacks.onOpen(row);
    });
    this.renderEmpty();
  }

  /** Model columns; `labels` are their short names for the headers (the full name is the header's title). */
  setColumns(models: readonly string[], threshold: number, labels: Readonly<Record<string, string>> = {}): void {
    const label = (m: string) => labels[m] ?? m;
    const changed = models.join('\u0000') !== this.models.join('\u0000') || models.some((m) => label(m) !== (this.labels[m] ?? m));
    this.models = [...models];
    this.labels = { ...labels };
    this.threshold = threshold;
    if (changed) {
      this.pool.forEach((r) => r.root.remove());
      this.pool = [];
      this.renderHeader();
      this.applyColumns();
    }
    this.schedule();
  }

  setSort(sort: RowSort): void {
    this.sort = sort;
    this.renderHeader();
  }

  /** The widths (pixels, by column key) the user gave this file's columns; {} for the defaults. */
  setColumnWidths(widths: Readonly<Record<string, number>>): void {
    this.widths = new Map(Object.entries(widths).filter(([, w]) => Number.isFinite(w) && w >= MIN_COLUMN_PX));
    this.idChars = 0;
    this.applyColumns();
  }

  /** Shows (or hides) each model's output text in its score cell, cut with an ellipsis; the detail has it whole. */
  setOutputsShown(shown: boolean): void {
    if (shown === this.outputsShown) return;
    this.outputsShown = shown;
    this.element.classList.toggle('with-outputs', shown);
    this.applyColumns();
    this.schedule();
  }

  private columnKeys(): string[] {
    return ['index', 'id', 'input', 'reference', ...this.models.map((m) => `score:${m}`), 'annotation'];
  }

  /** The grid's column template: each column's user width, else its default track. */
  private applyColumns(): void {
    const label = (m: string) => this.labels[m] ?? m;
    const defaults: Record<string, string> = {
      index: '5em',
      // Wide enough for the ids of the first page (monospace), so ids that share a long prefix read apart.
      id: this.idChars > 0 ? `minmax(4em, calc(${Math.min(48, this.idChars)}ch + 14px))` : 'minmax(4em, 9em)',
      input: 'minmax(8em, 3fr)',
      reference: 'minmax(8em, 3fr)',
      annotation: 'minmax(5em, 1.2fr)',
    };
    const track = (key: string): string => {
      const width = this.widths.get(key);
      if (width !== undefined) return `${Math.round(width)}px`;
      if (!key.startsWith('score:')) return defaults[key];
      const n = label(key.slice('score:'.length)).length;
      // Each score column is at least as wide as its header's name (plus the sort arrow), so no two headers read alike.
      return this.outputsShown ? `minmax(calc(${n}ch + 2.2em), 3fr)` : `minmax(calc(${n}ch + 2.2em), max(6.5em, calc(${n}ch + 3em)))`;
    };
    this.element.style.setProperty('--grid-columns', this.columnKeys().map(track).join(' '));
  }

  private startResize(event: PointerEvent, key: string, cell: HTMLElement): void {
    event.preventDefault();
    event.stopPropagation();
    const handle = event.currentTarget as HTMLElement;
    handle.setPointerCapture(event.pointerId);
    const startX = event.clientX;
    const startWidth = cell.getBoundingClientRect().width;
    const move = (e: PointerEvent) => {
      this.widths.set(key, Math.max(MIN_COLUMN_PX, startWidth + e.clientX - startX));
      this.applyColumns();
    };
    const end = () => {
      handle.removeEventListener('pointermove', move);
      handle.removeEventListener('pointerup', end);
      handle.removeEventListener('pointercancel', end);
      this.columnsResized();
    };
    handle.addEventListener('pointermove', move);
    handle.addEventListener('pointerup', end);
    handle.addEventListener('pointercancel', end);
  }

  private resizeByKey(event: KeyboardEvent, key: string, cell: HTMLElement): void {
    if (event.key !== 'ArrowLeft' && event.key !== 'ArrowRight') return;
    event.preventDefault();
    event.stopPropagation();
    const width = this.widths.get(key) ?? cell.getBoundingClientRect().width;
    this.widths.set(key, Math.max(MIN_COLUMN_PX, width + (event.key === 'ArrowRight' ? KEY_RESIZE_PX : -KEY_RESIZE_PX)));
    this.applyColumns();
    this.columnsResized();
  }

  private resetWidth(key: string): void {
    this.widths.delete(key);
    this.applyColumns();
    this.columnsResized();
  }

  private columnsResized(): void {
    this.callbacks.onColumnsResized?.(Object.fromEntries(this.widths));
  }

  /** A new view (query or data changed): drop cached pages and fetch what is in sight. */
  setView(generation: number, total: number): void {
    this.generation = generation;
    this.total = total;
    this.pages.clear();
    this.pending.clear();
    this.element.setAttribute('aria-rowcount', String(total + 1));
    this.spacer.style.height = `${total * ROW_HEIGHT}px`;
    // Positions change with the view: find the selected row again by its id as pages arrive.
    this.selectedPosition = null;
    this.updateActiveDescendant();
    this.renderEmpty();
    this.schedule();
  }

  setEmptyText(text: string): void {
    this.emptyText = text;
    this.renderEmpty();
  }

  get selected(): RowView | undefined {
    return this.selectedPosition === null ? undefined : this.rowAt(this.selectedPosition);
  }

  get selectedRowId(): string | null {
    return this.selectedId;
  }

  get scrollTop(): number {
    return this.viewport.scrollTop;
  }

  set scrollTop(value: number) {
    this.viewport.scrollTop = value;
  }

  /** Selects the row at `position` in the view; `announce` tells the app (which reveals it in the editor). */
  select(position: number, options: { announce: boolean; scroll: boolean }): void {
    if (this.total === 0) return;
    const clamped = Math.max(0, Math.min(this.total - 1, position));
    this.selectedPosition = clamped;
    const row = this.rowAt(clamped);
    this.selectedId = row ? row.id : null;
    this.announceWhenLoaded = options.announce && !row;
    if (options.scroll) this.scrollToPosition(clamped);
    this.updateActiveDescendant();
    this.schedule();
    if (row && options.announce) this.callbacks.onSelect(row);
  }

  /** Marks the editor's row as selected without announcing it back (no reveal loop). */
  showCursor(rowId: string, position: number | null): void {
    this.selectedId = rowId;
    this.selectedPosition = position;
    this.announceWhenLoaded = false;
    if (position !== null) this.scrollToPosition(position);
    this.updateActiveDescendant();
    this.schedule();
  }

  /** Moves the selection by `delta` rows (j/k, arrows, page keys). */
  move(delta: number): void {
    const from = this.selectedPosition ?? (delta > 0 ? -1 : this.total);
    this.select(from + delta, { announce: true, scroll: true });
  }

  focus(): void {
    this.element.focus({ preventScroll: true });
  }

  rowAt(position: number): RowView | undefined {
    const page = this.pages.get(Math.floor(position / PAGE_SIZE));
    return page?.[position % PAGE_SIZE];
  }

  /** Rows whose page is loaded, by position; for tests of what is rendered. */
  renderedCount(): number {
    return this.pool.filter((r) => !r.root.hidden).length;
  }

  private visibleRows(): number {
    return Math.max(1, Math.floor(this.viewport.clientHeight / ROW_HEIGHT));
  }

  private scrollToPosition(position: number): void {
    const top = position * ROW_HEIGHT;
    const bottom = top + ROW_HEIGHT;
    if (top < this.viewport.scrollTop) this.viewport.scrollTop = top;
    else if (bottom > this.viewport.scrollTop + this.viewport.clientHeight) this.viewport.scrollTop = bottom - this.viewport.clientHeight;
  }

  private positionOf(target: EventTarget | null): number | undefined {
    const row = target instanceof Element ? target.closest<HTMLElement>('[data-position]') : null;
    if (!row || row.dataset.loading === 'true') return undefined;
    const position = Number(row.dataset.position);
    return Number.isInteger(position) ? position : undefined;
  }

  private onKeyDown(event: KeyboardEvent): void {
    if (event.target !== this.element) return;
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    const page = this.visibleRows();
    let handled = true;
    switch (event.key) {
      case 'ArrowDown':
      case 'j':
        this.move(1);
        break;
      case 'ArrowUp':
      case 'k':
        this.move(-1);
        break;
      case 'PageDown':
        this.move(page);
        break;
      case 'PageUp':
        this.move(-page);
        break;
      case 'Home':
        this.select(0, { announce: true, scroll: true });
        break;
      case 'End':
        this.select(this.total - 1, { announce: true, scroll: true });
        break;
      case 'Enter': {
        const row = this.selected;
        if (row) this.callbacks.onOpen(row);
        break;
      }
      default:
        handled = this.callbacks.onKey(event);
    }
    if (handled) event.preventDefault();
  }

  private schedule(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.render();
    });
  }

  private renderEmpty(): void {
    this.empty.hidden = this.total > 0;
    this.empty.textContent = this.emptyText;
  }

  private renderHeader(): void {
    const columns: { column: SortColumn; label: string; title: string }[] = [
      { column: 'index', label: '#', title: 'Line in the file; sort by position' },
      { column: 'id', label: 'Id', title: 'Sort by id' },
      { column: 'input', label: 'Input', title: 'Sort by input text' },
      { column: 'reference', label: 'Reference', title: 'Sort by reference text' },
      ...this.models.map((m) => ({ column: `score:${m}` as SortColumn, label: this.labels[m] ?? m, title: `${m}: sort by its score` })),
      { column: 'annotation', label: 'Labels', title: 'Sort by annotation label' },
    ];
    this.header.replaceChildren(
      ...columns.map(({ column, label, title }) => {
        const active = this.sort.column === column;
        const arrow = active ? (this.sort.descending ? ' ▼' : ' ▲') : '';
        const button = el('button', {
          className: 'sort-button',
          text: label + arrow,
          testid: `sort-${column}`,
          attrs: { type: 'button', title, 'aria-label': title },
        });
        button.addEventListener('click', () => {
          const descending = active ? !this.sort.descending : column.startsWith('score:');
          this.callbacks.onSort({ column, descending });
        });
        const cell = el('div', {
          className: `grid-cell head ${column.startsWith('score:') ? 'score' : column}`,
          attrs: { role: 'columnheader', 'aria-sort': active ? (this.sort.descending ? 'descending' : 'ascending') : 'none' },
        });
        const edge = el('div', {
          className: 'column-resize',
          testid: `resize-${column}`,
          attrs: { role: 'separator', 'aria-orientation': 'vertical', tabindex: '0', 'aria-label': `Resize the ${label} column`, title: 'Drag to resize (arrow keys when focused); double-click for the default width' },
        });
        edge.addEventListener('pointerdown', (e) => this.startResize(e, column, cell));
        edge.addEventListener('keydown', (e) => this.resizeByKey(e, column, cell));
        edge.addEventListener('dblclick', () => this.resetWidth(column));
        edge.addEventListener('click', (e) => e.stopPropagation());
        cell.dataset.column = column;
        cell.append(button, edge);
        return cell;
      }),
    );
  }

  private makeRow(): RowElement {
    const cell = (className: string, testid: string) => el('div', { className: `grid-cell ${className}`, testid, attrs: { role: 'gridcell' } });
    const line = cell('index', 'cell-line');
    const id = cell('id', 'cell-id');
    const input = cell('input', 'cell-input');
    const reference = cell('reference', 'cell-reference');
    const scores = this.models.map((model) => {
      const glyph = el('span', { className: 'glyph', attrs: { 'aria-hidden': 'true' } });
      const value = el('span', { className: 'value' });
      const output = el('span', { className: 'output', testid: 'cell-output' });
      const c = cell('score', 'score');
      c.dataset.model = model;
      c.append(glyph, value, output);
      return { cell: c, glyph, value, output };
    });
    const labels = cell('labels', 'labels');
    const root = el('div', { className: 'grid-row', testid: 'row', attrs: { role: 'row' } }, line, id, input, reference, ...scores.map((s) => s.cell), labels);
    this.body.append(root);
    return { root, line, id, input, reference, scores, labels };
  }

  private render(): void {
    const height = this.viewport.clientHeight;
    const first = Math.max(0, Math.floor(this.viewport.scrollTop / ROW_HEIGHT) - OVERSCAN);
    const last = Math.min(this.total, Math.ceil((this.viewport.scrollTop + height) / ROW_HEIGHT) + OVERSCAN);
    const count = Math.max(0, last - first);
    while (this.pool.length < count) this.pool.push(this.makeRow());
    for (let k = 0; k < this.pool.length; k++) {
      const element = this.pool[k];
      if (k >= count) {
        // A spare element names no row: when the viewport shrinks (the summary below it grows), the
        // rows it showed are still drawn by other elements, and one row must not be found twice.
        element.root.hidden = true;
        delete element.root.dataset.rowId;
        delete element.root.dataset.rowIndex;
        delete element.root.dataset.position;
        continue;
      }
      element.root.hidden = false;
      this.fill(element, first + k);
    }
    this.fetch(first, last);
  }

  private fill(element: RowElement, position: number): void {
    const row = this.rowAt(position);
    if (row && this.selectedPosition === null && row.id === this.selectedId) {
      this.selectedPosition = position;
      this.updateActiveDescendant();
    }
    const root = element.root;
    root.style.transform = `translateY(${position * ROW_HEIGHT}px)`;
    root.dataset.position = String(position);
    root.id = `row-${position}`;
    root.setAttribute('aria-rowindex', String(position + 2));
    const selected = position === this.selectedPosition;
    root.classList.toggle('selected', selected);
    root.setAttribute('aria-selected', String(selected));
    if (!row) {
      root.dataset.loading = 'true';
      delete root.dataset.rowIndex;
      delete root.dataset.rowId;
      delete root.dataset.below;
      delete root.dataset.suspect;
      element.line.textContent = '';
      element.id.textContent = '…';
      element.input.textContent = '';
      element.reference.textContent = '';
      for (const s of element.scores) {
        this.fillScore(s, undefined, '');
        s.output.textContent = '';
      }
      element.labels.textContent = '';
      return;
    }
    delete root.dataset.loading;
    root.dataset.rowIndex = String(row.index);
    root.dataset.rowId = row.id;
    let below = false;
    element.line.textContent = String(row.line);
    element.id.textContent = row.id;
    element.id.title = row.id;
    element.input.textContent = row.hasImage ? `[image] ${row.input}` : row.input;
    element.input.title = row.input;
    element.reference.textContent = row.reference ?? '—';
    element.reference.title = row.reference ?? 'No reference rationale';
    element.reference.classList.toggle('missing', row.reference === null);
    this.models.forEach((model, m) => {
      // A model named like an Object.prototype key (constructor, toString) is data: own keys only.
      const score = Object.prototype.hasOwnProperty.call(row.scores, model) ? row.scores[model] : undefined;
      if (score?.below) below = true;
      this.fillScore(element.scores[m], score, model);
      // Only with the toggle on: the cell's text is its score otherwise (screen readers, copy, tests).
      const output = this.outputsShown && Object.prototype.hasOwnProperty.call(row.outputs ?? {}, model) ? row.outputs[model] : '';
      element.scores[m].output.textContent = output;
      element.scores[m].output.title = output;
    });
    root.dataset.below = String(below);
    root.dataset.suspect = String(row.suspect);
    root.classList.toggle('suspect', row.suspect);
    const labels = row.annotations.map((a) => `${a.target === 'reference' ? '' : `${a.target}: `}${a.label}${a.stale ? ' (row changed)' : ''}`);
    const disagree = (row.disagreeOn?.length ?? 0) > 0;
    const settled = row.settled ?? [];
    element.labels.textContent = `${disagree ? '≠ ' : ''}${labels.length ? `⚑ ${labels.join(', ')}` : ''}${settled.length ? ` ✓ ${settled.map((s) => s.label).join(', ')}` : ''}`;
    element.labels.title = [
      ...(disagree ? [`Reviewers disagree on ${row.disagreeOn!.join(', ')}: open the row to settle it`] : []),
      ...row.annotations.map((a) => `${a.target}: ${a.label}${a.reviewer ? ` (${a.reviewer})` : ''}${a.note ? ` — ${a.note}` : ''}`),
      ...settled.map((s) => `settled: ${s.target} is ${s.label}${s.reviewer ? ` (by ${s.reviewer})` : ''}`),
    ].join('\n');
    element.labels.dataset.count = String(row.annotations.length);
    root.dataset.disagree = String(disagree);
    if (selected && this.selectedId !== row.id) {
      this.selectedId = row.id;
      if (this.announceWhenLoaded) {
        this.announceWhenLoaded = false;
        this.callbacks.onSelect(row);
      }
    }
  }

  private fillScore(s: RowElement['scores'][number], score: ScoreView | undefined, model: string): void {
    const cell = s.cell;
    delete cell.dataset.below;
    delete cell.dataset.failed;
    delete cell.dataset.stale;
    delete cell.dataset.fromFile;
    delete cell.dataset.contradicts;
    delete cell.dataset.unscored;
    cell.className = 'grid-cell score';
    if (!score) {
      s.glyph.textContent = '';
      s.value.textContent = model ? '·' : '';
      cell.setAttribute('aria-label', model ? `${model}: not scored` : '');
      cell.title = model ? 'Not scored' : '';
      return;
    }
    if (score.score === null && score.error === undefined && score.unscored) {
      // Stored without a score because scoring failed: a problem to fix, unlike a row without a reference.
      cell.dataset.unscored = 'true';
      cell.classList.add('failed');
      s.glyph.textContent = '⚠';
      s.value.textContent = 'unscored';
      const why = score.note ?? 'the embedding step did not finish';
      cell.setAttribute('aria-label', `${model}: not scored: ${why}`);
      cell.title = `Not scored: ${why}`;
      return;
    }
    if (score.score === null && score.error === undefined) {
      // An output without a score (the row has no reference): not a failure.
      s.glyph.textContent = '';
      s.value.textContent = 'n/a';
      const why = score.note ?? 'the output could not be scored';
      cell.setAttribute('aria-label', `${model}: no score (${why})`);
      cell.title = `No score: ${why}`;
      return;
    }
    if (score.score === null) {
      cell.dataset.failed = 'true';
      cell.classList.add('failed');
      s.glyph.textContent = '⚠';
      s.value.textContent = 'fail';
      cell.setAttribute('aria-label', `${model}: failed${score.error ? `: ${score.error}` : ''}`);
      cell.title = score.error ?? 'Failed';
      return;
    }
    // The host decides and formats with the review rules (src/core/rules/rules), as the editor does.
    const below = score.below === true;
    if (below) {
      cell.dataset.below = 'true';
      cell.classList.add('below');
    }
    if (score.stale) {
      cell.dataset.stale = 'true';
      cell.classList.add('stale');
    }
    if (score.fromFile) {
      cell.dataset.fromFile = 'true';
      cell.classList.add('stale');
    }
    // The glyph is the non-colour cue: ▼ below the threshold, ✓ at or above.
    s.glyph.textContent = below ? '▼' : '✓';
    s.value.textContent = `${score.text ?? String(score.score)}${score.contradicts ? ' ⚠' : ''}`;
    if (score.contradicts) cell.dataset.contradicts = 'true';
    const words = `${model}: ${score.text ?? score.score}, ${below ? 'below' : 'at or above'} the threshold ${this.threshold}${score.stale ? ', stale (the row changed since)' : ''}${score.fromFile ? ', from the file (not scored on this machine, not counted)' : ''}${score.contradicts ? `, ${score.contradicts}` : ''}`;
    cell.setAttribute('aria-label', words);
    cell.title = words;
  }

  private updateActiveDescendant(): void {
    if (this.selectedPosition === null) this.element.removeAttribute('aria-activedescendant');
    else this.element.setAttribute('aria-activedescendant', `row-${this.selectedPosition}`);
  }

  private fetch(first: number, last: number): void {
    if (this.total === 0 || last <= first) return;
    const generation = this.generation;
    for (let page = Math.floor(first / PAGE_SIZE); page <= Math.floor((last - 1) / PAGE_SIZE); page++) {
      if (this.pages.has(page) || this.pending.has(page)) continue;
      this.pending.add(page);
      this.callbacks
        .requestPage(generation, page * PAGE_SIZE, PAGE_SIZE)
        .then((result) => {
          if (result.generation !== this.generation || generation !== this.generation) return;
          this.pending.delete(page);
          this.pages.set(page, result.rows);
          if (this.idChars === 0 && result.rows.length > 0 && !this.widths.has('id')) {
            this.idChars = Math.max(...result.rows.map((r) => [...r.id].length)) + 1;
            this.applyColumns();
          }
          // Keep memory flat while scrolling through 100,000 rows: forget the oldest pages.
          while (this.pages.size > MAX_PAGES) this.pages.delete(this.pages.keys().next().value as number);
          this.schedule();
        })
        .catch((error: Error) => {
          this.pending.delete(page);
          this.callbacks.onError(error);
        });
    }
  }
}
