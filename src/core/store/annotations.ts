import { randomUUID } from 'node:crypto';
import { sidecarFileFor } from './sidecarNames';
import { appendRecords, readSidecar, type SidecarProblem } from './sidecar';
import { SidecarPosition, type AppendedRange } from './sidecarPosition';
import { ChangeEvents, type StoreChange } from './storeEvents';

/**
 * Annotations on a dataset's rows, kept in `data.pisar-annotations.jsonl` beside `data.jsonl`.
 *
 * The sidecar is an append-only log of events (`set` creates or edits a label, `remove` deletes it,
 * `correct` replaces a row's reference, `adjudicate` settles a row the reviewers disagree on),
 * folded on read in time order: the last event for an annotation id wins. Nothing is ever
 * rewritten, so two windows (or the CLI and an editor, or two git branches merged with
 * `merge=union`) can annotate the same file and every event survives; each event has an `eventId`,
 * so a line that arrives twice (both branches of a merge) counts once. Schema: docs/datasets.md.
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
  /** Who labelled (git user.email, the OS user or the pisarReview.reviewer setting); undefined on lines written before reviewers were recorded. */
  readonly reviewer: string | undefined;
  /** The id of the event that made the annotation as it stands (the last `set`). */
  readonly eventId: string | undefined;
  /** ISO time of the first `set`. */
  readonly createdAt: string;
  /** ISO time of the last `set`. */
  readonly updatedAt: string;
}

/** A reviewer's replacement of a row's reference (the dataset itself is never written). */
export interface ReferenceCorrection {
  /** The event's id (also the correction's id: results scored against it name it). */
  readonly id: string;
  readonly rowId: string;
  /** The row's content hash when corrected: a row edited since no longer takes the correction. */
  readonly rowHash: string;
  /** The corrected reference text. */
  readonly reference: string;
  /** Where the text came from: typed by the reviewer, or a model's output adopted as the reference. */
  readonly source: { readonly kind: 'text' } | { readonly kind: 'output'; readonly model: string };
  readonly reason: string;
  readonly reviewer: string | undefined;
  readonly at: string;
}

/** A label that settles a (row, target) the reviewers disagreed on: an annotation's fields, made at one time. */
export interface Adjudication extends Pick<Annotation, 'id' | 'rowId' | 'rowHash' | 'target' | 'label' | 'note' | 'reviewer'> {
  readonly at: string;
}

export type AnnotationOp = 'set' | 'remove' | 'correct' | 'adjudicate';

/** One line of the sidecar. Version 1 (`correct`, `adjudicate`, `eventId` and `reviewer` were added without a version change: older readers skip and report the new ops). */
export interface AnnotationEvent {
  readonly v: 1;
  readonly op: AnnotationOp;
  /** The annotation (set/remove), correction or adjudication the event is about. */
  readonly id: string;
  readonly at: string;
  /** Unique per event (absent on lines written before it existed: those are told apart by their text). */
  readonly eventId?: string;
  readonly reviewer?: string;
  /** The rest only on `set`, `correct` and `adjudicate`. */
  readonly rowId?: string;
  readonly rowHash?: string;
  readonly target?: AnnotationTargetKind;
  readonly model?: string;
  readonly label?: string;
  readonly note?: string;
  /** `correct` only: the new reference text, where it came from, and why. */
  readonly reference?: string;
  readonly source?: 'text' | 'output';
  readonly reason?: string;
}

export interface NewAnnotation {
  readonly rowId: string;
  readonly rowHash: string;
  readonly target: AnnotationTarget;
  readonly label: string;
  readonly note?: string;
  readonly reviewer?: string;
}

export interface NewCorrection {
  readonly rowId: string;
  readonly rowHash: string;
  readonly reference: string;
  /** Default: typed text. */
  readonly source?: ReferenceCorrection['source'];
  readonly reason: string;
  readonly reviewer?: string;
}

export interface NewAdjudication {
  readonly rowId: string;
  readonly rowHash: string;
  readonly target: AnnotationTarget;
  readonly label: string;
  readonly note?: string;
  readonly reviewer?: string;
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
  if (e.eventId !== undefined && (typeof e.eventId !== 'string' || e.eventId === '')) return '"eventId" must be a non-empty string';
  if (e.reviewer !== undefined && typeof e.reviewer !== 'string') return '"reviewer" must be a string';
  if (e.op === 'remove') return undefined;
  if (e.op !== 'set' && e.op !== 'correct' && e.op !== 'adjudicate') return `"op" must be "set", "remove", "correct" or "adjudicate", not ${JSON.stringify(e.op)}`;
  if (typeof e.rowId !== 'string') return '"rowId" must be a string';
  if (typeof e.rowHash !== 'string') return '"rowHash" must be a string';
  if (e.op === 'correct') {
    if (typeof e.reference !== 'string' || e.reference.trim() === '') return '"reference" must be the corrected reference text (not empty)';
    if (e.source !== 'text' && e.source !== 'output') return '"source" must be "text" or "output"';
    if (e.source === 'output' && (typeof e.model !== 'string' || e.model === '')) return '"model" must name the model whose output was adopted';
    if (typeof e.reason !== 'string') return '"reason" must be a string';
    return undefined;
  }
  if (e.target !== 'reference' && e.target !== 'output') return '"target" must be "reference" or "output"';
  if (e.target === 'output' && (typeof e.model !== 'string' || e.model === '')) return '"model" must name the model whose output is annotated';
  if (typeof e.label !== 'string' || e.label.trim() === '') return '"label" must be a non-empty string';
  if (e.note !== undefined && typeof e.note !== 'string') return '"note" must be a string';
  return undefined;
}

/** Everything the sidecar holds after folding. */
export interface AnnotationLog {
  readonly annotations: Annotation[];
  /** Every correction, oldest first (the latest for a row is the one in force). */
  readonly corrections: ReferenceCorrection[];
  /** Every adjudication, oldest first (the latest for a row and target settles it). */
  readonly adjudications: Adjudication[];
  /** Lines that repeated an event already read (a union merge of two branches): counted once. */
  readonly duplicates: number;
}

/** The key that tells one event from another: its id, or its whole text for lines written before ids. */
export function eventKey(e: AnnotationEvent): string {
  return e.eventId ?? JSON.stringify(e);
}

function targetOf(e: AnnotationEvent): AnnotationTarget {
  return e.target === 'output' ? { kind: 'output', model: e.model! } : { kind: 'reference' };
}

function noteOf(note: string | undefined): string | undefined {
  return note === undefined || note === '' ? undefined : note;
}

/**
 * Folds events into what stands: each event once (by eventId), in time order (a merge of two
 * branches interleaves their lines; ISO times sort), file order breaking ties.
 */
export function foldAnnotationLog(events: Iterable<AnnotationEvent>): AnnotationLog {
  const seen = new Set<string>();
  const unique: AnnotationEvent[] = [];
  let duplicates = 0;
  for (const e of events) {
    const key = eventKey(e);
    if (seen.has(key)) {
      duplicates++;
      continue;
    }
    seen.add(key);
    unique.push(e);
  }
  // Array.prototype.sort is stable: events with one time keep their file order.
  unique.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  const byId = new Map<string, Annotation>();
  const corrections: ReferenceCorrection[] = [];
  const adjudications: Adjudication[] = [];
  for (const e of unique) {
    if (e.op === 'remove') {
      byId.delete(e.id);
      continue;
    }
    if (e.op === 'correct') {
      corrections.push({
        id: e.id, rowId: e.rowId!, rowHash: e.rowHash!, reference: e.reference!,
        source: e.source === 'output' ? { kind: 'output', model: e.model! } : { kind: 'text' },
        reason: e.reason ?? '', reviewer: e.reviewer, at: e.at,
      });
      continue;
    }
    if (e.op === 'adjudicate') {
      adjudications.push({ id: e.id, rowId: e.rowId!, rowHash: e.rowHash!, target: targetOf(e), label: e.label!, note: noteOf(e.note), reviewer: e.reviewer, at: e.at });
      continue;
    }
    const prev = byId.get(e.id);
    byId.set(e.id, {
      id: e.id,
      rowId: e.rowId!,
      rowHash: e.rowHash!,
      target: targetOf(e),
      label: e.label!,
      note: noteOf(e.note),
      // The annotation is its author's: an edit made by someone else does not take it over.
      reviewer: prev?.reviewer ?? e.reviewer,
      eventId: e.eventId,
      createdAt: prev?.createdAt ?? e.at,
      updatedAt: e.at,
    });
  }
  return { annotations: [...byId.values()], corrections, adjudications, duplicates };
}

function setEvent(a: Omit<Annotation, 'createdAt' | 'updatedAt'>, at: string, eventId: string, reviewer: string | undefined): AnnotationEvent {
  return {
    v: 1, op: 'set', id: a.id, at, eventId,
    ...(reviewer !== undefined ? { reviewer } : {}),
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

function cleanReviewer(reviewer: string | undefined): string | undefined {
  const r = reviewer?.trim();
  return r ? r : undefined;
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
  private _corrections: ReferenceCorrection[] = [];
  private _adjudications: Adjudication[] = [];
  private _duplicates = 0;
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
    const settledBefore = new Set([...this._corrections, ...this._adjudications].map((e) => e.id));
    await this.read();
    const ids: string[] = [];
    const rowIds = new Set<string>();
    // Corrections and adjudications only ever add up: the new ones name their rows.
    for (const e of [...this._corrections, ...this._adjudications]) {
      if (settledBefore.has(e.id)) continue;
      ids.push(e.id);
      rowIds.add(e.rowId);
    }
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
    const log = foldAnnotationLog(contents.records);
    this.annotations = new Map(log.annotations.map((a) => [a.id, a]));
    this._corrections = log.corrections;
    this._adjudications = log.adjudications;
    this._duplicates = log.duplicates;
    this._problems = contents.problems;
  }

  /** Every reference correction, oldest first. */
  corrections(): readonly ReferenceCorrection[] {
    return this._corrections;
  }

  /** Every adjudication, oldest first. */
  adjudications(): readonly Adjudication[] {
    return this._adjudications;
  }

  /** Lines read twice over (e.g. after a union merge) and counted once. */
  get duplicateEvents(): number {
    return this._duplicates;
  }

  /** Replaces a row's reference (an event: the dataset is not written). */
  async correct(input: NewCorrection, now = new Date()): Promise<ReferenceCorrection> {
    if (input.reference.trim() === '') throw new Error('A corrected reference needs text: to keep the file\'s reference, cancel the correction.');
    const source = input.source ?? { kind: 'text' };
    if (source.kind === 'output' && !source.model) throw new Error('An adopted output must name its model.');
    const id = randomUUID();
    const reviewer = cleanReviewer(input.reviewer);
    const correction: ReferenceCorrection = { id, rowId: input.rowId, rowHash: input.rowHash, reference: input.reference, source, reason: input.reason.trim(), reviewer, at: now.toISOString() };
    const event: AnnotationEvent = {
      v: 1, op: 'correct', id, eventId: id, at: correction.at, ...(reviewer !== undefined ? { reviewer } : {}),
      rowId: input.rowId, rowHash: input.rowHash, reference: input.reference, source: source.kind,
      ...(source.kind === 'output' ? { model: source.model } : {}), reason: correction.reason,
    };
    await this.write([event], () => (this._corrections = [...this._corrections, correction]), [], [correction.rowId]);
    return correction;
  }

  /** Settles the label of a row's target (a row the reviewers disagree on). */
  async adjudicate(input: NewAdjudication, now = new Date()): Promise<Adjudication> {
    const label = input.label.trim();
    if (label === '') throw new Error('An adjudication needs a label.');
    if (input.target.kind === 'output' && !input.target.model) throw new Error('An adjudication of an output must name the model.');
    const id = randomUUID();
    const reviewer = cleanReviewer(input.reviewer);
    const note = input.note?.trim() ? input.note : undefined;
    const adjudication: Adjudication = { id, rowId: input.rowId, rowHash: input.rowHash, target: input.target, label, note, reviewer, at: now.toISOString() };
    const event: AnnotationEvent = {
      v: 1, op: 'adjudicate', id, eventId: id, at: adjudication.at, ...(reviewer !== undefined ? { reviewer } : {}),
      rowId: input.rowId, rowHash: input.rowHash, target: input.target.kind,
      ...(input.target.kind === 'output' ? { model: input.target.model } : {}), label, ...(note !== undefined ? { note } : {}),
    };
    await this.write([event], () => (this._adjudications = [...this._adjudications, adjudication]), [], [adjudication.rowId]);
    return adjudication;
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
    const reviewer = cleanReviewer(input.reviewer);
    const eventId = randomUUID();
    const annotation: Annotation = {
      id: randomUUID(), rowId: input.rowId, rowHash: input.rowHash,
      target: input.target.kind === 'output' ? { kind: 'output', model: input.target.model } : { kind: 'reference' },
      label, note, reviewer, eventId, createdAt: at, updatedAt: at,
    };
    await this.write([setEvent(annotation, at, eventId, reviewer)], () => this.annotations.set(annotation.id, annotation), [annotation.id], [annotation.rowId]);
    return annotation;
  }

  async edit(id: string, change: AnnotationEdit, now = new Date(), reviewer?: string): Promise<Annotation> {
    const prev = this.annotations.get(id);
    if (!prev) throw new Error(`No annotation ${id} in ${this.file} (it may have been removed in another window).`);
    const label = change.label !== undefined ? change.label.trim() : prev.label;
    if (label === '') throw new Error('An annotation needs a label.');
    const note = change.note === null ? undefined : change.note !== undefined ? (change.note.trim() ? change.note : undefined) : prev.note;
    const at = now.toISOString();
    const eventId = randomUUID();
    const next: Annotation = {
      ...prev, label, note,
      rowHash: change.rowHash ?? prev.rowHash,
      rowId: change.rowId ?? prev.rowId,
      eventId,
      updatedAt: at,
    };
    await this.write([setEvent(next, at, eventId, cleanReviewer(reviewer) ?? prev.reviewer)], () => this.annotations.set(id, next), [id], [prev.rowId, next.rowId]);
    return next;
  }

  async remove(id: string, now = new Date()): Promise<void> {
    const prev = this.annotations.get(id);
    if (!prev) return;
    const event: AnnotationEvent = { v: 1, op: 'remove', id, at: now.toISOString(), eventId: randomUUID() };
    await this.write([event], () => this.annotations.delete(id), [id], [prev.rowId]);
  }
}

/** What the annotation resolver needs from a dataset (Dataset satisfies it). */
export interface RowLookup {
  readonly rowCount: number;
  indexOfId(id: string): number | undefined;
  rowHash(index: number): string;
  /** rowHash(index) === hash, with no string made (a Dataset has it). */
  hasRowHash?(index: number, hash: string): boolean;
  /** The first row whose hash is `hash` (a Dataset has it: no map of every row's hash). */
  indexOfRowHash?(hash: string): number | undefined;
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

  place(a: Pick<Annotation, 'rowId' | 'rowHash'>): AnnotationPlacement {
    const byId = this.rows.indexOfId(a.rowId);
    if (byId !== undefined && (this.rows.hasRowHash ? this.rows.hasRowHash(byId, a.rowHash) : this.rows.rowHash(byId) === a.rowHash)) return { state: 'current', index: byId };
    // Rows without an id are keyed by line (`line:<n>`); inserting a line moves them, their hash does not.
    const sameContent = this.rows.indexOfRowHash ? this.rows.indexOfRowHash(a.rowHash) : this.hashIndex().get(a.rowHash)?.[0];
    if (sameContent !== undefined) return { state: 'current', index: sameContent };
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
