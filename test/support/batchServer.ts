// A real HTTP server on 127.0.0.1 that implements OpenAI's Files and Batches API (upload multipart
// purpose=batch, create, retrieve, cancel, output and error files, expiry) and Anthropic's Message
// Batches (create, retrieve, cancel, results_url JSONL, x-api-key + anthropic-version), for tests.
// Batches stay in progress until the test finishes them (finishAll) or lets them expire part done.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

interface OpenAIBatch {
  id: string;
  inputFileId: string;
  lines: Array<{ custom_id: string; body: { model?: string; messages?: Array<{ role: string; content: unknown }> } }>;
  status: string;
  outputFileId?: string;
  errorFileId?: string;
  errors?: string;
  completed: number;
  failed: number;
  /** Lines run so far while in progress (advance); a cancel keeps them. */
  run?: number;
}

interface AnthropicBatch {
  id: string;
  requests: Array<{ custom_id: string; params: { model?: string; messages?: Array<{ role: string; content: unknown }>; max_tokens?: unknown } }>;
  status: 'in_progress' | 'canceling' | 'ended';
  results?: string;
  counts: { processing: number; succeeded: number; errored: number; canceled: number; expired: number };
  /** Requests run so far while in progress (advance); a cancel keeps them. */
  run?: number;
}

export interface BatchServerOptions {
  /** Only this key is accepted (Bearer for OpenAI, x-api-key for Anthropic). */
  requireKey?: string;
  /** The answer's text for a request's last user turn (default `Rationale: <prompt>`); a prompt holding "badline" is refused either way. */
  respond?: (prompt: string, model: string | undefined) => string;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown, type = 'application/json'): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** The file part of a multipart/form-data body, and its other fields. */
function multipart(body: Buffer, contentType: string): { fields: Record<string, string>; file?: string } {
  const boundary = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType);
  if (!boundary) return { fields: {} };
  const marker = `--${boundary[1] ?? boundary[2]}`;
  const fields: Record<string, string> = {};
  let file: string | undefined;
  for (const part of body.toString('utf8').split(marker)) {
    const split = part.indexOf('\r\n\r\n');
    if (split < 0) continue;
    const headers = part.slice(0, split);
    const content = part.slice(split + 4).replace(/\r\n$/, '');
    const name = /name="([^"]+)"/i.exec(headers)?.[1];
    if (!name) continue;
    if (/filename=/i.test(headers)) file = content;
    else fields[name] = content;
  }
  return { fields, file };
}

function lastUserText(messages: Array<{ role: string; content: unknown }> | undefined): string {
  const last = [...(messages ?? [])].reverse().find((m) => m.role === 'user');
  if (!last) return '';
  if (typeof last.content === 'string') return last.content;
  return (last.content as Array<{ text?: string }>).map((p) => p.text ?? '').join('');
}

export class BatchServer {
  readonly files = new Map<string, string>();
  readonly openaiBatches = new Map<string, OpenAIBatch>();
  readonly anthropicBatches = new Map<string, AnthropicBatch>();
  /** Every batch creation received (OpenAI and Anthropic). */
  creates = 0;
  uploads = 0;
  /** Reads of one batch's state (GET /batches/{id}, /messages/batches/{id}). */
  reads = 0;
  /** Batch lists (GET /batches, /messages/batches: a client asking whether the endpoint takes batches). */
  lists = 0;
  /** Cancels received. */
  cancels = 0;
  private seq = 0;
  private constructor(private readonly server: Server, readonly url: string, private readonly options: BatchServerOptions) {}

  static async start(options: BatchServerOptions = {}): Promise<BatchServer> {
    const holder: { self?: BatchServer } = {};
    const server = createServer((req, res) => void holder.self!.handle(req, res).catch((err: Error) => send(res, 500, { error: { message: err.message } })));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    holder.self = new BatchServer(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, options);
    return holder.self;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  /** Runs every line of every batch in progress. */
  finishAll(): void {
    for (const b of this.openaiBatches.values()) if (b.status === 'in_progress' || b.status === 'validating') this.finishOpenAI(b, b.lines.length, 'completed');
    for (const b of this.anthropicBatches.values()) if (b.status !== 'ended') this.finishAnthropic(b, b.requests.length, 'expired');
  }

  /** The batch ends by expiry with only its first `fraction` of lines run. */
  expire(batchId: string, fraction: number): void {
    const o = this.openaiBatches.get(batchId);
    if (o) return this.finishOpenAI(o, Math.round(o.lines.length * fraction), 'expired');
    const a = this.anthropicBatches.get(batchId)!;
    this.finishAnthropic(a, Math.round(a.requests.length * fraction), 'expired');
  }

  /** The batch runs its first `fraction` of lines and stays in progress (its counts say so; a cancel keeps them). */
  advance(batchId: string, fraction: number): void {
    const o = this.openaiBatches.get(batchId);
    if (o) {
      o.run = Math.round(o.lines.length * fraction);
      return;
    }
    const a = this.anthropicBatches.get(batchId)!;
    a.run = Math.round(a.requests.length * fraction);
    a.counts.processing = a.requests.length - a.run;
    a.counts.succeeded = a.run;
  }

  private id(prefix: string): string {
    return `${prefix}${String(++this.seq).padStart(6, '0')}`;
  }

  private text(prompt: string, model: string | undefined): string {
    return this.options.respond?.(prompt, model) ?? `Rationale: ${prompt}`;
  }

  private answer(model: string | undefined, prompt: string): { status: number; body: unknown } {
    if (prompt.includes('badline')) return { status: 400, body: { error: { message: `Invalid prompt for ${model}: badline`, type: 'invalid_request_error' } } };
    return { status: 200, body: { id: this.id('chatcmpl-'), object: 'chat.completion', model, choices: [{ index: 0, message: { role: 'assistant', content: this.text(prompt, model) }, finish_reason: 'stop' }], usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 } } };
  }

  private finishOpenAI(b: OpenAIBatch, run: number, status: 'completed' | 'expired' | 'cancelled'): void {
    const output: string[] = [];
    const errors: string[] = [];
    b.lines.forEach((line, i) => {
      if (i < run) {
        const { status: code, body } = this.answer(line.body.model, lastUserText(line.body.messages));
        output.push(JSON.stringify({ id: this.id('batch_req_'), custom_id: line.custom_id, response: { status_code: code, request_id: this.id('req_'), body }, error: null }));
        if (code === 200) b.completed++;
        else b.failed++;
      } else {
        const code = status === 'expired' ? 'batch_expired' : 'batch_cancelled';
        errors.push(JSON.stringify({ id: this.id('batch_req_'), custom_id: line.custom_id, response: null, error: { code, message: 'This request could not be executed before the completion window expired.' } }));
      }
    });
    if (output.length > 0) this.files.set((b.outputFileId = this.id('file-')), output.join('\n') + '\n');
    if (errors.length > 0) this.files.set((b.errorFileId = this.id('file-')), errors.join('\n') + '\n');
    b.status = status;
  }

  private finishAnthropic(b: AnthropicBatch, run: number, rest: 'expired' | 'canceled'): void {
    b.counts = { processing: 0, succeeded: 0, errored: 0, canceled: 0, expired: 0 };
    const lines = b.requests.map((r, i) => {
      if (i >= run) {
        b.counts[rest]++;
        return { custom_id: r.custom_id, result: { type: rest } };
      }
      const prompt = lastUserText(r.params.messages);
      if (prompt.includes('badline')) {
        b.counts.errored++;
        return { custom_id: r.custom_id, result: { type: 'errored', error: { type: 'error', error: { type: 'invalid_request_error', message: 'Invalid prompt: badline' } } } };
      }
      b.counts.succeeded++;
      return { custom_id: r.custom_id, result: { type: 'succeeded', message: { id: this.id('msg_'), type: 'message', role: 'assistant', model: r.params.model, content: [{ type: 'text', text: this.text(prompt, r.params.model) }], stop_reason: 'end_turn', usage: { input_tokens: 10, output_tokens: 5 } } } };
    });
    b.counts.processing = 0;
    b.results = lines.map((l) => JSON.stringify(l)).join('\n') + '\n';
    b.status = 'ended';
  }

  private openaiBatchJson(b: OpenAIBatch): unknown {
    return {
      id: b.id, object: 'batch', endpoint: '/v1/chat/completions', input_file_id: b.inputFileId, completion_window: '24h', status: b.status,
      output_file_id: b.outputFileId ?? null, error_file_id: b.errorFileId ?? null, errors: b.errors ? { object: 'list', data: [{ code: 'invalid_request', message: b.errors, line: null }] } : null,
      request_counts: { total: b.lines.length, completed: b.status === 'in_progress' ? b.run ?? 0 : b.completed, failed: b.failed }, created_at: 1,
    };
  }

  private anthropicBatchJson(b: AnthropicBatch): unknown {
    return {
      id: b.id, type: 'message_batch', processing_status: b.status, request_counts: b.counts, created_at: '2026-01-01T00:00:00Z', expires_at: '2026-01-02T00:00:00Z',
      ended_at: b.status === 'ended' ? '2026-01-01T01:00:00Z' : null, results_url: b.status === 'ended' ? `${this.url}/messages/batches/${b.id}/results` : null,
    };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const route = (req.url ?? '').split('?')[0].replace(/^\/v1/, '');
    const body = await readBody(req);
    const anthropic = route.startsWith('/messages/batches');
    if (this.options.requireKey !== undefined) {
      const given = anthropic ? req.headers['x-api-key'] : req.headers.authorization?.replace(/^Bearer /, '');
      if (given !== this.options.requireKey) return send(res, 401, { error: { message: 'Incorrect API key provided', type: 'authentication_error' } });
    }
    if (anthropic && req.headers['anthropic-version'] !== '2023-06-01') return send(res, 400, { type: 'error', error: { type: 'invalid_request_error', message: 'anthropic-version header is required' } });
    let m: RegExpExecArray | null;
    if (req.method === 'POST' && route === '/files') {
      const { fields, file } = multipart(body, req.headers['content-type'] ?? '');
      if (fields.purpose !== 'batch' || file === undefined) return send(res, 400, { error: { message: 'expected multipart purpose=batch and a file', type: 'invalid_request_error' } });
      this.uploads++;
      const id = this.id('file-');
      this.files.set(id, file);
      return send(res, 200, { id, object: 'file', bytes: Buffer.byteLength(file), filename: 'input.jsonl', purpose: 'batch' });
    }
    if (req.method === 'GET' && (m = /^\/files\/([^/]+)\/content$/.exec(route))) {
      const file = this.files.get(decodeURIComponent(m[1]));
      return file === undefined ? send(res, 404, { error: { message: 'No such file' } }) : send(res, 200, file, 'application/octet-stream');
    }
    if (req.method === 'POST' && route === '/batches') {
      const params = JSON.parse(body.toString('utf8')) as { input_file_id?: string; endpoint?: string; completion_window?: string };
      const file = this.files.get(params.input_file_id ?? '');
      if (file === undefined) return send(res, 400, { error: { message: `No such file: ${params.input_file_id}` } });
      if (params.endpoint !== '/v1/chat/completions' || params.completion_window !== '24h') return send(res, 400, { error: { message: 'endpoint and completion_window are required' } });
      this.creates++;
      const lines = file.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as OpenAIBatch['lines'][number] & { method?: string; url?: string });
      const b: OpenAIBatch = { id: this.id('batch_'), inputFileId: params.input_file_id!, lines, status: 'in_progress', completed: 0, failed: 0 };
      const models = new Set(lines.map((l) => l.body.model));
      const ids = new Set(lines.map((l) => l.custom_id));
      if (models.size > 1) b.errors = 'The input file must hold requests for a single model';
      else if (ids.size !== lines.length) b.errors = 'custom_id values must be unique';
      else if (lines.some((l) => l.method !== 'POST' || l.url !== '/v1/chat/completions' || l.custom_id.length > 64)) b.errors = 'each line needs method POST, url /v1/chat/completions and a custom_id of at most 64 characters';
      else if (lines.length > 50_000) b.errors = 'at most 50,000 requests per batch';
      if (b.errors) b.status = 'failed';
      this.openaiBatches.set(b.id, b);
      return send(res, 200, this.openaiBatchJson(b));
    }
    if (req.method === 'GET' && route === '/batches') {
      this.lists++;
      return send(res, 200, { object: 'list', data: [...this.openaiBatches.values()].slice(-1).map((b) => this.openaiBatchJson(b)), has_more: this.openaiBatches.size > 1 });
    }
    if ((m = /^\/batches\/([^/]+)(\/cancel)?$/.exec(route))) {
      if (!m[2]) this.reads++;
      const b = this.openaiBatches.get(decodeURIComponent(m[1]));
      if (!b) return send(res, 404, { error: { message: 'No such batch' } });
      if (m[2] && req.method === 'POST') this.cancels++;
      if (m[2] && req.method === 'POST' && b.status === 'in_progress') this.finishOpenAI(b, b.run ?? 0, 'cancelled');
      return send(res, 200, this.openaiBatchJson(b));
    }
    if (req.method === 'POST' && route === '/messages/batches') {
      const params = JSON.parse(body.toString('utf8')) as { requests?: AnthropicBatch['requests'] };
      const requests = params.requests ?? [];
      const bad = requests.find((r) => !/^[a-zA-Z0-9_-]{1,64}$/.test(r.custom_id) || typeof r.params?.max_tokens !== 'number');
      if (bad) return send(res, 400, { type: 'error', error: { type: 'invalid_request_error', message: `requests: custom_id must match ^[a-zA-Z0-9_-]{1,64}$ and params need max_tokens (${bad.custom_id})` } });
      if (requests.length > 100_000) return send(res, 400, { type: 'error', error: { type: 'invalid_request_error', message: 'at most 100,000 requests per batch' } });
      this.creates++;
      const b: AnthropicBatch = { id: this.id('msgbatch_'), requests, status: 'in_progress', counts: { processing: requests.length, succeeded: 0, errored: 0, canceled: 0, expired: 0 } };
      this.anthropicBatches.set(b.id, b);
      return send(res, 200, this.anthropicBatchJson(b));
    }
    if (req.method === 'GET' && route === '/messages/batches') {
      this.lists++;
      return send(res, 200, { data: [...this.anthropicBatches.values()].slice(-1).map((b) => this.anthropicBatchJson(b)), has_more: this.anthropicBatches.size > 1 });
    }
    if ((m = /^\/messages\/batches\/([^/]+)(\/cancel|\/results)?$/.exec(route))) {
      if (!m[2]) this.reads++;
      const b = this.anthropicBatches.get(decodeURIComponent(m[1]));
      if (!b) return send(res, 404, { type: 'error', error: { type: 'not_found_error', message: 'No such batch' } });
      if (m[2] === '/results') return b.results === undefined ? send(res, 404, { type: 'error', error: { type: 'not_found_error', message: 'not ended' } }) : send(res, 200, b.results, 'application/binary');
      if (m[2] === '/cancel' && req.method === 'POST') this.cancels++;
      if (m[2] === '/cancel' && req.method === 'POST' && b.status === 'in_progress') this.finishAnthropic(b, b.run ?? 0, 'canceled');
      return send(res, 200, this.anthropicBatchJson(b));
    }
    return send(res, 404, { error: { message: `no route ${req.method} ${route}` } });
  }
}
