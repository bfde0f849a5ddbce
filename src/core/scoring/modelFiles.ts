// What a local embedding model's own files say about it: how many word pieces it reads, and which
// weights it is. Read in the main thread (a folder, a downloaded Hub model) and in the workers.
import { createHash } from 'node:crypto';
import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** Where a maximum length was read: the model's files in sentence-transformers' order, or a known model id. */
export type MaxLengthSource = 'sentence_bert_config.json' | 'known model id' | 'tokenizer_config.json' | 'config.json';

export interface MaxLength {
  /** Word pieces read per text, [CLS] and [SEP] included. */
  maxLength: number;
  source: MaxLengthSource;
}

// sentence-transformers cuts these at 256 word pieces (their sentence_bert_config.json); exports and local
// copies often lack that file and say 512 in tokenizer_config.json, which would embed a different text.
const KNOWN_MAX_SEQ_LENGTH: Record<string, number> = {
  'sentence-transformers/all-minilm-l6-v2': 256,
  'xenova/all-minilm-l6-v2': 256,
  'sentence-transformers/all-minilm-l12-v2': 256,
  'xenova/all-minilm-l12-v2': 256,
  'sentence-transformers/paraphrase-multilingual-minilm-l12-v2': 128,
  'xenova/paraphrase-multilingual-minilm-l12-v2': 128,
  'sentence-transformers/all-mpnet-base-v2': 384,
  'xenova/all-mpnet-base-v2': 384,
};

function knownMaxLength(name: string | undefined): number | undefined {
  if (!name) return undefined;
  const key = name.replace(/\\/g, '/').toLowerCase();
  const last = key.split('/').slice(-2).join('/');
  return KNOWN_MAX_SEQ_LENGTH[key] ?? KNOWN_MAX_SEQ_LENGTH[last] ?? KNOWN_MAX_SEQ_LENGTH[`sentence-transformers/${key.split('/').pop()}`];
}

function readJson(file: string): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function positive(value: unknown, bound = Number.POSITIVE_INFINITY): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 && value <= bound ? value : undefined;
}

/**
 * The word pieces a model reads, as sentence-transformers decides it: sentence_bert_config.json's
 * max_seq_length, then a known model id (the Hub id, config.json's _name_or_path, or the folder's
 * name), then tokenizer_config.json's model_max_length, then config.json's max_position_embeddings;
 * never more than the position embeddings. undefined when no file says (a Hub model not downloaded yet).
 */
export function modelMaxLength(folder: string | undefined, id?: string): MaxLength | undefined {
  const config = folder ? readJson(join(folder, 'config.json')) : undefined;
  const positions = positive(config?.max_position_embeddings);
  const bounded = (maxLength: number | undefined, source: MaxLengthSource): MaxLength | undefined =>
    maxLength === undefined ? undefined : { maxLength: positions ? Math.min(maxLength, positions) : maxLength, source };
  const st = folder ? readJson(join(folder, 'sentence_bert_config.json')) : undefined;
  const known = knownMaxLength(id) ?? knownMaxLength(typeof config?._name_or_path === 'string' ? config._name_or_path : undefined)
    ?? (folder ? knownMaxLength(`${basename(dirname(folder))}/${basename(folder)}`) : undefined);
  const tokenizer = folder ? readJson(join(folder, 'tokenizer_config.json')) : undefined;
  return bounded(positive(st?.max_seq_length), 'sentence_bert_config.json')
    ?? bounded(known, 'known model id')
    // Tokenizers without a limit say 1e30: only a length the model can read counts.
    ?? bounded(positive(tokenizer?.model_max_length, positions ?? 1_000_000), 'tokenizer_config.json')
    ?? bounded(positions, 'config.json');
}

/** The weights file of a transformers.js folder for a dtype, under onnx/. */
export function onnxFileName(dtype: 'fp32' | 'q8'): string {
  return dtype === 'q8' ? 'model_quantized.onnx' : 'model.onnx';
}

const digests = new Map<string, string>();

/** The first 12 hex digits of the SHA-256 of a weights file (remembered per path, size and time); undefined when absent. */
export function weightsDigest(file: string): string | undefined {
  let key: string;
  try {
    const info = statSync(file);
    key = `${file}\0${info.size}\0${info.mtimeMs}`;
  } catch {
    return undefined;
  }
  const known = digests.get(key);
  if (known) return known;
  const hash = createHash('sha256');
  const fd = openSync(file, 'r');
  try {
    const buffer = Buffer.allocUnsafe(1 << 20);
    for (let n; (n = readSync(fd, buffer, 0, buffer.length, null)) > 0;) hash.update(buffer.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  const digest = hash.digest('hex').slice(0, 12);
  digests.set(key, digest);
  return digest;
}
