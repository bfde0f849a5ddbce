// A real HTTP server on 127.0.0.1 speaking the OpenAI POST /v1/embeddings API, for tests.
// Its embeddings are deterministic hashed bags of words, so texts sharing words are close.
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface EmbeddingsRequestRecord {
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
}

export interface EmbeddingsServer {
  baseUrl: string;
  requests: EmbeddingsRequestRecord[];
  /** The vector this server returns for `text` (not normalised), for computing expected scores. */
  vectorFor(text: string): number[];
  setFailure(failure: EmbeddingsServerOptions['failWith']): void;
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
      if (req.method !== 'POST' || req.url !== '/v1/embeddings') {
        return sendJson(res, 404, { error: { message: `no route ${req.method} ${req.url}`, type: 'invalid_request_error' } });
      }
      let body: { model?: unknown; input?: unknown; encoding_format?: string };
      try {
        body = JSON.parse(await readBody(req)) as typeof body;
      } catch {
        return sendJson(res, 400, { error: { message: 'body is not JSON', type: 'invalid_request_error' } });
      }
      const input = typeof body.input === 'string' ? [body.input] : body.input;
      if (typeof body.model !== 'string' || !Array.isArray(input) || !input.every((t) => typeof t === 'string')) {
        return sendJson(res, 400, { error: { message: 'expected {model: string, input: string | string[]}', type: 'invalid_request_error' } });
      }
      requests.push({ model: body.model, input: input as string[], encodingFormat: body.encoding_format, authorization: req.headers.authorization });
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
      const data = (input as string[]).map((text, index) => {
        const vector = bagOfWordsVector(text, dimensions);
        const embedding = body.encoding_format === 'base64' ? Buffer.from(Float32Array.from(vector).buffer).toString('base64') : vector;
        return { object: 'embedding', index, embedding };
      });
      const tokens = (input as string[]).reduce((n, t) => n + t.split(/\s+/).length, 0);
      sendJson(res, 200, { object: 'list', model: body.model, data, usage: { prompt_tokens: tokens, total_tokens: tokens } });
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
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
