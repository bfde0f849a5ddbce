import * as path from 'node:path';
import { Dataset } from '../../core/dataset/datasetReader';
import { ImageError } from '../../core/runner/images';
import { previewDocument, type PreviewDocument } from '../../core/runner/preview';
import { PromptError } from '../../core/runner/prompt';
import { loadCliConfig, settingsOf } from '../config';
import { type CliCommand, type CliIo, DATASET_FLAGS, datasetOptionsOf, ExitCode, parseCommandArgs, terminalSafe, UsageError, writeJson } from '../args';

const usage = 'pisar-review preview <file> --row <id> [--model <name>] [--config <path>] [--field ROLE=KEY]... [--json]';

export const previewCommand: CliCommand = {
  name: 'preview',
  usage,
  summary: 'Print the exact request a row would send to a model (key redacted, image bytes summarised), built by the code that sends it; nothing is sent.',
  async run(argv: readonly string[], io: CliIo): Promise<number> {
    const { values, positionals } = parseCommandArgs(argv, { config: { type: 'string' }, row: { type: 'string' }, model: { type: 'string' }, json: { type: 'boolean' }, ...DATASET_FLAGS }, usage);
    if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'name the dataset file' : `expected one dataset file, got ${positionals.length}`, usage);
    if (values.row === undefined) throw new UsageError('name the row: --row <id>', usage);
    const settings = settingsOf(values.config ? await loadCliConfig(path.resolve(io.cwd, values.config), (line) => io.stderr.write(`${line}\n`)) : undefined);
    const models = settings.models;
    if (models.length === 0) throw new UsageError('no model is configured: pass --config with {"models": [{"name", "baseUrl", "model"}]}', usage);
    const model = values.model === undefined ? models[0] : models.find((m) => m.name === values.model);
    if (!model) throw new UsageError(`--model: no model named ${JSON.stringify(values.model)}; configured: ${models.map((m) => m.name).join(', ')}`, usage);

    const dataset = await Dataset.open(path.resolve(io.cwd, positionals[0]), datasetOptionsOf(values, settings, usage));
    try {
      const index = dataset.indexOfId(values.row);
      if (index === undefined) throw new UsageError(`${dataset.file}: no row with id ${JSON.stringify(values.row)}`, usage);
      const row = await dataset.getRow(index);
      const hasKey = model.apiKeyEnv !== undefined && Boolean(io.env[model.apiKeyEnv]);
      let doc: PreviewDocument;
      try {
        doc = await previewDocument(row, model, dataset.file, hasKey);
      } catch (err) {
        if (err instanceof PromptError || err instanceof ImageError) {
          io.stderr.write(`pisar-review preview: ${terminalSafe(`${dataset.file}:${row.line}: ${err.message}. ${err.fix}`)} Nothing would be sent for this row.\n`);
          return ExitCode.usageOrInput;
        }
        throw err;
      }
      const request = doc.request;
      if (values.json) {
        writeJson(io, doc);
      } else {
        const lines = [`${request.method} ${request.url}`, ...Object.entries(request.headers).map(([k, v]) => `${k}: ${v}`), '', ...JSON.stringify(request.body, null, 2).split('\n')];
        io.stdout.write(`${lines.map((line) => terminalSafe(line)).join('\n')}\n`);
      }
      return ExitCode.ok;
    } finally {
      await dataset.close();
    }
  },
};
