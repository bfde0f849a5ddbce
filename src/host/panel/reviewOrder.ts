/**
 * The review orders that learn fastest: rows whose score sits closest to the threshold (a label
 * there moves the calibration most) and rows where models disagree most (one of them is wrong).
 * Keys are built from the per-model score columns; ascending key order is the review order.
 */

export type ReviewOrder = 'nearThreshold' | 'disagreement';

export function isReviewOrder(column: string): column is ReviewOrder {
  return column === 'nearThreshold' || column === 'disagreement';
}

/**
 * One key per row (NaN: the row has no key and goes last): for `nearThreshold` the smallest
 * |score - threshold| over the models; for `disagreement` minus the spread (max - min) of the
 * models' scores, for rows that at least two models scored.
 */
export function reviewOrderKeys(order: ReviewOrder, columns: Iterable<Float64Array>, rowCount: number, threshold: number): Float64Array {
  const lists = [...columns];
  const keys = new Float64Array(rowCount).fill(Number.NaN);
  for (let i = 0; i < rowCount; i++) {
    let nearest = Infinity;
    let low = Infinity;
    let high = -Infinity;
    let count = 0;
    for (const column of lists) {
      const s = i < column.length ? column[i] : Number.NaN;
      if (Number.isNaN(s)) continue;
      count++;
      nearest = Math.min(nearest, Math.abs(s - threshold));
      low = Math.min(low, s);
      high = Math.max(high, s);
    }
    if (order === 'nearThreshold' && count > 0) keys[i] = nearest;
    if (order === 'disagreement' && count >= 2) keys[i] = -(high - low);
  }
  return keys;
}
