import * as crypto from 'node:crypto';
import * as path from 'node:path';
import { getField } from '../dataset/fields';
import type { DatasetRow } from '../dataset/types';
import { agreementUnits, isDisagreement, settledLabel, type AgreementUnit } from '../report/agreement';
import { correctionsInForce, effectiveReference, scoreUnder } from '../store/corrections';
import { isStale } from '../rules/rules';
import { buildMessages, type OutgoingMessage } from '../runner/prompt';
import type { Adjudication, Annotation, ReferenceCorrection, RowLookup } from '../store/annotations';
import type { StoredResult } from '../store/results';
import { labelClass, type LabelMapping } from '../report/calibration';
import { contradicts } from '../rules/contradiction';

/**
 * The training export: the reviewed dataset as a fine-tuning file (OpenAI chat, ShareGPT, Alpaca,
 * or DPO pairs), with the corrected reference as the target, and a manifest that says exactly which
 * rows, hashes and annotation events went in. A hold-out (the evaluation set) is checked first: a
 * row of it among the selected rows stops the export, so no test row leaks into training.
 */

export type TrainingFormat = 'openai-chat' | 'sharegpt' | 'alpaca' | 'dpo';
export const TRAINING_FORMATS: readonly TrainingFormat[] = ['openai-chat', 'sharegpt', 'alpaca', 'dpo'];

export interface TrainingFilters {
  /** Rows with one of these labels standing (settled: adjudicated, or given alike by every reviewer) on any target. */
  readonly labels?: readonly string[];
  /** Rows with none of these labels standing. */
  readonly excludeLabels?: readonly string[];
  /** Score band (inclusive): the row's lowest current score, or `scoreModel`'s, must lie inside. */
  readonly minScore?: number;
  readonly maxScore?: number;
  readonly scoreModel?: string;
  /** 'agreed': no open disagreement and some target rated by two or more or adjudicated; 'disagreed': an open disagreement. */
  readonly agreement?: 'agreed' | 'disagreed';
  /** Only rows whose reference was corrected. */
  readonly correctedOnly?: boolean;
  /** The contradiction check: 'exclude' rows where some current output contradicts its reference, 'only' keep just those. */
  readonly contradicts?: 'exclude' | 'only';
  /** P(contradiction) at or above which an output counts as contradicting (default 0.5; pisarReview.contradiction.threshold). */
  readonly contradictionThreshold?: number;
}

/** One way a row can be in the evaluation set. */
export type HoldoutRule =
  | { readonly kind: 'ids'; readonly source: string; readonly ids: ReadonlySet<string>; readonly hashes?: ReadonlySet<string>; readonly inputs?: ReadonlySet<string> }
  | { readonly kind: 'field'; readonly field: string; readonly value: string };

export interface HoldoutHit {
  readonly id: string;
  readonly line: number;
  readonly why: string;
}

export interface TrainingManifest {
  readonly schema: 'pisar-review/training-manifest@1';
  readonly format: TrainingFormat;
  readonly dataset: string;
  readonly out: string;
  readonly records: number;
  /** `contradicts`: the models whose current output the contradiction check flagged on the row. */
  readonly rows: { id: string; line: number; hash: string; corrected?: string; contradicts?: string[] }[];
  /** Every annotation event behind the exported rows (labels, corrections, adjudications). */
  readonly annotationEvents: string[];
  readonly filters: TrainingFilters;
  readonly references: 'corrected' | 'original';
  readonly holdout: { rules: string[]; dropped: HoldoutHit[] } | undefined;
  readonly embeddingModel: string;
  readonly toolVersion: string;
  readonly createdAt: string;
}

export interface TrainingExportInput {
  readonly file: string;
  readonly rows: AsyncIterable<DatasetRow>;
  readonly lookup: RowLookup & { rowIds(): readonly string[] };
  readonly annotations: readonly Annotation[];
  readonly corrections: readonly ReferenceCorrection[];
  readonly adjudications: readonly Adjudication[];
  readonly results: { forRow(rowId: string): StoredResult[] };
  readonly format: TrainingFormat;
  readonly filters: TrainingFilters;
  readonly labels: LabelMapping;
  readonly holdout: readonly HoldoutRule[];
  /** Export the rest when hold-out rows are selected (they are listed in the manifest); default: refuse. */
  readonly dropHoldout?: boolean;
  readonly systemPrompt?: string;
  readonly maxImageBytes?: number;
}

export type TrainingExportResult =
  | { readonly ok: true; readonly lines: string[]; readonly rows: TrainingManifest['rows']; readonly annotationEvents: string[]; readonly dropped: HoldoutHit[]; readonly skipped: { id: string; line: number; why: string }[] }
  | { readonly ok: false; readonly holdout: HoldoutHit[] };

/** `a/train.jsonl` -> `a/train.manifest.json`. */
export function manifestFileFor(out: string): string {
  const ext = path.extname(out);
  return path.join(path.dirname(out), `${ext ? path.basename(out, ext) : path.basename(out)}.manifest.json`);
}

export function normalizedInput(text: string): string {
  return crypto.createHash('sha256').update(text.replace(/\s+/g, ' ').trim()).digest('hex');
}

/** Why a row is in the evaluation set, or undefined. */
export function holdoutReason(row: DatasetRow, rules: readonly HoldoutRule[]): string | undefined {
  for (const rule of rules) {
    if (rule.kind === 'field') {
      const value = getField(row.fields as Record<string, unknown>, rule.field);
      if (value !== undefined && value !== null && (typeof value === 'string' ? value : JSON.stringify(value)) === rule.value) return `${rule.field}=${rule.value}`;
      continue;
    }
    if (rule.ids.has(row.id) || (row.rawId !== undefined && rule.ids.has(row.rawId))) return `id "${row.rawId ?? row.id}" is in ${rule.source}`;
    if (rule.hashes?.has(row.hash)) return `the same line is in ${rule.source}`;
    if (rule.inputs?.has(normalizedInput(row.input))) return `the same input is in ${rule.source}`;
  }
  return undefined;
}

interface RowFacts {
  readonly correction: ReferenceCorrection | undefined;
  readonly units: readonly AgreementUnit[];
}

/** Models whose current scored output the contradiction check flagged (results already current for the row). */
function contradictingModels(results: readonly StoredResult[], filters: TrainingFilters): string[] {
  return results.filter((r) => !r.error && r.score !== undefined && contradicts(r, filters.contradictionThreshold)).map((r) => r.model);
}

function selected(row: DatasetRow, facts: RowFacts, results: StoredResult[], filters: TrainingFilters): boolean {
  const standing = facts.units.map(settledLabel).filter((l): l is string => l !== undefined).map((l) => l.toLowerCase());
  const has = (labels: readonly string[] | undefined) => labels !== undefined && labels.some((l) => standing.includes(l.toLowerCase()));
  if (filters.labels && !has(filters.labels)) return false;
  if (filters.excludeLabels && has(filters.excludeLabels)) return false;
  if (filters.correctedOnly && !facts.correction) return false;
  if (filters.contradicts !== undefined && (contradictingModels(results, filters).length > 0) !== (filters.contradicts === 'only')) return false;
  if (filters.agreement === 'disagreed' && !facts.units.some(isDisagreement)) return false;
  if (filters.agreement === 'agreed' && (facts.units.some(isDisagreement) || !facts.units.some((u) => u.ratings.size >= 2 || u.adjudication))) return false;
  if (filters.minScore !== undefined || filters.maxScore !== undefined) {
    const scores = results
      .filter((r) => filters.scoreModel === undefined || r.model === filters.scoreModel)
      .map((r) => scoreUnder(r, facts.correction, 'corrected'))
      .filter((s): s is number => s !== undefined);
    if (scores.length === 0) return false;
    const score = Math.min(...scores);
    if (filters.minScore !== undefined && score < filters.minScore) return false;
    if (filters.maxScore !== undefined && score > filters.maxScore) return false;
  }
  return true;
}

/** A path image as the ShareGPT/Alpaca tools read it (absolute), URLs and data URLs as written. */
function imagePaths(row: DatasetRow, file: string): string[] {
  return row.images.map((ref) => (ref.kind === 'path' ? path.resolve(path.dirname(file), ref.value) : ref.value));
}

function textOf(content: OutgoingMessage['content']): string {
  return typeof content === 'string' ? content : content.filter((p) => p.type === 'text').map((p) => (p as { text: string }).text).join('\n');
}

function shareGptRole(role: OutgoingMessage['role']): string {
  return role === 'system' ? 'system' : role === 'assistant' ? 'gpt' : 'human';
}

/** Builds the export in memory (the caller writes it): refuses when a selected row is in the hold-out. */
export async function buildTrainingExport(input: TrainingExportInput): Promise<TrainingExportResult> {
  const corrections = correctionsInForce(input.corrections, input.lookup);
  const units = agreementUnits(input.annotations, input.adjudications, input.lookup);
  const unitsByRow = new Map<string, AgreementUnit[]>();
  for (const u of units) {
    const list = unitsByRow.get(u.rowId);
    if (list) list.push(u);
    else unitsByRow.set(u.rowId, [u]);
  }
  const eventsOfRow = new Map<string, string[]>();
  const addEvent = (rowId: string, id: string | undefined) => {
    if (id === undefined) return;
    const list = eventsOfRow.get(rowId);
    if (list) list.push(id);
    else eventsOfRow.set(rowId, [id]);
  };
  for (const a of input.annotations) addEvent(a.rowId, a.eventId);
  for (const j of input.adjudications) addEvent(j.rowId, j.id);
  for (const c of input.corrections) addEvent(c.rowId, c.id);

  const holdoutHits: HoldoutHit[] = [];
  const lines: string[] = [];
  const rows: TrainingManifest['rows'] = [];
  const events = new Set<string>();
  const skipped: { id: string; line: number; why: string }[] = [];
  const config = { ...(input.systemPrompt !== undefined ? { systemPrompt: input.systemPrompt } : {}) };
  for await (const row of input.rows) {
    const results = input.results.forRow(row.id).filter((r) => !isStale(r, row.hash));
    const facts: RowFacts = { correction: corrections.get(row.id), units: unitsByRow.get(row.id) ?? [] };
    if (!selected(row, facts, results, input.filters)) continue;
    const why = holdoutReason(row, input.holdout);
    if (why !== undefined) {
      holdoutHits.push({ id: row.id, line: row.line, why });
      continue;
    }
    const target = effectiveReference(row, facts.correction);
    let records: unknown[];
    try {
      records = await recordsFor(row, target, facts, results, input, config);
    } catch (err) {
      skipped.push({ id: row.id, line: row.line, why: (err as Error).message });
      continue;
    }
    if (records.length === 0) {
      skipped.push({ id: row.id, line: row.line, why: input.format === 'dpo' ? 'no output labelled bad to reject' : 'the row has no reference' });
      continue;
    }
    for (const r of records) lines.push(JSON.stringify(r));
    const flagged = contradictingModels(results, input.filters);
    rows.push({ id: row.id, line: row.line, hash: row.hash, ...(facts.correction ? { corrected: facts.correction.id } : {}), ...(flagged.length > 0 ? { contradicts: flagged } : {}) });
    for (const e of eventsOfRow.get(row.id) ?? []) events.add(e);
  }
  if (holdoutHits.length > 0 && !input.dropHoldout) return { ok: false, holdout: holdoutHits };
  return { ok: true, lines, rows, annotationEvents: [...events], dropped: holdoutHits, skipped };
}

async function recordsFor(row: DatasetRow, target: string | undefined, facts: RowFacts, results: StoredResult[], input: TrainingExportInput, config: { systemPrompt?: string }): Promise<unknown[]> {
  const prompt = await buildMessages(row, config, input.file, input.maxImageBytes);
  if (input.format === 'dpo') {
    const labelOf = (model: string) => {
      const unit = facts.units.find((u) => u.target.kind === 'output' && u.target.model === model);
      const label = unit ? settledLabel(unit) : undefined;
      return label === undefined ? undefined : labelClass(label, input.labels);
    };
    const outputs = results.filter((r) => r.output !== undefined && !r.error && r.output.trim() !== '');
    const rejected = outputs.filter((r) => labelOf(r.model) === 'bad').map((r) => r.output!);
    const chosen = [...(target !== undefined ? [target] : []), ...outputs.filter((r) => labelOf(r.model) === 'good').map((r) => r.output!)];
    const out: unknown[] = [];
    for (const c of new Set(chosen)) {
      for (const r of new Set(rejected)) {
        if (c === r) continue;
        out.push({ prompt, chosen: [{ role: 'assistant', content: c }], rejected: [{ role: 'assistant', content: r }] });
      }
    }
    return out;
  }
  if (target === undefined) return [];
  if (input.format === 'openai-chat') return [{ messages: [...prompt, { role: 'assistant', content: target }] }];
  const images = imagePaths(row, input.file);
  if (input.format === 'sharegpt') {
    const turns = prompt.map((m) => ({ from: shareGptRole(m.role), value: textOf(m.content) }));
    const lastHuman = turns.map((t) => t.from).lastIndexOf('human');
    // LLaMA-Factory's convention: one <image> token per image, in the human turn.
    if (images.length > 0 && lastHuman >= 0) turns[lastHuman] = { ...turns[lastHuman], value: `${'<image>'.repeat(images.length)}${turns[lastHuman].value}` };
    return [{ conversations: [...turns, { from: 'gpt', value: target }], ...(images.length > 0 ? { images } : {}) }];
  }
  const system = prompt.filter((m) => m.role === 'system').map((m) => textOf(m.content)).join('\n');
  const instruction = prompt.filter((m) => m.role !== 'system').map((m) => textOf(m.content)).join('\n');
  return [{ instruction: `${'<image>'.repeat(images.length)}${instruction}`, input: '', output: target, ...(system ? { system } : {}), ...(images.length > 0 ? { images } : {}) }];
}

/** `0.7-1`, `0.7..1`, `0.7 1`, `>= 0.7`, `<= 0.5`: an inclusive band within [-1, 1], or why not. */
export function parseScoreBand(text: string): { minScore?: number; maxScore?: number } | string {
  const t = text.trim();
  const num = String.raw`(-?(?:\d+(?:\.\d*)?|\.\d+))`;
  const inRange = (x: number) => Number.isFinite(x) && x >= -1 && x <= 1;
  let m = new RegExp(`^${num}\\s*(?:-|\\.\\.|–|\\s)\\s*${num}$`).exec(t);
  if (m) {
    const lo = Number(m[1]);
    const hi = Number(m[2]);
    if (!inRange(lo) || !inRange(hi)) return 'Scores lie between -1 and 1.';
    if (lo > hi) return `The lower end ${lo} is above the upper end ${hi}: write low-high, e.g. 0.7-1.`;
    return { minScore: lo, maxScore: hi };
  }
  m = new RegExp(`^(>=|<=)\\s*${num}$`).exec(t);
  if (m) {
    const x = Number(m[2]);
    if (!inRange(x)) return 'Scores lie between -1 and 1.';
    return m[1] === '>=' ? { minScore: x } : { maxScore: x };
  }
  return 'Write a range such as 0.7-1, or >= 0.7, or <= 0.5.';
}
