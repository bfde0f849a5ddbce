import type { Page } from 'playwright-core';
import type { Workbench } from './workbench';

/** The PiSAR Review panel (a webview view: nested iframes in code-server). */
export class ReviewPanel {
  constructor(readonly page: Page, private readonly workbench: Workbench) {}
}
