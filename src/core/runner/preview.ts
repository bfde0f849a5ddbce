import * as crypto from 'node:crypto';
import type { ModelConfig } from '../config/models';
import type { DatasetRow } from '../dataset/types';
import { requestUrl } from '../http/openaiClient';
import { REDACTED, redactCredentials, redactKnownSecrets } from '../security/redact';
import { buildMessages } from './prompt';
import { requestBody } from './provider';

/**
 * The request a row sends to a model, built by the code that builds the real one (buildChatRequest is
 * what the runner calls): `pisar-review preview` and the editor's "Preview Request for Row" show it
 * with the key redacted and image bytes summarised.
 */

/** The chat-completions body for a row and model, exactly as the runner sends it. Throws PromptError / ImageError. */
export async function buildChatRequest(row: DatasetRow, model: ModelConfig, datasetFile: string, maxImageBytes?: number): Promise<Record<string, unknown>> {
  return requestBody(model, await buildMessages(row, model, datasetFile, maxImageBytes));
}

export interface RequestPreview {
  readonly method: 'POST';
  /** Where it goes (credentials in the query masked). */
  readonly url: string;
  /** Headers PiSAR Review sets (the key as `Bearer [redacted]`); the HTTP library adds its own (user agent, content length). */
  readonly headers: Record<string, string>;
  /** The body as sent, with every inline image's bytes summarised. */
  readonly body: Record<string, unknown>;
}

/** The `pisar-review/preview@1` document: what `preview --json` prints and the editor's Preview Request for Row shows. */
export interface PreviewDocument {
  schema: 'pisar-review/preview@1';
  file: string;
  row: { id: string; line: number };
  model: { name: string; model: string };
  /** The request as it would be sent: key redacted, inline image bytes summarised. */
  request: RequestPreview;
}

/**
 * The preview document of a row and model: the body the runner would send (buildChatRequest), key
 * redacted and image bytes summarised. Throws PromptError / ImageError when nothing would be sent.
 */
export async function previewDocument(row: DatasetRow, model: ModelConfig, datasetFile: string, hasKey: boolean): Promise<PreviewDocument> {
  const body = await buildChatRequest(row, model, datasetFile);
  return { schema: 'pisar-review/preview@1', file: datasetFile, row: { id: row.id, line: row.line }, model: { name: model.name, model: model.model }, request: previewRequest(model, body, hasKey) };
}

/** The preview of a built body: `hasKey` says whether a key would be sent (it is never read here). */
export function previewRequest(model: ModelConfig, body: Record<string, unknown>, hasKey: boolean): RequestPreview {
  const headers: Record<string, string> = { 'Content-Type': 'application/json', Accept: 'application/json' };
  if (hasKey) headers.Authorization = `Bearer ${REDACTED}`;
  for (const [name, value] of Object.entries(model.headers ?? {})) headers[name] = value;
  const summarised = summariseImages(body) as Record<string, unknown>;
  return { method: 'POST', url: redactCredentials(requestUrl(model.baseUrl, '/chat/completions')), headers, body: JSON.parse(redactKnownSecrets(JSON.stringify(summarised))) as Record<string, unknown> };
}

const DATA_URL = /^data:([^;,]*)((?:;[^;,]*)*),/i;

/** `value` with each base64 data URL replaced by `data:<type>;base64,<12,345 bytes sha256 ab12cd34ef56…>`. */
export function summariseImages(value: unknown): unknown {
  if (typeof value === 'string') return summariseDataUrl(value);
  if (Array.isArray(value)) return value.map(summariseImages);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = summariseImages(v);
    return out;
  }
  return value;
}

function summariseDataUrl(text: string): string {
  const head = DATA_URL.exec(text);
  if (!head || !/;base64$/i.test(head[2])) return text;
  const bytes = Buffer.from(text.slice(head[0].length), 'base64');
  const hash = crypto.createHash('sha256').update(bytes).digest('hex').slice(0, 12);
  return `${head[0]}<${bytes.length.toLocaleString('en-US')} bytes sha256 ${hash}…>`;
}
