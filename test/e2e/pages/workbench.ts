import type { Locator, Page } from 'playwright-core';
import { EditorPage } from './editor';
import { ProblemsView } from './problems';
import { ReviewPanel } from './panel';

/** The VS Code workbench in code-server: palette, quick open, notifications, status bar, reload. */
export class Workbench {
  readonly editor: EditorPage;
  readonly problems: ProblemsView;
  readonly panel: ReviewPanel;

  constructor(readonly page: Page) {
    this.editor = new EditorPage(page);
    this.problems = new ProblemsView(page, this);
    this.panel = new ReviewPanel(page, this);
  }

  /** Waits until the workbench is drawn and the explorer shows the folder. */
  async waitReady(): Promise<void> {
    await this.page.locator('.monaco-workbench').waitFor({ timeout: 90_000 });
    await this.page.locator('.explorer-folders-view .monaco-list-row').first().waitFor({ timeout: 90_000 });
  }

  private get quickInput(): Locator {
    return this.page.locator('.quick-input-widget');
  }

  private get quickInputBox(): Locator {
    return this.quickInput.locator('input.input');
  }

  /** Runs a command through the palette by its title as shown (e.g. "PiSAR Review: Score File"). */
  async runCommand(title: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      await this.closeQuickInput();
      await this.page.keyboard.press('F1');
      // Some views keep F1 to themselves; the palette's other key binding reaches the workbench.
      if (!(await this.quickInputBox.waitFor({ state: 'visible', timeout: 3_000 }).then(() => true, () => false))) await this.page.keyboard.press('Control+Shift+P');
      await this.quickInputBox.waitFor({ state: 'visible' });
      await this.page.waitForFunction(() => (document.querySelector('.quick-input-widget input.input') as HTMLInputElement | null)?.value.startsWith('>'));
      await this.quickInputBox.fill(`>${title}`);
      const row = this.quickInput.locator('.monaco-list-row', { has: this.page.locator('.label-name', { hasText: title }) }).first();
      try {
        await row.waitFor({ timeout: 10_000 });
      } catch (err) {
        // The palette can open before the extension's contributions are read: try once more.
        if (attempt >= 2) throw err;
        continue;
      }
      await this.expectQuickPickRowExact(row, title);
      await row.click();
      return;
    }
  }

  private async expectQuickPickRowExact(row: Locator, title: string): Promise<void> {
    const label = (await row.locator('.label-name').first().innerText()).trim();
    if (label !== title) throw new Error(`The palette's first match for "${title}" is "${label}"`);
  }

  /** Opens a workspace file by its relative path through Quick Open, and waits for its tab and (unless told not to: a file too large to show) its editor. */
  async openFile(relativePath: string, options: { waitForEditor?: boolean } = {}): Promise<void> {
    await this.closeQuickInput();
    const base = relativePath.split('/').pop()!;
    await this.page.keyboard.press('Control+P');
    await this.quickInputBox.waitFor();
    await this.quickInputBox.fill(relativePath);
    const row = this.quickInput.locator('.monaco-list-row', { has: this.page.locator('.label-name', { hasText: base }) }).first();
    await row.waitFor({ timeout: 15_000 });
    await row.click();
    await this.page.locator(`.tabs-container .tab.active[data-resource-name="${base}"]`).waitFor({ timeout: 15_000 });
    if (options.waitForEditor !== false) await this.editor.waitVisible();
  }

  /** openFile for a workspace made just now: Quick Open finds its files once the file search has run, so under load try again (three attempts). */
  async openNewWorkspaceFile(relativePath: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.openFile(relativePath);
        return;
      } catch (error) {
        if (attempt >= 3) throw error;
      }
    }
  }

  /** Chooses an item in an open quick pick (a command's own prompt) by its label. */
  async pickItem(label: string | RegExp): Promise<void> {
    await this.quickInput.waitFor({ state: 'visible' });
    const row = this.quickInput.locator('.monaco-list-row', { has: this.page.locator('.label-name', { hasText: label }) }).first();
    await row.waitFor({ timeout: 15_000 });
    await row.click();
  }

  /** Types into an open input box (a command's prompt) and accepts it. */
  async typeIntoInputBox(text: string): Promise<void> {
    await this.quickInput.waitFor({ state: 'visible' });
    await this.quickInputBox.fill(text);
    await this.quickInputBox.press('Enter');
  }

  /** Waits for an open quick input (a command's prompt) whose title or prompt shows `text`. */
  async waitQuickInput(text: string | RegExp): Promise<void> {
    await this.quickInput.filter({ hasText: text }).waitFor({ state: 'visible', timeout: 15_000 });
  }

  async closeQuickInput(): Promise<void> {
    if (await this.quickInput.isVisible()) await this.page.keyboard.press('Escape');
    await this.quickInput.waitFor({ state: 'hidden', timeout: 5_000 });
  }

  /** Visible notification toasts' messages. */
  async notifications(): Promise<string[]> {
    const toasts = this.page.locator('.notifications-toasts .notification-toast .notification-list-item-message');
    return (await toasts.allInnerTexts()).map((t) => t.trim());
  }

  /** All notifications in the notification center (toasts that timed out included), with their severity. */
  async allNotifications(): Promise<{ severity: 'error' | 'warning' | 'info'; message: string }[]> {
    await this.runCommand('Notifications: Show Notifications');
    const center = this.page.locator('.notifications-center');
    await center.waitFor({ state: 'visible' });
    const items = await center.locator('.notification-list-item').evaluateAll((els) =>
      els.map((el) => {
        const icon = el.querySelector('.notification-list-item-icon')?.className ?? '';
        const severity = icon.includes('error') ? 'error' : icon.includes('warning') ? 'warning' : 'info';
        return { severity, message: (el.querySelector('.notification-list-item-message')?.textContent ?? '').trim() };
      }),
    );
    await this.page.keyboard.press('Escape');
    return items as { severity: 'error' | 'warning' | 'info'; message: string }[];
  }

  async clearNotifications(): Promise<void> {
    await this.runCommand('Notifications: Clear All Notifications');
  }

  /** Text of the status bar items. */
  async statusBarTexts(): Promise<string[]> {
    return (await this.page.locator('.statusbar-item').allInnerTexts()).map((t) => t.trim()).filter(Boolean);
  }

  /** Reloads through "Developer: Reload Window": the workbench shuts down as it does for a person, saving view state. */
  async reloadWindow(): Promise<void> {
    const loaded = this.page.waitForEvent('load', { timeout: 90_000 });
    await this.runCommand('Developer: Reload Window');
    await loaded;
    await this.waitReady();
  }

  /** Reloads the window (the browser page), as "Developer: Reload Window" does. */
  async reload(): Promise<void> {
    await this.page.reload();
    await this.waitReady();
  }
}
