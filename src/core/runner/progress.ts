// How a run's progress is told on every surface (CLI bar and line, VS Code progress and status bar).
import { costText, tokenCost, type ModelPrice } from '../rules/cost';
import type { RunEvent } from './runner';

/** A run's progress: pairs that succeeded, failed and remain are counted apart (a failure is no success). */
export interface RunProgress {
  readonly succeeded: number;
  readonly failed: number;
  readonly remaining: number;
  readonly total: number;
  /** e.g. "120 done · 2 failed · 878 left of 1000". */
  readonly text: string;
}

export function runProgress(done: number, failed: number, total: number): RunProgress {
  const succeeded = Math.max(0, done - failed);
  const remaining = Math.max(0, total - done);
  return { succeeded, failed, remaining, total, text: `${succeeded} done · ${failed} failed · ${remaining} left of ${total}` };
}

/** One model's share of a run so far: pairs finished and failed, tokens this run's calls used, and their cost. */
export interface ModelMeterReading {
  readonly model: string;
  readonly done: number;
  readonly failed: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
  /** At the model's price per million tokens; undefined without a price. */
  readonly cost: number | undefined;
}

/** Where a run stands and how fast it goes: enough to plan by (rate, time left, tokens and cost so far per model). */
export interface MeterReading {
  readonly progress: RunProgress;
  /** Pairs finished per second over the last RATE_WINDOW_MS (undefined until one has finished). */
  readonly perSecond: number | undefined;
  /** Time left at that rate (undefined without a rate). */
  readonly etaMs: number | undefined;
  readonly models: readonly ModelMeterReading[];
  /** e.g. "120 done · 2 failed · 878 left of 1000 · 4.2/s · about 3m 29s left". */
  readonly text: string;
  /** One entry per model, e.g. "gpt: 60 done, 1 failed, 12,345 + 3,210 tokens, cost 0.0123". */
  readonly modelTexts: readonly string[];
}

/** The rate is measured over this much recent time, so a slowdown (a rate limit) shows in the time left within a minute. */
export const RATE_WINDOW_MS = 60_000;

interface ModelTally { done: number; failed: number; inputTokens: number; outputTokens: number }

/**
 * Turns a run's events into readings for people: the CLI's bar and its plain lines, VS Code's progress
 * notification. Pure: the clock is passed in. Tokens count the calls this run made (a cache hit or a
 * stored result costs nothing now).
 */
export class RunMeter {
  private total = 0;
  private done = 0;
  private failed = 0;
  private startedAt: number | undefined;
  /**
   * Finish times of the pairs finished by work in the last RATE_WINDOW_MS (skipped pairs took no time), each time once
   * with the pairs finished at it: a run finishes its pairs a batch at a time (a time a pair was 120,000 numbers a minute).
   */
  private finishes: number[] = [];
  private finishCounts: number[] = [];
  private head = 0;
  /** Pairs finished at finishes[head..]. */
  private recent = 0;
  private readonly tallies = new Map<string, ModelTally>();

  constructor(private readonly prices: ReadonlyMap<string, ModelPrice> = new Map(), private readonly now: () => number = Date.now) {}

  update(e: RunEvent): void {
    switch (e.kind) {
      case 'start':
        this.total = e.total;
        this.startedAt = this.now();
        for (const m of e.models) this.tally(m);
        return;
      case 'result': {
        // A pair's output is told twice when it is written before its score: the second telling is no new pair.
        const first = e.done > this.done;
        this.count(e);
        if (!first) return;
        const t = this.tally(e.result.model);
        t.done++;
        if (e.result.error) t.failed++;
        if (e.result.source === 'called' && !e.result.cached && e.result.usage) {
          t.inputTokens += e.result.usage.promptTokens ?? 0;
          t.outputTokens += e.result.usage.completionTokens ?? 0;
        }
        this.finished(this.now());
        return;
      }
      case 'skip': {
        this.count(e);
        const t = this.tally(e.model);
        t.done++;
        return;
      }
      default:
        return;
    }
  }

  reading(): MeterReading {
    const now = this.now();
    while (this.head < this.finishes.length && now - this.finishes[this.head] > RATE_WINDOW_MS) this.recent -= this.finishCounts[this.head++];
    if (this.head > 1024) {
      this.finishes = this.finishes.slice(this.head);
      this.finishCounts = this.finishCounts.slice(this.head);
      this.head = 0;
    }
    const recent = this.recent;
    const span = this.startedAt === undefined ? 0 : Math.min(RATE_WINDOW_MS, now - this.startedAt);
    const perSecond = recent > 0 && span > 0 ? recent / (span / 1000) : undefined;
    const progress = runProgress(this.done, this.failed, this.total);
    const etaMs = perSecond ? (progress.remaining / perSecond) * 1000 : undefined;
    const models = [...this.tallies].map(([model, t]): ModelMeterReading => ({
      model, ...t, cost: tokenCost({ input: t.inputTokens, output: t.outputTokens }, this.prices.get(model)),
    }));
    const pace = progress.remaining === 0 ? [] : [perSecond === undefined ? 'rate not known yet' : rateText(perSecond), etaMs === undefined ? '' : `about ${durationText(etaMs)} left`].filter(Boolean);
    const text = [progress.text, ...pace].join(' · ');
    const modelTexts = models.map((m) => {
      const parts = [`${m.done} done`, ...(m.failed ? [`${m.failed} failed`] : []), `${m.inputTokens.toLocaleString('en-US')} + ${m.outputTokens.toLocaleString('en-US')} tokens`];
      if (m.cost !== undefined) parts.push(`cost ${costText(m.cost)}`);
      return `${m.model}: ${parts.join(', ')}`;
    });
    return { progress, perSecond, etaMs, models, text, modelTexts };
  }

  private finished(at: number): void {
    const last = this.finishes.length - 1;
    if (last >= this.head && this.finishes[last] === at) this.finishCounts[last]++;
    else {
      this.finishes.push(at);
      this.finishCounts.push(1);
    }
    this.recent++;
  }

  private count(e: { done: number; failed: number; total: number }): void {
    this.done = e.done;
    this.failed = e.failed;
    this.total = e.total;
  }

  private tally(model: string): ModelTally {
    let t = this.tallies.get(model);
    if (!t) this.tallies.set(model, (t = { done: 0, failed: 0, inputTokens: 0, outputTokens: 0 }));
    return t;
  }
}

/** "4.2/s", or "12/min" below one a second. */
export function rateText(perSecond: number): string {
  if (perSecond >= 1) return `${perSecond >= 10 ? Math.round(perSecond) : perSecond.toFixed(1)}/s`;
  const perMinute = perSecond * 60;
  return `${perMinute >= 10 ? Math.round(perMinute) : perMinute.toFixed(1)}/min`;
}

/** "45s", "3m 29s", "2h 05m", "3d 4h". */
export function durationText(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86_400)}d ${Math.floor((s % 86_400) / 3600)}h`;
}
