import * as assert from 'node:assert/strict';
import { compactModelNames, embeddingModelName, middleTruncate, withFix } from '../../src/core/review/display';

describe('review display', () => {
  it('keeps short model names and shortens long ones in the middle, never making two alike', () => {
    const names = compactModelNames(['ft-qwen', 'annotator-ft-qwen3-vl-8b', 'annotator-gpt-4o-2024-08-06', 'annotator-claude-sonnet'], 12);
    assert.equal(names.get('ft-qwen'), 'ft-qwen');
    const shown = [...names.values()];
    assert.equal(new Set(shown).size, shown.length, `distinct: ${shown.join(', ')}`);
    for (const s of shown) assert.ok(s.length <= 12, s);
    assert.equal(names.get('annotator-ft-qwen3-vl-8b'), 'annota…vl-8b');
    // The shared start is not what tells them apart: the ends stay.
    assert.ok(shown.every((s) => !/^annotat…$/.test(s)));
  });

  it('lengthens the shortened names until names that differ only in the middle read differently', () => {
    const names = compactModelNames(['provider-model-a-v1', 'provider-model-b-v1'], 8);
    assert.notEqual(names.get('provider-model-a-v1'), names.get('provider-model-b-v1'));
  });

  it('cuts text in the middle to the length asked', () => {
    assert.equal(middleTruncate('abcdefghij', 5), 'ab…ij');
    assert.equal(middleTruncate('abc', 5), 'abc');
  });

  it('keeps a problem and its fix apart', () => {
    assert.equal(withFix('line is not valid JSON: Unexpected end', 'Delete it.'), 'line is not valid JSON: Unexpected end. Fix: Delete it.');
    assert.equal(withFix('row has no reference.', 'Add one.'), 'row has no reference. Fix: Add one.');
    assert.equal(withFix('no fix here', undefined), 'no fix here.');
  });

  it('names the embedding model behind a stored scorer key', () => {
    assert.equal(embeddingModelName('local:Xenova/all-MiniLM-L6-v2:fp32'), 'all-MiniLM-L6-v2 (fp32)');
    assert.equal(embeddingModelName('local:/work/models/lexical:q8'), 'lexical (q8)');
    assert.equal(embeddingModelName('remote:https://api.openai.com:text-embedding-3-small'), 'text-embedding-3-small at api.openai.com');
    assert.equal(embeddingModelName('remote:http://127.0.0.1:8080:nomic-embed-text:latest'), 'nomic-embed-text:latest at 127.0.0.1:8080');
  });
});
