/** The roles a PiSAR row's fields can play. */
export type FieldRole = 'id' | 'input' | 'image' | 'reference' | 'outputs';

/**
 * A user's override of field detection: role -> JSON key of the row object. The reference may name
 * several keys (e-SNLI's explanation_1..3): the row is scored against each.
 */
export type FieldMapping = Partial<Record<Exclude<FieldRole, 'reference'>, string>> & { reference?: string | readonly string[] };

/** The mapping in force for a dataset, and where each part came from. */
export interface ResolvedMapping {
  /** JSON key per role, or null when no row has a field for that role. */
  readonly fields: Readonly<Record<FieldRole, string | null>>;
  /** Per role: 'configured' (from settings / CLI config) or 'detected' (from the rows). */
  readonly source: Readonly<Record<FieldRole, 'configured' | 'detected'>>;
}

/** A piece of a message as sent: text, or an image (an index into the row's `images`). */
export type ContentPart = { readonly text: string } | { readonly image: number };

export interface ChatMessage {
  readonly role: string;
  /** The message's text (image placeholders as written, image parts left out). */
  readonly content: string;
  /** The message with its images where they stand, when it has any (placeholders or image parts). */
  readonly parts?: readonly ContentPart[];
}

/** An image a row refers to, as written in the row. */
export interface ImageRef {
  readonly kind: 'path' | 'url' | 'data';
  /** The value as written (a relative path stays relative; resolve against the dataset's folder). */
  readonly value: string;
}

/** One parsed row. Built lazily from the line index; never all held at once by the reader. */
export interface DatasetRow {
  /** 0-based position among the valid rows. */
  readonly index: number;
  /** 1-based line number in the file. */
  readonly line: number;
  /** The row's id, or `line:<n>` when it has none. Unique within a dataset (duplicates get a `#<line>` suffix). */
  readonly id: string;
  /** The id as written in the row, if any. */
  readonly rawId: string | undefined;
  /** The input as text (chat messages flattened as `role: content` lines). */
  readonly input: string;
  /** Chat messages when the input is a chat array (`messages`, or ShareGPT `conversations`); a final
   * assistant turn that serves as the reference is not among them. */
  readonly messages: readonly ChatMessage[] | undefined;
  readonly images: readonly ImageRef[];
  /** A plain-text input with its images placed where its placeholders stand (`<image>`, `<img>path</img>`). */
  readonly inputParts?: readonly ContentPart[];
  /** Image placeholders without an image: the row fails when called and nothing is sent. */
  readonly placeholderError?: string;
  /** Set when the row's image field could not be read as an image: the row fails when called, nothing is sent. */
  readonly imageError?: string;
  /** The reference rationale (the first, when there are several); undefined when the row has none (it can be run, not scored). */
  readonly reference: string | undefined;
  /** Every reference, in order, when the row has more than one (a list, or several mapped fields): scored against each (see referencesOf). */
  readonly references?: readonly string[];
  /** Precomputed outputs: model name -> text. */
  readonly outputs: Readonly<Record<string, string>>;
  /** The row object as parsed, for prompt templates (`{{field}}`). */
  readonly fields: Readonly<Record<string, unknown>>;
  /** Hash of the row's content (its line, less a trailing CR); changes whenever the row is edited. */
  readonly hash: string;
}

export type FindingCode =
  | 'bom'
  | 'invalid-json'
  | 'not-an-object'
  | 'no-reference'
  | 'no-input'
  | 'duplicate-id'
  | 'invalid-utf8'
  | 'line-too-long'
  | 'too-deep'
  | 'bad-field'
  | 'bad-image'
  | 'image-placeholder'
  | 'non-finite-number'
  | 'encoding'
  | 'repeated-key';

/** A problem with one line, for Problems, `inspect` and reports. */
export interface Finding {
  readonly file: string;
  /** 1-based line number. */
  readonly line: number;
  readonly severity: 'error' | 'warning' | 'info';
  readonly code: FindingCode;
  /** What is wrong, in a sentence. */
  readonly message: string;
  /** What to do about it, in a sentence. */
  readonly fix: string;
}


export interface OpenDatasetOptions {
  /** Overrides field detection, role -> JSON key (dots reach into nested objects and lists). */
  mapping?: FieldMapping;
  /**
   * Most bytes a gzip (or UTF-16) file may take once decompressed (converted to UTF-8); it is held in
   * memory. Default 1 GiB; past it the file is refused with an error naming the setting.
   */
  maxInflatedBytes?: number;
  /** Lines longer than this are reported and skipped rather than parsed. Default 256 MiB. */
  maxLineBytes?: number;
  /**
   * Hash every row (default true): rowHash() tells stored results of an edited row as stale, and reads
   * check the row is unchanged. Callers that only list and check rows (inspect) skip the cost.
   */
  rowHashes?: boolean;
  /**
   * Threads that index a large plain file, each a part of it (default: the cores available, at most
   * 8; 1 indexes on the calling thread only). The index is the same whatever the count.
   */
  threads?: number;
  /** Files smaller than this are indexed on the calling thread (default 1 GiB; tests set it low). */
  parallelFromBytes?: number;
  /**
   * Read simple lines with the byte scanner (default true). false parses every line with JSON.parse: the
   * reading the scanner is tested against. The index is the same either way.
   */
  scan?: boolean;
}
