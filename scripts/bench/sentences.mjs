// Rationale-like sentences for generated benchmark datasets, from a seeded generator (same seed, same text).
const WORDS = ('the driver slowed because a pedestrian stepped toward the crossing while the light was about to change ' +
  'robot picked the cup by its handle to keep a stable grasp agent refunded the order since the parcel arrived damaged ' +
  'she looked away from the screen after a notification appeared on her phone and reached for it').split(' ');

/** A generator of n-word sentences and the random numbers behind them. */
export function sentences(seed = 7) {
  let state = seed;
  const rand = () => ((state = (state * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  return { rand, sentence: (n) => Array.from({ length: n }, () => WORDS[Math.floor(rand() * WORDS.length)]).join(' ') };
}
