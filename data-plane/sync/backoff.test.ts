import { describe, expect, it } from "vitest";
import { backoffDelay, resolveBackoff } from "./backoff.js";

describe("reconnect backoff", () => {
  it("grows by the multiplier up to the cap, with ±jitter around it", () => {
    const o = { initialMs: 100, maxMs: 1000, multiplier: 2, jitter: 0.2 };
    expect([0, 1, 2, 3, 4, 10].map((a) => backoffDelay(a, o, () => 0.5))).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(backoffDelay(0, o, () => 0)).toBe(80);
    expect(backoffDelay(0, o, () => 1)).toBe(120);
    expect(backoffDelay(20, o, () => 1)).toBe(1200);
  });

  it("spreads reconnects of many clients (jitter is random by default)", () => {
    const samples = new Set(Array.from({ length: 50 }, () => backoffDelay(3, { initialMs: 1000, maxMs: 60_000 })));
    expect(samples.size).toBeGreaterThan(10);
    for (const s of samples) expect(s).toBeGreaterThanOrEqual(Math.floor(4096 * 0.8) - 1);
  });

  it("rejects nonsense settings", () => {
    expect(() => resolveBackoff({ initialMs: 0 })).toThrow(/initialMs/);
    expect(() => resolveBackoff({ initialMs: 10, maxMs: 5 })).toThrow(/initialMs <= maxMs/);
    expect(() => resolveBackoff({ multiplier: 0.5 })).toThrow(/multiplier/);
    expect(() => resolveBackoff({ jitter: 2 })).toThrow(/jitter/);
  });
});
