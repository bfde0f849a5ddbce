import * as vscode from 'vscode';
import type { Finding } from '../../core/dataset/types';
import type { SidecarProblem } from '../../core/store/sidecar';
import { withFix } from '../../core/review/display';
import type { ConfigService } from '../config';
import { formatScore, formatThreshold, isBelowThreshold } from '../../core/rules/rules';
import type { DatasetSession } from './session';
import type { SessionManager } from './sessions';
import { Debouncer } from '../debounce';
import { Disposable } from '../dispose';
import { uiText } from '../../core/security/escape';

const SOURCE = 'PiSAR Review';

/**
 * Problems: malformed dataset lines (errors, at their line), skipped sidecar lines (on the sidecar),
 * and, when `pisarReview.problems.lowScores` is on, each score below the threshold (warnings).
 */
export class ReviewDiagnostics extends Disposable implements vscode.Disposable {
  private readonly collection = this._register(vscode.languages.createDiagnosticCollection('pisarReview'));
  private readonly sidecarUris = new Map<DatasetSession, vscode.Uri[]>();
  private readonly pending = this._register(new Debouncer<DatasetSession>(100));

  constructor(private readonly sessions: SessionManager, private readonly config: ConfigService) {
    super();
    this._register(vscode.Disposable.from(
      sessions.onDidChange((e) => this.schedule(e.session)),
      config.onDidChange(() => sessions.all().forEach((s) => this.update(s))),
      vscode.workspace.onDidCloseTextDocument((d) => {
        if (d.uri.scheme !== 'file' || sessions.forDocument(d)) return;
        this.collection.delete(d.uri);
        for (const [s, uris] of this.sidecarUris) {
          if (s.uri.toString() === d.uri.toString()) {
            uris.forEach((u) => this.collection.delete(u));
            this.sidecarUris.delete(s);
          }
        }
      }),
    ));
    sessions.all().forEach((s) => this.update(s));
  }

  private schedule(session: DatasetSession): void {
    this.pending.coalesce(session, () => {
      if (this.sessions.get(session.uri) === session) this.update(session);
    });
  }

  private update(session: DatasetSession): void {
    const diagnostics = session.dataset.findings.map(findingDiagnostic);
    // Blind mode: a low score is not told, not even as a problem.
    if (this.config.current.problemsLowScores && !this.config.current.reviewBlind) {
      for (const state of session.rowStates().values()) {
        const line = session.dataset.rowLine(state.index) - 1;
        for (const r of state.results) {
          if (r.stale || r.score === undefined || !isBelowThreshold(r.score, session.threshold)) continue;
          const d = new vscode.Diagnostic(
            new vscode.Range(line, 0, line, Number.MAX_SAFE_INTEGER),
            uiText(`${r.model} scored ${formatScore(r.score, session.threshold)}, below the threshold ${formatThreshold(session.threshold)}${state.suspect ? ' (every model is below: the reference may be wrong)' : ''}.`),
            vscode.DiagnosticSeverity.Warning,
          );
          d.source = SOURCE;
          d.code = state.suspect ? 'suspect-reference' : 'low-score';
          diagnostics.push(d);
        }
      }
    }
    this.collection.set(session.uri, diagnostics);

    const byFile = new Map<string, SidecarProblem[]>();
    for (const p of [...(session.results?.problems ?? []), ...(session.annotations?.problems ?? [])]) {
      byFile.set(p.file, [...(byFile.get(p.file) ?? []), p]);
    }
    const previous = this.sidecarUris.get(session) ?? [];
    previous.forEach((u) => this.collection.delete(u));
    const uris: vscode.Uri[] = [];
    for (const [file, problems] of byFile) {
      const uri = vscode.Uri.file(file);
      uris.push(uri);
      this.collection.set(uri, problems.map(sidecarDiagnostic));
    }
    this.sidecarUris.set(session, uris);
  }

}

function findingDiagnostic(f: Finding): vscode.Diagnostic {
  const line = Math.max(0, f.line - 1);
  const severity = f.severity === 'error' ? vscode.DiagnosticSeverity.Error
    : f.severity === 'warning' ? vscode.DiagnosticSeverity.Warning : vscode.DiagnosticSeverity.Information;
  const d = new vscode.Diagnostic(new vscode.Range(line, 0, line, Number.MAX_SAFE_INTEGER), uiText(withFix(f.message, f.fix)), severity);
  d.source = SOURCE;
  d.code = f.code;
  return d;
}

function sidecarDiagnostic(p: SidecarProblem): vscode.Diagnostic {
  const line = Math.max(0, p.line - 1);
  const d = new vscode.Diagnostic(new vscode.Range(line, 0, line, Number.MAX_SAFE_INTEGER), uiText(withFix(p.reason, p.fix)), vscode.DiagnosticSeverity.Warning);
  d.source = SOURCE;
  d.code = p.kind;
  return d;
}
