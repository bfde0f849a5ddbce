// The panel benches' data: a dataset of `rows` rows x 3 models with a results sidecar holding a score
// for every (row, model), generated once under bench-results/panel/ and reused.
import { createWriteStream, existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sentences } from './sentences.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(import.meta.url);
const MODELS = ['ft-qwen3-vl-8b', 'gpt-4o', 'claude-sonnet'];

export async function write(path, lines) {
  const stream = createWriteStream(path);
  for (const line of lines()) if (!stream.write(line)) await new Promise((r) => stream.once('drain', r));
  await new Promise((r) => stream.end(r));
}

export async function panelDataset(rows) {
  const dir = join(root, 'bench-results', 'panel');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `panel-${rows}.jsonl`);
  const resultsFile = join(dir, `panel-${rows}.pisar-results.jsonl`);
  const { rand, sentence } = sentences(7);
  if (!existsSync(file) || !existsSync(resultsFile)) {
    await write(file, function* () {
      for (let i = 0; i < rows; i++) {
        yield `${JSON.stringify({ id: `pisar-${i}`, input: sentence(60), rationale: sentence(30), outputs: Object.fromEntries(MODELS.map((m) => [m, sentence(30)])) })}\n`;
      }
    });
    const { Dataset } = require(join(root, 'out', 'src', 'core', 'dataset', 'datasetReader.js'));
    const dataset = await Dataset.open(file);
    await write(resultsFile, function* () {
      for (let i = 0; i < rows; i++) {
        for (const model of MODELS) {
          yield `${JSON.stringify({ rowId: `pisar-${i}`, rowHash: dataset.rowHash(i), model, source: 'precomputed', output: sentence(30), score: Math.round(rand() * 1e4) / 1e4, scorer: 'local:bench', at: new Date(0).toISOString() })}\n`;
        }
      }
    });
  }
  return { file, resultsFile, models: MODELS, rand, write };
}
