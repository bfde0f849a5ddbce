// The batch APIs PiSAR Review drives: OpenAI's Files + Batches API (and the providers that speak it)
// and Anthropic's Message Batches. Each engine turns the product's chat requests into its own lines,
// submits them, reads a batch's state, and reads its results back as one outcome per custom_id.
import { guardedFetch } from '../http/transport';
import { errorReason } from '../http/errors';

/** One chat request of a batch: the body a live call would send, under its custom_id. */
export interface BatchRequest {
  readonly customId: string;
  readonly body: Record<string, unknown>;
}

import type { EngineName } from '../store/batchLedger';

export interface BatchState {
  readonly id: string;
  /** 'running' until the provider stops working on it (completed, expired, cancelled or failed). */
  readonly phase: 'running' | 'ended';
  /** The provider's own status word (validating, in_progress, completed, expired, ended, ...). */
  readonly status: string;
  readonly total: number;
  readonly done: number;
  readonly failed: number;
  /** Why the provider refused the whole batch (status failed), in its words. */
  readonly errors?: string;
  readonly outputFileId?: string;
  readonly errorFileId?: string;
  readonly resultsUrl?: string;
}

/** What one line of a batch's results says. 'requeue': not done (expired, cancelled): submit it again. */
export type BatchOutcome =
  | { readonly kind: 'answer'; readonly body: unknown }
  | { readonly kind: 'error'; readonly error: { kind: string; message: string; status?: number } }
  | { readonly kind: 'requeue'; readonly reason: string };

export interface BatchLine {
  readonly customId: string;
  readonly outcome: BatchOutcome;
}

export interface BatchEngine {
  readonly name: EngineName;
  /** Most requests and bytes in one batch (one input file for OpenAI). */
  readonly maxRequests: number;
  readonly maxBytes: number;
  /** The provider runs one model per batch. */
  readonly oneModelPerBatch: boolean;
  /** The bytes one request takes in the batch (for splitting at maxBytes). */
  encode(request: BatchRequest): string;
  /** Uploads the input (OpenAI: a file); undefined where requests go with the batch itself. */
  upload(lines: readonly string[]): Promise<string | undefined>;
  create(lines: readonly string[], inputFileId: string | undefined, metadata: Record<string, string>): Promise<string>;
  state(batchId: string): Promise<BatchState>;
  results(state: BatchState): Promise<BatchLine[]>;
  cancel(batchId: string): Promise<void>;
  /** Lists one batch: throws a BatchApiError saying why when this endpoint (or its key) cannot take batches. */
  probe(): Promise<void>;
}

export interface EngineOptions {
  readonly baseUrl: string;
  readonly apiKey?: string;
  /** Extra headers from the model's config (already checked to carry no credentials). */
  readonly headers?: Readonly<Record<string, string>>;
  /** Overrides of the provider's limits (tests). */
  readonly maxRequests?: number;
  readonly maxBytes?: number;
}

/** A batch API refused or failed a request: names the URL, the status and the server's reason. */
export class BatchApiError extends Error {
  constructor(message: string, readonly status?: number) {
    super(message);
    this.name = 'BatchApiError';
  }
}

const REQUEST_TIMEOUT_MS = 120_000;
/** Output files of 50,000 answers run to hundreds of MB. */
const MAX_FILE_BYTES = 1024 * 1024 * 1024;

async function call(url: string, init: RequestInit, what: string, maxBytes = 16 * 1024 * 1024): Promise<Response> {
  let response: Response;
  try {
    response = await guardedFetch({ timeoutMs: REQUEST_TIMEOUT_MS, maxResponseBytes: maxBytes })(url, init);
  } catch (err) {
    throw new BatchApiError(`${what}: cannot reach ${new URL(url).origin} (${(err as Error).message}); check "baseUrl" and that the server is running`);
  }
  if (!response.ok) {
    const text = await response.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // a text body is its own reason
    }
    const reason = errorReason(body).message ?? `HTTP ${response.status}`;
    const fix = response.status === 401 || response.status === 403 ? '; check the API key (the environment variable named by "apiKeyEnv")'
      : response.status === 404 ? `; check "baseUrl" (${url.replace(/\/(files|batches|messages\/batches).*$/, '')}): the server may not offer this batch API`
        : '';
    throw new BatchApiError(`${what}: ${new URL(url).origin} answered HTTP ${response.status}: ${reason}${fix}`, response.status);
  }
  return response;
}

async function json(url: string, init: RequestInit, what: string): Promise<Record<string, unknown>> {
  const response = await call(url, init, what);
  const text = await response.text();
  try {
    const value = JSON.parse(text) as unknown;
    if (value && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new BatchApiError(`${what}: ${new URL(url).origin} answered something that is not a JSON object (${text.slice(0, 120)})`);
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

function jsonLines(text: string): unknown[] {
  const out: unknown[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      out.push(JSON.parse(line));
    } catch {
      // a torn line names no custom_id: its request stays unanswered and is submitted again
    }
  }
  return out;
}

/** OpenAI's Batch API: upload a JSONL file (purpose "batch"), create a batch of /v1/chat/completions. */
export function openaiEngine(options: EngineOptions): BatchEngine {
  const base = trimSlash(options.baseUrl);
  const auth: Record<string, string> = { ...(options.headers ?? {}), ...(options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {}) };
  const jsonHeaders = { ...auth, 'content-type': 'application/json' };
  return {
    name: 'openai',
    maxRequests: options.maxRequests ?? 50_000,
    maxBytes: options.maxBytes ?? 200 * 1024 * 1024,
    oneModelPerBatch: true,
    encode: (r) => JSON.stringify({ custom_id: r.customId, method: 'POST', url: '/v1/chat/completions', body: r.body }),
    async upload(lines) {
      const form = new FormData();
      form.append('purpose', 'batch');
      form.append('file', new Blob([lines.join('\n') + '\n'], { type: 'application/jsonl' }), 'pisar-batch.jsonl');
      const file = await json(`${base}/files`, { method: 'POST', headers: auth, body: form }, 'uploading the batch input file');
      const id = str(file.id);
      if (!id) throw new BatchApiError(`uploading the batch input file: ${new URL(base).origin} answered no file id`);
      return id;
    },
    async create(_lines, inputFileId, metadata) {
      const batch = await json(`${base}/batches`, {
        method: 'POST', headers: jsonHeaders,
        body: JSON.stringify({ input_file_id: inputFileId, endpoint: '/v1/chat/completions', completion_window: '24h', metadata }),
      }, 'creating the batch');
      const id = str(batch.id);
      if (!id) throw new BatchApiError(`creating the batch: ${new URL(base).origin} answered no batch id`);
      return id;
    },
    async state(batchId) {
      const b = await json(`${base}/batches/${encodeURIComponent(batchId)}`, { headers: auth }, `reading batch ${batchId}`);
      const status = str(b.status) ?? 'unknown';
      const counts = (b.request_counts ?? {}) as Record<string, unknown>;
      const errors = ((b.errors as { data?: unknown } | null)?.data as Array<{ message?: unknown; line?: unknown }> | undefined)?.map((e) => `${typeof e.line === 'number' ? `line ${e.line}: ` : ''}${str(e.message) ?? ''}`).join('; ');
      return {
        id: batchId, status, phase: ['completed', 'expired', 'cancelled', 'failed'].includes(status) ? 'ended' : 'running',
        total: num(counts.total), done: num(counts.completed), failed: num(counts.failed),
        ...(errors ? { errors } : {}),
        ...(str(b.output_file_id) ? { outputFileId: str(b.output_file_id) } : {}),
        ...(str(b.error_file_id) ? { errorFileId: str(b.error_file_id) } : {}),
      };
    },
    async results(state) {
      const lines: BatchLine[] = [];
      for (const fileId of [state.outputFileId, state.errorFileId]) {
        if (!fileId) continue;
        const response = await call(`${base}/files/${encodeURIComponent(fileId)}/content`, { headers: auth }, `reading file ${fileId} of batch ${state.id}`, MAX_FILE_BYTES);
        for (const value of jsonLines(await response.text())) {
          const line = value as { custom_id?: unknown; response?: { status_code?: unknown; body?: unknown } | null; error?: { code?: unknown; message?: unknown } | null };
          const customId = str(line?.custom_id);
          if (!customId) continue;
          lines.push({ customId, outcome: openaiOutcome(line) });
        }
      }
      return lines;
    },
    async cancel(batchId) {
      await json(`${base}/batches/${encodeURIComponent(batchId)}/cancel`, { method: 'POST', headers: jsonHeaders, body: '{}' }, `cancelling batch ${batchId}`);
    },
    async probe() {
      await json(`${base}/batches?limit=1`, { headers: auth }, 'listing batches (GET /batches)');
    },
  };
}

/** One line of an OpenAI (or vLLM run-batch) output or error file. */
export function openaiOutcome(line: { response?: { status_code?: unknown; body?: unknown } | null; error?: { code?: unknown; message?: unknown } | null }): BatchOutcome {
  const code = str(line.error?.code);
  if (code === 'batch_expired' || code === 'batch_cancelled') return { kind: 'requeue', reason: code === 'batch_expired' ? 'the batch expired before this request ran' : 'the batch was cancelled before this request ran' };
  const status = typeof line.response?.status_code === 'number' ? line.response.status_code : undefined;
  if (line.response && status !== undefined && status >= 200 && status < 300) return { kind: 'answer', body: line.response.body };
  if (line.response && status !== undefined) {
    const reason = errorReason(line.response.body).message ?? `HTTP ${status}`;
    return { kind: 'error', error: { kind: status === 429 ? 'rate-limit' : status >= 500 ? 'server' : 'request', message: `HTTP ${status}: ${reason} (in the batch)`, status } };
  }
  if (line.error) return { kind: 'error', error: { kind: 'batch-line', message: `${code ?? 'error'}: ${str(line.error.message) ?? 'the batch line failed'}` } };
  return { kind: 'error', error: { kind: 'malformed', message: 'the batch output line has neither a response nor an error' } };
}

/** Anthropic's Message Batches: requests go with the batch; results are JSONL at results_url. */
export function anthropicEngine(options: EngineOptions): BatchEngine {
  const base = trimSlash(options.baseUrl);
  const headers: Record<string, string> = { ...(options.headers ?? {}), 'anthropic-version': '2023-06-01', ...(options.apiKey ? { 'x-api-key': options.apiKey } : {}) };
  return {
    name: 'anthropic',
    maxRequests: options.maxRequests ?? 100_000,
    maxBytes: options.maxBytes ?? 256 * 1024 * 1024,
    oneModelPerBatch: false,
    encode: (r) => JSON.stringify({ custom_id: r.customId, params: anthropicParams(r.body) }),
    upload: async () => undefined,
    async create(lines) {
      const body = `{"requests":[${lines.join(',')}]}`;
      const batch = await json(`${base}/messages/batches`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body }, 'creating the message batch');
      const id = str(batch.id);
      if (!id) throw new BatchApiError(`creating the message batch: ${new URL(base).origin} answered no batch id`);
      return id;
    },
    async state(batchId) {
      const b = await json(`${base}/messages/batches/${encodeURIComponent(batchId)}`, { headers }, `reading message batch ${batchId}`);
      const status = str(b.processing_status) ?? 'unknown';
      const c = (b.request_counts ?? {}) as Record<string, unknown>;
      const done = num(c.succeeded) + num(c.errored) + num(c.canceled) + num(c.expired);
      return {
        id: batchId, status, phase: status === 'ended' ? 'ended' : 'running', total: done + num(c.processing), done, failed: num(c.errored),
        ...(str(b.results_url) ? { resultsUrl: str(b.results_url) } : {}),
      };
    },
    async results(state) {
      if (!state.resultsUrl) return [];
      // results_url is the provider's own; it is read only on the configured origin (the key goes nowhere else).
      const url = new URL(state.resultsUrl, base);
      if (url.origin !== new URL(base).origin) throw new BatchApiError(`message batch ${state.id}: results_url ${url.origin} is another origin than ${new URL(base).origin}; the key is not sent there`);
      const response = await call(url.toString(), { headers }, `reading the results of message batch ${state.id}`, MAX_FILE_BYTES);
      const lines: BatchLine[] = [];
      for (const value of jsonLines(await response.text())) {
        const line = value as { custom_id?: unknown; result?: { type?: unknown; message?: unknown; error?: unknown } };
        const customId = str(line?.custom_id);
        if (customId) lines.push({ customId, outcome: anthropicOutcome(line.result) });
      }
      return lines;
    },
    async cancel(batchId) {
      await json(`${base}/messages/batches/${encodeURIComponent(batchId)}/cancel`, { method: 'POST', headers }, `cancelling message batch ${batchId}`);
    },
    async probe() {
      await json(`${base}/messages/batches?limit=1`, { headers }, 'listing message batches (GET /messages/batches)');
    },
  };
}

function anthropicOutcome(result: { type?: unknown; message?: unknown; error?: unknown } | undefined): BatchOutcome {
  switch (result?.type) {
    case 'succeeded': {
      const m = (result.message ?? {}) as { content?: Array<{ type?: unknown; text?: unknown }>; stop_reason?: unknown; usage?: { input_tokens?: unknown; output_tokens?: unknown }; model?: unknown };
      const text = (m.content ?? []).filter((b) => b?.type === 'text' && typeof b.text === 'string').map((b) => b.text as string).join('');
      // As a chat completion, so the one parser (reasoning, empty answers, finish reasons) reads it.
      const finish = m.stop_reason === 'max_tokens' ? 'length' : 'stop';
      return { kind: 'answer', body: { model: m.model, choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: finish }], usage: { prompt_tokens: m.usage?.input_tokens, completion_tokens: m.usage?.output_tokens } } };
    }
    case 'errored': {
      const inner = (result.error as { error?: { type?: unknown; message?: unknown } } | undefined)?.error;
      return { kind: 'error', error: { kind: 'request', message: `${str(inner?.type) ?? 'error'}: ${str(inner?.message) ?? 'the request failed'} (in the batch)` } };
    }
    case 'canceled':
      return { kind: 'requeue', reason: 'the batch was cancelled before this request ran' };
    case 'expired':
      return { kind: 'requeue', reason: 'the batch expired before this request ran' };
    default:
      return { kind: 'error', error: { kind: 'malformed', message: `the result has an unknown type ${JSON.stringify(result?.type)}` } };
  }
}

/** An OpenAI chat body as Anthropic Messages params: system apart, image parts as image blocks, max_tokens required. */
export function anthropicParams(body: Record<string, unknown>): Record<string, unknown> {
  const messages = (body.messages ?? []) as Array<{ role: string; content: unknown }>;
  const system = messages.filter((m) => m.role === 'system').map((m) => textOf(m.content)).join('\n\n');
  const params: Record<string, unknown> = {
    model: body.model,
    max_tokens: typeof body.max_tokens === 'number' ? body.max_tokens : typeof body.max_completion_tokens === 'number' ? body.max_completion_tokens : 1024,
    messages: messages.filter((m) => m.role !== 'system').map((m) => ({ role: m.role === 'assistant' ? 'assistant' : 'user', content: anthropicContent(m.content) })),
  };
  if (system) params.system = system;
  if (typeof body.temperature === 'number') params.temperature = Math.min(1, body.temperature);
  return params;
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((p) => (typeof (p as { text?: unknown })?.text === 'string' ? (p as { text: string }).text : '')).join('');
  return '';
}

function anthropicContent(content: unknown): unknown {
  if (!Array.isArray(content)) return typeof content === 'string' ? content : '';
  return content.map((part: { type?: string; text?: string; image_url?: { url?: string } }) => {
    if (part?.type === 'image_url' && typeof part.image_url?.url === 'string') {
      const url = part.image_url.url;
      const data = /^data:([^;,]+);base64,(.*)$/s.exec(url);
      return data ? { type: 'image', source: { type: 'base64', media_type: data[1], data: data[2] } } : { type: 'image', source: { type: 'url', url } };
    }
    return { type: 'text', text: part?.text ?? '' };
  });
}

export function engineFor(name: EngineName, options: EngineOptions): BatchEngine {
  return name === 'anthropic' ? anthropicEngine(options) : openaiEngine(options);
}
