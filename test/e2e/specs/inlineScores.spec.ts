import * as assert from 'node:assert/strict';
import { Session } from '../harness/session';

/**
 * Issue 25.4: a reviewer at column 1 of a long line sees the row's scores. With
 * `pisarReview.inlineScores.position: "codeLens"` they sit on the CodeLens line above the row, which a
 * sideways scroll cannot hide; read from the real editor's DOM after End then Home.
 */
const long = 'A long rationale. '.repeat(120);

describe('Inline scores at column 1 of a long line', function () {
  let session: Session;

  before(async function () {
    session = await Session.start({
      name: 'inline-scores',
      server: false,
      sample: false,
      files: {
        'long.jsonl': [
          JSON.stringify({ id: 'r1', input: `Why? ${long}`, rationale: `Because ${long}`, outputs: { m: `Because ${long}` } }),
          JSON.stringify({ id: 'r2', input: 'Why did it wait?', rationale: 'The light was red.', outputs: { m: 'The light was red.' } }),
        ].join('\n') + '\n',
      },
      settings: { 'pisarReview.inlineScores.position': 'codeLens' },
    });
  });

  after(async function () {
    await session?.close();
  });

  it('shows the scores in sight at column 1 after the line was scrolled to its end', async function () {
    const { workbench, page } = session;
    await workbench.openFile('long.jsonl');
    await workbench.runCommand('PiSAR Review: Score File');
    await page.locator('.statusbar-item', { hasText: 'PiSAR mean' }).waitFor({ timeout: 120_000 });
    const editor = workbench.editor.root;
    await workbench.editor.goToLine(1);
    await page.keyboard.press('End');
    await page.keyboard.press('Home');
    const lens = editor.locator('.codelens-decoration', { hasText: /\bm \d\.\d+/ }).first();
    await lens.waitFor({ state: 'visible', timeout: 30_000 });
    await session.screenshot('scores-at-column-1');
    const [box, view] = [await lens.boundingBox(), await editor.locator('.lines-content').first().evaluate((e) => e.parentElement!.getBoundingClientRect().toJSON() as { left: number; right: number })];
    assert.ok(box, 'the scores are drawn');
    const text = await lens.innerText();
    assert.match(text, /\bm \d\.\d+/, text);
    const scoresLink = lens.locator('a', { hasText: /\bm \d\.\d+/ }).first();
    const scoresBox = (await scoresLink.boundingBox()) ?? box;
    assert.ok(scoresBox.x >= view.left - 1 && scoresBox.x + 10 <= view.right, `the scores are in the editor's sight (${scoresBox.x} in ${view.left}..${view.right})`);
  });
});
