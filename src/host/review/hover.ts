import * as vscode from 'vscode';
import { contradictionText, contradicts } from '../../core/rules/contradiction';
import { correctionForRow } from '../../core/store/corrections';
import type { DatasetRow } from '../../core/dataset/types';
import { compactModelNames, embeddingModelName, matchedReferenceText, noScore } from '../../core/review/display';
import { judgeVerdictText } from '../../core/rules/judgePrompt';
import { formatScore, formatThreshold, isBelowThreshold } from '../../core/rules/rules';
import { plainText, targetLabel } from './format';
import { markdownText } from '../../core/security/escape';
import { markdown } from '../surfaces';
import type { SessionManager } from './sessions';
import type { ConfigService } from '../config';
import { BLIND_SCORE_NOTE, shownRowState } from '../../core/review/blindView';
import { reviewerViewOf } from './reviewService';

const MAX_TEXT = 1200;
/** The input is context for the outputs below it: its start is enough. */
const MAX_INPUT = 600;
/** As in the inline text (decorations.ts): the hover names the short form beside the full name. */
const INLINE_NAME_MAX = 10;

/**
 * Hover on a row: its input, the reference, then per model its output, the score and the embedding
 * model that made it, latency and tokens, then the annotations. Every text from a file or a server goes in
 * through markdownText (the `markdown` tag escapes what it interpolates), in an untrusted MarkdownString
 * without HTML or icons: a row holding `<img onerror=…>`, `![](https://tracker/pixel.png)`, a link or a bare
 * URL shows those characters, loads nothing and links nowhere (VS Code's appendText leaves bare URLs live).
 */
export class RowHoverProvider implements vscode.HoverProvider {
  constructor(private readonly sessions: SessionManager, private readonly config: ConfigService) {}

  async provideHover(document: vscode.TextDocument, position: vscode.Position): Promise<vscode.Hover | undefined> {
    const session = this.sessions.forDocument(document);
    if (!session) return undefined;
    const index = session.dataset.indexAtLine(position.line + 1);
    if (index === undefined) return undefined;
    // Blind mode: no score and only this reviewer's labels are given to the hover.
    const view = reviewerViewOf(this.config.current, session.file);
    const state = shownRowState(session.rowState(index), view);
    let row: DatasetRow | undefined;
    try {
      row = await session.dataset.getRow(index);
    } catch {
      row = undefined; // buffer changed under us; show what the stores know
    }
    const md = new vscode.MarkdownString('', false);
    md.isTrusted = false;
    md.supportHtml = false;
    md.supportThemeIcons = false;

    md.appendMarkdown('**Row** ');
    md.appendMarkdown(markdownText(session.dataset.rowIds()[index] ?? ''));
    md.appendMarkdown(markdown`  \nthreshold ${formatThreshold(session.threshold)}`);
    if (state?.suspect) md.appendMarkdown(' · **suspect reference**: every model scored below the threshold');
    md.appendMarkdown('\n\n---\n\n**Input**\n\n');
    md.appendMarkdown(markdownText(row ? plainText(row.input, MAX_INPUT) : '(not readable now: the file is being re-read)'));
    const rowId = session.dataset.rowIds()[index];
    const correction = rowId !== undefined ? correctionForRow(session.annotations?.corrections() ?? [], rowId, session.dataset.rowHash(index)) : undefined;
    const references = row?.references;
    if (references && references.length > 1) {
      md.appendMarkdown(correction ? markdown`\n\n---\n\n**Original references** (${references.length}, in the file)\n\n` : markdown`\n\n---\n\n**References** (${references.length}: each output is scored against each)\n\n`);
      references.forEach((text, i) => {
        md.appendMarkdown(markdown`**#${i + 1}** `);
        md.appendMarkdown(markdownText(plainText(text, MAX_TEXT)));
        md.appendMarkdown('\n\n');
      });
    } else {
      md.appendMarkdown(correction ? '\n\n---\n\n**Original reference** (in the file)\n\n' : '\n\n---\n\n**Reference**\n\n');
      md.appendMarkdown(markdownText(row?.reference !== undefined ? plainText(row.reference, MAX_TEXT) : '(none: this row cannot be scored)'));
      md.appendMarkdown('\n\n');
    }
    if (correction) {
      // Scores below are against the corrected reference; the file's stays as it is.
      md.appendMarkdown('**Corrected reference** (scores are against it) by ');
      md.appendMarkdown(markdownText(correction.reviewer ?? 'an unnamed reviewer'));
      md.appendMarkdown(correction.source.kind === 'output' ? ', adopted from the output of ' : '');
      if (correction.source.kind === 'output') md.appendMarkdown(markdownText(correction.source.model));
      md.appendMarkdown(': ');
      md.appendMarkdown(markdownText(plainText(correction.reason, 300)));
      md.appendMarkdown('\n\n');
      md.appendMarkdown(markdownText(plainText(correction.reference, MAX_TEXT)));
      md.appendMarkdown('\n\n');
    }

    const shown = new Set<string>();
    const short = compactModelNames(session.models(), INLINE_NAME_MAX);
    for (const r of state?.results ?? []) {
      shown.add(r.model);
      md.appendMarkdown('---\n\n**');
      md.appendMarkdown(markdownText(r.model));
      md.appendMarkdown('** ');
      const abbreviation = short.get(r.model);
      if (abbreviation && abbreviation !== r.model) {
        md.appendMarkdown('(inline: ');
        md.appendMarkdown(markdownText(abbreviation));
        md.appendMarkdown(') ');
      }
      if (r.result.error) {
        md.appendMarkdown('failed: ');
        md.appendMarkdown(markdownText(plainText(`${r.result.error.kind}: ${r.result.error.message}`, 300)));
      } else if (r.score !== undefined) {
        const verdict = isBelowThreshold(r.score, session.threshold) ? 'below threshold' : 'pass';
        md.appendMarkdown(markdown`score **${formatScore(r.score, session.threshold)}** (${verdict})`);
        if (r.result.scorer) {
          md.appendMarkdown(' · embeddings ');
          md.appendMarkdown(markdownText(embeddingModelName(r.result.scorer)));
        }
      } else if (view.blind) {
        md.appendMarkdown(markdown`score ${BLIND_SCORE_NOTE}`);
      } else {
        const missing = noScore(r, session.scoringFailure);
        md.appendMarkdown(missing?.kind === 'unscored' ? '**not scored**: ' : 'no score: ');
        md.appendMarkdown(markdownText(plainText(missing?.reason ?? 'no score', 400)));
      }
      if (r.stale) md.appendMarkdown(' · _stale: the row changed since this result; score it again_');
      if (r.fromFile) md.appendMarkdown(' · _from the file: not scored on this machine, not counted; Score File scores it here_');
      const facts: string[] = [];
      if (r.result.latencyMs !== undefined) facts.push(`${Math.round(r.result.latencyMs)} ms`);
      const u = r.result.usage;
      if (u?.promptTokens !== undefined || u?.completionTokens !== undefined) facts.push(`tokens ${u?.promptTokens ?? '?'} in / ${u?.completionTokens ?? '?'} out`);
      if (r.result.cached) facts.push('from cache');
      if (r.result.source === 'precomputed') facts.push('precomputed output');
      const matched = matchedReferenceText(r.result);
      if (matched !== undefined && r.score !== undefined) facts.push(matched);
      // The contradiction check, shown even when the score passes (the probability is a number, never dataset text).
      if (r.result.nli && r.score !== undefined && !r.stale) facts.push(contradicts(r.result, session.contradictionThreshold) ? `⚠ ${contradictionText(r.result, session.contradictionThreshold)}` : `no contradiction (P ${r.result.nli.contradiction.toFixed(2)})`);
      if (r.result.scoreCut?.length) facts.push(`${r.result.scoreCut.join(' and ')} longer than the embedding model reads: scored on its start only`);
      if (facts.length > 0) md.appendMarkdown(markdown`  
${facts.join(' · ')}`);
      // The server's own words for which model answered: escaped, never Markdown.
      if (r.result.answeredBy !== undefined) md.appendMarkdown(markdown`  
answered by ${plainText(r.result.answeredBy, 200)} (not the model asked)`);
      // The judge's verdict and reason: a model's words, escaped, never Markdown; hidden in blind mode like the score.
      const judged = view.blind ? undefined : judgeVerdictText(r.result.judge);
      if (judged !== undefined) md.appendMarkdown(markdown`  
${plainText(judged, 600)}`);
      if (r.result.output !== undefined) {
        md.appendMarkdown('\n\n');
        md.appendMarkdown(markdownText(plainText(r.result.output, MAX_TEXT)));
      }
      md.appendMarkdown('\n\n');
    }
    for (const [model, output] of Object.entries(row?.outputs ?? {})) {
      if (shown.has(model)) continue;
      md.appendMarkdown('---\n\n**');
      md.appendMarkdown(markdownText(model));
      md.appendMarkdown('** not scored yet (precomputed output)\n\n');
      md.appendMarkdown(markdownText(plainText(output, MAX_TEXT)));
      md.appendMarkdown('\n\n');
    }
    for (const p of state?.annotations ?? []) {
      const a = p.annotation;
      md.appendMarkdown('---\n\n✎ **');
      md.appendMarkdown(markdownText(a.label));
      md.appendMarkdown('** on ');
      md.appendMarkdown(markdownText(targetLabel(a.target)));
      if (a.reviewer) {
        md.appendMarkdown(' by ');
        md.appendMarkdown(markdownText(a.reviewer));
      }
      if (p.state === 'changed') md.appendMarkdown(' · _row changed since it was annotated_');
      if (a.note) {
        md.appendMarkdown('\n\n');
        md.appendMarkdown(markdownText(plainText(a.note, MAX_TEXT)));
      }
      md.appendMarkdown('\n\n');
    }
    const line = document.lineAt(position.line);
    return new vscode.Hover(md, line.range);
  }
}
