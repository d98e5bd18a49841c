import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { HashTable, type HtableDefinition } from "./hash-table.js";

const def = (over: Partial<HtableDefinition> = {}): HtableDefinition => ({
  name: "t",
  size: 4,
  autoexpire: 0,
  updateexpire: true,
  initval: null,
  dbtable: null,
  dbmode: 0,
  dmqreplicate: 0,
  ...over,
});

describe("HashTable", () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date("2026-01-01T00:00:00Z"));
  });
  afterEach(() => vi.useRealTimers());

  it("stores strings and integers; missing keys give initval or null", () => {
    const t = new HashTable(def());
    t.set("s", "hello");
    t.set("i", 42);
    expect(t.get("s")).toBe("hello");
    expect(t.get("i")).toBe(42);
    expect(t.get("nope")).toBeNull();
    const ti = new HashTable(def({ initval: 7 }));
    expect(ti.get("nope")).toBe(7);
    expect(ti.has("nope")).toBe(false);
  });

  it("autoexpire removes an item exactly autoexpire seconds after its write", () => {
    const t = new HashTable(def({ autoexpire: 10 }));
    t.set("k", "v");
    vi.advanceTimersByTime(9_999);
    expect(t.get("k")).toBe("v");
    vi.advanceTimersByTime(1);
    expect(t.get("k")).toBeNull();
    expect(t.has("k")).toBe(false);
    expect(t.storedCount).toBe(1); // still stored until the sweep
    expect(t.sweep()).toEqual([{ key: "k", value: "v" }]);
    expect(t.storedCount).toBe(0);
  });

  it("updateexpire=1 restarts the time to live on every write", () => {
    const t = new HashTable(def({ autoexpire: 10, updateexpire: true }));
    t.set("k", 1);
    vi.advanceTimersByTime(8_000);
    t.set("k", 2);
    vi.advanceTimersByTime(8_000);
    expect(t.get("k")).toBe(2); // 16 s after the first write, 8 s after the second
    vi.advanceTimersByTime(2_000);
    expect(t.get("k")).toBeNull();
  });

  it("updateexpire=0 keeps the first expiry across writes", () => {
    const t = new HashTable(def({ autoexpire: 10, updateexpire: false }));
    t.set("k", 1);
    vi.advanceTimersByTime(8_000);
    t.set("k", 2);
    expect(t.get("k")).toBe(2);
    vi.advanceTimersByTime(2_000);
    expect(t.get("k")).toBeNull(); // expired 10 s after the first write
    t.set("k", 3); // writing over an expired item starts a new life
    vi.advanceTimersByTime(9_000);
    expect(t.get("k")).toBe(3);
  });

  it("inc/dec follow updateexpire too", () => {
    const keep = new HashTable(def({ autoexpire: 10, updateexpire: false }));
    keep.add("c", 1);
    vi.advanceTimersByTime(9_000);
    expect(keep.add("c", 1)).toBe(2);
    vi.advanceTimersByTime(1_000);
    expect(keep.get("c")).toBeNull();
    const upd = new HashTable(def({ autoexpire: 10, updateexpire: true }));
    upd.add("c", 1);
    vi.advanceTimersByTime(9_000);
    upd.add("c", 1);
    vi.advanceTimersByTime(9_000);
    expect(upd.get("c")).toBe(2);
  });

  it("per-item expiry with setxs/setxi and setex, also on tables without autoexpire", () => {
    const t = new HashTable(def());
    t.set("a", "x", 5);
    t.set("b", 9, 20);
    t.set("forever", "y");
    expect(t.expiresIn("a")).toBe(5);
    expect(t.expiresIn("forever")).toBe(0);
    vi.advanceTimersByTime(5_000);
    expect(t.get("a")).toBeNull();
    expect(t.get("b")).toBe(9);
    expect(t.setExpire("forever", 3)).toBe(true);
    expect(t.setExpire("missing", 3)).toBe(false);
    vi.advanceTimersByTime(3_000);
    expect(t.get("forever")).toBeNull();
    expect(t.setExpire("b", 0)).toBe(true); // 0 = never
    vi.advanceTimersByTime(3_600_000);
    expect(t.get("b")).toBe(9);
    expect(t.sweep().map((e) => e.key).sort()).toEqual(["a", "forever"]);
  });

  it("an explicit expiry beats updateexpire on that write, and the next plain write applies autoexpire", () => {
    const t = new HashTable(def({ autoexpire: 100 }));
    t.set("k", "v", 2);
    expect(t.expiresIn("k")).toBe(2);
    t.set("k", "w");
    expect(t.expiresIn("k")).toBe(100);
  });

  it("atomic inc/dec start from initval (or 0) and refuse string items", () => {
    const t = new HashTable(def());
    expect(t.add("n", 1)).toBe(1);
    expect(t.add("n", 5)).toBe(6);
    expect(t.add("n", -10)).toBe(-4);
    t.set("s", "text");
    expect(t.add("s", 1)).toBeNull();
    expect(t.get("s")).toBe("text");
    const ti = new HashTable(def({ initval: 100 }));
    expect(ti.add("x", -1)).toBe(99);
  });

  it("an expired counter restarts from initval", () => {
    const t = new HashTable(def({ autoexpire: 5, initval: 0 }));
    t.add("n", 3);
    vi.advanceTimersByTime(5_000);
    expect(t.add("n", 1)).toBe(1);
  });

  it("counts and removes by key or value with eq/ne/sw/ew/re", () => {
    const t = new HashTable(def());
    t.set("alice::auth_count", 3);
    t.set("bob::auth_count", 1);
    t.set("alice::last_auth", 1700000000);
    t.set("x", "blocked");
    expect(t.count("ew", "::auth_count")).toBe(2);
    expect(t.count("sw", "alice")).toBe(2);
    expect(t.count("re", "^b.*count$")).toBe(1);
    expect(t.count("eq", "x")).toBe(1);
    expect(t.count("ne", "x")).toBe(3);
    expect(t.count("eq", "3", true)).toBe(1);
    expect(t.removeMatching("sw", "alice")).toBe(2);
    expect(t.removeMatching("re", "^block", true)).toBe(1);
    expect([...t.entries()].map(([k]) => k)).toEqual(["bob::auth_count"]);
  });

  it("expired items are invisible to count/entries but delete reports them as absent", () => {
    const t = new HashTable(def({ autoexpire: 1 }));
    t.set("a", 1);
    vi.advanceTimersByTime(1_000);
    expect(t.count("re", ".")).toBe(0);
    expect([...t.entries()]).toEqual([]);
    expect(t.delete("a")).toBe(false);
    expect(t.storedCount).toBe(0);
  });

  it("spreads keys over 2^size buckets (clamped to 3..14)", () => {
    expect(new HashTable(def({ size: 1 })).slots).toBe(8);
    expect(new HashTable(def({ size: 20 })).slots).toBe(16384);
    const t = new HashTable(def({ size: 4 }));
    for (let i = 0; i < 1000; i++) t.set(`k${i}`, i);
    const b = t.buckets();
    expect(b).toHaveLength(16);
    expect(b.reduce((n, x) => n + x.length, 0)).toBe(1000);
    for (const x of b) expect(x.length).toBeGreaterThan(20); // roughly even
  });
});
