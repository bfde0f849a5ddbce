import * as vscode from 'vscode';
import { redactCredentials } from '../core/security/redact';
import { terminalText } from '../core/security/escape';

/**
 * The extension's log: a LogOutputChannel whose every line passes through `redact`, so API keys
 * and Authorization headers never reach the Output panel or the log files VS Code keeps on disk.
 */
export class ReviewLog implements vscode.Disposable {
  private readonly channel: vscode.LogOutputChannel;
  private readonly secrets = new Set<string>();

  constructor() {
    this.channel = vscode.window.createOutputChannel('PiSAR Review', { log: true });
  }

  /** Registers a secret value (a key just read or stored) so any accidental mention is masked. */
  addSecret(value: string | undefined): void {
    if (value && value.length >= 4) this.secrets.add(value);
  }

  trace(message: string): void { this.channel.trace(this.redact(message)); }
  debug(message: string): void { this.channel.debug(this.redact(message)); }
  info(message: string): void { this.channel.info(this.redact(message)); }
  warn(message: string): void { this.channel.warn(this.redact(message)); }
  error(message: string | Error): void {
    this.channel.error(this.redact(message instanceof Error ? message.stack ?? message.message : message));
  }

  show(): void { this.channel.show(true); }

  /** Keys masked, and control characters from outside text (ESC, a lone CR, bidi overrides) shown, not acted on. */
  redact(text: string): string {
    return terminalText(redactCredentials(text, this.secrets));
  }

  dispose(): void {
    this.secrets.clear();
    this.channel.dispose();
  }
}
