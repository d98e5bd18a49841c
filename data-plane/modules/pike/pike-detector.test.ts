import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { PikeDetector, type PikeOptions } from "./pike-detector.js";

const opts = (o: Partial<PikeOptions> = {}): PikeOptions => ({
  samplingTimeUnit: 2,
  reqsDensityPerUnit: 5,
  removeLatency: 10,
  maxEntries: 1000,
  ipv6Prefix: 128,
  ...o,
});

describe("PikeDetector", () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date("2026-01-01T00:00:00.000Z")); // start of a 2 s window
  });
  afterEach(() => vi.useRealTimers());

  it("flags a source at exactly the density-th request of a window, then reports it as known", () => {
    const d = new PikeDetector(opts());
    const r = Array.from({ length: 7 }, () => d.check("192.0.2.1"));
    expect(r).toEqual([1, 1, 1, 1, -2, -1, -1]);
    expect(d.blocked).toBe(1);
  });

  it("does not flag a source that stays below the density in every window", () => {
    const d = new PikeDetector(opts());
    for (let w = 0; w < 20; w++) {
      for (let i = 0; i < 4; i++) expect(d.check("192.0.2.2")).toBe(1);
      vi.advanceTimersByTime(2000);
    }
    expect(d.blocked).toBe(0);
  });

  it("counts per window: 4 + 4 across a boundary is fine, the two windows are not added up", () => {
    const d = new PikeDetector(opts());
    vi.advanceTimersByTime(1500);
    for (let i = 0; i < 4; i++) expect(d.check("192.0.2.3")).toBe(1);
    vi.advanceTimersByTime(600); // next window
    for (let i = 0; i < 4; i++) expect(d.check("192.0.2.3")).toBe(1);
  });

  it("stays red while the previous window was hot and turns green at the first window below the density", () => {
    const d = new PikeDetector(opts());
    for (let i = 0; i < 4; i++) d.check("198.51.100.7");
    expect(d.check("198.51.100.7")).toBe(-2);
    vi.advanceTimersByTime(2000); // window 1: previous window had 5 hits → still red
    expect(d.check("198.51.100.7")).toBe(-1);
    vi.advanceTimersByTime(2000); // window 2: previous window had 1 hit → green
    expect(d.check("198.51.100.7")).toBe(1);
    expect(d.top("ALL")[0]).toMatchObject({ ip_addr: "198.51.100.7", leaf_hits_prev: 1, leaf_hits_curr: 1, status: "WARM" });
  });

  it("a flooder that keeps flooding stays red window after window", () => {
    const d = new PikeDetector(opts());
    const results: number[] = [];
    for (let w = 0; w < 5; w++) {
      for (let i = 0; i < 10; i++) results.push(d.check("203.0.113.9"));
      vi.advanceTimersByTime(2000);
    }
    expect(results.filter((r) => r === -2)).toHaveLength(1);
    expect(results.filter((r) => r === 1)).toHaveLength(4);
    expect(results.slice(5).every((r) => r === -1)).toBe(true);
  });

  it("keeps IPv4 and IPv6 sources apart and folds IPv4-mapped IPv6 onto IPv4", () => {
    const d = new PikeDetector(opts());
    for (let i = 0; i < 3; i++) d.check("192.0.2.50");
    for (let i = 0; i < 3; i++) d.check("2001:db8::50");
    expect(d.size).toBe(2);
    d.check("::ffff:192.0.2.50");
    expect(d.check("::ffff:c000:232")).toBe(-2); // 5th request of 192.0.2.50
    expect(d.check("2001:DB8:0:0::50")).toBe(1); // 4th of 2001:db8::50
    expect(d.check("2001:db8::50")).toBe(-2);
  });

  it("groups IPv6 sources by prefix when ipv6Prefix < 128", () => {
    const d = new PikeDetector(opts({ ipv6Prefix: 64 }));
    const res = [1, 2, 3, 4, 5].map((i) => d.check(`2001:db8:1:2::${i}`));
    expect(res).toEqual([1, 1, 1, 1, -2]);
    expect(d.check("2001:db8:1:3::1")).toBe(1);
    expect(d.top("HOT").map((r) => r.ip_addr)).toEqual(["2001:db8:1:2::/64"]);
  });

  it("forgets idle sources after remove_latency and only then", () => {
    const d = new PikeDetector(opts({ removeLatency: 10 }));
    d.check("192.0.2.60");
    d.check("192.0.2.61");
    vi.advanceTimersByTime(5000);
    d.check("192.0.2.61");
    vi.advanceTimersByTime(4999);
    expect(d.sweep()).toBe(0);
    vi.advanceTimersByTime(1);
    expect(d.sweep()).toBe(1);
    expect(d.top("ALL").map((r) => r.ip_addr)).toEqual(["192.0.2.61"]);
    expect(d.top("ALL")[0]!.expires).toBe(5);
    vi.advanceTimersByTime(5000);
    expect(d.sweep()).toBe(1);
    expect(d.size).toBe(0);
  });

  it("sweep keeps sources hit within remove_latency", () => {
    const d = new PikeDetector(opts({ removeLatency: 10 }));
    d.check("192.0.2.70"); // t=0
    d.check("192.0.2.71");
    vi.advanceTimersByTime(9_900);
    d.check("192.0.2.70");
    vi.advanceTimersByTime(100); // t=10 s
    expect(d.sweep()).toBe(1); // .71 idle for 10 s
    vi.advanceTimersByTime(9_899);
    expect(d.sweep()).toBe(0);
    vi.advanceTimersByTime(1);
    expect(d.sweep()).toBe(1);
    expect(d.size).toBe(0);
  });

  it("lets sources through untracked when the table is full", () => {
    const d = new PikeDetector(opts({ maxEntries: 2, reqsDensityPerUnit: 1 }));
    expect(d.check("192.0.2.1")).toBe(-2);
    expect(d.check("192.0.2.2")).toBe(-2);
    expect(d.check("192.0.2.3")).toBe(1);
    expect(d.untracked).toBe(1);
  });

  it("returns 1 for text that is not an address", () => {
    const d = new PikeDetector(opts({ reqsDensityPerUnit: 1 }));
    expect(d.check("not-an-ip")).toBe(1);
    expect(d.size).toBe(0);
  });

  it("top filters HOT / WARM / ALL and sorts by hits", () => {
    const d = new PikeDetector(opts({ reqsDensityPerUnit: 8 }));
    for (let i = 0; i < 9; i++) d.check("192.0.2.100"); // hot
    for (let i = 0; i < 3; i++) d.check("192.0.2.101"); // warm: ≥ 8 >> 2 = 2
    d.check("192.0.2.102");
    expect(d.top("HOT").map((r) => r.ip_addr)).toEqual(["192.0.2.100"]);
    expect(d.top("WARM").map((r) => r.ip_addr)).toEqual(["192.0.2.101"]);
    expect(d.top("ALL").map((r) => [r.ip_addr, r.status])).toEqual([
      ["192.0.2.100", "HOT"],
      ["192.0.2.101", "WARM"],
      ["192.0.2.102", ""],
    ]);
  });
});
