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

/** A cost for people: four decimals under 1 (cents of cents add up over 100,000 rows), two above; empty without a price. */
export function costText(cost: number | null | undefined): string {
  if (cost === null || cost === undefined || !Number.isFinite(cost)) return '';
  return cost < 1 ? cost.toFixed(4) : cost.toFixed(2);
}
