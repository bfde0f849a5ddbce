import type { AgreementMeasuresView, AgreementStatisticView, AgreementView } from '../src/shared/protocol';
import { el, formatShare } from './dom';

/**
 * Agreement between reviewers, as `report` computes it (Cohen's kappa with two reviewers, Fleiss' kappa
 * and Krippendorff's alpha, each with its bootstrap interval), overall and per label, and each
 * reviewer's progress. In blind mode the host sends progress only. Reviewer names are data: textContent.
 */
export class AgreementPanel {
  readonly element = el('div', { className: 'agreement', testid: 'agreement' });

  update(view: AgreementView | null): void {
    if (!view || view.reviewers.length === 0) {
      this.element.replaceChildren(el('p', { className: 'missing', testid: 'agreement-empty', text: 'No labels yet: agreement is measured once two reviewers label the same rows (the pisarReview.reviewer setting names who labels).' }));
      return;
    }
    const parts: Node[] = [];
    if (view.overall === null) {
      parts.push(el('p', { className: 'blind-note', testid: 'agreement-blind', text: 'Blind mode: agreement and other reviewers\' labels are hidden while you label.' }));
    } else {
      const two = view.reviewers.length === 2;
      const header = el('tr', {}, ...['label', 'units rated by 2+', 'agreement', ...(two ? ["Cohen's κ [95% CI]"] : []), "Fleiss' κ [95% CI]", "Krippendorff's α [95% CI]"].map((h) => el('th', { text: h, attrs: { scope: 'col' } })));
      const line = (label: string, m: AgreementMeasuresView, testid: string) => el(
        'tr', { testid, attrs: { 'data-label': label } },
        el('th', { text: label, attrs: { scope: 'row' } }),
        el('td', { text: String(m.units) }),
        el('td', { text: formatShare(m.percentAgreement) }),
        ...(two ? [el('td', { testid: 'agreement-cohen', text: statistic(m.cohenKappa) })] : []),
        el('td', { testid: 'agreement-fleiss', text: statistic(m.fleissKappa) }),
        el('td', { testid: 'agreement-alpha', text: statistic(m.krippendorffAlpha) }),
      );
      const table = el('table', { className: 'stats-table', testid: 'agreement-table' },
        el('caption', { text: `${view.reviewers.length} reviewers: ${view.reviewers.join(', ')} · ${view.disagreements ?? 0} open disagreement(s) · ${view.adjudicated} adjudicated` }),
        el('thead', {}, header),
        el('tbody', {}, line('(all labels)', view.overall, 'agreement-overall'), ...view.perLabel.map((l) => line(l.label, l, 'agreement-label'))),
      );
      parts.push(table);
    }
    const progress = el('table', { className: 'stats-table', testid: 'agreement-progress' },
      el('caption', { text: 'Reviewer progress' }),
      el('thead', {}, el('tr', {}, ...['reviewer', 'labels', 'rows', 'share of rows'].map((h) => el('th', { text: h, attrs: { scope: 'col' } })))),
      el('tbody', {}, ...view.progress.map((p) => el('tr', { testid: 'agreement-reviewer', attrs: { 'data-reviewer': p.reviewer } },
        el('th', { text: p.reviewer, attrs: { scope: 'row' } }),
        el('td', { text: String(p.labelled) }),
        el('td', { text: String(p.rows) }),
        el('td', { text: formatShare(view.totalRows ? p.rows / view.totalRows : null) }),
      ))),
    );
    parts.push(progress);
    this.element.replaceChildren(...parts);
  }
}

function statistic(s: AgreementStatisticView | undefined): string {
  if (!s || s.value === null) return 'n/a';
  return `${s.value.toFixed(3)}${s.interval ? ` [${s.interval.low.toFixed(3)}, ${s.interval.high.toFixed(3)}]` : ''}`;
}
