import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { ModelConfig } from '../../core/config/models';
import { parseJudgePrompt, problemText } from '../../core/config/settings';
import { Dataset } from '../../core/dataset/datasetReader';
import { judgeDataset, type JudgeSummary } from '../../core/judge/judgeRun';
import { costText, tokenCost } from '../../core/rules/cost';
import { visibleControls as plainText } from '../../core/security/escape';
import { RequestCache } from '../../core/runner/requestCache';
import { RunError } from '../../core/runner/runner';
import { AnnotationStore } from '../../core/store/annotations';
import { correctionsInForce } from '../../core/store/corrections';
import { ResultsStore } from '../../core/store/results';
import type { SidecarProblem } from '../../core/store/sidecar';
import { type CliCommand, type CliIo, DATASET_FLAGS, datasetOptionsOf, ExitCode, LOCK_FLAGS, lockOptionsOf, parseCommandArgs, UsageError, writeJson } from '../args';
import { envKeyFor, loadCliConfig, settingsOf } from '../config';
import { printFindings, requireRows } from '../datasetFindings';
import { defaultCacheDir, selectModels } from './score';

const usage =
  'pisar-review judge <file> [--config <path>] [--judge-model <name>] [--prompt-file <path>] [--models a,b] [--rerun] [--cache-dir <dir>] ' +
  '[--field ROLE=KEY]... [--max-inflated-bytes N] [--break-lock] [--lock-timeout <s>] [--json]';

/** The `--json` document of `judge`; its shape is part of the CLI's public contract (docs/cli.md). */
export interface JudgeDocument {
  schema: 'pisar-review/judge@1';
  file: string;
  resultsFile: string;
  /** The run: counts, verdicts, tokens, failures and skipped outputs (first 100 each). */
  run: JudgeSummary;
  /** What the run's verdicts cost at the judge model's price (cached answers included); null without a price. */
  cost: number | null;
  /** Lines of the results sidecar that were skipped. */
  problems: SidecarProblem[];
}

const options = {
  config: { type: 'string' },
  'judge-model': { type: 'string' },
  'prompt-file': { type: 'string' },
  models: { type: 'string' },
  rerun: { type: 'boolean' },
  'cache-dir': { type: 'string' },
  ...DATASET_FLAGS,
  ...LOCK_FLAGS,
  json: { type: 'boolean' },
} as const;

export const judgeCommand: CliCommand = {
  name: 'judge',
  usage,
  summary: 'Ask the judge model (judge.model) for a verdict on every stored output against its reference; verdicts are stored with the results (cached, resumable).',
  run: runJudge,
};

/** The judge model: --judge-model, else the config's judge.model; it must be one of the configured models. */
export function judgeModelOf(name: string | undefined, models: readonly ModelConfig[], commandUsage: string): ModelConfig {
  const wanted = name?.trim();
  if (!wanted) throw new UsageError('no judge model: set "judge": {"model": "<name>"} in --config to one of its "models", or pass --judge-model <name>', commandUsage);
  const model = models.find((m) => m.name === wanted);
  if (!model) throw new UsageError(`judge model ${JSON.stringify(wanted)} is not one of the configured models (${models.length ? models.map((m) => JSON.stringify(m.name)).join(', ') : 'none: add it to "models" in --config'})`, commandUsage);
  return model;
}

/** The judge prompt template: --prompt-file's text (checked as the config's judge.prompt is), else the config's. */
export async function judgeTemplateOf(promptFile: string | undefined, configured: string, io: CliIo, commandUsage: string): Promise<string> {
  if (promptFile === undefined) return configured;
  const file = path.resolve(io.cwd, promptFile);
  const text = await fsp.readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new UsageError(`--prompt-file ${file}: cannot be read (${err.code ?? err.message})`, commandUsage);
  });
  const parsed = parseJudgePrompt(text, 'prompt-file');
  if (parsed.problem) throw new UsageError(`--prompt-file ${file}: ${problemText(parsed.problem)}`, commandUsage);
  return parsed.value;
}

async function runJudge(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, options, usage);
  if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'name the dataset file' : `expected one dataset file, got ${positionals.length}`, usage);
  const lock = lockOptionsOf(values, usage);
  const settings = settingsOf(values.config ? await loadCliConfig(path.resolve(io.cwd, values.config), (line) => io.stderr.write(`${line}\n`)) : undefined);
  const judge = judgeModelOf(values['judge-model'] ?? settings.judge.model, settings.models, usage);
  const template = await judgeTemplateOf(values['prompt-file'], settings.judge.prompt, io, usage);
  const cacheDir = values['cache-dir'] ? path.resolve(io.cwd, values['cache-dir']) : defaultCacheDir(io.env);

  const dataset = await Dataset.open(path.resolve(io.cwd, positionals[0]), datasetOptionsOf(values, settings, usage));
  let summary: JudgeSummary;
  let results: ResultsStore;
  try {
    printFindings(io, 'judge', dataset);
    requireRows(dataset);
    results = await ResultsStore.open(dataset.file);
    for (const p of results.problems) io.stderr.write(`${p.file}:${p.line}: ${p.reason}. ${p.fix}\n`);
    const known = [...new Set([...settings.models.map((m) => m.name), ...dataset.modelNames, ...results.models()])];
    const models = selectModels(values.models, known, usage);
    const annotations = await AnnotationStore.forDataset(dataset.file, { repair: false });
    const corrections = correctionsInForce(annotations.corrections(), dataset);
    const told = new Set<string>();
    const controller = new AbortController();
    const stop = new AbortController();
    const onSigint = () => {
      if (stop.signal.aborted) {
        controller.abort();
        process.exit(130);
      }
      io.stderr.write('\npisar-review judge: stopping: no new calls; the calls in flight finish and are written (Ctrl-C again to quit now).\n');
      stop.abort();
    };
    process.on('SIGINT', onSigint);
    try {
      summary = await judgeDataset({
        dataset, results, judge, template, ...(models ? { models } : {}), rerun: values.rerun ?? false, corrections,
        apiKeyFor: async (m) => envKeyFor(m, io, 'judge', told),
        requestCache: await RequestCache.open(path.join(cacheDir, 'requests')),
        reasoningMarkers: settings.reasoningMarkers,
        signal: controller.signal, stopSignal: stop.signal, ...lock,
        onLockWait: (message) => io.stderr.write(`pisar-review judge: ${plainText(message)}\n`),
        onLockNotice: (message) => io.stderr.write(`pisar-review judge: ${plainText(message)}\n`),
        onEvent: (e) => {
          if (e.kind === 'model-failed') io.stderr.write(`pisar-review judge: judge model "${plainText(e.model)}" stopped: ${plainText(e.message)}\n  fix: ${plainText(e.fix)}\n`);
          if (e.kind === 'wait') io.stderr.write(`pisar-review judge: the server asked to wait ${Math.round(e.delayMs / 1000)} s (${plainText(e.reason)}); waiting until ${e.until.slice(11, 19)} UTC\n`);
        },
      });
    } catch (err) {
      if (err instanceof RunError) {
        io.stderr.write(`pisar-review judge: ${err.message}. ${err.fix}\n`);
        return ExitCode.usageOrInput;
      }
      throw err;
    } finally {
      process.off('SIGINT', onSigint);
    }
  } finally {
    await dataset.close();
  }
  const price = judge.price;
  const cost = tokenCost(summary.tokens, price) ?? null;
  if (values.json) {
    const doc: JudgeDocument = { schema: 'pisar-review/judge@1', file: dataset.file, resultsFile: results.file, run: summary, cost, problems: [...results.problems] };
    writeJson(io, doc);
  } else {
    io.stdout.write(judgeText(summary, cost));
  }
  if (summary.inBatch > 0) io.stderr.write(`pisar-review judge: ${summary.inBatch} output(s) have the same judge request in a pending provider batch and were not judged (run "pisar-review batch collect"; --rerun judges them live anyway)\n`);
  for (const s of summary.skipped.slice(0, 10)) io.stderr.write(`pisar-review judge: not judged: ${plainText(s.rowId)} / ${plainText(s.model)}: ${plainText(s.reason)}\n`);
  if (summary.skippedCount > 10) io.stderr.write(`  … and ${summary.skippedCount - 10} more not judged (see --json)\n`);
  for (const f of summary.failures.slice(0, 10)) io.stderr.write(`pisar-review judge: failed: ${plainText(f.rowId)} / ${plainText(f.model)}: ${plainText(f.kind)}: ${plainText(f.message)}\n`);
  if (summary.failed > 10) io.stderr.write(`  … and ${summary.failed - 10} more failed (see --json or the results file)\n`);
  if (summary.cancelled) {
    io.stderr.write(`pisar-review judge: cancelled; run the same command again to resume (verdicts stored so far are kept, cached answers cost nothing).\n`);
    return ExitCode.someCallsFailed;
  }
  return summary.failed > 0 || summary.modelFailure ? ExitCode.someCallsFailed : ExitCode.ok;
}

/** The run as a person reads it (model names and ids are data: control characters made visible). */
function judgeText(s: JudgeSummary, cost: number | null): string {
  const lines = [
    `Judge: ${plainText(s.judge.name)} (${plainText(s.judge.model)})`,
    `${s.outputs} output(s) in scope: ${s.judged} judged now, ${s.reused} already judged with this prompt, ${s.skippedCount} not judged`,
    `Verdicts: ${s.verdicts.good} good, ${s.verdicts.bad} bad; ${s.failed} failed`,
    `Requests: ${s.called} called, ${s.cacheHits} from cache, ${s.retries} retries (${(s.durationMs / 1000).toFixed(1)} s)`,
    `Tokens: ${s.tokens.input} input, ${s.tokens.output} output${cost !== null ? `; cost ${costText(cost)}` : ''}`,
  ];
  return `${lines.join('\n')}\n`;
}
