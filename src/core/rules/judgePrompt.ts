// The LLM judge's prompt and its answer: the template filled with a row's reference, the output and the
// input, and the strict JSON verdict read back. A judge answer is data from outside: read, never obeyed.
import * as crypto from 'node:crypto';

/** The placeholders of a judge prompt (single braces; any other brace is left as written). */
export const JUDGE_PLACEHOLDERS = ['reference', 'output', 'input'] as const;
export type JudgePlaceholder = (typeof JUDGE_PLACEHOLDERS)[number];

/** The default judge prompt (pisarReview.judge.prompt / CLI config judge.prompt); docs/scoring.md explains it. */
export const DEFAULT_JUDGE_PROMPT = [
  'You are checking a model\'s rationale against a reference rationale written by a person.',
  '',
  'Input the model was given:',
  '{input}',
  '',
  'Reference rationale:',
  '{reference}',
  '',
  'Model\'s rationale:',
  '{output}',
  '',
  'Does the model\'s rationale give the same reasons as the reference? Other words are fine. A rationale that contradicts the reference, misses its key reason or adds unsupported claims is bad.',
  'Answer with one JSON object and nothing else: {"verdict": "good" or "bad", "reason": "<one sentence>"}',
].join('\n');

const PLACEHOLDER = /\{(reference|output|input)\}/g;

/** The texts a judge prompt is filled with. */
export interface JudgeInputs {
  readonly input: string;
  /** The row's references in force (a reviewer's correction, else the file's); several are numbered. */
  readonly references: readonly string[];
  readonly output: string;
}

/** The reference text the judge reads: the one reference, or several as a numbered list ("1. …"). */
export function judgeReferenceText(references: readonly string[]): string {
  return references.length === 1 ? references[0] : references.map((r, i) => `${i + 1}. ${r}`).join('\n');
}

/** The prompt filled in one pass: text inserted is never read for placeholders again (an output holding "{reference}" stays as written). */
export function renderJudgePrompt(template: string, inputs: JudgeInputs): string {
  const values: Record<JudgePlaceholder, string> = { reference: judgeReferenceText(inputs.references), output: inputs.output, input: inputs.input };
  return template.replace(PLACEHOLDER, (_, name: JudgePlaceholder) => values[name]);
}

/** A judge request's message (the chat shape the runner sends). */
export interface JudgeMessage {
  readonly role: 'user';
  readonly content: string;
}

/** The messages a judge request sends: one user turn. */
export function judgeMessages(template: string, inputs: JudgeInputs): JudgeMessage[] {
  return [{ role: 'user', content: renderJudgePrompt(template, inputs) }];
}

/** What a judge prompt lacks: it must place the output and the reference, or the judge sees nothing to compare. */
export function judgePromptProblem(template: string): string | undefined {
  const missing = (['output', 'reference'] as const).filter((p) => !template.includes(`{${p}}`));
  return missing.length === 0 ? undefined : `does not contain ${missing.map((p) => `{${p}}`).join(' and ')}`;
}

/** First 16 hex digits of the SHA-256 of the messages sent: which prompt, reference, output and input were judged. */
export function judgePromptHash(messages: readonly JudgeMessage[]): string {
  return crypto.createHash('sha256').update(JSON.stringify(messages)).digest('hex').slice(0, 16);
}

/** A judge's answer read: a verdict (from "verdict", or a 1-5 "score": 4-5 good, 1-3 bad) and its one-sentence reason. */
export interface JudgeVerdict {
  readonly verdict: 'good' | 'bad';
  /** The 1-5 score, when the judge gave one. */
  readonly rating?: number;
  readonly reason: string;
}

/** A judge answer that is not the JSON asked for. */
export class JudgeAnswerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JudgeAnswerError';
  }
}

/** Longest reason kept (a judge that writes an essay is cut, with an ellipsis). */
export const MAX_REASON_CHARS = 2000;
/** How much of an unreadable answer its failure quotes. */
const QUOTED_CHARS = 200;

/**
 * Reads a judge's answer: one JSON object (a ```json fence around it is allowed), with "verdict" "good"/"bad"
 * and/or "score" 1-5, and "reason" a string. Throws JudgeAnswerError saying what is wrong, quoting the answer's start.
 */
export function parseJudgeAnswer(text: string): JudgeVerdict {
  const quoted = () => JSON.stringify(text.length > QUOTED_CHARS ? `${text.slice(0, QUOTED_CHARS)}…` : text);
  const trimmed = text.trim();
  const fenced = /^```(?:json)?\s*\n?([\s\S]*?)\n?```$/i.exec(trimmed);
  let value: unknown;
  try {
    value = JSON.parse(fenced ? fenced[1] : trimmed);
  } catch {
    throw new JudgeAnswerError(`the judge's answer is not one JSON object: ${quoted()}`);
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new JudgeAnswerError(`the judge's answer is not a JSON object: ${quoted()}`);
  const answer = value as Record<string, unknown>;
  const word = typeof answer.verdict === 'string' ? answer.verdict.trim().toLowerCase() : undefined;
  if (answer.verdict !== undefined && word !== 'good' && word !== 'bad') throw new JudgeAnswerError(`the judge's "verdict" is not "good" or "bad": ${quoted()}`);
  const score = answer.score;
  if (score !== undefined && !(typeof score === 'number' && Number.isInteger(score) && score >= 1 && score <= 5)) throw new JudgeAnswerError(`the judge's "score" is not a whole number from 1 to 5: ${quoted()}`);
  if (word === undefined && score === undefined) throw new JudgeAnswerError(`the judge's answer has no "verdict" (good or bad) and no "score" (1-5): ${quoted()}`);
  if (typeof answer.reason !== 'string' || answer.reason.trim() === '') throw new JudgeAnswerError(`the judge's answer has no "reason" sentence: ${quoted()}`);
  const reason = answer.reason.trim();
  const verdict = (word as 'good' | 'bad' | undefined) ?? ((score as number) >= 4 ? 'good' : 'bad');
  return { verdict, ...(score !== undefined ? { rating: score as number } : {}), reason: reason.length > MAX_REASON_CHARS ? `${reason.slice(0, MAX_REASON_CHARS)}…` : reason };
}

/** The judge in force: a configured model's name and model id. */
export interface JudgeIdentity {
  readonly name: string;
  readonly model: string;
}

/** Whether a stored verdict is the one this judge would give now: same judge model and id, same prompt sent, and no failure. */
export function isCurrentJudgement(judge: { readonly model: string; readonly modelId: string; readonly promptHash: string; readonly error?: unknown } | undefined, model: JudgeIdentity, promptHash: string): boolean {
  return judge !== undefined && judge.error === undefined && judge.model === model.name && judge.modelId === model.model && judge.promptHash === promptHash;
}

/**
 * The LLM judge's verdict on an output as every view shows it: "judge gpt-4o: bad (2/5): Misses the key reason."
 * or "judge gpt-4o failed: unparsable: …". Plain text: the reason is a model's words, escaped by each surface.
 */
export function judgeVerdictText(j: { readonly model: string; readonly verdict?: 'good' | 'bad'; readonly rating?: number; readonly reason?: string; readonly error?: { readonly kind: string; readonly message: string } } | undefined): string | undefined {
  if (!j) return undefined;
  if (j.error) return `judge ${j.model} failed: ${j.error.kind}: ${j.error.message}`;
  return `judge ${j.model}: ${j.verdict}${j.rating !== undefined ? ` (${j.rating}/5)` : ''}${j.reason ? `: ${j.reason}` : ''}`;
}
