// The one check every embedding passes before it is cached or compared, whatever made it (a local
// model or a remote endpoint): a vector with NaN, an infinity, no values or only zeros, or a width
// other than the model's, cannot give a cosine that means anything.

/** Why `vector` cannot be used, or undefined when it can. `width` is the width the model gives (when known). */
export function embeddingProblem(vector: ArrayLike<number>, width?: number): string | undefined {
  if (vector.length === 0) return 'an empty vector';
  if (width !== undefined && vector.length !== width) return `a vector of ${vector.length} values where the model's are ${width} wide`;
  let nonZero = false;
  for (let i = 0; i < vector.length; i++) {
    const v = vector[i];
    if (!Number.isFinite(v)) return `a vector holding ${Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity'} (value ${i + 1} of ${vector.length})`;
    if (v !== 0) nonZero = true;
  }
  return nonZero ? undefined : `a vector of ${vector.length} zeros`;
}

/** Two embeddings that cannot be compared (different widths), or undefined. */
export function pairProblem(a: ArrayLike<number>, b: ArrayLike<number>): string | undefined {
  return a.length === b.length ? undefined : `vectors of two widths (${a.length} and ${b.length} values)`;
}

/** Thrown when an embedding of one text is unusable; the pairs holding that text fail with kind `bad-embedding`. */
export class BadEmbeddingError extends Error {
  readonly kind = 'bad-embedding';
  constructor(message: string) {
    super(message);
    this.name = 'BadEmbeddingError';
  }
}
