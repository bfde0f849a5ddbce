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
