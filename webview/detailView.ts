import type { AnnotationView, RowDetail } from '../src/shared/protocol';
import { custom, el } from './dom';

export interface DetailCallbacks {
  onClose(): void;
  onRemoveAnnotation(rowId: string, target: string): void;
  onScore(rowId: string, model: string): void;
  /** Settles a target the reviewers disagree on with a label. */
  onAdjudicate(rowId: string, target: string, label: string): void;
}

/** The row's detail: full input, image thumbnails, reference, each output with its score. */
export class DetailView {
  readonly element: HTMLElement;
  private readonly heading: HTMLHeadingElement;
  private readonly content: HTMLDivElement;
  private current: RowDetail | undefined;
  private reviewer: string | null = null;

  constructor(private readonly callbacks: DetailCallbacks) {
    this.heading = el('h2', { className: 'detail-title', attrs: { id: 'detail-title', tabindex: '-1' } });
    const close = custom('vscode-button', { text: 'Close', testid: 'detail-close', attrs: { secondary: '', title: 'Close (Escape)' } });
    close.addEventListener('click', () => this.callbacks.onClose());
    this.content = el('div', { className: 'detail-content' });
    this.element = el(
      'section',
      { className: 'detail', testid: 'detail', attrs: { role: 'region', 'aria-labelledby': 'detail-title' } },
      el('div', { className: 'detail-header' }, this.heading, close),
      this.content,
    );
    this.element.hidden = true;
  }

  get open(): boolean {
    return !this.element.hidden;
  }

  get row(): RowDetail | undefined {
    return this.current;
  }

  /** `whyCannotCall(model)` is '' when the model can be called for the row, else the reason (its Re-run is disabled). */
  /** `labels` settle a disagreement; `reviewer` is who is reviewing (only their own labels can be removed here). */
  show(detail: RowDetail, whyCannotCall: (model: string) => string = () => '', labels: readonly string[] = [], reviewer: string | null = null): void {
    this.reviewer = reviewer;
    this.current = detail;
    this.element.hidden = false;
    this.element.dataset.rowIndex = String(detail.index);
    this.heading.textContent = `Row ${detail.id} · line ${detail.line} of ${detail.file.split(/[\\/]/).pop() ?? detail.file}`;
    this.heading.title = detail.file;
    this.element.dataset.file = detail.file;
    const parts: Node[] = [];
    parts.push(section('Input', 'detail-input', pre(detail.input)));
    if (detail.images.length > 0) {
      const figures = detail.images.map((image) => {
        if (image.dataUrl) {
          const img = el('img', { className: 'thumbnail', testid: 'detail-image', attrs: { alt: `Image of row ${detail.id}: ${image.source.startsWith('data:') ? 'inline image' : image.source}` } });
          img.src = image.dataUrl;
          return el('figure', {}, img, el('figcaption', { text: image.source.startsWith('data:') ? 'inline image' : image.source }));
        }
        return el('p', { className: 'image-problem', testid: 'detail-image-problem', text: `Image not shown: ${image.problem ?? image.source}` });
      });
      parts.push(section('Image', 'detail-images', ...figures));
    }
    if (detail.references && detail.references.length > 1) {
      // Several references: each numbered as the scores name them (#1, #2, ...).
      parts.push(section(`References (${detail.references.length}: each output is scored against each)`, 'detail-reference', ...detail.references.map((text, i) => el('div', { className: 'reference', testid: 'detail-reference-item' }, el('h4', { text: `#${i + 1}` }), pre(text)))));
    } else {
      parts.push(section('Reference', 'detail-reference', detail.reference === null ? el('p', { className: 'missing', text: 'No reference rationale: outputs can be run but not scored.' }) : pre(detail.reference)));
    }
    const outputs = detail.outputs.map((o) => {
      const score = o.score;
      const below = score?.below === true;
      const badge = el('span', {
        className: `detail-score${below ? ' below' : ''}${score?.score === null && (score.error !== undefined || score.unscored) ? ' failed' : ''}`,
        testid: 'detail-score',
        text: score === null ? 'not scored' : score.score === null ? (score.error === undefined ? `${score.unscored ? '⚠ unscored' : 'n/a'}: ${score.note ?? 'no score'}` : `⚠ failed: ${score.error}`) : `${below ? '▼ ' : '✓ '}${score.text ?? score.score}${below ? ' below threshold' : ''}${score.stale ? ' (stale)' : ''}${score.fromFile ? ' (from the file: not scored on this machine, not counted)' : ''}`,
      });
      if (below) badge.dataset.below = 'true';
      const why = whyCannotCall(o.model);
      const rerun = custom('vscode-button', { text: 'Re-run', testid: 'detail-rerun', attrs: { secondary: '', title: why || `Call ${o.model} again for this row`, ...(why ? { disabled: '' } : {}) } });
      rerun.addEventListener('click', () => {
        if (!why) this.callbacks.onScore(detail.id, o.model);
      });
      const answeredBy = o.answeredBy !== undefined ? [el('span', { className: 'answered-by', testid: 'detail-answered-by', text: `answered by ${o.answeredBy}`, attrs: { title: 'The model the server named in its answer, not the model asked' } })] : [];
      const header = el('div', { className: 'output-header' }, el('h4', { text: o.model }), badge, ...answeredBy, ...(o.latencyMs !== undefined ? [el('span', { className: 'latency', text: `${o.latencyMs} ms` })] : []), rerun);
      const matched = o.matched !== undefined ? [el('p', { className: 'matched-reference', testid: 'detail-matched-reference', text: o.matched })] : [];
      const contradiction = score?.contradicts !== undefined ? [el('p', { className: 'contradicts', testid: 'detail-contradicts', text: `⚠ ${score.contradicts}` })] : [];
      // The judge's reason is a model's text: set as text, never markup.
      const judge = o.judge !== undefined ? [el('p', { className: 'judge-verdict', testid: 'detail-judge', text: o.judge })] : [];
      return el('div', { className: 'output', attrs: { 'data-model': o.model } }, header, ...matched, ...contradiction, ...judge, o.output === null ? el('p', { className: 'missing', text: 'No output yet.' }) : pre(o.output));
    });
    parts.push(section('Outputs', 'detail-outputs', ...outputs));
    if (detail.requests && detail.requests.length > 0) {
      // Collapsed: the exact request per model, as `pisar-review preview --json` prints it.
      const requests = detail.requests.map((r) => el(
        'details',
        { className: 'request', testid: 'detail-request', attrs: { 'data-model': r.model } },
        el('summary', { text: `Request to ${r.model}` }),
        r.request === null ? el('p', { className: 'missing', text: r.problem ?? 'Nothing would be sent.' }) : pre(r.request),
      ));
      parts.push(section('Requests (what each model is sent; key redacted)', 'detail-requests', ...requests));
    }
    parts.push(section('Annotations', 'detail-annotations', ...this.annotations(detail.id, detail.annotations)));
    if (detail.disagreeOn.length > 0 || detail.settled.length > 0) parts.push(section('Adjudication', 'detail-adjudication', ...this.adjudication(detail, labels)));
    this.content.replaceChildren(...parts);
  }

  hide(): void {
    this.element.hidden = true;
    this.current = undefined;
    this.content.replaceChildren();
  }

  focus(): void {
    this.heading.focus();
  }

  private annotations(rowId: string, annotations: readonly AnnotationView[]): Node[] {
    if (annotations.length === 0) return [el('p', { className: 'missing', text: 'None. Press a number key to label, n to add a note.' })];
    return annotations.map((a) => {
      const remove = custom('vscode-button', { text: 'Remove', testid: 'annotation-remove', attrs: { secondary: '' } });
      remove.addEventListener('click', () => this.callbacks.onRemoveAnnotation(rowId, a.target));
      // Another reviewer's label is theirs: it is shown, not removable from here.
      const mine = a.reviewer === undefined || a.reviewer === this.reviewer;
      return el(
        'div',
        { className: 'annotation', testid: 'annotation', attrs: { 'data-target': a.target, 'data-label': a.label } },
        el('span', { className: 'annotation-label', text: `⚑ ${a.target}: ${a.label}` }),
        ...(a.reviewer ? [el('span', { className: 'annotation-reviewer', testid: 'annotation-reviewer', text: `by ${a.reviewer}` })] : []),
        ...(a.note ? [el('span', { className: 'annotation-note', text: a.note })] : []),
        ...(a.stale ? [el('span', { className: 'annotation-stale', text: 'the row changed since' })] : []),
        ...(mine ? [remove] : []),
      );
    });
  }

  /** Each settled target, then each target in open disagreement with a button per label that settles it. */
  private adjudication(detail: RowDetail, labels: readonly string[]): Node[] {
    const settled = detail.settled.map((s) => el('p', {
      className: 'settled', testid: 'detail-settled', attrs: { 'data-target': s.target, 'data-label': s.label },
      text: `Settled: ${s.target} is ${s.label}${s.reviewer ? ` (by ${s.reviewer})` : ''}${s.note ? ` — ${s.note}` : ''}`,
    }));
    const open = detail.disagreeOn.map((target) => {
      const given = detail.annotations.filter((a) => a.target === target).map((a) => `${a.reviewer ?? 'unnamed'}: ${a.label}`).join(', ');
      const buttons = labels.map((label) => {
        const button = custom('vscode-button', { text: label, testid: 'adjudicate', attrs: { secondary: '', 'data-target': target, 'data-label': label, title: `Settle ${target} as ${label}` } });
        button.addEventListener('click', () => this.callbacks.onAdjudicate(detail.id, target, label));
        return button;
      });
      return el('div', { className: 'disagreement', testid: 'detail-disagreement', attrs: { 'data-target': target } }, el('p', { text: `Reviewers disagree on ${target} (${given}). Settle it as:` }), ...buttons);
    });
    return [...settled, ...open];
  }
}

function section(title: string, testid: string, ...children: Node[]): HTMLElement {
  return el('section', { className: 'detail-section', testid }, el('h3', { text: title }), ...children);
}

function pre(text: string): HTMLPreElement {
  return el('pre', { text });
}
