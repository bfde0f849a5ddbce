import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { AnnotationStore, annotationsFileFor } from '../../src/core/store/annotations';
import { makeTempDir, repoRoot } from '../support/files';

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.org', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.org' } });
}

describe('annotations sidecar in git', () => {
  it('two branches\' sidecars merge with the repository\'s .gitattributes, without conflicts, and read correctly', async () => {
    const { dir } = makeTempDir();
    git(dir, 'init', '-q', '-b', 'main');
    await fsp.copyFile(path.join(repoRoot, '.gitattributes'), path.join(dir, '.gitattributes'));
    const data = path.join(dir, 'data.jsonl');
    await fsp.writeFile(data, '{"id":"r1","input":"q","rationale":"because"}\n{"id":"r2","input":"q2","rationale":"since"}\n');
    const base = await AnnotationStore.forDataset(data);
    const shared = await base.add({ rowId: 'r1', rowHash: 'h1', target: { kind: 'reference' }, label: 'wrong', reviewer: 'lead' }, new Date('2026-01-01T00:00:00Z'));
    git(dir, 'add', '.');
    git(dir, 'commit', '-q', '-m', 'base');

    git(dir, 'checkout', '-q', '-b', 'ana');
    const ana = await AnnotationStore.forDataset(data);
    await ana.add({ rowId: 'r1', rowHash: 'h1', target: { kind: 'output', model: 'ft' }, label: 'fine', reviewer: 'ana' }, new Date('2026-01-02T00:00:00Z'));
    await ana.correct({ rowId: 'r2', rowHash: 'h2', reference: 'since the road bends', reason: 'typo', reviewer: 'ana' }, new Date('2026-01-02T01:00:00Z'));
    git(dir, 'commit', '-q', '-am', 'ana');

    git(dir, 'checkout', '-q', 'main');
    git(dir, 'checkout', '-q', '-b', 'bo');
    const bo = await AnnotationStore.forDataset(data);
    await bo.add({ rowId: 'r1', rowHash: 'h1', target: { kind: 'output', model: 'ft' }, label: 'hallucinated', reviewer: 'bo' }, new Date('2026-01-02T00:30:00Z'));
    await bo.edit(shared.id, { label: 'incomplete' }, new Date('2026-01-03T00:00:00Z'), 'bo');
    git(dir, 'commit', '-q', '-am', 'bo');

    git(dir, 'merge', '-q', '--no-edit', 'ana');
    const text = await fsp.readFile(annotationsFileFor(data), 'utf8');
    assert.doesNotMatch(text, /^(<<<<<<<|=======|>>>>>>>)/m, 'no conflict markers');
    assert.equal(git(dir, 'status', '--porcelain'), '');

    // The same file twice over (both branches carried the same events) counts each event once.
    await fsp.writeFile(annotationsFileFor(data), text + text);
    const merged = await AnnotationStore.forDataset(data);
    assert.deepEqual(merged.problems, []);
    assert.equal(merged.duplicateEvents, text.trimEnd().split('\n').length);
    const labels = merged.all().map((a) => `${a.reviewer}:${a.target.kind}:${a.label}`).sort();
    assert.deepEqual(labels, ['ana:output:fine', 'bo:output:hallucinated', 'lead:reference:incomplete']);
    assert.equal(merged.corrections().length, 1);
    assert.equal(merged.corrections()[0].reference, 'since the road bends');
    assert.equal(merged.corrections()[0].reviewer, 'ana');
  });
});
