import * as path from 'node:path';

const SIDECAR_PATTERN = /\.pisar-[a-z]+\.jsonl$/i;

/** The sidecars a dataset can have. */
export type SidecarKind = 'results' | 'annotations' | 'batches';
export const SIDECAR_KINDS: readonly SidecarKind[] = ['results', 'annotations', 'batches'];

/** Sidecars (results, annotations) sit beside datasets and share their extension; they are never datasets. */
export function isSidecarFile(file: string): boolean {
  return SIDECAR_PATTERN.test(file);
}

/** The one dataset-extension rule: what the dataset reader opens (.jsonl, .ndjson, .json, .txt, each maybe gzipped). */
const EXTENSIONS = 'jsonl|ndjson|json|txt';
const DATASET_EXTENSION = new RegExp(`\\.(${EXTENSIONS}|gz)$`, 'i');
const DATASET_SUFFIX = new RegExp(`(\\.(${EXTENSIONS}))?(\\.gz)?$`, 'i');

/** A file name the dataset reader opens (by its extension). */
export function isDatasetFileName(file: string): boolean {
  return DATASET_EXTENSION.test(file);
}

/** The dataset's name without its extensions (`data.jsonl.gz` -> `data`), for files derived from it. */
export function datasetStem(file: string): string {
  return path.basename(file).replace(DATASET_SUFFIX, '');
}

/**
 * The sidecar of a dataset: `data.jsonl` -> `data.pisar-<kind>.jsonl`; any other name keeps its whole
 * name (`data.jsonl.gz` -> `data.jsonl.gz.pisar-<kind>.jsonl`, `data.ndjson` -> `data.ndjson.pisar-<kind>.jsonl`),
 * so two datasets in one folder never share a sidecar: the part before `.pisar-` ends in a dataset
 * extension exactly when the whole name was kept.
 */
export function sidecarFileFor(datasetFile: string, kind: SidecarKind): string {
  const base = path.basename(datasetFile);
  const stem = /\.jsonl$/i.test(base) && !DATASET_EXTENSION.test(base.slice(0, -'.jsonl'.length)) ? base.slice(0, -'.jsonl'.length) : base;
  return path.join(path.dirname(datasetFile), `${stem}.pisar-${kind}.jsonl`);
}

/**
 * The dataset a sidecar belongs to, and its kind: the inverse of sidecarFileFor (`data.pisar-results.jsonl`
 * -> `data.jsonl`, `data.jsonl.gz.pisar-results.jsonl` -> `data.jsonl.gz`); undefined for a name that is no sidecar.
 */
export function sidecarOwner(file: string): { dataset: string; kind: SidecarKind } | undefined {
  const match = /^(.*)\.pisar-(results|annotations|batches)\.jsonl$/i.exec(file);
  if (!match) return undefined;
  const kind = match[2].toLowerCase() as SidecarKind;
  const dataset = [`${match[1]}.jsonl`, match[1]].find((candidate) => sidecarFileFor(candidate, kind) === file) ?? match[1];
  return { dataset, kind };
}
