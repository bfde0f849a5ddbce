/**
 * Which server may receive a stored API key. A key is bound to the origin (scheme, host, port) of the
 * model's baseUrl when it was saved; a baseUrl pointing elsewhere needs the user's say-so first.
 */

/** `https://api.example.com/v1` -> `https://api.example.com`; text that is not a URL maps to itself. */
export function originOf(baseUrl: string): string {
  try {
    const url = new URL(baseUrl);
    // Opaque origins ("null": file:, data:) must never compare equal to each other.
    return url.origin === 'null' ? url.href : url.origin;
  } catch {
    return baseUrl;
  }
}

/** Whether a key bound to `boundOrigin` may go to `baseUrl` without asking: same scheme, host and port. */
export function sameOrigin(boundOrigin: string, baseUrl: string): boolean {
  let target: URL;
  try {
    target = new URL(baseUrl);
  } catch {
    return false;
  }
  if (target.protocol !== 'http:' && target.protocol !== 'https:') return false;
  return target.origin === boundOrigin;
}

/** What the key store does for one call: send the key, withhold it, or ask the user first. */
export type KeyRelease = 'send' | 'withhold' | 'ask';

export interface KeyReleaseState {
  /** The origin the stored key is bound to. */
  readonly boundOrigin: string;
  /** The baseUrl the call is about to go to. */
  readonly baseUrl: string;
  /** Origins the user allowed for this session. */
  readonly allowedThisSession?: ReadonlySet<string> | readonly string[];
  /** Origins the user refused this session (asked once, not per row). */
  readonly refusedThisSession?: ReadonlySet<string> | readonly string[];
}

export function decideKeyRelease(state: KeyReleaseState): KeyRelease {
  if (sameOrigin(state.boundOrigin, state.baseUrl)) return 'send';
  const origin = originOf(state.baseUrl);
  if (includes(state.refusedThisSession, origin)) return 'withhold';
  if (includes(state.allowedThisSession, origin)) return 'send';
  return 'ask';
}

function includes(set: ReadonlySet<string> | readonly string[] | undefined, value: string): boolean {
  if (!set) return false;
  return Array.isArray(set) ? set.includes(value) : (set as ReadonlySet<string>).has(value);
}

/**
 * Where the CLI may send a key from an environment variable (the extension binds keys when they are
 * saved; the CLI's keys come from the environment, so the binding is this table and the config):
 * 1. the model's `apiKeyOrigins`, when the config lists them; else
 * 2. a server on this machine (127.0.0.0/8, ::1, localhost); else
 * 3. the provider's own hosts, for the well-known variables below.
 * Anything else is refused before any call, with the fix.
 */
export const KNOWN_KEY_ORIGINS: Readonly<Record<string, readonly string[]>> = {
  OPENAI_API_KEY: ['https://api.openai.com'],
  OPENROUTER_API_KEY: ['https://openrouter.ai'],
  GEMINI_API_KEY: ['https://generativelanguage.googleapis.com'],
  GOOGLE_API_KEY: ['https://generativelanguage.googleapis.com'],
  MISTRAL_API_KEY: ['https://api.mistral.ai'],
  GROQ_API_KEY: ['https://api.groq.com'],
  TOGETHER_API_KEY: ['https://api.together.xyz', 'https://api.together.ai'],
  DEEPSEEK_API_KEY: ['https://api.deepseek.com'],
  FIREWORKS_API_KEY: ['https://api.fireworks.ai'],
  ANTHROPIC_API_KEY: ['https://api.anthropic.com'],
  XAI_API_KEY: ['https://api.x.ai'],
  PERPLEXITY_API_KEY: ['https://api.perplexity.ai'],
  CEREBRAS_API_KEY: ['https://api.cerebras.ai'],
  HF_TOKEN: ['https://router.huggingface.co', 'https://api-inference.huggingface.co'],
};

/** Whether an environment key may go to a baseUrl, and why (said on stderr before the first call). */
export interface EnvKeyDecision {
  readonly allowed: boolean;
  /** The origin the key would go to. */
  readonly origin: string;
  /** Why it may (e.g. "the known host of OPENAI_API_KEY"), or why not. */
  readonly reason: string;
  /** For a refusal: what to change. */
  readonly fix?: string;
}

export function decideEnvKey(variable: string, baseUrl: string, apiKeyOrigins: readonly string[] | undefined): EnvKeyDecision {
  const origin = originOf(baseUrl);
  if (apiKeyOrigins !== undefined) {
    if (apiKeyOrigins.some((o) => originOf(o) === origin)) return { allowed: true, origin, reason: 'listed in the model\'s "apiKeyOrigins"' };
    return { allowed: false, origin, reason: `${origin} is not in the model's "apiKeyOrigins" (${apiKeyOrigins.join(', ')})`, fix: `Add "${origin}" to "apiKeyOrigins" of the model if ${variable} is meant for it, or correct "baseUrl".` };
  }
  if (isLoopback(baseUrl)) return { allowed: true, origin, reason: 'a server on this machine' };
  const known = KNOWN_KEY_ORIGINS[variable];
  if (known?.includes(origin)) return { allowed: true, origin, reason: `the known host of ${variable}` };
  return {
    allowed: false,
    origin,
    reason: known ? `${variable} belongs to ${known.join(' / ')}, not ${origin}` : `${variable} is bound to no host`,
    fix: `If ${variable} is meant for ${origin}, add "apiKeyOrigins": ["${origin}"] to the model in the config; the key is sent nowhere else.`,
  };
}

function isLoopback(baseUrl: string): boolean {
  try {
    const host = new URL(baseUrl).hostname.replace(/^\[|\]$/g, '').toLowerCase();
    return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
  } catch {
    return false;
  }
}
