// Builds the sentence-embedding models the tests and benchmarks use (nothing can be downloaded here):
//   tiny         test/fixtures/models/tiny          committed; 2 layers, hidden 16, the real 30,522 vocab
//   minilm-bench test/fixtures/models/minilm-bench  git-ignored; exactly all-MiniLM-L6-v2's shape, random weights
//   lexical      test/fixtures/models/lexical       git-ignored; no layers: a weighted bag of words, so its scores
//                                                   follow shared content words (the offline fallback of npm run sample)
// Each folder has the transformers.js layout: config.json, tokenizer.json, tokenizer_config.json,
// sentence_bert_config.json,
// onnx/model.onnx (fp32) and onnx/model_quantized.onnx (dynamic int8, dtype 'q8').
// Usage: node scripts/build-test-models.mjs [tiny|minilm-bench ...] [--force]
import { mkdirSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildBertOnnx } from './models/onnxBert.mjs';
import { bertUncasedVocab, tokenizerFiles } from './models/bertTokenizerFiles.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const MODELS_DIR = join(root, 'test', 'fixtures', 'models');
// Bump when the graph or files change, so on-demand builds are redone.
const BUILD_VERSION = 2;

export const MODEL_SPECS = {
  tiny: { hidden: 16, layers: 2, heads: 2, ffn: 64, vocab: 30522, positions: 512, typeVocab: 2, seed: 7 },
  'minilm-bench': { hidden: 384, layers: 6, heads: 12, ffn: 1536, vocab: 30522, positions: 512, typeVocab: 2, seed: 11 },
  lexical: { hidden: 256, layers: 0, heads: 1, ffn: 1, vocab: 30522, positions: 512, typeVocab: 2, seed: 13, lexical: true },
};

// Words that carry little meaning weigh little in the lexical model's bag of words.
const STOP_WORDS = new Set(('a an the and or but if then so of to in on at by for with from as is are was were be been being it its ' +
  'this that these those he she they them his her their we our you your i me my not no do does did has have had will would can ' +
  'could should may might must there here when while which who whom what why how than too very just also into onto over under ' +
  'about after before because since until up down out off again more most some any each other such only own same both all').split(' '));

/** Per-token weights for the lexical model: content words 1, word pieces 0.6, stop words and punctuation ~0. */
function lexicalTokenWeights(vocab) {
  const weights = new Float32Array(vocab.length);
  vocab.forEach((token, id) => {
    if (/^\[.*\]$/.test(token) || /^[^\p{L}\p{N}]+$/u.test(token.replace(/^##/, ''))) weights[id] = 0.02;
    else if (STOP_WORDS.has(token)) weights[id] = 0.1;
    else if (token.startsWith('##')) weights[id] = 0.6;
    else weights[id] = 1;
  });
  return weights;
}

export function modelDir(name) {
  return join(MODELS_DIR, name);
}

/** Builds one model folder unless an up-to-date build is already there. Returns its path. */
export function buildModel(name, { force = false } = {}) {
  const arch = MODEL_SPECS[name];
  if (!arch) throw new Error(`unknown model "${name}"; expected one of ${Object.keys(MODEL_SPECS).join(', ')}`);
  const dir = modelDir(name);
  const stampFile = join(dir, 'build-stamp.json');
  const stamp = JSON.stringify({ version: BUILD_VERSION, arch });
  if (!force && existsSync(stampFile) && readFileSync(stampFile, 'utf8').trim() === stamp
    && existsSync(join(dir, 'onnx', 'model.onnx')) && existsSync(join(dir, 'onnx', 'model_quantized.onnx'))) {
    return dir;
  }
  mkdirSync(join(dir, 'onnx'), { recursive: true });
  const vocab = bertUncasedVocab();
  for (const [file, text] of Object.entries(tokenizerFiles(vocab, arch.positions))) writeFileSync(join(dir, file), text);
  const config = {
    architectures: ['BertModel'],
    model_type: 'bert',
    hidden_size: arch.hidden,
    num_hidden_layers: arch.layers,
    num_attention_heads: arch.heads,
    intermediate_size: arch.ffn,
    hidden_act: 'gelu',
    vocab_size: arch.vocab,
    max_position_embeddings: arch.positions,
    type_vocab_size: arch.typeVocab,
    layer_norm_eps: 1e-12,
    pad_token_id: 0,
    torch_dtype: 'float32',
  };
  writeFileSync(join(dir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  // As in sentence-transformers/all-MiniLM-L6-v2: inputs are cut at 256 word pieces.
  writeFileSync(join(dir, 'sentence_bert_config.json'), `${JSON.stringify({ max_seq_length: 256, do_lower_case: false }, null, 2)}\n`);
  const tokenWeights = arch.lexical ? lexicalTokenWeights(vocab) : undefined;
  writeFileSync(join(dir, 'onnx', 'model.onnx'), buildBertOnnx(arch, { quantized: false, seed: arch.seed, tokenWeights }));
  writeFileSync(join(dir, 'onnx', 'model_quantized.onnx'), buildBertOnnx(arch, { quantized: true, seed: arch.seed, tokenWeights }));
  writeFileSync(stampFile, `${stamp}\n`);
  return dir;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const force = args.includes('--force');
  const names = args.filter((a) => !a.startsWith('--'));
  for (const name of names.length ? names : ['tiny']) {
    const dir = buildModel(name, { force });
    console.log(`built ${name} -> ${dir}`);
  }
}
