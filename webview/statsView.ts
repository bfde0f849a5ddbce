import type { SortColumn } from '../src/shared/protocol';
import type { CalibrationView, ComparisonView, EstimateView, IntervalView, MetricAgreementView, RankedMetricView, StatisticsView } from '../src/shared/statisticsView';
import { custom, el, svg } from './dom';

const CURVE_WIDTH = 240;
const CURVE_HEIGHT = 96;
/** Pause after a change of scores or labels before asking the host to recompute. */
const REFRESH_DELAY_MS = 400;

export interface StatsPanelHooks {
  /** Asks the host for the statistics (computed on request), split by a row field when one is given. */
  load(sliceField?: string): Promise<StatisticsView | null>;
  /** Sets the threshold setting to the calibration's suggestion. */
  useThreshold(threshold: number): Promise<void>;
  /** Model b against model a on the open dataset, row by row. */
  compare(a: string, b: string): Promise<ComparisonView | null>;
  /** Sorts the rows in a review order. */
  setOrder(column: Extract<SortColumn, 'nearThreshold' | 'disagreement'>): void;
  /** Opens a row's detail (a row where the judge and the labels disagree). */
  openRow(rowId: string): void;
  onError(error: unknown): void;
}

/**
 * The statistics section: 95% intervals per model, paired tests between models, calibration of the
 * threshold against the reviewer's labels (with its curve), bias checks, and the review orders.
 * Computed by the host only while the section is open; dataset text is set with textContent only.
 */
export class StatsPanel {
  readonly element: HTMLElement;
  private readonly orders: HTMLElement;
  private readonly intervals: HTMLTableElement;
  private readonly pairs: HTMLElement;
  private readonly calibration: HTMLElement;
  private readonly bias: HTMLTableElement;
  private readonly human: HTMLTableElement;
  private readonly ranking = el('table', { className: 'stats-table', testid: 'stats-ranking' });
  private readonly judgeNote = el('p', { className: 'summary-note', testid: 'stats-judge' });
  private readonly disagreements = el('table', { className: 'stats-table', testid: 'stats-judge-disagreements' });
  private readonly sliceInput = custom('vscode-textfield', { testid: 'slice-field', attrs: { placeholder: 'row field, e.g. label', 'aria-label': 'Slice by field' } }) as HTMLElement & { value: string };
  private readonly slices = el('table', { className: 'stats-table', testid: 'stats-slices' });
  private sliceField: string | undefined;
  private readonly note: HTMLParagraphElement;
  private readonly compareA = el('select', { testid: 'compare-a', attrs: { 'aria-label': 'Baseline model (A)' } });
  private readonly compareB = el('select', { testid: 'compare-b', attrs: { 'aria-label': 'Candidate model (B)' } });
  private readonly compareResult = el('div', { className: 'stats-compare-result', testid: 'compare-result' });
  private readonly compareBlock: HTMLElement;
  private open = false;
  private stale = true;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private loading: Promise<void> | undefined;

  constructor(private readonly hooks: StatsPanelHooks) {
    const near = custom('vscode-button', { text: 'Closest to the threshold', testid: 'order-near-threshold', attrs: { secondary: '', title: 'Sort rows by how close a score is to the threshold: a label there teaches the most' } });
    const disagree = custom('vscode-button', { text: 'Models disagree', testid: 'order-disagreement', attrs: { secondary: '', title: 'Sort rows by the spread between the models\' scores, widest first' } });
    near.addEventListener('click', () => hooks.setOrder('nearThreshold'));
    disagree.addEventListener('click', () => hooks.setOrder('disagreement'));
    this.orders = el('div', { className: 'stats-orders', testid: 'stats-orders', attrs: { role: 'group', 'aria-label': 'Review order' } }, el('span', { text: 'Review order:' }), near, disagree);
    this.intervals = el('table', { className: 'stats-table', testid: 'stats-intervals' });
    this.pairs = el('div', { className: 'stats-pairs', testid: 'stats-pairs' });
    this.calibration = el('div', { className: 'stats-calibration', testid: 'stats-calibration' });
    this.bias = el('table', { className: 'stats-table', testid: 'stats-bias' });
    this.human = el('table', { className: 'stats-table', testid: 'stats-human-band' });
    const slice = custom('vscode-button', { text: 'Slice', testid: 'slice-run', attrs: { secondary: '', title: 'Mean and share per value of this row field, with intervals (report --slice)' } });
    const applySlice = () => {
      this.sliceField = this.sliceInput.value.trim() || undefined;
      this.invalidate();
      if (this.open) this.refreshSoon(0);
    };
    slice.addEventListener('click', applySlice);
    this.sliceInput.addEventListener('keydown', (e) => {
      if ((e as KeyboardEvent).key === 'Enter') applySlice();
    });
    const sliceBlock = el('div', { className: 'stats-orders', testid: 'stats-slice' }, el('span', { text: 'Slices by' }), this.sliceInput, slice);
    this.note = el('p', { className: 'summary-note', testid: 'stats-note' });
    const run = custom('vscode-button', { text: 'Compare', testid: 'compare-run', attrs: { secondary: '', title: 'Row by row: improved, regressed, unchanged (|B − A| ≤ 0.02), and the paired test' } });
    run.addEventListener('click', () => void this.runCompare());
    this.compareBlock = el(
      'div',
      { className: 'stats-compare', testid: 'stats-compare' },
      el('div', { className: 'stats-caption', text: 'Compare two models row by row' }),
      el('div', { className: 'stats-orders' }, el('span', { text: 'A' }), this.compareA, el('span', { text: 'B' }), this.compareB, run),
      this.compareResult,
    );
    this.element = el('div', { className: 'stats', testid: 'stats' }, this.orders, this.note, this.intervals, this.human, sliceBlock, this.slices, this.pairs, this.compareBlock, this.calibration, this.ranking, this.judgeNote, this.disagreements, this.bias);
  }

  /** The section was opened or closed: load when it opens with old numbers. */
  setOpen(open: boolean): void {
    this.open = open;
    if (open && this.stale) this.refreshSoon(0);
  }

  /** Scores, labels or the threshold changed: recompute when visible, else on the next open. */
  invalidate(): void {
    this.stale = true;
    if (this.open) this.refreshSoon(REFRESH_DELAY_MS);
  }

  private refreshSoon(delay: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.refresh(), delay);
  }

  private async refresh(): Promise<void> {
    if (this.loading) {
      // One request at a time; the newest state is fetched once the running one ends.
      await this.loading;
      if (!this.stale) return;
    }
    this.stale = false;
    this.note.textContent = 'Computing intervals and calibration…';
    this.loading = this.hooks
      .load(this.sliceField)
      .then((stats) => this.render(stats))
      .catch((error: unknown) => {
        this.stale = true;
        this.note.textContent = '';
        this.hooks.onError(error);
      })
      .finally(() => (this.loading = undefined));
    await this.loading;
  }

  render(stats: StatisticsView | null): void {
    if (!stats || stats.models.length === 0) {
      for (const part of [this.intervals, this.human, this.slices, this.pairs, this.calibration, this.ranking, this.judgeNote, this.disagreements, this.bias]) part.replaceChildren();
      this.note.textContent = stats ? 'No scores yet: score the file to see intervals and calibration.' : '';
      return;
    }
    this.note.textContent = `95% intervals: bootstrap with ${stats.resamples} resamples (seed ${stats.seed}), the same numbers as pisar-review report --json.${stats.omittedModels > 0 ? ` The first ${stats.models.length} models are shown; ${stats.omittedModels} more are not.` : ''}`;
    this.renderIntervals(stats);
    this.renderHumanBand(stats);
    this.renderSlices(stats);
    this.renderPairs(stats);
    this.renderCompareChoices(stats);
    this.renderCalibration(stats);
    this.renderRanking(stats);
    this.renderBias(stats);
  }

  private renderIntervals(stats: StatisticsView): void {
    const t = stats.threshold;
    const head = el('tr', {}, ...['Model', 'n', 'Mean [95% CI]', 'Median [95% CI]', `≥ ${t} [95% CI]`, `≥ ${t} Wilson`, 'ROUGE-L F [95% CI]'].map((text) => el('th', { text, attrs: { scope: 'col' } })));
    const rows = stats.models.map((m) =>
      el(
        'tr',
        { attrs: { 'data-model': m.model } },
        el('th', { text: m.model, attrs: { scope: 'row' } }),
        el('td', { text: String(m.n) }),
        estimateCell('mean', m.mean, number),
        estimateCell('median', m.median, number),
        estimateCell('share', m.shareAtLeast, share),
        intervalCell('wilson', m.shareAtLeast?.wilson ?? null, share),
        estimateCell('rougeL', m.rougeL.mean, number),
      ),
    );
    this.intervals.replaceChildren(el('caption', { text: 'How sure each number is' }), el('thead', {}, head), el('tbody', {}, ...rows));
  }

  /** The human band (people against people) and each model against it: "at human level" or "below". */
  private renderHumanBand(stats: StatisticsView): void {
    const h = stats.humanBand;
    if (!h) return this.human.replaceChildren();
    const head = el('tr', {}, ...['Model', 'Cosine mean [95% CI]', 'Cosine', 'ROUGE-L F [95% CI]', 'ROUGE-L'].map((text) => el('th', { text, attrs: { scope: 'col' } })));
    const band = el('tr', { attrs: { 'data-model': '(human band)' } }, el('th', { text: `Human band (${h.n} rows)`, attrs: { scope: 'row' } }), estimateCell('mean', h.mean, number), el('td', { text: '' }), estimateCell('rougeL', h.rougeL.mean, number), el('td', { text: '' }));
    const rows = h.models.map((m) =>
      el('tr', { attrs: { 'data-model': m.model } }, el('th', { text: m.model, attrs: { scope: 'row' } }), estimateCell('mean', m.mean, number), el('td', { text: m.verdict, attrs: { 'data-field': 'verdict' } }), estimateCell('rougeL', m.rougeL, number), el('td', { text: m.rougeLVerdict, attrs: { 'data-field': 'rougeLVerdict' } })),
    );
    const from = h.sources.includes('references') ? 'each of a row\'s references against the others' : `the human outputs (${h.humanModels.join(', ')})`;
    this.human.replaceChildren(el('caption', { text: `Against people: the same metric, human against human (${from}); "below" when a model's whole interval lies under the band's` }), el('thead', {}, head), el('tbody', {}, band, ...rows));
  }

  /** Per value of the slice field: each model's n, mean and share >= threshold with their intervals (as report --slice). */
  private renderSlices(stats: StatisticsView): void {
    const s = stats.slices;
    if (!s) return this.slices.replaceChildren();
    const t = stats.threshold;
    const head = el('tr', {}, ...[s.field, 'Rows', 'Model', 'n', 'Mean [95% CI]', `≥ ${t} [95% CI]`].map((text) => el('th', { text, attrs: { scope: 'col' } })));
    const rows = s.slices.flatMap((slice) => slice.models.map((m) =>
      el('tr', { attrs: { 'data-slice': slice.value, 'data-model': m.model } }, el('th', { text: slice.value, attrs: { scope: 'row' } }), el('td', { text: String(slice.rows) }), el('td', { text: m.model }), el('td', { text: String(m.n) }), estimateCell('mean', m.mean, number), estimateCell('share', m.shareAtLeast, share)),
    ));
    const more = s.omittedValues > 0 ? `; ${s.omittedValues} more values (${s.omittedRows} rows) not shown` : '';
    this.slices.replaceChildren(el('caption', { text: `Slices by ${s.field} (${s.slices.length} values${more})` }), el('thead', {}, head), el('tbody', {}, ...rows));
  }

  private renderPairs(stats: StatisticsView): void {
    const items = stats.pairs.list.map((p) =>
      el('li', { attrs: { 'data-a': p.a, 'data-b': p.b, 'data-p': p.p === null ? '' : String(p.p) } }, el('strong', { text: `${p.a} vs ${p.b}: ` }), el('span', { text: p.verdict })),
    );
    const omitted = stats.pairs.omittedModels > 0 ? [el('p', { className: 'summary-note', text: `Paired tests among the first ${stats.pairs.limit} models; ${stats.pairs.omittedModels} more are not compared.` })] : [];
    this.pairs.replaceChildren(...(items.length ? [el('div', { className: 'stats-caption', text: 'Is the gap real? (paired test on rows both scored)' }), el('ul', {}, ...items)] : []), ...omitted);
  }

  private renderCompareChoices(stats: StatisticsView): void {
    const names = stats.models.map((m) => m.model);
    this.compareBlock.hidden = names.length < 2;
    for (const [select, fallback] of [[this.compareA, names[0]], [this.compareB, names[1]]] as const) {
      const keep = names.includes(select.value) ? select.value : fallback;
      select.replaceChildren(...names.map((n) => el('option', { text: n, attrs: { value: n } })));
      if (keep !== undefined) select.value = keep;
    }
  }

  private async runCompare(): Promise<void> {
    const a = this.compareA.value;
    const b = this.compareB.value;
    if (!a || !b || a === b) {
      this.compareResult.replaceChildren(el('p', { text: 'Pick two different models.' }));
      return;
    }
    try {
      const c = await this.hooks.compare(a, b);
      this.renderComparison(c);
    } catch (error) {
      this.hooks.onError(error);
    }
  }

  private renderComparison(c: ComparisonView | null): void {
    if (!c) {
      this.compareResult.replaceChildren();
      return;
    }
    const counts = el('p', {
      testid: 'compare-counts',
      text: `${c.paired} rows both scored: ${c.improved} improved, ${c.regressed} regressed, ${c.unchanged} unchanged (|B − A| ≤ ${c.epsilon}); ${c.verdict}.`,
      attrs: { 'data-improved': String(c.improved), 'data-regressed': String(c.regressed), 'data-unchanged': String(c.unchanged), 'data-paired': String(c.paired) },
    });
    const head = el('tr', {}, ...['Row', `A: ${c.a}`, `B: ${c.b}`, 'B − A'].map((text) => el('th', { text, attrs: { scope: 'col' } })));
    const rows = c.changed.map((r) =>
      el(
        'tr',
        { testid: 'compare-row', attrs: { 'data-id': r.id, 'data-change': r.change } },
        el('th', { text: r.id, attrs: { scope: 'row' } }),
        el('td', { text: r.a.toFixed(3) }),
        el('td', { text: r.b.toFixed(3) }),
        el('td', { text: `${r.difference >= 0 ? '+' : '−'}${Math.abs(r.difference).toFixed(3)}`, className: r.change === 'regressed' ? 'warn' : '' }),
      ),
    );
    const table = rows.length ? [el('table', { className: 'stats-table' }, el('caption', { text: `Largest changes (${rows.length} shown)` }), el('thead', {}, head), el('tbody', {}, ...rows))] : [];
    this.compareResult.replaceChildren(counts, ...table);
  }

  private renderCalibration(stats: StatisticsView): void {
    const c = stats.calibration;
    const head = el('div', { className: 'stats-caption', text: `Threshold against your labels (bad: ${c.badLabels.join(', ')}; good: ${c.goodLabels.join(', ')})` });
    this.calibration.replaceChildren(head, ...c.metrics.map((m) => this.metricBlock(m, stats.threshold)));
  }

  private metricBlock(m: CalibrationView, threshold: number): HTMLElement {
    const name = m.metric === 'cosine' ? 'Cosine (the score)' : m.metric === 'rougeL' ? 'ROUGE-L F' : m.metric;
    const block = el('div', { className: 'stats-metric', testid: `calibration-${m.metric}`, attrs: { 'data-status': m.status } });
    if (m.status !== 'ready' || !m.suggested) {
      block.append(el('p', { text: `${name}: ${m.needed} more labelled outputs needed (${m.reason ?? 'label outputs fine or bad'}); ${m.labelled} so far.` }));
      return block;
    }
    const s = m.suggested;
    const at = m.atThreshold;
    const interval = s.interval ? ` [${s.interval.low.toFixed(3)}, ${s.interval.high.toFixed(3)}]` : '';
    block.append(
      el('p', {
        text:
          `${name} on ${m.labelled} labelled outputs (${m.bad} bad): at ${threshold}, precision ${fmt(at?.precision)}, recall ${fmt(at?.recall)}, F1 ${fmt(at?.f1)}. ` +
          `Best F1 ${s.f1.toFixed(2)} at ${s.threshold.toFixed(3)}${interval}; AUC ${fmt(m.auc)}.`,
      }),
    );
    if (m.metric === 'cosine') {
      const value = Math.round(s.threshold * 1000) / 1000;
      const use = custom('vscode-button', { text: `Use ${value.toFixed(3)} as the threshold`, testid: 'use-threshold', attrs: { 'data-value': String(value) } });
      use.addEventListener('click', () => void this.hooks.useThreshold(value).catch((error: unknown) => this.hooks.onError(error)));
      block.append(el('div', {}, use));
    }
    block.append(curve(m, threshold));
    return block;
  }

  /**
   * The metrics ranked by agreement with the labels (report's "Metrics against the reviewers' labels"): AUC and kappa
   * with their intervals and how they were computed, where each calls an output bad, and the cost per 1,000 outputs;
   * then the judge's run and the labelled outputs where it disagrees with the reviewers (its reason as text).
   */
  private renderRanking(stats: StatisticsView): void {
    const r = stats.ranking;
    if (!r) {
      for (const part of [this.ranking, this.judgeNote, this.disagreements]) part.replaceChildren();
      return;
    }
    const methods = [...new Set(r.metrics.flatMap((m) => [m.auc?.method, m.kappa?.method]).filter((x): x is NonNullable<typeof x> => x !== undefined))];
    const method = `${methods.length ? methods.join(', ') : 'bootstrap'}${methods.includes('bootstrap') || methods.length === 0 ? `, ${r.resamples} resamples` : ''}`;
    const head = el('tr', {}, ...['Rank', 'Metric', 'Labelled', 'Bad', 'AUC [95% CI]', 'Kappa [95% CI]', 'Bad when', 'Cost per 1,000 outputs'].map((text) => el('th', { text, attrs: { scope: 'col' } })));
    const rows = r.metrics.map((m, i) =>
      el(
        'tr',
        { attrs: { 'data-metric': m.metric, 'data-rank': String(i + 1) } },
        el('td', { text: String(i + 1) }),
        el('th', { text: METRIC_NAMES[m.metric], attrs: { scope: 'row' } }),
        el('td', { text: String(m.n), attrs: { 'data-field': 'n' } }),
        el('td', { text: String(m.bad), attrs: { 'data-field': 'bad' } }),
        estimateCell('auc', m.auc, number),
        estimateCell('kappa', m.kappa, number),
        el('td', { text: badWhen(m), attrs: { 'data-field': 'threshold', 'data-source': m.thresholdSource } }),
        el('td', { text: m.costPer1000 === null ? 'no price' : costText(m.costPer1000), attrs: { 'data-field': 'cost', 'data-value': m.costPer1000 === null ? '' : String(m.costPer1000) } }),
      ),
    );
    this.ranking.replaceChildren(el('caption', { text: `Metrics against your labels, best first (95% intervals: ${method}); AUC 0.5 is chance` }), el('thead', {}, head), el('tbody', {}, ...rows));
    const j = r.judge;
    this.judgeNote.textContent = j
      ? `LLM judge ${j.models.join(', ')}: ${j.judged} verdicts, ${j.failed} failed, ${j.stale} made with another prompt or judge (not counted); ${j.tokens.input} input and ${j.tokens.output} output tokens.`
      : '';
    if (r.disagreements.length === 0) {
      this.disagreements.replaceChildren();
      return;
    }
    const dhead = el('tr', {}, ...['Row', 'Line', 'Model', 'Label', 'Judge', 'Judge\'s reason'].map((text) => el('th', { text, attrs: { scope: 'col' } })));
    const drows = r.disagreements.map((d) => {
      const open = el('button', { className: 'link-button', text: d.rowId, testid: 'disagreement-open', attrs: { type: 'button', title: 'Open this row\'s detail' } });
      open.addEventListener('click', () => this.hooks.openRow(d.rowId));
      return el(
        'tr',
        { testid: 'judge-disagreement', attrs: { 'data-id': d.rowId, 'data-model': d.model } },
        el('th', { attrs: { scope: 'row' } }, open),
        el('td', { text: String(d.line) }),
        el('td', { text: d.model }),
        el('td', { text: `${d.label} (${d.labelClass})`, attrs: { 'data-field': 'label' } }),
        el('td', { text: `${d.verdict}${d.rating !== undefined ? ` (${d.rating}/5)` : ''}`, attrs: { 'data-field': 'verdict' } }),
        el('td', { text: d.reason, className: 'stats-reason', attrs: { 'data-field': 'reason' } }),
      );
    });
    this.disagreements.replaceChildren(el('caption', { text: `Where the judge and your labels disagree (${drows.length} output${drows.length === 1 ? '' : 's'})` }), el('thead', {}, dhead), el('tbody', {}, ...drows));
  }

  private renderBias(stats: StatisticsView): void {
    const head = el('tr', {}, ...['Model', 'Length ratio (median)', 'Spearman(score, ratio)', 'Truncated'].map((text) => el('th', { text, attrs: { scope: 'col' } })));
    const rows = stats.models.map((m) =>
      el(
        'tr',
        { attrs: { 'data-model': m.model } },
        el('th', { text: m.model, attrs: { scope: 'row' } }),
        el('td', { text: fmt(m.lengthRatio.medianRatio) }),
        el('td', { text: fmt(m.lengthRatio.spearman) }),
        el('td', { text: m.truncated.outputs === 0 ? '–' : `${m.truncated.count} / ${m.truncated.outputs}`, attrs: { 'data-field': 'truncated', 'data-value': String(m.truncated.count) } }),
      ),
    );
    this.bias.replaceChildren(el('caption', { text: 'Bias checks: does length drive the score? are answers cut off?' }), el('thead', {}, head), el('tbody', {}, ...rows));
  }
}

const number = (n: number) => n.toFixed(3);

const METRIC_NAMES: Readonly<Record<RankedMetricView, string>> = { cosine: 'Cosine (the score)', rougeL: 'ROUGE-L F', contradiction: 'Contradiction flag', judge: 'LLM judge' };

/** Where a metric calls an output bad: below its threshold (a setting, or fitted on these labels), P(contradiction) at or above it, or the judge's verdict. */
function badWhen(m: MetricAgreementView): string {
  if (m.thresholdSource === 'verdict') return 'its verdict';
  if (m.threshold === null) return '–';
  const line = m.threshold.toFixed(3);
  const at = m.metric === 'contradiction' ? `P ≥ ${line}` : `< ${line}`;
  return m.thresholdSource === 'fitted' ? `${at} (fitted on these labels)` : at;
}

/** A cost as the CLI writes it (4 decimals under 1, else 2). */
function costText(cost: number): string {
  return cost < 1 ? cost.toFixed(4) : cost.toFixed(2);
}
const share = (n: number) => `${(n * 100).toFixed(1)}%`;

function fmt(n: number | null | undefined): string {
  return n === null || n === undefined ? '–' : n.toFixed(2);
}

/** "0.590 [0.523, 0.650]", with the exact numbers in data attributes for tests and tools. */
function estimateCell(field: string, e: EstimateView | null, format: (n: number) => string): HTMLTableCellElement {
  if (!e) return el('td', { text: '–', attrs: { 'data-field': field } });
  return el('td', {
    text: `${format(e.value)} [${format(e.low)}, ${format(e.high)}]`,
    attrs: { 'data-field': field, 'data-value': String(e.value), 'data-low': String(e.low), 'data-high': String(e.high) },
  });
}

function intervalCell(field: string, i: IntervalView | null, format: (n: number) => string): HTMLTableCellElement {
  if (!i) return el('td', { text: '–', attrs: { 'data-field': field } });
  return el('td', { text: `${format(i.low)} – ${format(i.high)}`, attrs: { 'data-field': field, 'data-low': String(i.low), 'data-high': String(i.high) } });
}

/**
 * Precision, recall and F1 over the thresholds of the curve (it spans the labelled scores), with the
 * threshold in force (dashed, when inside that range) and the suggestion (solid).
 */
function curve(m: CalibrationView, threshold: number): SVGSVGElement {
  const chart = svg('svg', { viewBox: `0 0 ${CURVE_WIDTH} ${CURVE_HEIGHT + 12}`, width: CURVE_WIDTH, height: CURVE_HEIGHT + 12, role: 'img', class: 'calibration-curve', 'data-testid': `calibration-curve-${m.metric}` });
  const low = m.curve.length ? m.curve[0].threshold : 0;
  const high = m.curve.length ? m.curve[m.curve.length - 1].threshold : 1;
  const span = high - low || 1;
  const inside = (t: number) => t >= low && t <= high;
  const x = (t: number) => ((t - low) / span) * CURVE_WIDTH;
  const y = (v: number) => CURVE_HEIGHT - 1 - v * (CURVE_HEIGHT - 12);
  const title = svg('title');
  title.textContent = `${m.metric}: precision, recall and F1 of "score < threshold => bad" for thresholds ${low.toFixed(3)} to ${high.toFixed(3)}; dashed: the threshold ${threshold}; solid: the suggestion ${m.suggested?.threshold.toFixed(3) ?? ''}`;
  chart.append(title);
  chart.setAttribute('aria-label', title.textContent);
  for (const key of ['precision', 'recall', 'f1'] as const) {
    const points = m.curve.filter((p) => p[key] !== null).map((p) => `${x(p.threshold).toFixed(1)},${y(p[key]!).toFixed(1)}`);
    if (points.length > 0) chart.append(svg('polyline', { points: points.join(' '), class: `line ${key}`, 'data-series': key }));
  }
  if (inside(threshold)) chart.append(svg('line', { x1: x(threshold), x2: x(threshold), y1: 10, y2: CURVE_HEIGHT, class: 'threshold' }));
  if (m.suggested && inside(m.suggested.threshold)) chart.append(svg('line', { x1: x(m.suggested.threshold), x2: x(m.suggested.threshold), y1: 10, y2: CURVE_HEIGHT, class: 'suggested' }));
  chart.append(svg('line', { x1: 0, x2: CURVE_WIDTH, y1: CURVE_HEIGHT - 0.5, y2: CURVE_HEIGHT - 0.5, class: 'axis' }));
  const text = (content: string, attrs: Record<string, string | number>) => {
    const node = svg('text', { class: 'legend', ...attrs });
    node.textContent = content;
    chart.append(node);
  };
  text('precision · recall · F1', { x: 2, y: 8 });
  text(low.toFixed(3), { x: 0, y: CURVE_HEIGHT + 10 });
  text(high.toFixed(3), { x: CURVE_WIDTH, y: CURVE_HEIGHT + 10, 'text-anchor': 'end' });
  return chart;
}

interface CollapsibleLike extends HTMLElement {
  open: boolean;
}

/** The collapsible "Statistics" section of the panel (closed at first: nothing is computed until it opens). */
export function statisticsSection(hooks: StatsPanelHooks): { element: HTMLElement; invalidate(): void } {
  const panel = new StatsPanel(hooks);
  const section = custom('vscode-collapsible', { testid: 'stats-section', attrs: { heading: 'Statistics: intervals, calibration, review order' } }) as CollapsibleLike;
  section.append(panel.element);
  section.addEventListener('vsc-collapsible-toggle', () => panel.setOpen(section.open));
  return { element: section, invalidate: () => panel.invalidate() };
}
