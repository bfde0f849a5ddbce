import * as assert from 'node:assert/strict';
import { malformedLines } from '../harness/sample';
import { Session } from '../harness/session';
import { sampleDataset } from '../harness/paths';

describe('Opening a dataset', function () {
  let session: Session;

  before(async function () {
    session = await Session.start({ name: 'problems', server: false });
  });

  after(async function () {
    await session?.close();
  });

  it('lists each malformed line in Problems as an error at its line', async function () {
    const expected = malformedLines(sampleDataset);
    assert.ok(expected.length >= 2, 'the sample should hold malformed lines');

    await session.workbench.openFile('pisar-sample.jsonl');
    await session.workbench.problems.open();
    const entries = await session.workbench.problems.waitFor((e) => e.filter((p) => p.severity === 'Error').length >= expected.length);
    await session.screenshot('malformed-lines');

    const errors = entries.filter((p) => p.severity === 'Error');
    assert.deepEqual(errors.map((p) => p.line).sort((a, b) => a - b), expected, 'errors sit exactly on the malformed lines');
    for (const p of errors) {
      assert.match(p.source ?? '', /^PiSAR Review/, `line ${p.line} is reported by the extension`);
      assert.ok(p.message.length > 20, `line ${p.line} says what is wrong and what to do: "${p.message}"`);
      assert.match(p.message, /\S\. Fix: \S/, `line ${p.line}: what is wrong and the fix are kept apart: "${p.message}"`);
    }
  });
});
