import { promises as fsp } from 'node:fs';
import { DEFAULT_MAX_INFLATED_BYTES } from '../dataset/decoding';
import { FIELD_ROLES } from '../dataset/fields';
import type { FieldMapping, FieldRole, OpenDatasetOptions } from '../dataset/types';
import { DEFAULT_LABEL_MAPPING, type LabelMapping } from '../report/calibration';
import { DEFAULT_THRESHOLD } from '../rules/rules';
import { DEFAULT_CONTRADICTION_THRESHOLD } from '../rules/contradiction';
import { regularFileStat, UnsafeFileError } from '../store/safeFile';
import { parseReasoningMarkers, type ReasoningMarker } from '../rules/reasoning';
import { ConfigError, httpUrlProblem, parseModelList, type ModelConfig } from './models';
import { nearestName } from './nearest';
import { SETTINGS_SECTION, SettingKeys } from './settingKeys';
import { MULTI_REFERENCE_MODES, type MultiReference } from '../rules/multiReference';
import { DEFAULT_JUDGE_PROMPT, judgePromptProblem } from '../rules/judgePrompt';

/**
 * The one parser of PiSAR Review's settings: the `pisarReview.*` settings in VS Code, the CLI's
 * `--config` file (the same keys) and the CLI flags that override them. Each parse function returns
 * the value, or the default together with a problem that says what is wrong and the fix: the CLI
 * turns a problem into exit 2, the extension warns once and goes on with the default.
 */

export { SETTINGS_SECTION, SettingKeys } from './settingKeys';

export const DEFAULT_EMBEDDING_MODEL = 'Xenova/all-MiniLM-L6-v2';
/** The contradiction check's natural-language-inference cross-encoder (downloaded on first use, like the embedding model). */
export const DEFAULT_NLI_MODEL = 'Xenova/nli-deberta-v3-xsmall';

export const DEFAULT_ANNOTATION_LABELS: readonly string[] = ['wrong', 'incomplete', 'hallucinated', 'off-topic', 'fine'];

/** A setting that could not be used: where, what is wrong, the fix, and what is used instead. */
export interface SettingProblem {
  /** The setting as the config file names it: "threshold", "embedding.dtype", "fieldMapping.gold", "models[0].baseUrl". */
  readonly key: string;
  /** What is wrong, with the value found. */
  readonly problem: string;
  /** What to do, as a sentence. */
  readonly fix: string;
  /** What the extension uses until it is fixed. */
  readonly instead: string;
}

/** A parsed setting: its value (the default where there is a problem) and the problem, if any. */
export interface Parsed<T> {
  readonly value: T;
  readonly problem?: SettingProblem;
}

/** "must be …; got …. Fix." — the same words wherever the value came from. */
export function problemText(p: SettingProblem): string {
  return `${p.problem}. ${p.fix}`;
}

/** A problem in a config file: `config.json: threshold: must be … Fix.` */
export function fileProblemMessage(file: string, p: SettingProblem): string {
  return `${file}: ${p.key}: ${problemText(p)}`;
}

/** A problem in VS Code's settings: `pisarReview.threshold: must be … Fix.` */
export function settingProblemMessage(p: SettingProblem): string {
  return `${SETTINGS_SECTION}.${p.key}: ${problemText(p)}`;
}

function problem<T>(value: T, key: string, what: string, fix: string, instead: string): Parsed<T> {
  return { value, problem: { key, problem: what, fix, instead } };
}

/** A value as it was written, short enough for one line. */
function shown(value: unknown): string {
  const text = typeof value === 'number' ? String(value) : JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

const unset = (value: unknown): value is undefined | null => value === undefined || value === null;

/** The pass line: a number from -1 to 1 (a flag's text is read as a number). */
/** Above this share of [UNK] word pieces in a text, its pair is not measurable by the embedding model. */
export const DEFAULT_MAX_UNKNOWN_SHARE = 0.5;

export function parseMaxUnknownShare(value: unknown, key: string = SettingKeys.embeddingMaxUnknownShare): Parsed<number> {
  if (unset(value)) return { value: DEFAULT_MAX_UNKNOWN_SHARE };
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n === 'number' && Number.isFinite(n) && n >= 0 && n <= 1) return { value: n };
  return problem(DEFAULT_MAX_UNKNOWN_SHARE, key, `must be a number from 0 to 1 (a share of word pieces); got ${shown(value)}`,
    `Set it to the share of unknown word pieces above which a pair is not measured, e.g. ${DEFAULT_MAX_UNKNOWN_SHARE}.`, `the default ${DEFAULT_MAX_UNKNOWN_SHARE}`);
}

/** The contradiction threshold: a probability from 0 to 1 (a flag's text is read as a number). */
export function parseContradictionThreshold(value: unknown, key: string = SettingKeys.contradictionThreshold): Parsed<number> {
  if (unset(value)) return { value: DEFAULT_CONTRADICTION_THRESHOLD };
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n === 'number' && Number.isFinite(n) && n >= 0 && n <= 1) return { value: n };
  return problem(DEFAULT_CONTRADICTION_THRESHOLD, key, `must be a probability from 0 to 1; got ${shown(value)}`,
    `Set it to the P(contradiction) at which an output is flagged as contradicting its reference, e.g. ${DEFAULT_CONTRADICTION_THRESHOLD}.`, `the default ${DEFAULT_CONTRADICTION_THRESHOLD}`);
}

export function parseThreshold(value: unknown, key: string = SettingKeys.threshold): Parsed<number> {
  if (unset(value)) return { value: DEFAULT_THRESHOLD };
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n === 'number' && Number.isFinite(n) && n >= -1 && n <= 1) return { value: n };
  const got = typeof n === 'number' && !Number.isNaN(n) ? n : value; // a flag's "2" reads as 2
  return problem(DEFAULT_THRESHOLD, key, `must be a number from -1 to 1 (a cosine similarity); got ${shown(got)}`,
    `Set it to the score an output must reach to pass, e.g. ${DEFAULT_THRESHOLD}.`, `the default ${DEFAULT_THRESHOLD}`);
}

/** One role -> JSON key pair of a field mapping. */
function parseFieldEntry(role: string, field: unknown, key: string): Parsed<FieldMapping> {
  if (!(FIELD_ROLES as readonly string[]).includes(role)) {
    return problem({}, key, `${shown(role)} is not a role`, `Roles are ${FIELD_ROLES.join(', ')}.`, 'the rest of the mapping');
  }
  // The reference may name several fields (e-SNLI's explanation_1..3): each is a reference.
  if (role === 'reference' && Array.isArray(field)) {
    if (field.length > 0 && field.every((f) => typeof f === 'string' && f.trim() !== '')) {
      const keys = [...new Set((field as string[]).map((f) => f.trim()))];
      return { value: { reference: keys.length === 1 ? keys[0] : keys } };
    }
    return problem({}, key, `must be a JSON key, or a list of JSON keys (non-empty strings); got ${shown(field)}`,
      'Write e.g. ["explanation_1", "explanation_2"], or remove it to detect the field.', 'field detection for "reference"');
  }
  if (typeof field !== 'string' || field.trim() === '') {
    return problem({}, key, `must be the JSON key of that field in the rows (a non-empty string${role === 'reference' ? ', or a list of them' : ''}); got ${shown(field)}`,
      'Write e.g. "gold_rationale", or remove it to detect the field.', `field detection for "${role}"`);
  }
  return { value: { [role as FieldRole]: field.trim() } };
}

/** Role -> JSON key, overriding field detection; a bad entry is left out (that role is detected). */
export function parseFieldMapping(value: unknown, key: string = SettingKeys.fieldMapping): Parsed<FieldMapping> {
  if (unset(value)) return { value: {} };
  if (typeof value !== 'object' || Array.isArray(value)) {
    return problem({}, key, `must be an object of role -> JSON key; got ${shown(value)}`, 'Write e.g. {"reference": "gold_rationale"}.', 'field detection for every role');
  }
  const mapping: FieldMapping = {};
  let first: SettingProblem | undefined;
  for (const [role, field] of Object.entries(value as Record<string, unknown>)) {
    const entry = parseFieldEntry(role, field, `${key}.${role}`);
    first ??= entry.problem;
    Object.assign(mapping, entry.value);
  }
  return { value: mapping, problem: first };
}

/** A `ROLE=KEY` pair (the CLI's --field). */
export function parseFieldAssignment(text: string): Parsed<FieldMapping> {
  const at = text.indexOf('=');
  if (at < 0) {
    return problem({}, 'field', `must be ROLE=KEY; got ${shown(text)}`,
      `Write a role (${FIELD_ROLES.join(', ')}), "=" and the JSON key, e.g. reference=gold_rationale.`, 'field detection');
  }
  const role = text.slice(0, at).trim();
  return parseFieldEntry(role, text.slice(at + 1), `field.${role}`);
}

function parseChoice<T extends string>(value: unknown, key: string, choices: readonly [T, ...T[]], fix: string): Parsed<T> {
  if (unset(value)) return { value: choices[0] };
  if ((choices as readonly unknown[]).includes(value)) return { value: value as T };
  return problem(choices[0], key, `must be ${choices.map((c) => `"${c}"`).join(' or ')}; got ${shown(value)}`, fix, `"${choices[0]}"`);
}

export function parseEmbeddingProvider(value: unknown, key: string = SettingKeys.embeddingProvider): Parsed<'local' | 'remote'> {
  return parseChoice(value, key, ['local', 'remote'], '"local" computes embeddings on this machine; "remote" calls the endpoint of embedding.remote.baseUrl.');
}

export function parseEmbeddingDtype(value: unknown, key: string = SettingKeys.embeddingDtype): Parsed<'fp32' | 'q8'> {
  return parseChoice(value, key, ['fp32', 'q8'], '"fp32" is full precision; "q8" 8-bit weights (faster, scores differ by about 0.01).');
}

/** A text setting, trimmed; empty means the default. */
export function parseText(value: unknown, key: string, fallback: string, example: string): Parsed<string> {
  if (unset(value)) return { value: fallback };
  if (typeof value !== 'string') return problem(fallback, key, `must be a string; got ${shown(value)}`, `Write e.g. ${example}.`, fallback ? `"${fallback}"` : 'nothing');
  return { value: value.trim() || fallback };
}

/** An endpoint URL setting (the remote embeddings URL, CLI --embedding-url): http(s), checked when read, not at call time. */
export function parseEndpointUrl(value: unknown, key: string): Parsed<string> {
  const text = parseText(value, key, '', '"http://127.0.0.1:8080/v1"');
  if (text.problem || text.value === '') return text;
  const bad = httpUrlProblem(text.value, 'http://127.0.0.1:8080/v1');
  return bad ? problem('', key, bad.problem, bad.fix, 'no remote endpoint') : text;
}

/** A list of labels: a JSON list of strings, or a flag's comma-separated text. Trimmed, without repeats. */
export function parseLabels(value: unknown, key: string, fallback: readonly string[]): Parsed<readonly string[]> {
  if (unset(value)) return { value: fallback };
  const list: unknown = typeof value === 'string' ? value.split(',') : value;
  const instead = `the default labels (${fallback.join(', ')})`;
  if (!Array.isArray(list) || !list.every((l) => typeof l === 'string')) {
    return problem(fallback, key, `must be a list of labels (strings); got ${shown(value)}`, `Write e.g. ${JSON.stringify(fallback)}.`, instead);
  }
  const labels = [...new Set(list.map((l) => l.trim()).filter((l) => l !== ''))];
  if (labels.length === 0) return problem(fallback, key, 'names no label', `Name at least one, e.g. ${fallback.join(',')}.`, instead);
  return { value: labels };
}

/** Calibration's bad and good labels; a label in both lists is refused (case-insensitive, as labelClass reads them). */
export function labelMapping(bad: readonly string[], good: readonly string[], key: string = SettingKeys.calibrationGoodLabels): Parsed<LabelMapping> {
  const both = bad.filter((b) => good.some((g) => g.toLowerCase() === b.toLowerCase()));
  if (both.length === 0) return { value: { bad, good } };
  return problem(DEFAULT_LABEL_MAPPING, key, `${both.map((l) => `"${l}"`).join(', ')} ${both.length === 1 ? 'is' : 'are'} listed as bad and as good`,
    'A label counts as bad or as good, not both: remove it from one of the two lists.', 'the default bad and good labels');
}

/** A list of model names (JSON list, or a flag's comma-separated text); empty by default. */
export function parseModelNames(value: unknown, key: string): Parsed<readonly string[]> {
  if (unset(value)) return { value: [] };
  const list: unknown = typeof value === 'string' ? value.split(',') : value;
  if (!Array.isArray(list) || !list.every((l) => typeof l === 'string')) {
    return problem([], key, `must be a list of model names (strings); got ${shown(value)}`, 'Write e.g. ["gpt-4o-zero-shot"].', 'no model');
  }
  return { value: [...new Set(list.map((l) => l.trim()).filter((l) => l !== ''))] };
}

const BYTE_UNITS: Readonly<Record<string, number>> = { '': 1, b: 1, kb: 1e3, mb: 1e6, gb: 1e9, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 };

/** A size in bytes: a whole number, or text with a unit ("512MiB", "2 GB"; a flag's text). */
export function parseByteSize(value: unknown, key: string, fallback: number): Parsed<number> {
  if (unset(value)) return { value: fallback };
  const match = typeof value === 'string' ? /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(value) : undefined;
  const n = typeof value === 'number' ? value : match && Object.hasOwn(BYTE_UNITS, match[2].toLowerCase()) ? Number(match[1]) * BYTE_UNITS[match[2].toLowerCase()] : NaN;
  if (Number.isFinite(n) && n >= 1 && Math.floor(n) <= Number.MAX_SAFE_INTEGER) return { value: Math.floor(n) };
  return problem(fallback, key, `must be a size in bytes (a whole number, or e.g. "512MiB", "2GiB"); got ${shown(value)}`, `Write e.g. ${fallback} (the default) or "4GiB".`, `the default ${fallback}`);
}

/** The first wait between two reads of a pending batch, in seconds. */
export const DEFAULT_POLL_SECONDS = 30;

/** Seconds between reads of a pending batch: a number from 1 to 3600 (a flag's text is read as a number). */
export function parsePollSeconds(value: unknown, key: string = SettingKeys.batchPollSeconds): Parsed<number> {
  if (unset(value)) return { value: DEFAULT_POLL_SECONDS };
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n === 'number' && Number.isFinite(n) && n >= 1 && n <= 3600) return { value: n };
  return problem(DEFAULT_POLL_SECONDS, key, `must be a number of seconds from 1 to 3600; got ${shown(value)}`,
    `Set the first wait between two reads of a pending batch, e.g. ${DEFAULT_POLL_SECONDS} (it doubles while the batch does not move, up to 20 times, at most 10 minutes).`, `the default ${DEFAULT_POLL_SECONDS}`);
}

export function parseSwitch(value: unknown, key: string, fallback: boolean): Parsed<boolean> {
  if (unset(value)) return { value: fallback };
  if (typeof value === 'boolean') return { value };
  return problem(fallback, key, `must be true or false; got ${shown(value)}`, `Write true or false (default ${fallback}).`, String(fallback));
}

/** Extra reasoning markers: `[{"open": "<plan>", "close": "</plan>"}]`; a bad list is not used (the built-in markers still are). */
export function parseReasoningMarkerSetting(value: unknown, key: string = SettingKeys.reasoningMarkers): Parsed<readonly ReasoningMarker[]> {
  const parsed = parseReasoningMarkers(value);
  if (parsed.problem === undefined) return { value: parsed.markers };
  return problem([], key, parsed.problem, 'Write e.g. [{"open": "<plan>", "close": "</plan>"}]; <think>, [THINK], ◁think▷, <seed:think>, <|begin_of_thought|> and gpt-oss channels are known already.', 'the built-in markers only');
}

/** The models list; one bad model makes the whole list unusable (no model is called until it is fixed). */
export function parseModels(value: unknown, key: string = SettingKeys.models): Parsed<readonly ModelConfig[]> {
  if (unset(value)) return { value: [] };
  try {
    return { value: parseModelList(value, SETTINGS_SECTION, key) };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return problem([], err.field, err.problem, err.fix, 'no model: none is called');
  }
}

export interface EmbeddingConfig {
  readonly provider: 'local' | 'remote';
  readonly model: string;
  readonly dtype: 'fp32' | 'q8';
  /** Above this share of [UNK] word pieces in the output or the reference, a pair is not measurable. */
  readonly maxUnknownShare: number;
  readonly remote: { readonly baseUrl: string; readonly model: string };
}

export function parseMultiReference(value: unknown, key: string = SettingKeys.scoringMultiReference): Parsed<MultiReference> {
  return parseChoice(value, key, MULTI_REFERENCE_MODES, '"best" scores a row with several references by its best match; "mean" by the mean over them.');
}

/** Every setting, as both the extension and the CLI read them. */
export interface ReviewSettings {
  readonly models: readonly ModelConfig[];
  readonly threshold: number;
  /** A row with several references: its score is the best match ('best') or the mean ('mean'). */
  readonly multiReference: MultiReference;
  readonly embedding: EmbeddingConfig;
  /** Annotation labels, in order. */
  readonly labels: readonly string[];
  /** Who is reviewing, named on every annotation event; empty: git's user.email, else the OS user. */
  readonly reviewer: string;
  /** Blind mode: while labelling, other reviewers' labels and every score are hidden (not sent to any view). */
  readonly reviewBlind: boolean;
  /** Labels on model outputs read as bad / good when the threshold is calibrated. */
  readonly calibration: LabelMapping;
  readonly fieldMapping: FieldMapping;
  readonly problemsLowScores: boolean;
  /** Row actions as CodeLens above each row. */
  readonly codeLens: boolean;
  /**
   * Where a row's scores are drawn: 'lineStart' as text before the line's first character; 'codeLens' on a
   * CodeLens line above the row, in sight at column 1 of a long line whatever the horizontal scroll.
   */
  readonly inlineScoresPosition: 'lineStart' | 'codeLens';
  /** Models shown and compared but kept out of the "suspect reference" rule (e.g. an off-topic baseline). */
  readonly baselineModels: readonly string[];
  /** Output columns written by people (and models marked `human`): the human band the models are read against. */
  readonly humanModels: readonly string[];
  /** Reasoning markers stripped from outputs beside the built-in ones (`<think>`, `[THINK]`, gpt-oss channels, ...). */
  readonly reasoningMarkers: readonly ReasoningMarker[];
  readonly dataset: {
    /** Most bytes a gzip (or UTF-16) dataset may take once decompressed, held in memory. */
    readonly maxInflatedBytes: number;
  };
  readonly batch: {
    /** The first wait, in seconds, between two reads of a pending batch (doubling while nothing moves). */
    readonly pollSeconds: number;
  };
  /** The LLM judge: which configured model judges (empty: none chosen) and the prompt it is sent. */
  readonly judge: JudgeSettings;
  /** The contradiction check: off by default (it downloads a second model); see docs/scoring.md. */
  readonly contradiction: ContradictionConfig;
}

export interface ContradictionConfig {
  /** Check every scored output against the reference it matched with an NLI cross-encoder. */
  readonly enabled: boolean;
  /** Hub id or a local folder (written as a path). */
  readonly model: string;
  /** P(contradiction) at or above which an output is flagged. */
  readonly threshold: number;
}

export interface JudgeSettings {
  /** The name of one of `models`; empty when no judge is chosen. */
  readonly model: string;
  /** The prompt template ({reference}, {output}, {input}). */
  readonly prompt: string;
}

/** The judge prompt: a template that places at least {output} and {reference}; else the default is used. */
export function parseJudgePrompt(value: unknown, key: string = SettingKeys.judgePrompt): Parsed<string> {
  const text = parseText(value, key, DEFAULT_JUDGE_PROMPT, 'a prompt that places {reference} and {output} and asks for {"verdict": "good" or "bad", "reason": "…"}');
  if (text.problem) return text;
  const missing = judgePromptProblem(text.value);
  return missing ? problem(DEFAULT_JUDGE_PROMPT, key, `${missing}`, 'Place {output} and {reference} in the prompt (and {input} if the judge should read it).', 'the default judge prompt') : text;
}

export interface SettingsRead {
  readonly settings: ReviewSettings;
  readonly problems: readonly SettingProblem[];
}

/** Reads one setting by key (`embedding.dtype`); undefined when it is not set. VS Code's WorkspaceConfiguration is one. */
export interface SettingsSource {
  get(key: string): unknown;
}

/** Keys that hold an object of settings in a JSON document. */
const GROUPS = ['scoring', 'embedding', 'embedding.remote', 'annotation', 'calibration', 'problems', 'codeLens', 'inlineScores', 'reasoning', 'dataset', 'review', 'judge', 'contradiction', 'batch'];

/** Reads and checks every setting; each bad one is a problem and its default is used. */
export function readSettings(source: SettingsSource): SettingsRead {
  const problems: SettingProblem[] = [];
  const take = <T>(parsed: Parsed<T>): T => {
    if (parsed.problem) problems.push(parsed.problem);
    return parsed.value;
  };
  const K = SettingKeys;
  for (const group of GROUPS) {
    const value = source.get(group);
    if (!unset(value) && (typeof value !== 'object' || Array.isArray(value))) {
      take(problem(undefined, group, `must be an object of settings; got ${shown(value)}`, 'Write it as an object of its settings, e.g. "embedding": {"dtype": "q8"}.', 'the defaults of its settings'));
    }
  }
  const bad = take(parseLabels(source.get(K.calibrationBadLabels), K.calibrationBadLabels, DEFAULT_LABEL_MAPPING.bad));
  const good = take(parseLabels(source.get(K.calibrationGoodLabels), K.calibrationGoodLabels, DEFAULT_LABEL_MAPPING.good));
  const settings: ReviewSettings = {
    models: take(parseModels(source.get(K.models))),
    threshold: take(parseThreshold(source.get(K.threshold))),
    multiReference: take(parseMultiReference(source.get(K.scoringMultiReference))),
    embedding: {
      provider: take(parseEmbeddingProvider(source.get(K.embeddingProvider))),
      model: take(parseText(source.get(K.embeddingModel), K.embeddingModel, DEFAULT_EMBEDDING_MODEL, `"${DEFAULT_EMBEDDING_MODEL}" or a folder holding an ONNX model`)),
      dtype: take(parseEmbeddingDtype(source.get(K.embeddingDtype))),
      maxUnknownShare: take(parseMaxUnknownShare(source.get(K.embeddingMaxUnknownShare))),
      remote: {
        baseUrl: take(parseEndpointUrl(source.get(K.embeddingRemoteBaseUrl), K.embeddingRemoteBaseUrl)),
        model: take(parseText(source.get(K.embeddingRemoteModel), K.embeddingRemoteModel, '', 'the embedding model id the endpoint serves, "text-embedding-3-small"')),
      },
    },
    labels: take(parseLabels(source.get(K.annotationLabels), K.annotationLabels, DEFAULT_ANNOTATION_LABELS)),
    reviewer: take(parseText(source.get(K.reviewer), K.reviewer, '', '"ana@example.org"')).trim(),
    reviewBlind: take(parseSwitch(source.get(K.reviewBlind), K.reviewBlind, false)),
    calibration: take(labelMapping(bad, good)),
    fieldMapping: take(parseFieldMapping(source.get(K.fieldMapping))),
    problemsLowScores: take(parseSwitch(source.get(K.problemsLowScores), K.problemsLowScores, false)),
    codeLens: take(parseSwitch(source.get(K.codeLensEnabled), K.codeLensEnabled, true)),
    inlineScoresPosition: take(parseChoice(source.get(K.inlineScoresPosition), K.inlineScoresPosition, ['lineStart', 'codeLens'] as const, '"lineStart" draws the scores before the line\'s text; "codeLens" on a line above the row, always in sight at column 1.')),
    baselineModels: take(parseModelNames(source.get(K.baselineModels), K.baselineModels)),
    humanModels: [],
    reasoningMarkers: take(parseReasoningMarkerSetting(source.get(K.reasoningMarkers))),
    dataset: { maxInflatedBytes: take(parseByteSize(source.get(K.datasetMaxInflatedBytes), K.datasetMaxInflatedBytes, DEFAULT_MAX_INFLATED_BYTES)) },
    judge: {
      model: take(parseText(source.get(K.judgeModel), K.judgeModel, '', 'the name of one of "models", "gpt-4o-judge"')),
      prompt: take(parseJudgePrompt(source.get(K.judgePrompt))),
    },
    contradiction: {
      enabled: take(parseSwitch(source.get(K.contradictionEnabled), K.contradictionEnabled, false)),
      model: take(parseText(source.get(K.contradictionModel), K.contradictionModel, DEFAULT_NLI_MODEL, `"${DEFAULT_NLI_MODEL}" or a folder holding an ONNX NLI model`)),
      threshold: take(parseContradictionThreshold(source.get(K.contradictionThreshold))),
    },
    batch: { pollSeconds: take(parsePollSeconds(source.get(K.batchPollSeconds))) },
  };
  const models = settings.models;
  const humanModels = [...new Set([...take(parseModelNames(source.get(K.humanModels), K.humanModels)), ...models.filter((m) => m.human).map((m) => m.name)])];
  return { settings: { ...settings, humanModels }, problems };
}

/** How the settings open a dataset: the field mapping and the inflated-size limit. */
export function datasetOptionsOf(settings: Pick<ReviewSettings, 'fieldMapping' | 'dataset'>): OpenDatasetOptions {
  return { mapping: settings.fieldMapping, maxInflatedBytes: settings.dataset.maxInflatedBytes };
}

/** Every setting at its default. */
export const DEFAULT_SETTINGS: ReviewSettings = readSettings({ get: () => undefined }).settings;

/**
 * A JSON document of settings (the CLI's config file): nested (`{"embedding": {"dtype": "q8"}}`),
 * or with VS Code's flat keys (`"embedding.dtype"`, `"pisarReview.threshold"`).
 */
export function jsonSettingsSource(document: Readonly<Record<string, unknown>>): SettingsSource {
  return {
    get(key) {
      for (const flat of [`${SETTINGS_SECTION}.${key}`, key]) {
        if (Object.hasOwn(document, flat)) return document[flat];
      }
      let at: unknown = document;
      for (const part of key.split('.')) {
        if (at === null || typeof at !== 'object' || Array.isArray(at) || !Object.hasOwn(at, part)) return undefined;
        at = (at as Record<string, unknown>)[part];
      }
      return at;
    },
  };
}

/** A key of a settings document that is no setting: ignored, told with the setting it most likely meant. */
export interface UnknownSetting {
  readonly key: string;
  readonly suggestion?: string;
}

/**
 * Keys of a JSON settings document that are not settings (a typo such as "treshold" would otherwise be
 * ignored without a word and its default used). `$schema` and keys starting with "//" or "_" are notes.
 */
export function unknownSettings(document: Readonly<Record<string, unknown>>): UnknownSetting[] {
  const leaves: readonly string[] = Object.values(SettingKeys);
  const known = [...leaves, ...GROUPS];
  const out: UnknownSetting[] = [];
  const walk = (object: Readonly<Record<string, unknown>>, prefix: string) => {
    for (const raw of Object.keys(object)) {
      if (prefix === '' && (raw.startsWith('$') || raw.startsWith('//') || raw.startsWith('_'))) continue;
      const key = prefix + (prefix === '' && raw.startsWith(`${SETTINGS_SECTION}.`) ? raw.slice(SETTINGS_SECTION.length + 1) : raw);
      if (leaves.includes(key)) continue;
      const value = object[raw];
      if (GROUPS.includes(key)) {
        if (value !== null && typeof value === 'object' && !Array.isArray(value)) walk(value as Record<string, unknown>, `${key}.`);
        continue;
      }
      const suggestion = nearestName(key, known);
      out.push({ key, ...(suggestion ? { suggestion } : {}) });
    }
  };
  walk(document, '');
  return out;
}

/** The line that tells an unknown setting of a file. */
export function unknownSettingMessage(file: string, unknown: UnknownSetting): string {
  // JSON quoting: a key is shown as written, control characters escaped (never sent to a terminal raw).
  return `${file}: ${JSON.stringify(unknown.key)} is not a setting; it was ignored.${unknown.suggestion ? ` Did you mean "${unknown.suggestion}"?` : ` Settings: ${Object.values(SettingKeys).join(', ')}.`}`;
}

export interface SettingsFile extends SettingsRead {
  readonly file: string;
  /** Keys that are no setting (ignored). */
  readonly unknown: readonly UnknownSetting[];
}

/**
 * Reads a JSON settings file (the CLI's `--config`). Throws ConfigError when it cannot be read or is
 * not a JSON object; a bad setting in it is one of `problems`.
 */
export async function loadSettingsFile(file: string): Promise<SettingsFile> {
  let text: string;
  try {
    await regularFileStat(file); // a FIFO would block the read
    text = await fsp.readFile(file, 'utf8');
  } catch (err) {
    if (err instanceof UnsafeFileError) throw new ConfigError(file, '', err.reason, 'Check the --config path.');
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(file, '', code === 'ENOENT' ? 'no such file' : `cannot be read (${code ?? String(err)})`, 'Check the --config path.');
  }
  let json: unknown;
  try {
    json = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    const message = (err as Error).message;
    const position = /position (\d+)/.exec(message);
    const line = position ? text.slice(0, Number(position[1])).split('\n').length : undefined;
    throw new ConfigError(file, '', `is not valid JSON (${message})`, 'Fix the JSON syntax (comments and trailing commas are not allowed).', line);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new ConfigError(file, '', `must be a JSON object of settings; got ${shown(json)}`, 'Write e.g. {"models": [...], "threshold": 0.7, "fieldMapping": {"reference": "gold"}}.');
  }
  return { file, ...readSettings(jsonSettingsSource(json as Record<string, unknown>)), unknown: unknownSettings(json as Record<string, unknown>) };
}

/** The setting a problem is in (`models` for `models[0].baseUrl`, `fieldMapping` for `fieldMapping.gold`), to open it. */
export function problemSetting(p: SettingProblem): string {
  const keys: readonly string[] = Object.values(SettingKeys);
  return keys.find((k) => p.key === k || p.key.startsWith(`${k}.`) || p.key.startsWith(`${k}[`)) ?? p.key;
}
