/**
 * Exports a dataset's summary and a set of rows (the panel's filtered view) as Markdown, CSV or JSONL.
 * Pure: builds text; the caller writes the files.
 */
import { formatScore, isBelowThreshold } from '../review/rules';

export type ReportFormat = 'markdown' | 'csv' | 'jsonl';

export const REPORT_FORMATS: readonly ReportFormat[] = ['markdown', 'csv', 'jsonl'];

export interface ReportModelSummary {
  readonly model: string;
  readonly scored: number;
  readonly mean: number | null;
  readonly median: number | null;
  readonly shareAtLeast: number | null;
  readonly failures: number;
}

export interface ReportGap {
  readonly a: string;
  readonly b: string;
  /** mean(a) - mean(b). */
  readonly gap: number | null;
}

export interface ReportSummary {
  readonly file: string;
  readonly threshold: number;
  readonly rowCount: number;
  readonly models: readonly ReportModelSummary[];
  readonly gaps: readonly ReportGap[];
  readonly annotated: number;
  /** How the rows were chosen, in words (e.g. "below 0.7 for any model; text \"tax\""). */
  readonly selection: string;
}

export interface ReportRow {
  readonly index: number;
  readonly line: number;
  readonly id: string;
  readonly input: string;
  readonly reference: string | null;
  /** model -> score (null: failed or missing), with the error when it failed. */
  readonly scores: Readonly<Record<string, { readonly score: number | null; readonly error?: string; readonly stale?: boolean }>>;
  readonly annotations: readonly { readonly target: string; readonly label: string; readonly note?: string }[];
}

export interface ReportInput {
  readonly summary: ReportSummary;
  /** Model columns, in order. */
  readonly models: readonly string[];
  readonly rows: Iterable<ReportRow>;
}

/** One file of an export. `suffix` is added before the extension (CSV writes the summary beside the rows). */
export interface ReportFile {
  readonly suffix: string;
  readonly extension: string;
  readonly text: string;
}

export function renderReport(format: ReportFormat, input: ReportInput): ReportFile[] {
  switch (format) {
    case 'markdown':
      return [{ suffix: '', extension: '.md', text: renderMarkdown(input) }];
    case 'csv':
      return [
        { suffix: '', extension: '.csv', text: renderRowsCsv(input) },
        { suffix: '.summary', extension: '.csv', text: renderSummaryCsv(input) },
      ];
    case 'jsonl':
      return [{ suffix: '', extension: '.jsonl', text: renderJsonl(input) }];
    default: {
      const unknown: never = format;
      throw new Error(`Unknown report format "${String(unknown)}": use markdown, csv or jsonl.`);
    }
  }
}

function fixed(value: number | null, digits = 3): string {
  return value === null || Number.isNaN(value) ? '' : value.toFixed(digits);
}

/** A mean or median: three decimals, never rounded across the threshold (formatScore). */
function meanText(value: number | null, threshold: number): string {
  return value === null || Number.isNaN(value) ? '' : formatScore(value, threshold, 3);
}

function percent(value: number | null): string {
  return value === null || Number.isNaN(value) ? '' : `${(value * 100).toFixed(1)}%`;
}

function annotationText(row: ReportRow): string {
  return row.annotations.map((a) => `${a.target}: ${a.label}${a.note ? ` (${a.note})` : ''}`).join('; ');
}

// ---- Markdown ----

/** Makes text safe in a Markdown table cell: no row breaks, no column breaks, no live HTML. */
export function markdownCell(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/\\/g, '\\\\')
    .replace(/\|/g, '\\|')
    .replace(/`/g, '\\`')
    .replace(/\r?\n|\r/g, '<br>');
}

function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const lines = [`| ${header.map(markdownCell).join(' | ')} |`, `|${header.map(() => ' --- ').join('|')}|`];
  for (const row of rows) lines.push(`| ${row.map(markdownCell).join(' | ')} |`);
  return lines.join('\n');
}

function renderMarkdown({ summary, models, rows }: ReportInput): string {
  const out: string[] = [];
  out.push(`# PiSAR Review report: ${markdownCell(summary.file.split(/[\\/]/).pop() ?? summary.file)}`, '');
  out.push(`- File: ${markdownCell(summary.file)}`);
  out.push(`- Rows: ${summary.rowCount}; annotated: ${summary.annotated}`);
  out.push(`- Threshold: ${summary.threshold}`);
  out.push(`- Rows exported: ${markdownCell(summary.selection)}`, '');
  out.push('## Summary', '');
  out.push(
    markdownTable(
      ['Model', 'Scored', 'Mean', 'Median', `Share >= ${summary.threshold}`, 'Failures'],
      summary.models.map((m) => [m.model, String(m.scored), meanText(m.mean, summary.threshold), meanText(m.median, summary.threshold), percent(m.shareAtLeast), String(m.failures)]),
    ),
  );
  if (summary.gaps.length > 0) {
    out.push('', '### Gaps between mean scores', '');
    out.push(markdownTable(['Model A', 'Model B', 'Mean A - mean B'], summary.gaps.map((g) => [g.a, g.b, fixed(g.gap)])));
  }
  const rowLines: string[][] = [];
  for (const row of rows) {
    rowLines.push([
      row.id,
      String(row.line),
      row.input,
      row.reference ?? '',
      ...models.map((model) => scoreCell(row, model, summary.threshold)),
      annotationText(row),
    ]);
  }
  out.push('', `## Rows (${rowLines.length})`, '');
  out.push(markdownTable(['Id', 'Line', 'Input', 'Reference', ...models, 'Annotations'], rowLines));
  return out.join('\n') + '\n';
}

function scoreCell(row: ReportRow, model: string, threshold: number): string {
  const s = row.scores[model];
  if (!s) return '';
  if (s.score === null) return s.error ? `failed: ${s.error}` : 'n/a';
  // A text marker as well as the number: the report is read without colours.
  return `${formatScore(s.score, threshold, 3)}${isBelowThreshold(s.score, threshold) ? ' ▼ below' : ''}${s.stale ? ' (stale)' : ''}`;
}

// ---- CSV ----

/** RFC 4180 field; text that a spreadsheet would run as a formula gets a leading apostrophe. */
export function csvText(text: string): string {
  const safe = /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

function csvNumber(value: number | null): string {
  return value === null || Number.isNaN(value) ? '' : String(value);
}

function renderRowsCsv({ models, rows }: ReportInput): string {
  const header = ['id', 'line', 'input', 'reference', ...models.flatMap((m) => [`score:${m}`, `error:${m}`]), 'annotations'];
  const lines = [header.map(csvText).join(',')];
  for (const row of rows) {
    const cells = [csvText(row.id), String(row.line), csvText(row.input), csvText(row.reference ?? '')];
    for (const model of models) {
      const s = row.scores[model];
      cells.push(csvNumber(s?.score ?? null), csvText(s?.error ?? ''));
    }
    cells.push(csvText(annotationText(row)));
    lines.push(cells.join(','));
  }
  return lines.join('\r\n') + '\r\n';
}

function renderSummaryCsv({ summary }: ReportInput): string {
  const names = summary.models.map((m) => m.model);
  const header = ['model', 'scored', 'mean', 'median', `share_at_least_${summary.threshold}`, 'failures', ...names.map((n) => `gap_vs:${n}`)];
  const lines = [header.map(csvText).join(',')];
  for (const m of summary.models) {
    const gaps = names.map((other) => {
      if (other === m.model) return '';
      const direct = summary.gaps.find((g) => g.a === m.model && g.b === other);
      if (direct) return csvNumber(direct.gap);
      const reverse = summary.gaps.find((g) => g.a === other && g.b === m.model);
      return reverse && reverse.gap !== null ? csvNumber(-reverse.gap) : '';
    });
    lines.push([csvText(m.model), String(m.scored), csvNumber(m.mean), csvNumber(m.median), csvNumber(m.shareAtLeast), String(m.failures), ...gaps].join(','));
  }
  return lines.join('\r\n') + '\r\n';
}

// ---- JSONL ----

function renderJsonl({ summary, rows }: ReportInput): string {
  const lines = [JSON.stringify({ type: 'summary', ...summary })];
  for (const row of rows) lines.push(JSON.stringify({ type: 'row', ...row }));
  return lines.join('\n') + '\n';
}
