import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cliJson, cliRun } from '../harness/cli';
import { tinyModel } from '../harness/paths';
import { Session } from '../harness/session';
import { until } from '../harness/wait';

const FILE = 'judged.jsonl';
const PRICE = { inputPerMillion: 1000, outputPerMillion: 2000 };
/** Word joiners the hover may put inside text that would otherwise read as a link (src/core/security/escape.ts). */
const WORD_JOINER = /\u2060/g;

/** A reason that is Markdown, a command link, an icon, HTML and a URL: the judge's words, to be shown as they are. */
const HOSTILE_REASON = 'Wrong: see [the fix](command:workbench.action.terminal.new) and **this** $(alert) <img src=x onerror=alert(1)> https://evil.example/x';

/** Four rows with one precomputed output each; the judge's answer is chosen by the output it reads. */
const ROWS = [
  { id: 'r1', input: 'Why brake at the crest?', rationale: 'The crest hides oncoming traffic.', outputs: { m: 'Oncoming cars are hidden by the crest.' } },
  { id: 'r2', input: 'Why slow near the school?', rationale: 'Children cross without looking.', outputs: { m: 'Speed limits are the law.' } },
  { id: 'r3', input: 'Why keep distance?', rationale: 'Stopping takes room.', outputs: { m: 'Braking needs distance.' } },
  { id: 'r4', input: 'Why use lights at dusk?', rationale: 'Others must see you.', outputs: { m: 'Lights look nice.' } },
];

const ANSWERS: Readonly<Record<string, string>> = {
  'Oncoming cars are hidden by the crest.': JSON.stringify({ verdict: 'good', reason: 'Same reason: the crest hides traffic.' }),
  'Speed limits are the law.': JSON.stringify({ verdict: 'bad', reason: HOSTILE_REASON }),
  'Braking needs distance.': 'I think it is fine, mostly.',
  'Lights look nice.': JSON.stringify({ verdict: 'good', reason: 'Lights help.' }),
};

interface Estimate {
  value: number;
  low: number;
  high: number;
}
/** The parts of `report --json` the spec compares with the screen. */
interface ReportDoc {
  statistics: {
    ranking?: {
      metrics: { metric: string; n: number; auc: Estimate | null; kappa: Estimate | null; costPer1000: number | null }[];
      judge?: { judged: number; failed: number; stale: number };
      disagreements: { rowId: string; model: string; label: string; labelClass: string; verdict: string; reason: string }[];
    };
  };
}

interface StoredLine {
  rowId: string;
  judge?: { verdict?: string; error?: { kind: string } };
}

/**
 * Judge File in a real VS Code: a loopback judge answering one output good, one bad with a reason that is
 * Markdown, a command link and HTML, and one with words that are not the JSON asked for. The hover and the
 * panel's row detail show each verdict and the reason as plain text (no link), the unparsable answer as that
 * output's failure; with the outputs labelled, the panel's statistics rank the judge as `report --json` does.
 */
describe('Judge File: verdicts in the hover, the row detail and the panel\'s ranking', function () {
  let session: Session;
  let dataset: string;
  let config: string;

  before(async function () {
    session = await Session.start({
      name: 'judge-file',
      sample: false,
      files: { [FILE]: ROWS.map((r) => JSON.stringify(r)).join('\n') + '\n' },
      server: { respond: (req) => ANSWERS[Object.keys(ANSWERS).find((o) => req.prompt.includes(`Model's rationale:\n${o}`)) ?? ''] ?? 'not a judge prompt' },
      models: [{ name: 'judge', model: 'judge-1', price: PRICE }],
      settings: { 'pisarReview.judge.model': 'judge' },
    });
    dataset = path.join(session.workspace, FILE);
    // The CLI stores the precomputed outputs with their scores (no model is called), as the editor's user would.
    const scored = cliRun(['score', dataset, '--models', 'm', '--embedding-model', tinyModel, '--cache-dir', path.join(session.root, 'cli-cache')]);
    assert.equal(scored.code, 0, `the CLI stored the outputs: ${scored.stderr}`);
    // The same judge for the CLI's report: the settings of the workspace, as a config file.
    config = path.join(session.root, 'config.json');
    fs.writeFileSync(config, JSON.stringify({ models: [{ name: 'judge', baseUrl: session.server!.url, model: 'judge-1', price: PRICE }], judge: { model: 'judge' } }));
    await session.workbench.openFile(FILE);
  });

  after(async function () {
    await session?.close();
  });

  it('judges every output once: two good, one bad, one unparsable answer counted as a failure', async function () {
    await session.workbench.runCommand('PiSAR Review: Judge File');
    const sidecar = path.join(session.workspace, 'judged.pisar-results.jsonl');
    // A positive signal: every output's judgement is stored.
    const judged = await until(session, 'every output judged', async () => {
      const latest = new Map<string, StoredLine>();
      for (const line of fs.readFileSync(sidecar, 'utf8').trim().split('\n')) {
        const r = JSON.parse(line) as StoredLine;
        latest.set(r.rowId, r);
      }
      return [...latest.values()].filter((r) => r.judge).map((r) => `${r.rowId}:${r.judge!.verdict ?? r.judge!.error?.kind}`).sort();
    }, (list) => list.length === ROWS.length, 90_000);
    assert.deepEqual(judged, ['r1:good', 'r2:bad', 'r3:unparsable', 'r4:good']);
    const toast = await until(session, 'the run\'s message', () => session.workbench.notifications(), (n) => n.some((t) => t.includes('judged judged.jsonl')));
    assert.ok(toast.some((t) => t.includes('2 good, 1 bad, 1 failed')), toast.join('\n'));
    assert.equal(session.server!.requests.length, ROWS.length, 'one request an output');
  });

  it('the hover shows the verdict and the reason as plain text, no link, and the unparsable answer as a failure', async function () {
    const { workbench, page } = session;
    await workbench.clearNotifications();
    const hover = await workbench.editor.hoverLine(2);
    const seen = await until(session, 'the verdict in the hover', async () => (await hover.innerText()).replace(WORD_JOINER, ''), (t) => t.includes('judge judge: bad'));
    assert.ok(seen.includes(`judge judge: bad: ${HOSTILE_REASON}`), seen);
    const live = await hover.evaluate((el) => ({
      links: [...el.querySelectorAll('a')].map((a) => a.getAttribute('href') ?? a.getAttribute('data-href') ?? a.textContent ?? ''),
      images: el.querySelectorAll('img').length,
      bold: [...el.querySelectorAll('strong, b')].map((b) => b.textContent),
    }));
    assert.deepEqual(live.links.filter((h) => /command:|evil\.example/.test(h)), [], 'no link from the reason');
    assert.equal(live.images, 0, 'no image from the reason');
    assert.ok(!live.bold.includes('this'), 'the reason\'s **this** is not bold');
    await session.screenshot('hover-verdict');
    await page.keyboard.press('Escape');

    const failed = await workbench.editor.hoverLine(3);
    const failure = await until(session, 'the failure in the hover', async () => (await failed.innerText()).replace(WORD_JOINER, ''), (t) => t.includes('judge judge failed'));
    assert.match(failure, /judge judge failed: unparsable: /);
    await page.keyboard.press('Escape');
  });

  it('the panel\'s row detail shows the verdict and reason as text, and the failure', async function () {
    const panel = session.workbench.panel;
    await panel.open();
    await panel.maximize();
    const frame = await panel.frame();
    await frame.locator('[data-testid="row"][data-row-id="r2"]').waitFor({ timeout: 30_000 });
    const detail = await panel.openDetail('r2');
    const verdict = detail.locator('[data-testid="detail-judge"]');
    assert.equal(await verdict.textContent(), `judge judge: bad: ${HOSTILE_REASON}`);
    assert.equal(await verdict.locator('a, img, strong').count(), 0);
    await session.screenshot('detail-verdict');
    const other = await panel.openDetail('r3');
    await until(session, 'r3\'s detail', async () => (await other.locator('[data-testid="detail-judge"]').textContent()) ?? '', (t) => t.startsWith('judge judge failed: unparsable: '));
    await frame.locator('[data-testid="detail-close"]').click();
  });

  it('with the outputs labelled, the statistics rank the judge and list its disagreements as report --json does', async function () {
    // r1 and r2 labelled fine, r3 and r4 wrong: the judge disagrees on r2 (bad, labelled fine) and r4 (good, labelled wrong).
    for (const [row, label] of [['r1', 'fine'], ['r2', 'fine'], ['r3', 'wrong'], ['r4', 'wrong']]) {
      cliJson(['label', dataset, '--row', row, '--model', 'm', '--label', label, '--reviewer', 'ana', '--json']);
    }
    const doc = cliJson<ReportDoc>(['report', dataset, '--json', '--config', config]);
    const ranking = doc.statistics.ranking!;
    assert.deepEqual(ranking.judge && [ranking.judge.judged, ranking.judge.failed, ranking.judge.stale], [3, 1, 0]);
    const panel = session.workbench.panel;
    await panel.openStatistics();
    const shown = await until(session, 'the judge ranked in the panel', () => panel.rankedMetrics(), (rows) => rows.some((r) => r.metric === 'judge' && r.n === '3'), 60_000);
    assert.deepEqual(shown.map((r) => r.metric), ranking.metrics.map((m) => m.metric), 'the same metrics in the same order');
    const judge = shown.find((r) => r.metric === 'judge')!;
    const expected = ranking.metrics.find((m) => m.metric === 'judge')!;
    // By hand: bad r4 (5) ties good r1 (5) and reads better than good r2 (1): AUC 0.25.
    assert.equal(judge.aucValue, '0.25');
    assert.equal(judge.auc, `0.250 [${expected.auc!.low.toFixed(3)}, ${expected.auc!.high.toFixed(3)}]`);
    assert.equal(judge.kappaValue, String(expected.kappa!.value));
    assert.equal(judge.badWhen, 'its verdict');
    assert.ok(expected.costPer1000 !== null && expected.costPer1000 > 0, 'a priced judge');
    assert.equal(judge.cost, expected.costPer1000! < 1 ? expected.costPer1000!.toFixed(4) : expected.costPer1000!.toFixed(2));

    const disagreements = await panel.judgeDisagreements();
    assert.deepEqual(
      disagreements.map((d) => [d.rowId, d.model, d.label, d.verdict, d.reason, d.live]),
      ranking.disagreements.map((d) => [d.rowId, d.model, `${d.label} (${d.labelClass})`, d.verdict, d.reason, 0]),
    );
    assert.equal(disagreements.find((d) => d.rowId === 'r2')!.reason, HOSTILE_REASON);
    await session.screenshot('statistics-judge-ranking');
    assert.deepEqual(session.dialogs, []);
  });
});
