import type { RunEvent } from '../core/runner/runner';
import { RunMeter } from '../core/runner/progress';
import type { ModelPrice } from '../core/rules/cost';
import { visibleControls } from '../core/security/escape';
import { type CliIo, UsageError } from './args';

/**
 * Progress on stderr, from one RunMeter: on a terminal a bar with the rate and time left and a line per
 * model (tokens and cost so far), redrawn as results arrive and every second; otherwise one plain line
 * every `everyMs` (a CI log shows the run is alive and when it will end). Done, failed and remaining are
 * counted apart: a failure is not progress.
 */
export class ProgressBar {
  private last = 0;
  /** Lines the bar takes on the terminal now (0: not drawn). */
  private shownLines = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly meter: RunMeter;

  constructor(private readonly io: CliIo, private readonly command: string, prices: ReadonlyMap<string, ModelPrice>, private readonly everyMs = DEFAULT_PROGRESS_EVERY_MS) {
    this.meter = new RunMeter(prices);
  }

  /** A run event told as a person reads it: the bar redrawn, a stopped model, failed scoring or a server's wait as a line of its own. */
  report(e: RunEvent): void {
    this.update(e);
    if (e.kind === 'model-failed') this.message([`model "${e.model}" stopped: ${e.message}`, `  fix: ${e.fix}`]);
    if (e.kind === 'scoring-failed') this.message([`scoring failed: ${e.message}`]);
    if (e.kind === 'contradiction-failed') this.message([`contradiction check failed: ${e.message}`]);
    if (e.kind === 'wait') this.message([`model "${e.model}": the server asked to wait ${Math.round(e.delayMs / 1000)} s (${e.reason}); waiting until ${e.until.slice(11, 19)} UTC, then retrying`]);
  }

  private update(e: RunEvent): void {
    this.meter.update(e);
    if (e.kind === 'start') this.startTimer();
    if (!this.io.stderr.isTTY) return;
    const now = Date.now();
    const reading = this.meter.reading();
    if (now - this.last < 100 && reading.progress.remaining > 0) return;
    this.last = now;
    this.draw();
  }

  message(lines: string[]): void {
    this.clear();
    this.io.stderr.write(lines.map((l, i) => `${i === 0 ? `pisar-review ${this.command}: ` : ''}${visibleControls(l)}\n`).join(''));
    this.draw();
  }

  clear(): void {
    if (this.shownLines > 0) this.io.stderr.write(this.erase());
    this.shownLines = 0;
  }

  /** Erases the lines the bar takes, from the last up, and leaves the cursor at the start of the first. */
  private erase(): string {
    return '\r\x1b[2K\x1b[1A'.repeat(Math.max(0, this.shownLines - 1)) + '\r\x1b[2K';
  }

  /** Clears the bar and stops the timer (the run is over). */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.clear();
  }

  private startTimer(): void {
    if (this.timer) return;
    const tty = this.io.stderr.isTTY === true;
    if (!tty && this.everyMs <= 0) return;
    this.timer = setInterval(() => (tty ? this.draw() : this.line()), tty ? 1000 : this.everyMs);
    this.timer.unref();
  }

  private line(): void {
    const r = this.meter.reading();
    if (r.progress.total === 0) return;
    this.io.stderr.write(`pisar-review ${this.command}: ${visibleControls([r.text, ...r.modelTexts].join(' | '))}\n`);
  }

  private draw(): void {
    if (!this.io.stderr.isTTY) return;
    const r = this.meter.reading();
    const p = r.progress;
    if (p.total === 0) return;
    const width = 30;
    const ok = Math.round((p.succeeded / p.total) * width);
    const bad = Math.min(width - ok, Math.round((p.failed / p.total) * width));
    const bar = '█'.repeat(ok) + '✗'.repeat(bad) + '░'.repeat(width - ok - bad);
    const columns = this.io.stderr.columns ?? 120;
    const lines = [`${bar} ${r.text}`, ...r.modelTexts.map((t) => `  ${t}`)].map((l) => visibleControls(l).slice(0, Math.max(20, columns - 1)));
    this.io.stderr.write(this.erase() + lines.join('\n'));
    this.shownLines = lines.length;
  }
}

/** How often a non-terminal stderr gets a progress line by default (--progress-interval). */
export const DEFAULT_PROGRESS_EVERY_MS = 5_000;

/** --progress-interval <seconds>: how often a non-terminal stderr gets a progress line; 0 turns the lines off. */
export function progressEveryMs(text: string | undefined, commandUsage: string): number {
  if (text === undefined) return DEFAULT_PROGRESS_EVERY_MS;
  const seconds = Number(text);
  if (text.trim() === '' || !Number.isFinite(seconds) || seconds < 0 || seconds > 86_400) {
    throw new UsageError(`--progress-interval: expected seconds from 0 (off) to 86400, e.g. 5; got "${text}"`, commandUsage);
  }
  return seconds === 0 ? 0 : Math.max(100, seconds * 1000);
}
