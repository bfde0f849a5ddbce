import type { ChatMessage, ContentPart, FieldMapping, FieldRole, ImageRef, ResolvedMapping } from './types';
import { dict, ownValue } from '../security/ownKeys';

/** Keys tried for each role, in order of preference when counts tie. */
export const FIELD_CANDIDATES: Readonly<Record<FieldRole, readonly string[]>> = {
  id: ['id', 'row_id', 'uid', 'sample_id'],
  input: ['input', 'prompt', 'question', 'instruction', 'context', 'messages', 'conversations'],
  image: ['image', 'image_path', 'image_url', 'images'],
  reference: ['rationale', 'reference', 'reference_rationale', 'gold_rationale', 'explanation', 'target'],
  outputs: ['outputs', 'predictions'],
};

export const FIELD_ROLES: readonly FieldRole[] = ['id', 'input', 'image', 'reference', 'outputs'];

const CANDIDATE_KEYS = new Set(Object.values(FIELD_CANDIDATES).flat());

/**
 * The steps of a field path in a row: a key written with dots is taken whole when the row has it;
 * otherwise each dot-separated part is an object's own key, or a list index (`messages.0.content`).
 */
export function fieldPath(row: Record<string, unknown>, key: string): string[] {
  return Object.prototype.hasOwnProperty.call(row, key) || !key.includes('.') ? [key] : key.split('.');
}

/** Reads a field path (see fieldPath) from a row object. */
export function getField(row: Record<string, unknown>, key: string): unknown {
  return valueAtPath(row, fieldPath(row, key));
}

/** The value at a list of steps (keys and list indexes) from a row object; undefined when one is missing. */
function valueAtPath(row: Record<string, unknown>, steps: readonly string[]): unknown {
  let value: unknown = row;
  for (const step of steps) {
    value = stepInto(value, step);
    if (value === undefined) return undefined;
  }
  return value;
}

/** One step of a field path: an object's own key, or an index of a list. */
function stepInto(value: unknown, part: string): unknown {
  if (value === null || typeof value !== 'object') return undefined;
  if (Array.isArray(value)) return /^(0|[1-9]\d*)$/.test(part) ? value[Number(part)] : undefined;
  return ownValue(value as Record<string, unknown>, part);
}

/**
 * Where a field path stops resolving in a row, in words ("\"messages\" has 2 items, so index 3 is
 * past its end"), or undefined when the path resolves (or its first step is not in the row at all).
 */
export function whereFieldPathStops(row: Record<string, unknown>, key: string): string | undefined {
  if (Object.prototype.hasOwnProperty.call(row, key) || !key.includes('.')) return undefined;
  const parts = key.split('.');
  let value: unknown = row;
  for (let i = 0; i < parts.length; i++) {
    const next = stepInto(value, parts[i]);
    if (next === undefined || (next === null && i < parts.length - 1)) {
      if (i === 0) return undefined;
      const at = parts.slice(0, i).join('.');
      if (Array.isArray(value)) {
        return /^(0|[1-9]\d*)$/.test(parts[i])
          ? `"${at}" has ${value.length} item(s), so index ${parts[i]} is past its end`
          : `"${at}" is a list, and "${parts[i]}" is not an index into it`;
      }
      if (value !== null && typeof value === 'object') return `"${at}" has no "${parts[i]}"`;
      return `"${at}" is ${value === null ? 'null' : `a ${typeof value}`}, so "${parts.slice(i).join('.')}" cannot be read in it`;
    }
    value = next;
  }
  return undefined;
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

  /** The counts so far (to merge a part of a file indexed apart). */
  counted(): [string, number][] {
    return [...this.counts];
  }

  /** Adds counts of another part of the file. */
  add(counts: readonly (readonly [string, number])[]): void {
    for (const [key, n] of counts) this.counts.set(key, (this.counts.get(key) ?? 0) + n);
  }

  resolve(configured: FieldMapping | undefined): ResolvedMapping {
    const fields = {} as Record<FieldRole, string | null>;
    const source = {} as Record<FieldRole, 'configured' | 'detected'>;
    for (const role of FIELD_ROLES) {
      const wanted = configuredKeys(configured, role)[0];
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

/** A value that can play each role (an empty string is no input and no reference; an id is text or a number). */
const USABLE: Readonly<Record<FieldRole, (value: unknown) => boolean>> = {
  id: (value) => (typeof value === 'string' && value.trim() !== '') || (typeof value === 'number' && Number.isFinite(value)),
  input: (value) => value !== undefined && value !== null && value !== '',
  image: (value) => value !== undefined && value !== null,
  reference: (value) => value !== undefined && value !== null && value !== '',
  outputs: (value) => value !== undefined && value !== null,
};

/**
 * THE rule for which field of a row plays a role, used by the index (ids, models, findings) and by
 * the parse (the row sent, shown and scored) alike: the configured key, else the first candidate key
 * (in FIELD_CANDIDATES order) whose value can play the role.
 */
export function roleKey(row: Record<string, unknown>, role: FieldRole, mapping: FieldMapping | undefined): string | undefined {
  const configured = configuredKeys(mapping, role);
  const usable = USABLE[role];
  if (configured.length > 0) return configured.find((key) => usable(getField(row, key))) ?? configured[0];
  for (const candidate of FIELD_CANDIDATES[role]) if (usable(ownValue(row, candidate))) return candidate;
  return undefined;
}

/** A row's reference fields (DatasetRow has them). */
export interface RowReferences {
  readonly reference: string | undefined;
  readonly references?: readonly string[];
}

/** Every reference of a row, in order: none, its one, or its several. */
export function referencesOf(row: RowReferences): readonly string[] {
  return row.references ?? (row.reference !== undefined ? [row.reference] : []);
}

/** The keys the mapping names for a role: none, one, or (the reference) several. */
export function configuredKeys(mapping: FieldMapping | undefined, role: FieldRole): readonly string[] {
  const configured = mapping?.[role];
  if (configured === undefined || configured === '') return [];
  return typeof configured === 'string' ? [configured] : configured;
}

/**
 * Every reference text of a row, in order: each mapped reference field (or the detected one), a list
 * of texts taken item by item (e-SNLI's three explanations). Empty items are left out; `bad` is set
 * when a reference value is neither text nor a list of texts.
 */
function referenceTexts(row: Record<string, unknown>, reference: RoleValue, mapping: FieldMapping | undefined): { texts: string[]; bad: boolean } {
  const keys = configuredKeys(mapping, 'reference');
  const values = keys.length > 1 ? keys.map((key) => getField(row, key)) : [reference.value];
  const texts: string[] = [];
  let bad = false;
  for (const value of values) {
    if (!USABLE.reference(value)) continue;
    const items = Array.isArray(value) ? value : [value];
    for (const item of items) {
      if (typeof item === 'string') {
        if (item !== '') texts.push(item);
      } else if (item !== null && item !== undefined) bad = true;
    }
  }
  return { texts, bad };
}

/** A role's key and value in a row (the value as the row holds it, undefined when absent). */
export interface RoleValue {
  readonly key: string | undefined;
  readonly value: unknown;
  /** The value can play the role (see USABLE). */
  readonly usable: boolean;
}

function roleValue(row: Record<string, unknown>, role: FieldRole, mapping: FieldMapping | undefined): RoleValue {
  const key = roleKey(row, role, mapping);
  const value = key === undefined ? undefined : getField(row, key);
  return { key, value, usable: USABLE[role](value) };
}

/** What one row says, read by the one rule: the index and the parse both start from this. */
export interface RowContent {
  readonly id: RoleValue;
  readonly input: RoleValue;
  /** The input as a chat, when it is one (a final assistant turn used as the reference is not in it). */
  readonly messages: ChatMessage[] | undefined;
  /** The input as text (chat messages flattened as `role: content` lines). */
  readonly inputText: string;
  /** A plain-text input with images placed in it (`<image>`, `<img>path</img>`), in order. */
  readonly inputParts: ContentPart[] | undefined;
  readonly image: RoleValue;
  readonly images: ImageRef[];
  /** Set when the image field could not be read as an image. */
  readonly imageError: string | undefined;
  /** Placeholders and images that do not pair up (a placeholder without an image fails the row). */
  readonly placeholderProblem: { readonly message: string; readonly fails: boolean } | undefined;
  readonly reference: RoleValue;
  /** The reference text (the first of several); undefined when the row has none that is text. */
  readonly referenceText: string | undefined;
  /** Every reference text, when the row has more than one. */
  readonly referenceTexts: string[] | undefined;
  /** A reference value (or an item of a list of them) is not text: it is left out. */
  readonly referenceNotText: boolean;
  /** The reference comes from the row's format: a chat's final assistant turn, or Alpaca's `output`. */
  readonly referenceFromFormat: boolean;
  readonly outputs: RoleValue;
  /** Precomputed outputs, model -> text, and the models whose output is not text. */
  readonly outputTexts: Record<string, string>;
  readonly badOutputs: string[];
}

/**
 * An Alpaca row (`instruction`, `input`, `output`): the instruction and the input are one prompt
 * (joined by a blank line; the input may be empty), and `output` is the reference when the row has
 * no other. Only when the input role is not mapped.
 */
function alpacaOf(row: Record<string, unknown>, mapping: FieldMapping | undefined): { prompt: string; output: string | undefined } | undefined {
  if (mapping?.input) return undefined;
  const instruction = ownValue(row, 'instruction');
  const input = ownValue(row, 'input');
  const output = ownValue(row, 'output');
  if (typeof instruction !== 'string' || instruction.trim() === '' || (typeof input !== 'string' && typeof output !== 'string')) return undefined;
  const extra = typeof input === 'string' && input.trim() !== '' ? input : '';
  return { prompt: extra ? `${instruction}\n\n${extra}` : instruction, output: typeof output === 'string' && output !== '' ? output : undefined };
}

/** Reads a row's roles by the one rule (see roleKey). */
export function readRowContent(row: Record<string, unknown>, mapping: FieldMapping | undefined): RowContent {
  const id = roleValue(row, 'id', mapping);
  const alpaca = alpacaOf(row, mapping);
  const input: RoleValue = alpaca ? { key: 'instruction', value: alpaca.prompt, usable: true } : roleValue(row, 'input', mapping);
  const image = roleValue(row, 'image', mapping);
  const images: ImageRef[] = [];
  let imageError: string | undefined;
  if (image.usable) {
    const refs = asImageRefs(image.value);
    if (refs) images.push(...refs);
    else imageError = `"${image.key}" is not an image path, URL, data URL or {"bytes", "path"} object`;
  }
  const placing = new ImagePlacing(images);
  let messages = asMessages(input.value, placing);
  const inputParts = messages === undefined && typeof input.value === 'string' ? placing.place(input.value) : undefined;
  const reference = roleValue(row, 'reference', mapping);
  const references = referenceTexts(row, reference, mapping);
  let referenceText: string | undefined = references.texts[0];
  let referenceFromFormat = false;
  // a configured reference that resolves to nothing is a finding, never silently another field
  if (!reference.usable && !mapping?.reference) {
    const finalAnswer = splitFinalAnswer(messages);
    if (finalAnswer) {
      messages = finalAnswer.prompt;
      referenceText = finalAnswer.answer;
      referenceFromFormat = true;
    } else if (alpaca?.output !== undefined) {
      referenceText = alpaca.output;
      referenceFromFormat = true;
    }
  }
  const outputs = roleValue(row, 'outputs', mapping);
  const read = outputs.usable ? asOutputs(outputs.value) : undefined;
  return {
    id,
    input,
    messages,
    inputText: inputText(input.value, messages),
    inputParts,
    image,
    images,
    imageError,
    placeholderProblem: imageError ? undefined : placing.problem(),
    reference,
    referenceText,
    referenceTexts: references.texts.length > 1 ? references.texts : undefined,
    referenceNotText: references.bad,
    referenceFromFormat,
    outputs,
    outputTexts: read?.outputs ?? dict<string>(),
    badOutputs: read?.bad ?? [],
  };
}

/** Image placeholders of fine-tuning formats: LLaVA / LLaMA-Factory `<image>`, `<|image|>`, and Qwen-VL's `<img>path</img>`. */
const IMAGE_TOKEN = /<image>|<\|image\|>|<img>([^<>]*)<\/img>/g;

/**
 * Places a row's images where its text stands for them: each `<image>` takes the next image of the
 * row's image field; `<img>path</img>` is an image of its own; an image part of a chat message
 * (`{"type": "image_url"}`) stays where it is. Images are indexes into the row's image list.
 */
class ImagePlacing {
  private placeholders = 0;
  private readonly fieldImages: number;
  constructor(readonly images: ImageRef[]) {
    this.fieldImages = images.length;
  }

  /** The text as parts with images placed, or undefined when it names no image. */
  place(text: string): ContentPart[] | undefined {
    if (!text.includes('<')) return undefined; // every placeholder starts with '<'
    IMAGE_TOKEN.lastIndex = 0;
    const matches = [...text.matchAll(IMAGE_TOKEN)];
    if (matches.length === 0) return undefined;
    const parts: ContentPart[] = [];
    let at = 0;
    for (const match of matches) {
      this.pushText(parts, text.slice(at, match.index));
      at = (match.index as number) + match[0].length;
      if (match[1] !== undefined) {
        parts.push({ image: this.add(classifyImage(match[1].trim())) });
      } else {
        // a placeholder past the field's images is kept as text (and fails the row, see problem())
        if (this.placeholders < this.fieldImages) parts.push({ image: this.placeholders });
        else parts.push({ text: match[0] });
        this.placeholders++;
      }
    }
    this.pushText(parts, text.slice(at));
    return parts;
  }

  /** An image part of a chat message, placed where it stands. */
  add(ref: ImageRef): number {
    this.images.push(ref);
    return this.images.length - 1;
  }

  private pushText(parts: ContentPart[], text: string): void {
    // LLaVA writes "<image>\n" before the question: the line break goes with the placeholder
    const trimmed = text.replace(/^\n/, '').replace(/\n$/, '');
    if (trimmed.trim() !== '') parts.push({ text: trimmed });
  }

  problem(): { message: string; fails: boolean } | undefined {
    if (this.placeholders > this.fieldImages) {
      return { message: `the text has ${this.placeholders} <image> placeholder(s) but the row has ${this.fieldImages} image(s): placeholder ${this.fieldImages + 1} has no image`, fails: true };
    }
    if (this.placeholders > 0 && this.placeholders < this.fieldImages) {
      return { message: `the row has ${this.fieldImages} image(s) but its text has ${this.placeholders} <image> placeholder(s): image ${this.placeholders + 1} has no placeholder and is sent after the text of the last user turn`, fails: false };
    }
    return undefined;
  }
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

/** ShareGPT speakers (`from`) as chat roles. */
const SHAREGPT_ROLES: Readonly<Record<string, string>> = {
  human: 'user', user: 'user', gpt: 'assistant', assistant: 'assistant', chatgpt: 'assistant', bing: 'assistant', bard: 'assistant',
  model: 'assistant', bot: 'assistant', system: 'system',
};

/**
 * A chat array as messages: OpenAI style (`role`, `content`) or ShareGPT style (`from`, `value`,
 * speakers human/gpt/system). Undefined when the value is not a chat.
 */
export function asMessages(value: unknown, placing?: ImagePlacing): ChatMessage[] | undefined {
  if (!Array.isArray(value) || value.length === 0) {
    return undefined;
  }
  const messages: ChatMessage[] = [];
  for (const item of value) {
    if (!item || typeof item !== 'object') {
      return undefined;
    }
    const m = item as { role?: unknown; content?: unknown; from?: unknown; value?: unknown };
    let role: string;
    let content: unknown;
    if (typeof m.role === 'string') {
      role = m.role;
      content = m.content;
    } else if (typeof m.from === 'string') {
      role = SHAREGPT_ROLES[m.from.toLowerCase()] ?? 'user';
      content = m.value;
    } else {
      return undefined;
    }
    const parts = placing ? contentParts(content, placing) : undefined;
    messages.push(parts ? { role, content: contentText(content), parts } : { role, content: contentText(content) });
  }
  return messages;
}

/** A message's content as parts when it holds images (placeholders, or image parts), else undefined. */
function contentParts(content: unknown, placing: ImagePlacing): ContentPart[] | undefined {
  if (typeof content === 'string') return placing.place(content);
  if (!Array.isArray(content)) return undefined;
  const parts: ContentPart[] = [];
  let images = false;
  for (const part of content) {
    const url = (part as { image_url?: { url?: unknown } | string } | null)?.image_url;
    const href = typeof url === 'string' ? url : url && typeof url.url === 'string' ? url.url : undefined;
    if (href !== undefined) {
      parts.push({ image: placing.add(classifyImage(href)) });
      images = true;
    } else if (part && typeof part === 'object' && typeof (part as { text?: unknown }).text === 'string') {
      const placed = placing.place((part as { text: string }).text);
      if (placed) images = true;
      parts.push(...(placed ?? [{ text: (part as { text: string }).text }]));
    }
  }
  return images ? parts : undefined;
}

/**
 * A chat that ends with the assistant's turn and has no separate reference: that turn is the target
 * (fine-tuning data), so it becomes the reference and is not sent (a model shown the answer would
 * score as if it wrote it).
 */
export function splitFinalAnswer(messages: readonly ChatMessage[] | undefined): { prompt: ChatMessage[]; answer: string } | undefined {
  if (!messages || messages.length < 2) {
    return undefined;
  }
  const last = messages[messages.length - 1];
  if (last.role !== 'assistant' || last.content.trim() === '' || !messages.some((m) => m.role === 'user')) {
    return undefined;
  }
  return { prompt: messages.slice(0, -1), answer: last.content };
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

/** Images as written: a string, `{url}` / `{path}`, a Hugging Face `{bytes, path}` object, or an array of those. Returns undefined when malformed. */
export function asImageRefs(value: unknown): ImageRef[] | undefined {
  const list = Array.isArray(value) ? value : [value];
  const refs: ImageRef[] = [];
  for (const item of list) {
    if (typeof item === 'string' && item.trim() !== '') {
      refs.push(classifyImage(item.trim()));
    } else if (item && typeof item === 'object') {
      const bytes = (item as { bytes?: unknown }).bytes;
      if (bytes !== undefined && bytes !== null) {
        const ref = imageFromBytes(bytes);
        if (!ref) {
          return undefined;
        }
        refs.push(ref);
        continue;
      }
      const candidate = (item as { url?: unknown }).url ?? (item as { path?: unknown }).path;
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

/**
 * Hugging Face `Image` bytes as a data URL: base64 text, a list of byte values, or Node's
 * `{type: "Buffer", data: [...]}`. Undefined when they are not bytes; the type is left for the
 * sender to check by the first bytes.
 */
function imageFromBytes(bytes: unknown): ImageRef | undefined {
  let buffer: Buffer | undefined;
  if (typeof bytes === 'string' && bytes.trim() !== '' && /^[A-Za-z0-9+/=\s_-]+$/.test(bytes)) {
    buffer = Buffer.from(bytes, 'base64');
  } else if (Array.isArray(bytes) && bytes.length > 0 && bytes.every((b) => Number.isInteger(b) && b >= 0 && b <= 255)) {
    buffer = Buffer.from(bytes as number[]);
  } else if (bytes && typeof bytes === 'object' && Array.isArray((bytes as { data?: unknown }).data)) {
    return imageFromBytes((bytes as { data: unknown }).data);
  }
  if (!buffer || buffer.length === 0) {
    return undefined;
  }
  return { kind: 'data', value: `data:${imageMime(buffer) ?? 'application/octet-stream'};base64,${buffer.toString('base64')}` };
}

function imageMime(b: Buffer): string | undefined {
  if (b.length >= 8 && b[0] === 0x89 && b.toString('latin1', 1, 4) === 'PNG') return 'image/png';
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'image/jpeg';
  if (b.length >= 6 && /^GIF8[79]a$/.test(b.toString('latin1', 0, 6))) return 'image/gif';
  if (b.length >= 12 && b.toString('latin1', 0, 4) === 'RIFF' && b.toString('latin1', 8, 12) === 'WEBP') return 'image/webp';
  return undefined;
}

/**
 * The text of one precomputed output: a string, or an object's `text` (else `output`) when that is a
 * string. The first of those keys present decides; undefined means the entry is not text.
 */
export function outputEntryText(entry: unknown): string | undefined {
  if (typeof entry === 'string') return entry;
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) return undefined;
  const record = entry as Record<string, unknown>;
  const text = ownValue(record, 'text') ?? ownValue(record, 'output');
  return typeof text === 'string' ? text : undefined;
}

/** Outputs as model -> text (see outputEntryText); undefined when the value is not an object of outputs. */
export function asOutputs(value: unknown): { outputs: Record<string, string>; bad: string[] } | undefined {
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    return undefined;
  }
  const outputs = dict<string>();
  const bad: string[] = [];
  for (const model of Object.keys(value)) {
    const entry = (value as Record<string, unknown>)[model];
    const text = outputEntryText(entry);
    if (text !== undefined) {
      outputs[model] = text;
    } else if (entry !== null && entry !== undefined) {
      bad.push(model);
    }
  }
  return { outputs, bad };
}
