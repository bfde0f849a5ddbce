import type { ModelSummaryView, SummaryView } from '../src/shared/protocol';
import { el, formatGap, formatShare, svg } from './dom';

const CHART_WIDTH = 120;
const CHART_HEIGHT = 28;

/**
 * The study's table for any dataset: per model rows scored, mean, median, share at or above the
 * threshold, failures and a histogram; then the gap between each pair of models' means.
 * Colours come from theme variables in panel.css, so a theme change restyles the charts.
 */
export class SummaryPanel {
  readonly element: HTMLElement;
  private readonly table: HTMLTableElement;
  private readonly gaps: HTMLTableElement;
  private readonly note: HTMLParagraphElement;
  private summary: SummaryView | null = null;
  private readonly embedding: HTMLParagraphElement;
  /** Gets the summary in one line (per model mean, the embedding model) for the collapsed heading. */
  onHeadline: (headline: string) => void = () => undefined;

  constructor() {
    this.table = el('table', { className: 'summary-table', testid: 'summary' });
    this.gaps = el('table', { className: 'gaps-table', testid: 'gaps' });
    this.note = el('p', { className: 'summary-note', testid: 'summary-note' });
    this.embedding = el('p', { className: 'summary-note embedding', testid: 'summary-embedding' });
    this.element = el('div', { className: 'summary' }, this.table, this.gaps, this.note, this.embedding);
  }

  update(summary: SummaryView | null): void {
    this.summary = summary;
    this.render();
  }

  /** Names the embedding model behind the scores; several at once means scores that do not compare. */
  private renderEmbedding(summary: SummaryView | null): void {
    const models = summary?.embeddingModels ?? [];
    this.embedding.classList.toggle('warn', models.length > 1);
    this.embedding.textContent = models.length === 0 ? ''
      : models.length === 1 ? `Scores are cosine similarities of ${models[0]} sentence embeddings.`
        : `Scores come from different embedding models (${models.join(', ')}) and do not compare: score the file again.`;
  }

  /** Draws again from the last summary (after a theme change). */
  render(): void {
    const summary = this.summary;
    this.renderEmbedding(summary);
    this.onHeadline(headline(summary));
    if (!summary || summary.models.length === 0) {
      this.table.replaceChildren();
      this.gaps.replaceChildren();
      this.note.textContent = summary ? 'No model results yet: score the file, or add models in the pisarReview.models setting.' : '';
      return;
    }
    this.note.textContent = '';
    const t = summary.threshold;
    // Token and cost columns only when some result reported usage / some model has a price.
    const withTokens = summary.models.some((m) => m.tokens !== undefined);
    const withCost = summary.models.some((m) => m.cost !== undefined);
    const head = el(
      'tr',
      {},
      ...['Model', 'Scored', 'Mean', 'Median', `≥ ${t}`, 'Failures', ...(withTokens ? ['Tokens in / out'] : []), ...(withCost ? ['Cost'] : []), 'Scores']
        .map((text) => el('th', { text, attrs: { scope: 'col' } })),
    );
    const body = summary.models.map((m) => {
      const row = el(
        'tr',
        { attrs: { 'data-model': m.model } },
        el('th', { text: m.model, attrs: { scope: 'row' } }),
        cell('scored', `${m.scored.toLocaleString()} / ${summary.rowCount.toLocaleString()}`, m.scored),
        cell('mean', m.meanText ?? '–', m.mean, m.mean !== null && m.mean < t),
        cell('median', m.medianText ?? '–', m.median, m.median !== null && m.median < t),
        cell('share', formatShare(m.shareAtLeast), m.shareAtLeast),
        cell('failures', String(m.failures), m.failures, m.failures > 0),
        ...(withTokens ? [tokensCell(m)] : []),
        ...(withCost ? [cell('cost', m.costText ?? '–', m.cost ?? null)] : []),
        el('td', { className: 'chart' }, histogram(m, t)),
      );
      return row;
    });
    this.table.replaceChildren(el('caption', { text: `Scores per model (threshold ${t})` }), el('thead', {}, head), el('tbody', {}, ...body));

    if (summary.models.length < 2) {
      this.gaps.replaceChildren();
      return;
    }
    const names = summary.models.map((m) => m.model);
    // Column minus row, the sign of the pairs (b - a for a before b): fill the matrix from whichever order the host sent.
    const gapOf = (a: string, b: string): number | null => {
      const direct = summary.gaps.find((g) => g.a === a && g.b === b);
      if (direct && direct.difference !== null) return direct.difference;
      const reverse = summary.gaps.find((g) => g.a === b && g.b === a);
      return reverse && reverse.difference !== null ? -reverse.difference : null;
    };
    const gapHead = el('tr', {}, el('th', { text: 'Column − row', attrs: { scope: 'col' } }), ...names.map((n) => el('th', { text: n, attrs: { scope: 'col' } })));
    const gapRows = names.map((a) =>
      el(
        'tr',
        {},
        el('th', { text: a, attrs: { scope: 'row' } }),
        ...names.map((b) => {
          const gap = a === b ? null : gapOf(a, b);
          const td = el('td', { text: a === b ? '' : formatGap(gap), attrs: { 'data-a': a, 'data-b': b, 'data-value': gap === null ? '' : String(gap) } });
          return td;
        }),
      ),
    );
    this.gaps.replaceChildren(el('caption', { text: 'Gap between mean scores' }), el('thead', {}, gapHead), el('tbody', {}, ...gapRows));
  }
}

/** `ft-qwen 0.781 · gpt 0.462 · all-MiniLM-L6-v2 (fp32)`: what the collapsed summary still tells. */
function headline(summary: SummaryView | null): string {
  if (!summary) return '';
  const means = summary.models.filter((m) => m.meanText !== null).map((m) => `${m.model} ${m.meanText}`);
  if (means.length === 0) return 'not scored yet';
  return ['mean', means.join(' · '), ...(summary.embeddingModels.length ? [`· ${summary.embeddingModels.join(', ')}`] : [])].join(' ');
}

/** Input and output tokens of the model's current results; data-input / data-output hold the exact counts. */
function tokensCell(m: ModelSummaryView): HTMLTableCellElement {
  const td = el('td', {
    text: m.tokens ? `${m.tokens.input.toLocaleString()} / ${m.tokens.output.toLocaleString()}` : '–',
    attrs: { 'data-field': 'tokens', 'data-input': m.tokens ? String(m.tokens.input) : '', 'data-output': m.tokens ? String(m.tokens.output) : '' },
  });
  return td;
}

/** A summary cell: rounded text for people, the exact number in data-value for tests and tools. */
function cell(field: string, text: string, value: number | null, warn = false): HTMLTableCellElement {
  const td = el('td', { text, attrs: { 'data-field': field, 'data-value': value === null ? '' : String(value) } });
  if (warn) td.classList.add('warn');
  return td;
}

function histogram(m: ModelSummaryView, threshold: number): SVGSVGElement {
  const bins = m.histogram;
  const max = Math.max(1, ...bins);
  const width = CHART_WIDTH / bins.length;
  // Each bin's real range from the host: the first reaches down to a negative score, which it holds.
  const range = (i: number) => m.histogramBins[i]?.label ?? `${(i / bins.length).toFixed(1)}–${((i + 1) / bins.length).toFixed(1)}`;
  const words = bins.map((n, i) => `${range(i)}: ${n}`).join(', ');
  const chart = svg('svg', {
    viewBox: `0 0 ${CHART_WIDTH} ${CHART_HEIGHT}`,
    width: CHART_WIDTH,
    height: CHART_HEIGHT,
    role: 'img',
    class: 'histogram',
    'data-testid': 'histogram',
    'data-model': m.model,
  });
  const title = svg('title');
  title.textContent = `${m.model} scores per bin: ${words}`;
  chart.append(title);
  chart.setAttribute('aria-label', title.textContent);
  bins.forEach((n, i) => {
    const h = n === 0 ? 0 : Math.max(1, (n / max) * (CHART_HEIGHT - 2));
    const upper = (i + 1) / bins.length;
    const rect = svg('rect', {
      x: i * width + 0.5,
      y: CHART_HEIGHT - h,
      width: width - 1,
      height: h,
      class: upper <= threshold + 1e-9 ? 'bar below' : 'bar',
      'data-count': n,
    });
    const tip = svg('title');
    tip.textContent = `${range(i)}: ${n} rows`;
    rect.append(tip);
    chart.append(rect);
  });
  const x = Math.max(0, Math.min(CHART_WIDTH, threshold * CHART_WIDTH));
  chart.append(svg('line', { x1: x, x2: x, y1: 0, y2: CHART_HEIGHT, class: 'threshold' }));
  chart.append(svg('line', { x1: 0, x2: CHART_WIDTH, y1: CHART_HEIGHT - 0.5, y2: CHART_HEIGHT - 0.5, class: 'axis' }));
  return chart;
}
