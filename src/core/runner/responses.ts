import { classifyServerError, clip, errorReason, looksLikeHtml, numericCode, ResponseError, tryJson, type RequestPlace } from '../http/errors';
import { hasVisibleText } from '../rules/rules';
import { splitReasoning, type ReasoningMarker, type ReasoningStripped } from '../rules/reasoning';

/**
 * What the OpenAI-compatible servers people run actually answer, read without losing the reason:
 * error bodies in every dialect (OpenAI, vLLM, Ollama, OpenRouter, FastAPI, HTML pages, plain text),
 * 200 answers that are errors, finish reasons, content as text parts, reasoning-only answers and
 * `<think>` blocks. Pure functions over the parsed body; the runner decides what to do with them.
 */

/** A 2xx body that carries an error instead of an answer (OpenRouter, LM Studio, proxies, vLLM behind a gateway), read by the one classifier. */
function bodyError(body: Record<string, unknown>, place: RequestPlace): ResponseError | undefined {
  const hasError = body.error !== undefined && body.error !== null && body.error !== false;
  const isError = (hasError && (!Array.isArray(body.choices) || body.choices.length === 0)) || body.object === 'error';
  if (!isError) return undefined;
  const reason = errorReason(body);
  const status = numericCode(reason);
  const message = `the server answered 200 with an error${status ? ` (code ${status})` : ''}: ${reason.message ?? 'no message'}`;
  const failure = classifyServerError(undefined, reason, place);
  return new ResponseError(failure.kind, message, failure.action, failure.fix, status, failure.retryAfterMs);
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
export function parseChatResponse(response: unknown, place: RequestPlace = {}): ParsedAnswer {
  let body = response;
  if (typeof body === 'string') {
    const text = body.trim();
    if (text === '') throw emptyResponse();
    const parsed = tryJson(text);
    if (parsed !== undefined) body = parsed;
    else if (/^(data|event|id|retry):|^:/m.test(text) && /^data:/m.test(text)) body = eventStreamAnswer(text);
    else {
      if (looksLikeHtml(body)) throw notApi(errorReason(body).message ?? 'an HTML page');
      // A bare sentence instead of JSON ("Rate limit exceeded", "Unexpected endpoint"): its words decide.
      const failure = classifyServerError(undefined, { message: clip(text) }, place);
      if (failure.action !== 'row') throw new ResponseError(failure.kind, `the server answered 200 with text, not JSON: "${clip(text)}"`, failure.action, failure.fix, undefined, failure.retryAfterMs);
      throw new ResponseError('malformed', `the response is not JSON: "${clip(body)}"`, 'row');
    }
  }
  if (Array.isArray(body) && body.length > 0 && body[0] && typeof body[0] === 'object' && 'error' in body[0]) body = body[0];
  if (body === undefined || body === null) throw emptyResponse();
  if (typeof body !== 'object' || Array.isArray(body)) {
    throw new ResponseError('malformed', `the response is not a JSON object (${clip(JSON.stringify(body))})`, 'row');
  }
  const obj = body as Record<string, unknown>;
  const failed = bodyError(obj, place);
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

/** An empty 200: some servers send one under load; retried (bounded by the retry policy). */
function emptyResponse(): ResponseError {
  return new ResponseError('empty-response', 'the server answered 200 with an empty body', 'retry');
}

/**
 * A chat answer sent as an event stream (`data: {chunk}` lines, as `stream: true` asks, or as
 * streaming-only servers send whatever was asked), assembled into one completion body. An error event
 * is returned as it is, for bodyError to read.
 */
export function eventStreamAnswer(text: string): Record<string, unknown> {
  let content: string | undefined;
  let reasoning = '';
  let finishReason: unknown;
  let usage: unknown;
  let model: unknown;
  let refusal: string | undefined;
  let chunks = 0;
  for (const event of text.split(/\r?\n\r?\n/)) {
    const data = event.split(/\r?\n/).filter((l) => l.startsWith('data:')).map((l) => l.slice(5).replace(/^ /, '')).join('\n').trim();
    if (data === '' || data === '[DONE]') continue;
    const chunk = tryJson(data) as Record<string, unknown> | undefined;
    if (!chunk || typeof chunk !== 'object' || Array.isArray(chunk)) throw new ResponseError('malformed', `the event stream holds an event that is not JSON: "${clip(data)}"`, 'row');
    if (chunk.error !== undefined && chunk.error !== null) return chunk;
    chunks++;
    if (typeof chunk.model === 'string') model ??= chunk.model;
    if (chunk.usage) usage = chunk.usage;
    const choice = Array.isArray(chunk.choices) ? (chunk.choices[0] as Record<string, unknown> | undefined) : undefined;
    if (!choice) continue;
    const delta = (choice.delta ?? choice.message ?? {}) as Record<string, unknown>;
    const piece = contentText(delta.content);
    if (piece !== undefined) content = (content ?? '') + piece;
    for (const r of [delta.reasoning_content, delta.reasoning]) if (typeof r === 'string') reasoning += r;
    if (typeof delta.refusal === 'string') refusal = (refusal ?? '') + delta.refusal;
    if (choice.finish_reason !== undefined && choice.finish_reason !== null) finishReason = choice.finish_reason;
  }
  if (chunks === 0) throw new ResponseError('malformed', 'the event stream ended without an answer (no data events)', 'row');
  const message: Record<string, unknown> = { role: 'assistant', content: content ?? null };
  if (reasoning !== '') message.reasoning_content = reasoning;
  if (refusal !== undefined) message.refusal = refusal;
  return { model, choices: [{ index: 0, message, finish_reason: finishReason ?? null }], ...(usage ? { usage } : {}) };
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
