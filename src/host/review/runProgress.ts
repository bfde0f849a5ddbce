import type * as vscode from 'vscode';
import { withFix } from '../../core/review/display';
import { RunMeter, type MeterReading } from '../../core/runner/progress';
import type { ModelPrice } from '../../core/rules/cost';
import type { RunEvent } from '../../core/runner/runner';
import { uiText } from '../../core/security/escape';
import type { ReviewLog } from '../log';
import { showError, showWarning, ui } from '../surfaces';

/** Where one run's progress is told: the notification or window progress, the log, and the session's standing failure. */
export interface RunProgressSinks {
  readonly progress: vscode.Progress<{ message?: string; increment?: number }>;
  readonly log: ReviewLog;
  /** Kept on the session: the editor, the panel and the status bar say why outputs have no score. */
  setScoringFailure(message: string): void;
  /** The counts changed (the status bar reads them). */
  changed(): void;
}

/**
 * One run's progress as a person sees it, from the core runner's event stream (no part of running):
 * counts for the status bar, rate, time left, tokens and cost in the progress message, retries and
 * waits in the log, a stopped model or failed scoring as an error.
 */
export class RunProgressReporter {
  /** Finished pairs, failed ones included. */
  done = 0;
  failed = 0;
  total = 0;
  private readonly meter: RunMeter;
  private lastPct = 0;

  constructor(prices: ReadonlyMap<string, ModelPrice>, private readonly sinks: RunProgressSinks) {
    this.meter = new RunMeter(prices);
  }

  /** Rate, time left, tokens and cost so far. */
  reading(): MeterReading {
    return this.meter.reading();
  }

  readonly onEvent = (e: RunEvent): void => {
    const { progress, log } = this.sinks;
    this.meter.update(e);
    switch (e.kind) {
      case 'start':
        this.total = e.total;
        break;
      case 'result':
        // The rows themselves reach the views through the results store's own change event.
        this.done = e.done;
        this.failed = e.failed;
        this.total = e.total;
        break;
      case 'skip':
        this.done = e.done;
        this.failed = e.failed;
        break;
      case 'retry':
        log.debug(`${e.model} ${e.rowId}: retry ${e.retry} in ${e.delayMs} ms (${e.reason})`);
        return;
      case 'wait':
        log.info(`${e.model}: the server asked to wait ${Math.round(e.delayMs / 1000)} s (${e.reason}); waiting until ${e.until}`);
        progress.report({ message: ui`${this.done}/${this.total} · ${e.model} waits ${Math.round(e.delayMs / 1000)} s (server rate limit)` });
        return;
      case 'model-failed':
        log.error(withFix(e.message, e.fix));
        void showError(`PiSAR Review: ${withFix(e.message, e.fix)}`);
        return;
      case 'scoring-failed':
        log.error(`Scoring failed: ${e.message}`);
        this.sinks.setScoringFailure(e.message);
        void showError(`PiSAR Review could not score: ${e.message}`);
        return;
      case 'contradiction-failed':
        log.error(`Contradiction check failed: ${e.message}`);
        void showWarning(`PiSAR Review: the contradiction check failed (scores were kept, unchecked): ${e.message}`);
        return;
      case 'done':
        return;
    }
    const pct = this.total > 0 ? Math.floor((this.done / this.total) * 100) : 0;
    progress.report({ message: uiText(this.meter.reading().text), increment: pct - this.lastPct });
    this.lastPct = pct;
    this.sinks.changed();
  };
}
