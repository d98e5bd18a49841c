/**
 * Randomised weight ordering of lcr gateways that share prefix length and priority.
 *
 * - "kamailio": Kamailio's `weight * (kam_rand() >> 8)`, highest first. Fast but biased towards
 *   heavy gateways: with weights 1 and 2 the lighter one goes first with probability 1/4, not 1/3.
 * - "proportional": weighted sampling without replacement (Efraimidis–Spirakis key
 *   `u^(1/weight)`, highest first): each position is filled with probability proportional to
 *   the weights of the gateways still left, so weights 1 and 2 give 1/3 and 2/3.
 *
 * @example
 *   firstChoiceProbabilities([1, 2], "kamailio");     // [0.25, 0.75]
 *   firstChoiceProbabilities([1, 2], "proportional"); // [0.333…, 0.666…]
 */
export type LcrWeighting = "kamailio" | "proportional";

/** The sort key for one target (higher sorts first). `u` is uniform in [0, 1). */
export function weightKey(weight: number, u: number, alg: LcrWeighting): number {
  return alg === "kamailio" ? weight * u : Math.pow(u, 1 / weight);
}

/**
 * Exact probability that each gateway is tried first (the figures `kamctl lcr eval_weights`
 * estimates by simulation).
 */
export function firstChoiceProbabilities(weights: readonly number[], alg: LcrWeighting): number[] {
  if (weights.length === 0) return [];
  if (alg === "proportional") {
    const total = weights.reduce((a, b) => a + b, 0);
    return weights.map((w) => w / total);
  }
  // P(i first) = ∫0..1 Π_{j≠i} P(w_j·U_j < w_i·u) du, with P(w_j·U < x) = min(1, x / w_j).
  return weights.map((wi, i) => {
    const others = weights.filter((_, j) => j !== i);
    const cuts = [...new Set(others.map((wj) => wj / wi).filter((t) => t < 1)), 0, 1].sort((a, b) => a - b);
    let p = 0;
    for (let k = 0; k + 1 < cuts.length; k++) {
      const a = cuts[k]!;
      const b = cuts[k + 1]!;
      if (b <= a) continue;
      // on (a, b): the factor is linear (w_i·u / w_j) for w_j ≥ w_i·b, else 1
      let coef = 1;
      let deg = 0;
      for (const wj of others) {
        if (wj / wi >= b) {
          coef *= wi / wj;
          deg++;
        }
      }
      p += (coef * (Math.pow(b, deg + 1) - Math.pow(a, deg + 1))) / (deg + 1);
    }
    return p;
  });
}
