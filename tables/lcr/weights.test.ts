import { describe, expect, it } from "vitest";
import { firstChoiceProbabilities, weightKey } from "./weights.js";

describe("firstChoiceProbabilities", () => {
  it("kamailio: weights 1 and 2 give 1/4 and 3/4 (the bias its README describes)", () => {
    const [a, b] = firstChoiceProbabilities([1, 2], "kamailio");
    expect(a).toBeCloseTo(0.25, 12);
    expect(b).toBeCloseTo(0.75, 12);
  });

  it("kamailio: two weights a ≤ b give a/(2b) to the lighter one", () => {
    for (const [x, y] of [[1, 3], [2, 5], [10, 90], [7, 7]] as const) {
      expect(firstChoiceProbabilities([x, y], "kamailio")[0]).toBeCloseTo(x / (2 * y), 12);
    }
  });

  it("kamailio: equal weights are fair, and the probabilities sum to 1", () => {
    expect(firstChoiceProbabilities([3, 3, 3], "kamailio").map((p) => p.toFixed(12))).toEqual(Array(3).fill((1 / 3).toFixed(12)));
    const p = firstChoiceProbabilities([1, 2, 3, 10, 254], "kamailio");
    expect(p.reduce((s, x) => s + x, 0)).toBeCloseTo(1, 12);
  });

  it("kamailio: weights 1, 2, 3 give 2/36, 11/36, 23/36", () => {
    // P(1 first) = ∫ (u/2)(u/3) du = 1/18
    // P(2 first) = ∫ min(1, 2u)·(2u/3) du = ∫0..½ 4u²/3 du + ∫½..1 2u/3 du = 1/18 + 1/4 = 11/36
    // P(3 first) = ∫ min(1, 3u)·min(1, 3u/2) du = 1/18 + 1/4 + 1/3 = 23/36
    const p = firstChoiceProbabilities([1, 2, 3], "kamailio");
    expect(p[0]).toBeCloseTo(2 / 36, 12);
    expect(p[1]).toBeCloseTo(11 / 36, 12);
    expect(p[2]).toBeCloseTo(23 / 36, 12);
  });

  it("proportional: weight / total", () => {
    expect(firstChoiceProbabilities([1, 2, 3], "proportional")).toEqual([1 / 6, 2 / 6, 3 / 6]);
  });
});

describe("weightKey", () => {
  it("orders higher weights first for the same random draw", () => {
    expect(weightKey(2, 0.5, "kamailio")).toBeGreaterThan(weightKey(1, 0.5, "kamailio"));
    expect(weightKey(2, 0.5, "proportional")).toBeGreaterThan(weightKey(1, 0.5, "proportional"));
  });
});
