// The product's BERT tokenizer against Hugging Face `tokenizers` (what sentence-transformers uses): every
// code point of U+0000..U+2FFFF and the texts of the parity fixture, from tables generated once by
// scripts/fixtures/make_parity.py (committed; no Python needed here).
import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { BertWordPieceTokenizer } from '../../src/core/scoring/bertTokenizer';
import { repoRoot } from '../support/files';

const MODEL = path.join(repoRoot, 'test', 'fixtures', 'models', 'parity');
const FIXTURES = path.join(repoRoot, 'test', 'fixtures', 'parity');

interface CodePointTable {
  context: string;
  range: [number, number];
  default: number[];
  checked: number;
  runs: Array<[number, number, number[]]>;
}

interface PairsFixture {
  texts: string[];
  pieces: number[][];
  unknown: number[];
}

function loadTokenizer(file = path.join(MODEL, 'tokenizer.json')): BertWordPieceTokenizer {
  const tokenizer = BertWordPieceTokenizer.fromTokenizerJson(JSON.parse(readFileSync(file, 'utf8')));
  assert.ok(tokenizer, `${file} should be read as a BERT WordPiece tokenizer`);
  return tokenizer;
}

function hex(cp: number): string {
  return `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
}

describe('BERT tokenizer parity with Hugging Face tokenizers', function () {
  this.timeout(120_000);

  it('tokenises every code point of U+0000..U+2FFFF as the reference does, alone and inside a word', () => {
    const table = JSON.parse(readFileSync(path.join(FIXTURES, 'codepoints.json'), 'utf8')) as CodePointTable;
    const tokenizer = loadTokenizer();
    const expected = new Map<number, number[]>();
    for (const [start, count, ids] of table.runs) for (let cp = start; cp < start + count; cp++) expected.set(cp, ids);
    const wrong: string[] = [];
    let checked = 0;
    for (let cp = table.range[0]; cp <= table.range[1]; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      checked++;
      const ch = String.fromCodePoint(cp);
      const want = expected.get(cp) ?? table.default;
      const got = tokenizer.encode(table.context.replaceAll('{c}', ch)).ids;
      if (got.length !== want.length || got.some((id, i) => id !== want[i])) wrong.push(`${hex(cp)}: [${got.join(' ')}], reference [${want.join(' ')}]`);
    }
    assert.equal(checked, table.checked);
    assert.deepEqual(wrong.slice(0, 20), [], `${wrong.length} of ${checked} code points differ from the reference`);
  });

  it('tokenises the parity texts (accents, CJK, Arabic, emoji, marks, controls, whitespace, special tokens) as the reference', () => {
    const fixture = JSON.parse(readFileSync(path.join(FIXTURES, 'pairs.json'), 'utf8')) as PairsFixture;
    const tokenizer = loadTokenizer();
    const wrong: string[] = [];
    fixture.texts.forEach((text, i) => {
      const got = tokenizer.encode(text);
      if (JSON.stringify(got.ids) !== JSON.stringify(fixture.pieces[i]) || got.unknown !== fixture.unknown[i]) {
        wrong.push(`text ${i} ${JSON.stringify(text.slice(0, 60))}: [${got.ids.slice(0, 12).join(' ')}…] (${got.unknown} unknown), reference [${fixture.pieces[i].slice(0, 12).join(' ')}…] (${fixture.unknown[i]} unknown)`);
      }
    });
    assert.ok(fixture.texts.length >= 500);
    assert.deepEqual(wrong.slice(0, 10), [], `${wrong.length} of ${fixture.texts.length} texts differ`);
  });

  it('leaves a tokenizer it does not reproduce (another normaliser or model) to transformers.js', () => {
    const json = JSON.parse(readFileSync(path.join(MODEL, 'tokenizer.json'), 'utf8')) as Record<string, unknown>;
    assert.ok(BertWordPieceTokenizer.fromTokenizerJson(json));
    assert.equal(BertWordPieceTokenizer.fromTokenizerJson({ ...json, normalizer: { type: 'NFKC' } }), undefined);
    assert.equal(BertWordPieceTokenizer.fromTokenizerJson({ ...json, model: { type: 'Unigram', vocab: [] } }), undefined);
    assert.equal(BertWordPieceTokenizer.fromTokenizerJson({ ...json, pre_tokenizer: { type: 'Metaspace' } }), undefined);
  });
});
