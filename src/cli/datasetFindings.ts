import * as path from 'node:path';
import type { Dataset } from '../core/dataset/datasetReader';
import type { Finding } from '../core/dataset/types';
import { terminalSafe, UsageError, type CliIo } from './args';

/** Most findings a `--json` document carries (all are counted). */
const MAX_LISTED_FINDINGS = 1000;
/** Findings printed on stderr before "… and N more". */
const SHOWN_FINDINGS = 5;

/** The dataset part of a `--json` document: what was read, what was skipped and why. */
export interface DatasetFindings {
  /** Lines in the file. */
  lines: number;
  /** Rows read (lines that are JSON objects). */
  rows: number;
  /** Non-blank lines that could not be rows (each has an error finding); > 0 means exit 3. */
  skippedLines: number;
  counts: { error: number; warning: number; info: number };
  /** The first 1000 findings, in line order. */
  findings: Omit<Finding, 'file'>[];
}

export function datasetFindings(dataset: Dataset): DatasetFindings {
  const counts = { error: 0, warning: 0, info: 0 };
  for (const f of dataset.findings) counts[f.severity] += 1;
  return {
    lines: dataset.lineCount,
    rows: dataset.rowCount,
    skippedLines: dataset.nonBlankLineCount - dataset.rowCount,
    counts,
    findings: dataset.findings.slice(0, MAX_LISTED_FINDINGS).map(({ line, severity, code, message, fix }) => ({ line, severity, code, message, fix })),
  };
}

/** Prints the count and the first few findings (errors first) on stderr, when there are any worth saying. */
export function printFindings(io: CliIo, command: string, dataset: Dataset): void {
  const worth = dataset.findings.filter((f) => f.severity !== 'info');
  if (worth.length === 0) return;
  const shown = terminalSafe(path.relative(io.cwd, dataset.file) || dataset.file);
  const skipped = dataset.nonBlankLineCount - dataset.rowCount;
  const warnings = worth.length - worth.filter((f) => f.severity === 'error').length;
  const parts = [`${skipped} line(s) skipped`, `${warnings} warning(s)`];
  const lines = [`pisar-review ${command}: ${shown}: ${dataset.rowCount} row(s) read, ${parts.join(', ')}:`];
  const ordered = [...worth.filter((f) => f.severity === 'error'), ...worth.filter((f) => f.severity !== 'error')];
  for (const f of ordered.slice(0, SHOWN_FINDINGS)) lines.push(`  ${shown}:${f.line}: ${f.severity} ${terminalSafe(f.message)}. Fix: ${terminalSafe(f.fix)}`);
  if (worth.length > SHOWN_FINDINGS) lines.push(`  … and ${worth.length - SHOWN_FINDINGS} more (pisar-review inspect ${shown}${'; --json lists them'})`);
  io.stderr.write(`${lines.join('\n')}\n`);
}

/** A dataset with no row to work on is bad input (exit 2), never "0 rows, exit 0". */
export function requireRows(dataset: Dataset): void {
  if (dataset.rowCount > 0) return;
  if (dataset.nonBlankLineCount === 0) {
    throw new UsageError(`${dataset.file}: has no rows (the file is empty or only blank lines)`);
  }
  const first = dataset.findings.find((f) => f.severity === 'error');
  throw new UsageError(
    `${dataset.file}: no row could be read: all ${dataset.nonBlankLineCount} non-blank line(s) are bad` +
      (first ? ` (line ${first.line}: ${first.message}. Fix: ${first.fix})` : '') +
      '. Run "pisar-review inspect" on it for every line.',
  );
}
