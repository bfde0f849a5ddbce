import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Dataset } from '../../src/core/dataset/datasetReader';
import {
  AnnotationResolver,
  AnnotationStore,
  annotationsFileFor,
  type RowLookup,
} from '../../src/core/store/annotations';

const annotationsModule = path.resolve(__dirname, '../../src/core/store/annotations.js');

async function tempDataset(): Promise<string> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'pisar-annotations-'));
  return path.join(dir, 'data.jsonl');
}

/** A dataset stand-in: row ids and hashes, index-aligned. */
function rows(entries: Array<[id: string, hash: string]>): RowLookup {
  return {
    rowCount: entries.length,
    indexOfId: (id) => {
      const i = entries.findIndex(([rid]) => rid === id);
      return i === -1 ? undefined : i;
    },
    rowHash: (i) => entries[i][1],
  };
}

/** A separate node process (another window, or the CLI) that adds `count` annotations to the sidecar. */
function annotatorProcess(datasetFile: string, writer: string, count: number): Promise<void> {
  const script = `
    const { AnnotationStore } = require(${JSON.stringify(annotationsModule)});
    (async () => {
      const store = await AnnotationStore.forDataset(${JSON.stringify(datasetFile)});
      for (let i = 0; i < ${count}; i++) {
        const a = await store.add({ rowId: ${JSON.stringify(writer)} + '-' + i, rowHash: 'h' + i, target: { kind: 'reference' }, label: 'wrong', note: 'x'.repeat(5000) });
        if (i % 3 === 0) await store.edit(a.id, { label: 'incomplete' });
      }
    })().catch((e) => { console.error(e); process.exit(1); });`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`annotator ${writer} exited ${code}`))));
  });
}

describe('annotation store', () => {
  it('names the sidecar beside the dataset', () => {
    assert.equal(annotationsFileFor('/a/b/data.jsonl'), path.join('/a/b', 'data.pisar-annotations.jsonl'));
    assert.equal(annotationsFileFor('/a/b/Rows.JSONL'), path.join('/a/b', 'Rows.pisar-annotations.jsonl'));
  });

  it('adds an annotation that survives a reload from disk', async () => {
    const dataset = await tempDataset();
    const store = await AnnotationStore.forDataset(dataset);
    const a = await store.add({ rowId: 'r1', rowHash: 'h1', target: { kind: 'output', model: 'gpt' }, label: 'hallucinated', note: 'invents a <b>dog</b>' });
    const again = await AnnotationStore.forDataset(dataset);
    assert.deepEqual(again.all(), [a]);
    assert.deepEqual(again.get(a.id)?.target, { kind: 'output', model: 'gpt' });
    assert.equal(again.get(a.id)?.note, 'invents a <b>dog</b>');
    assert.deepEqual(again.problems, []);
  });

  it('edits by appending: the label and note change, the history stays in the file', async () => {
    const dataset = await tempDataset();
    const store = await AnnotationStore.forDataset(dataset);
    const a = await store.add({ rowId: 'r1', rowHash: 'h1', target: { kind: 'reference' }, label: 'wrong', note: 'first' }, new Date('2026-01-01T00:00:00Z'));
    await store.edit(a.id, { label: 'incomplete' }, new Date('2026-01-02T00:00:00Z'));
    await store.edit(a.id, { note: null }, new Date('2026-01-03T00:00:00Z'));
    const again = await AnnotationStore.forDataset(dataset);
    const edited = again.get(a.id)!;
    assert.equal(edited.label, 'incomplete');
    assert.equal(edited.note, undefined);
    assert.equal(edited.createdAt, '2026-01-01T00:00:00.000Z');
    assert.equal(edited.updatedAt, '2026-01-03T00:00:00.000Z');
    const lines = (await fsp.readFile(annotationsFileFor(dataset), 'utf8')).trimEnd().split('\n');
    assert.equal(lines.length, 3, 'one appended line per change');
    assert.equal(JSON.parse(lines[0]).label, 'wrong', 'the first event is never rewritten');
  });

  it('removes an annotation without touching the others', async () => {
    const dataset = await tempDataset();
    const store = await AnnotationStore.forDataset(dataset);
    const keep = await store.add({ rowId: 'r1', rowHash: 'h1', target: { kind: 'reference' }, label: 'wrong' });
    const drop = await store.add({ rowId: 'r2', rowHash: 'h2', target: { kind: 'reference' }, label: 'fine' });
    await store.remove(drop.id);
    assert.deepEqual(store.all().map((a) => a.id), [keep.id]);
    const again = await AnnotationStore.forDataset(dataset);
    assert.deepEqual(again.all().map((a) => a.id), [keep.id]);
    await assert.rejects(store.edit(drop.id, { label: 'wrong' }), /No annotation/);
  });

  it('refuses an empty label and an output annotation without a model', async () => {
    const store = await AnnotationStore.forDataset(await tempDataset());
    await assert.rejects(store.add({ rowId: 'r', rowHash: 'h', target: { kind: 'reference' }, label: '  ' }), /needs a label/);
    await assert.rejects(store.add({ rowId: 'r', rowHash: 'h', target: { kind: 'output' }, label: 'wrong' }), /name the model/);
    assert.equal(store.size, 0);
  });

  it('keeps an annotation whose row changed, and flags it', async () => {
    const store = await AnnotationStore.forDataset(await tempDataset());
    const a = await store.add({ rowId: 'r2', rowHash: 'old', target: { kind: 'reference' }, label: 'wrong' });
    const resolver = new AnnotationResolver(rows([['r1', 'h1'], ['r2', 'new']]));
    assert.deepEqual(resolver.place(a), { state: 'changed', index: 1 });
    // Re-anchoring (the user confirms it still applies) makes it current again.
    const reanchored = await store.edit(a.id, { rowHash: 'new' });
    assert.deepEqual(new AnnotationResolver(rows([['r1', 'h1'], ['r2', 'new']])).place(reanchored), { state: 'current', index: 1 });
  });

  it('follows a row without an id when lines move (same content, new line-based id)', async () => {
    const store = await AnnotationStore.forDataset(await tempDataset());
    const a = await store.add({ rowId: 'line:2', rowHash: 'content-b', target: { kind: 'reference' }, label: 'wrong' });
    // A line was inserted above: `line:2` is now another row, ours is `line:3`.
    const resolver = new AnnotationResolver(rows([['line:1', 'content-a'], ['line:2', 'inserted'], ['line:3', 'content-b']]));
    assert.deepEqual(resolver.place(a), { state: 'current', index: 2 });
    assert.deepEqual(new AnnotationResolver(rows([['line:1', 'content-a']])).place(a), { state: 'orphaned' });
  });

  it('on a real dataset: an edited row keeps its annotation, flagged; rows without ids follow their content', async () => {
    const dataset = await tempDataset();
    const rowsText = [
      '{"id":"a","input":"in a","rationale":"ref a"}',
      '{"input":"no id","rationale":"ref b"}',
      '{"id":"c","input":"in c","rationale":"ref c"}',
    ];
    const before = Dataset.fromText(dataset, rowsText.join('\n') + '\n');
    const store = await AnnotationStore.forDataset(dataset);
    const onC = await store.add({ rowId: 'c', rowHash: before.rowHash(2), target: { kind: 'reference' }, label: 'wrong' });
    const onB = await store.add({ rowId: before.rowIds()[1], rowHash: before.rowHash(1), target: { kind: 'output', model: 'gpt' }, label: 'off-topic' });

    // The user inserts a row at the top and rewrites c's reference.
    const after = Dataset.fromText(dataset, ['{"id":"new","input":"x","rationale":"y"}', rowsText[0], rowsText[1], rowsText[2].replace('ref c', 'ref c, fixed')].join('\n') + '\n');
    const resolver = new AnnotationResolver(after);
    assert.deepEqual(resolver.place(onC), { state: 'changed', index: 3 }, 'still on row c, flagged as changed');
    assert.deepEqual(resolver.place(onB), { state: 'current', index: 2 }, 'the id-less row moved a line down and was followed');
    const reloaded = await AnnotationStore.forDataset(dataset);
    assert.equal(reloaded.size, 2, 'nothing was dropped');
  });

  it('two processes annotating the same sidecar at once lose nothing', async function () {
    this.timeout(60_000);
    const dataset = await tempDataset();
    const count = 40;
    await Promise.all([annotatorProcess(dataset, 'A', count), annotatorProcess(dataset, 'B', count)]);
    const store = await AnnotationStore.forDataset(dataset);
    assert.deepEqual(store.problems, [], 'every line parses');
    assert.equal(store.size, count * 2);
    for (const writer of ['A', 'B']) {
      for (let i = 0; i < count; i++) {
        const [a] = store.forRowId(`${writer}-${i}`);
        assert.ok(a, `${writer}-${i} is there`);
        assert.equal(a.label, i % 3 === 0 ? 'incomplete' : 'wrong', `${writer}-${i} has its last label`);
        assert.equal(a.note?.length, 5000);
      }
    }
  });

  it('an open store sees another window\'s annotations after reload', async () => {
    const dataset = await tempDataset();
    const mine = await AnnotationStore.forDataset(dataset);
    const theirs = await AnnotationStore.forDataset(dataset);
    const a = await mine.add({ rowId: 'r1', rowHash: 'h1', target: { kind: 'reference' }, label: 'wrong' });
    const b = await theirs.add({ rowId: 'r2', rowHash: 'h2', target: { kind: 'reference' }, label: 'fine' });
    await mine.reload();
    assert.deepEqual(mine.all().map((x) => x.id).sort(), [a.id, b.id].sort());
  });

  it('reports a corrupt line with its number, skips it and keeps every other annotation', async () => {
    const dataset = await tempDataset();
    const store = await AnnotationStore.forDataset(dataset);
    const a = await store.add({ rowId: 'r1', rowHash: 'h1', target: { kind: 'reference' }, label: 'wrong' });
    await fsp.appendFile(annotationsFileFor(dataset), '{"v":1,"op":"set", broken\n{"v":1,"op":"set","id":"x","at":"t"}\n');
    const b = await store.add({ rowId: 'r2', rowHash: 'h2', target: { kind: 'output', model: 'm' }, label: 'fine' });
    const again = await AnnotationStore.forDataset(dataset);
    assert.deepEqual(again.all().map((x) => x.id), [a.id, b.id]);
    assert.equal(again.problems.length, 2);
    assert.equal(again.problems[0].line, 2);
    assert.equal(again.problems[0].kind, 'corrupt-line');
    assert.equal(again.problems[1].line, 3);
    assert.equal(again.problems[1].kind, 'invalid-record');
    assert.match(again.problems[1].reason, /rowId/);
    const text = await fsp.readFile(annotationsFileFor(dataset), 'utf8');
    assert.match(text, /broken/, 'the corrupt line is left for the user to fix, not deleted');
  });

  it('repairs a cut-off last line and keeps the annotations before it', async () => {
    const dataset = await tempDataset();
    const store = await AnnotationStore.forDataset(dataset);
    const a = await store.add({ rowId: 'r1', rowHash: 'h1', target: { kind: 'reference' }, label: 'wrong' });
    await fsp.appendFile(annotationsFileFor(dataset), '{"v":1,"op":"set","id":"cut');
    const again = await AnnotationStore.forDataset(dataset);
    assert.deepEqual(again.all().map((x) => x.id), [a.id]);
    assert.equal(again.problems[0]?.kind, 'truncated-tail');
    const b = await again.add({ rowId: 'r2', rowHash: 'h2', target: { kind: 'reference' }, label: 'fine' });
    const third = await AnnotationStore.forDataset(dataset);
    assert.deepEqual(third.all().map((x) => x.id), [a.id, b.id]);
    assert.deepEqual(third.problems, []);
  });
});
