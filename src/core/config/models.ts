/**
 * The models a run calls: the `pisarReview.models` setting in VS Code, or `"models"` in the CLI's JSON
 * config file (read by settings.ts).
 * Keys never live here: `apiKeyEnv` names an environment variable (CLI); the extension keeps keys in
 * SecretStorage.
 */
import { nearestName } from './nearest';
import type { ModelPrice } from '../rules/cost';
export interface ModelConfig {
  /** The name results are stored under (unique). */
  name: string;
  /** OpenAI-compatible endpoint, e.g. https://api.openai.com/v1 or http://localhost:8000/v1. */
  baseUrl: string;
  /** The model id sent to the endpoint. */
  model: string;
  /** Environment variable holding the API key (CLI). */
  apiKeyEnv?: string;
  /** Origins (scheme://host[:port]) the CLI may send the apiKeyEnv key to; default: this machine and the variable's known provider. */
  apiKeyOrigins?: string[];
  systemPrompt?: string;
  /** `{{field}}` placeholders over the row; default: the row's input. */
  promptTemplate?: string;
  temperature?: number;
  maxTokens?: number;
  /** The request field maxTokens is sent as: "max_tokens" (default) or "max_completion_tokens" (OpenAI reasoning models). */
  maxTokensParam?: 'max_tokens' | 'max_completion_tokens';
  /** Keep `<think>` blocks in the output that is stored and scored (default: removed; the raw text is kept beside it). */
  keepThinking?: boolean;
  /** Its outputs are people's: they make the human band the other models are read against (see humanModelsOf). */
  human?: boolean;
  /** Requests in flight at once for this model (default 4). */
  concurrency?: number;
  /** Per-attempt deadline for the whole response, body included (default 60000). */
  timeoutMs?: number;
  /** Largest response body read, in bytes (default 8 MiB); a larger one fails the row with kind `too-large`. */
  maxResponseBytes?: number;
  /** Send `"stream": true` (servers that only stream); the event-stream answer is read whole. */
  stream?: boolean;
  /** Longest wait a server may ask for (Retry-After) before the pair fails instead (default 600000, 10 minutes). */
  maxRetryWaitMs?: number;
  /** Extra fields merged into the request body (e.g. top_p, seed). */
  extraBody?: Record<string, unknown>;
  /** Extra HTTP headers. */
  headers?: Record<string, string>;
  /** What the provider charges per million tokens (input = prompt, output = completion), for token cost in summaries and progress. */
  price?: ModelPrice;
}

/** Largest price per million tokens accepted (a typo guard: no model costs a million per million tokens). */
const MAX_PRICE_PER_MILLION = 1_000_000;

export const MODEL_DEFAULTS = { concurrency: 4, timeoutMs: 60_000 } as const;

/** A config problem, naming the file, the field and the fix. */
export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly field: string,
    readonly problem: string,
    readonly fix: string,
    readonly line?: number,
  ) {
    super(`${source}${line !== undefined ? `:${line}` : ''}: ${field ? `${field}: ` : ''}${problem}. ${fix}`);
    this.name = 'ConfigError';
  }
}

const KNOWN_KEYS: readonly (keyof ModelConfig)[] = [
  'name', 'baseUrl', 'model', 'apiKeyEnv', 'systemPrompt', 'promptTemplate', 'temperature', 'maxTokens',
  'maxTokensParam', 'keepThinking', 'human', 'concurrency', 'timeoutMs', 'maxResponseBytes', 'extraBody', 'headers', 'stream', 'maxRetryWaitMs', 'apiKeyOrigins', 'price',
];

/** Longest duration a timer can hold (setTimeout's limit, about 24.8 days); longer ones fire at once. */
export const MAX_DURATION_MS = 2 ** 31 - 1;

/** Header names that carry a credential: keys come from apiKeyEnv / SecretStorage, never from a config file. */
export function isCredentialHeader(name: string): boolean {
  return /authoriz|api[-_]?key|apikey|subscription-key|token|secret|password|passwd|credential|cookie|signature|session|(^|[-_])(key|auth)($|[-_])/i.test(name);
}

/**
 * What is wrong with an endpoint URL (a model's baseUrl, the remote embeddings URL, --embedding-url),
 * in the same words wherever it was written; undefined when it is a usable http(s) URL. Surrounding
 * whitespace is the caller's to trim; whitespace or control characters inside are refused (the URL
 * parser would drop or encode them into the path).
 */
export function httpUrlProblem(text: string, example = 'http://localhost:8000/v1'): { problem: string; fix: string } | undefined {
  // eslint-disable-next-line no-control-regex
  if (/[\s\u0000-\u001f\u007f]/.test(text)) return { problem: `holds whitespace or a control character inside: ${JSON.stringify(text)}`, fix: `Write the URL without spaces or line breaks, e.g. "${example}".` };
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { problem: `is not a URL: ${JSON.stringify(text)}`, fix: `Write the endpoint's base URL, e.g. "${example}".` };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return { problem: `must be http or https; got "${url.protocol}"`, fix: `Write the endpoint's http(s) base URL, e.g. "${example}" (a file: or data: URL cannot be called).` };
  if (url.username || url.password) return { problem: 'must not contain credentials', fix: 'Remove user:password from the URL and put the key in the environment variable named by "apiKeyEnv".' };
  if (url.hash !== '') return { problem: `has a #fragment (${JSON.stringify(url.hash)}), which is never sent`, fix: 'Remove the part from "#" on.' };
  return undefined;
}

/** Body fields the runner sets itself; an extraBody may not override them. */
const RESERVED_BODY_FIELDS = ['model', 'messages', 'stream'];

/**
 * Validates the models list (the `models` setting, or the CLI config's `"models"`). Throws a
 * ConfigError naming `source` and the field (`models[0].baseUrl`); settings.ts turns it into a problem.
 */
export function parseModelList(list: unknown, source: string, prefix = 'models'): ModelConfig[] {
  if (!Array.isArray(list)) {
    throw new ConfigError(source, prefix, 'must be a list of models', 'Write a JSON array of { "name", "baseUrl", "model" } objects.');
  }
  const names = new Set<string>();
  return list.map((entry, i) => {
    const model = parseModel(entry, source, `${prefix}[${i}]`);
    if (names.has(model.name)) {
      throw new ConfigError(source, `${prefix}[${i}].name`, `"${model.name}" is used by another model too`, 'Give each model a unique name; results are stored under it.');
    }
    names.add(model.name);
    return model;
  });
}

function parseModel(entry: unknown, source: string, at: string): ModelConfig {
  if (!entry || typeof entry !== 'object' || Array.isArray(entry)) {
    throw new ConfigError(source, at, 'must be an object', 'Write { "name": ..., "baseUrl": ..., "model": ... }.');
  }
  const obj = entry as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    if (/^(api[-_]?key|key|token|secret|authorization)$/i.test(key)) {
      throw new ConfigError(source, `${at}.${key}`, 'API keys must not be written in a config file', 'Remove it and set "apiKeyEnv" to the name of an environment variable that holds the key (in VS Code: run "PiSAR Review: Set API Key").');
    }
    if (!(KNOWN_KEYS as readonly string[]).includes(key)) {
      const near = nearestName(key, KNOWN_KEYS);
      throw new ConfigError(source, `${at}.${key}`, 'is not a known model setting', near ? `Did you mean "${near}"?` : `Use one of: ${KNOWN_KEYS.join(', ')}.`);
    }
  }
  const f = (key: string) => `${at}.${key}`;
  const str = (key: keyof ModelConfig, required: boolean): string | undefined => {
    const value = obj[key];
    if (value === undefined || value === null) {
      if (required) throw new ConfigError(source, f(key), 'is missing', `Add "${key}" (a non-empty string).`);
      return undefined;
    }
    if (typeof value !== 'string' || (required && value.trim() === '')) {
      throw new ConfigError(source, f(key), `must be a non-empty string; got ${JSON.stringify(value)}`, `Set "${key}" to a string.`);
    }
    return value;
  };
  const num = (key: keyof ModelConfig, check: (n: number) => boolean, want: string): number | undefined => {
    const value = obj[key];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'number' || !Number.isFinite(value) || !check(value)) {
      throw new ConfigError(source, f(key), `must be ${want}; got ${JSON.stringify(value)}`, `Set "${key}" to ${want}, or remove it for the default.`);
    }
    return value;
  };

  const name = str('name', true)!;
  const baseUrl = str('baseUrl', true)!.trim();
  const urlProblem = httpUrlProblem(baseUrl);
  if (urlProblem) throw new ConfigError(source, f('baseUrl'), urlProblem.problem, urlProblem.fix);
  const config: ModelConfig = { name, baseUrl: baseUrl.replace(/\/+$/, ''), model: str('model', true)! };

  const apiKeyEnv = str('apiKeyEnv', false);
  if (apiKeyEnv !== undefined) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(apiKeyEnv)) {
      throw new ConfigError(source, f('apiKeyEnv'), `must be an environment variable's name; got "${apiKeyEnv.length > 12 ? apiKeyEnv.slice(0, 4) + '…' : apiKeyEnv}"`, 'Put the NAME of the variable here (e.g. "OPENAI_API_KEY"), never the key itself.');
    }
    config.apiKeyEnv = apiKeyEnv;
  }
  if (obj.apiKeyOrigins !== undefined && obj.apiKeyOrigins !== null) {
    const list = obj.apiKeyOrigins;
    if (!Array.isArray(list) || list.some((o) => typeof o !== 'string')) throw new ConfigError(source, f('apiKeyOrigins'), `must be a list of origins; got ${JSON.stringify(list)}`, 'Write e.g. ["https://api.example.com"].');
    const origins: string[] = [];
    for (const o of list as string[]) {
      const bad = httpUrlProblem(o.trim(), 'https://api.example.com');
      if (bad) throw new ConfigError(source, f('apiKeyOrigins'), `${JSON.stringify(o)} ${bad.problem}`, bad.fix);
      origins.push(new URL(o.trim()).origin);
    }
    config.apiKeyOrigins = origins;
  }
  const systemPrompt = str('systemPrompt', false);
  if (systemPrompt !== undefined) config.systemPrompt = systemPrompt;
  const promptTemplate = str('promptTemplate', false);
  if (promptTemplate !== undefined) {
    if (!/\{\{\s*[^}]+\}\}/.test(promptTemplate)) {
      throw new ConfigError(source, f('promptTemplate'), 'has no {{field}} placeholder, so every row would get the same prompt', 'Add a placeholder such as {{input}}.');
    }
    config.promptTemplate = promptTemplate;
  }
  const temperature = num('temperature', (n) => n >= 0 && n <= 2, 'a number from 0 to 2');
  if (temperature !== undefined) config.temperature = temperature;
  const maxTokens = num('maxTokens', (n) => Number.isInteger(n) && n > 0, 'a whole number above 0');
  if (maxTokens !== undefined) config.maxTokens = maxTokens;
  const maxTokensParam = obj.maxTokensParam;
  if (maxTokensParam !== undefined && maxTokensParam !== null) {
    if (maxTokensParam !== 'max_tokens' && maxTokensParam !== 'max_completion_tokens') {
      throw new ConfigError(source, f('maxTokensParam'), `must be "max_tokens" or "max_completion_tokens"; got ${JSON.stringify(maxTokensParam)}`, 'Use "max_completion_tokens" for OpenAI reasoning models (o1, o3, gpt-5), else leave it out.');
    }
    config.maxTokensParam = maxTokensParam;
  }
  const human = obj.human;
  if (human !== undefined && human !== null) {
    if (typeof human !== 'boolean') throw new ConfigError(source, f('human'), `must be true or false; got ${JSON.stringify(human)}`, 'Set "human": true when the outputs are people\'s (a human baseline), or remove it.');
    if (human) config.human = true;
  }
  const keepThinking = obj.keepThinking;
  if (keepThinking !== undefined && keepThinking !== null) {
    if (typeof keepThinking !== 'boolean') throw new ConfigError(source, f('keepThinking'), `must be true or false; got ${JSON.stringify(keepThinking)}`, 'Set "keepThinking": true to score <think> blocks with the answer, or remove it.');
    config.keepThinking = keepThinking;
  }
  for (const flag of ['stream'] as const) {
    const value = obj[flag];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'boolean') throw new ConfigError(source, f(flag), `must be true or false; got ${JSON.stringify(value)}`, 'Set "stream": true for a server that only answers streaming requests, or remove it.');
    config[flag] = value;
  }
  const maxRetryWaitMs = num('maxRetryWaitMs', (n) => Number.isInteger(n) && n >= 0 && n <= MAX_DURATION_MS, `a whole number of milliseconds from 0 to ${MAX_DURATION_MS}`);
  if (maxRetryWaitMs !== undefined) config.maxRetryWaitMs = maxRetryWaitMs;
  const concurrency = num('concurrency', (n) => Number.isInteger(n) && n >= 1 && n <= 256, 'a whole number from 1 to 256');
  if (concurrency !== undefined) config.concurrency = concurrency;
  const timeoutMs = num('timeoutMs', (n) => Number.isInteger(n) && n >= 100 && n <= MAX_DURATION_MS, `a whole number of milliseconds from 100 to ${MAX_DURATION_MS}`);
  if (timeoutMs !== undefined) config.timeoutMs = timeoutMs;
  const maxResponseBytes = num('maxResponseBytes', (n) => Number.isInteger(n) && n >= 1024 && n <= 1024 ** 3, 'a whole number of bytes from 1024 to 1073741824');
  if (maxResponseBytes !== undefined) config.maxResponseBytes = maxResponseBytes;

  if (obj.extraBody !== undefined) {
    const extra = obj.extraBody;
    if (!extra || typeof extra !== 'object' || Array.isArray(extra)) {
      throw new ConfigError(source, f('extraBody'), 'must be an object of request fields', 'Write e.g. { "top_p": 0.9 }.');
    }
    const reserved = Object.keys(extra).find((k) => RESERVED_BODY_FIELDS.includes(k));
    if (reserved) {
      throw new ConfigError(source, `${f('extraBody')}.${reserved}`, 'is set by PiSAR Review itself', `Remove "${reserved}" from extraBody (use "model" / "promptTemplate" instead).`);
    }
    config.extraBody = { ...(extra as Record<string, unknown>) };
  }
  if (obj.headers !== undefined) {
    const headers = obj.headers;
    if (!headers || typeof headers !== 'object' || Array.isArray(headers)) {
      throw new ConfigError(source, f('headers'), 'must be an object of header names to strings', 'Write e.g. { "X-Team": "eval" }.');
    }
    for (const [key, value] of Object.entries(headers)) {
      if (typeof value !== 'string') {
        throw new ConfigError(source, `${f('headers')}.${key}`, `must be a string; got ${JSON.stringify(value)}`, 'Header values are strings.');
      }
      // A CR or LF would split the header (and a request could never be sent): refused here, not at call time.
      // eslint-disable-next-line no-control-regex
      if (/[\u0000-\u0008\u000a-\u001f\u007f]|[^\u0000-\u00ff]/.test(value)) {
        throw new ConfigError(source, `${f('headers')}.${key}`, `holds a line break, a control character or a character HTTP headers cannot carry: ${JSON.stringify(value)}`, 'Write the value on one line, in printable ASCII (or Latin-1).');
      }
      if (isCredentialHeader(key)) {
        throw new ConfigError(source, `${f('headers')}.${key}`, 'would put a credential in the config (it names a key, token, secret or authorization header)', 'Remove it; the key comes from "apiKeyEnv" (CLI) or SecretStorage (VS Code) and is sent as a Bearer token.');
      }
      if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(key)) {
        throw new ConfigError(source, `${f('headers')}.${key}`, 'is not a valid HTTP header name', 'Use letters, digits and dashes, e.g. "X-Team".');
      }
    }
    config.headers = { ...(headers as Record<string, string>) };
  }
  if (obj.price !== undefined && obj.price !== null) config.price = parsePrice(obj.price, source, f('price'));
  return config;
}

function parsePrice(value: unknown, source: string, at: string): ModelPrice {
  const example = 'Write e.g. { "inputPerMillion": 2.5, "outputPerMillion": 10 } (the price per million input and output tokens), or remove it.';
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new ConfigError(source, at, `must be an object; got ${JSON.stringify(value)}`, example);
  const obj = value as Record<string, unknown>;
  const keys = ['inputPerMillion', 'outputPerMillion'] as const;
  for (const key of Object.keys(obj)) {
    if (!(keys as readonly string[]).includes(key)) {
      const near = nearestName(key, keys);
      throw new ConfigError(source, `${at}.${key}`, 'is not a known price field', near ? `Did you mean "${near}"?` : example);
    }
  }
  const amount = (key: (typeof keys)[number]): number => {
    const n = obj[key];
    if (typeof n !== 'number' || !Number.isFinite(n) || n < 0 || n > MAX_PRICE_PER_MILLION) {
      throw new ConfigError(source, `${at}.${key}`, n === undefined ? 'is missing' : `must be a number from 0 to ${MAX_PRICE_PER_MILLION}; got ${JSON.stringify(n)}`, example);
    }
    return n;
  };
  return { inputPerMillion: amount('inputPerMillion'), outputPerMillion: amount('outputPerMillion') };
}

