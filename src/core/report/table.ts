import { formatScore, isBelowThreshold, isStale, resultStatus } from '../review/rules';
import type { StoredResult } from '../store/results';
import type { DatasetSummary, ResultLookup } from './summary';

export type ReportFormat = 'md' | 'csv' | 'json';
export const REPORT_FORMATS: readonly ReportFormat[] = ['md', 'csv', 'json'];

/** One row's current result per model, for `report --rows`. */
export interface RowReport {
  id: string;
  line: number;
  results: Record<string, RowCell>;
}

export type RowCell =
  | { status: 'scored'; score: number; pass: boolean }
  | { status: 'unscored' }
  | { status: 'failed'; kind: string; message: string }
  | { status: 'stale' }
  | { status: 'missing' };

export function rowReports(
  dataset: { rowIds(): readonly string[]; rowHash(index: number): string; rowLine(index: number): number; readonly rowCount: number },
  results: ResultLookup,
  models: readonly string[],
  threshold: number,
): RowReport[] {
  const ids = dataset.rowIds();
  const out: RowReport[] = [];
  for (let i = 0; i < dataset.rowCount; i++) {
    const hash = dataset.rowHash(i);
    const cells: Record<string, RowCell> = {};
    for (const model of models) cells[model] = cellOf(results.latest(ids[i], model), hash, threshold);
    out.push({ id: ids[i], line: dataset.rowLine(i), results: cells });
  }
  return out;
}

function cellOf(r: StoredResult | undefined, hash: string, threshold: number): RowCell {
  if (!r) return { status: 'missing' };
  if (isStale(r, hash)) return { status: 'stale' };
  if (r.error) return { status: 'failed', kind: r.error.kind, message: r.error.message };
  if (resultStatus(r) === 'scored') return { status: 'scored', score: r.score!, pass: !isBelowThreshold(r.score!, threshold) };
  return { status: 'unscored' };
}

const SUMMARY_HEADER = (t: number) => ['model', 'rows', 'scored', 'mean', 'median', `share >= ${t}`, 'failed', 'stale'];

/** The study's table as GitHub Markdown. */
export function renderMarkdown(summary: DatasetSummary, rows?: readonly RowReport[]): string {
  const lines: string[] = [];
  const header = SUMMARY_HEADER(summary.threshold);
  lines.push(mdRow(header), mdRow(header.map((_, i) => (i === 0 ? '---' : '---:'))));
  for (const m of summary.models) {
    lines.push(mdRow([m.model, String(m.rows), String(m.scored), fixed(m.mean, summary.threshold), fixed(m.median, summary.threshold), percent(m.shareAtOrAbove), String(m.failed), String(m.stale)]));
  }
  if (summary.models.length === 0) lines.push('', '_No stored results yet: run `pisar-review score` first._');
  if (summary.gaps.length > 0) {
    lines.push('', mdRow(['model a', 'model b', 'mean gap (a - b)']), mdRow(['---', '---', '---:']));
    for (const g of summary.gaps) lines.push(mdRow([g.a, g.b, signed(g.meanGap)]));
  }
  if (summary.suspectReferences > 0) {
    lines.push('', `${summary.suspectReferences} row(s) scored below ${summary.threshold} by every model: check their reference rationales.`);
  }
  if (rows && rows.length > 0) {
    const models = summary.models.map((m) => m.model);
    lines.push('', mdRow(['line', 'id', ...models]), mdRow(['---:', '---', ...models.map(() => '---:')]));
    for (const r of rows) lines.push(mdRow([String(r.line), r.id, ...models.map((m) => cellText(r.results[m], summary.threshold))]));
  }
  return lines.join('\n') + '\n';
}

/** The study's table as CSV (RFC 4180); with rows, a second table follows after a blank line. */
export function renderCsv(summary: DatasetSummary, rows?: readonly RowReport[]): string {
  const lines: string[] = [];
  lines.push(csvRow(SUMMARY_HEADER(summary.threshold)));
  for (const m of summary.models) {
    lines.push(csvRow([m.model, m.rows, m.scored, m.mean, m.median, m.shareAtOrAbove, m.failed, m.stale]));
  }
  if (rows && rows.length > 0) {
    const models = summary.models.map((m) => m.model);
    lines.push('', csvRow(['line', 'id', ...models]));
    for (const r of rows) lines.push(csvRow([r.line, r.id, ...models.map((m) => csvCell(r.results[m]))]));
  }
  return lines.join('\r\n') + '\r\n';
}

function cellText(cell: RowCell | undefined, threshold: number): string {
  switch (cell?.status) {
    case 'scored':
      return `${formatScore(cell.score, threshold, 3)}${cell.pass ? '' : ' ✗'}`;
    case 'failed':
      return `failed (${cell.kind})`;
    case 'stale':
      return 'stale';
    case 'unscored':
      return 'unscored';
    default:
      return '–';
  }
}

function csvCell(cell: RowCell | undefined): string | number | null {
  if (cell?.status === 'scored') return cell.score;
  if (cell?.status === 'failed') return `failed: ${cell.kind}`;
  return cell?.status === 'missing' || !cell ? null : cell.status;
}

function fixed(n: number | null, threshold: number): string {
  return n === null ? '–' : formatScore(n, threshold, 3);
}

function signed(n: number): string {
  return `${n >= 0 ? '+' : ''}${n.toFixed(3)}`;
}

function percent(n: number | null): string {
  return n === null ? '–' : `${(n * 100).toFixed(1)}%`;
}

/** Terminal- and table-safe text: no control characters (ANSI escapes from a hostile dataset), no bare pipes. */
export function plainText(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '�');
}

function mdRow(cells: string[]): string {
  return `| ${cells.map((c) => plainText(c).replace(/\|/g, '\\|')).join(' | ')} |`;
}

function csvRow(cells: (string | number | null)[]): string {
  return cells
    .map((c) => {
      if (c === null) return '';
      if (typeof c === 'number') return String(c);
      // A leading = + - @ would run as a formula in a spreadsheet.
      const safe = plainText(c);
      const text = /^[=+\-@]/.test(safe) ? `'${safe}` : safe;
      return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
    })
    .join(',');
}
