import { clip, errorReason, isQuotaExhausted, looksLikeHtml, numericCode, ResponseError, TRANSIENT_CODES, tryJson } from '../http/errors';
import { hasVisibleText } from '../rules/rules';
import { splitReasoning, type ReasoningMarker, type ReasoningStripped } from '../rules/reasoning';

/**
 * What the OpenAI-compatible servers people run actually answer, read without losing the reason:
 * error bodies in every dialect (OpenAI, vLLM, Ollama, OpenRouter, FastAPI, HTML pages, plain text),
 * 200 answers that are errors, finish reasons, content as text parts, reasoning-only answers and
 * `<think>` blocks. Pure functions over the parsed body; the runner decides what to do with them.
 */

/** A 2xx body that carries an error instead of an answer (OpenRouter, some proxies, vLLM behind a gateway). */
function bodyError(body: Record<string, unknown>): ResponseError | undefined {
  const isError = (body.error !== undefined && body.error !== null && !Array.isArray(body.choices)) || body.object === 'error';
  if (!isError) return undefined;
  const reason = errorReason(body);
  const status = numericCode(reason);
  const message = `the server answered 200 with an error${status ? ` (code ${status})` : ''}: ${reason.message ?? 'no message'}`;
  if (isQuotaExhausted(reason) || status === 402) return new ResponseError('quota', message, 'model', 'The account behind the key has no credit left: add credit or billing at the provider, or use another key; retrying will not help.', status);
  if (status === 401 || status === 403) return new ResponseError('auth', message, 'model', undefined, status);
  if (status === 429 || status === 408 || (status !== undefined && status >= 500) || TRANSIENT_CODES.test(`${reason.code ?? ''} ${reason.type ?? ''}`)) {
    return new ResponseError(status === 429 ? 'rate-limit' : 'server', message, 'retry', undefined, status);
  }
  return new ResponseError('server-error', message, 'row', undefined, status);
}

export interface ParsedAnswer {
  /** The answer's text as the model wrote it (text parts joined). */
  readonly text: string;
  readonly finishReason?: string;
  readonly usage?: { promptTokens?: number; completionTokens?: number };
  /** The model the server says answered (`model` of the response). */
  readonly model?: string;
}

/** The text of a message's content: a string, or a list of text parts (Mistral, some proxies). */
export function contentText(content: unknown): string | undefined {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return undefined;
  const texts: string[] = [];
  for (const part of content) {
    if (typeof part === 'string') texts.push(part);
    else if (part && typeof part === 'object') {
      const p = part as { type?: unknown; text?: unknown };
      // Skip thinking/reasoning/image parts: only the answer is scored.
      if ((p.type === undefined || p.type === 'text' || p.type === 'output_text') && typeof p.text === 'string') texts.push(p.text);
    }
  }
  return texts.join('');
}

/**
 * Reads one chat-completions body (a parsed JSON object, or text when the server did not say JSON).
 * Throws ResponseError for every body that is not an answer, naming why.
 */
export function parseChatResponse(response: unknown): ParsedAnswer {
  let body = response;
  if (typeof body === 'string') {
    const parsed = tryJson(body.trim());
    if (parsed === undefined) {
      if (looksLikeHtml(body)) throw notApi(errorReason(body).message ?? 'an HTML page');
      throw new ResponseError('malformed', `the response is not JSON: ${body.trim() === '' ? '(empty body)' : `"${clip(body)}"`}`, 'row');
    }
    body = parsed;
  }
  if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new ResponseError('malformed', `the response is ${body === undefined || body === null ? 'empty' : `not a JSON object (${clip(JSON.stringify(body))})`}`, 'row');
  }
  const obj = body as Record<string, unknown>;
  const failed = bodyError(obj);
  if (failed) throw failed;
  const choices = obj.choices;
  if (!Array.isArray(choices)) throw new ResponseError('malformed', `the response has no "choices" list (it has ${Object.keys(obj).slice(0, 8).map((k) => `"${k}"`).join(', ') || 'no fields'})`, 'row');
  if (choices.length === 0) throw new ResponseError('empty-choices', 'the response has an empty "choices" list (no answer)', 'row');
  const choice = (choices[0] ?? {}) as { message?: Record<string, unknown>; finish_reason?: unknown; error?: unknown };
  const message = choice.message ?? {};
  const finishReason = typeof choice.finish_reason === 'string' ? choice.finish_reason : undefined;

  const failedFinish = finishFailure(finishReason, choice.error ?? obj.error, contentText(message.content));
  if (failedFinish) throw failedFinish;
  const text = contentText(message.content);
  const reasoning = [message.reasoning_content, message.reasoning].find((r) => typeof r === 'string' && r.trim() !== '') as string | undefined;
  if (text === undefined || (!hasVisibleText(text) && (reasoning !== undefined || finishReason === 'length'))) {
    if (reasoning !== undefined) {
      throw new ResponseError('reasoning-only', `the model returned only its reasoning ("reasoning_content") and no answer${finishReason === 'length' ? ': it was cut off while thinking, raise maxTokens' : ''}`, 'row');
    }
    if (finishReason === 'length') throw cutOff();
    if (typeof message.refusal === 'string') throw new ResponseError('refusal', `the model refused: ${clip(message.refusal)}`, 'row');
    if (Array.isArray(message.tool_calls) && message.tool_calls.length > 0) throw new ResponseError('malformed', 'the model answered with a tool call, not text', 'row');
    throw new ResponseError('malformed', `the first choice has no message content${message.content === null ? ' ("content": null)' : ''}`, 'row');
  }
  const usage = obj.usage as { prompt_tokens?: unknown; completion_tokens?: unknown } | undefined;
  const answer: { -readonly [K in keyof ParsedAnswer]: ParsedAnswer[K] } = { text };
  if (finishReason) answer.finishReason = finishReason;
  if (typeof obj.model === 'string' && obj.model.trim() !== '') answer.model = obj.model.slice(0, 200);
  if (usage && (typeof usage.prompt_tokens === 'number' || typeof usage.completion_tokens === 'number')) {
    answer.usage = {
      ...(typeof usage.prompt_tokens === 'number' ? { promptTokens: usage.prompt_tokens } : {}),
      ...(typeof usage.completion_tokens === 'number' ? { completionTokens: usage.completion_tokens } : {}),
    };
  }
  return answer;
}

/** finish_reason values that mean the answer is whole (any casing; providers spell them differently). */
const COMPLETE_FINISH = /^(stop|length|max_tokens|model_length|eos|eos_token|end_turn|end|stop_sequence|tool_calls|function_call|completed?|finished|done)$/i;
/** finish_reason values that mean the provider withheld the answer for its content: a retry gets the same. */
const WITHHELD_FINISH = /^(content_filter|content_filtered|safety|recitation|blocklist|prohibited_content|spii|image_safety|refusal|language)$/i;

/**
 * A finish_reason that says the answer is not a whole answer: "error" (the reason kept, from the
 * choice's error or the text in content), "abort"/"cancelled"/"timeout" and any other reason that is
 * not a completion (retried: the partial text is never stored), content filters (this row's).
 */
function finishFailure(finishReason: string | undefined, error: unknown, content: string | undefined): ResponseError | undefined {
  if (finishReason === undefined || COMPLETE_FINISH.test(finishReason)) return undefined;
  const partial = content !== undefined && content.trim() !== '' ? ` (${content.length} characters of partial answer not stored)` : '';
  if (WITHHELD_FINISH.test(finishReason)) {
    return new ResponseError('content-filter', `the provider's content filter withheld the answer (finish_reason "${clip(finishReason)}"); it was not stored as output`, 'row');
  }
  if (/^error$/i.test(finishReason)) {
    const said = error !== undefined && error !== null ? errorReason({ error }).message : content !== undefined && hasVisibleText(content) ? clip(content) : undefined;
    return new ResponseError('finish-error', `the provider ended the answer with finish_reason "error": ${said ?? 'no reason given'}`, 'retry');
  }
  return new ResponseError('incomplete', `the provider ended the answer with finish_reason "${clip(finishReason)}", not a completed answer${partial}`, 'retry');
}

function cutOff(whileThinking = false): ResponseError {
  return new ResponseError('cut-off', `the answer was cut off ${whileThinking ? 'while the model was still thinking' : 'before any text'} (finish_reason "length"): raise maxTokens`, 'row');
}

function notApi(what: string): ResponseError {
  return new ResponseError('not-api', `the server answered with ${what}`, 'model');
}

/** How an answer's reasoning is treated: kept (the model's `keepThinking`), and the extra markers of the `reasoning.markers` setting. */
export interface ReasoningOptions {
  readonly keepThinking?: boolean;
  readonly markers?: readonly ReasoningMarker[];
}

/** The answer without its reasoning (any markup splitReasoning knows); kept for existing callers. */
export function stripThinking(text: string, markers: readonly ReasoningMarker[] = []): { text: string; hadThinking: boolean } {
  const split = splitReasoning(text, markers);
  return { text: split.text, hadThinking: split.stripped !== undefined };
}

/** What is stored and scored for an answer, and what was stripped from it. */
export interface VisibleAnswer {
  readonly output: string;
  /** The text as written, when `output` differs from it. */
  readonly rawOutput?: string;
  readonly reasoningStripped?: ReasoningStripped;
}

/**
 * What is stored and scored for an answer (called or precomputed: one rule): without its reasoning
 * unless the model keeps it; the raw text rides along when it differs. Throws ResponseError when only
 * reasoning was left.
 */
export function visibleAnswer(raw: string, reasoning: ReasoningOptions | undefined, finishReason?: string): VisibleAnswer {
  if (reasoning?.keepThinking) return { output: raw };
  const split = splitReasoning(raw, reasoning?.markers);
  if (!split.stripped) return { output: raw };
  if (split.reasoningOnly) {
    if (finishReason === 'length') throw cutOff(true);
    throw new ResponseError('reasoning-only', `the model returned only its reasoning (${split.stripped.marker}…) and no answer (set "keepThinking": true on the model to score it anyway)`, 'row');
  }
  return { output: split.text, rawOutput: raw, reasoningStripped: split.stripped };
}
