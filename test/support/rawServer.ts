import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request a RawServer received. */
export interface RawRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

/**
 * A real HTTP server on 127.0.0.1 whose every answer the test writes by hand: redirects, bodies that
 * drip or never end, huge bodies. For what a hostile endpoint does that FakeOpenAIServer does not.
 */
export class RawServer {
  readonly requests: RawRequest[] = [];
  private readonly sockets = new Set<import('node:net').Socket>();

  private constructor(private readonly server: http.Server) {}

  static async start(handler: (req: RawRequest, res: http.ServerResponse) => void): Promise<RawServer> {
    const server = http.createServer();
    const raw = new RawServer(server);
    server.on('connection', (socket) => {
      raw.sockets.add(socket);
      socket.on('close', () => raw.sockets.delete(socket));
    });
    server.on('request', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const info: RawRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
        raw.requests.push(info);
        handler(info, res);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return raw;
  }

  get origin(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** The baseUrl for a model config. */
  get url(): string {
    return `${this.origin}/v1`;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** A chat-completions answer with `content`. */
export function chatCompletion(content: string, model = 'm'): string {
  return JSON.stringify({
    id: 'chatcmpl-raw', object: 'chat.completion', created: 0, model,
    choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
  });
}
