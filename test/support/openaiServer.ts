import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A real HTTP server on 127.0.0.1 that speaks the OpenAI chat-completions API, with injectable
 * faults. Tests and benchmarks point the real `openai` client at it.
 */

export type FaultKind = '429' | '500' | '503' | 'reset' | 'slow' | '401' | '403' | '404' | '400' | 'malformed' | 'empty-choices'
  // Dialects of real servers: how they say something went wrong.
  | 'vllm-400' // vLLM: {"object":"error","message":..,"type":..,"code":400}
  | 'ollama-500' // Ollama: {"error":"text"}
  | 'html-404' // a web UI or reverse proxy where the API should be (baseUrl without /v1)
  | 'html-200'
  | 'text-502' // a gateway's plain-text error
  | 'fastapi-422' // {"detail":[{"msg":..}]}
  | 'error-200' // OpenRouter: 200 whose body is {"error":{"message","code"}}; `code` from the fault (default 502)
  | 'finish-error' // finish_reason "error"
  | 'length-empty' // finish_reason "length" and no text
  | 'content-filter' // finish_reason "content_filter"
  | 'quota-429' // OpenAI: 429 insufficient_quota
  | 'unsupported-param'; // OpenAI: 400 unsupported_parameter for max_tokens

export interface Fault {
  readonly kind: FaultKind;
  /** For 429: the Retry-After header in seconds (omitted when undefined). */
  readonly retryAfterSec?: number;
  /** For 'slow': how long to hold the response (past the client's timeout). */
  readonly delayMs?: number;
  /** For 'error-200': the error's code (default 502). */
  readonly code?: number | string;
}

/** How a 200 answer is shaped (dialects of the message object), when not the plain OpenAI one. */
export interface AnswerShape {
  /** Replaces the choice's message object (e.g. content parts, content null + reasoning_content). */
  readonly message?: Record<string, unknown>;
  readonly finishReason?: string | null;
  /** Sent as text/plain (a server that does not say JSON). */
  readonly asText?: boolean;
}

export interface ChatRequestInfo {
  readonly model: string;
  /** The text of the last user message (text parts joined). */
  readonly prompt: string;
  readonly body: Record<string, unknown>;
  readonly authorization: string | undefined;
  /** How many times this (model, prompt) was requested before, 0 on the first. */
  readonly attempt: number;
  /** 0-based order among all chat requests since start or reset. */
  readonly seq: number;
  /** Date.now() when the request arrived. */
  readonly receivedAt: number;
}

export interface FakeOpenAIOptions {
  /** Delay before every response, in ms (default 0). */
  readonly latencyMs?: number;
  /** Fault for a request, or undefined to answer normally. */
  readonly faultFor?: (req: ChatRequestInfo) => Fault | Fault['kind'] | undefined;
  /** Random faults: share of requests (0..1) that get one of `faultKinds`, from a seeded generator. */
  readonly faultRate?: number;
  readonly faultKinds?: readonly FaultKind[];
  readonly seed?: number;
  /** Delay for 'slow' faults when the fault does not say (default 5000 ms). */
  readonly slowMs?: number;
  /** Retry-After seconds for random 429s (default 0: header "0"). */
  readonly retryAfterSec?: number;
  /** A server that serves this many requests at once and answers the rest 429 (with retryAfterSec when set). */
  readonly maxConcurrent?: number;
  /** When set, requests without `Authorization: Bearer <key>` get 401. */
  readonly requireKey?: string;
  /** The answer text (default: "Rationale: <prompt>"). */
  readonly respond?: (req: ChatRequestInfo) => string;
  /** The answer's shape in a server's dialect (message object, finish reason); default the OpenAI one. */
  readonly answerShape?: (req: ChatRequestInfo, content: string) => AnswerShape | undefined;
  /** The model an answer says answered (`model` of the response), default the model asked (a router answers with another). */
  readonly answeredBy?: (req: ChatRequestInfo) => string | undefined;
  /** Model ids served; other models get 404 (default: any model). */
  readonly models?: readonly string[];
  readonly port?: number;
  /** A careless proxy: error bodies quote the request's Authorization header and URL (default off). */
  readonly echoCredentials?: boolean;
}

export interface FakeOpenAIStats {
  /** Chat-completion requests received. */
  requests: number;
  /** Requests answered with a valid completion. */
  succeeded: number;
  /** Faults injected, by kind. */
  faults: Partial<Record<FaultKind, number>>;
  /** Valid completions per `${model}\u0000${prompt}`: > 1 means a call that succeeded was repeated. */
  successesByKey: Map<string, number>;
  /** Most requests being served at once. */
  maxInFlight: number;
  /** Authorization headers seen (tests check keys go where they should, and only there). */
  authorizations: Set<string>;
}

export class FakeOpenAIServer {
  readonly stats: FakeOpenAIStats = FakeOpenAIServer.emptyStats();
  readonly requests: ChatRequestInfo[] = [];
  /** Record every request's info (off for soaks, to keep memory flat). */
  recordRequests = true;
  private seen = new Map<string, number>();
  private inFlight = 0;
  private seq = 0;
  private rng: () => number;
  private sockets = new Set<import('node:net').Socket>();

  private constructor(private readonly server: http.Server, public options: FakeOpenAIOptions) {
    this.rng = mulberry32(options.seed ?? 1);
  }

  static async start(options: FakeOpenAIOptions = {}): Promise<FakeOpenAIServer> {
    const server = http.createServer();
    const fake = new FakeOpenAIServer(server, options);
    server.on('request', (req, res) => fake.handle(req, res));
    server.on('connection', (socket) => {
      fake.sockets.add(socket);
      socket.on('close', () => fake.sockets.delete(socket));
    });
    server.keepAliveTimeout = 30_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
    });
    return fake;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** The baseUrl for a model config: `http://127.0.0.1:<port>/v1`. */
  get url(): string {
    return `http://127.0.0.1:${this.port}/v1`;
  }

  /** Calls that succeeded more than once for the same model and prompt. */
  repeatedSuccesses(): number {
    let n = 0;
    for (const count of this.stats.successesByKey.values()) if (count > 1) n += count - 1;
    return n;
  }

  reset(): void {
    Object.assign(this.stats, FakeOpenAIServer.emptyStats());
    this.requests.length = 0;
    this.seen.clear();
    this.seq = 0;
  }

  /** Connections open now: 0 once a killed client's sockets are closed, so every request it sent has been counted. */
  get openConnections(): number {
    return this.sockets.size;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private static emptyStats(): FakeOpenAIStats {
    return { requests: 0, succeeded: 0, faults: {}, successesByKey: new Map(), maxInFlight: 0, authorizations: new Set() };
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = (req.url ?? '').split('?')[0];
      if (req.method === 'GET' && url === '/_stats') return sendJson(res, 200, this.statsJson());
      if (req.method === 'POST' && url === '/_reset') {
        this.reset();
        return sendJson(res, 200, { ok: true });
      }
      if (req.method === 'GET' && url.endsWith('/models')) {
        return sendJson(res, 200, { object: 'list', data: (this.options.models ?? ['fake-model']).map((id) => ({ id, object: 'model', owned_by: 'fake' })) });
      }
      if (req.method !== 'POST' || !url.endsWith('/chat/completions')) {
        return sendJson(res, 404, { error: { message: `no route ${req.method} ${url}`, type: 'invalid_request_error' } });
      }
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      } catch {
        return sendJson(res, 400, { error: { message: 'request body is not JSON', type: 'invalid_request_error' } });
      }
      this.chat(req, res, body);
    });
  }

  private chat(req: http.IncomingMessage, res: http.ServerResponse, body: Record<string, unknown>): void {
    const model = String(body.model ?? '');
    const prompt = lastUserText(body.messages);
    const key = `${model}\u0000${prompt}`;
    const attempt = this.seen.get(key) ?? 0;
    this.seen.set(key, attempt + 1);
    const authorization = req.headers.authorization;
    const info: ChatRequestInfo = { model, prompt, body, authorization, attempt, seq: this.seq++, receivedAt: Date.now() };
    if (this.recordRequests) this.requests.push(info);
    this.stats.requests++;
    if (authorization) this.stats.authorizations.add(authorization);
    this.inFlight++;
    this.stats.maxInFlight = Math.max(this.stats.maxInFlight, this.inFlight);
    let finished = false;
    const done = () => {
      if (!finished) {
        finished = true;
        this.inFlight--;
      }
    };
    res.on('close', done);

    let fault = this.pickFault(info);
    if (!fault && this.options.maxConcurrent !== undefined && this.inFlight > this.options.maxConcurrent) fault = { kind: '429', retryAfterSec: this.options.retryAfterSec };
    if (!fault && this.options.requireKey !== undefined && authorization !== `Bearer ${this.options.requireKey}`) fault = { kind: '401' };
    if (!fault && this.options.models && !this.options.models.includes(model)) fault = { kind: '404' };
    if (fault) this.stats.faults[fault.kind] = (this.stats.faults[fault.kind] ?? 0) + 1;

    const latency = fault?.kind === 'slow' ? fault.delayMs ?? this.options.slowMs ?? 5000 : this.options.latencyMs ?? 0;
    const timer = setTimeout(() => {
      if (res.destroyed) return;
      if (!fault) {
        const content = this.options.respond ? this.options.respond(info) : `Rationale: ${prompt}`;
        this.stats.succeeded++;
        this.stats.successesByKey.set(key, (this.stats.successesByKey.get(key) ?? 0) + 1);
        const shape = this.options.answerShape?.(info, content);
        const body = completion(this.options.answeredBy?.(info) ?? model, content, prompt, shape);
        if (shape?.asText) {
          const text = JSON.stringify(body);
          res.writeHead(200, { 'content-type': 'text/plain' });
          return res.end(text);
        }
        return sendJson(res, 200, body);
      }
      this.sendFault(req, res, fault, model, prompt, this.options.echoCredentials ? ` (request ${req.method} ${req.url} with Authorization: ${authorization ?? 'none'})` : '');
    }, latency);
    res.on('close', () => clearTimeout(timer));
  }

  private pickFault(info: ChatRequestInfo): Fault | undefined {
    const chosen = this.options.faultFor?.(info);
    if (chosen) return typeof chosen === 'string' ? { kind: chosen } : chosen;
    const rate = this.options.faultRate ?? 0;
    if (rate > 0 && this.rng() < rate) {
      const kinds = this.options.faultKinds ?? ['429', '500', 'reset', 'slow'];
      const kind = kinds[Math.floor(this.rng() * kinds.length)];
      return kind === '429' ? { kind, retryAfterSec: this.options.retryAfterSec ?? 0 } : { kind };
    }
    return undefined;
  }

  private sendFault(req: http.IncomingMessage, res: http.ServerResponse, fault: Fault, model: string, prompt: string, echo = ''): void {
    const msg = (text: string) => text + echo;
    switch (fault.kind) {
      case '429': {
        const headers: Record<string, string> = {};
        if (fault.retryAfterSec !== undefined) headers['retry-after'] = String(fault.retryAfterSec);
        return sendJson(res, 429, { error: { message: msg('Rate limit reached'), type: 'rate_limit_error' } }, headers);
      }
      case '500':
      case '503':
        return sendJson(res, Number(fault.kind), { error: { message: msg('The server had an error'), type: 'server_error' } });
      case '401':
        return sendJson(res, 401, { error: { message: msg('Incorrect API key provided'), type: 'invalid_request_error', code: 'invalid_api_key' } });
      case '403':
        return sendJson(res, 403, { error: { message: msg('You are not allowed to use this model'), type: 'permission_error' } });
      case '404':
        return sendJson(res, 404, { error: { message: msg(`The model \`${model}\` does not exist`), type: 'invalid_request_error', code: 'model_not_found' } });
      case '400':
        return sendJson(res, 400, { error: { message: msg('This model\'s maximum context length is exceeded'), type: 'invalid_request_error' } });
      case 'reset':
        req.socket.destroy();
        return;
      case 'slow': {
        // Held past the client's timeout; if the client is still there, answer normally.
        return sendJson(res, 200, completion(model, `Rationale: ${prompt}`, prompt));
      }
      case 'malformed':
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"id":"chatcmpl-broken","choices":[{"index":0,"message":{"role":"assis');
        return;
      case 'empty-choices':
        return sendJson(res, 200, { id: 'chatcmpl-empty', object: 'chat.completion', created: 0, model, choices: [] });
      case 'vllm-400':
        return sendJson(res, 400, { object: 'error', message: msg(`This model's maximum context length is 4096 tokens. However, you requested 5000 tokens`), type: 'BadRequestError', param: null, code: 400 });
      case 'ollama-500':
        return sendJson(res, 500, { error: msg('llama runner process has terminated: signal: killed') });
      case 'html-404':
      case 'html-200': {
        const page = '<!DOCTYPE html>\n<html><head><title>Open WebUI</title></head><body><div id="app"></div></body></html>\n';
        res.writeHead(fault.kind === 'html-404' ? 404 : 200, { 'content-type': 'text/html; charset=utf-8' });
        res.end(page);
        return;
      }
      case 'text-502':
        res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(msg('upstream connect error or disconnect/reset before headers'));
        return;
      case 'fastapi-422':
        return sendJson(res, 422, { detail: [{ loc: ['body', 'messages'], msg: msg('field required'), type: 'value_error.missing' }] });
      case 'error-200':
        return sendJson(res, 200, { error: { message: msg('Provider returned error'), code: fault.code ?? 502, metadata: { raw: 'upstream model overloaded', provider_name: 'Fake' } }, user_id: 'u1' });
      case 'finish-error':
        return sendJson(res, 200, completion(model, '', prompt, { finishReason: 'error', message: { role: 'assistant', content: 'Partial ans' } }, { error: { message: 'upstream stream broke', code: 502 } }));
      case 'length-empty':
        return sendJson(res, 200, completion(model, '', prompt, { finishReason: 'length' }));
      case 'content-filter':
        return sendJson(res, 200, completion(model, 'Partial', prompt, { finishReason: 'content_filter' }));
      case 'quota-429':
        return sendJson(res, 429, { error: { message: msg('You exceeded your current quota, please check your plan and billing details.'), type: 'insufficient_quota', param: null, code: 'insufficient_quota' } });
      case 'unsupported-param':
        return sendJson(res, 400, { error: { message: msg("Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead."), type: 'invalid_request_error', param: 'max_tokens', code: 'unsupported_parameter' } });
    }
  }

  statsJson(): Record<string, unknown> {
    return {
      requests: this.stats.requests,
      succeeded: this.stats.succeeded,
      faults: this.stats.faults,
      repeatedSuccesses: this.repeatedSuccesses(),
      maxInFlight: this.stats.maxInFlight,
    };
  }
}

function completion(model: string, content: string, prompt: string, shape?: AnswerShape, choiceExtra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: 'chatcmpl-fake',
    object: 'chat.completion',
    created: 1_700_000_000,
    model,
    choices: [{ index: 0, message: shape?.message ?? { role: 'assistant', content }, finish_reason: shape?.finishReason === undefined ? 'stop' : shape.finishReason, logprobs: null, ...choiceExtra }],
    usage: { prompt_tokens: countWords(prompt), completion_tokens: countWords(content), total_tokens: countWords(prompt) + countWords(content) },
  };
}

function countWords(text: string): number {
  return text.split(/\s+/).filter(Boolean).length;
}

function lastUserText(messages: unknown): string {
  if (!Array.isArray(messages)) return '';
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i] as { role?: unknown; content?: unknown };
    if (m?.role !== 'user') continue;
    if (typeof m.content === 'string') return m.content;
    if (Array.isArray(m.content)) {
      return m.content
        .filter((p: { type?: unknown }) => p?.type === 'text')
        .map((p: { text?: unknown }) => String(p.text ?? ''))
        .join('\n');
    }
  }
  return '';
}

function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** Small seeded PRNG so fault patterns repeat run to run. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
