import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { BatchServer } from '../../support/batchServer';
import { FakeOpenAIServer } from '../../support/openaiServer';
import * as fs from 'node:fs';
import { cliJson, type ReportDocument } from '../harness/cli';
import { Session } from '../harness/session';
import { until } from '../harness/wait';

const LATER_ROWS = 6;
const later = Array.from({ length: LATER_ROWS }, (_, i) => JSON.stringify({ id: `later-${i}`, input: `A robot waits at door ${i} until it opens.`, rationale: `Rationale: A robot waits at door ${i} until it opens.` })).join('\n') + '\n';

/** The stored alpha cells of a report, and each one's inline text on its line (`alpha 0.93`). */
async function checkInlineAlpha(session: Session, doc: ReportDocument): Promise<number> {
  const rows = doc.rows.filter((r) => r.results.alpha?.status === 'scored');
  const lines = await session.workbench.editor.decorationsOf(rows.map((r) => r.line));
  for (const row of rows) {
    const cell = row.results.alpha as { score: number };
    const shown = /(?:^|· )alpha (\d\.\d{2,3})/.exec(lines.get(row.line)!.before);
    assert.ok(shown, `line ${row.line} (${row.id}) shows alpha's score: ${JSON.stringify(lines.get(row.line)!.before)}`);
    assert.ok(Math.abs(Number(shown[1]) - cell.score) <= 0.005, `line ${row.line}: shows ${shown[1]}, stored ${cell.score}`);
  }
  return rows.length;
}

describe('Score File via Batch (a loopback Files/Batches server)', function () {
  let batch: BatchServer;
  let chat: FakeOpenAIServer;
  let session: Session;
  /** The CLI reads the results with the editor's models (a model it does not know is ignored). */
  let report: (file: string) => ReportDocument;

  before(async function () {
    batch = await BatchServer.start();
    // A plain chat server: it has no /batches, so its model is named as one that cannot batch.
    chat = await FakeOpenAIServer.start({});
    session = await Session.start({
      name: 'batch',
      server: false,
      files: { 'later.jsonl': later },
      settings: {
        'pisarReview.models': [
          { name: 'alpha', baseUrl: batch.url, model: 'alpha-1', timeoutMs: 10_000 },
          { name: 'plain', baseUrl: chat.url, model: 'gpt-4o', timeoutMs: 10_000 },
        ],
        'pisarReview.batch.pollSeconds': 1,
      },
    });
    const config = path.join(session.root, 'cli-config.json');
    fs.writeFileSync(config, JSON.stringify({ models: [{ name: 'alpha', baseUrl: batch.url, model: 'alpha-1' }], threshold: 0.7 }));
    report = (file) => cliJson<ReportDocument>(['report', file, '--config', config, '--format', 'json', '--rows']);
  });

  after(async function () {
    await session?.close();
    await batch?.close();
    await chat?.close();
  });

  const batchItem = (text: RegExp) => session.page.locator('.statusbar-item', { hasText: text });

  it('submits from the palette, shows the batch in the status bar, and when the server finishes it the results appear inline and in the panel', async function () {
    const { workbench, page } = session;
    await workbench.openFile('pisar-sample.jsonl');
    await workbench.runCommand('PiSAR Review: Score File via Batch');
    await workbench.pickItem('OpenAI Batch API');
    // The models: alpha picked; "plain" listed as unable to batch, with the server's reason.
    await workbench.waitQuickInput(/Models to send as batches|via the OpenAI Batch API/);
    const plainRow = page.locator('.quick-input-widget .monaco-list-row', { hasText: 'plain' });
    await plainRow.waitFor({ timeout: 15_000 });
    assert.match(await plainRow.innerText(), /cannot batch[\s\S]*HTTP 404/);
    await session.screenshot('models');
    await page.keyboard.press('Enter');

    await batchItem(/PiSAR batch (submitted|running)/).waitFor({ timeout: 60_000 });
    assert.equal(batch.creates, 1);
    assert.equal(batch.uploads, 1);
    assert.equal(chat.stats.requests, 0, 'the model that cannot batch is not called');
    const [batchId] = [...batch.openaiBatches.keys()];
    const total = batch.openaiBatches.get(batchId)!.lines.length;
    batch.advance(batchId, 0.5);
    await batchItem(new RegExp(`PiSAR batch running ${Math.round(total * 0.5)} of ${total}`)).waitFor({ timeout: 60_000 });
    await session.screenshot('running');

    batch.finishAll();
    await batchItem(/PiSAR batch done · \d+ answered/).waitFor({ timeout: 120_000 });
    const done = /done · (\d+) answered/.exec(await batchItem(/PiSAR batch done/).innerText())!;
    assert.equal(Number(done[1]), total, 'every line answered');
    // Scored through the results store: the mean per model reaches the other status bar item.
    await page.locator('.statusbar-item', { hasText: /PiSAR mean .*alpha/ }).waitFor({ timeout: 120_000 });
    await session.screenshot('done');

    const doc = report(path.join(session.workspace, 'pisar-sample.jsonl'));
    const scored = await checkInlineAlpha(session, doc);
    // A row without a reference keeps its answer unscored (the sample has one); every other answer is scored and shown.
    const unscored = doc.rows.filter((r) => r.results.alpha?.status === 'unscored').length;
    assert.ok(unscored <= 1, `${unscored} answers unscored`);
    assert.equal(scored + unscored, total, 'every answered row is stored, and scored where it has a reference');

    const panel = workbench.panel;
    await panel.open();
    const rows = await panel.allRows();
    for (const row of doc.rows) {
      const cell = row.results.alpha;
      if (cell?.status !== 'scored') continue;
      const drawn = rows.find((r) => r.rowId === row.id);
      assert.ok(drawn, `row ${row.id} is in the panel`);
      const value = Number((drawn.scores.alpha?.text ?? '').replace(/[^\d.]/g, ''));
      assert.ok(Math.abs(value - cell.score) < 0.006, `${row.id}: panel shows ${drawn.scores.alpha?.text}, stored ${cell.score}`);
    }
    assert.equal(batch.creates, 1, 'submitted once');
  });

  it('a window reloaded mid-batch resumes from the batches sidecar: polls, collects and scores, with 0 duplicate submissions', async function () {
    const { workbench, page } = session;
    await workbench.openFile('later.jsonl');
    await workbench.runCommand('PiSAR Review: Score File via Batch');
    await workbench.pickItem('OpenAI Batch API');
    await workbench.waitQuickInput(/via the OpenAI Batch API/);
    await page.keyboard.press('Enter');
    await batchItem(new RegExp(`PiSAR batch running 0 of ${LATER_ROWS}`)).waitFor({ timeout: 60_000 });
    assert.equal(batch.creates, 2);
    const uploads = batch.uploads;

    const readsBefore = batch.reads;
    await workbench.reloadWindow();
    // Resumed: the reopened dataset's pending batch is read from the server again, and shown.
    await batchItem(new RegExp(`PiSAR batch running 0 of ${LATER_ROWS}`)).waitFor({ timeout: 90_000 });
    await until(session, 'a read of the batch after the reload', async () => batch.reads, (n) => n > readsBefore);
    await session.screenshot('resumed');

    batch.finishAll();
    await batchItem(new RegExp(`PiSAR batch done · ${LATER_ROWS} answered`)).waitFor({ timeout: 120_000 });
    const doc = await until(session, 'every row of later.jsonl scored', async () => report(path.join(session.workspace, 'later.jsonl')),
      (d) => d.rows.every((r) => r.results.alpha?.status === 'scored'), 120_000);
    await workbench.editor.waitVisible();
    assert.equal(await checkInlineAlpha(session, doc), LATER_ROWS);
    assert.equal(batch.creates, 2, 'no batch created again after the reload');
    assert.equal(batch.uploads, uploads, 'no file uploaded again after the reload');
  });
});
