import * as path from 'node:path';
import { checkModel, keyStateText, type ModelCheck } from '../../core/runner/checkModels';
import { envKeyFor, KeyOriginError, loadCliConfig } from '../config';
import { type CliCommand, type CliIo, ExitCode, parseCommandArgs, terminalSafe, UsageError, writeJson } from '../args';
import { selectModels } from './score';

const usage = 'pisar-review check-models --config <path> [--models a,b] [--json]';

/** The `--json` document of `check-models`; its shape is part of the CLI's public contract. */
export interface CheckModelsDocument {
  schema: 'pisar-review/check-models@1';
  config: string;
  /** Every model passed: reachable, key accepted, model found (or not listed), answered with text. */
  ok: boolean;
  models: ModelCheck[];
}

export const checkModelsCommand: CliCommand = {
  name: 'check-models',
  usage,
  summary: 'Send one short request to each configured model: reachable, key accepted, model found, answered, and the dialect quirks seen.',
  async run(argv: readonly string[], io: CliIo): Promise<number> {
    const { values, positionals } = parseCommandArgs(argv, { config: { type: 'string' }, models: { type: 'string' }, json: { type: 'boolean' } }, usage);
    if (positionals.length > 0) throw new UsageError(`check-models takes no file (got ${positionals.join(' ')})`, usage);
    if (!values.config) throw new UsageError('name the config file that lists the models: --config <path>', usage);
    const config = await loadCliConfig(path.resolve(io.cwd, values.config), (line) => io.stderr.write(`${line}\n`));
    const models = config.settings.models;
    if (models.length === 0) throw new UsageError(`${config.file}: lists no models; add {"models": [{"name", "baseUrl", "model"}]}`, usage);
    const names = selectModels(values.models, models.map((m) => m.name), usage);
    const chosen = names ? models.filter((m) => names.includes(m.name)) : models;
    const told = new Set<string>();
    const checks = await Promise.all(chosen.map((m) => {
      try {
        const key = envKeyFor(m, io, 'check-models', told);
        const notSet = m.apiKeyEnv && key === undefined
          ? { what: `${m.apiKeyEnv} is not set`, fix: `Set the environment variable ${m.apiKeyEnv} to the API key of "${m.name}" (export ${m.apiKeyEnv}=...), or remove "apiKeyEnv" from "${m.name}" if its server needs no key.` }
          : undefined;
        return checkModel(m, key, notSet);
      } catch (err) {
        if (!(err instanceof KeyOriginError)) throw err;
        const refused: ModelCheck = { name: m.name, baseUrl: m.baseUrl, model: m.model, ok: false, reachable: false, keyAccepted: null, keySent: false, modelFound: null, quirks: [], error: { kind: 'key-origin', message: err.message }, fix: err.fix };
        return Promise.resolve(refused);
      }
    }));
    const ok = checks.every((c) => c.ok);
    if (values.json) {
      const doc: CheckModelsDocument = { schema: 'pisar-review/check-models@1', config: config.file, ok, models: checks };
      writeJson(io, doc);
    } else {
      io.stdout.write(`${checks.map(describe).join('\n')}\n`);
    }
    return ok ? ExitCode.ok : ExitCode.someCallsFailed;
  },
};

const mark = (v: boolean | null) => (v === null ? '?' : v ? 'yes' : 'NO');

function describe(c: ModelCheck): string {
  const lines = [
    `${c.ok ? 'ok  ' : 'FAIL'} ${terminalSafe(c.name)} (${terminalSafe(c.model)} at ${terminalSafe(c.baseUrl)})`,
    `     reachable: ${mark(c.reachable)} · key: ${terminalSafe(keyStateText(c))} · model found: ${mark(c.modelFound)}${c.latencyMs !== undefined ? ` · ${c.latencyMs} ms` : ''}`,
  ];
  if (c.answer !== undefined) lines.push(`     answer: "${terminalSafe(c.answer)}"`);
  if (c.quirks.length > 0) lines.push(`     quirks: ${c.quirks.map(terminalSafe).join('; ')}`);
  if (c.error) lines.push(`     error (${c.error.kind}): ${terminalSafe(c.error.message)}`);
  if (c.fix) lines.push(`     fix: ${terminalSafe(c.fix)}`);
  return lines.join('\n');
}
