import type { Context } from 'mocha';
import { Session } from './session';

/**
 * Root hooks of the e2e suite (loaded by .mocharc.json): a failed test leaves a screenshot of the workbench as it
 * was when it failed (test-results/<session>-failed-<test>.png), so a failure seen once, on CI, can be read.
 */
export const mochaHooks = {
  async afterEach(this: Context): Promise<void> {
    const test = this.currentTest;
    const session = Session.open.at(-1);
    if (test?.state !== 'failed' || session === undefined) return;
    const name = test.title.replace(/[^A-Za-z0-9]+/g, '-').slice(0, 60);
    await session.screenshot(`failed-${name}`).catch(() => undefined);
  },
};
