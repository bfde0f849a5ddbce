import { parseArgs, type ParseArgsConfig } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { parseByteSize, parseFieldAssignment, problemText, type Parsed, type ReviewSettings } from '../core/config/settings';
import type { FieldMapping, OpenDatasetOptions } from '../core/dataset/types';
import { ComparedRows } from '../core/report/compare';

/** Bad usage: exit code 2, with the message and the command's usage line. */
export class UsageError extends Error {
  constructor(message: string, readonly usage?: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Exit codes are part of the CLI's public contract (docs/cli.md: "Exit codes"). */
export const ExitCode = {
  ok: 0,
  someCallsFailed: 1,
  usageOrInput: 2,
  /** The run finished, but some dataset lines could not be read and were skipped (score). */
  rowsSkipped: 3,
} as const;

export interface CliIo {
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
}

export interface CliCommand {
  readonly name: string;
  readonly usage: string;
  readonly summary: string;
  run(argv: readonly string[], io: CliIo): Promise<number>;
}

/** parseArgs with usage errors that name the command's usage. */
export function parseCommandArgs<T extends NonNullable<ParseArgsConfig['options']>>(
  argv: readonly string[],
  options: T,
  usage: string,
) {
  try {
    return parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message.replace(/\. To specify a positional.*$/s, '.'), usage);
  }
}

/** A flag that overrides a setting: its text through the setting's parser, or `setting` when the flag is absent. */
export function fromFlag<T>(flag: string, text: string | undefined, parse: (text: string) => Parsed<T>, setting: T, usage: string): T {
  if (text === undefined) return setting;
  const parsed = parse(text);
  if (parsed.problem) throw new UsageError(`--${flag} ${text}: ${problemText(parsed.problem)}`, usage);
  return parsed.value;
}

/** `role=key` pairs from repeated --field flags. */
export function parseFieldFlags(values: readonly string[] | undefined, usage: string): FieldMapping {
  const mapping: FieldMapping = {};
  const references: string[] = [];
  for (const value of values ?? []) {
    const entry = fromFlag('field', value, parseFieldAssignment, {}, usage);
    // --field reference=a --field reference=b: both are references (the row is scored against each).
    if (typeof entry.reference === 'string' && !references.includes(entry.reference)) references.push(entry.reference);
    Object.assign(mapping, entry);
  }
  if (references.length > 0) mapping.reference = references.length === 1 ? references[0] : references;
  return mapping;
}

/** The flags every command that reads a dataset takes (--field, --max-inflated-bytes). */
export const DATASET_FLAGS = {
  field: { type: 'string', multiple: true },
  'max-inflated-bytes': { type: 'string' },
} as const;

/** How a command opens its dataset: the settings' field mapping and size limit, overridden by the flags. */
export function datasetOptionsOf(values: { field?: string[]; 'max-inflated-bytes'?: string }, settings: Pick<ReviewSettings, 'fieldMapping' | 'dataset'>, usage: string): OpenDatasetOptions {
  const limit = settings.dataset.maxInflatedBytes;
  return {
    mapping: { ...settings.fieldMapping, ...parseFieldFlags(values.field, usage) },
    maxInflatedBytes: fromFlag('max-inflated-bytes', values['max-inflated-bytes'], (text) => parseByteSize(text, 'max-inflated-bytes', limit), limit, usage),
  };
}

/** The flags every command that takes the run lock has (score, judge, compact): --break-lock, --lock-timeout. */
export const LOCK_FLAGS = {
  'break-lock': { type: 'boolean' },
  'lock-timeout': { type: 'string' },
} as const;

/** How a command takes the run lock: --break-lock, and --lock-timeout as the longest wait in ms (undefined: the default). */
export function lockOptionsOf(values: { 'break-lock'?: boolean; 'lock-timeout'?: string }, usage: string): { breakLock: boolean; lockWaitMs: number | undefined } {
  return {
    breakLock: values['break-lock'] ?? false,
    lockWaitMs: values['lock-timeout'] === undefined ? undefined : lockTimeoutMs(values['lock-timeout'], usage),
  };
}

/** `--lock-timeout <s>`: the longest wait for another run's lock, in ms. */
function lockTimeoutMs(text: string, usage: string): number {
  const seconds = Number(text);
  if (text.trim() === '' || !Number.isFinite(seconds) || seconds < 0) throw new UsageError(`--lock-timeout: expected seconds (a number >= 0), got "${text}"`, usage);
  return seconds * 1000;
}

export function writeJson(io: CliIo, document: unknown): void {
  // Written in pieces of about 1 MiB: a million-row document (compare's rows, report --rows) is never one string.
  let pending = '';
  writeIndentedJson(document, '', (text) => {
    pending += text;
    if (pending.length >= JSON_PIECE_CHARS) {
      io.stdout.write(pending);
      pending = '';
    }
  });
  io.stdout.write(`${pending}\n`);
}

const JSON_PIECE_CHARS = 1 << 20;

/**
 * JSON.stringify(value, null, 2) with `indent` before each line after the first, handed out in pieces: an object's
 * properties and an array's elements one at a time (an array's element whole, unless it is an array itself).
 */
export function writeIndentedJson(value: unknown, indent: string, write: (text: string) => void): void {
  const inner = `${indent}  `;
  // Compared rows held as columns are written as their array, a row made at a time.
  const list = value instanceof ComparedRows ? value : Array.isArray(value) ? (value as unknown[]) : undefined;
  if (list) {
    if (list.length === 0) return write('[]');
    write('[');
    for (let i = 0; i < list.length; i++) {
      write(i === 0 ? `\n${inner}` : `,\n${inner}`);
      if (list instanceof ComparedRows) {
        write(list.json(i, inner));
        continue;
      }
      const element: unknown = list.at(i);
      if (Array.isArray(element)) writeIndentedJson(element, inner, write);
      else write(indented(JSON.stringify(element, null, 2) ?? 'null', inner));
    }
    return write(`\n${indent}]`);
  }
  if (value === null || typeof value !== 'object' || typeof (value as { toJSON?: unknown }).toJSON === 'function' || value instanceof Number || value instanceof String || value instanceof Boolean) {
    const text = JSON.stringify(value, null, 2);
    if (text !== undefined) write(indented(text, indent));
    return;
  }
  let first = true;
  for (const key of Object.keys(value)) {
    const property: unknown = (value as Record<string, unknown>)[key];
    // What JSON.stringify leaves out of an object: undefined, functions, symbols (and what their toJSON makes so).
    const container = property instanceof ComparedRows || (property !== null && typeof property === 'object' && typeof (property as { toJSON?: unknown }).toJSON !== 'function');
    const text = container ? undefined : JSON.stringify(property, null, 2);
    if (!container && text === undefined) continue;
    write(`${first ? '{' : ','}\n${inner}${JSON.stringify(key)}: `);
    first = false;
    if (container) writeIndentedJson(property, inner, write);
    else write(indented(text!, inner));
  }
  write(first ? '{}' : `\n${indent}}`);
}

/** A JSON text's lines after the first moved right by `indent` (JSON strings hold no raw newline). */
function indented(text: string, indent: string): string {
  return indent === '' || !text.includes('\n') ? text : text.replace(/\n/g, `\n${indent}`);
}

/**
 * Text from a dataset made safe for a terminal: control characters (ANSI escapes among them) are shown
 * as visible `\xHH` escapes instead of being interpreted by the terminal.
 */
export function terminalSafe(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/**
 * How much V8 lets the heap grow past what was live at the last full collection, in percent. A run's garbage (rows read,
 * lines parsed, outputs waiting for their scores) reaches the old generation, and V8's default lets the heap grow to up
 * to 4x what is live: score of 100,000 rows peaked at 538 MB with it, 375 MB at 25% (CPU +8%); compare and report of
 * 1,000,000 rows: docs/benchmarks.md. Read at every collection.
 */
const HEAP_GROWING_PERCENT = 25;

/** Lets the heap grow HEAP_GROWING_PERCENT past what is live (score, report, compare): the CLI's own process only, the extension host's heap is VS Code's to tune. */
export function limitHeapGrowth(): void {
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}
