import type { Locator, Page } from 'playwright-core';

/** What the extension drew on one line of the editor. */
export interface LineDecorations {
  /** 1-based line number. */
  readonly line: number;
  /** Text drawn before the line's text (inline scores, one per model, joined by ` · `), or '' when none. */
  readonly before: string;
  /** Colour of the last of those texts, as computed (`rgb(r, g, b)`). */
  readonly beforeColor: string;
  /** Each text drawn before the line's text, in order, with its own colour and text decoration. */
  readonly segments: readonly { readonly text: string; readonly color: string; readonly decoration: string }[];
  /** Text drawn after the scores (annotations), or '' when none. */
  readonly after: string;
  /** Data-URL sources of gutter icons on the line. */
  readonly gutterIcons: readonly string[];
  /** The line's own text as shown (decorations excluded). */
  readonly text: string;
}

/** The active text editor: lines, inline decorations, CodeLens, hover. Reads only what is on screen. */
export class EditorPage {
  constructor(readonly page: Page) {}

  get root(): Locator {
    return this.page.locator('.editor-group-container.active .monaco-editor').first();
  }

  async waitVisible(): Promise<void> {
    await this.root.locator('.view-lines').waitFor({ timeout: 15_000 });
  }

  /** The text of the lines on screen, in line order (a short document shows whole). */
  async visibleText(): Promise<string> {
    return this.root.evaluate((editor) => {
      const lines = [...editor.querySelectorAll('.view-lines > .view-line')] as HTMLElement[];
      lines.sort((a, b) => parseFloat(a.style.top) - parseFloat(b.style.top));
      return lines.map((l) => (l.textContent ?? '').replace(/\u00a0/g, ' ')).join('\n');
    });
  }

  /** Moves the cursor to a line through "Go to Line", which also scrolls it into view. */
  async goToLine(line: number, column = 1): Promise<void> {
    await this.page.keyboard.press('Control+G');
    const input = this.page.locator('.quick-input-widget input.input');
    await input.waitFor();
    await input.fill(`:${line}:${column}`);
    await input.press('Enter');
    await this.page.locator('.quick-input-widget').waitFor({ state: 'hidden' });
    await this.waitLineShown(line);
  }

  private async waitLineShown(line: number): Promise<void> {
    await this.root.locator('.margin-view-overlays .line-numbers', { hasText: new RegExp(`^${line}$`) }).first().waitFor({ timeout: 10_000 });
  }

  /** Decorations of the lines currently rendered (the editor renders only what is in view). */
  async visibleDecorations(): Promise<LineDecorations[]> {
    return this.root.evaluate((editor) => {
      const unquote = (content: string): string => {
        if (!content || content === 'none' || content === 'normal') return '';
        try {
          return JSON.parse(content.replace(/\\([0-9a-fA-F]{1,6}) ?/g, (_m, hex: string) => String.fromCodePoint(parseInt(hex, 16)))) as string;
        } catch {
          return content;
        }
      };
      const topOf = (el: Element) => Math.round(parseFloat((el as HTMLElement).style.top));
      const numbers = new Map<number, number>();
      for (const n of editor.querySelectorAll('.margin-view-overlays > div')) {
        const text = n.querySelector('.line-numbers')?.textContent?.trim();
        if (text && /^\d+$/.test(text)) numbers.set(topOf(n), Number(text));
      }
      const icons = new Map<number, string[]>();
      for (const g of editor.querySelectorAll('.glyph-margin-widgets .cgmr, .margin-view-overlays .cgmr')) {
        const holder = g.closest('[style*="top"]') as HTMLElement | null;
        const top = topOf((g as HTMLElement).style.top ? g : holder ?? g);
        const bg = getComputedStyle(g).backgroundImage;
        icons.set(top, [...(icons.get(top) ?? []), bg]);
      }
      const out: LineDecorations[] = [];
      for (const view of editor.querySelectorAll('.view-lines > .view-line')) {
        const top = topOf(view);
        const line = numbers.get(top);
        if (line === undefined) continue;
        let beforeColor = '';
        let after = '';
        const segments: { text: string; color: string; decoration: string }[] = [];
        for (const span of view.querySelectorAll('span[class*="ced-"]')) {
          const b = getComputedStyle(span, '::before');
          const a = getComputedStyle(span, '::after');
          const bt = unquote(b.content);
          const at = unquote(a.content);
          if (bt) {
            segments.push({ text: bt, color: b.color, decoration: b.textDecorationLine });
            beforeColor = b.color;
          }
          if (at) after += at;
        }
        const before = segments.map((s) => s.text).join(' · ');
        out.push({ line, before, beforeColor, segments, after, gutterIcons: icons.get(top) ?? [], text: (view.textContent ?? '').replace(/\u00a0/g, ' ') });
      }
      return out.sort((x, y) => x.line - y.line);
    });
  }

  /** Decorations of the given lines, scrolling to each one not yet seen. */
  async decorationsOf(lines: readonly number[]): Promise<Map<number, LineDecorations>> {
    const seen = new Map<number, LineDecorations>();
    for (const line of lines) {
      if (seen.has(line)) continue;
      await this.goToLine(line);
      for (const d of await this.visibleDecorations()) if (!seen.has(d.line)) seen.set(d.line, d);
      if (!seen.has(line)) throw new Error(`line ${line} is not rendered after going to it`);
    }
    return seen;
  }

  /** The CodeLens links drawn above a line (it must be in view). */
  async codeLensesAbove(line: number): Promise<Locator> {
    await this.goToLine(line);
    const index = await this.root.evaluate((editor, wanted) => {
      const topOf = (el: Element) => parseFloat((el as HTMLElement).style.top);
      let lineTop: number | undefined;
      for (const n of editor.querySelectorAll('.margin-view-overlays > div')) {
        if (n.querySelector('.line-numbers')?.textContent?.trim() === String(wanted)) lineTop = topOf(n);
      }
      if (lineTop === undefined) return -1;
      const lenses = [...editor.querySelectorAll('.contentWidgets .codelens-decoration')];
      let best = -1;
      let bestTop = -Infinity;
      lenses.forEach((lens, i) => {
        const top = topOf(lens);
        if (top < lineTop! && top > bestTop && lineTop! - top < 40) {
          best = i;
          bestTop = top;
        }
      });
      return best;
    }, line);
    if (index < 0) throw new Error(`no CodeLens above line ${line}`);
    return this.root.locator('.contentWidgets .codelens-decoration').nth(index);
  }

  /** Clicks a CodeLens link (e.g. "Score row") above a line. */
  async clickCodeLens(line: number, title: string): Promise<void> {
    const lens = await this.codeLensesAbove(line);
    await lens.locator('a', { hasText: title }).first().click();
  }

  /** The rendered `.view-line` element of a line (the line must be in view). */
  async viewLine(line: number): Promise<Locator> {
    const index = await this.root.evaluate((editor, wanted) => {
      const topOf = (el: Element) => Math.round(parseFloat((el as HTMLElement).style.top));
      let lineTop: number | undefined;
      for (const n of editor.querySelectorAll('.margin-view-overlays > div')) {
        if (n.querySelector('.line-numbers')?.textContent?.trim() === String(wanted)) lineTop = topOf(n);
      }
      return [...editor.querySelectorAll('.view-lines > .view-line')].findIndex((v) => topOf(v) === lineTop);
    }, line);
    if (index < 0) throw new Error(`line ${line} is not rendered`);
    return this.root.locator('.view-lines > .view-line').nth(index);
  }

  /**
   * Hovers the line's own text (past the inline scores) and returns the row's hover once its content has
   * come: a hover left open on another line is closed first, and VS Code's "Loading..." is not the hover.
   */
  async hoverLine(line: number): Promise<Locator> {
    await this.goToLine(line);
    const shown = this.page.locator('.monaco-hover:not(.hidden)').filter({ hasText: /\S/ });
    if ((await shown.count()) > 0) {
      await this.page.keyboard.press('Escape');
      // A workbench tooltip shares the class and may outlive Escape: only the editor's hover must go.
      await this.page
        .waitForFunction(() => ![...document.querySelectorAll('.monaco-hover:not(.hidden)')].some((h) => /Row[\s\S]*threshold/.test(h.textContent ?? '')), undefined, { timeout: 10_000 })
        .catch(() => undefined);
    }
    const view = await this.viewLine(line);
    const box = await view.locator('span[class^="mtk"]').filter({ hasText: /\S/ }).first().boundingBox();
    if (!box) throw new Error(`line ${line} has no text to hover`);
    await this.page.mouse.move(box.x + 2, box.y + box.height / 2);
    await this.page.mouse.move(box.x + 6, box.y + box.height / 2);
    // The row's hover opens with its id and the threshold (src/host/review/hover.ts).
    const hover = shown.filter({ hasText: /Row[\s\S]*threshold/ }).last();
    await hover.waitFor({ state: 'visible', timeout: 10_000 });
    return hover;
  }

  /** Replaces the whole text of a line by typing over it (a real edit, undoable). */
  async replaceLine(line: number, text: string): Promise<void> {
    await this.goToLine(line);
    // "Expand Line Selection" selects the line with its line break, whatever the cursor column.
    await this.page.keyboard.press('Control+L');
    await this.page.keyboard.insertText(`${text}\n`);
  }

  async save(): Promise<void> {
    await this.page.keyboard.press('Control+S');
  }
}
