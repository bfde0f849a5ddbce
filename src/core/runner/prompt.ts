import type { ModelConfig } from '../config/models';
import { getField } from '../dataset/fields';
import type { ContentPart, DatasetRow } from '../dataset/types';
import { DEFAULT_MAX_IMAGE_BYTES, ImageError, imageUrlFor } from './images';

/** A chat message as sent to the endpoint (text, or text + image parts). */
export interface OutgoingMessage {
  role: 'system' | 'user' | 'assistant';
  content: string | ({ type: 'text'; text: string } | { type: 'image_url'; image_url: { url: string } })[];
}

/** A row that cannot be turned into a prompt; the row is marked failed with this reason, no call made. */
export class PromptError extends Error {
  constructor(message: string, readonly fix: string) {
    super(message);
    this.name = 'PromptError';
  }
}

const PLACEHOLDER = /\{\{\s*([^}]+?)\s*\}\}/g;

/** Fills `{{field}}` placeholders from the row (`{{input}}` is the row's input text; dots reach into objects). */
export function renderTemplate(template: string, row: DatasetRow): string {
  return template.replace(PLACEHOLDER, (_, name: string) => {
    if (name === 'input') return row.input;
    if (name === 'id') return row.id;
    const value = getField(row.fields as Record<string, unknown>, name);
    if (value === undefined || value === null) {
      throw new PromptError(`the prompt template needs {{${name}}} but row "${row.id}" (line ${row.line}) has no "${name}" field`, `Add "${name}" to the row, or change the model's promptTemplate.`);
    }
    return typeof value === 'string' ? value : JSON.stringify(value);
  });
}

/**
 * The messages sent for a row: the template's text, or the row's chat messages, or its input. Images
 * stand where the row puts them (an `<image>` or `<img>path</img>` placeholder, an image part of a
 * chat message); images nothing places are attached to the last user turn.
 */
export async function buildMessages(row: DatasetRow, model: Pick<ModelConfig, 'promptTemplate' | 'systemPrompt'> & Partial<ModelConfig>, datasetFile: string, maxImageBytes = DEFAULT_MAX_IMAGE_BYTES): Promise<OutgoingMessage[]> {
  if (row.imageError) throw new ImageError(`row "${row.id}" (line ${row.line}): ${row.imageError}`, 'Fix the row\'s image field; nothing was sent.');
  if (row.placeholderError && !model.promptTemplate) {
    throw new PromptError(`row "${row.id}" (line ${row.line}): ${row.placeholderError}`, 'Give the row one image per <image> placeholder, in order; nothing was sent.');
  }
  if (!model.promptTemplate && !(row.messages && row.messages.length > 0) && row.input.trim() === '' && !row.inputParts) {
    throw new PromptError(`row "${row.id}" (line ${row.line}) has no input to send`, 'Give the row an input (or messages), or set a promptTemplate that uses its fields.');
  }
  const urls = await Promise.all(row.images.map((ref) => imageUrlFor(ref, datasetFile, maxImageBytes)));
  const placed = new Set<number>();
  const withImages = (parts: readonly ContentPart[]): OutgoingMessage['content'] =>
    parts.map((part) => {
      if ('text' in part) return { type: 'text' as const, text: part.text };
      placed.add(part.image);
      return { type: 'image_url' as const, image_url: { url: urls[part.image] } };
    });
  const messages: OutgoingMessage[] = [];
  if (model.promptTemplate) {
    if (model.systemPrompt) messages.push({ role: 'system', content: model.systemPrompt });
    messages.push({ role: 'user', content: renderTemplate(model.promptTemplate, row) });
  } else if (row.messages && row.messages.length > 0) {
    if (model.systemPrompt && !row.messages.some((m) => m.role === 'system')) messages.push({ role: 'system', content: model.systemPrompt });
    for (const m of row.messages) messages.push({ role: asRole(m.role), content: m.parts ? withImages(m.parts) : m.content });
  } else {
    if (model.systemPrompt) messages.push({ role: 'system', content: model.systemPrompt });
    messages.push({ role: 'user', content: row.inputParts ? withImages(row.inputParts) : row.input });
  }
  const unplaced = urls.filter((_, i) => !placed.has(i));
  if (unplaced.length > 0) {
    let last = messages.length - 1;
    while (last >= 0 && messages[last].role !== 'user') last--;
    if (last < 0) {
      messages.push({ role: 'user', content: '' });
      last = messages.length - 1;
    }
    const content = messages[last].content;
    const parts = typeof content === 'string' ? (content ? [{ type: 'text' as const, text: content }] : []) : content;
    messages[last] = { role: 'user', content: [...parts, ...unplaced.map((url) => ({ type: 'image_url' as const, image_url: { url } }))] };
  }
  return messages;
}

function asRole(role: string): OutgoingMessage['role'] {
  return role === 'system' || role === 'assistant' ? role : 'user';
}
