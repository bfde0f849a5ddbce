import type { ChatMessage, FieldMapping, FieldRole, ImageRef, ResolvedMapping } from './types';

/** Keys tried for each role, in order of preference when counts tie. */
export const FIELD_CANDIDATES: Readonly<Record<FieldRole, readonly string[]>> = {
  id: ['id', 'row_id', 'uid', 'sample_id'],
  input: ['input', 'prompt', 'question', 'instruction', 'context', 'messages'],
  image: ['image', 'image_path', 'image_url', 'images'],
  reference: ['rationale', 'reference', 'reference_rationale', 'gold_rationale', 'explanation', 'target'],
  outputs: ['outputs', 'predictions'],
};

export const FIELD_ROLES: readonly FieldRole[] = ['id', 'input', 'image', 'reference', 'outputs'];

const CANDIDATE_KEYS = new Set(Object.values(FIELD_CANDIDATES).flat());

/** Reads `a.b.c` from a row object; plain keys are the common case. */
export function getField(row: Record<string, unknown>, key: string): unknown {
  if (key in row) {
    return row[key];
  }
  if (!key.includes('.')) {
    return undefined;
  }
  let value: unknown = row;
  for (const part of key.split('.')) {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      return undefined;
    }
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/** Counts which candidate keys the rows use, so the dataset-level mapping follows the majority. */
export class FieldDetector {
  private readonly counts = new Map<string, number>();

  observe(row: Record<string, unknown>): void {
    // Walk the row's own keys (a handful) rather than every candidate: this runs once per line.
    for (const key in row) {
      if (CANDIDATE_KEYS.has(key) && row[key] !== undefined && row[key] !== null) {
        this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
      }
    }
  }

  resolve(configured: FieldMapping | undefined): ResolvedMapping {
    const fields = {} as Record<FieldRole, string | null>;
    const source = {} as Record<FieldRole, 'configured' | 'detected'>;
    for (const role of FIELD_ROLES) {
      const wanted = configured?.[role];
      if (wanted) {
        fields[role] = wanted;
        source[role] = 'configured';
        continue;
      }
      let best: string | null = null;
      let bestCount = 0;
      for (const key of FIELD_CANDIDATES[role]) {
        const count = this.counts.get(key) ?? 0;
        if (count > bestCount) {
          best = key;
          bestCount = count;
        }
      }
      fields[role] = best;
      source[role] = 'detected';
    }
    return { fields, source };
  }
}

/** The key a row uses for a role: the mapping's key, else (when detected) any other candidate it has. */
export function keyForRole(
  row: Record<string, unknown>,
  role: FieldRole,
  mapping: ResolvedMapping,
): string | undefined {
  const key = mapping.fields[role];
  if (key !== null && getField(row, key) !== undefined && getField(row, key) !== null) {
    return key;
  }
  if (mapping.source[role] === 'configured') {
    return undefined;
  }
  return FIELD_CANDIDATES[role].find((candidate) => row[candidate] !== undefined && row[candidate] !== null);
}

/** The text of a chat message's content: a string, or the text parts of a content-part array. */
function contentText(content: unknown): string {
  if (typeof content === 'string') {
    return content;
  }
  if (Array.isArray(content)) {
    return content
      .map((part) => (part && typeof part === 'object' && typeof (part as { text?: unknown }).text === 'string' ? (part as { text: string }).text : ''))
      .filter((text) => text.length > 0)
      .join('\n');
  }
  return content === undefined || content === null ? '' : JSON.stringify(content);
}

export function asMessages(value: unknown): ChatMessage[] | undefined {
  if (!Array.isArray(value) || value.length === 0) {
    return undefined;
  }
  const messages: ChatMessage[] = [];
  for (const item of value) {
    if (!item || typeof item !== 'object' || typeof (item as { role?: unknown }).role !== 'string') {
      return undefined;
    }
    messages.push({ role: (item as { role: string }).role, content: contentText((item as { content?: unknown }).content) });
  }
  return messages;
}

/** Image parts inside chat messages (`{type: 'image_url', image_url: {url}}`). */
export function imagesInMessages(value: unknown): string[] {
  const urls: string[] = [];
  if (!Array.isArray(value)) {
    return urls;
  }
  for (const message of value) {
    const content = (message as { content?: unknown } | null)?.content;
    if (!Array.isArray(content)) {
      continue;
    }
    for (const part of content) {
      const url = (part as { image_url?: { url?: unknown } | string } | null)?.image_url;
      if (typeof url === 'string') {
        urls.push(url);
      } else if (url && typeof url.url === 'string') {
        urls.push(url.url);
      }
    }
  }
  return urls;
}

export function inputText(value: unknown, messages: readonly ChatMessage[] | undefined): string {
  if (messages) {
    return messages.map((m) => `${m.role}: ${m.content}`).join('\n');
  }
  if (typeof value === 'string') {
    return value;
  }
  if (value === undefined || value === null) {
    return '';
  }
  return JSON.stringify(value);
}

export function classifyImage(value: string): ImageRef {
  if (/^data:/i.test(value)) {
    return { kind: 'data', value };
  }
  if (/^https?:\/\//i.test(value)) {
    return { kind: 'url', value };
  }
  return { kind: 'path', value };
}

/** Images as written: a string, `{url}` / `{path}`, or an array of those. Returns undefined when malformed. */
export function asImageRefs(value: unknown): ImageRef[] | undefined {
  const list = Array.isArray(value) ? value : [value];
  const refs: ImageRef[] = [];
  for (const item of list) {
    if (typeof item === 'string' && item.trim() !== '') {
      refs.push(classifyImage(item.trim()));
    } else if (item && typeof item === 'object') {
      const candidate = (item as { url?: unknown; path?: unknown }).url ?? (item as { path?: unknown }).path;
      if (typeof candidate !== 'string' || candidate.trim() === '') {
        return undefined;
      }
      refs.push(classifyImage(candidate.trim()));
    } else {
      return undefined;
    }
  }
  return refs;
}

/** Outputs as model -> text. Values may be strings or `{text}` / `{output}` objects. */
export function asOutputs(value: unknown): { outputs: Record<string, string>; bad: string[] } | undefined {
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    return undefined;
  }
  const outputs: Record<string, string> = {};
  const bad: string[] = [];
  for (const [model, entry] of Object.entries(value as Record<string, unknown>)) {
    if (typeof entry === 'string') {
      outputs[model] = entry;
    } else if (entry && typeof entry === 'object') {
      const text = (entry as { text?: unknown }).text ?? (entry as { output?: unknown }).output;
      if (typeof text === 'string') {
        outputs[model] = text;
      } else {
        bad.push(model);
      }
    } else if (entry !== null && entry !== undefined) {
      bad.push(model);
    }
  }
  return { outputs, bad };
}
