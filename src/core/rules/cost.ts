// Token cost: a price per million tokens (the models' config) times the tokens results report.

/** A model's price per million tokens, in whatever currency it was written in (the tools show the number only). */
export interface ModelPrice {
  readonly inputPerMillion: number;
  readonly outputPerMillion: number;
}

/** What `tokens` cost at `price` (per million tokens); undefined without a price. */
export function tokenCost(tokens: { readonly input: number; readonly output: number }, price: ModelPrice | undefined): number | undefined {
  if (!price) return undefined;
  return (tokens.input * price.inputPerMillion + tokens.output * price.outputPerMillion) / 1_000_000;
}
