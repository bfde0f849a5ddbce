// pisar-review batch submit|status|collect|export|import <file>: generation through batch engines
// (OpenAI's Batch API and the providers that speak it, Anthropic's Message Batches, vLLM run-batch
// files). Batch ids live in <dataset>.pisar-batches.jsonl, so any later `collect` resumes.
import * as path from 'node:path';
import type { ModelConfig } from '../../core/config/models';
import { Dataset } from '../../core/dataset/datasetReader';
import { BatchLedger, type EngineName } from '../../core/store/batchLedger';
import { cancelBatches, collectBatches, exportBatches, importBatchOutput, readBatchStates, submitBatches, type CollectReport, type JudgeBatchPlan } from '../../core/batch/batchRun';
import { BatchApiError, engineFor } from '../../core/batch/engines';
import { visibleControls } from '../../core/security/escape';
import { runDataset } from '../../core/runner/runner';
import { ResultsStore } from '../../core/store/results';
import { AnnotationStore } from '../../core/store/annotations';
import { correctionsInForce } from '../../core/store/corrections';
import { envKeyFor, KeyOriginError, loadCliConfig, settingsOf } from '../config';
import { printFindings, requireRows } from '../datasetFindings';
import { type CliCommand, type CliIo, DATASET_FLAGS, datasetOptionsOf, ExitCode, parseCommandArgs, UsageError, writeJson } from '../args';
import { defaultCacheDir, embeddingChoice, selectModels } from './score';
import { judgeModelOf, judgeTemplateOf } from './judge';

const usage =
  'pisar-review batch submit|status|collect|cancel|export|import <file> [--config <path>] [--engine openai|anthropic] [--models a,b] [--wait] [--poll-seconds 30] ' +
  '[--judge [--judge-model <name>] [--prompt-file <path>]] (submit, export) ' +
  '[--out <dir>] (export) [--output <vllm-output.jsonl>] (import) [--embedding-model <id|dir>] [--embedding-url <url> --embedding-remote-model <id>] [--cache-dir <dir>] [--json]';

const options = {
  config: { type: 'string' },
  engine: { type: 'string' },
  models: { type: 'string' },
  judge: { type: 'boolean' },
  'judge-model': { type: 'string' },
  'prompt-file': { type: 'string' },
  wait: { type: 'boolean' },
  'poll-seconds': { type: 'string' },
  out: { type: 'string' },
  output: { type: 'string' },
  'embedding-model': { type: 'string' },
  'embedding-dtype': { type: 'string' },
  'embedding-url': { type: 'string' },
  'embedding-remote-model': { type: 'string' },
  'cache-dir': { type: 'string' },
  ...DATASET_FLAGS,
  json: { type: 'boolean' },
} as const;

/** Exit code of `status` and `collect` while a batch is still running (nothing failed; run `collect` later). */
export const BATCH_PENDING_EXIT = 4;

export const batchCommand: CliCommand = {
  name: 'batch',
  usage,
  summary: 'Generate (or judge, --judge) through batch engines: submit the missing rows as OpenAI or Anthropic batches, see their status, collect and score their answers (store the verdicts), cancel them (finished lines kept); export/import vLLM run-batch files.',
  run: runBatch,
};

async function runBatch(argv: readonly string[], io: CliIo): Promise<number> {
  const [action, ...rest] = argv;
  if (!['submit', 'status', 'collect', 'cancel', 'export', 'import'].includes(action ?? '')) throw new UsageError(`name the action: submit, status, collect, cancel, export or import (got ${JSON.stringify(action ?? '')})`, usage);
  const { values, positionals } = parseCommandArgs(rest, options, usage);
  if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'name the dataset file' : `expected one dataset file, got ${positionals.length}`, usage);
  const engine = (values.engine ?? 'openai') as EngineName;
  if (engine !== 'openai' && engine !== 'anthropic') throw new UsageError(`--engine must be openai or anthropic (got "${values.engine}")`, usage);
  const settings = settingsOf(values.config ? await loadCliConfig(path.resolve(io.cwd, values.config), (line) => io.stderr.write(`${line}\n`)) : undefined);
  // The config's batch.pollSeconds unless the flag says otherwise (0 is allowed here: a script's tight loop).
  const pollSeconds = values['poll-seconds'] === undefined ? settings.batch.pollSeconds : Number(values['poll-seconds']);
  if (!Number.isFinite(pollSeconds) || pollSeconds < 0) throw new UsageError(`--poll-seconds must be a number of seconds (got "${values['poll-seconds']}")`, usage);
  if (!values.judge && (values['judge-model'] !== undefined || values['prompt-file'] !== undefined)) throw new UsageError('--judge-model and --prompt-file go with --judge (batch submit --judge, batch export --judge)', usage);
  if (values.judge && action !== 'submit' && action !== 'export') throw new UsageError(`--judge goes with submit or export; "${action}" reads every pending batch, judge batches included`, usage);
  // The judge and its prompt are checked before the dataset is read (as `judge` does).
  const judgeModel = values.judge ? judgeModelOf(values['judge-model'] ?? settings.judge.model, settings.models, usage) : undefined;
  const judgeTemplate = values.judge ? await judgeTemplateOf(values['prompt-file'], settings.judge.prompt, io, usage) : undefined;
  const dataset = await Dataset.open(path.resolve(io.cwd, positionals[0]), datasetOptionsOf(values, settings, usage));
  try {
    printFindings(io, `batch ${action}`, dataset);
    requireRows(dataset);
    const results = await ResultsStore.open(dataset.file);
    // With --judge, --models names the models whose outputs are judged (any with results, as `judge`).
    const modelNames = selectModels(values.models, judgeModel ? [...new Set([...settings.models.map((m) => m.name), ...dataset.modelNames, ...results.models()])] : settings.models.map((m) => m.name), usage);
    const models = judgeModel ? [judgeModel] : settings.models.filter((m) => !modelNames || modelNames.includes(m.name));
    const ledger = await BatchLedger.open(dataset.file);
    const say = (line: string) => io.stderr.write(`pisar-review batch ${action}: ${visibleControls(line)}\n`);
    // A judge answer is stored only for the references it was asked about: a reviewer's correction in force counts.
    const corrections = async () => correctionsInForce((await AnnotationStore.forDataset(dataset.file, { repair: false })).corrections(), dataset);
    let notJudged = 0;
    const judgePlan: JudgeBatchPlan | undefined = judgeModel && judgeTemplate !== undefined ? {
      model: judgeModel, template: judgeTemplate, corrections: await corrections(),
      onSkip: (rowId, model, reason) => {
        if (++notJudged <= 10) say(`not judged: ${rowId} / ${model}: ${reason}`);
      },
    } : undefined;
    const purpose = judgePlan ? 'judge' : 'generate';
    const toldKeys = new Set<string>();
    // As for score: a key goes only to its origins (this machine, its provider, apiKeyOrigins), and stderr says where.
    // A batch read back from the ledger at an endpoint no longer configured names no variable, so it gets no key.
    const keyOf = (m: Pick<ModelConfig, 'name' | 'baseUrl'> & Partial<ModelConfig>) => (m.apiKeyEnv && m.model !== undefined ? envKeyFor(m as ModelConfig, io, `batch ${action}`, toldKeys) : undefined);
    const engineOf = async (m: Pick<ModelConfig, 'name' | 'baseUrl'> & Partial<ModelConfig>, name: EngineName = engine) =>
      engineFor(name, { baseUrl: m.baseUrl, apiKey: keyOf(m), headers: m.headers });
    const reasoning = (name: string) => ({ keepThinking: settings.models.find((m) => m.name === name)?.keepThinking, markers: settings.reasoningMarkers });
    try {
      switch (action) {
        case 'submit': {
          if (models.length === 0) throw new UsageError('no models are configured: name them in --config ("models")', usage);
          const report = await submitBatches({ dataset, results, ledger, models, modelNames: judgePlan ? modelNames : undefined, judge: judgePlan, engineFor: (m) => engineOf(m), onSubmitted: (e) => say(`${judgePlan ? 'judge ' : ''}model "${e.model}": batch ${e.batchId} (${e.requests} requests) submitted; its id is in ${ledger.file}`) });
          if (notJudged > 10) say(`… and ${notJudged - 10} more outputs not judged`);
          if (report.submitted.length === 0) say(report.alreadyPending > 0 ? `nothing new to submit; ${report.alreadyPending} batch(es) still pending (run "pisar-review batch collect")` : judgePlan ? 'nothing to submit: every output has a current verdict of this judge and prompt' : 'nothing to submit: every row has an output');
          if (!values.wait) {
            if (values.json) writeJson(io, { schema: 'pisar-review/batch-submit@1', file: dataset.file, batchesFile: ledger.file, purpose, submitted: report.submitted, alreadyPending: report.alreadyPending, failed: report.failed, ...(judgePlan ? { notJudged } : {}) });
            return report.failed > 0 ? ExitCode.someCallsFailed : ExitCode.ok;
          }
          return await collect(true);
        }
        case 'status':
        case 'collect':
          return await collect(action === 'collect');
        case 'cancel': {
          // Finished lines are kept: collect stores them and leaves the rest for the next submit.
          const cancelled = await cancelBatches(ledger, settings.models, (m, name) => engineOf(m, name));
          if (cancelled.length === 0) say('no batch is pending: nothing to cancel');
          for (const c of cancelled) say(`model "${c.model}": batch ${c.batchId} cancelled on the provider; its finished lines are kept`);
          return await collect(true);
        }
        case 'export': {
          if (!values.out) throw new UsageError('batch export needs --out <dir> for the batch files', usage);
          const report = await exportBatches({ dataset, results, ledger, models, modelNames: judgePlan ? modelNames : undefined, judge: judgePlan, outDir: path.resolve(io.cwd, values.out) });
          if (notJudged > 10) say(`… and ${notJudged - 10} more outputs not judged`);
          for (const f of report.files) say(`${judgePlan ? 'judge ' : ''}model "${f.model}": ${f.requests} requests in ${f.file} (run: vllm run-batch -i ${f.file} -o <output> --model ${f.model})`);
          if (values.json) writeJson(io, { schema: 'pisar-review/batch-export@1', file: dataset.file, purpose, files: report.files, failed: report.failed, ...(judgePlan ? { notJudged } : {}) });
          return report.failed > 0 ? ExitCode.someCallsFailed : ExitCode.ok;
        }
        case 'import': {
          if (!values.output) throw new UsageError('batch import needs --output <file>: the output file of vllm run-batch', usage);
          const report = await importBatchOutput({ dataset, results, ledger, file: path.resolve(io.cwd, values.output), models: settings.models, reasoning, corrections: await corrections() });
          say(`${report.answered} answers and ${report.failed} failed lines stored${report.unknown > 0 ? `; ${report.unknown} line(s) matched no exported request and were skipped` : ''}`);
          if (report.judged > 0 || report.stale > 0) say(verdictsText(report));
          const scored = await score(report.answeredRows);
          if (values.json) writeJson(io, { schema: 'pisar-review/batch-import@1', file: dataset.file, answered: report.answered, failed: report.failed, unknown: report.unknown, scored, ...(report.judged || report.stale ? { judged: report.judged, verdicts: report.verdicts, judgeFailed: report.judgeFailed, stale: report.stale } : {}) });
          return report.failed > 0 || report.judgeFailed > 0 || report.unknown > 0 ? ExitCode.someCallsFailed : ExitCode.ok;
        }
      }
      return ExitCode.usageOrInput;
    } catch (err) {
      if (err instanceof KeyOriginError) {
        say(`${err.message}. ${err.fix}`);
        return ExitCode.someCallsFailed;
      }
      if (!(err instanceof BatchApiError)) throw err;
      say(err.message);
      return ExitCode.someCallsFailed;
    }

    /** status (read only) or collect (store and score every ended batch); with --wait, until none is running. */
    async function collect(store: boolean): Promise<number> {
      let report: CollectReport;
      let answered = 0;
      let failed = 0;
      let requeued = 0;
      let scored = 0;
      const judged = { judged: 0, verdicts: { good: 0, bad: 0 }, judgeFailed: 0, stale: 0 };
      const judgeBatches = ledger.pending.some((b) => b.judge);
      const judgeCorrections = store && judgeBatches ? await corrections() : undefined;
      for (;;) {
        if (store) {
          report = await collectBatches({ dataset, results, ledger, models: settings.models, engineFor: (m, name) => engineOf(m, name), reasoning, corrections: judgeCorrections });
          answered += report.answered;
          failed += report.failed;
          requeued += report.requeued;
          judged.judged += report.judged;
          judged.verdicts.good += report.verdicts.good;
          judged.verdicts.bad += report.verdicts.bad;
          judged.judgeFailed += report.judgeFailed;
          judged.stale += report.stale;
          scored += await score(report.answeredRows);
        } else {
          const states = await readBatchStates(ledger, settings.models, (m, name) => engineOf(m, name));
          report = { batches: states.map((b) => ({ ...b.state!, model: b.model, engine: b.engine, ...(b.judge ? { judge: true } : {}) })), answered: 0, failed: 0, judged: 0, verdicts: { good: 0, bad: 0 }, judgeFailed: 0, stale: 0, requeued: 0, running: states.filter((b) => b.state!.phase !== 'ended').length, answeredRows: new Map() };
        }
        for (const b of report.batches) say(`${b.judge ? 'judge ' : ''}model "${b.model}" (${b.engine}): batch ${b.id} ${b.status}, ${b.done}/${b.total} done${b.failed ? `, ${b.failed} failed` : ''}${b.errors ? ` (${b.errors})` : ''}`);
        if (!values.wait || report.running === 0) break;
        await new Promise((resolve) => setTimeout(resolve, pollSeconds * 1000));
      }
      if (store && (answered || failed || requeued)) say(`${answered} answers stored and ${scored} scored; ${failed} failed${requeued ? `; ${requeued} not run (expired or cancelled): run "pisar-review batch submit${ledger.submitted.some((b) => b.judge) ? ' (--judge for the judge\'s)' : ''}" to send them again` : ''}`);
      if (store && (judged.judged || judged.stale)) say(verdictsText(judged));
      if (values.json) {
        writeJson(io, {
          schema: `pisar-review/batch-${store ? 'collect' : 'status'}@1`, file: dataset.file, batchesFile: ledger.file,
          batches: report.batches.map((b) => ({ model: b.model, engine: b.engine, purpose: b.judge ? 'judge' : 'generate', id: b.id, status: b.status, total: b.total, done: b.done, failed: b.failed })),
          running: report.running, ...(store ? { answered, scored, failed, requeued, ...(judgeBatches ? judged : {}) } : {}),
        });
      }
      if (failed > 0 || judged.judgeFailed > 0) return ExitCode.someCallsFailed;
      return report.running > 0 ? BATCH_PENDING_EXIT : ExitCode.ok;
    }

    /** Scores the stored answers the way `score` does (same scorer, same results sidecar); no model is called. */
    async function score(answeredRows: Map<string, number[]>): Promise<number> {
      if (answeredRows.size === 0) return 0;
      const embedding = embeddingChoice(values, settings.embedding, io.env, io.cwd);
      const cacheDir = values['cache-dir'] ? path.resolve(io.cwd, values['cache-dir']) : defaultCacheDir(io.env);
      const { createScorer } = await import('../../core/scoring/scorer');
      const scorer = createScorer({ provider: embedding.provider, model: embedding.model, dtype: embedding.dtype, remote: embedding.remote, cacheDir });
      let scored = 0;
      try {
        for (const [model, rows] of answeredRows) {
          // Only rows whose answer is stored: runDataset finds the output and scores it, calling nothing.
          const summary = await runDataset({ dataset, results, scorer, models: settings.models, modelNames: [model], rowIndexes: [...new Set(rows)].sort((a, b) => a - b), apiKeyFor: async () => undefined, reasoningMarkers: settings.reasoningMarkers, multiReference: settings.multiReference });
          scored += summary.scored;
          if (summary.scoringError) say(`scoring failed (${summary.scoringError}); the answers are stored unscored and "pisar-review score" scores them without a call`);
        }
      } finally {
        await scorer.dispose();
      }
      return scored;
    }
  } finally {
    await dataset.close();
  }
}

/** What a collect or import stored of judge batches: verdicts, failures, and answers no longer for the output stored. */
function verdictsText(r: { judged: number; verdicts: { good: number; bad: number }; judgeFailed: number; stale: number }): string {
  const stale = r.stale ? `; ${r.stale} answer(s) not stored: the output, its row or its reference changed since submit (run "pisar-review batch submit --judge" or "pisar-review judge" to judge them again)` : '';
  return `${r.judged} verdict(s) stored (${r.verdicts.good} good, ${r.verdicts.bad} bad); ${r.judgeFailed} judgement(s) failed${stale}`;
}
