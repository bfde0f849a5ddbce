import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { report } from '../harness/cli';
import { cliEntry, repoRoot, sampleDataset, tinyModel } from '../harness/paths';
import { isShortNameOf, malformedLines } from '../harness/sample';
import { defaultModels, Session } from '../harness/session';

/** `ft-qwen 0.81 · gpt stale 0.46` -> [['ft-qwen', 0.81], ['gpt', 0.46]]. */
function inlineScores(before: string): [string, number][] {
  return before.split(' · ').flatMap((part) => {
    const m = /^(\S+) (?:stale )?(\d\.\d+)$/.exec(part.trim());
    return m ? [[m[1], Number(m[2])] as [string, number]] : [];
  });
}

/**
 * A folder someone else made, opened with workspace trust on and the folder not trusted: its dataset and
 * the results stored beside it are shown, but nothing is sent to the models its settings name.
 */
describe('Workspace trust: an untrusted folder', function () {
  let session: Session;
  let dataset: string;

  before(async function () {
    // The workspace's own settings point both default models at the fake server.
    session = await Session.start({ name: 'trust', untrusted: true, server: { latencyMs: 5 } });
    dataset = path.join(session.workspace, 'pisar-sample.jsonl');
    // Stored results, as the folder's author would ship them: scored by the CLI before VS Code opens the file.
    // Only ft-qwen: the workspace's other model (gpt) has nothing stored, so a run that wrongly went ahead would call it.
    const config = path.join(session.root, 'cli-models.json');
    const stored = defaultModels.filter((m) => m.name === 'ft-qwen');
    assert.ok(stored.length === 1 && defaultModels.length > 1);
    fs.writeFileSync(config, JSON.stringify({ models: stored.map((m) => ({ name: m.name, baseUrl: session.server!.url, model: m.model })) }));
    // Asynchronously: the fake server answering the CLI runs in this process.
    const cli = await new Promise<{ code: number; stderr: string }>((resolve) => {
      const child = execFile(process.execPath, [cliEntry, 'score', dataset, '--config', config, '--embedding-model', tinyModel, '--cache-dir', path.join(session.root, 'cli-cache')], { cwd: repoRoot }, (_err, _stdout, stderr) => resolve({ code: child.exitCode ?? -1, stderr }));
    });
    // Exit 3: the sample's malformed lines were skipped (on purpose); 1: some calls failed. Both still stored results.
    assert.ok([0, 1, 3].includes(cli.code), `the CLI scored the sample (exit ${cli.code}): ${cli.stderr}`);
    assert.ok(session.server!.stats.succeeded > 0, 'the CLI called the server');
    session.server!.reset();
    await session.workbench.openFile('pisar-sample.jsonl');
  });

  after(async function () {
    await session?.close();
  });

  it('is in Restricted Mode (the premise of this spec)', async function () {
    await session.page.locator('.statusbar-item', { hasText: 'Restricted Mode' }).first().waitFor({ timeout: 30_000 });
  });

  it('shows malformed lines in Problems and the stored scores inline', async function () {
    const { workbench } = session;
    const expected = malformedLines(sampleDataset);
    await workbench.problems.open();
    const entries = await workbench.problems.waitFor((e) => e.filter((p) => p.severity === 'Error').length >= expected.length);
    assert.deepEqual(entries.filter((p) => p.severity === 'Error').map((p) => p.line).sort((a, b) => a - b), expected);

    const doc = report(dataset);
    const row = doc.rows.find((r) => r.id === 'pisar-0001')!;
    await workbench.editor.goToLine(row.line);
    let shown: [string, number][] = [];
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      shown = inlineScores((await workbench.editor.decorationsOf([row.line])).get(row.line)?.before ?? '');
      if (shown.length > 0) break;
      await session.page.waitForTimeout(300);
    }
    await session.screenshot('untrusted-stored-scores');
    assert.ok(shown.some(([model]) => model === 'ft-qwen'), `the score the CLI stored for ft-qwen is drawn: ${JSON.stringify(shown)}`);
    for (const [name, score] of shown) {
      // Long names are drawn shortened in the middle (`claud…nnet`).
      const model = Object.keys(row.results).find((m) => isShortNameOf(name, m)) ?? name;
      const cell = row.results[model];
      assert.ok(cell?.status === 'scored', `${model} has a stored score`);
      assert.ok(Math.abs(cell.score - score) < 0.0051, `${model}: inline ${score}, stored ${cell.score}`);
    }
    assert.equal(session.server!.stats.requests, 0, 'opening the file called nothing');
  });

  it('"Score File" calls no model and says why', async function () {
    const { workbench, page, server } = session;
    await workbench.editor.goToLine(1);
    await workbench.runCommand('PiSAR Review: Score File');
    const message = page.locator('.notifications-toasts .notification-toast', { hasText: 'calls no model in an untrusted workspace' });
    // Whichever comes first: the message, or (the bug this guards against) a request at the server.
    let shown = false;
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && server!.stats.requests === 0 && !(shown = await message.isVisible())) await page.waitForTimeout(250);
    // The message is the positive signal: the command ended in its refusal, so no run is left to start.
    await session.screenshot('untrusted-score-file');
    assert.equal(await page.locator('.statusbar-item', { hasText: /PiSAR \d+ done · / }).count(), 0, 'no run is in progress (the status bar shows no progress)');
    assert.equal(server!.stats.requests, 0, 'the fake OpenAI server received no request');
    assert.ok(shown, 'the untrusted message is shown');
    await workbench.clearNotifications();
  });

  it('does not honour the workspace\'s pisarReview.models', async function () {
    const { workbench, page, server } = session;
    // The key command lists the configured models: in Restricted Mode the workspace's two are not there.
    await workbench.runCommand('PiSAR Review: Set API Key for a Model…');
    await page.locator('.notifications-toasts .notification-toast', { hasText: 'No models are configured' }).waitFor({ timeout: 30_000 });
    await session.screenshot('untrusted-no-models');
    assert.equal(server!.stats.requests, 0);
  });
});
