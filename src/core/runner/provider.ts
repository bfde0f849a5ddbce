import type { OpenAI } from 'openai';
import type { ModelConfig } from '../config/models';
import { MODEL_DEFAULTS } from '../config/models';
import { createOpenAIClient } from './openaiClient';
import type { OutgoingMessage } from './prompt';
import { BadCompletionError } from './retry';

export interface Completion {
  readonly output: string;
  readonly finishReason?: string;
  readonly usage?: { promptTokens?: number; completionTokens?: number };
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
  if (model.maxTokens !== undefined) body.max_tokens = model.maxTokens;
  return { ...body, ...(model.extraBody ?? {}), model: model.model, messages };
}

/** One chat-completions attempt. Throws openai errors, or BadCompletionError for an unusable 200. */
export async function completeOnce(client: OpenAI, body: Record<string, unknown>, signal: AbortSignal): Promise<Completion> {
  // openai never removes the abort listener it adds to a request's signal: give it a signal that dies
  // with this call, or a run's long-lived signal collects one listener per call (memory grows, adds slow down).
  const call = new AbortController();
  const forward = () => call.abort(signal.reason);
  if (signal.aborted) call.abort(signal.reason);
  else signal.addEventListener('abort', forward, { once: true });
  let response: unknown;
  try {
    response = (await client.chat.completions.create(body as never, { signal: call.signal })) as unknown;
  } finally {
    signal.removeEventListener('abort', forward);
  }
  const choices = (response as { choices?: unknown } | null)?.choices;
  if (!Array.isArray(choices)) throw new BadCompletionError('malformed', 'the response has no "choices" list');
  if (choices.length === 0) throw new BadCompletionError('empty-choices', 'the response has an empty "choices" list (no answer)');
  const choice = choices[0] as { message?: { content?: unknown; refusal?: unknown }; finish_reason?: unknown };
  const content = choice?.message?.content;
  if (typeof content !== 'string') {
    const refusal = choice?.message?.refusal;
    if (typeof refusal === 'string') throw new BadCompletionError('malformed', `the model refused: ${refusal}`);
    throw new BadCompletionError('malformed', 'the first choice has no message content');
  }
  const usage = (response as { usage?: { prompt_tokens?: unknown; completion_tokens?: unknown } }).usage;
  const completion: { -readonly [K in keyof Completion]: Completion[K] } = { output: content };
  if (typeof choice.finish_reason === 'string') completion.finishReason = choice.finish_reason;
  if (usage && (typeof usage.prompt_tokens === 'number' || typeof usage.completion_tokens === 'number')) {
    completion.usage = {
      ...(typeof usage.prompt_tokens === 'number' ? { promptTokens: usage.prompt_tokens } : {}),
      ...(typeof usage.completion_tokens === 'number' ? { completionTokens: usage.completion_tokens } : {}),
    };
  }
  return completion;
}
