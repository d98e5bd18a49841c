import { describe, expect, it } from "vitest";
import { DuplicatePrefixError, PrefixKeyError, PrefixTreeBuilder, buildPrefixTree, emptyPrefixTree } from "./build-prefix-tree.js";
import { PrefixTree, popcount } from "./prefix-tree.js";
import { seededRandom as rng } from "../random/seeded.js";


function randomKey(r: () => number, alphabet: string, min: number, max: number): string {
  const len = min + Math.floor(r() * (max - min + 1));
  let s = "";
  for (let i = 0; i < len; i++) s += alphabet[Math.floor(r() * alphabet.length)];
  return s;
}

/** Reference answer: try every prefix length, longest first. */
function naiveLongest(map: Map<string, number>, key: string): number | undefined {
  for (let l = key.length; l >= 0; l--) {
    const v = map.get(key.slice(0, l));
    if (v !== undefined) return v;
  }
  return undefined;
}

describe("popcount", () => {
  it("counts bits including the sign bit", () => {
    expect(popcount(0)).toBe(0);
    expect(popcount(1)).toBe(1);
    expect(popcount(0xff)).toBe(8);
    expect(popcount(-1)).toBe(32);
    expect(popcount(1 << 31)).toBe(1);
    expect(popcount(0x55555555)).toBe(16);
  });
});

describe("PrefixTree longest-prefix lookups", () => {
  it("prefers the longest of overlapping prefixes", () => {
    const t = buildPrefixTree<string>([
      ["4", "four"],
      ["49", "de"],
      ["4930", "berlin"],
      ["49301", "berlin-1"],
      ["1", "nanp"],
    ]);
    expect(t.longest("4930223")).toBe("berlin");
    expect(t.lastMatchLength).toBe(4);
    expect(t.longest("49301")).toBe("berlin-1");
    expect(t.longest("4931")).toBe("de");
    expect(t.longest("45")).toBe("four");
    expect(t.longest("5")).toBeUndefined();
    expect(t.lastMatchLength).toBe(-1);
    expect(t.longest("")).toBeUndefined();
    expect(t.size).toBe(5);
  });

  it("an empty key is the default that matches everything", () => {
    const t = buildPrefixTree<string>([
      ["", "default"],
      ["44", "uk"],
    ]);
    expect(t.longest("4412")).toBe("uk");
    expect(t.longest("33")).toBe("default");
    expect(t.lastMatchLength).toBe(0);
    expect(t.longest("")).toBe("default");
  });

  it("stops at a character outside the alphabet", () => {
    const t = buildPrefixTree<string>([
      ["12", "a"],
      ["123", "b"],
    ]);
    expect(t.longest("12x3")).toBe("a");
    expect(t.longest("x123")).toBeUndefined();
  });

  it("starts matching at an offset", () => {
    const t = buildPrefixTree<string>([["49", "de"]]);
    expect(t.longest("+4930", 1)).toBe("de");
    expect(t.lastMatchLength).toBe(2);
  });

  it("agrees with a naive search on random digit keys", () => {
    const r = rng(7);
    const map = new Map<string, number>();
    const b = new PrefixTreeBuilder<number>({ alphabet: "0123456789", merge: (first) => first });
    for (let i = 0; i < 20_000; i++) {
      const k = randomKey(r, "0123456789", 1, 9);
      b.add(k, i);
      if (!map.has(k)) map.set(k, i);
    }
    const t = b.build();
    expect(t.size).toBe(map.size);
    for (let i = 0; i < 20_000; i++) {
      const q = randomKey(r, "0123456789", 0, 14);
      expect(t.longest(q)).toBe(naiveLongest(map, q));
    }
  });

  it("agrees with a naive search on a big tree (longest match and its length)", () => {
    const r = rng(5);
    const map = new Map<string, number>();
    const b = new PrefixTreeBuilder<number>({ merge: (first) => first });
    b.add("", -1);
    map.set("", -1);
    for (let i = 0; i < 40_000; i++) {
      const k = randomKey(r, "0123456789", 1, 10);
      b.add(k, i);
      if (!map.has(k)) map.set(k, i);
    }
    const t = b.build();
    expect(t.nodeCount).toBeGreaterThan(65_536);
    for (let i = 0; i < 40_000; i++) {
      const q = randomKey(r, "0123456789x", 0, 14);
      const want = naiveLongest(map, q);
      expect(t.longest(q)).toBe(want);
      let len = -1;
      for (let l = q.length; l >= 0; l--) if (map.has(q.slice(0, l))) { len = l; break; }
      t.longest(q);
      expect(t.lastMatchLength).toBe(len);
    }
  });

  it("agrees with a naive search over a wide alphabet (more than 32 symbols, non-ASCII)", () => {
    const alphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEF+*#äö€";
    expect(alphabet.length).toBeGreaterThan(32);
    const r = rng(11);
    const map = new Map<string, number>();
    const b = new PrefixTreeBuilder<number>({ merge: (first) => first });
    for (let i = 0; i < 5_000; i++) {
      const k = randomKey(r, alphabet, 0, 6);
      b.add(k, i);
      if (!map.has(k)) map.set(k, i);
    }
    const t = b.build();
    for (let i = 0; i < 10_000; i++) {
      const q = randomKey(r, alphabet, 0, 9);
      expect(t.longest(q)).toBe(naiveLongest(map, q));
    }
    for (const [k, v] of map) expect(t.get(k)).toBe(v);
  });
});

describe("PrefixTree traversal", () => {
  const t = buildPrefixTree<string>([
    ["4", "a"],
    ["49", "b"],
    ["4930", "c"],
    ["5", "d"],
    ["", "root"],
  ]);

  it("forEachMatch visits shortest first and can stop early", () => {
    const seen: Array<[string, number]> = [];
    t.forEachMatch("49301", (v, len) => {
      seen.push([v, len]);
    });
    expect(seen).toEqual([
      ["root", 0],
      ["a", 1],
      ["b", 2],
      ["c", 4],
    ]);
    const firstTwo: string[] = [];
    t.forEachMatch("49301", (v) => firstTwo.push(v) === 2);
    expect(firstTwo).toEqual(["root", "a"]);
  });

  it("collect returns longest first", () => {
    expect(t.collect("4931")).toEqual(["b", "a", "root"]);
  });

  it("entries lists every key in alphabet order", () => {
    expect([...t.entries()]).toEqual([
      ["", "root"],
      ["4", "a"],
      ["49", "b"],
      ["4930", "c"],
      ["5", "d"],
    ]);
  });

  it("exact get distinguishes inner nodes from keys", () => {
    expect(t.get("493")).toBeUndefined();
    expect(t.get("4930")).toBe("c");
    expect(t.has("49")).toBe(true);
  });
});

describe("PrefixTreeBuilder", () => {
  it("rejects characters outside the alphabet with the position", () => {
    const b = new PrefixTreeBuilder<number>({ alphabet: "0123456789" });
    try {
      b.add("12a4", 1);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(PrefixKeyError);
      expect((e as PrefixKeyError).position).toBe(2);
      expect((e as Error).message).toContain("'a'");
    }
  });

  it("rejects keys over the maximum length", () => {
    const b = new PrefixTreeBuilder<number>({ maxKeyLength: 3 });
    expect(() => b.add("1234", 1)).toThrow(/longer than 3/);
    expect(b.add("123", 1)).toBe(0);
  });

  it("rejects a repeated key naming both positions", () => {
    const b = new PrefixTreeBuilder<number>();
    b.add("12", 1);
    b.add("5", 2);
    b.add("12", 3);
    try {
      b.build();
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(DuplicatePrefixError);
      expect((e as DuplicatePrefixError).index).toBe(2);
      expect((e as DuplicatePrefixError).firstIndex).toBe(0);
    }
  });

  it("merges repeated keys in add order when asked to", () => {
    const b = new PrefixTreeBuilder<number[]>({ merge: (a, b2) => [...a, ...b2] });
    b.add("12", [1]);
    b.add("123", [9]);
    b.add("12", [2]);
    b.add("12", [3]);
    expect(b.build().get("12")).toEqual([1, 2, 3]);
  });

  it("buildAsync produces the same tree as build, in slices", async () => {
    const r = rng(3);
    const b = new PrefixTreeBuilder<number>({ merge: (first) => first });
    for (let i = 0; i < 3_000; i++) b.add(randomKey(r, "0123456789", 1, 8), i);
    const sync = b.build();
    const async = await b.buildAsync(100);
    expect([...async.entries()]).toEqual([...sync.entries()]);
    expect(async.nodeCount).toBe(sync.nodeCount);
  });

  it("an empty tree matches nothing", () => {
    const t = emptyPrefixTree<number>();
    expect(t.longest("123")).toBeUndefined();
    expect([...t.entries()]).toEqual([]);
  });
});

describe("shared build (worker threads)", () => {
  it("lays the nodes on a SharedArrayBuffer, keeps distinct values once, and an attached clone looks up the same over the same memory", () => {
    const a = { route: "A" };
    const b = { route: "B" };
    const pairs: Array<[string, { route: string }]> = [["49", a], ["4930", b], ["31", a], ["", b]];
    const plain = buildPrefixTree(pairs);
    const t = buildPrefixTree(pairs, { shared: true });
    expect(t.isShared).toBe(true);
    expect(plain.isShared).toBe(false);
    expect(t.size).toBe(4);
    const d = structuredClone(t.share());
    expect(d.values).toHaveLength(2);
    const u = PrefixTree.attach(d);
    for (const k of ["4930123", "491", "31", "7", ""]) expect(u.longest(k)?.route).toBe(plain.longest(k)?.route);
    expect([...u.entries()].map(([k, v]) => `${k}=${v.route}`)).toEqual([...plain.entries()].map(([k, v]) => `${k}=${v.route}`));
    expect(() => plain.share()).toThrow(/shared: true/);
    expect(() => new PrefixTreeBuilder({ shared: true, merge: (x) => x })).toThrow();
  });
});
