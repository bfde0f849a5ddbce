import * as assert from 'node:assert/strict';
import { Session } from '../harness/session';

const rows = (bad: string) => [
  JSON.stringify({ id: 'a', input: 'Why did the robot stop?', rationale: 'A person stepped in front of it.' }),
  JSON.stringify({ id: 'b', input: 'Why did it turn left?', rationale: 'The right lane was closed.' }),
  bad,
  JSON.stringify({ id: 'd', input: 'Why did it wait?', rationale: 'The light was red.' }),
].join('\n') + '\n';

describe('Datasets named .ndjson or .json', function () {
  let session: Session;

  before(async function () {
    session = await Session.start({
      name: 'dataset-names',
      server: false,
      sample: false,
      files: {
        'rows.ndjson': rows('{"id": "c", "input": "cut off'),
        'rows.json': rows('{"id": "c", "score": NaN}'),
        'plain.json': JSON.stringify({ not: 'a dataset' }, null, 2) + '\n',
        'after.ndjson': `${JSON.stringify({ id: 'z', input: 'Why?', rationale: 'Because.' })}\n{"id": "y", "input": "cut off\n`,
      },
    });
  });

  after(async function () {
    await session?.close();
  });

  it('opens .ndjson and .json files holding JSONL as datasets (Problems at the bad line), and leaves other .json alone', async function () {
    const { workbench } = session;
    await workbench.openFile('rows.ndjson');
    await workbench.problems.open();
    const ndjson = await workbench.problems.waitFor((e) => e.some((p) => p.severity === 'Error' && p.line === 3 && /not valid JSON/.test(p.message)));
    assert.ok(ndjson.some((p) => /^PiSAR Review/.test(p.source ?? '')));

    await workbench.openFile('rows.json');
    const json = await workbench.problems.waitFor((e) => e.some((p) => p.severity === 'Error' && p.line === 3 && /NaN/.test(p.message)));
    assert.ok(json.some((p) => /NaN for "score"/.test(p.message)), json.map((p) => p.message).join('\n'));
    await session.screenshot('json-as-jsonl');
    const ours = (e: { source?: string }[]) => e.filter((p) => /^PiSAR Review/.test(p.source ?? '')).length;
    const before = ours(json);

    // A JSON document (pretty-printed, one object) stays JSON: no finding from us on it. The positive
    // signal that the extension has looked at it: a dataset opened after it (a bad line 2) gets its finding.
    await workbench.openFile('plain.json');
    await workbench.openFile('after.ndjson');
    const barrier = (p: { line: number; message: string; source?: string }) => p.line === 2 && /not valid JSON/.test(p.message) && /^PiSAR Review/.test(p.source ?? '');
    const after = await workbench.problems.waitFor((e) => e.some(barrier));
    assert.equal(ours(after) - after.filter(barrier).length, before, 'a JSON document is not a dataset');
  });
});
