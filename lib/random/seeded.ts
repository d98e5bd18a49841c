/**
 * A small deterministic PRNG (mulberry32), the one seeded generator of the tree: dispatcher's
 * table shuffles (seeded from the set id, so a compile is pure and both planes agree on it),
 * statistical tests and benchmarks with a fixed seed. Not for anything secret.
 *
 * @example
 *   const r = seededRandom(42);
 *   r(); // a number in [0, 1), the same sequence for the same seed
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
