import { describe, expect, it } from "vitest";
import { KeyTable, keyHash } from "./key-table.js";
import { seededRandom } from "../random/seeded.js";

/** Keys whose 30-bit hashes collide (birthday search over transaction-like keys). */
function collidingKeys(groups: number): string[][] {
  const seen = new Map<number, string>();
  const out: string[][] = [];
  for (let i = 0; out.length < groups; i++) {
    const k = `z9hG4bK-${i}|127.0.0.1:5060|INVITE`;
    const h = keyHash(k);
    const prev = seen.get(h);
    if (prev !== undefined) out.push([prev, k]);
    else seen.set(h, k);
  }
  return out;
}

describe("KeyTable", () => {
  it("behaves as a Map under random set/get/delete, with colliding keys among them", () => {
    const pairs = collidingKeys(20);
    const keys = [...pairs.flat(), ...Array.from({ length: 200 }, (_, i) => `k${i}`)];
    const rnd = seededRandom(7);
    const t = new KeyTable<number>();
    const m = new Map<string, number>();
    for (let step = 0; step < 20_000; step++) {
      const k = keys[Math.floor(rnd() * keys.length)]!;
      const op = rnd();
      if (op < 0.45) {
        t.set(k, step);
        m.set(k, step);
      } else if (op < 0.75) {
        expect(t.delete(k)).toBe(m.delete(k));
      } else {
        expect(t.get(k)).toBe(m.get(k));
        expect(t.has(k)).toBe(m.has(k));
      }
      expect(t.size).toBe(m.size);
    }
    expect([...t.values()].sort((a, b) => a - b)).toEqual([...m.values()].sort((a, b) => a - b));
    expect(new Map([...t])).toEqual(m);
    t.clear();
    expect(t.size).toBe(0);
    expect([...t.values()]).toEqual([]);
  });

  it("keeps both keys of a colliding pair apart, and deletes either first", () => {
    for (const [a, b] of collidingKeys(3)) {
      for (const first of [a!, b!]) {
        const t = new KeyTable<string>();
        t.set(a!, "A").set(b!, "B");
        expect([t.get(a!), t.get(b!), t.size]).toEqual(["A", "B", 2]);
        expect(t.delete(first)).toBe(true);
        expect(t.delete(first)).toBe(false);
        const other = first === a ? b! : a!;
        expect(t.get(first)).toBeUndefined();
        expect(t.get(other)).toBe(first === a ? "B" : "A");
        expect(t.size).toBe(1);
      }
    }
  });
});
