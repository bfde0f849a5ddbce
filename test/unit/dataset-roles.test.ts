import * as assert from 'node:assert/strict';
import { Dataset } from '../../src/core/dataset/datasetReader';
import type { FieldMapping } from '../../src/core/dataset/types';
import { jsonl, makeTempDir, writeFixture } from '../support/files';

/**
 * The index (ids, model lanes, findings) and the parse (the row sent, shown and scored) read a row's
 * roles by one rule: whatever the index lists, the parsed row has, and whatever the parse drops is
 * reported. Each case is a row shape on which the two could disagree.
 */
const base = { id: 'r', input: 'question', rationale: 'because' };
const cases: { name: string; row: Record<string, unknown>; mapping?: FieldMapping }[] = [
  { name: 'an output object whose "text" is not text but whose "output" is', row: { ...base, outputs: { m: { text: 5, output: 'hi' } } } },
  { name: 'an output object whose "text" is null and "output" text', row: { ...base, outputs: { m: { text: null, output: 'hi' } } } },
  { name: 'an output object whose "output" is not text', row: { ...base, outputs: { m: { output: 7 } } } },
  { name: 'an output object with a "text" list', row: { ...base, outputs: { m: { text: ['a'] } } } },
  { name: 'outputs of every shape side by side', row: { ...base, outputs: { s: 'x', t: { text: 'y' }, o: { output: 'z' }, n: 5, b: true, l: ['x'], e: {}, z: null } } },
  { name: 'outputs null beside predictions', row: { ...base, outputs: null, predictions: { p: 'x' } } },
  { name: 'outputs a list beside predictions', row: { ...base, outputs: ['x'], predictions: { p: 'x' } } },
  { name: 'outputs a string', row: { ...base, outputs: 'x' } },
  { name: 'an empty input beside a prompt', row: { id: 'r', input: '', prompt: 'the prompt', rationale: 'because' } },
  { name: 'a null input beside a question', row: { id: 'r', input: null, question: 'q', rationale: 'because' } },
  { name: 'an empty rationale beside an explanation', row: { id: 'r', input: 'q', rationale: '', explanation: 'e' } },
  { name: 'a numeric rationale', row: { id: 'r', input: 'q', rationale: 5 } },
  { name: 'a chat whose last turn is the answer', row: { id: 'r', messages: [{ role: 'user', content: 'q' }, { role: 'assistant', content: 'a' }] } },
  { name: 'an id that is not usable beside a row_id', row: { id: true, row_id: 'x', input: 'q', rationale: 'r' } },
  { name: 'a mapped outputs key reaching into a list', row: { ...base, runs: [{ m: 'x' }, { m: { text: 5, output: 'y' } }] }, mapping: { outputs: 'runs.1' } },
  { name: 'a mapped input reaching into a chat', row: { id: 'r', rationale: 'b', messages: [{ role: 'user', content: 'hello' }] }, mapping: { input: 'messages.0.content' } },
];

describe('Dataset roles: one rule for the index and the parse', () => {
  let tmp: ReturnType<typeof makeTempDir>;
  beforeEach(() => {
    tmp = makeTempDir();
  });
  afterEach(() => tmp.cleanup());

  for (const { name, row, mapping } of cases) {
    it(`agrees on ${name}`, async () => {
      const file = writeFixture(tmp.dir, 'row.jsonl', jsonl([row]));
      const dataset = await Dataset.open(file, { mapping });
      const parsed = await dataset.getRow(0);
      const codes = dataset.findings.map((f) => f.code);
      // every model lane the index opens has an output in the parsed row, and no more
      assert.deepEqual([...dataset.modelNames].sort(), Object.keys(parsed.outputs).sort(), 'models listed = outputs parsed');
      // an output written in the row but not parsed is reported, by name
      const outputsValue = row.outputs ?? row.predictions;
      const written = outputsValue && typeof outputsValue === 'object' && !Array.isArray(outputsValue) ? Object.keys(outputsValue).filter((m) => (outputsValue as Record<string, unknown>)[m] !== null) : [];
      for (const model of written.filter((m) => !(m in parsed.outputs))) {
        assert.ok(dataset.findings.some((f) => f.code === 'bad-field' && f.message.includes(`"${model}"`)), `the dropped output of "${model}" is reported: ${JSON.stringify(dataset.findings)}`);
      }
      // "no input" is reported exactly when the parsed row has no input to send
      assert.equal(codes.includes('no-input'), parsed.input === '', `no-input finding iff the parsed input is empty (input: ${JSON.stringify(parsed.input)})`);
      // a row with a reference has no reference finding; one without has exactly one
      const referenceFindings = dataset.findings.filter((f) => f.code === 'no-reference' || (f.code === 'bad-field' && f.message.includes('reference')));
      assert.equal(referenceFindings.length, parsed.reference === undefined ? 1 : 0, `reference findings iff no reference (reference: ${JSON.stringify(parsed.reference)})`);
      await dataset.close();
    });
  }

  it('parses the drifted row of issue 20 with its output and lists its model', async () => {
    const file = writeFixture(tmp.dir, 'drift.jsonl', jsonl([{ ...base, outputs: { m: { text: 5, output: 'hi' }, k: 'ok' } }]));
    const dataset = await Dataset.open(file);
    const parsed = await dataset.getRow(0);
    assert.deepEqual(dataset.modelNames, ['k']);
    assert.deepEqual({ ...parsed.outputs }, { k: 'ok' });
    const finding = dataset.findings.find((f) => f.code === 'bad-field');
    assert.ok(finding && finding.message.includes('"m"'), 'the output of m that is not text is reported');
    await dataset.close();
  });
});
