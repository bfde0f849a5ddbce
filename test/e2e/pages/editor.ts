import type { Page } from 'playwright-core';

/** The active text editor. */
export class EditorPage {
  constructor(readonly page: Page) {}

  get root() {
    return this.page.locator('.editor-group-container.active .monaco-editor').first();
  }

  async waitVisible(): Promise<void> {
    await this.root.locator('.view-lines').waitFor({ timeout: 15_000 });
  }
}
