import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import '@vscode-elements/elements/dist/vscode-collapsible/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-progress-ring/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-textfield/index.js';
import type { DatasetView, HostToWebview, RowFilter, RowQuery, RowSort, RowView, SummaryView } from '../src/shared/protocol';
import { AgreementPanel } from './agreementView';
import { DetailView } from './detailView';
import { custom, el } from './dom';
import { HostBridge, type PanelState } from './hostBridge';
import { RowList } from './rowList';
import { statisticsSection } from './statsView';
import { SummaryPanel } from './summaryView';

type Push = Exclude<HostToWebview, { type: 'response' }>;

const DEFAULT_QUERY: RowQuery = { sort: { column: 'index', descending: false }, filter: {} };
/** Pause after typing in the search box before asking the host to filter. */
const SEARCH_DELAY_MS = 250;
/** Pause between moving the selection with keys and revealing the row in the editor. */
const REVEAL_DELAY_MS = 80;
/** How long after a reveal the editor's cursor event counts as its echo. */
const ECHO_WINDOW_MS = 1500;
/** Files whose column widths the panel remembers (the most recently resized). */
const MAX_FILES_WITH_WIDTHS = 50;
/** Widest a menu of model names grows, in characters, before its options are cut in the middle. */
const MENU_MAX_CHARS = 48;

interface SelectLike extends HTMLElement {
  value: string;
}
interface CheckboxLike extends HTMLElement {
  checked: boolean;
}
interface ButtonLike extends HTMLElement {
  disabled: boolean;
}
interface CollapsibleLike extends HTMLElement {
  open: boolean;
}

/**
 * The review panel: toolbar, filters, the virtualised rows with row detail, then the summary (below
 * the rows, collapsible, its key numbers in its heading), so the rows are in sight at any panel height.
 */
class ReviewPanelApp {
  private readonly host: HostBridge;
  private dataset: DatasetView | null = null;
  private summary: SummaryView | null = null;
  private query: RowQuery;
  private total = 0;
  private target = 'reference';
  private state: PanelState;
  private restoreScroll: number | undefined;
  private searchTimer: ReturnType<typeof setTimeout> | undefined;
  /** The next filters from the host are another file's: its search text replaces the box's, focused or not. */
  private filterTextFromHost = false;
  private revealTimer: ReturnType<typeof setTimeout> | undefined;
  /** Rows this panel asked the editor to reveal, with when: their cursor events are echoes, not user moves. */
  private readonly reveals = new Map<number, number>();
  private stateTimer: ReturnType<typeof setTimeout> | undefined;
  private busy = 0;
  /** `seq` of the last query sent; views with a lower one are of an older query. */
  private querySeq = 0;
  private readonly busyReasons = new Set<string>();

  private readonly list: RowList;
  private readonly summaryPanel = new SummaryPanel();
  private readonly detail: DetailView;
  private readonly datasetName = el('span', { className: 'dataset-name', testid: 'dataset-name' });
  private readonly datasetInfo = el('span', { className: 'dataset-info', testid: 'dataset-info' });
  private readonly progressText = el('span', { className: 'progress-text', testid: 'progress' });
  private readonly progressFill = el('div', { className: 'progress-fill' });
  private readonly progressTrack = el('div', { className: 'progress-track', attrs: { role: 'progressbar', 'aria-label': 'Review progress', 'aria-valuemin': '0' } }, this.progressFill);
  private readonly status = el('div', { className: 'status', testid: 'status', attrs: { role: 'status', 'aria-live': 'polite' } });
  private readonly error = el('div', { className: 'error', testid: 'error', attrs: { role: 'alert' } });
  /** Stays while the last run's scoring failure stands (the embedding model did not load), unlike a one-off error. */
  private readonly scoringFailure = el('div', { className: 'error banner', testid: 'scoring-failure', attrs: { role: 'alert' } });
  private readonly spinner = custom('vscode-progress-ring', { className: 'spinner', testid: 'busy' });
  private readonly rowCount = el('span', { className: 'row-count', testid: 'row-count' });
  private readonly filterBelow = custom('vscode-single-select', { testid: 'filter-below', attrs: { 'aria-label': 'Show rows' } }) as SelectLike;
  private readonly filterSuspect = custom('vscode-checkbox', { testid: 'filter-suspect', attrs: { label: 'Suspect reference' } }) as CheckboxLike;
  private readonly filterAnnotated = custom('vscode-checkbox', { testid: 'filter-annotated', attrs: { label: 'Annotated' } }) as CheckboxLike;
  private readonly filterUnscored = custom('vscode-checkbox', { testid: 'filter-unscored', attrs: { label: 'Not scored' } }) as CheckboxLike;
  private readonly filterContradicts = custom('vscode-checkbox', { testid: 'filter-contradicts', attrs: { label: 'Contradicts reference', title: 'Rows where the contradiction check flagged some model\'s output as contradicting its reference (even when the score passes)' } }) as CheckboxLike;
  private readonly outputsToggle = custom('vscode-checkbox', { testid: 'toggle-outputs', attrs: { label: 'Outputs', title: 'Show each model\'s output text in its column (the row detail has it whole)' } }) as CheckboxLike;
  /** The label keys, beside the annotation box and the target they apply to: "1 wrong · 2 incomplete · … · n note". */
  private readonly labelKeys = el('span', { className: 'label-keys', testid: 'label-keys', attrs: { 'aria-label': 'Label keys' } });
  private readonly noteKeys = el('span', { className: 'label-keys', testid: 'note-keys' });
  private readonly filterDisagree = custom('vscode-checkbox', { testid: 'filter-disagree', attrs: { label: 'Reviewers disagree', title: 'Rows where reviewers gave one target different labels, not yet adjudicated' } }) as CheckboxLike;
  private readonly reviewOrder = custom('vscode-single-select', { testid: 'review-order', attrs: { 'aria-label': 'Review order' } }) as SelectLike;
  private readonly blindToggle = custom('vscode-checkbox', { testid: 'blind-toggle', attrs: { label: 'Blind', title: 'Blind mode: hide the scores and other reviewers\' labels while you label (pisarReview.review.blind)' } }) as CheckboxLike;
  /** The reviewer's name, cut with an ellipsis past a few words (the whole name in the group's tooltip): the head stays one line. */
  private readonly reviewerId = el('span', { className: 'reviewer-id', testid: 'reviewer-id' });
  private readonly reviewerName = el('span', { className: 'reviewer-name', testid: 'reviewer-name' }, el('span', { className: 'reviewer-label', text: 'Reviewer: ' }), this.reviewerId);
  private readonly reviewerGroup = el('div', { className: 'reviewer', testid: 'reviewer-group', attrs: { role: 'group', 'aria-label': 'Reviewer and blind mode' } }, this.reviewerName, this.blindToggle);
  private readonly trainingButton = custom('vscode-button', { text: 'Training data…', testid: 'action-export-training', attrs: { secondary: '', title: 'Export Training Data…: the reviewed rows as a fine-tuning file, with a hold-out check' } }) as ButtonLike;
  private readonly agreementSection = custom('vscode-collapsible', { testid: 'agreement-section', attrs: { heading: 'Agreement between reviewers' } }) as CollapsibleLike;
  private readonly agreement = new AgreementPanel();
  /** A newer agreement request supersedes an older one's answer. */
  private agreementSeq = 0;
  private readonly filterText = custom('vscode-textfield', { testid: 'filter-text', attrs: { placeholder: 'Search id, input, reference, outputs  (/)', 'aria-label': 'Search rows' } }) as SelectLike;
  private readonly targetSelect = custom('vscode-single-select', { testid: 'annotate-target', attrs: { 'aria-label': 'Annotate' } }) as SelectLike;
  private readonly rerunSelect = custom('vscode-single-select', { testid: 'rerun-model', attrs: { 'aria-label': 'Model to re-run' } }) as SelectLike;
  private readonly scoreRowButton = custom('vscode-button', { text: 'Score row', testid: 'action-score-row', attrs: { title: 'Score the selected row (s)' } }) as ButtonLike;
  private readonly rerunButton = custom('vscode-button', { text: 'Re-run', testid: 'action-rerun', attrs: { secondary: '', title: 'Call the chosen model again for the selected row (r)' } }) as ButtonLike;
  private readonly scoreAllButton = custom('vscode-button', { text: 'Score all', testid: 'action-score-all', attrs: { secondary: '', title: 'Score every row of the file' } }) as ButtonLike;
  private readonly exportButton = custom('vscode-button', { text: 'Export…', testid: 'action-export', attrs: { secondary: '', title: 'Export the summary and the rows in view (Markdown, CSV, JSONL)' } }) as ButtonLike;
  private readonly summarySection = custom('vscode-collapsible', { testid: 'summary-section', attrs: { heading: 'Summary', open: '' } }) as CollapsibleLike;
  private readonly noteBar: HTMLElement;
  private readonly noteLabel = custom('vscode-single-select', { testid: 'note-label', attrs: { 'aria-label': 'Label' } }) as SelectLike;
  private readonly noteInput = custom('vscode-textfield', { testid: 'note-input', attrs: { placeholder: 'Note (Enter to save, Escape to cancel)', 'aria-label': 'Note' } }) as SelectLike;
  private readonly noteTarget = el('span', { className: 'note-target', testid: 'note-target' });
  private noteRow: RowView | undefined;
  private readonly stats: ReturnType<typeof statisticsSection>;

  constructor(root: HTMLElement) {
    this.host = new HostBridge((m) => this.receive(m));
    this.state = this.host.getState();
    this.query = this.state.query ?? DEFAULT_QUERY;
    this.target = this.state.target ?? 'reference';
    this.restoreScroll = this.state.scrollTop;

    this.list = new RowList({
      requestPage: (generation, start, count) => this.host.request('rows/page', { generation, start, count }),
      onSelect: (row) => this.selected(row),
      onOpen: (row) => void this.openDetail(row.id),
      onSort: (sort) => this.setSort(sort),
      onKey: (event) => this.rowKey(event),
      onError: (error) => this.showError(error),
      onColumnsResized: (widths) => this.columnsResized(widths),
    });
    this.list.setOutputsShown(this.state.showOutputs ?? false);
    this.outputsToggle.checked = this.state.showOutputs ?? false;
    this.detail = new DetailView({
      onClose: () => this.closeDetail(),
      onRemoveAnnotation: (rowId, target) => void this.act(`Removing the ${target} annotation…`, () => this.host.request('row/removeAnnotation', { rowId, target }), rowId),
      onScore: (rowId, model) => void this.act(`Calling ${model}…`, () => this.host.request('row/score', { rowIds: [rowId], models: [model], rerun: true }), rowId),
      onAdjudicate: (rowId, target, label) => void this.act(`Settling ${target} of ${rowId} as ${label}…`, () => this.host.request('row/adjudicate', { rowId, target, label }), rowId),
    });
    this.detail.element.addEventListener('keydown', (e) => this.detailKey(e));

    const noteSave = custom('vscode-button', { text: 'Save', testid: 'note-save' });
    const noteCancel = custom('vscode-button', { text: 'Cancel', testid: 'note-cancel', attrs: { secondary: '' } });
    noteSave.addEventListener('click', () => void this.saveNote());
    noteCancel.addEventListener('click', () => this.closeNote());
    this.noteInput.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') {
        e.preventDefault();
        void this.saveNote();
      } else if (e.key === 'Escape') {
        e.preventDefault();
        this.closeNote();
      }
    });
    this.noteBar = el('div', { className: 'note-bar', testid: 'note-bar', attrs: { role: 'group', 'aria-label': 'Annotate with a note' } }, this.noteTarget, this.noteLabel, this.noteInput, noteSave, noteCancel, this.noteKeys);
    this.noteBar.hidden = true;

    this.summarySection.open = this.state.summaryOpen ?? true;
    this.summaryPanel.onHeadline = (headline) => this.summarySection.setAttribute('description', headline);
    this.summarySection.addEventListener('vsc-collapsible-toggle', () => this.saveState());
    this.summarySection.append(this.summaryPanel.element);
    this.stats = statisticsSection({
      load: (sliceField) => this.host.request('stats/get', sliceField ? { sliceField } : {}),
      compare: (a, b) => this.host.request('stats/compare', { a, b }),
      useThreshold: (threshold) => this.host.request('stats/useThreshold', { threshold }).then(() => undefined),
      setOrder: (column) => this.setSort({ column, descending: false }),
      openRow: (rowId) => void this.openDetail(rowId),
      onError: (error) => this.showError(error instanceof Error ? error : new Error(String(error))),
    });

    const header = el(
      'header',
      { className: 'toolbar', testid: 'toolbar' },
      el('div', { className: 'title' }, this.datasetName, this.datasetInfo),
      el('div', { className: 'progress', testid: 'progress-group' }, this.progressText, this.progressTrack),
      // Who reviews, beside the file and its progress, in the head's first line; the actions follow (and wrap first).
      this.reviewerGroup,
      el('div', { className: 'actions' }, this.spinner, this.scoreRowButton, this.rerunSelect, this.rerunButton, this.scoreAllButton, this.exportButton, this.trainingButton),
    );
    this.spinner.hidden = true;
    const filters = el(
      'div',
      { className: 'filters', testid: 'filters', attrs: { role: 'group', 'aria-label': 'Filters' } },
      this.filterBelow,
      this.filterSuspect,
      this.filterAnnotated,
      this.filterUnscored,
      this.filterContradicts,
      this.filterDisagree,
      this.reviewOrder,
      this.filterText,
      this.rowCount,
      this.outputsToggle,
      el('label', { className: 'target-label', text: 'Label keys apply to' }),
      this.targetSelect,
      this.labelKeys,
    );
    const main = el('div', { className: 'main' }, this.list.element, this.detail.element);
    this.scoringFailure.hidden = true;
    // Rows first: the summary and the statistics follow them, so the rows are in sight at any panel height.
    this.agreementSection.append(this.agreement.element);
    this.agreementSection.open = this.state.agreementOpen ?? false;
    this.agreementSection.addEventListener('vsc-collapsible-toggle', () => {
      this.saveState();
      this.refreshAgreement();
    });
    root.replaceChildren(header, this.error, this.scoringFailure, filters, this.noteBar, main, this.status, this.summarySection, this.agreementSection, this.stats.element);

    this.filterBelow.addEventListener('change', () => this.filtersChanged());
    for (const select of [this.filterBelow, this.targetSelect, this.rerunSelect]) select.addEventListener('change', () => fitMenu(select));
    this.outputsToggle.addEventListener('change', () => {
      this.list.setOutputsShown(this.outputsToggle.checked);
      this.saveState();
    });
    for (const box of [this.filterSuspect, this.filterAnnotated, this.filterUnscored, this.filterContradicts, this.filterDisagree]) box.addEventListener('change', () => this.filtersChanged());
    this.reviewOrder.addEventListener('change', () => {
      const column = this.reviewOrder.value;
      if (column === 'index' || column === 'reviewersDisagree' || column === 'unlabelled') {
        if (column !== this.query.sort.column) this.setSort({ column, descending: false });
      }
    });
    this.blindToggle.addEventListener('change', () => {
      const blind = this.blindToggle.checked;
      if (blind === this.dataset?.blind) return;
      void this.act(blind ? 'Blind mode on…' : 'Blind mode off…', () => this.host.request('review/setBlind', { blind }));
    });
    this.trainingButton.addEventListener('click', () => void this.act('Exporting training data…', () => this.host.request('training/export', {})));
    this.filterText.addEventListener('input', () => {
      clearTimeout(this.searchTimer);
      this.searchTimer = setTimeout(() => this.filtersChanged(), SEARCH_DELAY_MS);
    });
    this.filterText.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' || e.key === 'Escape' || e.key === 'ArrowDown') {
        if (e.key === 'Escape') this.filterText.value = '';
        clearTimeout(this.searchTimer);
        this.filtersChanged();
        this.list.focus();
        e.preventDefault();
      }
    });
    this.targetSelect.addEventListener('change', () => {
      this.target = this.targetSelect.value || 'reference';
      this.saveState();
    });
    this.scoreRowButton.addEventListener('click', () => this.scoreSelected());
    this.rerunButton.addEventListener('click', () => this.rerunSelected());
    this.scoreAllButton.addEventListener('click', () => void this.act('Scoring every row…', () => this.host.request('rows/scoreAll', {})));
    this.exportButton.addEventListener('click', () => void this.act('Exporting…', () => this.host.request('report/export', {})));
    this.list.element.addEventListener('scroll', () => this.saveStateSoon(), true);
    document.addEventListener('keydown', (e) => {
      if (e.key === '/' && !isTyping(e.target)) {
        e.preventDefault();
        this.filterText.focus();
      }
    });
    // Theme changes swap the body class; charts use theme variables, but redraw so nothing stale stays.
    new MutationObserver(() => this.summaryPanel.render()).observe(document.body, { attributes: true, attributeFilter: ['class'] });

    this.renderFilters();
    this.renderDataset();
    this.host.post({ type: 'webview/ready', query: this.query });
  }

  private receive(message: Push): void {
    switch (message.type) {
      case 'dataset/didChange': {
        const before = this.dataset?.file;
        this.dataset = message.dataset;
        if (message.dataset?.file !== before) this.fileChanged();
        this.renderDataset();
        return;
      }
      case 'summary/didChange':
        this.summary = message.summary;
        this.summaryPanel.update(message.summary);
        this.stats.invalidate();
        this.renderProgress();
        this.refreshAgreement();
        return;
      case 'rows/didChange': {
        // A view of an older query can still arrive after the user changed the controls: drop it
        // whole (its count and rows too), for the host answers the newer query next.
        if (message.seq < this.querySeq) return;
        this.endBusy('query');
        this.query = message.query;
        this.renderFilters();
        this.filterTextFromHost = false;
        this.total = message.total;
        this.list.setSort(message.query.sort);
        this.list.setView(message.generation, message.total);
        this.renderRowCount();
        if (this.restoreScroll !== undefined && message.total > 0) {
          this.list.scrollTop = this.restoreScroll;
          this.restoreScroll = undefined;
        }
        this.saveState();
        return;
      }
      case 'cursor/didChange':
        if (message.index === null || message.rowId === null) return;
        if (this.isEchoOfReveal(message.index)) return;
        this.list.showCursor(message.rowId, message.position);
        if (message.position === null) this.setStatus('The row at the cursor is hidden by the filters.');
        if (this.detail.open && message.position !== null) void this.openDetail(message.rowId, false);
        return;
      case 'scoring/didChange':
        if (message.running) this.busyReasons.add('scoring');
        else this.busyReasons.delete('scoring');
        this.spinner.hidden = this.busy === 0 && this.busyReasons.size === 0;
        if (message.message) this.showError(new Error(message.message));
        else if (message.running) this.setStatus('Scoring…');
        else if (this.status.textContent === 'Scoring…') this.setStatus('');
        return;
      default: {
        const unknown: never = message;
        void unknown;
      }
    }
  }

  // ---- rendering ----

  private renderDataset(): void {
    const d = this.dataset;
    this.datasetName.textContent = d ? d.name : 'No dataset';
    this.datasetName.title = d ? d.file : '';
    this.datasetInfo.textContent = d ? `${d.rowCount.toLocaleString()} rows${problemsText(d)} · threshold ${d.threshold}` : '';
    this.datasetInfo.title = d && problemsText(d) ? 'Malformed lines are errors, in the Problems view with their line and fix; they are not rows.' : '';
    this.scoringFailure.textContent = d?.scoringFailure ? `Scoring failed, so outputs are kept without a score ("unscored"): ${d.scoringFailure}` : '';
    this.scoringFailure.hidden = !d?.scoringFailure;
    // Blind mode: no score columns (the host sends no score).
    this.list.setColumns(d?.blind ? [] : d?.models ?? [], d?.threshold ?? 0.7, d?.modelLabels ?? {});
    this.list.setEmptyText(d ? (d.rowCount === 0 ? 'This file has no valid rows.' : 'No rows match the filters.') : 'Open a PiSAR .jsonl file to review it here.');
    setOptions(this.filterBelow, [
      ['all', 'All rows'],
      ['any', 'Below threshold (any model)'],
      ...(d?.models ?? []).map((m): [string, string] => [`model:${m}`, `Below threshold for ${menuName(m)}`]),
    ]);
    const targets: [string, string][] = [['reference', 'Reference'], ...(d?.models ?? []).map((m): [string, string] => [m, `Output of ${menuName(m)}`])];
    if (!targets.some(([v]) => v === this.target)) this.target = 'reference';
    setOptions(this.targetSelect, targets, this.target);
    setOptions(this.rerunSelect, (d?.configuredModels ?? []).map((m): [string, string] => [m, menuName(m)]));
    for (const select of [this.filterBelow, this.targetSelect, this.rerunSelect]) fitMenu(select);
    setOptions(this.noteLabel, (d?.labels ?? []).map((l, i): [string, string] => [l, i < 9 ? `${i + 1} ${l}` : l]));
    this.renderLabelKeys();
    // Without a configured model Score row and Score all still score precomputed outputs; when there is
    // nothing to score the host says that no model is configured and offers to add one.
    const blocked = !d ? 'Open a dataset first' : !d.canScore ? 'Model calls are off in an untrusted workspace' : '';
    const noModel = d && d.configuredModels.length === 0 ? ' (no model is configured: precomputed outputs only; add models in the pisarReview.models setting)' : '';
    const buttons: [ButtonLike, string, boolean][] = [
      [this.scoreRowButton, `Score the selected row (s)${noModel}`, false],
      [this.scoreAllButton, `Score every row of the file${noModel}`, false],
      [this.rerunButton, noModel ? 'No model is configured to call again: add models in the pisarReview.models setting' : 'Call the chosen model again for the selected row (r)', !!noModel],
    ];
    for (const [button, title, off] of buttons) {
      button.disabled = !!blocked || off;
      button.title = blocked || title;
    }
    this.rerunSelect.hidden = (d?.configuredModels.length ?? 0) === 0;
    this.exportButton.disabled = !d;
    this.trainingButton.disabled = !d;
    // Text only (textContent, a title attribute): a reviewer's name is a setting's value, never markup.
    this.reviewerId.textContent = d?.reviewer ?? '';
    this.reviewerName.hidden = !d?.reviewer;
    this.reviewerName.title = `${d?.reviewer ? `Reviewer: ${d.reviewer}\n` : ''}The pisarReview.reviewer setting (default: git user.email, else the OS user)`;
    this.blindToggle.checked = d?.blind === true;
    document.body.classList.toggle('blind', d?.blind === true);
    // Blind mode: nothing made of scores or others' labels to filter or sort by.
    for (const control of [this.filterBelow, this.filterSuspect, this.filterContradicts, this.filterDisagree]) control.toggleAttribute('disabled', d?.blind === true);
    setOptions(this.reviewOrder, [
      ['index', 'File order'],
      ...(d?.blind ? [] : [['reviewersDisagree', 'Disagreements first'] as [string, string]]),
      ['unlabelled', 'Unlabelled by me first'],
    ]);
    this.renderFilters();
    this.renderProgress();
  }

  private renderFilters(): void {
    const f = this.query.filter;
    this.filterBelow.value = f.below === undefined ? 'all' : f.below === 'any' ? 'any' : `model:${f.below.model}`;
    this.filterSuspect.checked = !!f.suspect;
    this.filterAnnotated.checked = !!f.annotated;
    this.filterUnscored.checked = !!f.unscored;
    this.filterContradicts.checked = !!f.contradicts;
    this.filterDisagree.checked = !!f.disagree;
    const sort = this.query.sort.column;
    this.reviewOrder.value = sort === 'reviewersDisagree' || sort === 'unlabelled' ? sort : 'index';
    if ((this.filterTextFromHost || this.filterText !== document.activeElement) && (this.filterText.value ?? '') !== (f.text ?? '')) this.filterText.value = f.text ?? '';
  }

  private renderRowCount(): void {
    const all = this.dataset?.rowCount ?? 0;
    this.rowCount.textContent = this.total === all ? `${all.toLocaleString()} rows` : `${this.total.toLocaleString()} of ${all.toLocaleString()} rows`;
    this.rowCount.dataset.total = String(this.total);
  }

  private renderProgress(): void {
    const done = this.summary?.annotated ?? 0;
    const all = this.summary?.rowCount ?? this.dataset?.rowCount ?? 0;
    this.progressText.textContent = `Reviewed ${done.toLocaleString()} / ${all.toLocaleString()}`;
    this.progressText.dataset.annotated = String(done);
    this.progressText.dataset.total = String(all);
    const share = all === 0 ? 0 : done / all;
    this.progressFill.style.width = `${(share * 100).toFixed(2)}%`;
    this.progressTrack.setAttribute('aria-valuemax', String(all));
    this.progressTrack.setAttribute('aria-valuenow', String(done));
    const suspect = this.summary?.suspect ?? 0;
    this.progressTrack.title = `${done} of ${all} rows annotated${suspect ? `; ${suspect} suspect references` : ''}`;
  }

  /** Asks the host for the agreement while its section is open (computed on request: a bootstrap per statistic). */
  private refreshAgreement(): void {
    if (!this.agreementSection.open || !this.dataset) return;
    const seq = ++this.agreementSeq;
    this.host.request('review/agreement', {}).then(
      (view) => {
        if (seq === this.agreementSeq) this.agreement.update(view);
      },
      (error: unknown) => this.showError(error instanceof Error ? error : new Error(String(error))),
    );
  }

  private setStatus(text: string): void {
    this.status.textContent = text;
    this.error.textContent = '';
    this.error.hidden = true;
  }

  private showError(error: Error): void {
    // The error replaces what was going on: a status like "Calling gpt…" must not stay beside it.
    this.status.textContent = '';
    this.error.textContent = error.message;
    this.error.hidden = false;
  }

  // ---- queries ----

  private filtersChanged(): void {
    const belowValue = this.filterBelow.value;
    const below: RowFilter['below'] = belowValue === 'any' ? 'any' : belowValue.startsWith('model:') ? { model: belowValue.slice('model:'.length) } : undefined;
    const text = (this.filterText.value ?? '').trim();
    const filter: RowFilter = {
      ...(below ? { below } : {}),
      ...(this.filterSuspect.checked ? { suspect: true } : {}),
      ...(this.filterAnnotated.checked ? { annotated: true } : {}),
      ...(this.filterUnscored.checked ? { unscored: true } : {}),
      ...(this.filterContradicts.checked ? { contradicts: true } : {}),
      ...(this.filterDisagree.checked ? { disagree: true } : {}),
      ...(text ? { text } : {}),
    };
    if (JSON.stringify(filter) === JSON.stringify(this.query.filter)) return;
    this.setQuery({ sort: this.query.sort, filter });
  }

  private setSort(sort: RowSort): void {
    this.setQuery({ sort, filter: this.query.filter });
  }

  private setQuery(query: RowQuery): void {
    this.query = query;
    this.list.scrollTop = 0;
    this.querySeq++;
    this.startBusy('query', 'Sorting and filtering…');
    this.host.post({ type: 'view/setQuery', query, seq: this.querySeq });
    this.saveState();
  }

  // ---- selection, detail, keys ----

  private selected(row: RowView): void {
    this.setStatus('');
    clearTimeout(this.revealTimer);
    this.revealTimer = setTimeout(() => {
      this.reveals.set(row.index, Date.now());
      this.host.post({ type: 'row/select', rowId: row.id });
    }, REVEAL_DELAY_MS);
    if (this.detail.open) void this.openDetail(row.id, false);
    this.saveStateSoon();
  }

  /**
   * The editor answers each reveal with a cursor event; by then the user may have moved on with j/k,
   * and following the late echo would pull the selection back.
   */
  private isEchoOfReveal(index: number): boolean {
    const now = Date.now();
    for (const [i, at] of this.reveals) if (now - at > ECHO_WINDOW_MS) this.reveals.delete(i);
    if (!this.reveals.has(index)) return false;
    this.reveals.delete(index);
    return true;
  }

  /**
   * Another file is shown: a row view and a pending search belong to the file they were made in. The
   * host sends this file's own filters next (rows/didChange); the search box takes them even if focused.
   */
  private fileChanged(): void {
    clearTimeout(this.searchTimer);
    if (this.detail.open) {
      this.detail.hide();
      this.list.element.classList.remove('with-detail');
    }
    this.filterTextFromHost = true;
    const file = this.dataset?.file;
    this.list.setColumnWidths((file !== undefined && Object.prototype.hasOwnProperty.call(this.state.columnWidths ?? {}, file) ? this.state.columnWidths?.[file] : undefined) ?? {});
  }

  /** This file's column widths, kept in the panel state (per file, the most recent files only). */
  private columnsResized(widths: Readonly<Record<string, number>>): void {
    const file = this.dataset?.file;
    if (file === undefined) return;
    const others = Object.entries(this.state.columnWidths ?? {}).filter(([f]) => f !== file);
    const kept = Object.keys(widths).length > 0 ? [...others, [file, widths] as const] : others;
    this.state = { ...this.state, columnWidths: Object.fromEntries(kept.slice(-MAX_FILES_WITH_WIDTHS)) };
    this.saveState();
  }

  /** "1 wrong · 2 incomplete · … · n note · x remove": the keys a focused row list takes. */
  private renderLabelKeys(): void {
    const labels = this.dataset?.labels ?? [];
    const keys = [...labels.slice(0, 9).map((l, i) => `${i + 1} ${l}`), 'n note', 'x remove'];
    this.labelKeys.textContent = labels.length ? keys.join(' · ') : '';
    this.labelKeys.title = 'With the row list focused: a number labels the selected row\'s target, n adds a note, x removes the label';
    this.noteKeys.textContent = labels.length ? `Keys: ${labels.slice(0, 9).map((l, i) => `${i + 1} ${l}`).join(' · ')} · Enter save · Escape cancel` : '';
  }

  private async openDetail(rowId: string, focus = true): Promise<void> {
    try {
      const file = this.dataset?.file;
      const detail = await this.host.request('row/detail', { rowId });
      // The answer of a request made for another file (the user switched meanwhile) is not this file's row.
      if (detail.file !== file || detail.file !== this.dataset?.file) return;
      this.detail.show(detail, (model) => this.whyCannotCall(model), this.dataset?.labels ?? [], this.dataset?.reviewer ?? null);
      this.list.element.classList.add('with-detail');
      if (focus) this.detail.focus();
    } catch (error) {
      this.showError(error as Error);
    }
  }

  private closeDetail(): void {
    this.detail.hide();
    this.list.element.classList.remove('with-detail');
    this.list.focus();
  }

  /** Keys on the focused row list beyond moving: labels, notes, scoring. */
  private rowKey(event: KeyboardEvent): boolean {
    const row = this.list.selected;
    if (event.key === 'Escape' && this.detail.open) {
      this.closeDetail();
      return true;
    }
    if (!row) return false;
    if (/^[1-9]$/.test(event.key)) {
      this.labelRow(row, Number(event.key));
      return true;
    }
    switch (event.key) {
      case 'n':
        this.openNote(row);
        return true;
      case 'x':
      case 'Delete':
        void this.act(`Removing the ${this.target} annotation…`, () => this.host.request('row/removeAnnotation', { rowId: row.id, target: this.target }), row.id);
        return true;
      case 's':
        this.scoreSelected();
        return true;
      case 'r':
        this.rerunSelected();
        return true;
      default:
        return false;
    }
  }

  private detailKey(event: KeyboardEvent): void {
    if (isTyping(event.target) || event.altKey || event.ctrlKey || event.metaKey) return;
    if (event.key === 'Escape') {
      this.closeDetail();
    } else if (event.key === 'j' || event.key === 'k') {
      this.list.move(event.key === 'j' ? 1 : -1);
      this.detail.focus();
    } else if (!this.rowKey(event)) {
      return;
    }
    event.preventDefault();
  }

  private labelRow(row: RowView, n: number): void {
    const label = this.dataset?.labels[n - 1];
    if (!label) {
      this.showError(new Error(`No label number ${n}: the labels are ${(this.dataset?.labels ?? []).map((l, i) => `${i + 1} ${l}`).join(', ')}.`));
      return;
    }
    const target = this.target;
    void this.act(`Labelling ${target} of ${row.id} as ${label}…`, () => this.host.request('row/annotate', { rowId: row.id, target, label }), row.id);
  }

  private openNote(row: RowView): void {
    this.noteRow = row;
    this.noteTarget.textContent = `Note on ${this.target === 'reference' ? 'the reference' : `${this.target}'s output`} of ${row.id}`;
    const existing = row.annotations.find((a) => a.target === this.target && (a.reviewer ?? null) === (this.dataset?.reviewer ?? null)) ?? row.annotations.find((a) => a.target === this.target && a.reviewer === undefined);
    this.noteLabel.value = existing?.label ?? this.dataset?.labels[0] ?? '';
    this.noteInput.value = existing?.note ?? '';
    this.noteBar.hidden = false;
    this.noteInput.focus();
  }

  private closeNote(): void {
    this.noteBar.hidden = true;
    this.noteRow = undefined;
    this.list.focus();
  }

  private async saveNote(): Promise<void> {
    const row = this.noteRow;
    if (!row) return;
    const label = this.noteLabel.value;
    const note = this.noteInput.value ?? '';
    const target = this.target;
    this.closeNote();
    await this.act(`Saving the note on ${row.id}…`, () => this.host.request('row/annotate', { rowId: row.id, target, label, ...(note.trim() ? { note } : {}) }), row.id);
  }

  private scoreSelected(): void {
    const row = this.list.selected;
    if (!row) return this.showError(new Error('Select a row first (j/k or click).'));
    if (this.scoreRowButton.disabled) return this.showError(new Error(this.scoreRowButton.title));
    void this.act(`Scoring ${row.id}…`, () => this.host.request('row/score', { rowIds: [row.id] }), row.id);
  }

  private rerunSelected(): void {
    const row = this.list.selected;
    const model = this.rerunSelect.value;
    if (!row) return this.showError(new Error('Select a row first (j/k or click).'));
    if (!model || this.rerunButton.disabled) return this.showError(new Error(this.rerunButton.title));
    void this.act(`Calling ${model} for ${row.id}…`, () => this.host.request('row/score', { rowIds: [row.id], models: [model], rerun: true }), row.id);
  }

  /** Why `model` cannot be called for a row now, or '' when it can. */
  private whyCannotCall(model: string): string {
    const d = this.dataset;
    if (!d) return 'Open a dataset first';
    if (!d.canScore) return 'Model calls are off in an untrusted workspace';
    if (!d.configuredModels.includes(model)) return `${model} is not in the pisarReview.models setting: its results are stored or precomputed, so it cannot be called again`;
    return '';
  }

  private startBusy(reason: string, status: string): void {
    this.busyReasons.add(reason);
    this.spinner.hidden = false;
    this.setStatus(status);
  }

  private endBusy(reason: string): void {
    if (!this.busyReasons.delete(reason)) return;
    if (this.busy === 0 && this.busyReasons.size === 0) this.spinner.hidden = true;
    this.setStatus('');
  }

  /** Runs a request with a status line; refreshes the open detail of row `rowId` when done. */
  private async act(status: string, run: () => Promise<unknown>, rowId?: string): Promise<void> {
    this.setStatus(status);
    this.busy++;
    this.spinner.hidden = false;
    try {
      await run();
      this.setStatus('');
      if (rowId !== undefined && this.detail.open && this.detail.row?.id === rowId) await this.openDetail(rowId, false);
    } catch (error) {
      this.showError(error as Error);
    } finally {
      this.busy--;
      if (this.busy === 0 && this.busyReasons.size === 0) this.spinner.hidden = true;
    }
  }

  // ---- state ----

  private saveStateSoon(): void {
    clearTimeout(this.stateTimer);
    this.stateTimer = setTimeout(() => this.saveState(), 200);
  }

  private saveState(): void {
    this.state = {
      query: this.query,
      target: this.target,
      scrollTop: this.list.scrollTop,
      summaryOpen: this.summarySection.open,
      agreementOpen: this.agreementSection.open,
      showOutputs: this.outputsToggle.checked,
      ...(this.state.columnWidths ? { columnWidths: this.state.columnWidths } : {}),
      ...(this.list.selectedRowId !== null ? { selectedId: this.list.selectedRowId } : {}),
    };
    this.host.setState(this.state);
  }
}

/** ` · 2 errors, 2 warnings` as in the Problems view (infos, e.g. a BOM, are not problems a reviewer must act on). */
function problemsText(d: DatasetView): string {
  const count = (n: number, one: string) => (n === 0 ? [] : [`${n.toLocaleString()} ${one}${n === 1 ? '' : 's'}`]);
  const parts = [...count(d.findings.errors, 'error'), ...count(d.findings.warnings, 'warning')];
  return parts.length ? ` · ${parts.join(', ')} in Problems` : '';
}

function setOptions(select: SelectLike, options: readonly [string, string][], value?: string): void {
  const current = value ?? select.value;
  const same = select.children.length === options.length && options.every(([v, l], i) => (select.children[i] as HTMLElement).getAttribute('value') === v && select.children[i].textContent === l);
  if (!same) {
    select.replaceChildren(
      ...options.map(([v, label]) => {
        const option = custom('vscode-option', { text: label, attrs: { value: v } });
        return option;
      }),
    );
  }
  if (options.some(([v]) => v === current)) select.value = current;
  else if (options.length > 0) select.value = options[0][0];
}

/** A model's name in a menu: whole up to MENU_MAX_CHARS, else cut in the middle so the differing tail stays. */
function menuName(model: string): string {
  const chars = [...model];
  if (chars.length <= MENU_MAX_CHARS) return model;
  const head = Math.ceil((MENU_MAX_CHARS - 1) / 2);
  return `${chars.slice(0, head).join('')}…${chars.slice(chars.length - (MENU_MAX_CHARS - 1 - head)).join('')}`;
}

/** A menu as wide as its longest option (so names alike at the start read apart), the chosen one's full text as its title. */
function fitMenu(select: SelectLike): void {
  const texts = Array.from(select.children, (o) => o.textContent ?? '');
  const longest = Math.max(8, ...texts.map((t) => [...t].length));
  select.style.minWidth = `calc(${Math.min(longest, MENU_MAX_CHARS + 22)}ch + 2.5em)`;
  const chosen = Array.from(select.children).find((o) => o.getAttribute('value') === select.value);
  select.title = chosen?.textContent ?? '';
}

function isTyping(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  const tag = target.tagName.toLowerCase();
  return tag === 'input' || tag === 'textarea' || tag === 'vscode-textfield' || tag === 'vscode-textarea' || tag === 'vscode-single-select' || target.isContentEditable;
}

const root = document.getElementById('app');
if (root) new ReviewPanelApp(root);
