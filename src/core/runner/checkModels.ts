import type { ModelConfig } from '../config/models';
import { redactCredentials } from '../security/redact';
import { createClient, requestBody } from './provider';
import { looksLikeHtml, rawErrorBody, ResponseError } from '../http/errors';
import { contentText, parseChatResponse, stripThinking, visibleAnswer } from './responses';
import { classifyFailure } from '../http/retry';

/**
 * One cheap look at each configured model before a run: is the server there, is the key accepted,
 * does the model exist, does it answer, and which dialect quirks its answer has. Used by
 * `pisar-review check-models` and the "PiSAR Review: Check Models" command.
 */
export interface ModelCheck {
  readonly name: string;
  readonly baseUrl: string;
  readonly model: string;
  /** The model answered a short prompt with text that would be stored. */
  ok: boolean;
  /** The server answered HTTP at all (false: connection refused, DNS, timeout). */
  reachable: boolean;
  /** false: 401/403 or a quota error; null: not known (the server was not reached, or no key was sent because it is not set). */
  keyAccepted: boolean | null;
  /** Set when the model has a key source but no key was set there: what is missing, for people ("PISAR_KEY is not set"). */
  keyNotSet?: string;
  /** A key was sent with the requests. */
  keySent: boolean;
  /** true/false from the server's model list or its answer; null when it has no list and did not say. */
  modelFound: boolean | null;
  /** The answer as stored (trimmed, at most 200 characters). */
  answer?: string;
  latencyMs?: number;
  /** What was seen that a plain OpenAI server would not do (each handled by the runner, named for the record). */
  quirks: string[];
  /** The failure of the check, with its kind (as stored in results) and message. */
  error?: { kind: string; message: string };
  /** What to change, when the check failed. */
  fix?: string;
}

/** What check-models sends: short and cheap. */
export const CHECK_PROMPT = 'Reply with the single word: OK';
const CHECK_MAX_TOKENS = 64;
const CHECK_TIMEOUT_MS = 30_000;

/** Where a model's key should have come from, when it was not set: said instead of "key refused" if the server asks for one. */
export interface MissingKey {
  /** What is missing, for people: "PISAR_KEY is not set". */
  readonly what: string;
  /** How to set it. */
  readonly fix: string;
}

export async function checkModel(config: ModelConfig, apiKey: string | undefined, missingKey?: MissingKey): Promise<ModelCheck> {
  const check: ModelCheck = { name: config.name, baseUrl: config.baseUrl, model: config.model, ok: false, reachable: false, keyAccepted: null, keySent: apiKey !== undefined, modelFound: null, quirks: [] };
  const mask = (text: string) => redactCredentials(text, [apiKey]);
  const client = createClient({ ...config, timeoutMs: Math.min(config.timeoutMs ?? CHECK_TIMEOUT_MS, CHECK_TIMEOUT_MS) }, apiKey);
  const fail = (err: unknown) => {
    const failure = classifyFailure(err, { name: config.name, baseUrl: config.baseUrl, model: config.model });
    check.error = { kind: failure.kind, message: mask(failure.message) };
    check.fix = mask(failure.fix ?? fixFor(failure.kind, config));
    if (failure.status !== undefined || !['unreachable', 'connection', 'timeout'].includes(failure.kind)) check.reachable = true;
    if (failure.kind === 'not-found') check.modelFound = check.modelFound ?? false;
    if (failure.kind === 'auth' && apiKey === undefined && missingKey) {
      // No key was sent: the server refused a request without one, not a key.
      check.keyNotSet = missingKey.what;
      check.keyAccepted = null;
      check.error = { kind: failure.kind, message: mask(`${missingKey.what}, so no key was sent; the server asks for one (${failure.message})`) };
      check.fix = mask(missingKey.fix);
    } else if (failure.kind === 'auth') {
      check.keyAccepted = false;
      check.error = { kind: failure.kind, message: mask(`key refused: ${failure.message}`) };
    } else if (failure.kind === 'quota') check.keyAccepted = false;
  };

  // 1. The model list (GET /models): reachability, the key, and whether the model exists.
  try {
    const list = (await client.get('/models')) as unknown;
    if (typeof list === 'string' && looksLikeHtml(list)) throw new ResponseError('not-api', 'the server answered GET /models with an HTML page, not the API', 'model');
    check.reachable = true;
    check.keyAccepted = true;
    const ids = modelIds(list);
    if (typeof list === 'string') check.quirks.push('models-list-not-json');
    else if (ids) check.modelFound = ids.length === 0 ? null : ids.includes(config.model);
  } catch (err) {
    const failure = classifyFailure(err, { name: config.name, baseUrl: config.baseUrl, model: config.model });
    if (failure.kind === 'unreachable' || failure.kind === 'connection' || failure.kind === 'timeout' || failure.kind === 'auth' || failure.kind === 'not-api' || failure.kind === 'quota') {
      fail(err);
      return check;
    }
    check.reachable = true;
    check.quirks.push(`no-models-list (${failure.message})`);
  }

  // 2. One short chat request: does it answer, and how.
  const body = requestBody({ ...config, maxTokens: Math.max(config.maxTokens ?? 0, CHECK_MAX_TOKENS) }, [{ role: 'user', content: CHECK_PROMPT }]);
  const started = performance.now();
  try {
    const { data, response } = await client.post('/chat/completions', { body }).withResponse();
    check.latencyMs = Math.round(performance.now() - started);
    check.keyAccepted = true;
    const raw = data as unknown;
    if (typeof raw === 'string') check.quirks.push(`answer sent as ${response.headers.get('content-type') ?? 'no content type'}, not application/json`);
    const parsedBody = typeof raw === 'string' ? safeJson(raw) : raw;
    noteQuirks(parsedBody, check.quirks, response.status);
    const answer = parseChatResponse(raw, { name: config.name, baseUrl: config.baseUrl, model: config.model });
    const visible = visibleAnswer(answer.text, { keepThinking: config.keepThinking }, answer.finishReason);
    check.modelFound = check.modelFound ?? true;
    check.answer = visible.output.trim().slice(0, 200);
    if (check.answer === '') {
      check.error = { kind: 'empty', message: 'the model answered with empty text' };
      check.fix = `Check "model" ("${config.model}") and the prompt settings of "${config.name}".`;
    } else check.ok = true;
  } catch (err) {
    check.latencyMs = Math.round(performance.now() - started);
    const rawBody = rawErrorBody(err);
    // Only HTTP errors keep their raw body: an error body there is the plain case, not one inside a 200.
    if (rawBody !== undefined) noteQuirks(typeof rawBody === 'string' ? safeJson(rawBody) : rawBody, check.quirks, classifyFailure(err).status);
    fail(err);
  }
  return check;
}

/** The key's state as a word for people: accepted, refused, what is not set, none needed, or unknown. */
export function keyStateText(check: Pick<ModelCheck, 'keyAccepted' | 'keyNotSet' | 'keySent'>): string {
  if (check.keyNotSet !== undefined) return check.keyNotSet;
  if (check.keyAccepted === false) return 'REFUSED';
  if (check.keyAccepted === null) return '?';
  return check.keySent ? 'accepted' : 'none needed';
}

function fixFor(kind: string, config: ModelConfig): string {
  switch (kind) {
    case 'auth':
      return `Check the API key for "${config.name}" (CLI: the environment variable named by "apiKeyEnv"${config.apiKeyEnv ? `, ${config.apiKeyEnv}` : ''}; VS Code: "PiSAR Review: Set API Key").`;
    case 'not-found':
      return `Check "model" ("${config.model}") and "baseUrl" (${config.baseUrl}) of "${config.name}".`;
    case 'unreachable':
    case 'connection':
    case 'timeout':
      return `Check that the server at ${config.baseUrl} is running and reachable.`;
    case 'cut-off':
    case 'reasoning-only':
      return `Raise "maxTokens" of "${config.name}" (reasoning models spend tokens thinking before they answer).`;
    default:
      return `See the message; the run would store this as "${kind}".`;
  }
}

function modelIds(list: unknown): string[] | undefined {
  const data = (list as { data?: unknown; models?: unknown } | null)?.data ?? (list as { models?: unknown } | null)?.models;
  if (!Array.isArray(data)) return undefined;
  return data.map((m) => (m && typeof m === 'object' ? String((m as { id?: unknown; name?: unknown; model?: unknown }).id ?? (m as { name?: unknown }).name ?? (m as { model?: unknown }).model ?? '') : String(m)));
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Dialect quirks seen in an answer body of HTTP `status` (handled by the runner; named so the user knows). */
function noteQuirks(body: unknown, quirks: string[], status: number | undefined): void {
  if (!body || typeof body !== 'object') return;
  const obj = body as Record<string, unknown>;
  if (obj.object === 'error') quirks.push('errors as {"object":"error"} (vLLM style)');
  if (typeof obj.error === 'string') quirks.push('errors as {"error":"text"} (Ollama style)');
  const answered = status === undefined || (status >= 200 && status < 300);
  if (answered && obj.error && typeof obj.error === 'object' && !('choices' in obj)) quirks.push('error inside a 200 answer (OpenRouter style)');
  const choice = Array.isArray(obj.choices) ? (obj.choices[0] as { message?: Record<string, unknown>; finish_reason?: unknown } | undefined) : undefined;
  if (!choice) return;
  const message = choice.message ?? {};
  if (Array.isArray(message.content)) quirks.push('content as a list of parts (Mistral style)');
  if (typeof message.reasoning_content === 'string' || typeof message.reasoning === 'string') quirks.push('reasoning_content beside the answer (reasoning model)');
  const text = contentText(message.content);
  if (text !== undefined && stripThinking(text).hadThinking) quirks.push('reasoning blocks in content (<think> or another markup; removed before scoring; "keepThinking" keeps them)');
  if (choice.finish_reason !== undefined && choice.finish_reason !== 'stop' && choice.finish_reason !== null) quirks.push(`finish_reason "${String(choice.finish_reason)}"`);
  if (choice.finish_reason === undefined || choice.finish_reason === null) quirks.push('no finish_reason');
  if (obj.usage === undefined || obj.usage === null) quirks.push('no token usage');
}
