import * as path from 'node:path';
import { configuredKeys, FIELD_CANDIDATES, FIELD_ROLES, whereFieldPathStops, type RowContent } from './fields';
import type { FieldMapping, FieldRole, Finding, FindingCode, ImageRef } from './types';
import type { RepeatedKey } from './writtenJson';

/** The findings of one file (or one part of it), in line order as they are reported. */
export class FindingList {
  readonly items: Finding[] = [];

  constructor(private readonly file: string) {}

  report(line: number, severity: Finding['severity'], code: FindingCode, message: string, fix: string): void {
    this.items.push({ file: this.file, line, severity, code, message, fix });
  }

  /** An info finding on line 1 about the whole file (its encoding or compression). */
  note(message: string, fix = 'Nothing to do; this is for information.'): void {
    this.report(1, 'info', 'encoding', message, fix);
  }
}

function describeJsonError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/^(Unexpected|Expected)/, (m) => m.toLowerCase());
}

/** Where a line uses NaN or Infinity (not JSON), and under which key, for a finding with the exact fix. */
function nonFiniteNumber(text: string): { token: string; key?: string } | undefined {
  let lastString: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '"') {
      let end = i + 1;
      while (end < text.length && text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      lastString = text.slice(i + 1, end);
      i = end;
      continue;
    }
    const match = /^-?(NaN|Infinity)\b/.exec(text.slice(i, i + 10));
    if (match && /[\s:,[]/.test(text[i - 1] ?? ' ')) {
      return { token: match[0], key: lastString };
    }
  }
  return undefined;
}

/** The finding for a line JSON.parse refused. */
export function reportUnparsedLine(findings: FindingList, line: number, text: string, error: unknown): void {
  const nonFinite = nonFiniteNumber(text);
  if (nonFinite) {
    const where = nonFinite.key !== undefined ? ` for "${nonFinite.key}"` : '';
    findings.report(line, 'error', 'non-finite-number', `line has ${nonFinite.token}${where}, which is not JSON (Python's json.dumps writes it for float('nan') / float('inf')); the row was skipped`, `Write null instead of ${nonFinite.token}${where}: in Python pass allow_nan=False to find them and replace them with None (pandas: df.to_json(path, orient="records", lines=True) writes null).`);
    return;
  }
  const pretty = /^\s*[[{]\s*$/.test(text);
  findings.report(line, 'error', 'invalid-json', `line is not valid JSON: ${describeJsonError(error)}`, pretty
    ? 'The file looks like one pretty-printed JSON document, not JSONL: write one object a line, e.g. jq -c \'.[]\' data.json > data.jsonl.'
    : 'Make the line one complete JSON object, e.g. {"id": "…", "input": "…", "rationale": "…"}, or delete it.');
}

/** The finding for a line that is JSON but not an object. */
export function reportNotAnObject(findings: FindingList, line: number, parsed: unknown): void {
  const kind = parsed === null ? 'null' : Array.isArray(parsed) ? 'an array' : `a ${typeof parsed}`;
  findings.report(line, 'error', 'not-an-object', `line is valid JSON but ${kind}, not an object; it is not a row`, Array.isArray(parsed) && parsed.some((v) => v && typeof v === 'object')
    ? 'The line is a JSON array of rows: write one object a line instead, e.g. jq -c \'.[]\' data.json > data.jsonl.'
    : 'Make the line one JSON object with an id, an input and a rationale.');
}

/** The keys looked for a role, for a finding: the configured one, or every candidate. */
function keysLookedFor(role: FieldRole, mapping: FieldMapping | undefined): string {
  const keys = configuredKeys(mapping, role);
  return keys.length > 0 ? `${keys.map((k) => `"${k}"`).join(', ')} (from the field mapping)` : FIELD_CANDIDATES[role].map((k) => `"${k}"`).join(', ');
}

/** A configured field path that stops partway in this row, in words (see whereFieldPathStops). */
function stopsPartway(row: Record<string, unknown>, role: FieldRole, mapping: FieldMapping | undefined): string | undefined {
  for (const key of configuredKeys(mapping, role)) {
    const where = whereFieldPathStops(row, key);
    if (where) return `; the mapping's "${key}" resolves to nothing: ${where}`;
  }
  return undefined;
}

/** A value for a finding as written, cut at 60 characters. */
function shortValue(text: string): string {
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/**
 * The findings for keys a row writes more than once in one object: every reader here takes the last
 * (as JSON.parse and Python's json do), and the finding says so, names the role the key decides, and
 * the fix, because other tools take the first and would read another row.
 */
export function reportRepeatedKeys(findings: FindingList, line: number, repeated: readonly RepeatedKey[], content: RowContent): void {
  for (const { at, key, times, last } of repeated) {
    const path = [...at, key].join('.');
    const role = FIELD_ROLES.find((r) => content[r].key !== undefined && (content[r].key === path || (content[r].key as string).startsWith(`${path}.`) || path.startsWith(`${content[r].key}.`)));
    const where = at.length > 0 ? ` in "${at.join('.')}"` : '';
    const decides = role ? `; it decides the row's ${role}, and a tool that keeps the first value reads another ${role}` : '; a tool that keeps the first value reads another row';
    findings.report(line, 'warning', 'repeated-key', `key "${key}" is written ${times} times${where}; the last value (${shortValue(last)}) is read, as JSON.parse and Python's json do${decides}`, `Keep one "${key}"${where} on this line: delete the other value(s).`);
  }
}

/**
 * The findings about a row's roles, from the same reading of the row the parse makes (so what is
 * reported is what is sent, shown and scored).
 */
export function reportRowContent(findings: FindingList, line: number, row: Record<string, unknown>, content: RowContent, mapping: FieldMapping | undefined, datasetFile: string): void {
  if (!content.reference.usable && !content.referenceFromFormat) {
    findings.report(line, 'warning', 'no-reference', `row has no reference rationale (looked for ${keysLookedFor('reference', mapping)})${stopsPartway(row, 'reference', mapping) ?? ''}; its outputs can be produced but not scored`, 'Add a "rationale" field, or map the reference field in pisarReview.fieldMapping (CLI: "fieldMapping" in the config).');
  } else if (content.reference.usable && content.referenceText === undefined) {
    const value = content.reference.value;
    const what = Array.isArray(value) ? (value.length === 0 ? 'an empty list' : 'a list with no text in it') : `a ${typeof value}`;
    findings.report(line, 'warning', 'bad-field', `the reference rationale ("${content.reference.key}") is ${what}, not text; the row cannot be scored`, 'Make the reference rationale a string, or a list of strings (the row is scored against each).');
  } else if (content.referenceNotText) {
    findings.report(line, 'warning', 'bad-field', `a reference rationale ("${content.reference.key}") holds a value that is not text; it was left out and the row is scored against the other references`, 'Make each reference a string.');
  }
  if (!content.input.usable) {
    findings.report(line, 'warning', 'no-input', `row has no input (looked for ${keysLookedFor('input', mapping)})${stopsPartway(row, 'input', mapping) ?? ''}; models cannot be called on it`, 'Add an "input" (or "prompt"/"messages") field, or map the input field in pisarReview.fieldMapping.');
  }
  if (!content.id.usable && mapping?.id) {
    const partway = stopsPartway(row, 'id', mapping);
    findings.report(line, 'warning', 'bad-field', `row has no id at "${mapping.id}" (from the field mapping)${partway ?? ''}; it is shown as "line:${line}"`, `Give the row an id at "${mapping.id}", or change the id field in pisarReview.fieldMapping.`);
  }
  for (const role of ['outputs', 'image'] as const) {
    const partway = content[role].usable ? undefined : stopsPartway(row, role, mapping);
    if (partway) findings.report(line, 'warning', 'bad-field', `row has no ${role === 'outputs' ? 'precomputed outputs' : 'image'}${partway}`, `Fix the ${role} field in pisarReview.fieldMapping (CLI: "fieldMapping" / --field ${role}=KEY), or the row.`);
  }
  if (content.outputs.usable) {
    const key = content.outputs.key as string;
    const value = content.outputs.value;
    if (typeof value !== 'object' || Array.isArray(value)) {
      findings.report(line, 'warning', 'bad-field', `"${key}" is not an object of model name -> output text; it was ignored`, `Write "${key}" as {"model-name": "output text", …}.`);
    } else if (content.badOutputs.length > 0) {
      findings.report(line, 'warning', 'bad-field', `"${key}" has outputs that are not text for ${content.badOutputs.map((m) => `"${m}"`).join(', ')}; they were ignored`, 'Make each output a string, or an object whose "text" (or "output") is a string.');
    }
  }
  if (content.placeholderProblem) {
    findings.report(line, 'warning', 'image-placeholder', `${content.placeholderProblem.message}${content.placeholderProblem.fails ? '; the row fails when called and nothing is sent' : ''}`, 'Give the row one image per <image> placeholder, in order (or write the image where it stands as <img>path</img>).');
  }
  if (content.imageError) {
    findings.report(line, 'warning', 'bad-image', `${content.imageError}; the row fails when called and nothing is sent`, 'Give the image as a path relative to the dataset, an http(s) URL, a data: URL or a Hugging Face {"bytes": <base64>, "path": …} object.');
  } else {
    for (const ref of content.images) {
      const problem = imagePathProblem(datasetFile, ref);
      if (problem) findings.report(line, 'warning', 'bad-image', problem, 'Copy the image into the dataset\'s folder and refer to it by a relative path.');
    }
  }
}

/**
 * Why an image path must not be read, or undefined when it may be. Paths are resolved against the dataset's
 * folder and must stay inside it: a dataset someone else wrote must not make us upload /etc/passwd.
 */
export function imagePathProblem(datasetFile: string, ref: ImageRef): string | undefined {
  if (ref.kind !== 'path') {
    return undefined;
  }
  const folder = path.dirname(datasetFile);
  if (path.isAbsolute(ref.value) || /^[a-zA-Z]:[\\/]/.test(ref.value)) {
    return `image path "${ref.value}" is absolute; only paths inside the dataset's folder are read`;
  }
  const resolved = path.resolve(folder, ref.value);
  const relative = path.relative(folder, resolved);
  if (relative === '' || relative.startsWith('..') || path.isAbsolute(relative)) {
    return `image path "${ref.value}" leads outside the dataset's folder; it will not be read`;
  }
  return undefined;
}
