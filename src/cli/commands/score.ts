import { existsSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ModelConfig } from '../../core/config/models';
import { parseContradictionThreshold, parseEmbeddingDtype, parseEndpointUrl, parseMultiReference, parseThreshold, type EmbeddingConfig, type ReviewSettings } from '../../core/config/settings';
import type { NliChecker, NliIdentity } from '../../core/scoring/nli';
import type { MultiReference } from '../../core/rules/multiReference';
import { Dataset } from '../../core/dataset/datasetReader';
import { pricesOf, summarize, summaryRowsOf, type DatasetSummary } from '../../core/report/summary';
import { renderHumanBandMarkdown, renderMarkdown, reportSummaryOf } from '../../core/report/render';
import { humanBandOf } from '../../core/report/rows';
import type { HumanBandView } from '../../shared/statisticsView';
import { originFindings, resultsOrigin, scoredHereOnly, withFromFile } from '../../core/report/origin';
import { terminalText, visibleControls } from '../../core/security/escape';
import { RequestCache } from '../../core/runner/requestCache';
import { resolveModelLocation, type Scorer, type ScorerIdentity } from '../../core/scoring/scorer';
import { runDataset, RunError, type RunSummary } from '../../core/runner/runner';
import { ProgressBar, progressEveryMs } from '../runProgress';
import type { SidecarProblem } from '../../core/store/sidecar';
import { ResultsStore } from '../../core/store/results';
import { AnnotationStore } from '../../core/store/annotations';
import { correctionsInForce } from '../../core/store/corrections';
import { envKeyFor, loadCliConfig, settingsOf } from '../config';
import { datasetFindings, printFindings, requireRows, type DatasetFindings } from '../datasetFindings';
import { type CliCommand, type CliIo, DATASET_FLAGS, datasetOptionsOf, ExitCode, limitHeapGrowth, fromFlag, LOCK_FLAGS, lockOptionsOf, parseCommandArgs, UsageError, writeJson } from '../args';

const usage =
  'pisar-review score <file> [--config <path>] [--models a,b] [--embedding-model <id|dir>] [--embedding-dtype fp32|q8] ' +
  '[--embedding-url <url> --embedding-remote-model <id>] [--cache-dir <dir>] [--threshold 0.7] [--multi-reference best|mean] [--contradiction] [--nli-model <id|dir>] [--contradiction-threshold 0.5] [--field ROLE=KEY]... [--max-inflated-bytes N] [--rerun] [--tag <checkpoint>] [--break-lock] [--lock-timeout <s>] [--progress-interval <s>] [--json]';

/** The `--json` document of `score`; its shape is part of the CLI's public contract. */
export interface ScoreDocument {
  schema: 'pisar-review/score@1';
  file: string;
  resultsFile: string;
  threshold: number;
  /** The scorer's key (provider, model, dtype) stored beside every score. */
  scorer: string;
  /** The embedding model that scored: id, dtype, weights (SHA-256, first 12 hex) and the word pieces it reads per text. */
  embedding: ScorerIdentity;
  run: Pick<RunSummary, 'pairs' | 'total' | 'called' | 'cacheHits' | 'precomputed' | 'reused' | 'scored' | 'succeeded' | 'failed' | 'retries' | 'cancelled' | 'durationMs'>;
  modelFailures: RunSummary['modelFailures'];
  /** Failed (row, model) pairs of this run (first 100), with their reasons. */
  failures: RunSummary['failures'];
  scoringError: string | null;
  /** With --contradiction (or contradiction.enabled): the NLI model (id, weights) and the threshold; null when the check was off. */
  contradiction: { model: NliIdentity; threshold: number } | null;
  /** Set when the contradiction check failed as a whole (scores were kept, unchecked). */
  contradictionError: string | null;
  summary: DatasetSummary;
  /** Where rows have several references or outputs are marked human: the band and each model against it (as report's statistics.humanBand). */
  humanBand?: HumanBandView;
  /** Lines of the results sidecar that were skipped or repaired. */
  problems: SidecarProblem[];
  /** Per model: rows whose result was read from the file (not scored on this machine), left out of the summary's numbers. */
  fromFile: Readonly<Record<string, number>>;
  /** Models with results in the sidecar that are neither configured nor in the dataset: ignored. */
  foreign: readonly { readonly model: string; readonly results: number }[];
  /** What was read from the dataset and every line skipped, with the fix (exit 3 when skippedLines > 0). */
  dataset: DatasetFindings;
}

const options = {
  config: { type: 'string' },
  models: { type: 'string' },
  'embedding-model': { type: 'string' },
  'embedding-dtype': { type: 'string' },
  'embedding-url': { type: 'string' },
  'embedding-remote-model': { type: 'string' },
  'cache-dir': { type: 'string' },
  threshold: { type: 'string' },
  'multi-reference': { type: 'string' },
  contradiction: { type: 'boolean' },
  'nli-model': { type: 'string' },
  'contradiction-threshold': { type: 'string' },
  ...DATASET_FLAGS,
  rerun: { type: 'boolean' },
  tag: { type: 'string' },
  ...LOCK_FLAGS,
  'progress-interval': { type: 'string' },
  json: { type: 'boolean' },
} as const;

export const scoreCommand: CliCommand = {
  name: 'score',
  usage,
  summary: 'Call the configured models where outputs are missing, score every output against its reference, store the results beside the dataset and print the table.',
  run: runScore,
};

/** The default cache for embedding models, embeddings and model answers. */
export function defaultCacheDir(env: NodeJS.ProcessEnv): string {
  if (env.PISAR_REVIEW_CACHE_DIR) return env.PISAR_REVIEW_CACHE_DIR;
  return path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'pisar-review');
}

/** Models named by --models, checked against the ones that exist. */
export function selectModels(flag: string | undefined, known: readonly string[], commandUsage: string): string[] | undefined {
  if (flag === undefined) return undefined;
  const names = flag.split(',').map((n) => n.trim()).filter(Boolean);
  if (names.length === 0) throw new UsageError('--models: name at least one model', commandUsage);
  const unknown = names.filter((n) => !known.includes(n));
  if (unknown.length > 0) {
    throw new UsageError(`--models: no model named ${unknown.map((n) => `"${n}"`).join(', ')}; known: ${known.length ? known.join(', ') : '(none: add models to --config)'}`, commandUsage);
  }
  return names;
}

interface EmbeddingChoice {
  provider: 'local' | 'remote';
  model: string;
  dtype: 'fp32' | 'q8';
  remote?: { baseUrl: string; model: string; apiKey?: string };
  /** A folder in the working directory named like the Hub id (it is not used). */
  sameNamedFolder?: string;
}

export function embeddingChoice(values: Record<string, unknown>, configured: EmbeddingConfig, env: NodeJS.ProcessEnv, cwd: string): EmbeddingChoice {
  const dtype = fromFlag('embedding-dtype', values['embedding-dtype'] as string | undefined, parseEmbeddingDtype, configured.dtype, usage);
  const remote = configured.provider === 'remote' ? configured.remote : undefined;
  const url = fromFlag('embedding-url', values['embedding-url'] as string | undefined, (text) => parseEndpointUrl(text, 'embedding-url'), remote?.baseUrl, usage);
  if (url !== undefined) {
    const model = (values['embedding-remote-model'] as string | undefined) ?? configured.remote.model;
    // A remote endpoint set in the config without its model is the scorer's to name (it names the settings and the flags).
    if (!model && values['embedding-url'] !== undefined) throw new UsageError('--embedding-url needs --embedding-remote-model <id> too', usage);
    return { provider: 'remote', model, dtype, remote: { baseUrl: url, model, apiKey: env.PISAR_EMBEDDING_API_KEY || undefined } };
  }
  const model = (values['embedding-model'] as string | undefined) ?? configured.model;
  // A folder is written as a path (./x, /x, ~/x), relative to where the user typed it; `org/name` is a Hub id.
  let where: ReturnType<typeof resolveModelLocation>;
  try {
    where = resolveModelLocation(model, cwd);
  } catch (err) {
    throw new UsageError(`--embedding-model / embedding.model: ${(err as Error).message}`, usage);
  }
  return { provider: 'local', model: where.location, dtype, ...(where.isLocalFolder ? {} : { sameNamedFolder: sameNamedFolder(model, cwd) }) };
}

/** A folder here named like the Hub id asked for: it is not used, and the user is told how to use it. */
function sameNamedFolder(model: string, cwd: string): string | undefined {
  const folder = path.resolve(cwd, model);
  return existsSync(folder) ? folder : undefined;
}

type ScoreValues = ReturnType<typeof parseCommandArgs<typeof options>>['values'];

/** What one `score` run reads and writes, from its flags and settings. */
interface ScoreRun {
  readonly values: ScoreValues;
  readonly settings: ReviewSettings;
  readonly threshold: number;
  readonly multiReference: MultiReference;
  /** The contradiction check: on (--contradiction, --nli-model or contradiction.enabled) with its model, and the threshold the table reads. */
  readonly contradiction: { readonly on: boolean; readonly model: string; readonly threshold: number };
  /** --break-lock and --lock-timeout, read before any file is opened. */
  readonly lock: ReturnType<typeof lockOptionsOf>;
  readonly embedding: EmbeddingChoice;
  readonly cacheDir: string;
  readonly datasetOptions: ReturnType<typeof datasetOptionsOf>;
  readonly dataset: Dataset;
  readonly results: ResultsStore;
  /** Configured models and the dataset's output columns. */
  readonly known: readonly string[];
  /** --models, or undefined: every model. */
  readonly modelNames: string[] | undefined;
}

async function runScore(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, options, usage);
  limitHeapGrowth();
  if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'name the dataset file' : `expected one dataset file, got ${positionals.length}`, usage);
  const run = await scoreRunOf(values, io);
  const { embedding, cacheDir, settings } = run;
  const [{ createScorer }, { ScorerError }] = await Promise.all([import('../../core/scoring/scorer'), import('../../core/scoring/embedder')]);
  let scorer: Scorer;
  try {
    scorer = createScorer({ provider: embedding.provider, model: embedding.model, dtype: embedding.dtype, remote: embedding.remote, cacheDir, maxUnknownShare: settings.embedding.maxUnknownShare });
  } catch (err) {
    if (err instanceof ScorerError) throw new UsageError(err.message, usage);
    throw err;
  }
  // A first run loads the model in the workers while the dataset opens and the run is planned, not after.
  void scorer.warmUp();
  let plan: ScoreRun;
  try {
    plan = await openScoreFiles(run, positionals[0], io);
  } catch (err) {
    await scorer.dispose().catch(() => undefined);
    throw err;
  }
  const { dataset } = plan;
  let nli: NliChecker | undefined;
  if (plan.contradiction.on) {
    const { createNliChecker } = await import('../../core/scoring/nli');
    try {
      nli = createNliChecker({ model: plan.contradiction.model, baseDir: io.cwd, cacheDir });
    } catch (err) {
      await scorer.dispose().catch(() => undefined);
      await dataset.close();
      if (err instanceof ScorerError) throw new UsageError(`--nli-model / contradiction.model: ${err.message}`, usage);
      throw err;
    }
  }
  const progress = new ProgressBar(io, 'score', pricesOf(settings.models), progressEveryMs(values['progress-interval'], usage));
  let summary: RunSummary;
  try {
    summary = await scoreDataset(plan, scorer, nli, progress, io);
  } catch (err) {
    progress.clear();
    if (err instanceof RunError) {
      io.stderr.write(`pisar-review score: ${err.message}. ${err.fix}\n`);
      return ExitCode.usageOrInput;
    }
    throw err;
  } finally {
    progress.stop();
    await scorer.dispose().catch(() => undefined);
    await nli?.dispose().catch(() => undefined);
    await dataset.close();
  }
  return printScore(plan, scorer, nli, summary, io);
}

/** What the flags and settings ask for, checked before any file is opened (a bad flag is a usage error). */
type ScoreRunSettings = Omit<ScoreRun, 'dataset' | 'results' | 'known' | 'modelNames'>;

/** Reads the flags and settings. */
async function scoreRunOf(values: ScoreValues, io: CliIo): Promise<ScoreRunSettings> {
  const settings = settingsOf(values.config ? await loadCliConfig(path.resolve(io.cwd, values.config), (line) => io.stderr.write(`${line}\n`)) : undefined);
  const threshold = fromFlag('threshold', values.threshold, parseThreshold, settings.threshold, usage);
  const multiReference = fromFlag('multi-reference', values['multi-reference'] as string | undefined, (text) => parseMultiReference(text, 'multi-reference'), settings.multiReference, usage);
  const contradiction = {
    // --nli-model names the model of the check and turns it on; --contradiction turns it on with the configured model.
    on: values.contradiction === true || values['nli-model'] !== undefined || settings.contradiction.enabled,
    model: (values['nli-model'] as string | undefined) ?? settings.contradiction.model,
    threshold: fromFlag('contradiction-threshold', values['contradiction-threshold'] as string | undefined, (text) => parseContradictionThreshold(text, 'contradiction-threshold'), settings.contradiction.threshold, usage),
  };
  const datasetOptions = datasetOptionsOf(values, settings, usage);
  const embedding = embeddingChoice(values, settings.embedding, io.env, io.cwd);
  // Checked before any file is opened: a bad flag is a usage error.
  const lock = lockOptionsOf(values, usage);
  progressEveryMs(values['progress-interval'], usage);
  if (embedding.sameNamedFolder) {
    io.stderr.write(`pisar-review score: embedding model ${terminalText(embedding.model)} is the Hub model of that id, not the folder ${terminalText(embedding.sameNamedFolder)}; to use the folder, write --embedding-model ./${terminalText(embedding.model)}.\n`);
  }
  const cacheDir = values['cache-dir'] ? path.resolve(io.cwd, values['cache-dir']) : defaultCacheDir(io.env);
  if (values.tag !== undefined && !values.tag.trim()) throw new UsageError('--tag: give the run a name, e.g. --tag ckpt-1200', usage);
  return { values, settings, threshold, multiReference, contradiction, lock, embedding, cacheDir, datasetOptions };
}

/** Opens the dataset and its results; says what it skipped on stderr. */
async function openScoreFiles(run: ScoreRunSettings, file: string, io: CliIo): Promise<ScoreRun> {
  const { values, settings, datasetOptions } = run;
  const dataset = await Dataset.open(path.resolve(io.cwd, file), datasetOptions);
  try {
    printFindings(io, 'score', dataset);
    requireRows(dataset);
    const known = [...new Set([...settings.models.map((m) => m.name), ...dataset.modelNames])];
    const modelNames = selectModels(values.models, known, usage);
    // The run's results are counted afterwards, never shown: held without their texts (the file has them).
    const results = await ResultsStore.open(dataset.file, { texts: false });
    for (const p of results.problems) io.stderr.write(`${p.file}:${p.line}: ${p.reason}. ${p.fix}\n`);
    return { ...run, dataset, results, known, modelNames };
  } catch (err) {
    await dataset.close();
    throw err;
  }
}

/** The run: the core runner over the dataset, Ctrl-C handled; its events go to `progress`, which only reports them. */
async function scoreDataset(plan: ScoreRun, scorer: Scorer, nli: NliChecker | undefined, progress: ProgressBar, io: CliIo): Promise<RunSummary> {
  const { values, settings, dataset, results, cacheDir } = plan;
  // Reviewers' corrected references are scored against (no model call for rows already answered).
  const annotations = await AnnotationStore.forDataset(dataset.file, { repair: false });
  const corrections = correctionsInForce(annotations.corrections(), dataset);
  const tag = values.tag?.trim();
  const toldKeys = new Set<string>();
  const requestCache = await RequestCache.open(path.join(cacheDir, 'requests'));
  const controller = new AbortController();
  const stop = new AbortController();
  // First Ctrl-C: start no new call, let the calls in flight (already paid) finish and be written. Second: quit now.
  const onSigint = () => {
    if (stop.signal.aborted) {
      io.stderr.write('\npisar-review score: quitting now; answers still in flight are lost (the request cache keeps those that arrived).\n');
      controller.abort();
      process.exit(130);
    }
    io.stderr.write('\npisar-review score: stopping: no new calls; the calls in flight finish and are written (Ctrl-C again to quit now).\n');
    stop.abort();
  };
  process.on('SIGINT', onSigint);
  try {
    return await runDataset({
      dataset, models: settings.models, results, scorer, ...(nli ? { nli } : {}), modelNames: plan.modelNames, rerun: values.rerun ?? false,
      signal: controller.signal, stopSignal: stop.signal, corrections, ...(tag ? { tag } : {}),
      unsavedDir: path.join(cacheDir, 'unsaved'),
      apiKeyFor: async (m: ModelConfig) => envKeyFor(m, io, 'score', toldKeys),
      requestCache, reasoningMarkers: settings.reasoningMarkers, multiReference: plan.multiReference,
      onLockWait: (message) => progress.message([message]),
      onLockNotice: (message) => progress.message([message]),
      ...plan.lock,
      onEvent: (e) => progress.report(e),
    });
  } finally {
    process.off('SIGINT', onSigint);
  }
}

/** The table (or the --json document), the run's counts and failures; returns the exit code. */
async function printScore(plan: ScoreRun, scorer: Scorer, nli: NliChecker | undefined, summary: RunSummary, io: CliIo): Promise<number> {
  const { values, settings, dataset, results, known, modelNames, threshold, multiReference, embedding } = plan;
  // As report counts: results scored here; those read from the file and foreign models are counted apart, with the fix.
  const origin = resultsOrigin(dataset.rowIds(), results, [...new Set([...known, ...results.models()])], new Set([...settings.models.map((m) => m.name), ...dataset.modelNames]));
  const foreign = new Set(origin.foreign.map((f) => f.model));
  const shownModels = [...new Set([...(modelNames ?? known), ...(modelNames ? [] : results.models())])].filter((m) => modelNames || !foreign.has(m));
  const table = withFromFile(summarize(summaryRowsOf(dataset), scoredHereOnly(results), threshold, { models: shownModels, baselines: settings.baselineModels, prices: pricesOf(settings.models), contradictionThreshold: plan.contradiction.threshold }), origin);
  // The human band reads the outputs' texts (ROUGE-L): from the file, only when there is one to show.
  const humanBand = await humanBandOf(dataset, scoredHereOnly(results), shownModels, { threshold, humanModels: settings.humanModels, multiReference },
    async () => scoredHereOnly(await ResultsStore.open(dataset.file, { repair: false })));
  if (values.json) {
    const doc: ScoreDocument = {
      schema: 'pisar-review/score@1',
      file: dataset.file,
      resultsFile: results.file,
      threshold,
      scorer: scorer.cacheKey,
      embedding: scorer.identity(),
      run: {
        pairs: summary.pairs, total: summary.total, called: summary.called, cacheHits: summary.cacheHits, precomputed: summary.precomputed,
        reused: summary.reused, scored: summary.scored, succeeded: summary.succeeded, failed: summary.failed, retries: summary.retries,
        cancelled: summary.cancelled, durationMs: summary.durationMs,
      },
      modelFailures: summary.modelFailures,
      failures: summary.failures,
      scoringError: summary.scoringError ?? null,
      contradiction: nli ? { model: nli.identity(), threshold: plan.contradiction.threshold } : null,
      contradictionError: summary.contradictionError ?? null,
      summary: table,
      ...(humanBand ? { humanBand } : {}),
      problems: [...results.problems],
      fromFile: origin.fromFile,
      foreign: origin.foreign,
      dataset: datasetFindings(dataset),
    };
    writeJson(io, doc);
  } else {
    io.stdout.write(renderMarkdown({ summary: reportSummaryOf(table, { embedding: origin.embedding }), models: shownModels }));
    const band = renderHumanBandMarkdown(humanBand);
    if (band) io.stdout.write(`\n${band}`);
    io.stderr.write(`${runLine(summary)}\n`);
  }
  for (const line of [...originFindings(results.file, origin), ...failureLines(summary)]) io.stderr.write(`${line}\n`);
  if (summary.inBatch > 0) io.stderr.write(`pisar-review score: ${summary.inBatch} row × model pair(s) are in a pending provider batch and were not called (that would pay twice); "pisar-review batch collect" stores their answers (--rerun calls them anyway).\n`);
  if (summary.scoringError) {
    const check = embedding.provider === 'remote' ? 'Check --embedding-url and --embedding-remote-model (the endpoint and the model it serves)' : 'Check --embedding-model / --cache-dir';
    io.stderr.write(`pisar-review score: scoring failed (${summary.scoringError}); outputs were stored unscored and will be scored on the next run. ${check}.\n`);
    return ExitCode.usageOrInput;
  }
  if (summary.contradictionError) {
    io.stderr.write(`pisar-review score: the contradiction check failed (${summary.contradictionError}); scores were stored unchecked and will be checked on the next run with --contradiction. Check --nli-model / contradiction.model and --cache-dir.\n`);
    return ExitCode.usageOrInput;
  }
  if (summary.cancelled) {
    io.stderr.write(`pisar-review score: cancelled with ${summary.total - summary.done} pair(s) not done; run the same command again to resume.\n`);
    return ExitCode.someCallsFailed;
  }
  if (summary.failed > 0) return ExitCode.someCallsFailed;
  const skipped = dataset.nonBlankLineCount - dataset.rowCount;
  if (skipped > 0) {
    io.stderr.write(`pisar-review score: ${skipped} line(s) of the dataset were skipped (see above); the table covers the ${dataset.rowCount} row(s) read (exit code 3: lines skipped).\n`);
    return ExitCode.rowsSkipped;
  }
  return ExitCode.ok;
}

function runLine(s: RunSummary): string {
  const parts = [`${s.called} called`, `${s.cacheHits} from cache`, `${s.precomputed} precomputed`, `${s.reused} already stored`, `${s.scored} scored`, `${s.failed} failed`];
  if (s.retries > 0) parts.push(`${s.retries} retries`);
  return `pisar-review score: ${parts.join(', ')} (${(s.durationMs / 1000).toFixed(1)} s)`;
}

/** Which calls failed, by model and reason, so exit code 1 always says why. */
function failureLines(s: RunSummary): string[] {
  const lines: string[] = [];
  for (const m of s.models) {
    if (m.failed === 0) continue;
    const kinds = Object.entries(m.failedByKind).map(([kind, n]) => `${n} ${kind}`).join(', ');
    lines.push(`pisar-review score: model "${visibleControls(m.model)}": ${m.failed} failed (${kinds})`);
  }
  for (const f of s.failures.slice(0, 10)) lines.push(`  ${visibleControls(f.rowId)} / ${visibleControls(f.model)}: ${visibleControls(f.message)}`);
  if (s.failed > 10) lines.push(`  … and ${s.failed - 10} more (see --json or the results file)`);
  return lines;
}
