// A real HTTP server on 127.0.0.1 speaking the OpenAI POST /v1/embeddings API, for tests.
// Its embeddings are deterministic hashed bags of words, so texts sharing words are close.
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface EmbeddingsRequestRecord {
  /** The route asked: /v1/embeddings, /embed (TEI) or /api/embed (Ollama), or /info. */
  route: string;
  model: string;
  input: string[];
  encodingFormat: string | undefined;
  authorization: string | undefined;
}

export interface EmbeddingsServerOptions {
  dimensions?: number;
  /** Answer every request with this HTTP status and an OpenAI-style error body. */
  failWith?: { status: number; message: string };
  /** Only this key is accepted (as a Bearer token), if set. */
  requireKey?: string;
  /** Refuse any request holding a text of more words than this (a word stands for a token), in a server's dialect. */
  maxWords?: number;
  tooLong?: 'tei-413' | 'openai-400' | 'vllm-400' | 'bare-413';
  /** Refuse a request of more texts than this, as text-embeddings-inference does (413 naming its limit). */
  maxBatch?: number;
  /** Answer GET /info with max_client_batch_size (TEI), when maxBatch is set. */
  info?: boolean;
  /** Vectors that cannot be used, for texts holding a marker word: "nanword" -> NaN, "infword" -> Infinity, "wideword" -> twice the width, "zeroword" -> zeros, "nullword" -> null values. */
  badVectors?: boolean;
  /** Send every embedding as base64 float32, whatever encoding_format asked. */
  forceBase64?: boolean;
}

export interface EmbeddingsServer {
  baseUrl: string;
  requests: EmbeddingsRequestRecord[];
  /** The vector this server returns for `text` (not normalised), for computing expected scores. */
  vectorFor(text: string): number[];
  setFailure(failure: EmbeddingsServerOptions['failWith']): void;
  /** Changes the server's behaviour from now on. */
  configure(changes: Partial<EmbeddingsServerOptions>): void;
  close(): Promise<void>;
}

export function bagOfWordsVector(text: string, dimensions: number): number[] {
  const v = new Array<number>(dimensions).fill(0);
  for (const word of text.toLowerCase().match(/[a-z0-9']+/g) ?? []) {
    const h = createHash('sha256').update(word).digest();
    v[h.readUInt32LE(0) % dimensions] += h[4] & 1 ? 1 : -1;
    v[h.readUInt32LE(5) % dimensions] += 0.5;
  }
  v[0] += 0.01; // never the zero vector
  return v;
}

/** The unusable vector a marker word asks for, or undefined. */
function badVector(text: string, dimensions: number, enabled: boolean | undefined): Array<number | null> | undefined {
  if (!enabled) return undefined;
  const v: Array<number | null> = bagOfWordsVector(text, dimensions);
  if (/\bnanword\b/.test(text)) v[1] = Number.NaN;
  else if (/\binfword\b/.test(text)) v[2] = Number.POSITIVE_INFINITY;
  else if (/\bwideword\b/.test(text)) return [...v, ...v];
  else if (/\bzeroword\b/.test(text)) return v.map(() => 0);
  else if (/\bnullword\b/.test(text)) v[3] = null;
  else return undefined;
  return v;
}

/** JSON as Python's json.dumps writes it: NaN and infinities as bare NaN / Infinity (as a Python server sends them). */
function sendPythonJson(res: ServerResponse, body: unknown): void {
  const text = JSON.stringify(body, (_key, value: unknown) => (typeof value === 'number' && !Number.isFinite(value) ? `__${String(value)}__` : value)).replace(/"__(NaN|Infinity|-Infinity)__"/g, '$1');
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function wordCount(text: string): number {
  return text.split(/\s+/).filter(Boolean).length;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export async function startEmbeddingsServer(options: EmbeddingsServerOptions = {}): Promise<EmbeddingsServer> {
  const dimensions = options.dimensions ?? 64;
  const requests: EmbeddingsRequestRecord[] = [];
  let failWith = options.failWith;
  const server: Server = createServer((req, res) => {
    void (async () => {
      const route = (req.url ?? '').split('?')[0];
      if (req.method === 'GET' && route === '/info' && options.info && options.maxBatch !== undefined) {
        requests.push({ route, model: '', input: [], encodingFormat: undefined, authorization: req.headers.authorization });
        return sendJson(res, 200, { model_id: 'fake/tei', model_type: { embedding: { pooling: 'mean' } }, max_concurrent_requests: 512, max_input_length: 512, max_batch_tokens: 16384, max_client_batch_size: options.maxBatch, version: '1.5.0' });
      }
      const dialect = route === '/v1/embeddings' ? 'openai' : route === '/embed' ? 'tei' : route === '/api/embed' ? 'ollama' : undefined;
      if (req.method !== 'POST' || !dialect) {
        return sendJson(res, 404, { error: { message: `no route ${req.method} ${req.url}`, type: 'invalid_request_error' } });
      }
      let body: { model?: unknown; input?: unknown; inputs?: unknown; encoding_format?: string };
      try {
        body = JSON.parse(await readBody(req)) as typeof body;
      } catch {
        return sendJson(res, 400, { error: { message: 'body is not JSON', type: 'invalid_request_error' } });
      }
      if (dialect === 'tei') body = { model: 'tei', input: body.inputs };
      const input = typeof body.input === 'string' ? [body.input] : body.input;
      if (typeof body.model !== 'string' || !Array.isArray(input) || !input.every((t) => typeof t === 'string')) {
        return sendJson(res, 400, { error: { message: 'expected {model: string, input: string | string[]}', type: 'invalid_request_error' } });
      }
      requests.push({ route, model: body.model, input: input as string[], encodingFormat: body.encoding_format, authorization: req.headers.authorization });
      if (options.maxBatch !== undefined && input.length > options.maxBatch) {
        // As text-embeddings-inference answers (router/src/http/server.rs).
        return sendJson(res, 413, { error: `batch size ${input.length} > maximum allowed batch size ${options.maxBatch}`, error_type: 'Validation' });
      }
      if ((input as string[]).some((t) => t === '')) {
        // As OpenAI answers an empty string.
        return sendJson(res, 400, { error: { message: "'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.", type: 'invalid_request_error' } });
      }
      const longest = Math.max(...(input as string[]).map(wordCount));
      if (options.maxWords !== undefined && longest > options.maxWords) {
        const limit = options.maxWords;
        switch (options.tooLong ?? 'tei-413') {
          case 'tei-413':
            return sendJson(res, 413, { error: `Input validation error: \`inputs\` must have less than ${limit} tokens. Given: ${longest}`, error_type: 'Validation' });
          case 'openai-400':
            return sendJson(res, 400, { error: { message: `This model's maximum context length is ${limit} tokens, however you requested ${longest} tokens. Please reduce your prompt.`, type: 'invalid_request_error' } });
          case 'vllm-400':
            return sendJson(res, 400, { object: 'error', message: `This model's maximum context length is ${limit} tokens. However, you requested ${longest} tokens in the input for embedding generation. Please reduce the length of the input.`, type: 'BadRequestError', code: 400 });
          case 'bare-413':
            res.writeHead(413, { 'content-type': 'text/html' });
            res.end('<html><body>413 Request Entity Too Large</body></html>');
            return;
        }
      }
      if (failWith) return sendJson(res, failWith.status, { error: { message: failWith.message, type: 'server_error' } });
      if (options.requireKey && req.headers.authorization !== `Bearer ${options.requireKey}`) {
        return sendJson(res, 401, { error: { message: 'Incorrect API key provided.', type: 'invalid_request_error', code: 'invalid_api_key' } });
      }
      const vectors = (input as string[]).map((text) => badVector(text, dimensions, options.badVectors) ?? bagOfWordsVector(text, dimensions));
      const base64 = options.forceBase64 || body.encoding_format === 'base64';
      const encode = (vector: Array<number | null>) => (base64 ? Buffer.from(Float32Array.from(vector, (v) => v ?? Number.NaN).buffer).toString('base64') : vector);
      const tokens = (input as string[]).reduce((n, t) => n + t.split(/\s+/).length, 0);
      if (dialect === 'tei') return sendPythonJson(res, vectors);
      if (dialect === 'ollama') return sendPythonJson(res, { model: body.model, embeddings: vectors, total_duration: 1000, prompt_eval_count: tokens });
      const data = vectors.map((vector, index) => ({ object: 'embedding', index, embedding: encode(vector) }));
      sendPythonJson(res, { object: 'list', model: body.model, data, usage: { prompt_tokens: tokens, total_tokens: tokens } });
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    vectorFor: (text) => bagOfWordsVector(text, dimensions),
    setFailure: (failure) => {
      failWith = failure;
    },
    configure: (changes) => Object.assign(options, changes),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
