import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cliJson } from '../harness/cli';
import { repoRoot } from '../harness/paths';
import { Session } from '../harness/session';
import { until } from '../harness/wait';

const nliModel = path.join(repoRoot, 'test', 'fixtures', 'models', 'nli');
const FILE = 'second-opinion.jsonl';

interface Estimate {
  value: number;
}
/** The parts of `report --json --rows --slice label` the spec compares with the screen. */
interface ReportDoc {
  rows: { id: string; results: Record<string, { status: string; matchedReference?: number; referenceScores?: (number | null)[]; nli?: { contradiction: number; contradicts: boolean } }> }[];
  statistics: {
    humanBand?: { n: number; mean: Estimate; models: { model: string; verdict: string }[] };
    slices?: { field: string; slices: { value: string; rows: number; models: { model: string; n: number; mean: Estimate | null }[] }[] };
  };
}

/** e-SNLI-like rows: three references each (people's explanations), a label to slice by, and one model's output. */
function rows(): string {
  const pairs = (JSON.parse(fs.readFileSync(path.join(repoRoot, 'test', 'fixtures', 'nli', 'pairs.json'), 'utf8')) as { pairs: { premise: string; hypothesis: string; madeAs: string; tokens: number }[] }).pairs
    .filter((p) => p.tokens < 64);
  return pairs.map((p, i) => JSON.stringify({
    id: `r${i}`,
    input: `premise and hypothesis ${i}`,
    label: p.madeAs,
    rationale: [`yes, ${p.premise}`, p.premise, `the picture shows that ${p.premise}`],
    outputs: { m: p.hypothesis },
  })).join('\n') + '\n';
}

/**
 * The panel's second-opinion parts in a real VS Code, on rows with several references (scored in the
 * editor, the contradiction check on with the project's tiny NLI model): the reference each output
 * matched, the human band's verdict, a slice by a row field, and the "Contradicts reference" filter,
 * each as `pisar-review report --json` computes it.
 */
describe('Second opinions in the panel: matched reference, human band, slices, contradiction filter', function () {
  let session: Session;
  let dataset: string;
  let doc: ReportDoc;

  before(async function () {
    session = await Session.start({
      name: 'second-opinion',
      server: false,
      sample: false,
      files: { [FILE]: rows() },
      settings: { 'pisarReview.contradiction.enabled': true, 'pisarReview.contradiction.model': nliModel },
    });
    dataset = path.join(session.workspace, FILE);
    await session.workbench.openFile(FILE);
    await session.workbench.runCommand('PiSAR Review: Score File');
    const total = rows().trim().split('\n').length;
    const sidecar = path.join(session.workspace, 'second-opinion.pisar-results.jsonl');
    // A positive signal: every row's result is stored with its score and its contradiction check.
    await until(session, 'every row scored and checked in the editor', async () => {
      if (!fs.existsSync(sidecar)) return 0;
      const checked = new Set(fs.readFileSync(sidecar, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { rowId: string; score?: number; nli?: unknown }).filter((r) => r.score !== undefined && r.nli !== undefined).map((r) => r.rowId));
      return checked.size;
    }, (n) => n === total, 180_000);
    doc = cliJson<ReportDoc>(['report', dataset, '--json', '--rows', '--slice', 'label']);
  });

  after(async function () {
    await session?.close();
  });

  it('the row detail names the reference each output matched, as report --rows does', async function () {
    const frame = await session.workbench.panel.open();
    await session.workbench.panel.maximize();
    await frame.locator('[data-testid="row"][data-row-id]').first().waitFor({ timeout: 30_000 });
    for (const row of doc.rows.slice(0, 2)) {
      const cell = row.results.m;
      assert.equal(cell.status, 'scored');
      await session.workbench.panel.openDetail(row.id);
      const matched = await frame.locator('[data-testid="detail-matched-reference"]').innerText();
      assert.match(matched, new RegExp(`^best of 3 references: matched #${cell.matchedReference! + 1} `), `${row.id}: ${matched}`);
      assert.equal(await frame.locator('[data-testid="detail-reference-item"]').count(), 3, 'the three references are listed');
    }
    await session.screenshot('matched-reference');
    await frame.locator('[data-testid="detail-close"]').click();
  });

  it('"Contradicts reference" keeps exactly the rows whose output the check flagged, each marked in the grid', async function () {
    const frame = await session.workbench.panel.frame();
    const flagged = doc.rows.filter((r) => r.results.m.nli?.contradicts).map((r) => r.id).sort();
    assert.ok(flagged.length > 0 && flagged.length < doc.rows.length, `some rows contradict, some do not (${flagged.join(', ')})`);
    await frame.locator('[data-testid="filter-contradicts"]').click();
    const shown = await until(session, 'the filter applied', async () => (await session.workbench.panel.visibleRows()).map((r) => r.rowId).sort(), (ids) => JSON.stringify(ids) === JSON.stringify(flagged));
    assert.deepEqual(shown, flagged);
    for (const r of await session.workbench.panel.visibleRows()) assert.match(r.scores.m.text, /⚠/, `${r.rowId} is marked`);
    await session.workbench.panel.openDetail(flagged[0]);
    const detail = await frame.locator('[data-testid="detail-contradicts"]').innerText();
    const p = doc.rows.find((r) => r.id === flagged[0])!.results.m.nli!.contradiction;
    assert.equal(detail, `⚠ contradicts reference (P ${p.toFixed(2)})`.replace('reference (', `reference ${doc.rows.find((r) => r.id === flagged[0])!.results.m.matchedReference! + 1} (`));
    await session.screenshot('contradicts-filter');
    await frame.locator('[data-testid="detail-close"]').click();
    await frame.locator('[data-testid="filter-contradicts"]').click();
    await until(session, 'every row back', async () => (await session.workbench.panel.visibleRows()).length, (n) => n === doc.rows.length);
  });

  it('the statistics show the human band and the model\'s verdict against it, and a slice by the label field, as report --json --slice label', async function () {
    const frame = await session.workbench.panel.frame();
    const band = doc.statistics.humanBand!;
    assert.ok(band && band.n === doc.rows.length, 'every row has three references: the band covers them all');
    await frame.locator('[data-testid="stats-section"]').click({ position: { x: 40, y: 10 } });
    const human = frame.locator('[data-testid="stats-human-band"]');
    await human.locator('tbody tr').first().waitFor({ timeout: 30_000 });
    assert.equal(await human.locator('tr[data-model="(human band)"] th').innerText(), `Human band (${band.n} rows)`);
    const verdict = await human.locator('tr[data-model="m"] td[data-field="verdict"]').innerText();
    assert.equal(verdict, band.models.find((m) => m.model === 'm')!.verdict);
    assert.match(verdict, /^(at human level|below)$/);

    await frame.locator('[data-testid="slice-field"]').click();
    await frame.locator('[data-testid="slice-field"] input').fill('label');
    await frame.locator('[data-testid="slice-run"]').click();
    const slices = doc.statistics.slices!;
    const shown = await until(session, 'the slices drawn', () => frame.locator('[data-testid="stats-slices"] tbody tr').evaluateAll((trs) => trs.map((tr) => `${(tr as HTMLElement).dataset.slice}/${(tr as HTMLElement).dataset.model}/${tr.children[3]?.textContent}`)), (list) => list.length > 0);
    assert.deepEqual(shown, slices.slices.flatMap((s) => s.models.map((m) => `${s.value}/${m.model}/${m.n}`)));
    await session.screenshot('human-band-and-slices');
  });
});
