import { afterEach, describe, expect, it, vi } from "vitest";
import { CacheWriter } from "./cache-defer.js";

describe("CacheWriter: delta-built versions cached once the deltas pause", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  const setup = (defer = true) => {
    const written: string[] = [];
    const job = (name: string) => async () => {
      written.push(name);
    };
    const w = new CacheWriter("/cache", defer, (kind, e) => written.push(`error ${kind} ${String(e)}`));
    return { w, written, job };
  };

  it("a burst of deltas writes only the newest, 1 s after the last", async () => {
    vi.useFakeTimers();
    const { w, written, job } = setup();
    for (let i = 1; i <= 5; i++) {
      w.writeDeferred("subscriber", job(`v${i}`));
      await vi.advanceTimersByTimeAsync(300);
    }
    expect(written).toEqual([]);
    await vi.advanceTimersByTimeAsync(1000);
    expect(written).toEqual(["v5"]);
  });

  it("a steady stream of deltas is still written within 10 s of the first one waiting", async () => {
    vi.useFakeTimers();
    const { w, written, job } = setup();
    for (let i = 1; i <= 40; i++) {
      w.writeDeferred("prefix_route", job(`v${i}`));
      await vi.advanceTimersByTimeAsync(300);
    }
    // 40 × 300 ms = 12 s: the first write came at 10 s (v34), the rest waits for quiet
    expect(written).toEqual(["v34"]);
    await vi.advanceTimersByTimeAsync(1000);
    expect(written).toEqual(["v34", "v40"]);
  });

  it("a full version supersedes a waiting delta-built one; close flushes; no deferral writes at once", async () => {
    vi.useFakeTimers();
    const { w, written, job } = setup();
    w.writeDeferred("dispatcher", job("delta-built"));
    w.write("dispatcher", job("full"));
    await vi.advanceTimersByTimeAsync(2000);
    expect(written).toEqual(["full"]);
    w.writeDeferred("lcr", job("lcr-delta"));
    await w.flush();
    expect(written).toEqual(["full", "lcr-delta"]);
    const now = setup(false);
    now.w.writeDeferred("lcr", now.job("at once"));
    await now.w.pending("lcr");
    expect(now.written).toEqual(["at once"]);
  });
});
