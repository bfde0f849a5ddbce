import type { OpenAI } from 'openai';
import type { ModelConfig } from '../config/models';
import { MODEL_DEFAULTS } from '../config/models';
import type { OutgoingMessage } from './prompt';
import { createOpenAIClient } from '../http/openaiClient';
import type { RequestPlace } from '../http/errors';
import { parseChatResponse, visibleAnswer, type ReasoningOptions } from './responses';
import type { ReasoningStripped } from '../rules/reasoning';

export interface Completion {
  /** What is stored and scored (without `<think>` blocks unless the model keeps them). */
  readonly output: string;
  /** The text as the model wrote it, when it differs from `output`. */
  readonly rawOutput?: string;
  /** The reasoning removed from `rawOutput` before scoring. */
  readonly reasoningStripped?: ReasoningStripped;
  readonly finishReason?: string;
  readonly usage?: { promptTokens?: number; completionTokens?: number };
  /** The model the server says answered (`response.model`); may differ from the one asked. */
  readonly answeredBy?: string;
}

/** The openai client for one configured model (see createOpenAIClient: the one factory). */
export function createClient(model: ModelConfig, apiKey: string | undefined): OpenAI {
  return createOpenAIClient({
    baseUrl: model.baseUrl,
    apiKey,
    headers: model.headers,
    timeoutMs: model.timeoutMs ?? MODEL_DEFAULTS.timeoutMs,
    maxResponseBytes: model.maxResponseBytes,
  });
}

/** The request body for a model and messages: the config's parameters, then its extra fields. */
export function requestBody(model: ModelConfig, messages: OutgoingMessage[]): Record<string, unknown> {
  const body: Record<string, unknown> = { model: model.model, messages };
  if (model.temperature !== undefined) body.temperature = model.temperature;
  if (model.maxTokens !== undefined) body[model.maxTokensParam ?? 'max_tokens'] = model.maxTokens;
  return { ...body, ...(model.extraBody ?? {}), model: model.model, messages, ...(model.stream ? { stream: true } : {}) };
}

/** One chat-completions attempt. Throws openai errors, or ResponseError for a 2xx that is not a usable answer. */
export async function completeOnce(client: OpenAI, body: Record<string, unknown>, signal: AbortSignal, reasoning?: ReasoningOptions, place: RequestPlace = {}): Promise<Completion> {
  // openai never removes the abort listener it adds to a request's signal: give it a signal that dies
  // with this call, or a run's long-lived signal collects one listener per call (memory grows, adds slow down).
  const call = new AbortController();
  const forward = () => call.abort(signal.reason);
  if (signal.aborted) call.abort(signal.reason);
  else signal.addEventListener('abort', forward, { once: true });
  let response: unknown;
  try {
    // The body exactly as built (a `stream: true` answer is read whole, as an event stream, by parseChatResponse).
    response = await client.post('/chat/completions', { body, signal: call.signal });
  } finally {
    signal.removeEventListener('abort', forward);
  }
  return completionOf(response, body.model, reasoning, place);
}

/** A chat-completions answer body (a live call's, or a line of a batch's output file) as stored and scored. */
export function completionOf(response: unknown, askedModel: unknown, reasoning?: ReasoningOptions, place: RequestPlace = {}): Completion {
  const answer = parseChatResponse(response, place);
  return {
    ...visibleAnswer(answer.text, reasoning, answer.finishReason),
    ...(answer.finishReason ? { finishReason: answer.finishReason } : {}),
    ...(answer.usage ? { usage: answer.usage } : {}),
    // Recorded where the server says another model answered than the one asked (a fallback, a dated snapshot, a deployment's model).
    ...(answer.model !== undefined && answer.model !== askedModel ? { answeredBy: answer.model } : {}),
  };
}

/** A cached answer as shown and scored under the model's current `keepThinking`; undefined when it is no answer under it. */
export function cachedAnswer<C extends Omit<Completion, 'usage'>>(c: C | undefined, reasoning: ReasoningOptions | undefined): C | undefined {
  if (!c) return undefined;
  try {
    const { rawOutput: _raw, reasoningStripped: _stripped, ...rest } = c;
    return { ...rest, ...visibleAnswer(c.rawOutput ?? c.output, reasoning, c.finishReason) } as C;
  } catch {
    return undefined;
  }
}
