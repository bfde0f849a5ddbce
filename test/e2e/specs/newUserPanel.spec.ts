import * as assert from 'node:assert/strict';
import type { Frame } from 'playwright-core';
import { Session } from '../harness/session';
import { until } from '../harness/wait';

/** Two models whose names share a long prefix, as fine-tuning runs are named. */
const MODELS = [
  { name: 'rationale-annotator-ft-qwen3-vl-8b-lora-v1', model: 'ft-qwen3-vl-8b' },
  { name: 'rationale-annotator-ft-qwen3-vl-8b-lora-v2', model: 'gpt-4o' },
];

async function width(frame: Frame, selector: string): Promise<number> {
  return frame.locator(selector).first().evaluate((e) => e.getBoundingClientRect().width);
}

/** The review panel as a new user finds it: label keys, outputs in the grid, columns and menus that tell names apart. */
describe('The review panel as a new user finds it', function () {
  let session: Session;

  before(async function () {
    session = await Session.start({ name: 'new-user-panel', models: MODELS, server: { latencyMs: 5, respond: (req) => `Because ${req.prompt}` } });
    await session.workbench.openFile('pisar-sample.jsonl');
    await session.workbench.runCommand('PiSAR Review: Score File');
    await session.page.locator('.notifications-toasts .notification-toast', { hasText: 'scored pisar-sample.jsonl' }).waitFor({ timeout: 150_000 });
  });

  after(async function () {
    await session?.close();
  });

  it('shows the label keys beside the annotation target and in the note box', async function () {
    const frame = await session.workbench.panel.open();
    const keys = frame.locator('[data-testid="label-keys"]');
    await keys.waitFor({ timeout: 15_000 });
    const text = (await keys.textContent()) ?? '';
    assert.match(text, /^1 wrong · 2 incomplete · 3 hallucinated · 4 off-topic · 5 fine · n note · x remove$/);
    assert.ok(await keys.isVisible(), 'the keys are in sight');
    await frame.locator('[data-testid="row"][data-row-id="pisar-0002"]').click();
    await session.page.keyboard.press('n');
    const noteKeys = frame.locator('[data-testid="note-keys"]');
    await noteKeys.waitFor({ state: 'visible', timeout: 10_000 });
    assert.match((await noteKeys.textContent()) ?? '', /1 wrong · 2 incomplete/);
    await session.screenshot('label-keys');
    await session.page.keyboard.press('Escape');
  });

  it('shows each model\'s output in its grid cell with the Outputs toggle, cut with an ellipsis, whole in the detail', async function () {
    const frame = await session.workbench.panel.frame();
    const cell = frame.locator(`[data-testid="row"][data-row-id="pisar-0002"] [data-testid="score"][data-model="${MODELS[1].name}"] [data-testid="cell-output"]`);
    await cell.waitFor({ state: 'attached', timeout: 15_000 });
    assert.equal(await cell.isVisible(), false, 'outputs are off at first');
    await frame.locator('[data-testid="toggle-outputs"]').click();
    await cell.waitFor({ state: 'visible', timeout: 10_000 });
    const shown = (await cell.textContent()) ?? '';
    assert.match(shown, /^Because /);
    const scoreCell = frame.locator(`[data-testid="row"][data-row-id="pisar-0002"] [data-testid="score"][data-model="${MODELS[1].name}"]`);
    const cut = await scoreCell.evaluate((e) => ({ overflow: e.scrollWidth > e.clientWidth, ellipsis: getComputedStyle(e).textOverflow }));
    assert.deepEqual(cut, { overflow: true, ellipsis: 'ellipsis' }, 'a long output is cut with an ellipsis');
    await session.screenshot('outputs-in-grid');
    await frame.locator('[data-testid="row"][data-row-id="pisar-0002"]').dblclick();
    const detail = frame.locator(`[data-testid="detail"] .output[data-model="${MODELS[1].name}"] pre`);
    await detail.waitFor({ timeout: 10_000 });
    const whole = (await detail.textContent()) ?? '';
    assert.ok(whole.replace(/\s+/g, ' ').startsWith(shown.replace(/…$/, '')), 'the cell shows the start of the output the detail has whole');
    await session.page.keyboard.press('Escape');
  });

  it('tells models alike at the start apart in its menus, and keeps a resized column resized', async function () {
    const frame = await session.workbench.panel.frame();
    const options = await frame.locator('[data-testid="filter-below"] vscode-option').allTextContents();
    for (const m of MODELS) assert.ok(options.includes(`Below threshold for ${m.name}`), `the menu names ${m.name} whole: ${options.join(' | ')}`);
    const menu = await width(frame, '[data-testid="filter-below"]');
    const longest = await frame.locator('[data-testid="filter-below"]').evaluate((e) => {
      const probe = document.createElement('span');
      probe.style.font = getComputedStyle(e).font;
      probe.style.position = 'absolute';
      probe.textContent = 'Below threshold for rationale-annotator-ft-qwen3-vl-8b-lora-v2';
      document.body.append(probe);
      const w = probe.getBoundingClientRect().width;
      probe.remove();
      return w;
    });
    assert.ok(menu >= longest, `the menu (${menu}px) is as wide as its longest option (${longest}px)`);

    const before = await width(frame, '.grid-header [data-column="id"]');
    const handle = frame.locator('[data-testid="resize-id"]');
    const box = (await handle.boundingBox())!;
    await session.page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await session.page.mouse.down();
    await session.page.mouse.move(box.x + box.width / 2 + 60, box.y + box.height / 2, { steps: 6 });
    await session.page.mouse.move(box.x + box.width / 2 + 120, box.y + box.height / 2, { steps: 6 });
    await session.page.mouse.up();
    const after = await width(frame, '.grid-header [data-column="id"]');
    assert.ok(Math.abs(after - (before + 120)) < 8, `the Id column follows the drag: ${before}px -> ${after}px`);
    const rowCell = await width(frame, '[data-testid="row"][data-row-id] [data-testid="cell-id"]');
    assert.ok(Math.abs(rowCell - after) < 2, 'the rows\' cells follow their header');

    await session.workbench.reloadWindow();
    const again = await session.workbench.panel.open();
    await again.locator('[data-testid="row"][data-row-id]').first().waitFor({ timeout: 30_000 });
    const kept = await until(session, 'the Id column width after a reload', () => width(again, '.grid-header [data-column="id"]'), (w) => Math.abs(w - after) < 2);
    assert.ok(Math.abs(kept - after) < 2, `still ${after}px after the reload: ${kept}px`);
    await session.screenshot('column-resized');
  });
});
