import { randomUUID } from 'node:crypto';
import { sidecarFileFor } from './sidecarNames';
import { appendRecords, readSidecar, type SidecarProblem } from './sidecar';
import { SidecarPosition, type AppendedRange } from './sidecarPosition';
import { ChangeEvents, type StoreChange } from './storeEvents';

/**
 * Annotations on a dataset's rows, kept in `data.pisar-annotations.jsonl` beside `data.jsonl`.
 *
 * The sidecar is an append-only log of events (`set` creates or edits, `remove` deletes), folded
 * on read: the last event for an annotation id wins. Nothing is ever rewritten, so two windows (or
 * the CLI and an editor) can annotate the same file at once and every event survives; a diff of
 * the file reads as a review history.
 */

/** What was judged: the row's reference rationale, or one model's output. */
export type AnnotationTargetKind = 'reference' | 'output';

export interface AnnotationTarget {
  readonly kind: AnnotationTargetKind;
  /** The model whose output is judged; only for kind 'output'. */
  readonly model?: string;
}

/** One annotation as it stands after folding its events. */
export interface Annotation {
  /** Stable id of the annotation (edits and removal refer to it). */
  readonly id: string;
  /** The row's id when it was annotated. */
  readonly rowId: string;
  /** The row's content hash when it was annotated; a different current hash means the row changed since. */
  readonly rowHash: string;
  readonly target: AnnotationTarget;
  readonly label: string;
  readonly note: string | undefined;
  /** ISO time of the first `set`. */
  readonly createdAt: string;
  /** ISO time of the last `set`. */
  readonly updatedAt: string;
}

/** One line of the sidecar. Version 1. */
export interface AnnotationEvent {
  readonly v: 1;
  readonly op: 'set' | 'remove';
  readonly id: string;
  readonly at: string;
  /** The rest only on `set`. */
  readonly rowId?: string;
  readonly rowHash?: string;
  readonly target?: AnnotationTargetKind;
  readonly model?: string;
  readonly label?: string;
  readonly note?: string;
}

export interface NewAnnotation {
  readonly rowId: string;
  readonly rowHash: string;
  readonly target: AnnotationTarget;
  readonly label: string;
  readonly note?: string;
}

export interface AnnotationEdit {
  readonly label?: string;
  /** A string replaces the note; null clears it; undefined keeps it. */
  readonly note?: string | null;
  /** Re-anchor the annotation to the row as it is now (the user confirmed it still applies). */
  readonly rowHash?: string;
  readonly rowId?: string;
}

/** The path of the annotations sidecar of a dataset file: `a/b/data.jsonl` -> `a/b/data.pisar-annotations.jsonl` (see sidecarFileFor). */
export function annotationsFileFor(datasetFile: string): string {
  return sidecarFileFor(datasetFile, 'annotations');
}

/** Checks one parsed sidecar line; returns why it is not a valid event, or undefined. */
export function validateAnnotationEvent(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'expected a JSON object';
  const e = value as Record<string, unknown>;
  if (e.v !== 1) return `unsupported version ${JSON.stringify(e.v)} (expected 1)`;
  if (typeof e.id !== 'string' || e.id === '') return '"id" must be a non-empty string';
  if (typeof e.at !== 'string') return '"at" must be an ISO time string';
  if (e.op === 'remove') return undefined;
  if (e.op !== 'set') return `"op" must be "set" or "remove", not ${JSON.stringify(e.op)}`;
  if (typeof e.rowId !== 'string') return '"rowId" must be a string';
  if (typeof e.rowHash !== 'string') return '"rowHash" must be a string';
  if (e.target !== 'reference' && e.target !== 'output') return '"target" must be "reference" or "output"';
  if (e.target === 'output' && (typeof e.model !== 'string' || e.model === '')) return '"model" must name the model whose output is annotated';
  if (typeof e.label !== 'string' || e.label.trim() === '') return '"label" must be a non-empty string';
  if (e.note !== undefined && typeof e.note !== 'string') return '"note" must be a string';
  return undefined;
}

/** Folds events in file order into the annotations that stand (last event per id wins). */
export function foldAnnotationEvents(events: Iterable<AnnotationEvent>): Annotation[] {
  const byId = new Map<string, Annotation>();
  for (const e of events) {
    if (e.op === 'remove') {
      byId.delete(e.id);
      continue;
    }
    const prev = byId.get(e.id);
    byId.set(e.id, {
      id: e.id,
      rowId: e.rowId!,
      rowHash: e.rowHash!,
      target: e.target === 'output' ? { kind: 'output', model: e.model! } : { kind: 'reference' },
      label: e.label!,
      note: e.note === undefined || e.note === '' ? undefined : e.note,
      createdAt: prev?.createdAt ?? e.at,
      updatedAt: e.at,
    });
  }
  return [...byId.values()];
}

function setEvent(a: Omit<Annotation, 'createdAt' | 'updatedAt'>, at: string): AnnotationEvent {
  return {
    v: 1, op: 'set', id: a.id, at,
    rowId: a.rowId, rowHash: a.rowHash,
    target: a.target.kind,
    ...(a.target.kind === 'output' ? { model: a.target.model } : {}),
    label: a.label,
    ...(a.note !== undefined ? { note: a.note } : {}),
  };
}

function sameAnnotation(a: Annotation, b: Annotation): boolean {
  return a.updatedAt === b.updatedAt && a.rowId === b.rowId && a.rowHash === b.rowHash && a.label === b.label && a.note === b.note && sameTarget(a.target, b.target);
}

export function sameTarget(a: AnnotationTarget, b: AnnotationTarget): boolean {
  return a.kind === b.kind && (a.kind === 'reference' || a.model === b.model);
}

/** A change of the annotations held: the annotations (by id) that were set or removed, and their rows (before and after a move). */
export interface AnnotationsChange extends StoreChange {
  /** Undefined with rowIds: the file was read again whole. */
  readonly ids: readonly string[] | undefined;
}

/** The store of one dataset's annotations: an in-memory fold of the sidecar, plus appends. */
export class AnnotationStore {
  private annotations = new Map<string, Annotation>();
  private _problems: SidecarProblem[] = [];
  /** Bytes of the file already read or written by this store: a refresh finds this store's own appends already known. */
  private readonly position: SidecarPosition;
  private readonly changes = new ChangeEvents<AnnotationsChange>();

  /** Every change of the annotations held, naming the rows: this store's writes, and other writers' lines read by refresh(). */
  readonly onDidChange = this.changes.on;

  private constructor(readonly file: string, private readonly repair: boolean) {
    this.position = new SidecarPosition(file);
  }

  /** Reads the sidecar (missing = empty). `repair: false` for read-only callers (untrusted, CLI inspect). */
  static async load(file: string, options: { repair?: boolean } = {}): Promise<AnnotationStore> {
    const store = new AnnotationStore(file, options.repair ?? true);
    await store.read();
    return store;
  }

  static forDataset(datasetFile: string, options: { repair?: boolean } = {}): Promise<AnnotationStore> {
    return AnnotationStore.load(annotationsFileFor(datasetFile), options);
  }

  /** Corrupt or invalid lines found at the last read (each was skipped; the rest was kept). */
  get problems(): readonly SidecarProblem[] {
    return this._problems;
  }

  /**
   * Reads the sidecar again if another process wrote to it (this store's own appends are known and
   * read nothing), and announces the annotations that differ. Returns whether anything was read.
   */
  async refresh(): Promise<boolean> {
    if ((await this.position.pending()).read === 'nothing') return false;
    await this.reload();
    return true;
  }

  /** Re-reads the sidecar whole and announces the annotations that differ from what was held. */
  async reload(): Promise<void> {
    const before = this.annotations;
    await this.read();
    const ids: string[] = [];
    const rowIds = new Set<string>();
    for (const [id, a] of this.annotations) {
      const was = before.get(id);
      if (was && sameAnnotation(was, a)) continue;
      ids.push(id);
      rowIds.add(a.rowId);
      if (was) rowIds.add(was.rowId);
    }
    for (const [id, was] of before) {
      if (this.annotations.has(id)) continue;
      ids.push(id);
      rowIds.add(was.rowId);
    }
    if (ids.length > 0) this.changes.fire({ origin: 'file', rowIds: [...rowIds], ids });
  }

  private async read(): Promise<void> {
    const ino = await this.position.currentIno();
    const contents = await readSidecar<AnnotationEvent>(this.file, { validate: validateAnnotationEvent, repair: this.repair });
    this.position.readTo(contents.end, contents.lines, ino);
    this.annotations = new Map(foldAnnotationEvents(contents.records).map((a) => [a.id, a]));
    this._problems = contents.problems;
  }

  /** Appends events of this store's own, keeps the file position, and announces the rows they touch. */
  private async write(events: readonly AnnotationEvent[], apply: () => void, ids: readonly string[], rowIds: readonly string[]): Promise<void> {
    const range: AppendedRange | undefined = await appendRecords(this.file, events);
    if (range) this.position.wrote(range, events.length);
    apply();
    this.changes.fire({ origin: 'write', rowIds: [...new Set(rowIds)], ids });
  }

  all(): readonly Annotation[] {
    return [...this.annotations.values()];
  }

  get size(): number {
    return this.annotations.size;
  }

  get(id: string): Annotation | undefined {
    return this.annotations.get(id);
  }

  /** Annotations recorded for a row id (whether or not the row has changed since). */
  forRowId(rowId: string): Annotation[] {
    return this.all().filter((a) => a.rowId === rowId);
  }

  async add(input: NewAnnotation, now = new Date()): Promise<Annotation> {
    const label = input.label.trim();
    if (label === '') throw new Error('An annotation needs a label.');
    if (input.target.kind === 'output' && !input.target.model) throw new Error('An annotation of an output must name the model.');
    const at = now.toISOString();
    const note = input.note?.trim() ? input.note : undefined;
    const annotation: Annotation = {
      id: randomUUID(), rowId: input.rowId, rowHash: input.rowHash,
      target: input.target.kind === 'output' ? { kind: 'output', model: input.target.model } : { kind: 'reference' },
      label, note, createdAt: at, updatedAt: at,
    };
    await this.write([setEvent(annotation, at)], () => this.annotations.set(annotation.id, annotation), [annotation.id], [annotation.rowId]);
    return annotation;
  }

  async edit(id: string, change: AnnotationEdit, now = new Date()): Promise<Annotation> {
    const prev = this.annotations.get(id);
    if (!prev) throw new Error(`No annotation ${id} in ${this.file} (it may have been removed in another window).`);
    const label = change.label !== undefined ? change.label.trim() : prev.label;
    if (label === '') throw new Error('An annotation needs a label.');
    const note = change.note === null ? undefined : change.note !== undefined ? (change.note.trim() ? change.note : undefined) : prev.note;
    const at = now.toISOString();
    const next: Annotation = {
      ...prev, label, note,
      rowHash: change.rowHash ?? prev.rowHash,
      rowId: change.rowId ?? prev.rowId,
      updatedAt: at,
    };
    await this.write([setEvent(next, at)], () => this.annotations.set(id, next), [id], [prev.rowId, next.rowId]);
    return next;
  }

  async remove(id: string, now = new Date()): Promise<void> {
    const prev = this.annotations.get(id);
    if (!prev) return;
    const event: AnnotationEvent = { v: 1, op: 'remove', id, at: now.toISOString() };
    await this.write([event], () => this.annotations.delete(id), [id], [prev.rowId]);
  }
}

/** What the annotation resolver needs from a dataset (Dataset satisfies it). */
export interface RowLookup {
  readonly rowCount: number;
  indexOfId(id: string): number | undefined;
  rowHash(index: number): string;
}

/** Where an annotation lands in the dataset as it is now. */
export type AnnotationPlacement =
  /** The row is unchanged (found by id and hash, or by hash alone after lines moved). */
  | { readonly state: 'current'; readonly index: number }
  /** A row with the annotation's id exists but its content changed since: shown, flagged. */
  | { readonly state: 'changed'; readonly index: number }
  /** No row has the id or the content any more: kept in the sidecar, listed, not placed on a line. */
  | { readonly state: 'orphaned' };

/** Places annotations on the rows of a dataset. Build once per dataset version (it indexes row hashes). */
export class AnnotationResolver {
  private byHash: Map<string, number[]> | undefined;

  constructor(private readonly rows: RowLookup) {}

  place(a: Annotation): AnnotationPlacement {
    const byId = this.rows.indexOfId(a.rowId);
    if (byId !== undefined && this.rows.rowHash(byId) === a.rowHash) return { state: 'current', index: byId };
    // Rows without an id are keyed by line (`line:<n>`); inserting a line moves them, their hash does not.
    const sameContent = this.hashIndex().get(a.rowHash);
    if (sameContent && sameContent.length > 0) return { state: 'current', index: sameContent[0] };
    if (byId !== undefined) return { state: 'changed', index: byId };
    return { state: 'orphaned' };
  }

  private hashIndex(): Map<string, number[]> {
    if (!this.byHash) {
      this.byHash = new Map();
      for (let i = 0; i < this.rows.rowCount; i++) {
        const h = this.rows.rowHash(i);
        const list = this.byHash.get(h);
        if (list) list.push(i);
        else this.byHash.set(h, [i]);
      }
    }
    return this.byHash;
  }
}
