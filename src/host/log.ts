import * as vscode from 'vscode';

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

  redact(text: string): string {
    let out = redactCredentials(text);
    for (const secret of this.secrets) out = out.split(secret).join('[redacted]');
    return out;
  }

  dispose(): void {
    this.secrets.clear();
    this.channel.dispose();
  }
}

/** Masks credentials that look like credentials, whoever registered them. */
export function redactCredentials(text: string): string {
  return text
    .replace(/(authorization["']?\s*[:=]\s*["']?)(?:bearer\s+)?[^\s"',}]+/gi, '$1[redacted]')
    .replace(/(api[-_]?key["']?\s*[:=]\s*["']?)[^\s"',}]+/gi, '$1[redacted]')
    .replace(/\bBearer\s+[A-Za-z0-9._~+/=-]+/g, 'Bearer [redacted]')
    .replace(/\bsk-[A-Za-z0-9_-]{8,}/g, 'sk-[redacted]');
}
