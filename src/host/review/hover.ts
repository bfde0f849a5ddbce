import * as vscode from 'vscode';
import type { DatasetRow } from '../../core/dataset/types';
import { compactModelNames, embeddingModelName, noScore } from '../../core/review/display';
import { formatScore, formatThreshold, isBelowThreshold } from '../../core/rules/rules';
import { plainText, targetLabel } from './format';
import type { SessionManager } from './sessions';

const MAX_TEXT = 1200;
/** The input is context for the outputs below it: its start is enough. */
const MAX_INPUT = 600;
/** As in the inline text (decorations.ts): the hover names the short form beside the full name. */
const INLINE_NAME_MAX = 10;

/**
 * Hover on a row: its input, the reference, then per model its output, the score and the embedding
 * model that made it, latency and tokens, then the annotations. All dataset and model text goes in through appendText (escaped), in an untrusted
 * MarkdownString without HTML: a row holding `<img onerror=…>` shows those characters.
 */
export class RowHoverProvider implements vscode.HoverProvider {
  constructor(private readonly sessions: SessionManager) {}

  async provideHover(document: vscode.TextDocument, position: vscode.Position): Promise<vscode.Hover | undefined> {
    const session = this.sessions.forDocument(document);
    if (!session) return undefined;
    const index = session.dataset.indexAtLine(position.line + 1);
    if (index === undefined) return undefined;
    const state = session.rowState(index);
    let row: DatasetRow | undefined;
    try {
      row = await session.dataset.getRow(index);
    } catch {
      row = undefined; // buffer changed under us; show what the stores know
    }
    const md = new vscode.MarkdownString('', false);
    md.isTrusted = false;
    md.supportHtml = false;

    md.appendMarkdown('**Row** ');
    md.appendText(session.dataset.rowIds()[index] ?? '');
    md.appendMarkdown(`  \nthreshold ${formatThreshold(session.threshold)}`);
    if (state?.suspect) md.appendMarkdown(' · **suspect reference**: every model scored below the threshold');
    md.appendMarkdown('\n\n---\n\n**Input**\n\n');
    md.appendText(row ? plainText(row.input, MAX_INPUT) : '(not readable now: the file is being re-read)');
    md.appendMarkdown('\n\n---\n\n**Reference**\n\n');
    md.appendText(row?.reference !== undefined ? plainText(row.reference, MAX_TEXT) : '(none: this row cannot be scored)');
    md.appendMarkdown('\n\n');

    const shown = new Set<string>();
    const short = compactModelNames(session.models(), INLINE_NAME_MAX);
    for (const r of state?.results ?? []) {
      shown.add(r.model);
      md.appendMarkdown('---\n\n**');
      md.appendText(r.model);
      md.appendMarkdown('** ');
      const abbreviation = short.get(r.model);
      if (abbreviation && abbreviation !== r.model) {
        md.appendMarkdown('(inline: ');
        md.appendText(abbreviation);
        md.appendMarkdown(') ');
      }
      if (r.result.error) {
        md.appendMarkdown('failed: ');
        md.appendText(plainText(`${r.result.error.kind}: ${r.result.error.message}`, 300));
      } else if (r.score !== undefined) {
        const verdict = isBelowThreshold(r.score, session.threshold) ? 'below threshold' : 'pass';
        md.appendMarkdown(`score **${formatScore(r.score, session.threshold)}** (${verdict})`);
        if (r.result.scorer) {
          md.appendMarkdown(' · embeddings ');
          md.appendText(embeddingModelName(r.result.scorer));
        }
      } else {
        const missing = noScore(r, session.scoringFailure);
        md.appendMarkdown(missing?.kind === 'unscored' ? '**not scored**: ' : 'no score: ');
        md.appendText(plainText(missing?.reason ?? 'no score', 400));
      }
      if (r.stale) md.appendMarkdown(' · _stale: the row changed since this result; score it again_');
      const facts: string[] = [];
      if (r.result.latencyMs !== undefined) facts.push(`${Math.round(r.result.latencyMs)} ms`);
      const u = r.result.usage;
      if (u?.promptTokens !== undefined || u?.completionTokens !== undefined) facts.push(`tokens ${u?.promptTokens ?? '?'} in / ${u?.completionTokens ?? '?'} out`);
      if (r.result.cached) facts.push('from cache');
      if (r.result.source === 'precomputed') facts.push('precomputed output');
      if (r.result.scoreCut?.length) facts.push(`${r.result.scoreCut.join(' and ')} longer than the embedding model reads: scored on its start only`);
      if (facts.length > 0) md.appendMarkdown(`  \n${facts.join(' · ')}`);
      if (r.result.output !== undefined) {
        md.appendMarkdown('\n\n');
        md.appendText(plainText(r.result.output, MAX_TEXT));
      }
      md.appendMarkdown('\n\n');
    }
    for (const [model, output] of Object.entries(row?.outputs ?? {})) {
      if (shown.has(model)) continue;
      md.appendMarkdown('---\n\n**');
      md.appendText(model);
      md.appendMarkdown('** not scored yet (precomputed output)\n\n');
      md.appendText(plainText(output, MAX_TEXT));
      md.appendMarkdown('\n\n');
    }
    for (const p of state?.annotations ?? []) {
      const a = p.annotation;
      md.appendMarkdown('---\n\n✎ **');
      md.appendText(a.label);
      md.appendMarkdown('** on ');
      md.appendText(targetLabel(a.target));
      if (p.state === 'changed') md.appendMarkdown(' · _row changed since it was annotated_');
      if (a.note) {
        md.appendMarkdown('\n\n');
        md.appendText(plainText(a.note, MAX_TEXT));
      }
      md.appendMarkdown('\n\n');
    }
    const line = document.lineAt(position.line);
    return new vscode.Hover(md, line.range);
  }
}
