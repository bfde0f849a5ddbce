import type { RunScorer } from '../../src/core/runner/runTypes';

/** A scorer that records the texts it was asked to score and gives each 0.5: tests check what reached scoring. */
export function recordingScorer(): RunScorer & { outputs: string[] } {
  const scorer = {
    cacheKey: 'rec-v1',
    outputs: [] as string[],
    async scorePairs(pairs: { output: string; reference: string }[]) {
      scorer.outputs.push(...pairs.map((p) => p.output));
      return pairs.map(() => 0.5);
    },
  };
  return scorer;
}
