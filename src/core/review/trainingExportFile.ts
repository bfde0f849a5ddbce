import { existsSync, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { Dataset } from '../dataset/datasetReader';
import type { LabelMapping } from '../report/calibration';
import type { AnnotationStore } from '../store/annotations';
import type { ResultsStore } from '../store/results';
import { writeSafe } from '../store/safeFile';
import {
  buildTrainingExport, manifestFileFor, normalizedInput,
  type HoldoutHit, type HoldoutRule, type TrainingExportResult, type TrainingFilters, type TrainingFormat, type TrainingManifest,
} from './trainingExport';

/**
 * The training export as a file: the hold-out rules read from what a person names, the export built,
 * and (only when no hold-out row is among the selected) the file and its manifest written. One path for
 * the CLI's `export` and VS Code's "Export Training Data…".
 */

/**
 * A hold-out as a person names it: `field=value` (when no such file exists), a dataset (JSONL: its ids,
 * row hashes and inputs), or a text file of ids (one a line). Throws with what is wrong and the fix.
 */
export async function readHoldoutRule(value: string, cwd: string): Promise<HoldoutRule> {
  const file = path.resolve(cwd, value);
  if (!existsSync(file)) {
    const eq = value.indexOf('=');
    if (eq > 0) return { kind: 'field', field: value.slice(0, eq).trim(), value: value.slice(eq + 1) };
    throw new Error(`no such file, and not field=value (e.g. split=test)`);
  }
  const text = await fsp.readFile(file, 'utf8');
  const firstLine = text.split('\n').find((l) => l.trim() !== '')?.trim() ?? '';
  if (firstLine.startsWith('{')) {
    const evaluation = await Dataset.open(file);
    const ids = new Set<string>();
    const hashes = new Set<string>();
    const inputs = new Set<string>();
    try {
      for await (const row of evaluation.rows()) {
        ids.add(row.rawId ?? row.id);
        hashes.add(row.hash);
        if (row.input.trim() !== '') inputs.add(normalizedInput(row.input));
      }
    } finally {
      await evaluation.close();
    }
    return { kind: 'ids', source: path.basename(file), ids, hashes, inputs };
  }
  const ids = new Set(text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean));
  return { kind: 'ids', source: path.basename(file), ids };
}

export interface TrainingFileRequest {
  readonly dataset: Dataset;
  readonly results: Pick<ResultsStore, 'forRow'>;
  readonly annotations: Pick<AnnotationStore, 'all' | 'corrections' | 'adjudications'>;
  readonly format: TrainingFormat;
  readonly filters: TrainingFilters;
  readonly labels: LabelMapping;
  readonly holdout: readonly HoldoutRule[];
  /** The hold-out as the person named it (for the manifest). */
  readonly holdoutNames: readonly string[];
  readonly dropHoldout?: boolean;
  readonly systemPrompt?: string;
  /** The file to write (absolute); its manifest goes beside it. */
  readonly out: string;
  readonly embeddingModel: string;
  readonly toolVersion: string;
}

export type TrainingFileResult =
  /** Rows of the hold-out were selected: nothing was written. */
  | { readonly ok: false; readonly holdout: HoldoutHit[] }
  | { readonly ok: true; readonly out: string; readonly manifestFile: string; readonly built: Extract<TrainingExportResult, { ok: true }> };

/** Builds the export and writes it with its manifest, or writes nothing when a selected row is in the hold-out. */
export async function writeTrainingFile(request: TrainingFileRequest): Promise<TrainingFileResult> {
  const { dataset, annotations, out } = request;
  if (path.resolve(dataset.file) === path.resolve(out)) throw new Error('the output file is the dataset itself: the dataset is never written; choose another file');
  const built = await buildTrainingExport({
    file: dataset.file, rows: dataset.rows(), lookup: dataset,
    annotations: annotations.all(), corrections: annotations.corrections(), adjudications: annotations.adjudications(),
    results: request.results, format: request.format, filters: request.filters, labels: request.labels,
    holdout: request.holdout, dropHoldout: request.dropHoldout ?? false,
    ...(request.systemPrompt !== undefined ? { systemPrompt: request.systemPrompt } : {}),
  });
  if (!built.ok) return { ok: false, holdout: built.holdout };
  const manifestFile = manifestFileFor(out);
  const manifest: TrainingManifest = {
    schema: 'pisar-review/training-manifest@1', format: request.format, dataset: dataset.file, out, records: built.lines.length, rows: built.rows,
    annotationEvents: built.annotationEvents, filters: request.filters, references: 'corrected',
    holdout: request.holdout.length ? { rules: [...request.holdoutNames], dropped: built.dropped } : undefined,
    embeddingModel: request.embeddingModel, toolVersion: request.toolVersion, createdAt: new Date().toISOString(),
  };
  await writeSafe(out, built.lines.length ? `${built.lines.join('\n')}\n` : '', 'replace');
  await writeSafe(manifestFile, `${JSON.stringify(manifest, null, 2)}\n`, 'replace');
  return { ok: true, out, manifestFile, built };
}
