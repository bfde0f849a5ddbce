import type * as vscode from 'vscode';
import { decideKeyRelease, originOf } from '../core/security/keyOrigin';
import type { ReviewLog } from './log';
import { showModalWarning } from './surfaces';

/** What the key store needs to know about a model. */
export interface KeyedModel {
  readonly name: string;
  readonly baseUrl: string;
}

/** As stored in SecretStorage (never in settings or files): the key and the origin it was entrusted to. */
interface StoredKey {
  readonly key: string;
  readonly origin: string;
  readonly savedAt: string;
}

const SECRET_PREFIX = 'pisarReview.apiKey.';

/**
 * API keys per model in SecretStorage, each bound to the origin of the model's baseUrl when it was
 * saved. When a (possibly workspace-supplied) baseUrl later points elsewhere, the key is only sent
 * there after the user says so; the answer holds for this session, or rebinds the key.
 */
export class ApiKeyStore {
  /** model name -> origin the user allowed for this session despite the binding. */
  private readonly allowedOnce = new Map<string, string>();
  /** model name -> origins the user refused this session (asked once, not per row). */
  private readonly refused = new Map<string, Set<string>>();
  /** One prompt per model at a time, however many rows ask concurrently. */
  private readonly pending = new Map<string, Promise<string | undefined>>();

  constructor(private readonly secrets: vscode.SecretStorage, private readonly log: ReviewLog) {}

  async set(model: KeyedModel, key: string): Promise<void> {
    const stored: StoredKey = { key, origin: originOf(model.baseUrl), savedAt: new Date().toISOString() };
    this.log.addSecret(key);
    await this.secrets.store(SECRET_PREFIX + model.name, JSON.stringify(stored));
    this.allowedOnce.delete(model.name);
    this.refused.delete(model.name);
    this.log.info(`API key for model "${model.name}" saved, bound to ${stored.origin}.`);
  }

  async clear(modelName: string): Promise<void> {
    await this.secrets.delete(SECRET_PREFIX + modelName);
    this.allowedOnce.delete(modelName);
    this.refused.delete(modelName);
    this.log.info(`API key for model "${modelName}" cleared.`);
  }

  async has(modelName: string): Promise<boolean> {
    return (await this.read(modelName)) !== undefined;
  }

  /** The origin a model's key is bound to, if a key is stored. */
  async boundOrigin(modelName: string): Promise<string | undefined> {
    return (await this.read(modelName))?.origin;
  }

  /**
   * The key to send with a call to `model`, or undefined when there is none or the user declined to
   * send it to a new origin. Asks at most once per model and origin per session.
   */
  keyFor(model: KeyedModel): Promise<string | undefined> {
    const inFlight = this.pending.get(model.name);
    if (inFlight) return inFlight;
    const p = this.resolveKey(model).finally(() => this.pending.delete(model.name));
    this.pending.set(model.name, p);
    return p;
  }

  private async resolveKey(model: KeyedModel): Promise<string | undefined> {
    const stored = await this.read(model.name);
    if (!stored) return undefined;
    this.log.addSecret(stored.key);
    const origin = originOf(model.baseUrl);
    const allowed = this.allowedOnce.get(model.name);
    const release = decideKeyRelease({
      boundOrigin: stored.origin,
      baseUrl: model.baseUrl,
      allowedThisSession: allowed ? [allowed] : [],
      refusedThisSession: this.refused.get(model.name),
    });
    if (release === 'send') return stored.key;
    if (release === 'withhold') return undefined;

    const sendOnce = 'Send for This Session';
    const rebind = `Bind Key to ${origin}`;
    const answer = await showModalWarning(
      `The API key of model "${model.name}" was saved for ${stored.origin}, but the model's baseUrl now points at ${origin}. Send the key there?`,
      'A workspace setting may have changed the endpoint. Only send your key to a server you trust.',
      sendOnce,
      rebind,
    );
    if (answer === sendOnce) {
      this.allowedOnce.set(model.name, origin);
      this.log.info(`Model "${model.name}": key sent to ${origin} for this session (bound to ${stored.origin}).`);
      return stored.key;
    }
    if (answer === rebind) {
      await this.set(model, stored.key);
      return stored.key;
    }
    const set = this.refused.get(model.name) ?? new Set<string>();
    set.add(origin);
    this.refused.set(model.name, set);
    this.log.warn(`Model "${model.name}": key not sent to ${origin} (it is bound to ${stored.origin}).`);
    return undefined;
  }

  private async read(modelName: string): Promise<StoredKey | undefined> {
    const raw = await this.secrets.get(SECRET_PREFIX + modelName);
    if (!raw) return undefined;
    try {
      const parsed = JSON.parse(raw) as Partial<StoredKey>;
      if (typeof parsed.key === 'string' && typeof parsed.origin === 'string') {
        return { key: parsed.key, origin: parsed.origin, savedAt: parsed.savedAt ?? '' };
      }
    } catch {
      // Not ours (or from an older build): treat as no key rather than sending an unbound one.
    }
    return undefined;
  }
}
