import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Frame } from 'playwright-core';
import { report } from '../harness/cli';
import { darkDefault, isShortNameOf } from '../harness/sample';
import { Session } from '../harness/session';
import { until } from '../harness/wait';

const THRESHOLD = 0.7;
/** Names as teams give them: one family, long, alike at the start. */
const LONG_MODELS = [
  { name: 'annotator-ft-qwen3-vl-8b', model: 'ft-qwen3-vl-8b' },
  { name: 'annotator-gpt-4o-2024-08-06', model: 'gpt-4o' },
];

async function text(frame: Frame, testid: string): Promise<string> {
  return ((await frame.locator(`[data-testid="${testid}"]`).first().textContent()) ?? '').trim();
}

/** The panel and the editor as a reviewer meets them: long model names, the default panel height, the dark theme. */
describe('The panel and editor as a reviewer meets them', function () {
  let session: Session;

  before(async function () {
    session = await Session.start({
      name: 'reviewer-ux',
      models: LONG_MODELS,
      // "gpt" answers off-topic for every other row (below 0.7 there), "ft-qwen" restates the input.
      server: { latencyMs: 10, respond: (req) => (req.model === 'gpt-4o' && req.prompt.length % 2 === 0 ? 'banana' : `Rationale: ${req.prompt}`) },
    });
    await session.workbench.openFile('pisar-sample.jsonl');
    await session.workbench.runCommand('PiSAR Review: Score File');
    // Score File says when it is done.
    await session.page.locator('.notifications-toasts .notification-toast', { hasText: 'scored pisar-sample.jsonl' }).waitFor({ timeout: 150_000 });
  });

  after(async function () {
    await session?.close();
  });

  it('shows rows at the default panel height, the summary below them, collapsible and remembered', async function () {
    const panel = session.workbench.panel;
    await panel.open();
    const frame = await panel.frame();
    await frame.locator('[data-testid="row"][data-row-id]').first().waitFor({ timeout: 15_000 });
    await frame.locator('[data-testid="summary"] tbody tr').first().waitFor({ timeout: 15_000 });
    // Five rows at least: the reviewer and blind mode sit in the head's first line (a long name cut), not a line of their own.
    const layout = await until(session, 'rows in sight', () => panel.layout(), (l) => l.rowsInSight >= 5);
    await session.screenshot('panel-default-height-dark');
    assert.ok(layout.panelHeight < 500, `the panel has its default height, not maximised (${layout.panelHeight}px)`);
    assert.ok(layout.rowsTop < layout.summaryTop, 'the rows come before the summary');

    // Collapsed, the summary's heading still gives each model's mean and the embedding model.
    assert.equal(await panel.summaryOpen(), true);
    await panel.toggleSummary();
    assert.equal(await panel.summaryOpen(), false);
    const heading = (await frame.locator('[data-testid="summary-section"]').getAttribute('description')) ?? '';
    assert.match(heading, /annotator-ft-qwen3-vl-8b \d\.\d{3}/);
    assert.match(heading, /tiny \(fp32\)/);
    assert.match(await text(frame, 'summary-embedding'), /tiny \(fp32\) sentence embeddings/);

    // Problems counted by severity, as the Problems view counts them.
    assert.match(await text(frame, 'dataset-info'), /2 errors, 2 warnings in Problems/);

    // The collapsed summary stays collapsed after the window reloads.
    await session.workbench.reloadWindow();
    await panel.open();
    const again = await panel.frame();
    await again.locator('[data-testid="row"][data-row-id]').first().waitFor({ timeout: 30_000 });
    assert.equal(await panel.summaryOpen(), false, 'the summary is still collapsed');
    await panel.toggleSummary();
  });

  it('gives each model column a header that tells it apart, with the full name in its title', async function () {
    const headers = await session.workbench.panel.scoreHeaders();
    const names = [...LONG_MODELS.map((m) => m.name), 'ft-qwen3-vl-8b', 'gpt-4o', 'claude-sonnet'];
    assert.equal(headers.length, names.length);
    assert.equal(new Set(headers.map((h) => h.text)).size, headers.length, `headers read apart: ${headers.map((h) => h.text).join(' | ')}`);
    for (const h of headers) {
      assert.ok(h.fits, `header "${h.text}" is not cut off`);
      const full = names.find((n) => h.title.startsWith(`${n}:`));
      assert.ok(full, `header "${h.text}" names its model in full in its title: ${h.title}`);
      assert.ok(full.startsWith(h.text.split('…')[0]) && full.endsWith(h.text.split('…').pop()!), `"${h.text}" is "${full}" shortened in the middle`);
    }
  });

  it('offers Re-run only for models it can call, visibly disabled otherwise, and clears its status when done', async function () {
    const { page } = session;
    const panel = session.workbench.panel;
    const frame = await panel.frame();
    const row = frame.locator('[data-testid="row"][data-row-id="pisar-0001"]');
    await row.click();
    await page.keyboard.press('Enter');
    const detail = frame.locator('[data-testid="detail"]');
    await detail.waitFor({ timeout: 10_000 });
    const rerun = (model: string) => detail.locator(`.output[data-model="${model}"] [data-testid="detail-rerun"]`);
    const look = (model: string) => rerun(model).evaluate((b) => ({ disabled: b.hasAttribute('disabled'), opacity: Number(getComputedStyle(b).opacity), title: b.getAttribute('title') ?? '' }));
    const precomputed = await look('claude-sonnet');
    const configured = await look(LONG_MODELS[1].name);
    await session.screenshot('detail-rerun-dark');
    assert.equal(precomputed.disabled, true, 'claude-sonnet is not in settings: it cannot be called');
    assert.match(precomputed.title, /not in the pisarReview.models setting/);
    assert.ok(precomputed.opacity <= 0.5, `a disabled Re-run looks disabled in the dark theme (opacity ${precomputed.opacity})`);
    assert.equal(configured.disabled, false);
    assert.equal(configured.opacity, 1);

    const calls = session.server!.stats.requests;
    await rerun(LONG_MODELS[1].name).click();
    await until(session, 'the re-run call', async () => session.server!.stats.requests, (n) => n > calls);
    await until(session, 'the busy ring to go', () => frame.locator('[data-testid="busy"]').isHidden(), (hidden) => hidden);
    const status = await until(session, 'the status to clear', () => text(frame, 'status'), (t) => !/Calling|Scoring/.test(t), 10_000);
    assert.equal(status, '');
    await page.keyboard.press('Escape');
  });

  it('draws each model\'s inline score under a short name in its own colour, with the full name in the hover', async function () {
    const { workbench } = session;
    const doc = report(path.join(session.workspace, 'pisar-sample.jsonl'), THRESHOLD);
    const [qwen, gpt] = LONG_MODELS.map((m) => m.name);
    // Not the first line: the editor's cursor (and its bracket match) sits there.
    const mixed = doc.rows.find((r) => {
      if (r.line === 1) return false;
      const a = r.results[qwen];
      const b = r.results[gpt];
      return a?.status === 'scored' && b?.status === 'scored' && a.score >= THRESHOLD && b.score < THRESHOLD;
    });
    assert.ok(mixed, 'a row where one model passes and the other fails');
    const shown = (await workbench.editor.decorationsOf([mixed.line])).get(mixed.line)!;
    await session.screenshot('inline-compact-dark');
    const [first, second] = shown.segments;
    assert.ok(first && second, `two configured models' scores at least: ${JSON.stringify(shown.segments)}`);
    const [qwenName, qwenScore] = first.text.split(' ');
    const [gptName, gptScore] = second.text.split(' ');
    assert.ok(isShortNameOf(qwenName, qwen) && isShortNameOf(gptName, gpt), `short names: ${qwenName}, ${gptName}`);
    assert.notEqual(qwenName, gptName);
    assert.ok(Math.abs(Number(qwenScore) - (mixed.results[qwen] as { score: number }).score) < 0.006);
    assert.ok(Math.abs(Number(gptScore) - (mixed.results[gpt] as { score: number }).score) < 0.006);
    assert.equal(first.color, darkDefault('pisarReview.scorePassForeground'), 'the passing model is in the passing colour');
    assert.equal(second.color, darkDefault('pisarReview.scoreFailForeground'), 'only the failing model is in the failing colour');
    for (const s of shown.segments) assert.ok(s.text.length <= 16, `each model's inline text stays short: "${s.text}"`);
    const fullLength = shown.segments.length * 6 + [...LONG_MODELS.map((m) => m.name), 'ft-qwen3-vl-8b', 'gpt-4o', 'claude-sonnet'].join('').length;
    assert.ok(shown.segments.reduce((n, s) => n + s.text.length, 0) < fullLength * 0.7, 'the row\'s inline text is much shorter than with full names');

    const hover = await workbench.editor.hoverLine(mixed.line);
    const hoverText = (await hover.innerText()).replace(/\s+/g, ' ');
    await session.screenshot('hover-dark');
    assert.ok(hoverText.includes(`${qwen} (inline: ${qwenName})`), `the hover names ${qwen} in full beside its short name`);
    assert.match(hoverText, /Input/);
    const input = String(JSON.parse(fs.readFileSync(path.join(session.workspace, 'pisar-sample.jsonl'), 'utf8').split('\n')[mixed.line - 1]).input);
    assert.ok(hoverText.includes(input.slice(0, 60).replace(/\s+/g, ' ')), 'the hover shows the row\'s input');
    assert.match(hoverText, /embeddings tiny \(fp32\)/, 'the hover names the embedding model behind the score');
    await session.page.keyboard.press('Escape');
  });

  it('hides the row CodeLenses when pisarReview.codeLens.enabled is off, and shows them again when on', async function () {
    const { workbench } = session;
    const settingsFile = path.join(session.workspace, '.vscode', 'settings.json');
    const settings = JSON.parse(fs.readFileSync(settingsFile, 'utf8')) as Record<string, unknown>;
    const lenses = workbench.editor.root.locator('.codelens-decoration', { hasText: 'Score row' });
    await workbench.editor.goToLine(2);
    await lenses.first().waitFor({ timeout: 30_000 });
    fs.writeFileSync(settingsFile, JSON.stringify({ ...settings, 'pisarReview.codeLens.enabled': false }, null, 2));
    await until(session, 'the lenses to go', () => lenses.count(), (n) => n === 0);
    await session.screenshot('codelens-off');
    fs.writeFileSync(settingsFile, JSON.stringify({ ...settings, 'pisarReview.codeLens.enabled': true }, null, 2));
    await until(session, 'the lenses to come back', () => lenses.count(), (n) => n > 0);
  });
});

/** The embedding model fails to load (a folder without a model): outputs are kept, and every view says why. */
describe('A scoring run whose embedding model fails', function () {
  let session: Session;

  let noModel: string;

  before(async function () {
    noModel = fs.mkdtempSync(path.join(os.tmpdir(), 'no-model-'));
    fs.writeFileSync(path.join(noModel, 'README.md'), 'An empty folder, not a model.\n');
    session = await Session.start({
      name: 'embedding-failed',
      models: [{ name: 'ft-qwen', model: 'ft-qwen3-vl-8b' }],
      server: { latencyMs: 5 },
      settings: { 'pisarReview.embedding.model': noModel, 'workbench.colorTheme': 'Default Light Modern' },
    });
    await session.workbench.openFile('pisar-sample.jsonl');
    await session.workbench.runCommand('PiSAR Review: Score File');
    await session.page.locator('.notifications-toasts .notification-toast', { hasText: 'scored pisar-sample.jsonl' }).waitFor({ timeout: 150_000 });
  });

  after(async function () {
    await session?.close();
    fs.rmSync(noModel, { recursive: true, force: true });
  });

  it('says why there are no scores in the done message, the status bar, the panel, the editor and the hover, apart from "no reference"', async function () {
    const { page, workbench } = session;
    const done = await page.locator('.notifications-toasts .notification-toast', { hasText: 'scored pisar-sample.jsonl' }).innerText();
    assert.match(done, /kept unscored: .*no-model-/s);
    await until(session, 'the status bar', () => workbench.statusBarTexts(), (t) => t.some((s) => s.includes('PiSAR scoring failed')));

    const doc = report(path.join(session.workspace, 'pisar-sample.jsonl'), THRESHOLD);
    const noReference = 22; // the sample's row without a rationale
    const called = doc.rows.find((r) => r.line !== noReference && r.results['ft-qwen']?.status === 'unscored')!;
    assert.ok(called, 'outputs were kept, unscored');
    const shown = (await workbench.editor.decorationsOf([called.line])).get(called.line)!;
    assert.match(shown.before, /ft-qwen unscored/);
    const noRef = (await workbench.editor.decorationsOf([noReference])).get(noReference)!;
    assert.match(noRef.before, /n\/a/, 'a row without a reference still reads n/a');
    assert.doesNotMatch(noRef.before, /unscored/);
    assert.notEqual(noRef.segments[0].color, shown.segments[0].color, '"n/a" and "unscored" are in different colours');

    const hover = await workbench.editor.hoverLine(called.line);
    // The hover's text keeps spaces as no-break spaces: compare words.
    assert.match((await hover.innerText()).replace(/\s+/g, ' '), /not scored: (the embedding model failed|scoring failed): .*no-model-/s);
    await page.keyboard.press('Escape');

    const panel = workbench.panel;
    await panel.open();
    const frame = await panel.frame();
    const banner = frame.locator('[data-testid="scoring-failure"]');
    await banner.waitFor({ timeout: 15_000 });
    assert.match((await banner.textContent()) ?? '', /Scoring failed.*no-model-/s);
    const cell = frame.locator(`[data-testid="row"][data-row-id="${called.id}"] [data-testid="score"][data-model="ft-qwen"]`);
    await cell.waitFor({ timeout: 15_000 });
    assert.equal(await cell.getAttribute('data-unscored'), 'true');
    assert.match((await cell.textContent()) ?? '', /unscored/);
    await session.screenshot('panel-default-height-light');
  });
});
