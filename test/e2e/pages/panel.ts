import type { Frame, Locator, Page } from 'playwright-core';
import type { Workbench } from './workbench';

export interface PanelSummaryRow {
  readonly model: string;
  readonly scored: string;
  readonly mean: string;
  readonly median: string;
  readonly share: string;
  readonly failures: string;
}

/** One metric of the statistics' ranking against the labels, as drawn (the exact numbers from data attributes). */
export interface RankedMetricRow {
  readonly metric: string;
  readonly name: string;
  readonly n: string;
  readonly auc: string;
  readonly aucValue: string | null;
  readonly kappa: string;
  readonly kappaValue: string | null;
  readonly badWhen: string;
  readonly cost: string;
}

/** A labelled output where the judge and the labels disagree, as drawn. */
export interface JudgeDisagreementRow {
  readonly rowId: string;
  readonly model: string;
  readonly label: string;
  readonly verdict: string;
  readonly reason: string;
  /** Links and images inside the row (none: the judge's reason is text). */
  readonly live: number;
}

export interface PanelRow {
  readonly rowId: string;
  readonly line: string;
  readonly below: boolean;
  readonly input: string;
  readonly reference: string;
  /** Score cell text per model, and whether the cell is marked below the threshold. */
  readonly scores: Readonly<Record<string, { text: string; below: boolean }>>;
  readonly labels: string;
}

/**
 * The PiSAR Review panel. A webview view is two nested iframes in code-server (the host's
 * `iframe.webview` and its `#active-frame`); the app's own frame is found by its data-testid.
 */
export class ReviewPanel {
  constructor(readonly page: Page, private readonly workbench: Workbench) {}

  async open(): Promise<Frame> {
    await this.workbench.runCommand('PiSAR Review: Show Review Panel');
    return this.frame();
  }

  /** The panel app's frame, once its toolbar is drawn. */
  async frame(timeoutMs = 30_000): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      for (const frame of this.page.frames()) {
        if (frame === this.page.mainFrame()) continue;
        try {
          if (await frame.locator('[data-testid="toolbar"]').count()) return frame;
        } catch {
          // frame navigated away while we looked
        }
      }
      await this.page.waitForTimeout(100);
    }
    throw new Error('The PiSAR Review panel did not appear');
  }

  async testid(id: string): Promise<Locator> {
    return (await this.frame()).locator(`[data-testid="${id}"]`);
  }

  /** The summary table, one entry per model. */
  async summary(): Promise<PanelSummaryRow[]> {
    const frame = await this.frame();
    return frame.locator('[data-testid="summary"] tbody tr').evaluateAll((rows) =>
      rows.map((tr) => {
        const field = (name: string) => tr.querySelector(`[data-field="${name}"]`)?.textContent?.trim() ?? '';
        return {
          model: tr.getAttribute('data-model') ?? '',
          scored: field('scored'),
          mean: field('mean'),
          median: field('median'),
          share: field('share'),
          failures: field('failures'),
        };
      }),
    );
  }

  /** The model columns' headers as drawn: their text, their title, and whether the text fits. */
  async scoreHeaders(): Promise<{ text: string; title: string; fits: boolean }[]> {
    const frame = await this.frame();
    return frame.locator('.grid-header .head.score .sort-button').evaluateAll((buttons) =>
      buttons.map((b) => ({
        text: (b.textContent ?? '').replace(/ [▲▼]$/, ''),
        title: b.getAttribute('title') ?? '',
        fits: (b as HTMLElement).scrollWidth <= (b as HTMLElement).clientWidth + 1,
      })),
    );
  }

  /** Where the rows and the summary sit in the panel now, and how many rows are wholly in sight. */
  async layout(): Promise<{ panelHeight: number; rowsTop: number; summaryTop: number; rowsInSight: number }> {
    const frame = await this.frame();
    return frame.locator('[data-testid="rows-viewport"]').evaluate((viewport) => {
      const box = viewport.getBoundingClientRect();
      const summary = document.querySelector('[data-testid="summary-section"]')!.getBoundingClientRect();
      const inSight = [...viewport.querySelectorAll<HTMLElement>('[data-testid="row"][data-row-id]:not([hidden])')].filter((r) => {
        const b = r.getBoundingClientRect();
        return b.top >= box.top - 1 && b.bottom <= Math.min(box.bottom, window.innerHeight) + 1;
      });
      return { panelHeight: window.innerHeight, rowsTop: box.top, summaryTop: summary.top, rowsInSight: inSight.length };
    });
  }

  /** Whether the summary section is open. */
  async summaryOpen(): Promise<boolean> {
    return (await this.frame()).locator('[data-testid="summary-section"]').evaluate((s) => (s as HTMLElement & { open: boolean }).open);
  }

  /** Opens or closes the summary by clicking its heading, as a person does. */
  async toggleSummary(): Promise<void> {
    await (await this.frame()).locator('[data-testid="summary-section"] .collapsible-header').click();
  }

  /** Row elements in the DOM now (the list is virtualised: only about a screenful exists). */
  async rowElementCount(): Promise<number> {
    return (await this.frame()).locator('[data-testid="row"]').count();
  }

  /** The rows in the list's viewport, in position order, once each has loaded. */
  async visibleRows(): Promise<PanelRow[]> {
    const frame = await this.frame();
    // Rows arrive by page after a filter or a scroll, after the row counter: read them once every
    // position in the viewport holds its loaded row, never the placeholders of a page in flight.
    await this.rowsInViewLoaded(frame.locator('[data-testid="rows-viewport"]'));
    return frame.locator('[data-testid="row"]:not([hidden])').evaluateAll((rows) =>
      rows
        .filter((r) => (r as HTMLElement).dataset.rowId !== undefined && (r as HTMLElement).dataset.loading !== 'true')
        .sort((a, b) => Number((a as HTMLElement).dataset.position) - Number((b as HTMLElement).dataset.position))
        .map((r) => {
          const el = r as HTMLElement;
          const text = (id: string) => el.querySelector(`[data-testid="${id}"]`)?.textContent ?? '';
          const scores: Record<string, { text: string; below: boolean }> = {};
          for (const cell of el.querySelectorAll<HTMLElement>('[data-testid="score"]')) {
            scores[cell.dataset.model ?? ''] = { text: (cell.textContent ?? '').trim(), below: cell.dataset.below === 'true' };
          }
          return {
            rowId: el.dataset.rowId ?? '',
            line: text('cell-line'),
            below: el.dataset.below === 'true',
            input: text('cell-input'),
            reference: text('cell-reference'),
            scores,
            labels: text('labels'),
          };
        }),
    );
  }

  /**
   * Opens a row's detail by double-clicking its input cell (the row must be drawn) and returns the detail
   * once it shows that row: a detail already open on another row stays visible until this row's arrives.
   */
  async openDetail(rowId: string): Promise<Locator> {
    const frame = await this.frame();
    await frame.locator(`[data-testid="row"][data-row-id="${rowId}"] [data-testid="cell-input"]`).dblclick();
    await frame.waitForFunction(
      (id) => {
        const detail = document.querySelector<HTMLElement>('[data-testid="detail"]');
        return detail !== null && !detail.hidden && (document.getElementById('detail-title')?.textContent ?? '').startsWith(`Row ${id} · `);
      },
      rowId,
      { timeout: 15_000 },
    );
    return frame.locator('[data-testid="detail"]:not([hidden])');
  }

  /** Opens the statistics section by clicking its heading (nothing is computed until it opens). */
  async openStatistics(): Promise<void> {
    await (await this.frame()).locator('[data-testid="stats-section"]').click({ position: { x: 40, y: 10 } });
  }

  /** The statistics' metrics ranked against the labels, best first ([] until drawn). */
  async rankedMetrics(): Promise<RankedMetricRow[]> {
    const frame = await this.frame();
    return frame.locator('[data-testid="stats-ranking"] tbody tr').evaluateAll((rows) =>
      rows.map((tr) => {
        const cell = (name: string) => tr.querySelector(`[data-field="${name}"]`);
        return {
          metric: tr.getAttribute('data-metric') ?? '',
          name: tr.querySelector('th')?.textContent ?? '',
          n: cell('n')?.textContent ?? '',
          auc: cell('auc')?.textContent ?? '',
          aucValue: cell('auc')?.getAttribute('data-value') ?? null,
          kappa: cell('kappa')?.textContent ?? '',
          kappaValue: cell('kappa')?.getAttribute('data-value') ?? null,
          badWhen: cell('threshold')?.textContent ?? '',
          cost: cell('cost')?.textContent ?? '',
        };
      }),
    );
  }

  /** The statistics' rows where the judge and the labels disagree. */
  async judgeDisagreements(): Promise<JudgeDisagreementRow[]> {
    const frame = await this.frame();
    return frame.locator('[data-testid="judge-disagreement"]').evaluateAll((rows) =>
      rows.map((tr) => {
        const cell = (name: string) => tr.querySelector(`[data-field="${name}"]`)?.textContent ?? '';
        return {
          rowId: tr.getAttribute('data-id') ?? '',
          model: tr.getAttribute('data-model') ?? '',
          label: cell('label'),
          verdict: cell('verdict'),
          reason: cell('reason'),
          live: tr.querySelectorAll('a, img').length,
        };
      }),
    );
  }

  /** Gives the panel the whole editor area (the summary leaves few rows in view otherwise). */
  async maximize(): Promise<void> {
    const viewport = (await this.frame()).locator('[data-testid="rows-viewport"]');
    if ((await viewport.evaluate((v) => v.clientHeight)) >= 200) return;
    await this.workbench.runCommand('View: Toggle Maximized Panel');
    const deadline = Date.now() + 5_000;
    while ((await viewport.evaluate((v) => v.clientHeight)) < 200) {
      if (Date.now() > deadline) throw new Error('the panel did not grow when maximised');
      await this.page.waitForTimeout(100);
    }
  }

  /**
   * Waits for the positive signal that the list shows the rows at its scroll position: every position
   * in the viewport has a drawn, loaded row (pages arrive after a scroll). Not a pause: a row missing
   * from allRows() means it is not in the view, never that its page was late.
   */
  private async rowsInViewLoaded(viewport: Locator): Promise<void> {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const missing = await viewport.evaluate((v) => {
        const height = parseFloat(getComputedStyle(v).getPropertyValue('--row-height')) || 24;
        const spacer = v.querySelector<HTMLElement>('.grid-spacer');
        const total = Math.round((spacer?.offsetHeight ?? 0) / height);
        const loaded = new Set(
          [...v.querySelectorAll<HTMLElement>('[data-testid="row"]:not([hidden])')]
            .filter((r) => r.dataset.rowId !== undefined && r.dataset.loading !== 'true')
            .map((r) => Number(r.dataset.position)),
        );
        const first = Math.floor(v.scrollTop / height);
        const last = Math.min(total - 1, Math.floor((v.scrollTop + v.clientHeight - 1) / height));
        const gaps: number[] = [];
        for (let p = first; p <= last; p++) if (!loaded.has(p)) gaps.push(p);
        return gaps;
      });
      if (missing.length === 0) return;
      if (Date.now() > deadline) throw new Error(`the panel never drew the rows at positions ${missing.slice(0, 10).join(', ')}`);
      await this.page.waitForTimeout(50);
    }
  }

  /** Every row, scrolling the list's viewport from top to bottom. */
  async allRows(): Promise<PanelRow[]> {
    const frame = await this.frame();
    await this.maximize();
    const viewport = frame.locator('[data-testid="rows-viewport"]');
    const byId = new Map<string, PanelRow>();
    await viewport.evaluate((v) => (v.scrollTop = 0));
    for (let guard = 0; guard < 1000; guard++) {
      for (const r of await this.visibleRows()) byId.set(r.rowId, r);
      const done = await viewport.evaluate((v) => {
        if (v.scrollTop + v.clientHeight >= v.scrollHeight - 1) return true;
        if (v.clientHeight < 40) throw new Error('the rows list has no room to show rows');
        v.scrollTop += v.clientHeight - 20;
        return false;
      });
      if (done) {
        for (const r of await this.visibleRows()) byId.set(r.rowId, r);
        break;
      }
    }
    return [...byId.values()];
  }
}
