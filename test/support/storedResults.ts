import { promises as fsp } from 'node:fs';
import { Dataset } from '../../src/core/dataset/datasetReader';
import { ResultsStore, type StoredResult } from '../../src/core/store/results';
import { jsonl } from './files';

/** A stored result less what the helper fills in (the row's id and hash, the time). */
export type ResultFor = Omit<StoredResult, 'rowId' | 'rowHash' | 'at' | 'source'> & { source?: StoredResult['source'] };

/**
 * Writes `rows` as a dataset and stores the results `resultsOf(i)` gives for each row (called results at the epoch,
 * under the row's id and current hash), as a finished run would have. Returns the dataset as indexed.
 */
export async function writeScoredDataset(file: string, rows: readonly { id: string }[], resultsOf: (i: number) => readonly ResultFor[]): Promise<Dataset> {
  await fsp.writeFile(file, jsonl(rows));
  const dataset = await Dataset.open(file);
  await dataset.close();
  const at = new Date(0).toISOString();
  const records: StoredResult[] = rows.flatMap((row, i) => resultsOf(i).map((r) => ({ source: 'called' as const, ...r, rowId: row.id, rowHash: dataset.rowHash(i), at })));
  await (await ResultsStore.open(file)).append(records);
  return dataset;
}
