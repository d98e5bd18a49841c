import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { TimerWheel } from "./timer-wheel.js";

describe("TimerWheel", () => {
  beforeEach(() => vi.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => vi.useRealTimers());

  it("fires at or after the due time, never early, in due order", () => {
    const w = new TimerWheel(10);
    const fired: string[] = [];
    w.arm(null, 500, (a: string) => fired.push(a), "t1", null);
    w.arm(null, 40, (a: string) => fired.push(a), "short", null);
    vi.advanceTimersByTime(39);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(20);
    expect(fired).toEqual(["short"]);
    vi.advanceTimersByTime(440);
    expect(fired).toEqual(["short"]);
    vi.advanceTimersByTime(20);
    expect(fired).toEqual(["short", "t1"]);
    expect(w.size).toBe(0);
  });

  it("cancels, re-arms a reused timer and passes both arguments", () => {
    const w = new TimerWheel(10);
    const got: unknown[] = [];
    const fn = (a: number, b: string) => got.push([a, b]);
    const t = w.arm(null, 100, fn, 1, "x");
    expect(w.cancel(t)).toBeNull();
    vi.advanceTimersByTime(200);
    expect(got).toEqual([]);
    const t2 = w.arm(t, 50, fn, 2, "y");
    expect(t2).toBe(t);
    w.arm(t2, 80, fn, 3, "z"); // re-arming moves it
    vi.advanceTimersByTime(60);
    expect(got).toEqual([]);
    vi.advanceTimersByTime(30);
    expect(got).toEqual([[3, "z"]]);
  });

  it("keeps timers longer than one turn of the wheel (32 s Timer H, 120 s fr_inv_timer)", () => {
    const w = new TimerWheel(10);
    const fired: number[] = [];
    w.arm(null, 120_000, () => fired.push(Date.now()), null, null);
    w.arm(null, 32_000, () => fired.push(Date.now()), null, null);
    vi.advanceTimersByTime(31_990);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(20);
    expect(fired.length).toBe(1);
    vi.advanceTimersByTime(120_000 - 32_010 - 10);
    expect(fired.length).toBe(1);
    vi.advanceTimersByTime(20);
    expect(fired.length).toBe(2);
    expect(fired[1]! - 1_000_000).toBeGreaterThanOrEqual(120_000);
  });

  it("a callback may cancel another due timer and arm new ones; a throwing one does not stop the rest", () => {
    const w = new TimerWheel(10);
    const fired: string[] = [];
    const b = w.arm(null, 20, () => fired.push("b"), null, null);
    w.arm(null, 20, () => {
      fired.push("a");
      w.cancel(b);
      w.arm(null, 0, () => fired.push("c"), null, null);
      throw new Error("boom");
    }, null, null);
    w.arm(null, 20, () => fired.push("d"), null, null);
    // "a" was armed after "b", but both are due in one tick: b fires first unless a cancels it
    vi.advanceTimersByTime(50);
    expect(fired).toEqual(["b", "a", "d", "c"]);
    const x = w.arm(null, 20, () => fired.push("x"), null, null);
    const y = w.arm(null, 20, () => w.cancel(x), null, null);
    void y;
    vi.advanceTimersByTime(50);
    expect(fired).toEqual(["b", "a", "d", "c", "x"]);
    // cancel of a due timer still in the firing list: arm order y before z
    const fired2: string[] = [];
    let z = null as ReturnType<TimerWheel["arm"]> | null;
    w.arm(null, 20, () => w.cancel(z), null, null);
    z = w.arm(null, 20, () => fired2.push("z"), null, null);
    vi.advanceTimersByTime(50);
    expect(fired2).toEqual([]);
    expect(w.size).toBe(0);
  });

  it("catches up after a stall longer than one turn", () => {
    const w = new TimerWheel(); // 1 ms ticks: one turn is about 4 s
    const fired: number[] = [];
    for (let i = 1; i <= 5; i++) w.arm(null, i * 3000, (n: number) => fired.push(n), i, null);
    vi.setSystemTime(1_000_000 + 20_000); // the loop was blocked: the clock moved on, the driver did not run
    vi.advanceTimersByTime(3000);
    expect(fired.sort()).toEqual([1, 2, 3, 4, 5]);
    w.stop();
    expect(w.size).toBe(0);
  });
});
